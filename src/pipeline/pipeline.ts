import os from 'node:os'
import {
  clusterGiven,
  parseConfig,
  runContext,
  secretValues,
  type Config,
  type RawInputs,
  type RunContext
} from '../config/index.js'
import { type Host } from '../host/host.js'
import { Deadline, systemClock, type Clock } from '../lib/deadline.js'
import { type RenderFiles } from '../render/manifests.js'
import { describeObject } from '../render/types.js'
import { type DeploymentState } from '../report/deployments.js'
import { driftLine, newRunReport, outputsOf, type RunReport } from '../report/run-report.js'
import { type DeployStatus } from '../report/status.js'
import { renderSummary } from '../report/summary.js'
import { CancelledError, throwIfCancelled } from './cancellation.js'
import { renderCommitMessage, revertCommitMessage } from './commit-message.js'
import { afterDriftCheck, appliedStatus, checksDrift, inSyncStatus, type RunKind } from './decide.js'
import {
  appliedBeforeFailure,
  type AppliedObject,
  type ClusterPort,
  type DeploymentPort,
  type DeployStamp,
  type EnvCommit,
  type EnvFile,
  type EnvPlan,
  type EnvRepoPort,
  type ImageEdit,
  type ImageResult,
  type Stages
} from './ports.js'

export type { Stages } from './ports.js'

export interface PipelineResult {
  status: DeployStatus
  report: RunReport
}

/** What one run knows once the stages are reached; passed along whole instead of positional parameters. */
interface Run {
  config: Config
  host: Host
  report: RunReport
  clock: Clock
  /** Aborted when the workflow is cancelled (SIGINT/SIGTERM): see cancellation.ts. */
  cancel?: AbortSignal
  env: EnvRepoPort
  /** Absent without a kubeconfig (commit only, pull request). */
  cluster?: ClusterPort
}

/** Who holds the deploy lock: the workflow run when known, else this host and process. */
export function lockHolder(config: Config): string {
  return config.context.runUrl ?? `${os.hostname()}/${process.pid}`
}

/**
 * Runs the whole deployment: build → edit in memory → validate the edited descriptors →
 * commit (or pull request) → apply → wait → on failure roll back and revert → report.
 * The order and the failure policy live here and nowhere else.
 */
export async function runPipeline(
  host: Host,
  raw: RawInputs,
  stages: Stages,
  context: RunContext = runContext(),
  /** Aborted when the workflow is cancelled (SIGINT/SIGTERM): see cancellation.ts. */
  cancel?: AbortSignal,
  clock: Clock = systemClock
): Promise<PipelineResult> {
  for (const secret of secretValues(raw)) host.setSecret(secret)
  const report = newRunReport()
  let deployment: DeploymentPort | undefined
  try {
    const config = parseConfig(raw, context)
    if (!config.dryRun) deployment = await stages.startDeployment(config, host, config.context.sha ?? config.tag)
    if (deployment) report.deploymentId = deployment.id
    report.status = await deploy(config, host, stages, report, clock, cancel)
  } catch (error) {
    report.status = error instanceof CancelledError || cancel?.aborted ? 'cancelled' : 'failed'
    report.failure = errorMessage(error)
    for (const line of report.failure.split('\n')) host.error(line)
  }
  await finish(host, report, deployment)
  return { status: report.status, report }
}

