import { type KubeObject } from './types.js'

/** Applied first, then waited on: everything else may depend on them. */
const FOUNDATION_KINDS = ['Namespace', 'CustomResourceDefinition']

/** Helm's install order after the foundation; kinds not listed (custom resources) come last. */
const INSTALL_ORDER = [
  'PriorityClass',
  'NetworkPolicy',
  'ResourceQuota',
  'LimitRange',
  'PodDisruptionBudget',
  'ServiceAccount',
  'Secret',
  'ConfigMap',
  'StorageClass',
  'PersistentVolume',
  'PersistentVolumeClaim',
  'ClusterRole',
  'ClusterRoleBinding',
  'Role',
  'RoleBinding',
  'Service',
  'DaemonSet',
  'Pod',
  'ReplicationController',
  'ReplicaSet',
  'Deployment',
  'HorizontalPodAutoscaler',
  'StatefulSet',
  'Job',
  'CronJob',
  'IngressClass',
  'Ingress',
  'APIService',
  'MutatingWebhookConfiguration',
  'ValidatingWebhookConfiguration'
]

/** 0 for Namespaces and CRDs, then Helm's order, then every other kind. */
export function waveOf(kind: string): number {
  if (FOUNDATION_KINDS.includes(kind)) return 0
  const index = INSTALL_ORDER.indexOf(kind)
  return index < 0 ? INSTALL_ORDER.length + 1 : index + 1
}

/** Items grouped into waves in apply order; input order is kept inside a wave. */
export function planWaves<T extends { object: { kind: string } }>(items: T[]): T[][] {
  const waves = new Map<number, T[]>()
  for (const item of items) {
    const wave = waveOf(item.object.kind)
    waves.set(wave, [...(waves.get(wave) ?? []), item])
  }
  return [...waves.entries()].sort(([a], [b]) => a - b).map(([, wave]) => wave)
}

/**
 * The namespace an object goes to: its own, else the default one; none for cluster-scoped
 * kinds (the apiserver would reject a namespace on them through a namespaced URL anyway).
 */
export function targetNamespace(object: KubeObject, namespaced: boolean, defaultNamespace: string): string | undefined {
  if (!namespaced) return undefined
  return object.metadata.namespace || defaultNamespace
}

/** A copy of the object as it is sent: namespace settled, our annotations and labels merged in. */
export function desiredObject(
  object: KubeObject,
  namespace: string | undefined,
  annotations: Record<string, string>,
  labels: Record<string, string> = {}
): KubeObject {
  const metadata: KubeObject['metadata'] = { ...object.metadata }
  if (namespace === undefined) delete metadata.namespace
  else metadata.namespace = namespace
  if (Object.keys(annotations).length > 0) metadata.annotations = { ...(metadata.annotations ?? {}), ...annotations }
  if (Object.keys(labels).length > 0)
    metadata.labels = { ...((metadata.labels as Record<string, string> | undefined) ?? {}), ...labels }
  return { ...object, metadata }
}

export const ANNOTATION_ENV_COMMIT = 'gitops-push-deploy/env-commit'
export const ANNOTATION_SOURCE = 'gitops-push-deploy/source'
export const ANNOTATION_RUN_URL = 'gitops-push-deploy/run-url'

/** The annotations every applied object carries; unknown values are left out. */
export function deployAnnotations(facts: {
  envCommit?: string
  repository?: string
  sha?: string
  runUrl?: string
}): Record<string, string> {
  const annotations: Record<string, string> = {}
  if (facts.envCommit) annotations[ANNOTATION_ENV_COMMIT] = facts.envCommit
  if (facts.repository && facts.sha) annotations[ANNOTATION_SOURCE] = `${facts.repository}@${facts.sha}`
  if (facts.runUrl) annotations[ANNOTATION_RUN_URL] = facts.runUrl
  return annotations
}

/** What an object waits for when its Namespace or CRD is created by the same set. */
export interface SetDependency {
  /** `Namespace app` or `CustomResourceDefinition widgets.example.com`. */
  on: string
  kind: 'namespace' | 'crd'
}

/**
 * Whether an object depends on a Namespace or CRD of the same set: `crdName` names the CRD of
 * the set that defines the object's kind, if any.
 */
export function setDependency(
  namespace: string | undefined,
  crdName: string | undefined,
  namespacesInSet: Set<string>
): SetDependency | undefined {
  if (crdName) return { on: `CustomResourceDefinition ${crdName}`, kind: 'crd' }
  if (namespace !== undefined && namespacesInSet.has(namespace))
    return { on: `Namespace ${namespace}`, kind: 'namespace' }
  return undefined
}

/** Duplicates (same group, kind, namespace and name) named with where each was read. */
export function duplicateProblems(items: Array<{ key: string; describe: string; source: string }>): string[] {
  const seen = new Map<string, string>()
  const problems: string[] = []
  for (const item of items) {
    const first = seen.get(item.key)
    if (first) problems.push(`${item.describe}: defined twice (${first} and ${item.source})`)
    else seen.set(item.key, item.source)
  }
  return problems
}
