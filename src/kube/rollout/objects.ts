// The few fields of live objects the tracker reads, as the apiserver sends them (raw JSON).

export interface Condition {
  type: string
  status: string
  reason?: string
  message?: string
  lastTransitionTime?: string
  /** Set by controllers that stamp each condition with the generation it describes (cert-manager, Gateway API). */
  observedGeneration?: number
}

export interface OwnerReference {
  uid: string
  kind: string
  name: string
  controller?: boolean
}

export interface ObjectMeta {
  name: string
  namespace?: string
  uid: string
  generation?: number
  resourceVersion?: string
  creationTimestamp?: string
  labels?: Record<string, string>
  annotations?: Record<string, string>
  ownerReferences?: OwnerReference[]
}

export interface LiveObject {
  apiVersion?: string
  kind?: string
  metadata: ObjectMeta
  // Loosely typed on purpose: every rule reads the fields of its own kind through the interfaces below.
  spec?: Record<string, unknown>
  status?: Record<string, unknown> & { observedGeneration?: number; conditions?: Condition[] }
}

export interface DeploymentSpec {
  replicas?: number
  paused?: boolean
}

export interface DeploymentStatus {
  observedGeneration?: number
  replicas?: number
  updatedReplicas?: number
  availableReplicas?: number
  conditions?: Condition[]
}

export interface StatefulSetSpec {
  replicas?: number
  updateStrategy?: { type?: string; rollingUpdate?: { partition?: number } }
}

export interface StatefulSetStatus {
  observedGeneration?: number
  readyReplicas?: number
  availableReplicas?: number
  updatedReplicas?: number
  currentRevision?: string
  updateRevision?: string
}

export interface DaemonSetSpec {
  updateStrategy?: { type?: string }
}

export interface DaemonSetStatus {
  observedGeneration?: number
  desiredNumberScheduled?: number
  updatedNumberScheduled?: number
  numberAvailable?: number
}

export interface JobSpec {
  suspend?: boolean
}

/** ReplicaSet and ReplicationController. */
export interface ReplicaSetSpec {
  replicas?: number
}

export interface ReplicaSetStatus {
  replicas?: number
  fullyLabeledReplicas?: number
  readyReplicas?: number
  availableReplicas?: number
}

export interface PersistentVolumeClaimSpec {
  storageClassName?: string
}

export interface JobStatus {
  active?: number
  succeeded?: number
  failed?: number
  conditions?: Condition[]
}

export interface ContainerState {
  waiting?: { reason?: string; message?: string }
  running?: { startedAt?: string }
  terminated?: { reason?: string; message?: string; exitCode?: number }
}

export interface ContainerStatus {
  name: string
  restartCount?: number
  state?: ContainerState
  lastState?: ContainerState
}

export interface PodStatus {
  phase?: string
  conditions?: Condition[]
  initContainerStatuses?: ContainerStatus[]
  containerStatuses?: ContainerStatus[]
}

/** A core/v1 Event, the fields a diagnosis shows. */
export interface KubeEvent {
  metadata: ObjectMeta
  type?: string
  reason?: string
  message?: string
  count?: number
  firstTimestamp?: string
  lastTimestamp?: string
  eventTime?: string
  series?: { count?: number; lastObservedTime?: string }
  involvedObject: { kind?: string; name?: string; uid?: string }
}

export function conditionOf(object: { status?: { conditions?: Condition[] } }, type: string): Condition | undefined {
  return object.status?.conditions?.find(c => c.type === type)
}

/** `label: reason: message`, leaving out the parts the condition lacks (controllers often omit both). */
export function describeCondition(label: string, condition: Condition): string {
  return [label, condition.reason, condition.message].filter(Boolean).join(': ')
}

export function isControlledBy(object: LiveObject, ownerUid: string): boolean {
  return (object.metadata.ownerReferences ?? []).some(o => o.controller === true && o.uid === ownerUid)
}
