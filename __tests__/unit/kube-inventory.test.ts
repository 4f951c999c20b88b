// The ApplySet rules (KEP-3659). Ids are checked against kubectl's own test expectations
// (kubernetes/kubectl pkg/cmd/apply/apply_test.go), so `kubectl apply --applyset` finds our sets.
import { describe, expect, it } from '@jest/globals'
import {
  applySetId,
  groupKind,
  type LiveMember,
  memberLabelProblem,
  parentId,
  parentName,
  parentObject,
  parseGroupKind,
  planPrune,
  readParent,
  restorable,
  restoreFile,
  scopeOf,
  unionScope
} from '../../src/kube/inventory.js'
import { readManifests } from '../../src/render/manifests.js'
import { objectKey } from '../../src/kube/types.js'

describe('applySetId', () => {
  it.each([
    // kubectl's expectations for `--applyset=my-set -n test` (a Secret) and a cluster-scoped custom parent
    [
      { name: 'my-set', namespace: 'test', kind: 'Secret', group: '' },
      'applyset-0eFHV8ySqp7XoShsGvyWFQD3s96yqwHmzc4e0HR1dsY-v1'
    ],
    [
      { name: 'my-set', namespace: '', kind: 'ApplySet', group: 'company.com' },
      'applyset-rhp1a-HVAVT_dFgyEygyA1BEB82HPp2o10UiFTpqtAs-v1'
    ]
  ])('%j → %s', (parent, id) => {
    expect(applySetId(parent)).toBe(id)
  })

  it('is a valid label value (≤ 63 characters, alphanumeric at both ends)', () => {
    const id = parentId({ name: parentName('acme/env', ['apps/web/production']), namespace: 'web' })
    expect(id.length).toBeLessThanOrEqual(63)
    expect(id).toMatch(/^[A-Za-z0-9][-A-Za-z0-9_.]*[A-Za-z0-9]$/)
  })
})

describe('parentName', () => {
  it.each<[string, string[], RegExp]>([
    ['acme/env', ['apps/web/production'], /^gitops-push-deploy\.production\.[0-9a-f]{10}$/],
    ['acme/env', ['apps/web', 'apps/api'], /^gitops-push-deploy\.multi\.[0-9a-f]{10}$/],
    ['acme/env', ['.'], /^gitops-push-deploy\.[0-9a-f]{10}$/],
    ['acme/env', ['Apps/My_App'], /^gitops-push-deploy\.my-app\.[0-9a-f]{10}$/]
  ])('%s %j', (repo, paths, pattern) => {
    expect(parentName(repo, paths)).toMatch(pattern)
  })

  it('differs per env repo and env path, not per path order', () => {
    expect(parentName('acme/env', ['a', 'b'])).toBe(parentName('acme/env', ['b', 'a']))
    expect(parentName('acme/env', ['apps/web'])).not.toBe(parentName('acme/other', ['apps/web']))
    expect(parentName('acme/env', ['apps/web'])).not.toBe(parentName('acme/env', ['apps/web2']))
  })
})

describe('group-kinds', () => {
  it.each([
    ['apps/v1', 'Deployment', 'Deployment.apps'],
    ['v1', 'ConfigMap', 'ConfigMap'],
    ['networking.k8s.io/v1', 'Ingress', 'Ingress.networking.k8s.io']
  ])('%s %s → %s and back', (apiVersion, kind, gk) => {
    expect(groupKind(apiVersion, kind)).toBe(gk)
    expect(parseGroupKind(gk)).toEqual({ kind, group: apiVersion.includes('/') ? apiVersion.split('/')[0] : '' })
  })
})

describe('scope', () => {
  it('lists sorted group-kinds and namespaces of namespaced members', () => {
    expect(
      scopeOf([
        { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'web' },
        { apiVersion: 'v1', kind: 'Service', namespace: 'web' },
        { apiVersion: 'v1', kind: 'Namespace' },
        { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'aux' }
      ])
    ).toEqual({ groupKinds: ['ConfigMap', 'Deployment.apps', 'Namespace', 'Service'], namespaces: ['aux', 'web'] })
    expect(
      unionScope({ groupKinds: ['B', 'A'], namespaces: ['x'] }, { groupKinds: ['A', 'C'], namespaces: ['w'] })
    ).toEqual({
      groupKinds: ['A', 'B', 'C'],
      namespaces: ['w', 'x']
    })
  })

  it('writes the parent as kubectl does: id label, tooling, kinds, other namespaces', () => {
    const parent = { name: 'gitops-push-deploy.web.0123456789', namespace: 'web' }
    const object = parentObject(
      parent,
      { groupKinds: ['ConfigMap', 'Deployment.apps'], namespaces: ['aux', 'web'] },
      {
        repository: 'acme/env',
        paths: ['apps/web']
      }
    )
    expect(object.metadata.labels).toEqual({ 'applyset.kubernetes.io/id': parentId(parent) })
    expect(object.metadata.annotations).toMatchObject({
      'applyset.kubernetes.io/tooling': expect.stringMatching(/^kubectl\/v\d/),
      'applyset.kubernetes.io/contains-group-kinds': 'ConfigMap,Deployment.apps',
      'applyset.kubernetes.io/additional-namespaces': 'aux'
    })
  })
})

