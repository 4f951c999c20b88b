// The inventory's reads and writes: the parent ConfigMap, member lists, prune, and the live side
// of the drift check. The rules they follow are in inventory.ts and drift.ts.
import { type Deadline } from '../lib/deadline.js'
import { mapLimit } from '../lib/concurrency.js'
import { type Applier, apiReason, type PreparedObject } from './apply.js'
import { isNotFound, KubeApiError, type KubeClient } from './client.js'
import { type Discovery, objectPath } from './discovery.js'
import { classifyDrift, type DriftItem, holdsGitValues, type ObservedObject } from './drift.js'
import {
  LABEL_PART_OF,
  type LiveMember,
  parentId,
  parentObject,
  type ParentRef,
  parseGroupKind,
  planPrune,
  readParent,
  restorable,
  scopeOf,
  type SetScope,
  unionScope
} from './inventory.js'
import { APPLY_PATCH_CONTENT_TYPE } from './apply.js'
import { waveOf } from './plan.js'
import { describeObject, type KubeObject, objectKey, type ResourceResult } from './types.js'

/** How many list, get and dry-run requests are in flight at once. */
const PARALLELISM = 16
const GONE_POLL_MS = 150

export interface PruneOutcome {
  ok: boolean
  /** `pruned` and `kept` rows for the report. */
  resources: ResourceResult[]
  failure?: string
  /** What was deleted, as it can be applied again. */
  deleted: KubeObject[]
}

export interface DriftCheck {
  items: DriftItem[]
  /** Objects Git has that are live but not yet members of the inventory (an apply adopts them). */
  unlabelled: number
}

const EMPTY: SetScope = { groupKinds: [], namespaces: [] }

interface LiveObject extends KubeObject {
  metadata: KubeObject['metadata'] & {
    uid?: string
    labels?: Record<string, string>
    ownerReferences?: Array<{ kind: string; name: string }>
    deletionTimestamp?: string
  }
}

export class Inventory {
  readonly id: string

  constructor(
    private readonly client: KubeClient,
    private readonly discovery: Discovery,
    readonly parent: ParentRef,
    private readonly origin: { repository: string; paths: string[] },
    private readonly fieldManager: string,
    private readonly log: (line: string) => void
  ) {
    this.id = parentId(parent)
  }

  /** The label every member carries. */
  labels(): Record<string, string> {
    return { [LABEL_PART_OF]: this.id }
  }

  describe(): string {
    return `configmaps/${this.parent.name} in namespace ${this.parent.namespace}`
  }

  /** The scope the live parent records; undefined when the set has no parent yet. */
  async scope(): Promise<SetScope | undefined> {
    let live: LiveObject
    try {
      live = (await this.client.request<LiveObject>('GET', this.parentPath())).body
    } catch (error) {
      if (isNotFound(error)) return undefined
      throw error
    }
    const read = readParent(this.parent, live)
    if ('problem' in read) throw new Error(read.problem)
    return read.scope
  }

  /**
   * Records `scope` on the parent (server-side apply). Before an apply it is the superset of the
   * old and new scope, so an interrupted run leaks nothing; after a prune, the new scope.
   * False when the parent's namespace does not exist yet (a first deploy that creates it).
   */
  async record(scope: SetScope): Promise<boolean> {
    const body = JSON.stringify(parentObject(this.parent, scope, this.origin))
    try {
      await this.client.request('PATCH', this.parentPath(), {
        query: { fieldManager: this.fieldManager, force: 'true' },
        body,
        contentType: APPLY_PATCH_CONTENT_TYPE
      })
      return true
    } catch (error) {
      if (isNotFound(error)) return false
      throw error
    }
  }

  /** Widens the recorded scope to cover `prepared` before they are applied. */
  async widen(prepared: PreparedObject[]): Promise<boolean> {
    const current = (await this.scope()) ?? EMPTY
    return this.record(unionScope(current, scopeOf(prepared.map(asMember))))
  }

