// The inventory of one env path in the cluster, in kubectl's ApplySet convention (KEP-3659):
// a parent ConfigMap labelled `applyset.kubernetes.io/id`, members labelled
// `applyset.kubernetes.io/part-of` with the same id. Pure rules only; the I/O is in applyset.ts.
import { createHash } from 'node:crypto'
import { waveOf } from './plan.js'
import { groupOf, type KubeObject, objectKey } from './types.js'

export const LABEL_APPLYSET_ID = 'applyset.kubernetes.io/id'
export const LABEL_PART_OF = 'applyset.kubernetes.io/part-of'
export const ANNOTATION_TOOLING = 'applyset.kubernetes.io/tooling'
export const ANNOTATION_GROUP_KINDS = 'applyset.kubernetes.io/contains-group-kinds'
export const ANNOTATION_NAMESPACES = 'applyset.kubernetes.io/additional-namespaces'
/** An object carrying this annotation with value `disabled` is never pruned. */
export const ANNOTATION_PRUNE = 'gitops-push-deploy/prune'
export const ANNOTATION_ENV_REPO = 'gitops-push-deploy/env-repo'
export const ANNOTATION_ENV_PATH = 'gitops-push-deploy/env-path'

/**
 * The tooling the parent declares. kubectl refuses to touch an ApplySet whose tooling names
 * another tool, and the issue asks that `kubectl apply --prune --applyset=…` work on ours: so
 * the parent says `kubectl/…`, the version of the convention we follow.
 */
export const TOOLING = 'kubectl/v1.34.0'
const ACCEPTED_TOOLS = ['kubectl']

/** Where the parent lives: always a ConfigMap in the deploy's namespace. */
export interface ParentRef {
  name: string
  namespace: string
}

/** A set's id: `applyset-<base64url(sha256(name.namespace.kind.group))>-v1`, from its parent's GKNN. */
export function applySetId(parent: { name: string; namespace: string; kind: string; group: string }): string {
  const gknn = [parent.name, parent.namespace, parent.kind, parent.group].join('.')
  return `applyset-${createHash('sha256').update(gknn).digest('base64url')}-v1`
}

/** The id of our parent, a ConfigMap (core group). */
export function parentId(parent: ParentRef): string {
  return applySetId({ ...parent, kind: 'ConfigMap', group: '' })
}

/** `gitops-push-deploy.<last path segment>.<hash>`: one parent per env repo and env paths. */
export function parentName(repository: string, paths: string[]): string {
  const hash = createHash('sha256')
    .update(`${repository}\n${[...paths].sort().join('\n')}`)
    .digest('hex')
    .slice(0, 10)
  const last = (paths.length === 1 ? paths[0].slice(paths[0].lastIndexOf('/') + 1) : 'multi')
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40)
  return `gitops-push-deploy${last ? `.${last}` : ''}.${hash}`
}

/** `Deployment.apps`, or `ConfigMap` for the core group: the annotation's spelling of a group-kind. */
export function groupKind(apiVersion: string, kind: string): string {
  const group = groupOf(apiVersion)
  return group ? `${kind}.${group}` : kind
}

/** `Deployment.apps` → group `apps`, kind `Deployment` (the first dot separates them). */
export function parseGroupKind(value: string): { group: string; kind: string } {
  const dot = value.indexOf('.')
  return dot < 0 ? { group: '', kind: value } : { group: value.slice(dot + 1), kind: value.slice(0, dot) }
}

/** What the set covers: the group-kinds and the namespaces of its members. */
export interface SetScope {
  groupKinds: string[]
  /** Namespaces of namespaced members, the parent's included. */
  namespaces: string[]
}

export function scopeOf(members: Array<{ apiVersion: string; kind: string; namespace?: string }>): SetScope {
  return {
    groupKinds: [...new Set(members.map(m => groupKind(m.apiVersion, m.kind)))].sort(),
    namespaces: [...new Set(members.flatMap(m => (m.namespace ? [m.namespace] : [])))].sort()
  }
}

export function unionScope(a: SetScope, b: SetScope): SetScope {
  return {
    groupKinds: [...new Set([...a.groupKinds, ...b.groupKinds])].sort(),
    namespaces: [...new Set([...a.namespaces, ...b.namespaces])].sort()
  }
}

