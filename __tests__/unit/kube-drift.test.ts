import { describe, expect, it } from '@jest/globals'
import { changedFields, classifyDrift, holdsGitValues, otherOwners, ownsPath } from '../../src/kube/drift.js'
import { driftLine } from '../../src/report/run-report.js'
import { type LiveMember } from '../../src/kube/inventory.js'
import { objectKey, type KubeObject } from '../../src/kube/types.js'

const git: KubeObject = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', namespace: 'web', labels: { app: 'web' } },
  spec: {
    replicas: 2,
    selector: { matchLabels: { app: 'web' } },
    template: {
      metadata: { labels: { app: 'web' } },
      spec: {
        containers: [
          { name: 'app', image: 'reg/web:v2', ports: [{ containerPort: 80 }] },
          { name: 'side', image: 'reg/side:1' }
        ]
      }
    }
  }
}

/** What the apiserver answers: Git's object defaulted, plus fields others set. */
function server(overrides: { replicas?: number; image?: string; side?: boolean; label?: string } = {}) {
  const containers: object[] = [
    {
      name: 'app',
      image: overrides.image ?? 'reg/web:v2',
      ports: [{ containerPort: 80, protocol: 'TCP' }],
      imagePullPolicy: 'IfNotPresent'
    }
  ]
  if (overrides.side !== false) containers.push({ name: 'side', image: 'reg/side:1', imagePullPolicy: 'IfNotPresent' })
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: 'web',
      namespace: 'web',
      uid: 'u1',
      resourceVersion: '9',
      generation: 3,
      labels: { app: overrides.label ?? 'web', 'applyset.kubernetes.io/part-of': 'applyset-x-v1' },
      annotations: { 'deployment.kubernetes.io/revision': '3' }
    },
    spec: {
      replicas: overrides.replicas ?? 2,
      selector: { matchLabels: { app: 'web' } },
      strategy: { type: 'RollingUpdate' },
      template: { metadata: { labels: { app: 'web' } }, spec: { containers, restartPolicy: 'Always' } }
    },
    status: { replicas: 2 }
  }
}

describe('changedFields', () => {
  it.each<[string, object, string[]]>([
    ['equal: defaults and fields others set are not drift', server(), []],
    ['scaled by hand', server({ replicas: 5 }), ['spec.replicas']],
    ['image set by hand', server({ image: 'reg/web:v1' }), ['spec.template.spec.containers[name=app].image']],
    ['a container removed', server({ side: false }), ['spec.template.spec.containers[name=side]']],
    ['a label Git sets changed', server({ label: 'other' }), ['metadata.labels.app']],
    [
      'several at once',
      server({ replicas: 1, image: 'reg/web:v0' }),
      ['spec.replicas', 'spec.template.spec.containers[name=app].image']
    ]
  ])('%s', (_name, live, fields) => {
    expect(changedFields(git, server(), live).map(d => d.path)).toEqual(fields)
  })

  it('gives each path in fieldsV1 notation', () => {
    expect(changedFields(git, server(), server({ image: 'x' }))[0].fieldsV1).toEqual([
      'f:spec',
      'f:template',
      'f:spec',
      'f:containers',
      'k:{"name":"app"}',
      'f:image'
    ])
  })
})

describe('owners', () => {
  const fieldsV1 = {
    'f:spec': {
      'f:replicas': {},
      'f:template': { 'f:spec': { 'f:containers': { 'k:{"name":"app"}': { '.': {}, 'f:image': {} } } } }
    }
  }
  it.each<[string[], boolean]>([
    [['f:spec', 'f:replicas'], true],
    [['f:spec', 'f:template', 'f:spec', 'f:containers', 'k:{"name":"app"}', 'f:image'], true],
    [['f:spec', 'f:template', 'f:spec', 'f:containers', 'k:{"name":"side"}', 'f:image'], false],
    [['f:metadata', 'f:labels'], false]
  ])('%j owned: %s', (path, owned) => {
    expect(ownsPath(fieldsV1, path)).toBe(owned)
  })

  it('names the other managers, never ours', () => {
    const managedFields = [
      { manager: 'gitops-push-deploy', operation: 'Apply', fieldsV1 },
      {
        manager: 'kube-controller-manager',
        operation: 'Update',
        subresource: 'scale',
        fieldsV1: { 'f:spec': { 'f:replicas': {} } }
      },
      { manager: 'kubectl-edit', operation: 'Update', fieldsV1: { 'f:metadata': { 'f:labels': {} } } }
    ]
    expect(
      otherOwners(managedFields, [{ path: 'spec.replicas', fieldsV1: ['f:spec', 'f:replicas'] }], 'gitops-push-deploy')
    ).toEqual(['kube-controller-manager'])
  })
})

