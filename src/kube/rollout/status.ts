import { groupOf } from '../types.js'
import {
  conditionOf,
  describeCondition,
  type Condition,
  type DaemonSetSpec,
  type DaemonSetStatus,
  type DeploymentSpec,
  type DeploymentStatus,
  type JobSpec,
  type JobStatus,
  type LiveObject,
  type PersistentVolumeClaimSpec,
  type PodStatus,
  type ReplicaSetSpec,
  type ReplicaSetStatus,
  type StatefulSetSpec,
  type StatefulSetStatus
} from './objects.js'

/** How an applied kind is followed to its verdict. */
export type TrackingRule =
  | 'Deployment'
  | 'StatefulSet'
  | 'DaemonSet'
  | 'Job'
  | 'Pod'
  | 'ReplicaSet'
  | 'PersistentVolumeClaim'
  | 'PodDisruptionBudget'
  | 'CustomResourceDefinition'
  | 'custom-resource'
  | 'applied'

export type RolloutState = 'progressing' | 'ready' | 'failed' | 'not-trackable'

export interface RolloutStatus {
  state: RolloutState
  /** Progress (`2/3 updated, 1/3 available`) or the reason of the verdict. */
  message: string
}

export function trackingRule(apiVersion: string, kind: string): TrackingRule {
  const group = groupOf(apiVersion)
  if (group === 'apps' && (kind === 'Deployment' || kind === 'StatefulSet' || kind === 'DaemonSet')) return kind
  if (group === 'batch' && kind === 'Job') return 'Job'
  // A ReplicationController is a ReplicaSet with an equality selector: same status, same rule.
  if ((group === 'apps' && kind === 'ReplicaSet') || (group === '' && kind === 'ReplicationController')) {
    return 'ReplicaSet'
  }
  if (group === '' && (kind === 'Pod' || kind === 'PersistentVolumeClaim')) return kind
  if (group === 'policy' && kind === 'PodDisruptionBudget') return kind
  if (group === 'apiextensions.k8s.io' && kind === 'CustomResourceDefinition') return kind
  return isBuiltInGroup(group) ? 'applied' : 'custom-resource'
}

/**
 * The API groups Kubernetes serves itself. Not every `*.k8s.io` group: custom resources may use
 * one with API approval (Gateway API's `gateway.networking.k8s.io`, `snapshot.storage.k8s.io`), and
 * their conditions are followed like any custom resource's. Groups without a dot are built in
 * (`apps`, `batch`, …): a CRD's group must contain one.
 */
const BUILT_IN_DOTTED_GROUPS = new Set([
  'admissionregistration.k8s.io',
  'apiextensions.k8s.io',
  'apiregistration.k8s.io',
  'authentication.k8s.io',
  'authorization.k8s.io',
  'certificates.k8s.io',
  'coordination.k8s.io',
  'discovery.k8s.io',
  'events.k8s.io',
  'flowcontrol.apiserver.k8s.io',
  'internal.apiserver.k8s.io',
  'networking.k8s.io',
  'node.k8s.io',
  'rbac.authorization.k8s.io',
  'resource.k8s.io',
  'scheduling.k8s.io',
  'storage.k8s.io',
  'storagemigration.k8s.io'
])

function isBuiltInGroup(group: string): boolean {
  return !group.includes('.') || BUILT_IN_DOTTED_GROUPS.has(group)
}

/**
 * Undefined when the controller has seen the generation we applied (and the live one, which
 * may be newer); otherwise why we still wait. Statuses older than that describe the old spec.
 */
export function unobservedGeneration(object: LiveObject, appliedGeneration: number | undefined): string | undefined {
  const wanted = Math.max(appliedGeneration ?? 0, object.metadata.generation ?? 0)
  const observed = object.status?.observedGeneration ?? 0
  return observed >= wanted && observed > 0
    ? undefined
    : `waiting for the controller to observe generation ${wanted} (observed: ${observed})`
}

