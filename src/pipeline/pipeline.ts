import {
  ConfigError,
  parseConfig,
  runContext,
  secretValues,
  type Config,
  type RawInputs,
  type RunContext
} from '../config/index.js'
import { type Host } from '../host/host.js'
import { buildAndResolve, type ImageResult } from '../build/index.js'
import { EnvRepository, renderCommitMessage, type EnvCommit, type EnvPlan, type ImageEdit } from '../gitops/index.js'
import {
  ApplyError,
  Cluster,
  deployAnnotations,
  lockHolder,
  envRenderer,
  type AppliedObject,
  type EnvFile
} from '../kube/index.js'
import { type RolloutOutcome } from '../kube/rollout/index.js'
import { describeObject } from '../kube/types.js'
import { DeploymentRecorder, type DeploymentState } from '../report/deployments.js'
import { driftLine, newRunReport, outputsOf, type RunReport } from '../report/run-report.js'
import { renderSummary } from '../report/summary.js'
import { CancelledError, throwIfCancelled } from './cancellation.js'
import { afterDriftCheck, appliedStatus, checksDrift, inSyncStatus, type RunKind } from './decide.js'
import { type DeployStatus } from './status.js'
import { type RenderFiles } from '../render/manifests.js'

export interface PipelineResult {
  status: DeployStatus
  report: RunReport
}

type EnvRepo = Pick<EnvRepository, 'plan' | 'commit' | 'propose' | 'readFiles' | 'revert' | 'current'>
type ClusterPort = Pick<
  Cluster,
  'validate' | 'drift' | 'lock' | 'apply' | 'waitForRollout' | 'prune' | 'rollback' | 'close'
> &
  Partial<Pick<Cluster, 'render'>>
type DeploymentPort = Pick<DeploymentRecorder, 'id' | 'status'>

/** The stages as the pipeline sees them; replaced by fakes only in the policy's unit tests. */
export interface Stages {
  build(config: Config, host: Host): Promise<ImageResult>
  /** `render` is the run's renderer: the render check shares its renders with validation, apply and rollback. */
  openEnvRepo(config: Config, host: Host, render: RenderFiles): Promise<EnvRepo>
  connectCluster(config: Config, host: Host): Promise<ClusterPort>
  startDeployment(config: Config, host: Host, ref: string): Promise<DeploymentPort | undefined>
}

export const realStages: Stages = {
  build: buildAndResolve,
  openEnvRepo: (config, host, render) => EnvRepository.open(config, host, { render }),
  connectCluster: (config, host) => Cluster.connect(config, host),
  startDeployment: (config, host, ref) => DeploymentRecorder.start(config, host, ref)
}

/**
 * Runs the whole deployment: build → edit in memory → validate the edited descriptors →
 * commit (or pull request) → apply → wait → on failure roll back and revert → report.
 * The order and the failure policy live here and nowhere else.
 */