describe('classifyDrift', () => {
  const member = (kind: string, name: string): LiveMember => ({
    apiVersion: kind === 'Deployment' ? 'apps/v1' : 'v1',
    kind,
    namespace: 'web',
    name,
    uid: name,
    annotations: {},
    ownerReferences: []
  })
  const configMap: KubeObject = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'cfg', namespace: 'web' },
    data: { a: '1' }
  }
  const desired = new Set([
    objectKey({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'web', name: 'web' }),
    objectKey({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'web', name: 'cfg' })
  ])
  const scaled = server({ replicas: 7 })
  ;(scaled.metadata as Record<string, unknown>).managedFields = [
    { manager: 'kubectl', operation: 'Update', subresource: 'scale', fieldsV1: { 'f:spec': { 'f:replicas': {} } } }
  ]

  it.each<[string, Parameters<typeof classifyDrift>[0], LiveMember[], Array<[string, string, string[], string[]]>]>([
    [
      'in sync',
      [{ git, namespace: 'web', live: server() as KubeObject, merged: server() }],
      [member('Deployment', 'web')],
      []
    ],
    ['missing', [{ git: configMap, namespace: 'web' }], [], [['missing', 'cfg', [], []]]],
    [
      'changed, with the manager that owns the field',
      [{ git, namespace: 'web', live: scaled as KubeObject, merged: server() }],
      [],
      [['changed', 'web', ['spec.replicas'], ['kubectl']]]
    ],
    [
      'extra: a member Git no longer has',
      [{ git, namespace: 'web', live: server() as KubeObject, merged: server() }],
      [member('Deployment', 'web'), member('Service', 'old')],
      [['extra', 'old', [], []]]
    ],
    [
      'sorted by state',
      [
        { git, namespace: 'web', live: scaled as KubeObject, merged: server() },
        { git: configMap, namespace: 'web' }
      ],
      [member('Secret', 'gone')],
      [
        ['missing', 'cfg', [], []],
        ['changed', 'web', ['spec.replicas'], ['kubectl']],
        ['extra', 'gone', [], []]
      ]
    ]
  ])('%s', (_name, observed, members, expected) => {
    const items = classifyDrift(observed, members, desired, 'gitops-push-deploy')
    expect(items.map(i => [i.state, i.name, i.fields, i.managers])).toEqual(expected)
    for (const item of items)
      expect(Object.keys(item).sort()).toEqual(['fields', 'kind', 'managers', 'name', 'namespace', 'state'])
  })

  it('reads as one line per object', () => {
    expect(
      driftLine({
        kind: 'Deployment',
        namespace: 'web',
        name: 'web',
        state: 'changed',
        fields: ['spec.replicas'],
        managers: ['kubectl']
      })
    ).toBe('changed Deployment web/web: spec.replicas (owned by kubectl)')
    expect(
      driftLine({ kind: 'Namespace', namespace: '', name: 'web', state: 'missing', fields: [], managers: [] })
    ).toBe('missing Namespace web')
  })
})

describe('holdsGitValues (no dry run needed)', () => {
  it.each<[string, object, boolean]>([
    ['live holds every value Git sets, plus defaults', server(), true],
    ['scaled', server({ replicas: 3 }), false],
    ['another image', server({ image: 'reg/web:v1' }), false],
    ['a container gone', server({ side: false }), false],
    ['a label changed', server({ label: 'x' }), false]
  ])('%s → %s', (_name, live, holds) => {
    expect(holdsGitValues(git, live)).toBe(holds)
  })

  it('a normalised value is not held: the dry run decides', () => {
    const withCpu: KubeObject = { ...git, spec: { replicas: 2, resources: { cpu: '1000m' } } }
    expect(holdsGitValues(withCpu, { ...server(), spec: { replicas: 2, resources: { cpu: '1' } } })).toBe(false)
  })

  it('an unnamed list must match item by item and in length', () => {
    const svc: KubeObject = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 's' },
      spec: { ports: [{ port: 80 }] }
    }
    const live = (ports: object[]) => ({ ...svc, spec: { ports } })
    expect(holdsGitValues(svc, live([{ port: 80, protocol: 'TCP', targetPort: 80 }]))).toBe(true)
    expect(holdsGitValues(svc, live([{ port: 80 }, { port: 81 }]))).toBe(false)
    expect(holdsGitValues(svc, live([{ port: 8080 }]))).toBe(false)
  })
})