const progressing = (message: string): RolloutStatus => ({ state: 'progressing', message })
const ready = (message: string): RolloutStatus => ({ state: 'ready', message })
const failed = (message: string): RolloutStatus => ({ state: 'failed', message })

/** What a rule needs beyond the object, looked up by the tracker. */
export interface RuleFacts {
  /** The PVC's StorageClass volumeBindingMode; undefined when it has no class (binds at once). */
  volumeBindingMode?: string
}

/** The rollout state of a live object by its kind's rule (kubectl rollout status, kstatus, helm). */
export function rolloutStatus(
  rule: TrackingRule,
  object: LiveObject,
  appliedGeneration?: number,
  facts: RuleFacts = {}
): RolloutStatus {
  switch (rule) {
    case 'Deployment':
      return deploymentStatus(object, appliedGeneration)
    case 'StatefulSet':
      return statefulSetStatus(object, appliedGeneration)
    case 'DaemonSet':
      return daemonSetStatus(object, appliedGeneration)
    case 'Job':
      return jobStatus(object)
    case 'Pod':
      return podStatus(object)
    case 'ReplicaSet':
      return replicaSetStatus(object, appliedGeneration)
    case 'PersistentVolumeClaim':
      return volumeClaimStatus(object, facts.volumeBindingMode)
    case 'PodDisruptionBudget':
      return observedStatus(object, appliedGeneration)
    case 'CustomResourceDefinition':
      return crdStatus(object)
    case 'custom-resource':
      return customResourceStatus(object, appliedGeneration)
    case 'applied':
      return ready('applied')
  }
}

function replicaSummary(updated: number, available: number, desired: number): string {
  return `${updated}/${desired} updated, ${available}/${desired} available`
}

function deploymentStatus(object: LiveObject, appliedGeneration?: number): RolloutStatus {
  const spec = (object.spec ?? {}) as DeploymentSpec
  const unobserved = unobservedGeneration(object, appliedGeneration)
  if (unobserved) return progressing(unobserved)
  const status = (object.status ?? {}) as DeploymentStatus
  const deadline = conditionOf(object, 'Progressing')
  if (deadline?.reason === 'ProgressDeadlineExceeded') {
    return failed(`ProgressDeadlineExceeded: ${deadline.message ?? 'no progress within progressDeadlineSeconds'}`)
  }
  // spec.replicas is read live: an HPA may own it.
  const desired = spec.replicas ?? 1
  const updated = status.updatedReplicas ?? 0
  const total = status.replicas ?? 0
  const available = status.availableReplicas ?? 0
  const oldPending = total - updated
  const pending = updated < desired || oldPending > 0
  const summary =
    replicaSummary(updated, available, desired) + (oldPending > 0 ? `, ${oldPending} old pending termination` : '')
  // The controller never rolls out a paused Deployment (nor sets ProgressDeadlineExceeded on
  // it); one with nothing pending is done, as for kubectl and helm.
  if (spec.paused && pending) {
    return failed(`is paused (spec.paused: true) with a rollout pending (${summary}); resume it or remove spec.paused`)
  }
  // A quota or admission refusal often clears when an old pod goes: the tracker fails it only
  // once it outlasts the grace window (signals.ts), like an unschedulable pod.
  const replicaFailure = conditionOf(object, 'ReplicaFailure')
  const refused = replicaFailure?.status === 'True' ? `; ${describeCondition('ReplicaFailure', replicaFailure)}` : ''
  if (pending || available < updated) return progressing(summary + refused)
  return ready(summary + (spec.paused ? ', paused with nothing pending' : ''))
}

