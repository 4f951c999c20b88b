// What rollout tracking is asked and what it answers.
import { type Deadline } from '../../lib/deadline.js'
import { type ResourceResult } from '../types.js'

export interface TrackTarget {
  apiVersion: string
  kind: string
  namespace?: string
  name: string
  /** As returned by our apply: statuses the controller wrote for older generations are ignored. */
  generation?: number
}

export interface RolloutOutcome {
  ok: boolean
  /** One per target: ready | failed | timeout | not-trackable | applied | aborted. */
  resources: ResourceResult[]
  /** kubedog-like diagnosis, multi-line. */
  failure?: string
  seconds: number
}

export interface TrackOptions {
  timeoutMs: number
  /** Apply time: older events are ignored. */
  since: Date
  log: (line: string) => void
  signal?: AbortSignal
  /**
   * How long a new pod may stay unschedulable (autoscalers add nodes); 30 s by default. A
   * ReplicaSet may refuse to create pods (a quota freed when an old pod goes) four times as long
   * without progress.
   */
  graceMs?: number
  /** Restarts a new pod may have before its crash loop fails the rollout; 1 by default. */
  failuresAllowed?: number
}

/**
 * Waits on a rollout until `deadline` passes: hooks and rollbacks hand the tracker the very
 * deadline they run under, so a wait never outlives the run's (or the rollback's) budget.
 */
export type Tracker = (targets: TrackTarget[], since: Date, deadline: Deadline) => Promise<RolloutOutcome>
