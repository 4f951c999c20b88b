import { type Deadline } from '../lib/deadline.js'
import { isNotFound, KubeApiError, type KubeClient } from './client.js'
import { type ApiResource, type Discovery, objectPath, resourceFromCrd } from './discovery.js'
import { type HookInfo } from './helm.js'
import { type RenderFiles } from '../render/manifests.js'
import { mapLimit } from '../lib/concurrency.js'
import { ProblemsError } from '../lib/problems.js'
import { type ApplyPolicy, objectRefusals, PolicyError } from './policy.js'
import {
  desiredObject,
  duplicateProblems,
  planWaves,
  type SetDependency,
  setDependency,
  targetNamespace,
  waveOf
} from './plan.js'
import { memberLabelProblem } from './inventory.js'
import { type AppliedObject, describeObject, type EnvFile, type KubeObject, objectKey } from './types.js'

/** One object ready to send: where it goes and the exact body. */
export interface PreparedObject {
  object: KubeObject
  resource: ApiResource
  namespace?: string
  source: string
  /** `Deployment app/web`. */
  describe: string
  key: string
  /** Set when its Namespace or CRD is created by the same set: checked only once that exists. */
  dependency?: SetDependency
  /** A Helm hook: run around the main apply (see hooks.ts), never applied with the rest. */
  hook?: HookInfo
}

/** Objects the apiserver (or the parser) refused; nothing was applied. */
export class ValidationError extends ProblemsError {
  constructor(problems: string[]) {
    super(problems, `${problems.length} problem(s) in the manifests, nothing applied:\n${problems.join('\n')}`)
  }
}

/** Apply stopped part way: `applied` lists what reached the cluster, for a rollback. */
export class ApplyError extends ProblemsError {
  constructor(
    problems: string[],
    readonly applied: AppliedObject[]
  ) {
    super(problems, `apply failed after ${applied.length} object(s) were applied:\n${problems.join('\n')}`)
  }
}

/** What applying would do to one object, from a server-side dry run against the live object. */
export type PlanAction = 'create' | 'change' | 'unchanged'

export interface PlannedChange {
  /** `Deployment web/api`. */
  object: string
  action: PlanAction
}

export interface ValidationReport {
  /** Objects in the set. */
  objects: number
  /** Every object of the set and what the apply would do to it, in apply order. */
  changes: PlannedChange[]
  /** Objects a server-side dry run accepted. */
  checked: string[]
  /** Objects whose Namespace or CRD is created by the set: checked after it exists. */
  deferred: Array<{ object: string; reason: string }>
}

export interface ApplierOptions {
  fieldManager: string
  defaultNamespace: string
  log: (line: string) => void
  /** Requests in flight inside one wave. */
  parallelism?: number
  /** What the env repo may touch; checked on every set before anything is sent. */
  policy?: ApplyPolicy
  /**
   * Renders the env files to objects, kustomizations and Helm charts included, refusing what the
   * policy forbids kustomize to read (see envRenderer, policyRender).
   */
  render: RenderFiles
}

export const APPLY_PATCH_CONTENT_TYPE = 'application/apply-patch+yaml'
const CRD_API = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions'

/** The server-side apply request for one object: raw JSON (valid YAML), never re-serialized. */
export function applyRequest(
  prepared: Pick<PreparedObject, 'object' | 'resource' | 'namespace'>,
  fieldManager: string,
  dryRun: boolean
): { method: 'PATCH'; path: string; query: Record<string, string>; body: string; contentType: string } {
  const query: Record<string, string> = { fieldManager, force: 'true', fieldValidation: 'Strict' }
  if (dryRun) query.dryRun = 'All'
  return {
    method: 'PATCH',
    path: objectPath(prepared.resource, prepared.namespace, prepared.object.metadata.name),
    query,
    body: JSON.stringify(prepared.object),
    contentType: APPLY_PATCH_CONTENT_TYPE
  }
}

/**
 * The apiserver's message for one object, without the preamble naming that object again
 * (`Deployment.apps "web" is invalid: `, `failed to create typed patch object (app/web; …): `).
 */
export function apiReason(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error)
  return message
    .replace(/^[\w.-]+ "[^"]*" is invalid: /, '')
    .replace(/^failed to create typed patch object \([^)]*\): /, '')
}

/** `Deployment app/web: <reason>`. */
export function failureLine(failure: Failure): string {
  return `${failure.object.describe}: ${failure.reason}`
}

/** Validates and applies sets of objects with server-side apply, in dependency waves. */
export class Applier {
  private readonly parallelism: number

  constructor(
    private readonly client: KubeClient,
    private readonly discovery: Discovery,
    private readonly options: ApplierOptions
  ) {
    this.parallelism = options.parallelism ?? 8
  }

