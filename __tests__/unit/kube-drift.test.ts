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
    ['missing', [{ git: configMap, namespace: 'web' }], [], [['missing', 'ConfigMap web/cfg', [], []]]],
    [
      'missing, cluster-scoped',
      [{ git: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'web' } } }],
      [],
      [['missing', 'Namespace /web', [], []]]
    ],
    [
      'changed, with the manager that owns the field',
      [{ git, namespace: 'web', live: scaled as KubeObject, merged: server() }],
      [],
      [['changed', 'Deployment web/web', ['spec.replicas'], ['kubectl']]]
    ],
    [
      'extra: a member Git no longer has',
      [{ git, namespace: 'web', live: server() as KubeObject, merged: server() }],
      [member('Deployment', 'web'), member('Service', 'old')],
      [['extra', 'Service web/old', [], []]]
    ],
    [
      'extra, cluster-scoped',
      [],
      [{ ...member('ClusterRole', 'old'), apiVersion: 'rbac.authorization.k8s.io/v1', namespace: undefined }],
      [['extra', 'ClusterRole /old', [], []]]
    ],
    [
      'sorted by kind, then namespace, then name within a state',
      [],
      [
        member('Secret', 'a'),
        member('ConfigMap', 'b'),
        { ...member('ConfigMap', 'a'), namespace: 'z' },
        member('ConfigMap', 'a')
      ],
      [
        ['extra', 'ConfigMap web/a', [], []],
        ['extra', 'ConfigMap web/b', [], []],
        ['extra', 'ConfigMap z/a', [], []],
        ['extra', 'Secret web/a', [], []]
      ]
    ],
    [
      'sorted by state',
      [
        { git, namespace: 'web', live: scaled as KubeObject, merged: server() },
        { git: configMap, namespace: 'web' }
      ],
      [member('ConfigMap', 'gone')],
      [
        ['missing', 'ConfigMap web/cfg', [], []],
        ['changed', 'Deployment web/web', ['spec.replicas'], ['kubectl']],
        ['extra', 'ConfigMap web/gone', [], []]
      ]
    ]
  ])('%s', (_name, observed, members, expected) => {
    const items = classifyDrift(observed, members, desired, 'gitops-push-deploy')
    expect(items.map(i => [i.state, `${i.kind} ${i.namespace}/${i.name}`, i.fields, i.managers])).toEqual(expected)
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

describe('drift rules on single fields', () => {
  const cm = (top: Record<string, unknown>): KubeObject =>
    ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'web' }, ...top }) as KubeObject
  const withMetadata = (metadata: Record<string, unknown>): KubeObject =>
    cm({ metadata: { name: 'c', namespace: 'web', ...metadata } })
  // Git's object, the dry run's answer, the live object; the changed fields; whether live holds Git's values.
  it.each<[string, KubeObject, object, object, string[], boolean]>([
    ['another served apiVersion is not drift', cm({}), cm({}), cm({ apiVersion: 'v1beta1' }), [], true],
    ['another kind is not drift', cm({}), cm({}), cm({ kind: 'Other' }), [], true],
    [
      'status, even when Git has one, is not drift',
      cm({ status: { phase: 'A' } }),
      cm({ status: { phase: 'B' } }),
      cm({ status: { phase: 'C' } }),
      [],
      true
    ],
    [
      'fields named like identity fields below the top are compared',
      cm({ data: { kind: 'a', status: 'a', apiVersion: 'a' } }),
      cm({ data: { kind: 'a', status: 'a', apiVersion: 'a' } }),
      cm({ data: { kind: 'b', status: 'b', apiVersion: 'b' } }),
      ['data.kind', 'data.status', 'data.apiVersion'],
      false
    ],
    [
      'deeper too',
      cm({ spec: { ref: { kind: 'Deployment' } } }),
      cm({ spec: { ref: { kind: 'Deployment' } } }),
      cm({ spec: { ref: { kind: 'StatefulSet' } } }),
      ['spec.ref.kind'],
      false
    ],
    [
      'inside unnamed list items too',
      cm({ spec: { refs: [{ kind: 'A' }] } }),
      cm({ spec: { refs: [{ kind: 'A' }] } }),
      cm({ spec: { refs: [{ kind: 'B' }] } }),
      ['spec.refs'],
      false
    ],
    [
      'inside named list items too',
      cm({ spec: { named: [{ name: 'n', kind: 'A' }] } }),
      cm({ spec: { named: [{ name: 'n', kind: 'A' }] } }),
      cm({ spec: { named: [{ name: 'n', kind: 'B' }] } }),
      ['spec.named[name=n].kind'],
      false
    ],
    [
      'an object Git sets that is null live',
      cm({ spec: { ref: { kind: 'A' } } }),
      cm({ spec: { ref: { kind: 'A' } } }),
      cm({ spec: { ref: null } }),
      ['spec.ref.kind'],
      false
    ],
    [
      'an annotation Git sets',
      withMetadata({ annotations: { a: '1' } }),
      withMetadata({ annotations: { a: '1' } }),
      withMetadata({ annotations: { a: '2' } }),
      ['metadata.annotations.a'],
      false
    ],
    [
      'server-owned metadata copied into Git is not drift',
      withMetadata({ resourceVersion: '1', finalizers: ['x'] }),
      withMetadata({ resourceVersion: '8', finalizers: ['x'] }),
      withMetadata({ resourceVersion: '9', finalizers: ['x', 'y'] }),
      [],
      true
    ],
    [
      'a null or absent value in Git sets nothing',
      cm({ data: { a: null, b: undefined } }),
      cm({ data: {} }),
      cm({ data: { a: 'x', b: 'y' } }),
      [],
      true
    ],
    [
      'named items are matched by name, in any order',
      cm({
        spec: {
          items: [
            { name: 'a', v: 1 },
            { name: 'b', v: 2 }
          ]
        }
      }),
      cm({
        spec: {
          items: [
            { name: 'a', v: 1 },
            { name: 'b', v: 2 }
          ]
        }
      }),
      cm({
        spec: {
          items: [
            { name: 'b', v: 2 },
            { name: 'a', v: 1 }
          ]
        }
      }),
      [],
      true
    ],
    [
      'a list with an unnamed item is compared whole',
      cm({ spec: { items: [{ name: 'a' }, { port: 1 }] } }),
      cm({ spec: { items: [{ name: 'a' }, { port: 1 }] } }),
      cm({ spec: { items: [{ name: 'a' }, { port: 2 }] } }),
      ['spec.items'],
      false
    ],
    [
      'an empty list is compared whole',
      cm({ spec: { args: [] } }),
      cm({ spec: { args: [] } }),
      cm({ spec: { args: ['x'] } }),
      ['spec.args'],
      false
    ],
    [
      'every item of an unnamed list counts',
      cm({ spec: { ports: [{ port: 80 }, { port: 81 }] } }),
      cm({ spec: { ports: [{ port: 80 }, { port: 81 }] } }),
      cm({ spec: { ports: [{ port: 80 }, { port: 82 }] } }),
      ['spec.ports'],
      false
    ],
    [
      'a list Git sets that the live object lacks',
      cm({ spec: { args: ['a'], items: [{ name: 'a' }] } }),
      cm({ spec: { args: ['a'], items: [{ name: 'a' }] } }),
      cm({ spec: {} }),
      ['spec.args', 'spec.items[name=a]'],
      false
    ]
  ])('%s', (_name, gitObject, merged, live, fields, holds) => {
    expect(changedFields(gitObject, merged, live).map(d => d.path)).toEqual(fields)
    expect(holdsGitValues(gitObject, live)).toBe(holds)
  })

  it('a missing named item is its own path in fieldsV1 notation', () => {
    expect(changedFields(git, server(), server({ side: false }))[0].fieldsV1).toEqual([
      'f:spec',
      'f:template',
      'f:spec',
      'f:containers',
      'k:{"name":"side"}'
    ])
  })
})