describe('readParent', () => {
  const parent = { name: 'p', namespace: 'web' }
  const labels = { 'applyset.kubernetes.io/id': parentId(parent) }
  it.each<[string, object, object]>([
    [
      'kubectl-compatible parent',
      {
        labels,
        annotations: {
          'applyset.kubernetes.io/tooling': 'kubectl/v1.34.0',
          'applyset.kubernetes.io/contains-group-kinds': 'Deployment.apps,ConfigMap',
          'applyset.kubernetes.io/additional-namespaces': 'aux'
        }
      },
      { scope: { groupKinds: ['ConfigMap', 'Deployment.apps'], namespaces: ['aux', 'web'] } }
    ],
    [
      'empty set',
      {
        labels,
        annotations: {
          'applyset.kubernetes.io/tooling': 'kubectl/v1.30.1',
          'applyset.kubernetes.io/contains-group-kinds': ''
        }
      },
      { scope: { groupKinds: [], namespaces: ['web'] } }
    ],
    [
      'another tool',
      { labels, annotations: { 'applyset.kubernetes.io/tooling': 'helm/v3' } },
      { problem: expect.stringContaining('tooling "helm/v3"') }
    ],
    ['no tooling', { labels, annotations: {} }, { problem: expect.stringContaining('(none)') }],
    [
      'someone else’s ConfigMap',
      { labels: {}, annotations: {} },
      { problem: expect.stringContaining('label is missing') }
    ],
    [
      'an id for another parent',
      { labels: { 'applyset.kubernetes.io/id': 'applyset-x-v1' } },
      { problem: expect.stringContaining('applyset-x-v1') }
    ]
  ])('%s', (_name, metadata, expected) => {
    expect(readParent(parent, { metadata })).toEqual(expected)
  })
})

describe('planPrune', () => {
  const member = (kind: string, name: string, extra: Partial<LiveMember> = {}): LiveMember => ({
    apiVersion: kind === 'Deployment' ? 'apps/v1' : 'v1',
    kind,
    namespace: kind === 'Namespace' ? undefined : 'web',
    name,
    uid: `uid-${name}`,
    annotations: {},
    ownerReferences: [],
    ...extra
  })
  const keep = member('Deployment', 'web')
  const oldConfig = member('ConfigMap', 'old')
  const oldDeployment = member('Deployment', 'old')
  const oldNamespace = member('Namespace', 'old-ns')
  const pinned = member('ConfigMap', 'pinned', { annotations: { 'gitops-push-deploy/prune': 'disabled' } })
  const owned = member('ConfigMap', 'child', { ownerReferences: [{ kind: 'Deployment', name: 'web' }] })
  const desired = new Set([objectKey(keep)])

  it.each<[string, LiveMember[], string[], string[], string[]]>([
    ['nothing gone', [keep], [], [], []],
    [
      'gone objects, in reverse install order',
      [keep, oldNamespace, oldConfig, oldDeployment],
      ['old', 'old', 'old-ns'],
      [],
      []
    ],
    ['prune disabled: kept and released', [keep, pinned], [], ['pinned'], []],
    ['owned by another object: left alone', [keep, owned], [], [], ['child']],
    [
      'an annotation other than disabled prunes',
      [member('ConfigMap', 'x', { annotations: { 'gitops-push-deploy/prune': 'enabled' } })],
      ['x'],
      [],
      []
    ]
  ])('%s', (_name, members, prune, release, ownedNames) => {
    const plan = planPrune(members, desired)
    expect(plan.prune.map(m => m.name)).toEqual(prune)
    expect(plan.release.map(m => m.name)).toEqual(release)
    expect(plan.owned.map(m => m.name)).toEqual(ownedNames)
  })

  it('deletes workloads before the ConfigMaps they mount and Namespaces last', () => {
    expect(planPrune([oldNamespace, oldConfig, oldDeployment], desired).prune.map(m => m.kind)).toEqual([
      'Deployment',
      'ConfigMap',
      'Namespace'
    ])
  })
})

