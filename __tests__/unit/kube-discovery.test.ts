import { describe, expect, it } from '@jest/globals'
import { groupVersionPath, objectPath, resourceFromCrd, resourceFromList } from '../../src/kube/discovery.js'
import { type KubeObject } from '../../src/kube/types.js'

const appsV1 = {
  groupVersion: 'apps/v1',
  resources: [
    { name: 'deployments/scale', kind: 'Scale', namespaced: true },
    { name: 'deployments', kind: 'Deployment', namespaced: true },
    { name: 'deployments/status', kind: 'Deployment', namespaced: true }
  ]
}

describe('discovery paths', () => {
  it.each([
    ['v1', '/api/v1'],
    ['apps/v1', '/apis/apps/v1'],
    ['example.com/v1beta1', '/apis/example.com/v1beta1']
  ])('%s is served at %s', (apiVersion, path) => {
    expect(groupVersionPath(apiVersion)).toBe(path)
  })

  it('finds the resource of a kind, never a subresource', () => {
    expect(resourceFromList(appsV1, 'Deployment')).toEqual({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      plural: 'deployments',
      namespaced: true
    })
    expect(resourceFromList(appsV1, 'Scale')).toBeUndefined()
    expect(resourceFromList(appsV1, 'StatefulSet')).toBeUndefined()
  })

  it.each([
    [
      { apiVersion: 'apps/v1', kind: 'Deployment', plural: 'deployments', namespaced: true },
      'app',
      'web',
      '/apis/apps/v1/namespaces/app/deployments/web'
    ],
    [
      { apiVersion: 'v1', kind: 'Namespace', plural: 'namespaces', namespaced: false },
      undefined,
      'app',
      '/api/v1/namespaces/app'
    ],
    [
      { apiVersion: 'v1', kind: 'ConfigMap', plural: 'configmaps', namespaced: true },
      'app',
      undefined,
      '/api/v1/namespaces/app/configmaps'
    ],
    [
      { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', plural: 'clusterroles', namespaced: false },
      'ignored',
      'system:x',
      '/apis/rbac.authorization.k8s.io/v1/clusterroles/system%3Ax'
    ]
  ])('object path %#', (resource, namespace, name, path) => {
    expect(objectPath(resource, namespace, name)).toBe(path)
  })
})

describe('resourceFromCrd', () => {
  const crd: KubeObject = {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: 'widgets.example.com' },
    spec: {
      group: 'example.com',
      scope: 'Namespaced',
      names: { kind: 'Widget', plural: 'widgets' },
      versions: [
        { name: 'v1', served: true },
        { name: 'v0', served: false }
      ]
    }
  }

  it('describes the resource a CRD of the set will serve', () => {
    expect(resourceFromCrd(crd, 'example.com/v1', 'Widget')).toEqual({
      apiVersion: 'example.com/v1',
      kind: 'Widget',
      plural: 'widgets',
      namespaced: true
    })
  })

  it.each([
    ['an unserved version', 'example.com/v0', 'Widget'],
    ['another group', 'other.com/v1', 'Widget'],
    ['another kind', 'example.com/v1', 'Gadget']
  ])('does not match %s', (_name, apiVersion, kind) => {
    expect(resourceFromCrd(crd, apiVersion, kind)).toBeUndefined()
  })

  it('knows cluster scope', () => {
    const clusterScoped = { ...crd, spec: { ...(crd.spec as object), scope: 'Cluster' } }
    expect(resourceFromCrd(clusterScoped, 'example.com/v1', 'Widget')?.namespaced).toBe(false)
  })
})