describe('ownsPath edge cases', () => {
  const containers = (keys: Record<string, unknown>) => ({ 'f:spec': { 'f:containers': keys, 'f:replicas': {} } })
  it.each<[string, unknown, string[], boolean]>([
    ['no fieldsV1 at all', undefined, ['f:spec'], false],
    ['a path deeper than the set', containers({}), ['f:spec', 'f:replicas', 'f:x', 'f:y'], false],
    ['a last field not in the set', containers({}), ['f:spec', 'f:paused'], false],
    [
      'a last item not in the set',
      containers({ 'k:{"name":"app"}': {} }),
      ['f:spec', 'f:containers', 'k:{"name":"side"}'],
      false
    ],
    [
      'an item key with more fields, matched by value',
      containers({ 'k:{"name":"app","x":1}': { 'f:image': {} } }),
      ['f:spec', 'f:containers', 'k:{"name":"app"}', 'f:image'],
      true
    ],
    [
      'an item key matched by every field',
      containers({ 'k:{"containerPort":80,"protocol":"UDP"}': {} }),
      ['f:spec', 'f:containers', 'k:{"containerPort":80,"protocol":"TCP"}'],
      false
    ],
    [
      'a set value is no item',
      containers({ 'v:{"name":"app"}': {} }),
      ['f:spec', 'f:containers', 'k:{"name":"app"}'],
      false
    ],
    [
      'a broken item key is no item',
      containers({ 'k:{"name"': {}, 'k:null': {} }),
      ['f:spec', 'f:containers', 'k:{"name":"app"}'],
      false
    ]
  ])('%s', (_name, fieldsV1, segments, owned) => {
    expect(ownsPath(fieldsV1, segments)).toBe(owned)
  })

  it('a manager owning any one of the fields counts, and the names are sorted', () => {
    const diffs = [
      { path: 'spec.replicas', fieldsV1: ['f:spec', 'f:replicas'] },
      { path: 'spec.paused', fieldsV1: ['f:spec', 'f:paused'] }
    ]
    const owns = (manager: string, field: string) => ({ manager, fieldsV1: { 'f:spec': { [field]: {} } } })
    expect(
      otherOwners(
        [owns('zeta', 'f:replicas'), { manager: 'no-fields' }, owns('alpha', 'f:paused'), owns('me', 'f:paused')],
        diffs,
        'me'
      )
    ).toEqual(['alpha', 'zeta'])
  })
})