describe('memberLabelProblem', () => {
  it.each<[Record<string, string> | undefined, boolean]>([
    [undefined, false],
    [{ app: 'web' }, false],
    [{ 'applyset.kubernetes.io/part-of': 'applyset-x-v1' }, true],
    [{ 'applyset.kubernetes.io/id': 'applyset-x-v1' }, true]
  ])('%j', (labels, problem) => {
    const object = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', ...(labels ? { labels } : {}) } }
    expect(memberLabelProblem(object) !== undefined).toBe(problem)
  })
})

describe('restoring pruned objects', () => {
  const live = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: 'old',
      namespace: 'web',
      uid: 'u',
      resourceVersion: '7',
      creationTimestamp: '2026-01-01T00:00:00Z',
      managedFields: [{ manager: 'gitops-push-deploy' }],
      labels: { app: 'web', 'applyset.kubernetes.io/part-of': 'applyset-x-v1' },
      annotations: { note: 'kept' }
    },
    data: { a: '1' },
    status: { whatever: true }
  }

  it('keeps what can be applied again, drops what the server writes', () => {
    expect(restorable(live)).toEqual({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: 'old',
        namespace: 'web',
        labels: { app: 'web', 'applyset.kubernetes.io/part-of': 'applyset-x-v1' },
        annotations: { note: 'kept' }
      },
      data: { a: '1' }
    })
  })

  it('reads back as manifests, so the rollback applies them with the previous state', async () => {
    const manifests = await readManifests([restoreFile([restorable(live)])])
    expect(manifests.map(m => `${m.object.kind}/${m.object.metadata.name}`)).toEqual(['ConfigMap/old'])
  })
})

