// Fail-fast signals: what in a workload's new pods or ReplicaSet means the rollout cannot succeed.
import {
  conditionOf,
  describeCondition,
  isControlledBy,
  type Condition,
  type ContainerStatus,
  type LiveObject,
  type PodStatus,
  type StatefulSetStatus
} from './objects.js'
import { type TrackingRule } from './status.js'

/**
 * Waiting reasons that do not clear up by themselves. ErrImagePull is not among them: it is the
 * state right after one failed pull, which a registry blip also causes; the kubelet shows
 * ImagePullBackOff at its next sync, seconds later, and that is when we give up.
 * CrashLoopBackOff is judged apart: it counts only past the restarts allowed (`failures-allowed`).
 */
export const FAILING_WAITING_REASONS: ReadonlySet<string> = new Set([
  'ImagePullBackOff',
  'CreateContainerConfigError',
  'CreateContainerError',
  'InvalidImageName',
  'ErrImageNeverPull',
  'RunContainerError'
])

export interface PodFailure {
  pod: string
  container?: string
  reason: string
  message: string
}

const REVISION_ANNOTATION = 'deployment.kubernetes.io/revision'
/** Per object, overrides the `failures-allowed` input. */
export const FAILURES_ALLOWED_ANNOTATION = 'gitops-push-deploy/failures-allowed'

/** The restarts a new pod of this object may have: its annotation, else the input's value. */
export function failuresAllowed(object: LiveObject, fallback: number): { allowed: number } | { error: string } {
  const value = object.metadata.annotations?.[FAILURES_ALLOWED_ANNOTATION]
  if (value === undefined) return { allowed: fallback }
  const digits = value.trim()
  if (!/^\d{1,4}$/.test(digits)) {
    return { error: `annotation ${FAILURES_ALLOWED_ANNOTATION}: "${value}" is not a whole number from 0 to 9999` }
  }
  return { allowed: Number(digits) }
}
const DAEMONSET_GENERATION_ANNOTATION = 'deprecated.daemonset.template.generation'

/** The Deployment's current ReplicaSet: controlled by it, at its revision. */
export function newReplicaSet(deployment: LiveObject, replicaSets: Iterable<LiveObject>): LiveObject | undefined {
  const revision = deployment.metadata.annotations?.[REVISION_ANNOTATION]
  if (revision === undefined) return undefined
  for (const rs of replicaSets) {
    if (isControlledBy(rs, deployment.metadata.uid) && rs.metadata.annotations?.[REVISION_ANNOTATION] === revision) {
      return rs
    }
  }
  return undefined
}

/**
 * The pods of the revision being rolled out; pods of older revisions may fail without
 * concerning this rollout. Call only once the controller observed the applied generation,
 * before that the workload's revision markers still name the old revision.
 */
export function newRevisionPods(
  rule: TrackingRule,
  workload: LiveObject,
  pods: Iterable<LiveObject>,
  currentReplicaSet?: LiveObject
): LiveObject[] {
  const matches = newRevisionMatcher(rule, workload, currentReplicaSet)
  return matches ? [...pods].filter(matches) : []
}

function newRevisionMatcher(
  rule: TrackingRule,
  workload: LiveObject,
  currentReplicaSet: LiveObject | undefined
): ((pod: LiveObject) => boolean) | undefined {
  const uid = workload.metadata.uid
  switch (rule) {
    case 'Deployment': {
      if (!currentReplicaSet) return undefined
      const rsUid = currentReplicaSet.metadata.uid
      return pod => isControlledBy(pod, rsUid)
    }
    case 'StatefulSet': {
      const revision = ((workload.status ?? {}) as StatefulSetStatus).updateRevision
      if (!revision) return undefined
      return pod => isControlledBy(pod, uid) && pod.metadata.labels?.['controller-revision-hash'] === revision
    }
    case 'DaemonSet': {
      // The apiserver bumps this annotation when the template changes; the controller labels pods with it.
      const generation = workload.metadata.annotations?.[DAEMONSET_GENERATION_ANNOTATION]
      return pod =>
        isControlledBy(pod, uid) &&
        (generation === undefined || pod.metadata.labels?.['pod-template-generation'] === generation)
    }
    case 'Job':
    case 'ReplicaSet':
      return pod => isControlledBy(pod, uid)
    case 'Pod':
      return pod => pod.metadata.uid === uid
    default:
      return undefined
  }
}

