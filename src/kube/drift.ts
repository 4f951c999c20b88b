// Drift: how the cluster differs from Git's state. Pure rules only; the reads are in applyset.ts.
import { isDeepStrictEqual } from 'node:util'
import { type LiveMember, planPrune } from './inventory.js'
import { type KubeObject } from './types.js'

export type DriftState = 'missing' | 'changed' | 'extra'

/** One object that differs, as the `drift` output lists it. */
export interface DriftItem {
  kind: string
  namespace: string
  name: string
  state: DriftState
  /** Changed: the fields Git sets whose live value differs (`spec.replicas`). */
  fields: string[]
  /** Changed: the other field managers that own those fields (`kubectl`, an HPA's controller). */
  managers: string[]
}

/** A field Git sets whose value differs, with its path in managedFields' fieldsV1 notation. */
export interface FieldDiff {
  path: string
  fieldsV1: string[]
}

type Json = unknown

function isObject(value: Json): value is Record<string, Json> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** Top-level and metadata keys that identify the object or belong to the server, never drift. */
const IGNORED_TOP = new Set(['apiVersion', 'kind', 'status'])
const COMPARED_METADATA = new Set(['labels', 'annotations'])

function keyedByName(list: Json[]): list is Array<Record<string, Json> & { name: string }> {
  return list.length > 0 && list.every(e => isObject(e) && typeof e.name === 'string')
}

/**
 * The fields Git's object sets whose value after a server-side apply dry run (`merged`: Git's
 * object merged, defaulted and normalised by the apiserver) differs from the live object.
 * Lists of named items (containers, env, volumes) are matched by name; other lists are compared
 * whole.
 */
export function changedFields(git: KubeObject, merged: Json, live: Json): FieldDiff[] {
  const diffs: FieldDiff[] = []
  const walk = (g: Json, m: Json, l: Json, path: string, segments: string[]): void => {
    if (isObject(g)) {
      for (const [key, value] of Object.entries(g)) {
        if (value === null || value === undefined) continue
        if (path === '' && IGNORED_TOP.has(key)) continue
        if (path === 'metadata' && !COMPARED_METADATA.has(key)) continue
        const child = path ? `${path}.${key}` : key
        walk(value, isObject(m) ? m[key] : undefined, isObject(l) ? l[key] : undefined, child, [
          ...segments,
          `f:${key}`
        ])
      }
      return
    }
    if (Array.isArray(g) && keyedByName(g)) {
      const byName = (list: Json, name: string): Json =>
        Array.isArray(list) ? list.find(e => isObject(e) && e.name === name) : undefined
      for (const item of g) {
        const at = `${path}[name=${item.name}]`
        const segment = `k:${JSON.stringify({ name: item.name })}`
        const liveItem = byName(l, item.name)
        if (liveItem === undefined) diffs.push({ path: at, fieldsV1: [...segments, segment] })
        else walk(item, byName(m, item.name), liveItem, at, [...segments, segment])
      }
      return
    }
    if (!isDeepStrictEqual(m, l)) diffs.push({ path, fieldsV1: segments })
  }
  walk(git, merged, live, '', [])
  return diffs
}

/**
 * Whether the live object holds every value Git's object sets (named list items matched by
 * name, other lists item by item and of the same length). When it does, applying Git changes
 * none of them: no drift, and no dry run needed. When it does not, the difference may be only
 * the apiserver's normalisation (`1000m` for `1`, a defaulted field in a list): a dry run decides.
 */
export function holdsGitValues(git: KubeObject, live: Json): boolean {
  const holds = (g: Json, l: Json, path: string): boolean => {
    if (isObject(g)) {
      if (!isObject(l)) return false
      return Object.entries(g).every(([key, value]) => {
        if (value === null || value === undefined) return true
        if (path === '' && IGNORED_TOP.has(key)) return true
        if (path === 'metadata' && !COMPARED_METADATA.has(key)) return true
        return holds(value, l[key], path ? `${path}.${key}` : key)
      })
    }
    if (Array.isArray(g)) {
      if (!Array.isArray(l)) return false
      if (keyedByName(g)) {
        return g.every(item =>
          holds(
            item,
            l.find(e => isObject(e) && e.name === item.name),
            `${path}[]`
          )
        )
      }
      return g.length === l.length && g.every((item, index) => holds(item, l[index], `${path}[]`))
    }
    return g === l
  }
  return holds(git, live, '')
}