  /**
   * Parses the files and resolves every object's resource and namespace; throws ValidationError,
   * or PolicyError listing every object the apply policy refuses. `annotations` are added to every
   * object, `labels` (the inventory's membership label) to every object but Helm hooks, which
   * live and die by their own delete policy.
   */
  async prepare(
    files: EnvFile[],
    annotations: Record<string, string>,
    labels: Record<string, string> = {}
  ): Promise<PreparedObject[]> {
    const rendering = await this.options.render(files)
    if (rendering.refusals?.length) throw new PolicyError(rendering.refusals)
    if (rendering.problems.length > 0) throw new ValidationError(rendering.problems)
    const manifests = rendering.manifests
    const crds = manifests.map(m => m.object).filter(o => o.kind === 'CustomResourceDefinition')
    const namespacesInSet = new Set(
      manifests.filter(m => m.object.kind === 'Namespace').map(m => m.object.metadata.name)
    )
    const problems: string[] = []
    const resolved = await mapLimit(manifests, this.parallelism, async ({ object, source, namespace: own, hook }) => {
      const { apiVersion, kind } = object
      const crd = crds.find(c => resourceFromCrd(c, apiVersion, kind))
      const resource =
        (await this.discovery.resolve(apiVersion, kind)) ?? (crd && resourceFromCrd(crd, apiVersion, kind))
      if (!resource) {
        problems.push(
          `${kind} ${object.metadata.name} (${source}): the cluster does not serve kind ${kind} in ${apiVersion}`
        )
        return undefined
      }
      const namespace = targetNamespace(object, resource.namespaced, own ?? this.options.defaultNamespace)
      const describe = describeObject({ kind, namespace, name: object.metadata.name })
      const labelProblem = memberLabelProblem(object)
      if (labelProblem) problems.push(`${describe} (${source}): ${labelProblem}`)
      const prepared: PreparedObject = {
        object: desiredObject(object, namespace, annotations, hook ? {} : labels),
        resource,
        namespace,
        source,
        describe,
        key: objectKey({ apiVersion, kind, namespace, name: object.metadata.name }),
        dependency: setDependency(namespace, crd?.metadata.name, namespacesInSet),
        hook
      }
      return prepared
    })
    const prepared = resolved.filter((p): p is PreparedObject => p !== undefined)
    problems.push(...duplicateProblems(prepared))
    if (problems.length > 0) throw new ValidationError(problems)
    if (this.options.policy) {
      const refused = objectRefusals(
        prepared.map(p => ({
          apiVersion: p.object.apiVersion,
          kind: p.object.kind,
          name: p.object.metadata.name,
          namespace: p.namespace,
          namespaced: p.resource.namespaced,
          source: p.source
        })),
        this.options.policy
      )
      if (refused.length > 0) throw new PolicyError(refused)
    }
    return prepared
  }

  /**
   * A server-side dry run of every object. Objects whose Namespace or CRD the set creates are
   * deferred (checked in apply() once their dependency exists) unless it exists already.
   */
  async validate(files: EnvFile[]): Promise<ValidationReport> {
    const prepared = await this.prepare(files, {})
    const missingNamespaces = new Set<string>()
    for (const namespace of new Set(prepared.filter(p => p.dependency?.kind === 'namespace').map(p => p.namespace))) {
      if (namespace && !(await this.exists(`/api/v1/namespaces/${encodeURIComponent(namespace)}`))) {
        missingNamespaces.add(namespace)
      }
    }
    // A hook that exists now is deleted before it runs again (a Job's template is immutable).
    const replacedHooks = new Set<PreparedObject>()
    for (const p of prepared.filter(p => p.hook?.deletePolicies.includes('before-hook-creation'))) {
      if (await this.exists(objectPath(p.resource, p.namespace, p.object.metadata.name))) replacedHooks.add(p)
    }
    const isDeferred = (p: PreparedObject): boolean =>
      replacedHooks.has(p) ||
      p.dependency?.kind === 'crd' ||
      (p.dependency?.kind === 'namespace' && missingNamespaces.has(p.namespace ?? ''))
    const toCheck = prepared.filter(p => !isDeferred(p))
    const actions = new Map<PreparedObject, PlanAction>()
    const failed = await this.dryRun(toCheck, actions)
    if (failed.length > 0) throw new ValidationError(failed.map(failureLine))
    return {
      objects: prepared.length,
      // A deferred object's Namespace or kind does not exist yet: it can only be created.
      changes: planWaves(prepared)
        .flat()
        .map(p => ({ object: p.describe, action: actions.get(p) ?? 'create' })),
      checked: toCheck.map(p => p.describe),
      deferred: prepared.filter(isDeferred).map(p => ({
        object: p.describe,
        reason: replacedHooks.has(p)
          ? 'Helm hook: replaced when it runs, checked then'
          : `checked after its ${p.dependency?.on} is created`
      }))
    }
  }

