import { type Config } from '../config/config.js'
import { type Host } from '../host/host.js'
import { type Deadline } from '../lib/deadline.js'
import { Applier, ApplyError, type PreparedObject, ValidationError, type ValidationReport } from './apply.js'
import { PolicyError } from './policy.js'
import { type DriftCheck, Inventory, type PruneOutcome } from './applyset.js'
import { parentName, restoreFile } from './inventory.js'
import { isNotFound, KubeApiError, KubeClient } from './client.js'
import { Discovery } from './discovery.js'
import { runHooks } from './hooks.js'
import { type LoadedKubeConfig, loadKubeConfig, oidcKubeConfig } from './kubeconfig.js'
import { MissingIdTokenPermissionError } from '../host/id-token.js'
import { OidcToken, unauthorizedMessage } from './oidc.js'
import { helmRenderer } from './helm.js'
import { acquireLease, type HeldLock, leaseName } from './lease.js'
import { rollBack, trackTarget } from './rollback.js'
import { type RolloutOutcome, trackRollout, type Tracker, type TrackTarget } from './rollout/index.js'
import { type AppliedObject, type EnvFile, type KubeObject } from './types.js'
import { isKustomizationFile } from '../lib/descriptors.js'
import { kustomizeRenderer, renderFiles, renderOnce, type RenderFiles } from '../render/manifests.js'
import { kustomizeRefusals, type ApplyPolicy } from './policy.js'

export { ApplyError, type PlannedChange, ValidationError, type ValidationReport } from './apply.js'
export { KubeConfigError } from './kubeconfig.js'
export { PolicyError } from './policy.js'
export { LockTimeoutError } from './lease.js'
export { deployAnnotations } from './plan.js'
export { type DriftCheck, type PruneOutcome } from './applyset.js'
export { type DriftItem, type DriftState } from './drift.js'
export { type AppliedObject, type EnvFile, type ResourceResult } from './types.js'
export { type RolloutOutcome } from './rollout/index.js'

/**
 * Renders only what the apply policy lets kustomize read: a set with a refused reference (a
 * remote base without kustomize-remote) is reported, never fetched, also by the render check.
 * The one place the kustomize rule is checked: the applier reads the refusals from the rendering.
 */
export function policyRender(
  policy: Pick<ApplyPolicy, 'kustomizeRemote'> | undefined,
  render = renderFiles
): RenderFiles {
  return async files => {
    const refused = kustomizeRefusals(files, policy?.kustomizeRemote ?? false, isKustomizationFile)
    if (refused.length === 0) return render(files)
    return { manifests: [], problems: refused.map(r => `${r.subject}: ${r.reasons.join('; ')}`), refusals: refused }
  }
}

/**
 * How this run renders the env files: kustomizations, and Helm charts into `namespace`; only
 * what the apply policy lets kustomize read; each distinct set of files once (the render
 * check, validation, apply and rollback share the renders).
 */
export function envRenderer(config: Config, namespace: string): RenderFiles {
  const renderers = [kustomizeRenderer(), helmRenderer(helmOptions(config, namespace))]
  return renderOnce(policyRender(config.kube.policy, files => renderFiles(files, renderers)))
}