function statefulSetStatus(object: LiveObject, appliedGeneration?: number): RolloutStatus {
  const spec = (object.spec ?? {}) as StatefulSetSpec
  const strategy = spec.updateStrategy?.type ?? 'RollingUpdate'
  if (strategy !== 'RollingUpdate') return { state: 'not-trackable', message: notTrackable(strategy) }
  const unobserved = unobservedGeneration(object, appliedGeneration)
  if (unobserved) return progressing(unobserved)
  const status = (object.status ?? {}) as StatefulSetStatus
  const desired = spec.replicas ?? 1
  const updated = status.updatedReplicas ?? 0
  // availableReplicas honours minReadySeconds; servers before 1.22 only report readyReplicas.
  const available = status.availableReplicas ?? status.readyReplicas ?? 0
  const summary = replicaSummary(updated, available, desired)
  if (available < desired) return progressing(summary)
  const partition = spec.updateStrategy?.rollingUpdate?.partition ?? 0
  if (partition > 0) {
    const partitionSummary = `${summary}, partition ${partition}`
    return updated < desired - partition ? progressing(partitionSummary) : ready(partitionSummary)
  }
  return status.updateRevision !== status.currentRevision ? progressing(summary) : ready(summary)
}

function daemonSetStatus(object: LiveObject, appliedGeneration?: number): RolloutStatus {
  const strategy = ((object.spec ?? {}) as DaemonSetSpec).updateStrategy?.type ?? 'RollingUpdate'
  if (strategy !== 'RollingUpdate') return { state: 'not-trackable', message: notTrackable(strategy) }
  const unobserved = unobservedGeneration(object, appliedGeneration)
  if (unobserved) return progressing(unobserved)
  const status = (object.status ?? {}) as DaemonSetStatus
  const desired = status.desiredNumberScheduled ?? 0
  const updated = status.updatedNumberScheduled ?? 0
  const available = status.numberAvailable ?? 0
  const summary = replicaSummary(updated, available, desired)
  return updated < desired || available < desired ? progressing(summary) : ready(summary)
}

function notTrackable(strategy: string): string {
  return `updateStrategy ${strategy}: pods change only when deleted, so there is no rollout to wait for`
}

function jobStatus(object: LiveObject): RolloutStatus {
  const status = (object.status ?? {}) as JobStatus
  // FailureTarget precedes Failed (set once the last pods are terminated) on 1.31+ servers.
  const failure = [conditionOf(object, 'Failed'), conditionOf(object, 'FailureTarget')].find(c => c?.status === 'True')
  if (failure) return failed(describeCondition(failure.type, failure))
  const succeeded = status.succeeded ?? 0
  if (conditionOf(object, 'Complete')?.status === 'True') return ready(`complete, ${succeeded} succeeded`)
  const counts = `${status.active ?? 0} active, ${succeeded} succeeded, ${status.failed ?? 0} failed`
  // kstatus: a Job the controller has suspended is done; it runs when someone resumes it.
  if (((object.spec ?? {}) as JobSpec).suspend) {
    return conditionOf(object, 'Suspended')?.status === 'True'
      ? ready(`suspended (spec.suspend: true), not run by this deploy; ${counts}`)
      : progressing(`${counts}, waiting for the controller to suspend it`)
  }
  return progressing(counts)
}

/**
 * kstatus for bare pods, except that a Failed pod fails the deploy (kstatus calls it done).
 * Crash loops and unschedulable pods are fail-fast signals (signals.ts), as for workloads.
 */
function podStatus(object: LiveObject): RolloutStatus {
  const status = (object.status ?? {}) as PodStatus
  const phase = status.phase ?? ''
  const readyCondition = conditionOf(object, 'Ready')
  if (phase === 'Succeeded') return ready('phase Succeeded')
  if (phase === 'Failed') {
    const detail = (status as { reason?: string; message?: string }).message
    return failed(`phase Failed${detail ? `: ${detail}` : ''}`)
  }
  if (phase === 'Running' && readyCondition?.status === 'True') return ready('Running and Ready')
  const why = readyCondition?.reason ? ` (${readyCondition.reason})` : ''
  return progressing(phase ? `phase ${phase}, not Ready${why}` : 'waiting for the kubelet')
}

