// The run's decisions around drift, as pure functions: what a drift check leads to and which
// status a run that applied ends with.
import { type DriftPolicy } from '../config/config.js'
import { type DeployStatus } from '../report/status.js'

/**
 * What the run is: `deploy` commits a new reference; `catch-up` is a deploy run whose env repo
 * already holds it (Git is current, the cluster may not be); `reconcile` is mode reconcile.
 */
export type RunKind = 'deploy' | 'catch-up' | 'reconcile'

/** What a drift check found: drifted objects, and live objects not yet members of the inventory. */
export interface DriftFindings {
  drifted: number
  unlabelled: number
}

/**
 * After the drift check: `stop` (drift with `drift: fail`: status drifted, nothing committed or
 * applied), `in-sync` (nothing to apply: the cluster equals Git and the inventory holds every
 * object), or `apply`. A deploy always applies its new commit; no check (undefined) means apply.
 */
export function afterDriftCheck(
  kind: RunKind,
  policy: DriftPolicy,
  findings: DriftFindings | undefined
): 'stop' | 'in-sync' | 'apply' {
  const drifted = (findings?.drifted ?? 0) > 0
  if (drifted && policy === 'fail') return 'stop'
  if (kind !== 'deploy' && findings && !drifted && findings.unlabelled === 0) return 'in-sync'
  return 'apply'
}

/** The status of a run whose check found the cluster equal to Git. */
export function inSyncStatus(kind: Exclude<RunKind, 'deploy'>): DeployStatus {
  return kind === 'catch-up' ? 'unchanged' : 'reconciled'
}

/** The status of a run whose apply, rollout and prune succeeded. */
export function appliedStatus(kind: RunKind): DeployStatus {
  return kind === 'deploy' ? 'deployed' : 'reconciled'
}

/**
 * Whether the drift check runs: only with a cluster this run may apply to; a deploy skips it
 * with `drift: ignore`, while catch-up and reconcile runs need its answer to decide.
 */
export function checksDrift(kind: RunKind, policy: DriftPolicy): boolean {
  return kind !== 'deploy' || policy !== 'ignore'
}