/** The parent as server-side applied: its id label, tooling, and the scope hints kubectl requires. */
export function parentObject(parent: ParentRef, scope: SetScope, origin: { repository: string; paths: string[] }) {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: parent.name,
      namespace: parent.namespace,
      labels: { [LABEL_APPLYSET_ID]: parentId(parent) },
      annotations: {
        [ANNOTATION_TOOLING]: TOOLING,
        [ANNOTATION_GROUP_KINDS]: scope.groupKinds.join(','),
        // Sorted, without the parent's own namespace, as the KEP asks.
        [ANNOTATION_NAMESPACES]: scope.namespaces.filter(ns => ns !== parent.namespace).join(','),
        [ANNOTATION_ENV_REPO]: origin.repository,
        [ANNOTATION_ENV_PATH]: origin.paths.join('\n')
      }
    }
  } satisfies KubeObject
}

/**
 * The scope a live parent records, or why this tool must not use it: a wrong id (someone else's
 * object of that name) or a parent managed by a tool other than kubectl-compatible ones.
 */
export function readParent(
  parent: ParentRef,
  live: { metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> } }
): { scope: SetScope } | { problem: string } {
  const labels = live.metadata?.labels ?? {}
  const annotations = live.metadata?.annotations ?? {}
  const where = `ApplySet parent ConfigMap ${parent.namespace}/${parent.name}`
  const id = labels[LABEL_APPLYSET_ID]
  if (id !== parentId(parent)) {
    return {
      problem: `${where} exists but its ${LABEL_APPLYSET_ID} label is ${id ?? 'missing'}, not ${parentId(parent)}`
    }
  }
  const tooling = annotations[ANNOTATION_TOOLING] ?? ''
  const tool = tooling.includes('/') ? tooling.slice(0, tooling.lastIndexOf('/')) : tooling
  if (!ACCEPTED_TOOLS.includes(tool)) {
    return { problem: `${where} is managed by tooling "${tooling || '(none)'}", not kubectl's convention; left alone` }
  }
  const list = (value: string | undefined): string[] => (value ? value.split(',').filter(Boolean) : [])
  return {
    scope: {
      groupKinds: list(annotations[ANNOTATION_GROUP_KINDS]).sort(),
      namespaces: [...new Set([parent.namespace, ...list(annotations[ANNOTATION_NAMESPACES])])].sort()
    }
  }
}

/** A member as listed from the cluster. */
export interface LiveMember {
  apiVersion: string
  kind: string
  namespace?: string
  name: string
  uid: string
  annotations: Record<string, string>
  ownerReferences: Array<{ kind: string; name: string }>
}

export interface PrunePlan {
  /** Deleted, in reverse install order (Namespaces and CRDs last). */
  prune: LiveMember[]
  /** Annotated `gitops-push-deploy/prune: disabled`: kept, and dropped from the set. */
  release: LiveMember[]
  /** Owned by another object (KEP: an ownership conflict): neither pruned nor released. */
  owned: LiveMember[]
}

/** Members the desired state no longer has, and what happens to each. */
export function planPrune(members: LiveMember[], desiredKeys: Set<string>): PrunePlan {
  const gone = members.filter(m => !desiredKeys.has(objectKey(m)))
  const owned = gone.filter(m => m.ownerReferences.length > 0)
  const free = gone.filter(m => m.ownerReferences.length === 0)
  return {
    prune: free
      .filter(m => m.annotations[ANNOTATION_PRUNE] !== 'disabled')
      .sort((a, b) => waveOf(b.kind) - waveOf(a.kind)),
    release: free.filter(m => m.annotations[ANNOTATION_PRUNE] === 'disabled'),
    owned
  }
}

/** An object from Git may not claim membership itself (KEP: such input is invalid). */
export function memberLabelProblem(object: KubeObject): string | undefined {
  const labels = (object.metadata.labels ?? {}) as Record<string, string>
  return LABEL_PART_OF in labels || LABEL_APPLYSET_ID in labels
    ? `sets the ${LABEL_PART_OF in labels ? LABEL_PART_OF : LABEL_APPLYSET_ID} label, which the deploy's inventory owns`
    : undefined
}

/** Server-written metadata, dropped when a deleted object is re-created. */
const SERVER_METADATA = [
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'managedFields',
  'selfLink',
  'ownerReferences',
  'finalizers'
]

/**
 * A pruned object as it can be applied again (a rollback restores it): its live fields without
 * status and the metadata the server writes.
 */
export function restorable(live: KubeObject): KubeObject {
  const { status: _status, ...rest } = live as KubeObject & { status?: unknown }
  const metadata: KubeObject['metadata'] = { ...live.metadata }
  for (const key of SERVER_METADATA) delete metadata[key]
  return { ...rest, metadata }
}

/** Objects to restore as one env file (a JSON List), so the rollback applies them with the rest. */
export function restoreFile(objects: KubeObject[]): { path: string; content: string } {
  return {
    path: '.gitops-push-deploy/pruned-by-this-run.json',
    content: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects })
  }
}