  /** Every member in `scope`: one labelled list per kind and namespace, all at once. */
  async members(scope: SetScope): Promise<{ members: LiveMember[]; live: Map<string, LiveObject> }> {
    const resources = await Promise.all(
      scope.groupKinds.map(gk => this.discovery.resolveGroupKind(parseGroupKind(gk).group, parseGroupKind(gk).kind))
    )
    const lists: Array<{ gk: string; namespace?: string }> = []
    scope.groupKinds.forEach((gk, index) => {
      const resource = resources[index]
      if (!resource) {
        this.log(`inventory: kind ${gk} is no longer served; its members cannot be listed`)
        return
      }
      for (const namespace of resource.namespaced ? scope.namespaces : [undefined]) lists.push({ gk, namespace })
    })
    const live = new Map<string, LiveObject>()
    const members: LiveMember[] = []
    await mapLimit(lists, PARALLELISM, async ({ gk, namespace }) => {
      const { group, kind } = parseGroupKind(gk)
      const resource = await this.discovery.resolveGroupKind(group, kind)
      if (!resource) return
      let items: LiveObject[]
      try {
        const { body } = await this.client.request<{ items?: LiveObject[] }>('GET', objectPath(resource, namespace), {
          query: { labelSelector: `${LABEL_PART_OF}=${this.id}` }
        })
        items = body?.items ?? []
      } catch (error) {
        if (isNotFound(error)) return
        throw error
      }
      for (const item of items) {
        // List items carry no apiVersion or kind.
        const object = { ...item, apiVersion: resource.apiVersion, kind: resource.kind }
        const member = liveMember(object)
        members.push(member)
        live.set(objectKey(member), object)
      }
    })
    return { members, live }
  }

  /**
   * Git's objects as the cluster holds them, and the members Git no longer has: one labelled list
   * per kind and namespace; an object not found among the members (not adopted yet, or missing)
   * is read on its own. Only an object whose live values differ from Git's is dry-run (server-side
   * apply) to tell real drift from the apiserver's normalisation.
   */
  async drift(applier: Applier, prepared: PreparedObject[], self: string): Promise<DriftCheck> {
    const scope = unionScope((await this.scope()) ?? EMPTY, scopeOf(prepared.map(asMember)))
    const listed = await this.members(scope)
    let unlabelled = 0
    const observed: ObservedObject[] = await mapLimit(prepared, PARALLELISM, async p => {
      const live = listed.live.get(p.key) ?? (await this.get(p))
      if (!live) return { git: p.object, namespace: p.namespace }
      if (live.metadata.labels?.[LABEL_PART_OF] !== this.id) unlabelled++
      if (holdsGitValues(p.object, live)) return { git: p.object, namespace: p.namespace, live, merged: live }
      try {
        return { git: p.object, namespace: p.namespace, live, merged: await applier.dryRunObject(p) }
      } catch (error) {
        this.log(`${p.describe}: cannot be compared (server-side dry run failed: ${apiReason(error)})`)
        return { git: p.object, namespace: p.namespace, live, merged: live }
      }
    })
    const items = classifyDrift(observed, listed.members, new Set(prepared.map(p => p.key)), self)
    return { items, unlabelled }
  }

  /**
   * Deletes the members `desiredKeys` no longer has (foreground, waited on until gone, before
   * `deadline`), releases those annotated `gitops-push-deploy/prune: disabled`, then records
   * the new scope. On failure the recorded scope stays the superset, so nothing leaks.
   */
  async prune(
    desired: Array<{ apiVersion: string; kind: string; namespace?: string; name: string }>,
    deadline: Deadline
  ): Promise<PruneOutcome> {
    const scope = (await this.scope()) ?? EMPTY
    const { members, live } = await this.members(scope)
    const plan = planPrune(members, new Set(desired.map(objectKey)))
    const deleted: KubeObject[] = []
    const resources: ResourceResult[] = []
    const problems: string[] = []
    for (const member of plan.owned) {
      const owner = member.ownerReferences[0]
      this.log(`${describeObject(member)}: not pruned, owned by ${owner.kind} ${owner.name}`)
      resources.push(row(member, 'kept', `owned by ${owner.kind} ${owner.name}: not pruned`))
    }
    await mapLimit(plan.release, PARALLELISM, async member => {
      try {
        await this.release(member)
        this.log(`${describeObject(member)}: prune disabled; kept and dropped from the inventory`)
        resources.push(row(member, 'kept', 'prune disabled: kept and dropped from the inventory'))
      } catch (error) {
        problems.push(`${describeObject(member)}: could not drop it from the inventory: ${(error as Error).message}`)
      }
    })
    // Reverse install order, one wave at a time: workloads before the ConfigMaps they mount,
    // Namespaces last.
    const waves = new Map<number, LiveMember[]>()
    for (const member of plan.prune) waves.set(waveOf(member.kind), [...(waves.get(waveOf(member.kind)) ?? []), member])
    for (const wave of [...waves.keys()].sort((a, b) => b - a)) {
      if (problems.length > 0) break
      await mapLimit(waves.get(wave) ?? [], PARALLELISM, async member => {
        try {
          const object = live.get(objectKey(member))
          if (object) deleted.push(restorable(object))
          await this.deleteAndWait(member, deadline)
          this.log(`${describeObject(member)} pruned (no longer in Git)`)
          resources.push(row(member, 'pruned', 'no longer in Git'))
        } catch (error) {
          problems.push(`${describeObject(member)}: prune failed: ${(error as Error).message}`)
          resources.push(row(member, 'failed', `prune failed: ${(error as Error).message}`))
        }
      })
    }
    if (problems.length > 0) return { ok: false, resources, failure: problems.join('\n'), deleted }
    await this.record(scopeOf(desired))
    return { ok: true, resources, deleted }
  }