/** kstatus for ReplicaSets and ReplicationControllers; ReplicaFailure is judged with a grace window. */
function replicaSetStatus(object: LiveObject, appliedGeneration?: number): RolloutStatus {
  const unobserved = unobservedGeneration(object, appliedGeneration)
  if (unobserved) return progressing(unobserved)
  const desired = ((object.spec ?? {}) as ReplicaSetSpec).replicas ?? 1
  const status = (object.status ?? {}) as ReplicaSetStatus
  const labelled = status.fullyLabeledReplicas ?? 0
  const available = status.availableReplicas ?? 0
  const readyCount = status.readyReplicas ?? 0
  const total = status.replicas ?? 0
  const summary =
    `${readyCount}/${desired} ready, ${available}/${desired} available` +
    (total > desired ? `, ${total - desired} pending termination` : '')
  const replicaFailure = conditionOf(object, 'ReplicaFailure')
  if (replicaFailure?.status === 'True') {
    return progressing(`${summary}; ${describeCondition('ReplicaFailure', replicaFailure)}`)
  }
  return labelled < desired || available < desired || readyCount < desired || total > desired
    ? progressing(summary)
    : ready(summary)
}

/** kstatus waits for Bound; a WaitForFirstConsumer claim binds only once a pod uses it. */
function volumeClaimStatus(object: LiveObject, bindingMode: string | undefined): RolloutStatus {
  const phase = (object.status as { phase?: string } | undefined)?.phase ?? 'Pending'
  if (phase === 'Bound') return ready('Bound')
  if (phase === 'Lost') return failed('phase Lost: its PersistentVolume is gone')
  if (bindingMode === 'WaitForFirstConsumer') {
    const storageClass = ((object.spec ?? {}) as PersistentVolumeClaimSpec).storageClassName
    const binder = storageClass ? `storage class ${storageClass}` : 'its storage class'
    return ready(`${phase}: ${binder} binds when the first pod uses it (WaitForFirstConsumer)`)
  }
  return progressing(`phase ${phase}, waiting for Bound`)
}

/** Kinds whose controller's only signal is observedGeneration (kstatus: PodDisruptionBudget). */
function observedStatus(object: LiveObject, appliedGeneration?: number): RolloutStatus {
  const unobserved = unobservedGeneration(object, appliedGeneration)
  return unobserved ? progressing(unobserved) : ready('observed')
}

function crdStatus(object: LiveObject): RolloutStatus {
  // Established stays True when a later name change conflicts: NamesAccepted=False wins (kstatus).
  const names = conditionOf(object, 'NamesAccepted')
  if (names?.status === 'False') return failed(describeCondition('NamesAccepted=False', names))
  if (conditionOf(object, 'Established')?.status === 'True') return ready('established')
  return progressing('waiting for condition Established')
}

/**
 * kstatus: observed generation, then Reconciling, Stalled and Ready; no conditions means
 * current. A condition stamped with an older generation than the object's describes the old
 * spec: it is ignored, and a stale Ready means not ready yet.
 */
function customResourceStatus(object: LiveObject, appliedGeneration?: number): RolloutStatus {
  if (object.status?.observedGeneration !== undefined) {
    const unobserved = unobservedGeneration(object, appliedGeneration)
    if (unobserved) return progressing(unobserved)
  }
  const generation = Math.max(appliedGeneration ?? 0, object.metadata.generation ?? 0)
  const stale = (c: Condition): boolean => (c.observedGeneration ?? generation) < generation
  const describe = (c: Condition): string => describeCondition(`${c.type}=${c.status}`, c)
  const reconciling = conditionOf(object, 'Reconciling')
  if (reconciling?.status === 'True' && !stale(reconciling)) return progressing(describe(reconciling))
  const stalled = conditionOf(object, 'Stalled')
  if (stalled?.status === 'True' && !stale(stalled)) return failed(describe(stalled))
  const readyCondition = conditionOf(object, 'Ready')
  if (readyCondition && stale(readyCondition)) {
    return progressing(
      `condition Ready describes generation ${readyCondition.observedGeneration}, waiting for generation ${generation}`
    )
  }
  if (readyCondition && readyCondition.status !== 'True') return progressing(describe(readyCondition))
  return ready(readyCondition ? 'Ready=True' : 'current')
}