async function deploy(
  config: Config,
  host: Host,
  stages: Stages,
  report: RunReport,
  clock: Clock,
  cancel: AbortSignal | undefined
): Promise<DeployStatus> {
  // Reach GitHub and the cluster (in parallel) before a build that may take minutes: a bad
  // token or kubeconfig fails the run at once.
  const clusterConnection = clusterGiven(config.kube) ? settled(stages.connectCluster(config, host)) : undefined
  // the cluster's renderer (it knows the namespace charts render into), else one of our own
  let ownRender: RenderFiles | undefined
  const render: RenderFiles = async files =>
    ((await clusterConnection?.get())?.render ?? (ownRender ??= stages.renderer(config)))(files)
  const envConnection = settled(stages.openEnvRepo(config, host, render))
  try {
    const run: Run = { config, host, report, clock, cancel, env: await envConnection.get() }
    run.cluster = await clusterConnection?.get()
    const { env, cluster } = run
    if (config.mode === 'reconcile') {
      // parseConfig requires a kubeconfig in this mode.
      if (!cluster) throw new Error('mode reconcile needs a cluster: the kubeconfig input is required')
      const head = await stage(run, 'Read environment repository', () => env.current())
      return await reconcileCluster(run, cluster, 'reconcile', head.files, head.sha)
    }
    const image = await stage(run, config.build.enabled ? 'Build and push image' : 'Resolve image', () =>
      stages.build(config, host)
    )
    report.image = image.reference
    report.digest = image.digest

    const edit: ImageEdit = {
      repository: config.repository,
      image: config.image,
      tag: image.tag,
      digest: image.digest,
      pin: config.env.pin
    }
    const plan = await stage(run, 'Edit environment repository (in memory)', () => env.plan(edit))
    report.previousImage = plan.previousImage
    report.diff = plan.diff
    if (plan.diff) host.info(plan.diff)
    if (plan.changes.length === 0) {
      // The env repo held this very reference before the run.
      report.previousImage = image.reference
      host.info(`${config.env.owner}/${config.env.repo} already holds ${image.reference}: nothing to commit`)
      if (!cluster || !config.kube.apply || config.env.commitMode !== 'push') return 'unchanged'
      // Git is current; the cluster may not be (set back by hand, or an earlier apply failed half-way).
      return await reconcileCluster(run, cluster, 'catch-up', plan.files, plan.baseSha)
    }

    // With a kubeconfig the edited descriptors are validated before Git sees them, whatever the mode.
    return await validateCommitApply(run, edit, image, plan)
  } finally {
    await clusterConnection?.ifConnected(cluster => cluster.close())
  }
}

/**
 * Brings the cluster to `files` (Git's current state) without committing: mode reconcile, or a
 * deploy run whose env repo already holds the reference. Nothing is applied when the cluster
 * already equals Git; a failed rollout is not rolled back (Git has no other state to go back to).
 */
async function reconcileCluster(
  run: Run,
  cluster: ClusterPort,
  kind: Exclude<RunKind, 'deploy'>,
  files: EnvFile[],
  sha: string
): Promise<DeployStatus> {
  const { config, host } = run
  const next = await checkDrift(run, cluster, kind, files)
  if (next === 'stop') return 'drifted'
  if (config.dryRun) return 'planned'
  if (next === 'in-sync') {
    host.info(`the cluster already equals ${config.env.owner}/${config.env.repo}@${sha.slice(0, 7)}: nothing to apply`)
    return inSyncStatus(kind)
  }
  return applyAndWait(run, cluster, { files, envCommit: sha, success: appliedStatus(kind) })
}

/** Compares the cluster with `files` (Git's state before this run) and reports the drift. */
async function checkDrift(
  run: Run,
  cluster: ClusterPort,
  kind: RunKind,
  files: EnvFile[]
): Promise<'stop' | 'in-sync' | 'apply'> {
  const { config, host, report } = run
  if (!checksDrift(kind, config.kube.drift)) return 'apply'
  const check = await stage(run, 'Check drift (cluster against Git)', async () => {
    const found = await cluster.drift(files)
    if (found && config.kube.drift !== 'ignore') {
      for (const item of found.items) host.info(driftLine(item))
      if (found.items.length === 0) host.info('no drift: the cluster holds what Git holds')
    }
    return found
  })
  if (check && config.kube.prune) {
    // Inventory members Git no longer has: what the prune after this apply deletes.
    const deletes = check.items
      .filter(item => item.state === 'extra')
      .map(item => ({ object: describeObject(item), action: 'delete' }))
    for (const { object } of deletes) host.info(`plan: delete    ${object}`)
    if (deletes.length > 0) report.plan = [...(report.plan ?? []), ...deletes]
  }
  if (check && config.kube.drift !== 'ignore') {
    report.drift = check.items
    if (check.items.length > 0) {
      const next = config.kube.drift === 'fail' ? 'nothing committed or applied' : 'applying Git repairs it'
      host.warning(`${check.items.length} object(s) drifted from Git (${next})`)
    }
  }
  const next = afterDriftCheck(
    kind,
    config.kube.drift,
    check && { drifted: check.items.length, unlabelled: check.unlabelled }
  )
  if (next === 'stop')
    report.failure = `the cluster drifted from Git (drift: fail):\n${(check?.items ?? []).map(driftLine).join('\n')}`
  return next
}