/** The identity the apiserver sees, as SelfSubjectReview reports it: `user (groups a, b)`. */
async function whoAmI(client: KubeClient): Promise<string> {
  const review = await client.request<{ status?: { userInfo?: { username?: string; groups?: string[] } } }>(
    'POST',
    '/apis/authentication.k8s.io/v1/selfsubjectreviews',
    { body: JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' }) }
  )
  const user = review.body?.status?.userInfo
  const groups = (user?.groups ?? []).filter(group => group !== 'system:authenticated')
  return `${JSON.stringify(user?.username ?? 'unknown')}${groups.length > 0 ? ` (groups ${groups.join(', ')})` : ''}`
}

/** A connection to the target cluster: validate, lock, apply, wait and roll back. */
export class Cluster {
  /** Helm post-hooks of the last apply: run once its rollout succeeded. */
  private postHooks: PreparedObject[] = []
  /** Deleted by this run's prune: a rollback puts them back. */
  private pruned: KubeObject[] = []

  private constructor(
    private readonly client: KubeClient,
    private readonly applier: Applier,
    /** Where namespaced objects without a namespace go, and where the lock lives. */
    readonly namespace: string,
    private readonly host: Host,
    private readonly cleanup: () => void,
    /** The env path's ApplySet: what it deployed, for drift and prune. */
    readonly inventory: Inventory,
    private readonly fieldManager: string,
    /** Restarts a new pod may have before its crash loop fails the rollout (`failures-allowed`). */
    private readonly failuresAllowed: number,
    /** This run's renderer (see envRenderer): the render check shares its renders. */
    readonly render: RenderFiles
  ) {}

  /** Loads the kubeconfig (in memory) and checks that the apiserver answers. */
  static async connect(config: Config, host: Host): Promise<Cluster> {
    const { kube } = config
    let oidc: OidcToken | undefined
    let loaded: LoadedKubeConfig
    if (kube.auth === 'github-oidc') {
      if (!kube.server) throw new Error('no kube-server given: it is required with kube-auth github-oidc')
      oidc = new OidcToken(
        audience => host.idToken(audience),
        kube.audience,
        value => host.setSecret(value)
      )
      const token = oidc
      loaded = oidcKubeConfig(kube.server, kube.caPem, () => token.token(), kube.impersonate)
    } else {
      if (!kube.kubeconfig) throw new Error('no kubeconfig given: the kubeconfig input is required to apply')
      loaded = loadKubeConfig(kube.kubeconfig, kube.context, process.env, kube.impersonate)
    }
    try {
      const client = new KubeClient(loaded.kc, loaded.server)
      let version: string
      let identity = ''
      try {
        version = (await client.request<{ gitVersion?: string }>('GET', '/version')).body?.gitVersion ?? 'unknown'
        if (oidc) identity = await whoAmI(client)
      } catch (error) {
        if (oidc && error instanceof KubeApiError && error.status === 401) {
          throw new Error(unauthorizedMessage(loaded.server, kube.audience, oidc.claims()), { cause: error })
        }
        if (error instanceof MissingIdTokenPermissionError) throw error
        const reason =
          error instanceof KubeApiError && error.status === 401
            ? 'the credentials were rejected (401)'
            : (error as Error).message
        throw new Error(
          `cannot reach the cluster at ${loaded.server} (context ${loaded.kc.getCurrentContext()}): ${reason}`,
          {
            cause: error
          }
        )
      }
      const namespace = config.kube.namespace ?? loaded.contextNamespace ?? 'default'
      host.info(
        `cluster ${loaded.server} (Kubernetes ${version}), ` +
          (oidc
            ? `GitHub OIDC token (audience ${kube.audience}) as ${identity}`
            : `context ${loaded.kc.getCurrentContext()}`) +
          `, namespace ${namespace}`
      )
      const discovery = new Discovery(client)
      const repository = `${config.env.owner}/${config.env.repo}`
      const inventory = new Inventory(
        client,
        discovery,
        { name: parentName(repository, config.env.paths), namespace },
        { repository, paths: config.env.paths },
        config.kube.fieldManager,
        line => host.info(line)
      )
      const render = envRenderer(config, namespace)
      const applier = new Applier(client, discovery, {
        fieldManager: config.kube.fieldManager,
        defaultNamespace: namespace,
        policy: config.kube.policy,
        log: line => host.info(line),
        render
      })
      return new Cluster(
        client,
        applier,
        namespace,
        host,
        loaded.cleanup,
        inventory,
        config.kube.fieldManager,
        config.kube.failuresAllowed,
        render
      )
    } catch (error) {
      loaded.cleanup()
      throw error
    }
  }

  /** Dry-runs every object; throws ValidationError listing each object's error. */
  async validate(files: EnvFile[]): Promise<ValidationReport> {
    const report = await this.applier.validate(files)
    for (const deferred of report.deferred) this.host.info(`${deferred.object}: ${deferred.reason}`)
    for (const { object, action } of report.changes) this.host.info(`plan: ${action.padEnd(9)} ${object}`)
    return report
  }

  /**
   * Takes the deploy lock for `key` (the env path) in the target namespace, waiting until the
   * deadline for another holder. Falls back to `default` while the target namespace does not
   * exist yet (a first deploy that creates it).
   */
  async lock(key: string, holder: string, deadline: Deadline): Promise<{ release(): Promise<void> }> {
    let namespace = this.namespace
    try {
      await this.client.request('GET', `/api/v1/namespaces/${encodeURIComponent(namespace)}`)
    } catch (error) {
      // A narrow identity (kube-as a namespace's service account) may not read Namespaces: the
      // namespace it deploys to is the one it can hold a Lease in.
      const forbidden = error instanceof KubeApiError && error.status === 403
      if (!isNotFound(error) && !forbidden) throw error
      if (!forbidden) {
        this.host.info(`namespace ${namespace} does not exist yet; the deploy lock lives in namespace default`)
        namespace = 'default'
      }
    }
    const held: HeldLock = await acquireLease(
      this.client,
      namespace,
      leaseName(this.namespace, key),
      holder,
      deadline,
      {
        log: line => this.host.info(line),
        warn: line => this.host.warning(line)
      }
    )
    this.host.info(`deploy lock ${held.namespace}/${held.name} acquired`)
    return held
  }

  /**
   * How the cluster differs from `files` (Git's state): missing and changed objects, and members
   * of the inventory Git no longer has. Undefined when those files cannot be read as objects.
   */
  async drift(files: EnvFile[]): Promise<DriftCheck | undefined> {
    let prepared
    try {
      prepared = await this.applier.prepare(files, {})
    } catch (error) {
      if (!(error instanceof ValidationError || error instanceof PolicyError)) throw error
      this.host.warning(`drift not checked: Git's state before this run cannot be applied:\n${error.message}`)
      return undefined
    }
    // Helm hooks are deleted by their own policy: their absence is not drift.
    return this.inventory.drift(
      this.applier,
      prepared.filter(p => !p.hook),
      this.fieldManager
    )
  }

  /**
   * Server-side apply of every object in waves, after the Helm pre-hooks of the set ran; each
   * object is labelled a member of the inventory, whose recorded scope is widened first (kubectl's
   * order: an interrupted run leaks nothing). Throws ApplyError listing what was applied. Hooks
   * and CRD waits spend the run's deadline; waiting on pre-hooks stops when `signal` aborts.
   */
  async apply(
    files: EnvFile[],
    annotations: Record<string, string>,
    deadline: Deadline,
    signal?: AbortSignal
  ): Promise<AppliedObject[]> {
    const prepared = await this.applier.prepare(files, annotations, this.inventory.labels())
    const members = prepared.filter(p => !p.hook)
    let recorded = await this.inventory.widen(members)
    try {
      this.postHooks = []
      const pre = await runHooks(this.applier, this.tracker(signal), prepared, 'pre', deadline, this.log)
      if (!pre.ok) throw new ApplyError([pre.failure ?? 'Helm pre-hook failed'], [])
      const applied = await this.applier.apply(members, deadline)
      this.postHooks = prepared.filter(p => p.hook?.phase === 'post')
      return applied
    } finally {
      // The parent's namespace is created by this apply: record the set now it exists.
      if (!recorded) recorded = await this.inventory.widen(members).catch(() => false)
    }
  }

  /** Deletes the inventory's members that `applied` (the whole desired state) no longer has. */
  async prune(applied: AppliedObject[], deadline: Deadline): Promise<PruneOutcome> {
    const outcome = await this.inventory.prune(applied, deadline)
    this.pruned = outcome.deleted
    return outcome
  }

  /**
   * Tracks until every object has its verdict, one fails, the deadline passes or `signal` aborts;
   * then runs the Helm post-hooks of the last apply, within the same deadline.
   */
  async waitForRollout(
    applied: AppliedObject[],
    deadline: Deadline,
    since: Date,
    signal?: AbortSignal
  ): Promise<RolloutOutcome> {
    const outcome = await this.track(applied.map(trackTarget), deadline, since, signal)
    const hooks = this.postHooks
    this.postHooks = []
    if (!outcome.ok || hooks.length === 0) return outcome
    const post = await runHooks(this.applier, this.tracker(signal), hooks, 'post', deadline, this.log)
    return {
      ok: post.ok,
      resources: [...outcome.resources, ...post.resources],
      failure: post.failure,
      seconds: (Date.now() - since.getTime()) / 1000
    }
  }

  private readonly log = (line: string): void => this.host.info(line)

  /** Tracks rollouts until the deadline its caller (hooks, rollback) runs under. */
  private tracker(signal?: AbortSignal): Tracker {
    return (targets, since, deadline) => this.track(targets, deadline, since, signal)
  }

  private track(
    targets: TrackTarget[],
    deadline: Deadline,
    since: Date,
    signal?: AbortSignal
  ): Promise<RolloutOutcome> {
    return trackRollout(this.client, targets, {
      timeoutMs: deadline.remainingMs(),
      since,
      signal,
      log: this.log,
      failuresAllowed: this.failuresAllowed
    })
  }

  /**
   * Re-applies the previous desired state (the env files at the parent commit, and what this
   * run pruned), deletes what this run created that it lacks, and waits for that rollout.
   */
  async rollback(
    previousFiles: EnvFile[],
    applied: AppliedObject[],
    deadline: Deadline,
    annotations: Record<string, string>
  ): Promise<RolloutOutcome> {
    return rollBack(
      this.applier,
      this.tracker(),
      this.pruned.length > 0 ? [...previousFiles, restoreFile(this.pruned)] : previousFiles,
      applied,
      deadline,
      annotations,
      this.log,
      this.inventory.labels()
    )
  }

  /** Closes connections and removes anything written to disk for an exec credential plugin. */
  close(): void {
    this.client.close()
    this.cleanup()
  }
}

/**
 * How charts are rendered: the target namespace, the release-name input, and the registry login
 * inputs for OCI charts on the image's registry host (never sent to another host).
 */
function helmOptions(config: Config, namespace: string): Parameters<typeof helmRenderer>[0] {
  const { username, password, insecure } = config.registry
  return {
    namespace,
    releaseName: config.kube.helmReleaseName,
    registry: username && password ? { host: config.repository.domain, username, password } : undefined,
    plainHttp: insecure
  }
}