  private parentPath(): string {
    return `/api/v1/namespaces/${encodeURIComponent(this.parent.namespace)}/configmaps/${encodeURIComponent(this.parent.name)}`
  }

  private async get(p: PreparedObject): Promise<LiveObject | undefined> {
    try {
      return (await this.client.request<LiveObject>('GET', objectPath(p.resource, p.namespace, p.object.metadata.name)))
        .body
    } catch (error) {
      if (isNotFound(error)) return undefined
      throw error
    }
  }

  private async memberPath(member: LiveMember): Promise<string | undefined> {
    const resource = await this.discovery.resolveGroupKind(parseGroupKind(groupKindOf(member)).group, member.kind)
    return resource && objectPath(resource, member.namespace, member.name)
  }

  /** Removes the membership label (a merge patch: the object and its other fields stay as they are). */
  private async release(member: LiveMember): Promise<void> {
    const path = await this.memberPath(member)
    if (!path) return
    await this.client.request('PATCH', path, {
      body: JSON.stringify({ metadata: { labels: { [LABEL_PART_OF]: null } } }),
      contentType: 'application/merge-patch+json'
    })
  }

  private async deleteAndWait(member: LiveMember, deadline: Deadline): Promise<void> {
    const path = await this.memberPath(member)
    if (!path) return
    const body = JSON.stringify({
      apiVersion: 'v1',
      kind: 'DeleteOptions',
      propagationPolicy: 'Foreground',
      // Never delete an object someone recreated since it was listed.
      preconditions: { uid: member.uid }
    })
    try {
      await this.client.request('DELETE', path, { body })
    } catch (error) {
      if (isNotFound(error)) return
      if (error instanceof KubeApiError && error.status === 409) return
      throw error
    }
    while (!deadline.expired()) {
      try {
        const { body: live } = await this.client.request<LiveObject>('GET', path)
        if (live.metadata.uid !== member.uid) return
      } catch (error) {
        if (isNotFound(error)) return
        throw error
      }
      await deadline.sleep(GONE_POLL_MS)
    }
    throw new Error('still being deleted when the deadline passed (finalizers or dependents remain)')
  }
}

function asMember(p: PreparedObject): { apiVersion: string; kind: string; namespace?: string } {
  return { apiVersion: p.object.apiVersion, kind: p.object.kind, namespace: p.namespace }
}

function groupKindOf(member: LiveMember): string {
  const slash = member.apiVersion.indexOf('/')
  return slash < 0 ? member.kind : `${member.kind}.${member.apiVersion.slice(0, slash)}`
}

function liveMember(object: LiveObject): LiveMember {
  return {
    apiVersion: object.apiVersion,
    kind: object.kind,
    namespace: object.metadata.namespace,
    name: object.metadata.name,
    uid: object.metadata.uid ?? '',
    annotations: object.metadata.annotations ?? {},
    ownerReferences: object.metadata.ownerReferences ?? []
  }
}

function row(
  object: { kind: string; namespace?: string; name: string },
  status: string,
  message: string
): ResourceResult {
  return { kind: object.kind, namespace: object.namespace ?? '', name: object.name, status, message }
}