export async function runPipeline(
  host: Host,
  raw: RawInputs,
  stages: Stages = realStages,
  context: RunContext = runContext(),
  /** Aborted when the workflow is cancelled (SIGINT/SIGTERM): see cancellation.ts. */
  cancel?: AbortSignal
): Promise<PipelineResult> {
  for (const secret of secretValues(raw)) host.setSecret(secret)
  const report = newRunReport()
  let deployment: DeploymentPort | undefined
  try {
    const config = parseConfig(raw, context)
    if (!config.dryRun) deployment = await stages.startDeployment(config, host, config.context.sha ?? config.tag)
    if (deployment) report.deploymentId = deployment.id
    report.status = await deploy(config, host, stages, report, cancel)
  } catch (error) {
    report.status = error instanceof CancelledError || cancel?.aborted ? 'cancelled' : 'failed'
    report.failure = error instanceof ConfigError ? error.message : errorMessage(error)
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
  cancel: AbortSignal | undefined
): Promise<DeployStatus> {
  const stage = <T>(name: string, fn: () => Promise<T>): Promise<T> => timed(host, report, name, fn, cancel)
  // Reach GitHub and the cluster (in parallel) before a build that may take minutes: a bad
  // token or kubeconfig fails the run at once.
  const clusterConnection = config.kube.kubeconfig ? settled(stages.connectCluster(config, host)) : undefined
  // the cluster's renderer (it knows the namespace charts render into), else one of our own
  const ownRender = envRenderer(config, config.kube.namespace ?? 'default')
  const render: RenderFiles = async files => ((await clusterConnection?.get())?.render ?? ownRender)(files)
  const envConnection = settled(stages.openEnvRepo(config, host, render))
  try {
    const env = await envConnection.get()
    const cluster = await clusterConnection?.get()
    if (config.mode === 'reconcile') {
      // parseConfig requires a kubeconfig in this mode.
      if (!cluster) throw new Error('mode reconcile needs a cluster: the kubeconfig input is required')
      const head = await stage('Read environment repository', () => env.current())
      return await reconcileCluster(config, host, report, env, cluster, 'reconcile', head.files, head.sha, cancel)
    }
    const image = await stage(config.build.enabled ? 'Build and push image' : 'Resolve image', () =>
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
    const plan = await stage('Edit environment repository (in memory)', () => env.plan(edit))
    report.previousImage = plan.previousImage
    report.diff = plan.diff
    if (plan.diff) host.info(plan.diff)
    if (plan.changes.length === 0) {
      // The env repo held this very reference before the run.
      report.previousImage = image.reference
      host.info(`${config.env.owner}/${config.env.repo} already holds ${image.reference}: nothing to commit`)
      if (!cluster || !config.kube.apply || config.env.commitMode !== 'push') return 'unchanged'
      // Git is current; the cluster may not be (set back by hand, or an earlier apply failed half-way).
      return await reconcileCluster(config, host, report, env, cluster, 'catch-up', plan.files, plan.baseSha, cancel)
    }

    // With a kubeconfig the edited descriptors are validated before Git sees them, whatever the mode.
    return await validateCommitApply(config, host, report, env, edit, image, plan, cluster, cancel)
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
  config: Config,
  host: Host,
  report: RunReport,
  env: EnvRepo,
  cluster: ClusterPort,
  kind: Exclude<RunKind, 'deploy'>,
  files: EnvFile[],
  sha: string,
  cancel: AbortSignal | undefined
): Promise<DeployStatus> {
  const next = await checkDrift(config, host, report, cluster, kind, files)
  if (next === 'stop') return 'drifted'
  if (config.dryRun) return 'planned'
  if (next === 'in-sync') {
    host.info(`the cluster already equals ${config.env.owner}/${config.env.repo}@${sha.slice(0, 7)}: nothing to apply`)
    return inSyncStatus(kind)
  }
  return applyAndWait(
    config,
    host,
    cluster,
    env,
    { files, envCommit: sha, success: appliedStatus(kind) },
    report,
    cancel
  )
}

/** Compares the cluster with `files` (Git's state before this run) and reports the drift. */
async function checkDrift(
  config: Config,
  host: Host,
  report: RunReport,
  cluster: ClusterPort,
  kind: RunKind,
  files: EnvFile[]
): Promise<'stop' | 'in-sync' | 'apply'> {
  if (!checksDrift(kind, config.kube.drift)) return 'apply'
  const check = await timed(host, report, 'Check drift (cluster against Git)', async () => {
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
  config: Config,
  host: Host,
  report: RunReport,
  env: EnvRepo,
  edit: ImageEdit,
  image: ImageResult,
  plan: EnvPlan,
  cluster: ClusterPort | undefined,
  cancel: AbortSignal | undefined
): Promise<DeployStatus> {
  const stage = <T>(name: string, fn: () => Promise<T>): Promise<T> => timed(host, report, name, fn, cancel)
  if (cluster) {
    const validation = await stage('Validate descriptors (server-side dry run)', () => cluster.validate(plan.files))
    report.plan = validation.changes
    if ((await checkDrift(config, host, report, cluster, 'deploy', plan.baseFiles)) === 'stop') return 'drifted'
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
    const pr = await stage('Open pull request', () => env.propose(edit, message))
    report.pullRequestUrl = pr.url
    return 'proposed'
  }

  const commit = await stage('Commit to environment repository', () => env.commit(edit, message))
  if (!commit) return 'unchanged'
  report.envCommit = { sha: commit.sha, url: commit.url }
  report.previousImage = commit.previousImage
  if (!config.kube.apply || !cluster) return 'committed'

  return applyAndWait(
    config,
    host,
    cluster,
    env,
    { files: commit.files, envCommit: commit.sha, commit, success: 'deployed' },
    report,
    cancel
  )
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

async function applyAndWait(
  config: Config,
  host: Host,
  cluster: ClusterPort,
  env: EnvRepo,
  target: ApplyTarget,
  report: RunReport,
  cancel: AbortSignal | undefined
): Promise<DeployStatus> {
  const stage = <T>(name: string, fn: () => Promise<T>): Promise<T> => timed(host, report, name, fn, cancel)
  const deadline = Date.now() + config.kube.timeoutMs
  const lock = await cluster.lock(
    `${config.kube.namespace ?? ''}:${config.env.owner}/${config.env.repo}:${config.env.paths.join(',')}`,
    lockHolder(config),
    config.kube.timeoutMs
  )
  try {
    let applied: AppliedObject[] = []
    let outcome: RolloutOutcome | undefined
    try {
      const since = new Date()
      const annotations = deployAnnotations({ envCommit: target.envCommit, ...config.context })
      applied = await stage('Apply (server-side)', () => cluster.apply(target.files, annotations))
      outcome = await stage('Wait on rollout', () =>
        cluster.waitForRollout(applied, config.kube.timeoutMs, since, cancel)
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
        const pruned = await stage('Prune (objects no longer in Git)', () => cluster.prune(applied, deadline))
        report.resources.push(...pruned.resources)
        if (pruned.ok) return target.success
        report.failure = pruned.failure ?? 'prune failed'
      }
    } catch (error) {
      // A partial apply still needs rolling back: ApplyError says what reached the cluster.
      if (error instanceof ApplyError) applied = error.applied
      report.failure = errorMessage(error)
    }
    host.error(report.failure)
    const commit = target.commit
    if (!commit || !config.kube.rollback) return 'failed'

    const previousFiles = await env.readFiles(commit.parentSha)
    const rollback = await stage('Roll back the cluster', () =>
      cluster.rollback(previousFiles, applied, config.kube.timeoutMs)
    )
    report.rollback = rollback
    const revertMessage = `revert ${report.image}: rollout failed\n\nRestores ${commit.previousImage} (reverts ${commit.sha}).${
      config.context.runUrl ? `\nRun: ${config.context.runUrl}` : ''
    }`
    let revertFailed = false
    try {
      const revert = await stage('Revert environment repository', () => env.revert(commit, revertMessage))
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
  } finally {
    await lock.release()
  }
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
