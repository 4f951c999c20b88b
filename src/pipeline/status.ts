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

const SUCCESS: ReadonlySet<DeployStatus> = new Set([
  'deployed',
  'committed',
  'unchanged',
  'reconciled',
  'proposed',
  'planned'
])

/** Exit code the CLI and the action end with for a status. */
export function exitCodeFor(status: DeployStatus): 0 | 1 {
  return SUCCESS.has(status) ? 0 : 1
}
