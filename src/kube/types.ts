export type { EnvFile, KubeObject, Refusal } from '../render/types.js'
export { describeObject } from '../render/types.js'

/** What happened to one object during a rollout or rollback, for the report. */
export interface ResourceResult {
  kind: string
  namespace: string
  name: string
  /** applied | ready | failed | timeout | not-trackable | deleted | rolled-back | … */
  status: string
  message: string
  seconds?: number
}

/** One object as the server answered a server-side apply. */
export interface AppliedObject {
  apiVersion: string
  kind: string
  /** Absent for cluster-scoped objects. */
  namespace?: string
  name: string
  generation?: number
  resourceVersion: string
  uid: string
  /** The object did not exist before this apply. */
  created: boolean
}

/** The group of an apiVersion: '' for the core group (`v1`). */
export function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf('/')
  return slash < 0 ? '' : apiVersion.slice(0, slash)
}

/** Identity of an object across API versions: group, kind, namespace and name. */
export function objectKey(object: { apiVersion: string; kind: string; namespace?: string; name: string }): string {
  return `${groupOf(object.apiVersion)}/${object.kind}/${object.namespace ?? ''}/${object.name}`
}
