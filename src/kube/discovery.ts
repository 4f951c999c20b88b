import { isNotFound, type KubeClient } from './client.js'
import { groupOf, type KubeObject } from './types.js'

/** Where objects of one kind live in the API. */
export interface ApiResource {
  apiVersion: string
  kind: string
  /** The resource's plural name, the path segment (`deployments`). */
  plural: string
  namespaced: boolean
}

/** The apiserver's APIResourceList for one group version (`GET /apis/apps/v1`). */
export interface ApiResourceList {
  groupVersion: string
  resources: Array<{ name: string; kind: string; namespaced: boolean }>
}

/** `/api/v1` for the core group, `/apis/<group>/<version>` otherwise. */
export function groupVersionPath(apiVersion: string): string {
  return groupOf(apiVersion) === '' ? `/api/${apiVersion}` : `/apis/${apiVersion}`
}

/** The resource serving `kind` in a discovery list; subresources (`deployments/scale`) never match. */
export function resourceFromList(list: ApiResourceList, kind: string): ApiResource | undefined {
  const found = list.resources.find(r => r.kind === kind && !r.name.includes('/'))
  return found && { apiVersion: list.groupVersion, kind, plural: found.name, namespaced: found.namespaced }
}

/** The resource a CustomResourceDefinition will serve for `apiVersion`/`kind`, before it exists. */
export function resourceFromCrd(crd: KubeObject, apiVersion: string, kind: string): ApiResource | undefined {
  const spec = (crd.spec ?? {}) as {
    group?: string
    names?: { kind?: string; plural?: string }
    scope?: string
    versions?: Array<{ name?: string; served?: boolean }>
  }
  const [group, version] = apiVersion.split('/')
  if (spec.group !== group || spec.names?.kind !== kind || !spec.names.plural) return undefined
  if (!spec.versions?.some(v => v.name === version && v.served !== false)) return undefined
  return { apiVersion, kind, plural: spec.names.plural, namespaced: spec.scope !== 'Cluster' }
}

/** The path of one object, or of the collection when name is omitted. */
export function objectPath(resource: ApiResource, namespace: string | undefined, name?: string): string {
  const scope = resource.namespaced && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : ''
  const item = name === undefined ? '' : `/${encodeURIComponent(name)}`
  return `${groupVersionPath(resource.apiVersion)}${scope}/${resource.plural}${item}`
}

/** Discovery, fetched lazily per group version and cached until reset (after new CRDs). */
export class Discovery {
  private readonly lists = new Map<string, Promise<ApiResourceList | undefined>>()
  private readonly preferred = new Map<string, Promise<string | undefined>>()

  constructor(private readonly client: KubeClient) {}

  /** Undefined when the server does not serve this kind (yet). */
  async resolve(apiVersion: string, kind: string): Promise<ApiResource | undefined> {
    let list = this.lists.get(apiVersion)
    if (!list) {
      list = this.fetch(apiVersion)
      this.lists.set(apiVersion, list)
      // A failed fetch must not stay cached.
      list.catch(() => this.lists.delete(apiVersion))
    }
    const resolved = await list
    return resolved && resourceFromList(resolved, kind)
  }

  /** A group-kind (`Deployment.apps`, as ApplySet parents record them) at the group's preferred version. */
  async resolveGroupKind(group: string, kind: string): Promise<ApiResource | undefined> {
    if (group === '') return this.resolve('v1', kind)
    let preferred = this.preferred.get(group)
    if (!preferred) {
      preferred = this.client
        .request<{ preferredVersion?: { groupVersion?: string } }>('GET', `/apis/${encodeURIComponent(group)}`)
        .then(
          ({ body }) => body?.preferredVersion?.groupVersion,
          (error: unknown) => {
            if (isNotFound(error)) return undefined
            throw error
          }
        )
      this.preferred.set(group, preferred)
      preferred.catch(() => this.preferred.delete(group))
    }
    const groupVersion = await preferred
    return groupVersion ? this.resolve(groupVersion, kind) : undefined
  }

  reset(): void {
    this.lists.clear()
    this.preferred.clear()
  }

  private async fetch(apiVersion: string): Promise<ApiResourceList | undefined> {
    try {
      return (await this.client.request<ApiResourceList>('GET', groupVersionPath(apiVersion))).body
    } catch (error) {
      if (isNotFound(error)) return undefined
      throw error
    }
  }
}
