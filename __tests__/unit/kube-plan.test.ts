import { describe, expect, it } from '@jest/globals'
import {
  deployAnnotations,
  desiredObject,
  duplicateProblems,
  planWaves,
  setDependency,
  targetNamespace,
  waveOf
} from '../../src/kube/plan.js'
import { type KubeObject } from '../../src/kube/types.js'

const object = (kind: string, name = 'x', namespace?: string): KubeObject => ({
  apiVersion: 'v1',
  kind,
  metadata: { name, ...(namespace ? { namespace } : {}) }
})

describe('planWaves', () => {
  it('applies Namespaces and CRDs first, then Helm order, custom kinds last', () => {
    const kinds = [
      'Widget',
      'Deployment',
      'Service',
      'CustomResourceDefinition',
      'ConfigMap',
      'Ingress',
      'Namespace',
      'ServiceAccount',
      'Secret',
      'RoleBinding',
      'Job',
      'StatefulSet',
      'ClusterRole'
    ]
    const waves = planWaves(kinds.map(kind => ({ object: object(kind) })))
    expect(waves.map(wave => wave.map(item => item.object.kind))).toEqual([
      ['CustomResourceDefinition', 'Namespace'],
      ['ServiceAccount'],
      ['Secret'],
      ['ConfigMap'],
      ['ClusterRole'],
      ['RoleBinding'],
      ['Service'],
      ['Deployment'],
      ['StatefulSet'],
      ['Job'],
      ['Ingress'],
      ['Widget']
    ])
  })

  it('keeps the input order inside a wave', () => {
    const waves = planWaves(['b', 'a', 'c'].map(name => ({ object: object('ConfigMap', name) })))
    expect(waves).toHaveLength(1)
    expect(waves[0].map(item => item.object.metadata.name)).toEqual(['b', 'a', 'c'])
  })

  it.each([
    ['Namespace', 0],
    ['CustomResourceDefinition', 0],
    ['PriorityClass', 1]
  ])('%s is in wave rank %i', (kind, rank) => {
    expect(waveOf(kind)).toBe(rank)
  })

  it('ranks unknown kinds after every known one', () => {
    expect(waveOf('Widget')).toBeGreaterThan(waveOf('ValidatingWebhookConfiguration'))
  })
})

describe('targetNamespace', () => {
  it.each([
    ['namespaced, none given → default', object('ConfigMap'), true, 'app'],
    ['namespaced, own namespace kept', object('ConfigMap', 'x', 'other'), true, 'other'],
    ['cluster-scoped → none', object('ClusterRole'), false, undefined],
    ['cluster-scoped with a stray namespace → none', object('ClusterRole', 'x', 'other'), false, undefined]
  ])('%s', (_name, obj, namespaced, expected) => {
    expect(targetNamespace(obj, namespaced, 'app')).toBe(expected)
  })
})

describe('desiredObject', () => {
  it('sets the namespace and merges our annotations without touching the input', () => {
    const input: KubeObject = { ...object('ConfigMap'), data: { a: '1' } }
    input.metadata.annotations = { mine: 'yes', 'gitops-push-deploy/env-commit': 'old' }
    const copy = JSON.parse(JSON.stringify(input))
    const desired = desiredObject(input, 'app', { 'gitops-push-deploy/env-commit': 'abc' })
    expect(desired).toEqual({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'x', namespace: 'app', annotations: { mine: 'yes', 'gitops-push-deploy/env-commit': 'abc' } },
      data: { a: '1' }
    })
    expect(input).toEqual(copy)
  })

  it('drops the namespace of a cluster-scoped object and adds no empty annotations', () => {
    expect(desiredObject(object('ClusterRole', 'r', 'stray'), undefined, {})).toEqual({
      apiVersion: 'v1',
      kind: 'ClusterRole',
      metadata: { name: 'r' }
    })
  })
})

describe('deployAnnotations', () => {
  it('carries what is known', () => {
    expect(
      deployAnnotations({
        envCommit: 'e1',
        repository: 'o/app',
        sha: 's1',
        runUrl: 'https://github.com/o/app/actions/runs/1'
      })
    ).toEqual({
      'gitops-push-deploy/env-commit': 'e1',
      'gitops-push-deploy/source': 'o/app@s1',
      'gitops-push-deploy/run-url': 'https://github.com/o/app/actions/runs/1'
    })
  })

  it('leaves out what is not', () => {
    expect(deployAnnotations({ envCommit: 'e1', repository: 'o/app' })).toEqual({
      'gitops-push-deploy/env-commit': 'e1'
    })
  })
})

describe('setDependency', () => {
  const inSet = new Set(['new-ns'])
  it.each([
    [
      'custom resource of a CRD in the set',
      'app',
      'widgets.example.com',
      { on: 'CustomResourceDefinition widgets.example.com', kind: 'crd' }
    ],
    ['object in a namespace of the set', 'new-ns', undefined, { on: 'Namespace new-ns', kind: 'namespace' }],
    ['object in another namespace', 'app', undefined, undefined],
    ['cluster-scoped object', undefined, undefined, undefined]
  ])('%s', (_name, namespace, crd, expected) => {
    expect(setDependency(namespace, crd, inSet)).toEqual(expected)
  })
})

describe('duplicateProblems', () => {
  it('names both sources of a duplicate', () => {
    expect(
      duplicateProblems([
        { key: 'apps/Deployment/app/web', describe: 'Deployment app/web', source: 'a.yaml (document 1)' },
        { key: '/ConfigMap/app/web', describe: 'ConfigMap app/web', source: 'a.yaml (document 2)' },
        { key: 'apps/Deployment/app/web', describe: 'Deployment app/web', source: 'b.yaml (document 1)' }
      ])
    ).toEqual(['Deployment app/web: defined twice (a.yaml (document 1) and b.yaml (document 1))'])
  })
})