export function hasReplicaFailure(replicaSet: LiveObject): boolean {
  return conditionOf(replicaSet, 'ReplicaFailure')?.status === 'True'
}

/**
 * A ReplicaSet that cannot create its pods (quota, admission): `ReplicaFailure=True` for at
 * least the grace window. A quota hit by the surge pod clears once an old pod terminates.
 */
export function replicaSetFailure(
  replicaSet: LiveObject,
  options: { nowMs: number; sinceMs?: number; graceMs: number }
): string | undefined {
  const condition = conditionOf(replicaSet, 'ReplicaFailure')
  if (condition?.status !== 'True' || options.sinceMs === undefined) return undefined
  if (options.nowMs - options.sinceMs < options.graceMs) return undefined
  const seconds = Math.round(options.graceMs / 1000)
  return `replicaset ${replicaSet.metadata.name}: ${describeCondition('ReplicaFailure', condition)} (for ${seconds}s or more)`
}

/** The pod's PodScheduled condition when it says Unschedulable. */
function unschedulableCondition(pod: LiveObject): Condition | undefined {
  const scheduled = conditionOf(pod as { status?: PodStatus }, 'PodScheduled')
  return scheduled?.status === 'False' && scheduled.reason === 'Unschedulable' ? scheduled : undefined
}

export function isUnschedulable(pod: LiveObject): boolean {
  return unschedulableCondition(pod) !== undefined
}

export interface PodFailureOptions {
  nowMs: number
  /** When we first saw the pod unschedulable (our clock: the server's may be skewed). */
  unschedulableSinceMs?: number
  /** Autoscalers add nodes: unschedulable counts as failed only after this long. */
  unschedulableGraceMs: number
  /** Restarts a container may have before its crash loop fails the rollout (0: the first crash fails it). */
  failuresAllowed: number
}

/** Why this pod will not become ready without a change, or undefined while it may still. */
export function podFailure(pod: LiveObject, options: PodFailureOptions): PodFailure | undefined {
  const status = (pod.status ?? {}) as PodStatus
  const name = pod.metadata.name
  for (const [containers, init] of [
    [status.initContainerStatuses ?? [], true],
    [status.containerStatuses ?? [], false]
  ] as const) {
    for (const container of containers) {
      const failure = containerFailure(container, init, options.failuresAllowed)
      if (failure) return { pod: name, container: container.name, ...failure }
    }
  }
  const unschedulable = unschedulableCondition(pod)
  if (
    unschedulable &&
    options.unschedulableSinceMs !== undefined &&
    options.nowMs - options.unschedulableSinceMs >= options.unschedulableGraceMs
  ) {
    return { pod: name, reason: 'Unschedulable', message: unschedulable.message ?? '' }
  }
  return undefined
}

function containerFailure(
  container: ContainerStatus,
  init: boolean,
  failuresAllowed: number
): { reason: string; message: string } | undefined {
  const restarts = container.restartCount ?? 0
  const waiting = container.state?.waiting
  // A crash while a dependency starts is tolerated up to failuresAllowed restarts; a back-off
  // follows at least one crash, whatever restartCount says.
  const crashTolerated = Math.max(restarts, 1) <= failuresAllowed
  if (waiting?.reason === 'CrashLoopBackOff') {
    if (crashTolerated) return undefined
    const allowance = failuresAllowed > 0 ? ` (${restarts} restarts, ${failuresAllowed} allowed)` : ''
    return { reason: waiting.reason, message: (waiting.message ?? '') + allowance }
  }
  if (waiting?.reason && FAILING_WAITING_REASONS.has(waiting.reason)) {
    return { reason: waiting.reason, message: waiting.message ?? '' }
  }
  // An init container that failed and was restarted fails again: its pod never starts.
  const lastExit = container.lastState?.terminated
  if (init && restarts > 0 && !crashTolerated && lastExit?.reason === 'Error') {
    const detail = lastExit.message ? `: ${lastExit.message}` : ''
    return { reason: 'Error', message: `init container exited with code ${lastExit.exitCode ?? '?'}${detail}` }
  }
  return undefined
}

/** `pod web-7c9d5-x2k container app: ImagePullBackOff: <kubelet message>` */
export function describePodFailure(failure: PodFailure): string {
  const container = failure.container ? ` container ${failure.container}` : ''
  const message = failure.message ? `: ${failure.message}` : ''
  return `pod ${failure.pod}${container}: ${failure.reason}${message}`
}
