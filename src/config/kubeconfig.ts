// Kubeconfig text as the input gives it: YAML or base64 of it, and the credentials inside it that
// must be masked. The one home of these rules: config validates with them, kube loads with them.
import { parseDocument } from 'yaml'

function looksLikeKubeconfig(text: string): boolean {
  try {
    const value: unknown = parseDocument(text).toJS()
    return typeof value === 'object' && value !== null && ('clusters' in value || 'contexts' in value)
  } catch {
    return false
  }
}

/** Kubeconfig YAML as given, or decoded from base64; undefined when it is neither. */
export function decodeKubeconfig(input: string): string | undefined {
  if (looksLikeKubeconfig(input)) return input
  const compact = input.replace(/\s+/g, '')
  if (!/^[A-Za-z0-9+/=_-]+$/.test(compact)) return undefined
  const decoded = Buffer.from(compact, 'base64').toString('utf8')
  return looksLikeKubeconfig(decoded) ? decoded : undefined
}

/** Keys under `users[].user` that are structure, not credentials (masking them garbles logs). */
const USER_STRUCTURE = new Set(['apiVersion', 'command', 'interactiveMode', 'installHint', 'name'])

/**
 * Credentials inside a kubeconfig: every string under `users[].user` (tokens, keys, passwords,
 * OIDC id/refresh tokens and client secrets, exec env values and args, auth-provider config)
 * with decoded PEM lines, and the credentials of proxy URLs.
 */
export function kubeconfigSecrets(input: string): string[] {
  const text = decodeKubeconfig(input)
  if (text === undefined) return []
  // The input itself when it is one line (base64), never the lines of the YAML.
  const found = new Set<string>(input.includes('\n') ? [] : [input.trim()])
  const add = (value: string, key: string): void => {
    found.add(value)
    if (key.endsWith('-data')) {
      // The decoded PEM, line by line: a runner masks single lines.
      for (const line of Buffer.from(value, 'base64').toString('utf8').split('\n')) {
        if (line.length >= 16 && !line.startsWith('-----')) found.add(line.trim())
      }
    }
  }
  const walk = (node: unknown, key: string): void => {
    if (typeof node === 'string') {
      if (!USER_STRUCTURE.has(key)) add(node, key)
    } else if (Array.isArray(node)) node.forEach(item => walk(item, key))
    else if (node && typeof node === 'object') {
      for (const [childKey, value] of Object.entries(node)) {
        // exec env entries: {name, value}; the value is the credential
        walk(value, childKey === 'value' ? key : childKey)
      }
    }
  }
  let document: unknown
  try {
    document = parseDocument(text).toJS()
  } catch {
    return [...found]
  }
  const config = (document ?? {}) as { users?: unknown; clusters?: unknown }
  for (const user of Array.isArray(config.users) ? config.users : []) walk((user as { user?: unknown })?.user, 'user')
  for (const cluster of Array.isArray(config.clusters) ? config.clusters : []) {
    const proxy = (cluster as { cluster?: Record<string, unknown> })?.cluster?.['proxy-url']
    if (typeof proxy !== 'string') continue
    try {
      const url = new URL(proxy)
      if (url.password) found.add(decodeURIComponent(url.password)).add(url.password)
      if (url.username || url.password) found.add(proxy)
    } catch {
      // not a URL: client-node refuses it
    }
  }
  return [...found].filter(value => value.length >= 4)
}