describe('inventory rules in detail', () => {
  it.each<[string, string[], RegExp]>([
    ['the last segment, cut to 40 characters', [`apps/${'a'.repeat(50)}`], /^gitops-push-deploy\.a{40}\.[0-9a-f]{10}$/],
    ['dashes trimmed at both ends', ['apps/--web--'], /^gitops-push-deploy\.web\.[0-9a-f]{10}$/],
    [
      'runs of other characters become one dash',
      ['apps/my__web..app'],
      /^gitops-push-deploy\.my-web-app\.[0-9a-f]{10}$/
    ],
    ['nothing usable left: no segment', ['apps/__'], /^gitops-push-deploy\.[0-9a-f]{10}$/]
  ])('parentName: %s', (_name, paths, pattern) => {
    expect(parentName('acme/env', paths)).toMatch(pattern)
  })

  it('parentName keeps the path list as given: sorting is for the hash only', () => {
    const paths = ['b', 'a']
    parentName('acme/env', paths)
    expect(paths).toEqual(['b', 'a'])
  })

  it('parentName separates the repository from the paths', () => {
    expect(parentName('acme/env', ['x'])).not.toBe(parentName('acme/en', ['v\nx']))
    expect(parentName('acme/env', ['a', 'b'])).not.toBe(parentName('acme/env', ['ab']))
    expect(parentName('acme/env', ['a', 'bc'])).not.toBe(parentName('acme/env', ['ab', 'c']))
    expect(parentName('acme/env', ['a/web'])).not.toBe(parentName('acme/env', ['b/web']))
  })

  it('the parent object as a whole', () => {
    const parent = { name: 'p', namespace: 'web' }
    expect(
      parentObject(
        parent,
        { groupKinds: ['ConfigMap'], namespaces: ['web'] },
        { repository: 'acme/env', paths: ['a', 'b'] }
      )
    ).toEqual({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: 'p',
        namespace: 'web',
        labels: { 'applyset.kubernetes.io/id': parentId(parent) },
        annotations: {
          'applyset.kubernetes.io/tooling': 'kubectl/v1.34.0',
          'applyset.kubernetes.io/contains-group-kinds': 'ConfigMap',
          'applyset.kubernetes.io/additional-namespaces': '',
          'gitops-push-deploy/env-repo': 'acme/env',
          'gitops-push-deploy/env-path': 'a\nb'
        }
      }
    })
  })

  it('several namespaces and kinds are comma-separated, sorted by the caller', () => {
    const object = parentObject(
      { name: 'p', namespace: 'web' },
      { groupKinds: ['A', 'B'], namespaces: ['aux', 'more', 'web'] },
      { repository: 'r', paths: ['x'] }
    )
    expect(object.metadata.annotations['applyset.kubernetes.io/contains-group-kinds']).toBe('A,B')
    expect(object.metadata.annotations['applyset.kubernetes.io/additional-namespaces']).toBe('aux,more')
  })

  it('the id depends on every part of the parent', () => {
    const base = { name: 'n', namespace: 'ns', kind: 'ConfigMap', group: '' }
    const ids = new Set(
      [
        base,
        { ...base, name: 'm' },
        { ...base, namespace: 'nt' },
        { ...base, kind: 'Secret' },
        { ...base, group: 'g' }
      ].map(applySetId)
    )
    expect(ids.size).toBe(5)
    expect(parentId({ name: 'n', namespace: 'ns' })).toBe(applySetId(base))
  })

  it.each([
    ['Deployment', { group: '', kind: 'Deployment' }],
    ['Ingress.networking.k8s.io', { group: 'networking.k8s.io', kind: 'Ingress' }]
  ])('parseGroupKind %s', (value, expected) => {
    expect(parseGroupKind(value)).toEqual(expected)
  })

  const parent = { name: 'p', namespace: 'web' }
  const labels = { 'applyset.kubernetes.io/id': parentId(parent) }
  it.each<[string, Record<string, string> | undefined, Record<string, string> | undefined, object]>([
    [
      'tooling without a version',
      labels,
      { 'applyset.kubernetes.io/tooling': 'kubectl' },
      { scope: { groupKinds: [], namespaces: ['web'] } }
    ],
    [
      'the tool is what precedes the last slash',
      labels,
      { 'applyset.kubernetes.io/tooling': 'kubectl/v1/x' },
      {
        problem:
          'ApplySet parent ConfigMap web/p is managed by tooling "kubectl/v1/x", not kubectl\'s convention; left alone'
      }
    ],
    [
      'empty list items and the parent namespace listed again',
      labels,
      {
        'applyset.kubernetes.io/tooling': 'kubectl/v1.34.0',
        'applyset.kubernetes.io/contains-group-kinds': 'B,,A,',
        'applyset.kubernetes.io/additional-namespaces': 'web,aux,'
      },
      { scope: { groupKinds: ['A', 'B'], namespaces: ['aux', 'web'] } }
    ],
    [
      'no annotations at all',
      labels,
      undefined,
      {
        problem: 'ApplySet parent ConfigMap web/p is managed by tooling "(none)", not kubectl\'s convention; left alone'
      }
    ],
    [
      'no labels at all',
      undefined,
      undefined,
      {
        problem: `ApplySet parent ConfigMap web/p exists but its applyset.kubernetes.io/id label is missing, not ${parentId(parent)}`
      }
    ]
  ])('readParent: %s', (_name, liveLabels, annotations, expected) => {
    expect(readParent(parent, { metadata: { labels: liveLabels, annotations } })).toEqual(expected)
  })

  it('readParent of an object without metadata', () => {
    expect(readParent(parent, {})).toEqual({
      problem: `ApplySet parent ConfigMap web/p exists but its applyset.kubernetes.io/id label is missing, not ${parentId(parent)}`
    })
  })

  it.each<[Record<string, string>, string | undefined]>([
    [
      { 'applyset.kubernetes.io/part-of': 'x' },
      "sets the applyset.kubernetes.io/part-of label, which the deploy's inventory owns"
    ],
    [
      { 'applyset.kubernetes.io/id': 'x' },
      "sets the applyset.kubernetes.io/id label, which the deploy's inventory owns"
    ]
  ])('memberLabelProblem names the label: %j', (labels, problem) => {
    expect(memberLabelProblem({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', labels } })).toBe(problem)
  })

  it.each([
    'uid',
    'resourceVersion',
    'generation',
    'creationTimestamp',
    'deletionTimestamp',
    'deletionGracePeriodSeconds',
    'managedFields',
    'selfLink',
    'ownerReferences',
    'finalizers'
  ])('restorable drops the server-written %s', key => {
    const restored = restorable({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', [key]: 'x' } })
    expect(restored.metadata).toEqual({ name: 'c' })
  })

  it('restorable leaves the live object alone', () => {
    const live = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', uid: 'u' }, status: {} }
    restorable(live)
    expect(live).toEqual({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', uid: 'u' }, status: {} })
  })

  it('restoreFile is one JSON List under the tool’s own directory', () => {
    const object = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' } }
    const file = restoreFile([object])
    expect(file.path).toBe('.gitops-push-deploy/pruned-by-this-run.json')
    expect(JSON.parse(file.content)).toEqual({ apiVersion: 'v1', kind: 'List', items: [object] })
  })
})
