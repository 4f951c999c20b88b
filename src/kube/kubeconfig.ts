import { KubeConfig } from '@kubernetes/client-node'
import { kubeconfigSecrets } from '../config/config.js'
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

/**
 * Loads kubeconfig YAML in memory and selects a context. Nothing touches the disk unless the
 * user runs an exec credential plugin: such plugins may read KUBECONFIG, so they get a 0600
 * copy in a temp dir (removed by cleanup(), or at exit).
 */
export function loadKubeConfig(yaml: string, context: string | undefined, env = process.env): LoadedKubeConfig {
  const kc = new KubeConfig()
  try {
    kc.loadFromString(yaml)
  } catch (error) {
    // Parser messages quote the offending line, which may hold a credential.
    const message = (error as Error).message
    const safe = !kubeconfigSecrets(yaml).some(secret => message.includes(secret))
    throw new KubeConfigError(`kubeconfig could not be read${safe ? `: ${message}` : ''}`)
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