  /**
   * Applies in waves: Namespaces and CRDs (waited for), a dry run of what depends on them,
   * then Helm's order. Stops at the first wave with a failure (ApplyError lists what was applied).
   */
  async apply(prepared: PreparedObject[], deadline: Deadline): Promise<AppliedObject[]> {
    const { applied, failed } = await this.applyWaves(prepared, 'stop', deadline)
    if (failed.length > 0) throw new ApplyError(failed.map(failureLine), applied)
    return applied
  }

  /** The object a server-side apply of `p` would leave (dry run): Git's object merged, defaulted, normalised. */
  async dryRunObject(p: PreparedObject): Promise<KubeObject | undefined> {
    return (await this.send(p, true)).body
  }

  /**
   * `stop`: stop after the first wave with a failure, and dry-run what depended on the
   * foundation wave before going on. `continue`: restore as much as possible (rollback).
   * New CRDs are waited for until the deadline.
   */
  async applyWaves(
    prepared: PreparedObject[],
    onFailure: 'stop' | 'continue',
    deadline: Deadline
  ): Promise<{ applied: AppliedObject[]; failed: Failure[] }> {
    const applied: AppliedObject[] = []
    const failed: Failure[] = []
    for (const wave of planWaves(prepared)) {
      await mapLimit(wave, this.parallelism, async p => {
        try {
          applied.push(await this.applyOne(p))
        } catch (error) {
          failed.push({ object: p, reason: apiReason(error) })
        }
      })
      if (waveOf(wave[0].object.kind) === 0 && (failed.length === 0 || onFailure === 'continue')) {
        failed.push(...(await this.afterFoundation(wave, prepared, onFailure === 'stop', deadline)))
      }
      if (failed.length > 0 && onFailure === 'stop') break
    }
    return { applied, failed }
  }

  /** Waits for new CRDs, refreshes discovery, and dry-runs what depended on the foundation. */
  private async afterFoundation(
    wave: PreparedObject[],
    prepared: PreparedObject[],
    checkDependents: boolean,
    deadline: Deadline
  ): Promise<Failure[]> {
    const crds = wave.filter(p => p.object.kind === 'CustomResourceDefinition')
    const failed: Failure[] = []
    for (const crd of crds) {
      const problem = await this.waitEstablished(crd.object.metadata.name, deadline)
      if (problem) failed.push({ object: crd, reason: problem })
    }
    if (failed.length > 0) return failed
    if (crds.length > 0) {
      this.discovery.reset()
      for (const p of prepared.filter(p => p.dependency?.kind === 'crd')) {
        const served = await this.waitServed(p.object.apiVersion, p.object.kind, deadline)
        if (served) p.resource = served
        else
          failed.push({
            object: p,
            reason: `kind ${p.object.kind} is not served in ${p.object.apiVersion} after its CRD was established`
          })
      }
    }
    if (failed.length > 0 || !checkDependents) return failed
    return this.dryRun(prepared.filter(p => p.dependency))
  }

  /** Dry-runs each object; with `actions`, also records what the apply would do to the live object. */
  private async dryRun(prepared: PreparedObject[], actions?: Map<PreparedObject, PlanAction>): Promise<Failure[]> {
    const failed: Failure[] = []
    await mapLimit(prepared, this.parallelism, async p => {
      try {
        const live = actions ? await this.live(p) : undefined
        const { body } = await this.send(p, true)
        actions?.set(p, live === undefined ? 'create' : sameObject(live, body) ? 'unchanged' : 'change')
      } catch (error) {
        failed.push({ object: p, reason: apiReason(error) })
      }
    })
    return failed
  }

  private async applyOne(p: PreparedObject): Promise<AppliedObject> {
    const response = await this.send(p, false)
    const metadata = (response.body?.metadata ?? {}) as { generation?: number; resourceVersion?: string; uid?: string }
    // The apiserver answers 201 when the apply created the object.
    const created = response.status === 201
    this.options.log(
      `${p.describe} ${created ? 'created' : 'applied'}${metadata.generation ? ` (generation ${metadata.generation})` : ''}`
    )
    return {
      apiVersion: p.object.apiVersion,
      kind: p.object.kind,
      namespace: p.namespace,
      name: p.object.metadata.name,
      generation: metadata.generation,
      resourceVersion: metadata.resourceVersion ?? '',
      uid: metadata.uid ?? '',
      created
    }
  }

  private async send(p: PreparedObject, dryRun: boolean): Promise<{ status: number; body?: KubeObject }> {
    const request = applyRequest(p, this.options.fieldManager, dryRun)
    return this.client.request<KubeObject>(request.method, request.path, request)
  }

