/** How a run ended: the `status` output. */
export type DeployStatus =
  | 'deployed'
  | 'committed'
  | 'unchanged'
  | 'reconciled'
  | 'drifted'
  | 'proposed'
  | 'planned'
  | 'rolled-back'
  | 'failed'
  | 'cancelled'

/** The statuses that end a run successfully (exit 0). */
const OK_STATUSES: ReadonlySet<DeployStatus> = new Set([
  'deployed',
  'committed',
  'unchanged',
  'reconciled',
  'proposed',
  'planned'
])

export function isOk(status: DeployStatus): boolean {
  return OK_STATUSES.has(status)
}

/** Exit code the CLI and the action end with for a status. */
export function exitCodeFor(status: DeployStatus): 0 | 1 {
  return isOk(status) ? 0 : 1
}
