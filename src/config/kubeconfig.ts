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

/** Credentials inside a kubeconfig: tokens, keys, passwords, client certificates. */
export function kubeconfigSecrets(input: string): string[] {
  const text = decodeKubeconfig(input)
  if (text === undefined) return []
  // The input itself when it is one line (base64), never the lines of the YAML.
  const found = new Set<string>(input.includes('\n') ? [] : [input.trim()])
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(walk)
    else if (node && typeof node === 'object') {
      for (const [key, value] of Object.entries(node)) {
        if (
          typeof value === 'string' &&
          /^(token|password|client-key-data|client-key|client-certificate-data)$/.test(key)
        ) {
          found.add(value)
          if (key.endsWith('-data')) {
            // The decoded PEM, line by line: a runner masks single lines.
            for (const line of Buffer.from(value, 'base64').toString('utf8').split('\n')) {
              if (line.length >= 16 && !line.startsWith('-----')) found.add(line.trim())
            }
          }
        } else walk(value)
      }
    }
  }
  try {
    walk(parseDocument(text).toJS())
  } catch {
    // not YAML: the whole input is masked already
  }
  return [...found].filter(value => value.length >= 4)
}