/** A promise whose rejection is not "unhandled" while another is awaited first. */
function settled<T>(promise: Promise<T>): { get(): Promise<T>; ifConnected(fn: (value: T) => void): Promise<void> } {
  const outcome = promise.then(
    value => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error })
  )
  return {
    async get() {
      const result = await outcome
      if (!result.ok) throw result.error
      return result.value
    },
    async ifConnected(fn) {
      const result = await outcome
      if (result.ok) fn(result.value)
    }
  }
}

async function validateCommitApply(
  run: Run,
  edit: ImageEdit,
  image: ImageResult,
  plan: EnvPlan
): Promise<DeployStatus> {
  const { config, report, env, cluster } = run
  if (cluster) {
    const validation = await stage(run, 'Validate descriptors (server-side dry run)', () =>
      cluster.validate(plan.files)
    )
    report.plan = validation.changes
    if ((await checkDrift(run, cluster, 'deploy', plan.baseFiles)) === 'stop') return 'drifted'
  }
  if (config.dryRun) return 'planned'

  const message = renderCommitMessage(config.env.commitMessage, {
    image: config.image,
    tag: image.tag,
    digest: image.digest,
    reference: image.reference,
    previous: plan.previousImage,
    sha: config.context.sha ?? '',
    repo: config.context.repository ?? '',
    run_url: config.context.runUrl ?? ''
  })

  if (config.env.commitMode === 'pull-request') {
    const pr = await stage(run, 'Open pull request', () => env.propose(edit, message))
    report.pullRequestUrl = pr.url
    return 'proposed'
  }

  const commit = await stage(run, 'Commit to environment repository', () => env.commit(edit, message))
  if (!commit) return 'unchanged'
  report.envCommit = { sha: commit.sha, url: commit.url }
  report.previousImage = commit.previousImage
  if (!config.kube.apply || !cluster) return 'committed'

  return applyAndWait(run, cluster, { files: commit.files, envCommit: commit.sha, commit, success: 'deployed' })
}

/** What one apply brings to the cluster. */
interface ApplyTarget {
  files: EnvFile[]
  /** The env-repo commit the files are at (the objects' annotation). */
  envCommit: string
  /** The commit this run made: a failure rolls back to its parent and reverts it. */
  commit?: EnvCommit
  /** The status when apply, rollout and prune succeed. */
  success: DeployStatus
}

/** The lock wait, the apply, the rollout and the prune share one deadline: `timeout` bounds them together. */
async function applyAndWait(run: Run, cluster: ClusterPort, target: ApplyTarget): Promise<DeployStatus> {
  const { config, host, report, cancel } = run
  const deadline = new Deadline(config.kube.timeoutMs, run.clock)
  const lock = await cluster.lock(
    `${config.kube.namespace ?? ''}:${config.env.owner}/${config.env.repo}:${config.env.paths.join(',')}`,
    lockHolder(config),
    deadline
  )
  try {
    let applied: AppliedObject[] = []
    try {
      const since = new Date()
      applied = await stage(run, 'Apply (server-side)', () =>
        cluster.apply(target.files, stampOf(run, target.envCommit), deadline, cancel)
      )
      const outcome = await stage(run, 'Wait on rollout', () =>
        cluster.waitForRollout(applied, deadline, since, cancel)
      )
      report.resources = outcome.resources
      report.rolloutSeconds = outcome.seconds
      if (!outcome.ok && cancel?.aborted) {
        // No rollback: Git and the cluster both hold this run's state, which is consistent.
        report.failure =
          `cancelled during the rollout: tracking stopped; the cluster was left as it is ` +
          `(Git and the cluster both hold ${report.image ?? 'the env repo'}, env commit ${target.envCommit.slice(0, 7)})`
        host.error(report.failure)
        return 'cancelled'
      }
      if (!outcome.ok) report.failure = outcome.failure ?? 'rollout failed'
      else if (!config.kube.prune) return target.success
      else {
        // Only after a successful rollout: a failure before leaves every old object in place.
        const pruned = await stage(run, 'Prune (objects no longer in Git)', () => cluster.prune(applied, deadline))
        report.resources.push(...pruned.resources)
        if (pruned.ok) return target.success
        report.failure = pruned.failure ?? 'prune failed'
      }
    } catch (error) {
      if (cancel?.aborted) {
        // Stopped in the apply (waiting on Helm pre-hooks) or just after it: the runner kills the
        // process within seconds, too soon for a rollback.
        // what the stopped stage said, unless it was only the cancel itself
        const why = error instanceof CancelledError ? '' : `\n${errorMessage(error)}`
        report.failure =
          `cancelled: the cluster was left as it is, maybe with only part of this run's objects applied ` +
          `(Git holds ${report.image ?? 'the env repo'}, env commit ${target.envCommit.slice(0, 7)}: the next run or a reconcile applies it)${why}`
        host.error(report.failure)
        return 'cancelled'
      }
      // A partial apply still needs rolling back: the error says what reached the cluster.
      applied = appliedBeforeFailure(error) ?? applied
      report.failure = errorMessage(error)
    }
    host.error(report.failure ?? 'apply failed')
    const commit = target.commit
    if (!commit || !config.kube.rollback) return 'failed'
    return await rollBack(run, cluster, commit, applied)
  } finally {
    await lock.release()
  }
}

