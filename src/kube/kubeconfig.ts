import type https from 'node:https'
import { KubeConfig } from '@kubernetes/client-node'
import { makeTempDir, removeTempDir, writeTempFile } from '../lib/temp-files.js'

export interface LoadedKubeConfig {
  kc: KubeConfig
  /** The namespace of the chosen context, when it names one. */
  contextNamespace?: string
  server: string
  /** Removes anything written to disk for an exec credential plugin. */
  cleanup(): void
}

export class KubeConfigError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'KubeConfigError'
  }
}

/** Who every request impersonates (`kube-as`, `kube-as-groups`). */
export interface Impersonation {
  user: string
  groups: string[]
}

type Headers = Record<string, string | string[]>
type HeaderHook = (headers: Headers) => void | Promise<void>

/**
 * Every request path (our client, the watches) asks the KubeConfig for its options, so headers
 * set here are on every request: impersonation (client-node knows only the user) and the
 * GitHub OIDC bearer token (fresh for each request).
 */
class HeaderKubeConfig extends KubeConfig {
  constructor(private readonly hooks: HeaderHook[]) {
    super()
  }

  override async applyToHTTPSOptions(opts: Parameters<KubeConfig['applyToHTTPSOptions']>[0]): Promise<void> {
    await super.applyToHTTPSOptions(opts)
    const headers = ((opts as https.RequestOptions).headers ??= {}) as Headers
    for (const hook of this.hooks) await hook(headers)
  }
}

function impersonation(identity: Impersonation | undefined): HeaderHook[] {
  if (!identity) return []
  return [
    headers => {
      headers['Impersonate-User'] = identity.user
      if (identity.groups.length > 0) headers['Impersonate-Group'] = identity.groups
      else delete headers['Impersonate-Group']
    }
  ]
}

/** kube-auth github-oidc: the server and CA from the inputs, the bearer token from `token` (it refreshes). */
export function oidcKubeConfig(
  server: string,
  caPem: string | undefined,
  token: () => Promise<string>,
  impersonate?: Impersonation
): LoadedKubeConfig {
  const bearer: HeaderHook = async headers => {
    headers.Authorization = `Bearer ${await token()}`
  }
  const kc = new HeaderKubeConfig([bearer, ...impersonation(impersonate)])
  const name = 'github-oidc'
  kc.loadFromOptions({
    clusters: [
      { name, server, caData: caPem ? Buffer.from(caPem).toString('base64') : undefined, skipTLSVerify: false }
    ],
    users: [{ name }],
    contexts: [{ name, cluster: name, user: name }],
    currentContext: name
  })
  return { kc, server, cleanup() {} }
}

/**
 * A parse error by position only: parser messages quote the lines around the error, and those
 * lines may hold a token.
 */
export function kubeconfigParseError(error: unknown): string {
  const { reason, mark } = error as { reason?: unknown; mark?: { line?: unknown; column?: unknown } }
  if (typeof reason === 'string' && typeof mark?.line === 'number' && typeof mark.column === 'number') {
    return `kubeconfig could not be read: YAML error at line ${mark.line + 1}, column ${mark.column + 1} (${reason})`
  }
  return 'kubeconfig could not be read (not a valid kubeconfig)'
}

/**
 * Loads kubeconfig YAML in memory and selects a context. Nothing touches the disk unless the
 * user runs an exec credential plugin: such plugins may read KUBECONFIG, so they get a 0600
 * copy in a temp dir (removed by cleanup(), or at exit).
 */
export function loadKubeConfig(
  yaml: string,
  context: string | undefined,
  env = process.env,
  impersonate?: Impersonation
): LoadedKubeConfig {
  const kc = new HeaderKubeConfig(impersonation(impersonate))
  try {
    kc.loadFromString(yaml)
  } catch (error) {
    throw new KubeConfigError(kubeconfigParseError(error))
  }
  const names = kc.getContexts().map(c => c.name)
  const available = names.length > 0 ? `available contexts: ${names.join(', ')}` : 'it defines no contexts'
  if (context !== undefined) {
    if (!names.includes(context))
      throw new KubeConfigError(`kube-context "${context}" is not in the kubeconfig; ${available}`)
    kc.setCurrentContext(context)
  } else if (!kc.getCurrentContext() || !names.includes(kc.getCurrentContext())) {
    const current = kc.getCurrentContext() ? ` (its current-context "${kc.getCurrentContext()}" does not exist)` : ''
    throw new KubeConfigError(`the kubeconfig has no usable current-context${current}; set kube-context; ${available}`)
  }
  const contextObject = kc.getContextObject(kc.getCurrentContext())
  const cluster = kc.getCurrentCluster()
  if (!cluster)
    throw new KubeConfigError(
      `context "${kc.getCurrentContext()}" names cluster "${contextObject?.cluster}", which is not in the kubeconfig`
    )
  const user = kc.getCurrentUser()
  let tempDir: string | undefined
  if (user?.exec) {
    tempDir = makeTempDir('kubeconfig', env)
    const file = writeTempFile(tempDir, 'kubeconfig', kc.exportConfig())
    const exec = user.exec as { env?: Array<{ name: string; value: string }> | null }
    exec.env = [...(exec.env ?? []).filter(e => e.name !== 'KUBECONFIG'), { name: 'KUBECONFIG', value: file }]
  }
  return {
    kc,
    contextNamespace: contextObject?.namespace || undefined,
    server: cluster.server,
    cleanup() {
      if (tempDir) removeTempDir(tempDir)
      tempDir = undefined
    }
  }
}
