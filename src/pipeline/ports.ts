// The stages as the pipeline sees them. The pipeline owns these contracts; the real stages are
// wired to them in the composition root (src/stages.ts), fakes in the policy's unit tests. The
// data shapes are the stages' own types, imported as types only: the pipeline never runs stage code.
import { type Config } from '../config/index.js'
import { type Host } from '../host/host.js'
import { type Deadline } from '../lib/deadline.js'
import type { ImageResult } from '../build/index.js'
import type { EnvCommit, EnvFile, EnvPlan, ImageEdit, PullRequestResult } from '../gitops/index.js'
import type { AppliedObject, DriftCheck, PruneOutcome, RolloutOutcome, ValidationReport } from '../kube/index.js'
import type { RenderFiles } from '../render/manifests.js'
import type { DeploymentState } from '../report/deployments.js'

export type { ImageResult, EnvCommit, EnvFile, EnvPlan, ImageEdit, PullRequestResult, AppliedObject, RolloutOutcome }

/** The environment repository: edit in memory, commit or propose, read back, revert. */
export interface EnvRepoPort {
  plan(edit: ImageEdit): Promise<EnvPlan>
  commit(edit: ImageEdit, message: string): Promise<EnvCommit | undefined>
  propose(edit: ImageEdit, message: string): Promise<PullRequestResult>
  /** Descriptor files at a commit. */
  readFiles(sha: string): Promise<EnvFile[]>
  /** The branch head and its descriptor files (mode reconcile). */
  current(): Promise<{ sha: string; files: EnvFile[] }>
  /** Puts back what `commit` changed, on the current head; `parentFiles` are the files at its parent. */
  revert(commit: EnvCommit, message: string, parentFiles: EnvFile[]): Promise<{ sha: string; url: string } | undefined>
}

/** Where an apply came from, recorded on every object applied (and re-applied by a rollback). */
export interface DeployStamp {
  /** The env-repo commit whose files are applied. */
  envCommit: string
  repository?: string
  sha?: string
  runUrl?: string
}

export interface HeldLock {
  release(): Promise<void>
}

/**
 * The target cluster. `lock`, `apply` and `waitForRollout` spend one deadline; `rollback` gets its
 * own. `apply` may reject with an error carrying `applied` (what reached the cluster before it
 * stopped), so that it can be rolled back.
 */
export interface ClusterPort {
  validate(files: EnvFile[]): Promise<ValidationReport>
  /** How the cluster differs from `files` (Git's state); undefined when they cannot be read as objects. */
  drift(files: EnvFile[]): Promise<DriftCheck | undefined>
  lock(key: string, holder: string, deadline: Deadline): Promise<HeldLock>
  /** Stops waiting on Helm pre-hooks when `signal` aborts (the run is cancelled). */
  apply(files: EnvFile[], stamp: DeployStamp, deadline: Deadline, signal?: AbortSignal): Promise<AppliedObject[]>
  /** Stops tracking when `signal` aborts (the run is cancelled). */
  waitForRollout(
    applied: AppliedObject[],
    deadline: Deadline,
    since: Date,
    signal?: AbortSignal
  ): Promise<RolloutOutcome>
  /** Deletes the inventory's members that `applied` (the whole desired state) no longer has. */
  prune(applied: AppliedObject[], deadline: Deadline): Promise<PruneOutcome>
  /** This run's renderer (kustomize, charts into the target namespace), shared with the render check. */
  readonly render?: RenderFiles
  rollback(
    previousFiles: EnvFile[],
    applied: AppliedObject[],
    deadline: Deadline,
    stamp: DeployStamp
  ): Promise<RolloutOutcome>
  close(): void
}

/** The GitHub Deployment of the source repository. */
export interface DeploymentPort {
  readonly id: number
  status(state: DeploymentState, description: string): Promise<void>
}

export interface Stages {
  build(config: Config, host: Host): Promise<ImageResult>
  /** `render` is the run's renderer: the render check shares its renders with validation, apply and rollback. */
  openEnvRepo(config: Config, host: Host, render: RenderFiles): Promise<EnvRepoPort>
  connectCluster(config: Config, host: Host): Promise<ClusterPort>
  startDeployment(config: Config, host: Host, ref: string): Promise<DeploymentPort | undefined>
  /** The renderer of a run that has no cluster connection (or before it is there). */
  renderer(config: Config): RenderFiles
}

/** What an apply that stopped part way had applied, when the error says. */
export function appliedBeforeFailure(error: unknown): AppliedObject[] | undefined {
  const applied = (error as { applied?: unknown } | undefined)?.applied
  return Array.isArray(applied) ? (applied as AppliedObject[]) : undefined
}