/** Restores the parent commit's state in the cluster (own budget: `rollback-timeout`), then in Git. */
async function rollBack(
  run: Run,
  cluster: ClusterPort,
  commit: EnvCommit,
  applied: AppliedObject[]
): Promise<DeployStatus> {
  const { config, host, report, env } = run
  // Read once: the cluster rollback and the Git revert both restore these files.
  const previousFiles = await env.readFiles(commit.parentSha)
  const rollback = await stage(run, 'Roll back the cluster', () =>
    cluster.rollback(
      previousFiles,
      applied,
      new Deadline(config.kube.rollbackTimeoutMs, run.clock),
      stampOf(run, commit.parentSha)
    )
  )
  report.rollback = rollback
  const revertMessage = revertCommitMessage(report.image, commit, config.context.runUrl)
  let revertFailed = false
  try {
    const revert = await stage(run, 'Revert environment repository', () =>
      env.revert(commit, revertMessage, previousFiles)
    )
    if (revert) report.revertCommit = revert
  } catch (error) {
    // The cluster runs the previous image while Git still pins the failed one: say so, loudly.
    revertFailed = true
    const problem = `REVERT FAILED: ${config.env.owner}/${config.env.repo} still pins ${report.image ?? 'the failed image'} (commit ${commit.sha.slice(0, 7)}): ${errorMessage(error)}`
    report.failure = `${report.failure}\n${problem}`
    host.error(problem)
  }
  if (!rollback.ok) host.error(`ROLLBACK FAILED: ${rollback.failure ?? 'see the resource table'}`)
  return rollback.ok && !revertFailed ? 'rolled-back' : 'failed'
}

function stampOf(run: Run, envCommit: string): DeployStamp {
  const { repository, sha, runUrl } = run.config.context
  return { envCommit, repository, sha, runUrl }
}

function stage<T>(run: Run, name: string, fn: () => Promise<T>): Promise<T> {
  return timed(run.host, run.report, name, fn, run.cancel)
}

async function timed<T>(
  host: Host,
  report: RunReport,
  name: string,
  fn: () => Promise<T>,
  cancel?: AbortSignal
): Promise<T> {
  throwIfCancelled(cancel)
  const start = performance.now()
  try {
    return await host.group(name, fn)
  } finally {
    report.timings.push([name, (performance.now() - start) / 1000])
  }
}

async function finish(host: Host, report: RunReport, deployment: DeploymentPort | undefined): Promise<void> {
  for (const [name, value] of Object.entries(outputsOf(report)))
    host.setOutput(name as keyof ReturnType<typeof outputsOf>, value)
  if (deployment) {
    const state = deploymentState(report)
    await deployment.status(
      state,
      state === 'success' || state === 'pending' ? `${report.status} ${report.image ?? ''}` : report.status
    )
  }
  try {
    await host.writeSummary(renderSummary(report))
  } catch (error) {
    host.warning(`could not write the job summary: ${errorMessage(error)}`)
  }
}

/**
 * The GitHub Deployment's final state: `success` only when the environment runs (or already ran)
 * the image; a proposal deployed nothing (`pending`, awaiting the merge); a rollout that failed is a
 * `failure`, a run stopped by an error before any rollout (or cancelled) an `error`.
 */
export function deploymentState(report: Pick<RunReport, 'status' | 'resources' | 'rollback'>): DeploymentState {
  switch (report.status) {
    case 'deployed':
    case 'committed':
    case 'unchanged':
    case 'reconciled':
      return 'success'
    case 'proposed':
    case 'planned':
      return 'pending'
    case 'rolled-back':
    case 'drifted':
      return 'failure'
    case 'cancelled':
      return 'error'
    case 'failed':
      return report.rollback || report.resources.length > 0 ? 'failure' : 'error'
  }
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
