import { type OutputName } from '../config/inputs.js'
import { type DeployStatus } from './status.js'

export interface ResourceRow {
  kind: string
  namespace: string
  name: string
  status: string
  message: string
  seconds?: number
}

/** One object that differed from Git before the run (the kube stage's DriftItem, as reported). */
export interface DriftRow {
  kind: string
  namespace: string
  name: string
  state: 'missing' | 'changed' | 'extra'
  fields: string[]
  managers: string[]
}

/** `changed Deployment web/api: spec.replicas (owned by kubectl)`: one line per drifted object. */
export function driftLine(row: DriftRow): string {
  const where = row.namespace ? `${row.namespace}/${row.name}` : row.name
  const fields = row.fields.length > 0 ? `: ${row.fields.join(', ')}` : ''
  const managers = row.managers.length > 0 ? ` (owned by ${row.managers.join(', ')})` : ''
  return `${row.state} ${row.kind} ${where}${fields}${managers}`
}

export interface CommitRef {
  sha: string
  url: string
}

/** Everything a run learned, filled in stage by stage; the single source of outputs and summary. */
export interface RunReport {
  status: DeployStatus
  image?: string
  digest?: string
  previousImage?: string
  envCommit?: CommitRef
  revertCommit?: CommitRef
  pullRequestUrl?: string
  resources: ResourceRow[]
  rolloutSeconds?: number
  /** Drift found before applying; undefined when not checked. */
  drift?: DriftRow[]
  deploymentId?: number
  /** What the apply would do to every object, from the server-side dry run. */
  plan?: Array<{ object: string; action: string }>
  /** Env-repo diff of this run (dry run and summaries). */
  diff?: string
  /** Why the run failed: the diagnosis of a failed rollout, or the error that stopped it. */
  failure?: string
  rollback?: { ok: boolean; resources: ResourceRow[]; failure?: string; seconds: number }
  /** Stage name → seconds, in the order run. */
  timings: Array<[string, number]>
}

export function newRunReport(): RunReport {
  return { status: 'failed', resources: [], timings: [] }
}

/** Every declared output, set in every outcome (empty where nothing is known). */
export function outputsOf(report: RunReport): Record<OutputName, string> {
  return {
    status: report.status,
    image: report.image ?? '',
    digest: report.digest ?? '',
    'previous-image': report.previousImage ?? '',
    'env-commit': report.envCommit?.sha ?? '',
    'env-commit-url': report.envCommit?.url ?? '',
    'revert-commit': report.revertCommit?.sha ?? '',
    'pull-request-url': report.pullRequestUrl ?? '',
    resources: JSON.stringify(
      report.resources.map(({ kind, namespace, name, status, message }) => ({ kind, namespace, name, status, message }))
    ),
    'rollout-seconds': report.rolloutSeconds === undefined ? '' : report.rolloutSeconds.toFixed(1),
    drift: report.drift === undefined ? '' : JSON.stringify(report.drift),
    'deployment-id': report.deploymentId === undefined ? '' : String(report.deploymentId)
  }
}