/** One entry of metadata.managedFields. */
export interface ManagedFieldsEntry {
  manager?: string
  operation?: string
  subresource?: string
  fieldsV1?: Json
}

/** Whether a fieldsV1 set holds the path (`k:{"name":"app"}` keys are matched by their value). */
export function ownsPath(fieldsV1: Json, segments: string[]): boolean {
  let node = fieldsV1
  for (const segment of segments) {
    if (!isObject(node)) return false
    if (segment in node) {
      node = node[segment]
      continue
    }
    if (!segment.startsWith('k:')) return false
    // Our segments name an item by an object of its key fields: every one must match.
    const wanted = Object.entries(JSON.parse(segment.slice(2)) as Record<string, Json>)
    const match = Object.keys(node).find(key => {
      if (!key.startsWith('k:')) return false
      try {
        const value = JSON.parse(key.slice(2)) as Record<string, Json>
        return wanted.every(([k, v]) => value[k] === v)
      } catch {
        return false // not JSON, or null: no item
      }
    })
    if (match === undefined) return false
    node = node[match]
  }
  return true
}

/** The managers other than ours that own any of the fields, sorted. */
export function otherOwners(managedFields: ManagedFieldsEntry[], diffs: FieldDiff[], self: string): string[] {
  const owners = new Set<string>()
  for (const entry of managedFields) {
    if (!entry.manager || entry.manager === self) continue
    if (diffs.some(diff => ownsPath(entry.fieldsV1, diff.fieldsV1))) owners.add(entry.manager)
  }
  return [...owners].sort()
}

/** One object of Git's state as the cluster holds it. */
export interface ObservedObject {
  git: KubeObject
  namespace?: string
  /** The live object; undefined when missing. */
  live?: KubeObject
  /** The server-side apply dry run of Git's object; undefined when missing. */
  merged?: Json
}

/**
 * Every drifted object: Git's objects missing or changed in the cluster, then members of the
 * inventory Git no longer has. Sorted by state, kind, namespace and name.
 */
export function classifyDrift(
  observed: ObservedObject[],
  members: LiveMember[],
  desiredKeys: Set<string>,
  self: string
): DriftItem[] {
  const items: DriftItem[] = []
  for (const { git, namespace, live, merged } of observed) {
    const base = { kind: git.kind, namespace: namespace ?? '', name: git.metadata.name }
    if (!live) {
      items.push({ ...base, state: 'missing', fields: [], managers: [] })
      continue
    }
    const diffs = changedFields(git, merged, live)
    if (diffs.length === 0) continue
    const managedFields = ((live.metadata as { managedFields?: ManagedFieldsEntry[] }).managedFields ??
      []) as ManagedFieldsEntry[]
    items.push({
      ...base,
      state: 'changed',
      fields: diffs.map(d => d.path),
      managers: otherOwners(managedFields, diffs, self)
    })
  }
  const { prune, release, owned } = planPrune(members, desiredKeys)
  for (const member of [...prune, ...release, ...owned]) {
    items.push({
      kind: member.kind,
      namespace: member.namespace ?? '',
      name: member.name,
      state: 'extra',
      fields: [],
      managers: []
    })
  }
  const order: Record<DriftState, number> = { missing: 0, changed: 1, extra: 2 }
  return items.sort(
    (a, b) =>
      order[a.state] - order[b.state] ||
      a.kind.localeCompare(b.kind) ||
      a.namespace.localeCompare(b.namespace) ||
      a.name.localeCompare(b.name)
  )
}
