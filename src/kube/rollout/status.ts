import { groupOf } from '../types.js'
import {
  conditionOf,
  type DaemonSetSpec,
  type DaemonSetStatus,
  type DeploymentSpec,
  type DeploymentStatus,
  type JobSpec,
  type JobStatus,
  type LiveObject,
  type StatefulSetSpec,
  type StatefulSetStatus
} from './objects.js'

/** How an applied kind is followed to its verdict. */
export type TrackingRule =
  'Deployment' | 'StatefulSet' | 'DaemonSet' | 'Job' | 'CustomResourceDefinition' | 'custom-resource' | 'applied'

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
  if (group === 'apiextensions.k8s.io' && kind === 'CustomResourceDefinition') return kind
  return isBuiltInGroup(group) ? 'applied' : 'custom-resource'
}

/** Built-in groups have no dot (`apps`, `batch`, …) or end in k8s.io; a CRD's group must contain a dot. */
function isBuiltInGroup(group: string): boolean {
  return !group.includes('.') || group === 'k8s.io' || group.endsWith('.k8s.io')
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

/** The rollout state of a live object by its kind's rule (kubectl rollout status, kstatus). */
export function rolloutStatus(rule: TrackingRule, object: LiveObject, appliedGeneration?: number): RolloutStatus {
  switch (rule) {
    case 'Deployment':
      return deploymentStatus(object, appliedGeneration)
    case 'StatefulSet':
      return statefulSetStatus(object, appliedGeneration)
    case 'DaemonSet':
      return daemonSetStatus(object, appliedGeneration)
    case 'Job':
      return jobStatus(object)
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
  // The controller never progresses a paused Deployment, nor sets ProgressDeadlineExceeded on it.
  if (spec.paused) {
    return failed('is paused (spec.paused: true), so it will never roll out; resume it or remove spec.paused')
  }
  const unobserved = unobservedGeneration(object, appliedGeneration)
  if (unobserved) return progressing(unobserved)
  const status = (object.status ?? {}) as DeploymentStatus
  const deadline = conditionOf(object, 'Progressing')
  if (deadline?.reason === 'ProgressDeadlineExceeded') {
    return failed(`ProgressDeadlineExceeded: ${deadline.message ?? 'no progress within progressDeadlineSeconds'}`)
  }
  const replicaFailure = conditionOf(object, 'ReplicaFailure')
  if (replicaFailure?.status === 'True') {
    return failed(`ReplicaFailure: ${replicaFailure.reason ?? ''}: ${replicaFailure.message ?? ''}`)
  }
  // spec.replicas is read live: an HPA may own it.
  const desired = spec.replicas ?? 1
  const updated = status.updatedReplicas ?? 0
  const total = status.replicas ?? 0
  const available = status.availableReplicas ?? 0
  const oldPending = total - updated
  const summary =
    replicaSummary(updated, available, desired) + (oldPending > 0 ? `, ${oldPending} old pending termination` : '')
  return updated < desired || oldPending > 0 || available < updated ? progressing(summary) : ready(summary)
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
  if (failure) return failed(`${failure.type}: ${failure.reason ?? ''}: ${failure.message ?? ''}`)
  const succeeded = status.succeeded ?? 0
  if (conditionOf(object, 'Complete')?.status === 'True') return ready(`complete, ${succeeded} succeeded`)
  const suspended = ((object.spec ?? {}) as JobSpec).suspend ? ', suspended' : ''
  return progressing(`${status.active ?? 0} active, ${succeeded} succeeded, ${status.failed ?? 0} failed${suspended}`)
}

function crdStatus(object: LiveObject): RolloutStatus {
  if (conditionOf(object, 'Established')?.status === 'True') return ready('established')
  const names = conditionOf(object, 'NamesAccepted')
  if (names?.status === 'False') return failed(`NamesAccepted=False: ${names.reason ?? ''}: ${names.message ?? ''}`)
  return progressing('waiting for condition Established')
}

/** kstatus: observed generation, then Reconciling, Stalled and Ready; no conditions means current. */
function customResourceStatus(object: LiveObject, appliedGeneration?: number): RolloutStatus {
  if (object.status?.observedGeneration !== undefined) {
    const unobserved = unobservedGeneration(object, appliedGeneration)
    if (unobserved) return progressing(unobserved)
  }
  const describe = (c: { type: string; status: string; reason?: string; message?: string }): string =>
    `${c.type}=${c.status}` + (c.reason ? `: ${c.reason}` : '') + (c.message ? `: ${c.message}` : '')
  const reconciling = conditionOf(object, 'Reconciling')
  if (reconciling?.status === 'True') return progressing(describe(reconciling))
  const stalled = conditionOf(object, 'Stalled')
  if (stalled?.status === 'True') return failed(describe(stalled))
  const readyCondition = conditionOf(object, 'Ready')
  if (readyCondition && readyCondition.status !== 'True') return progressing(describe(readyCondition))
  return ready(readyCondition ? 'Ready=True' : 'current')
}