  private async live(p: PreparedObject): Promise<KubeObject | undefined> {
    try {
      return (await this.client.request<KubeObject>('GET', objectPath(p.resource, p.namespace, p.object.metadata.name)))
        .body
    } catch (error) {
      if (isNotFound(error)) return undefined
      throw error
    }
  }

  private async exists(path: string): Promise<boolean> {
    try {
      await this.client.request('GET', path)
      return true
    } catch (error) {
      if (isNotFound(error)) return false
      throw error
    }
  }

  /** Undefined once Established; otherwise why not. */
  private async waitEstablished(name: string, deadline: Deadline): Promise<string | undefined> {
    let last = 'not Established yet'
    for (;;) {
      const { body } = await this.client.request<{ status?: { conditions?: Condition[] } }>(
        'GET',
        `${CRD_API}/${encodeURIComponent(name)}`
      )
      const conditions = body?.status?.conditions ?? []
      const namesAccepted = conditions.find(c => c.type === 'NamesAccepted')
      if (namesAccepted?.status === 'False')
        return `names not accepted: ${namesAccepted.message ?? namesAccepted.reason}`
      const established = conditions.find(c => c.type === 'Established')
      if (established?.status === 'True') return undefined
      if (established?.message) last = established.message
      if (deadline.expired())
        return `not Established within the ${Math.round(deadline.budgetMs / 1000)}s timeout: ${last}`
      await deadline.sleep(250)
    }
  }

  /** Discovery lags a CRD becoming Established by a moment. */
  private async waitServed(apiVersion: string, kind: string, deadline: Deadline): Promise<ApiResource | undefined> {
    for (let attempt = 0; attempt < 40; attempt++) {
      const resource = await this.discovery.resolve(apiVersion, kind)
      if (resource || deadline.expired()) return resource
      this.discovery.reset()
      await deadline.sleep(250)
    }
    return undefined
  }

  /**
   * Deletes an object of the set if it exists (a Helm hook's previous run) and waits until it is
   * gone, so it can be created anew. False when there was none.
   */
  async deleteAndWait(p: PreparedObject, deadline: Deadline): Promise<boolean> {
    const at = objectPath(p.resource, p.namespace, p.object.metadata.name)
    const body = JSON.stringify({ apiVersion: 'v1', kind: 'DeleteOptions', propagationPolicy: 'Background' })
    try {
      await this.client.request('DELETE', at, { body })
    } catch (error) {
      if (isNotFound(error)) return false
      throw error
    }
    while (await this.exists(at)) {
      if (deadline.expired()) throw new Error(`${p.describe} still exists when the timeout ran out after its deletion`)
      await deadline.sleep(200)
    }
    return true
  }

  /** Deletes one object this run created; gone already counts as deleted. */
  async delete(object: AppliedObject): Promise<void> {
    const resource = await this.discovery.resolve(object.apiVersion, object.kind)
    if (!resource) return
    const body = JSON.stringify({
      apiVersion: 'v1',
      kind: 'DeleteOptions',
      propagationPolicy: 'Background',
      // Never delete an object someone recreated since.
      ...(object.uid ? { preconditions: { uid: object.uid } } : {})
    })
    try {
      await this.client.request('DELETE', objectPath(resource, object.namespace, object.name), { body })
    } catch (error) {
      if (isNotFound(error)) return
      if (error instanceof KubeApiError && error.status === 409) {
        throw new Error(`${describeObject(object)} was replaced by another object of the same name; left in place`, {
          cause: error
        })
      }
      throw error
    }
  }
}

/**
 * Whether a dry-run result equals the live object, ignoring bookkeeping the apply itself writes:
 * managedFields, resourceVersion, generation and our own deploy annotations.
 */
export function sameObject(live: KubeObject, dryRun: KubeObject | undefined): boolean {
  return dryRun !== undefined && canonical(comparable(live)) === canonical(comparable(dryRun))
}

function comparable(object: KubeObject): KubeObject {
  const { managedFields: _m, resourceVersion: _r, generation: _g, ...metadata } = object.metadata
  const annotations = Object.fromEntries(
    Object.entries(object.metadata.annotations ?? {}).filter(([key]) => !key.startsWith('gitops-push-deploy/'))
  )
  if (Object.keys(annotations).length > 0) metadata.annotations = annotations
  else delete metadata.annotations
  return { ...object, metadata: metadata as KubeObject['metadata'] }
}

/** JSON with sorted keys, so field order never counts as a change. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v
  )
}

/** An object that could not be applied, and the apiserver's reason. */
export interface Failure {
  object: PreparedObject
  reason: string
}

interface Condition {
  type: string
  status: string
  reason?: string
  message?: string
}
