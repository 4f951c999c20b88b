import { describe, expect, it } from '@jest/globals'
import { isKustomizationFile } from '../../src/lib/descriptors.js'
import {
  type ApplyPolicy,
  globMatch,
  kindMatches,
  kustomizeRefusals,
  objectRefusals,
  PolicyError,
  type PolicyObject,
  refusalLine
} from '../../src/kube/policy.js'
import { Applier } from '../../src/kube/apply.js'
import { policyRender } from '../../src/kube/index.js'
import { type Rendering } from '../../src/render/manifests.js'

const base: ApplyPolicy = {
  namespace: 'web',
  allowedNamespaces: [],
  allowClusterScoped: false,
  allowedKinds: [],
  deniedKinds: [],
  kustomizeRemote: false
}

const obj = (apiVersion: string, kind: string, name: string, namespace?: string): PolicyObject => ({
  apiVersion,
  kind,
  name,
  namespace,
  namespaced: namespace !== undefined,
  source: 'apps/web/x.yaml'
})

const deployment = obj('apps/v1', 'Deployment', 'web', 'web')
const crb = obj('rbac.authorization.k8s.io/v1', 'ClusterRoleBinding', 'pwn')
const webhook = obj('admissionregistration.k8s.io/v1', 'MutatingWebhookConfiguration', 'hook')
const kubeSystemConfigMap = obj('v1', 'ConfigMap', 'evil', 'kube-system')
const namespaceWeb = obj('v1', 'Namespace', 'web')
const namespaceOther = obj('v1', 'Namespace', 'other')
const crd = obj('apiextensions.k8s.io/v1', 'CustomResourceDefinition', 'widgets.example.com')
const secret = obj('v1', 'Secret', 's', 'web')

describe('apply policy: objects', () => {
  it.each<[string, Partial<ApplyPolicy>, PolicyObject, RegExp | undefined]>([
    ['a Deployment in the namespace', {}, deployment, undefined],
    ['its own Namespace', {}, namespaceWeb, undefined],
    ['a CRD', {}, crd, undefined],
    [
      'a ClusterRoleBinding',
      {},
      crb,
      /^ClusterRoleBinding pwn \(apps\/web\/x.yaml\): cluster-scoped kind rbac.authorization.k8s.io\/ClusterRoleBinding is not allowed; allow with allow-cluster-scoped: true, or allowed-kinds: rbac.authorization.k8s.io\/ClusterRoleBinding$/
    ],
    ['a ClusterRoleBinding with allow-cluster-scoped', { allowClusterScoped: true }, crb, undefined],
    ['a ClusterRoleBinding listed in allowed-kinds', { allowedKinds: ['rbac.authorization.k8s.io/*'] }, crb, undefined],
    ['a ClusterRoleBinding listed by kind alone', { allowedKinds: ['ClusterRoleBinding'] }, crb, undefined],
    [
      'a ClusterRoleBinding, other group listed',
      { allowedKinds: ['example.com/ClusterRoleBinding'] },
      crb,
      /not allowed/
    ],
    ['a webhook configuration', {}, webhook, /MutatingWebhookConfiguration is not allowed/],
    [
      'a ConfigMap in kube-system',
      {},
      kubeSystemConfigMap,
      /^ConfigMap kube-system\/evil .*namespace "kube-system" is not the namespace input "web"; allow with allowed-namespaces: kube-system$/
    ],
    ['a ConfigMap in kube-system, allowed', { allowedNamespaces: ['kube-*'] }, kubeSystemConfigMap, undefined],
    [
      'a ConfigMap in kube-system, other glob',
      { allowedNamespaces: ['kube-public'] },
      kubeSystemConfigMap,
      /kube-system/
    ],
    ['a ConfigMap anywhere when no namespace is set', { namespace: undefined }, kubeSystemConfigMap, undefined],
    [
      'only allowed-namespaces when no namespace is set',
      { namespace: undefined, allowedNamespaces: ['team-*'] },
      kubeSystemConfigMap,
      /namespace "kube-system" is not in allowed-namespaces/
    ],
    ['another Namespace object', {}, namespaceOther, /namespace "other" is not the namespace input/],
    ['another Namespace object, allowed', { allowedNamespaces: ['other'] }, namespaceOther, undefined],
    [
      'a cluster-scoped Namespace kind of another group is no namespace',
      { allowClusterScoped: true },
      obj('example.com/v1', 'Namespace', 'kube-system'),
      undefined
    ],
    [
      'a Namespace kind of another group is not a foundation kind',
      {},
      obj('example.com/v1', 'Namespace', 'kube-system'),
      /^Namespace kube-system \(apps\/web\/x.yaml\): cluster-scoped kind example.com\/Namespace is not allowed; allow with allow-cluster-scoped: true, or allowed-kinds: example.com\/Namespace$/
    ],
    [
      'a denied kind',
      { deniedKinds: ['core/Secret'] },
      secret,
      /kind core\/Secret is denied by denied-kinds "core\/Secret"/
    ],
    ['a denied kind by /Kind', { deniedKinds: ['/Secret'] }, secret, /denied/],
    ['a denied kind by glob', { deniedKinds: ['Sec*'] }, secret, /denied/],
    ['deny beats allow', { deniedKinds: ['*/ClusterRoleBinding'], allowClusterScoped: true }, crb, /denied/],
    ['a deny for another group', { deniedKinds: ['apps/Secret'] }, secret, undefined],
    [
      'several reasons on one object',
      { deniedKinds: ['ConfigMap'] },
      kubeSystemConfigMap,
      /denied by denied-kinds "ConfigMap"; namespace "kube-system" is not the namespace input "web"; allow with removing "ConfigMap" from denied-kinds, or allowed-namespaces: kube-system$/
    ]
  ])('%s', (_name, policy, object, expected) => {
    const refusals = objectRefusals([object], { ...base, ...policy })
    if (expected === undefined) expect(refusals).toEqual([])
    else {
      expect(refusals).toHaveLength(1)
      expect(refusalLine(refusals[0])).toMatch(expected)
    }
  })

  it('lists every refused object at once', () => {
    const refusals = objectRefusals([deployment, crb, kubeSystemConfigMap, webhook, namespaceOther], base)
    expect(refusals.map(r => r.subject)).toEqual([
      'ClusterRoleBinding pwn',
      'ConfigMap kube-system/evil',
      'MutatingWebhookConfiguration hook',
      'Namespace other'
    ])
    const error = new PolicyError(refusals)
    expect(error.name).toBe('PolicyError')
    expect(error.message.split('\n')).toEqual([
      'the apply policy refused 4 item(s); nothing was committed or applied:',
      ...refusals.map(refusalLine)
    ])
  })

  it('a refusal without a source names none', () => {
    expect(refusalLine({ subject: 'apps/web/kustomization.yaml', reasons: ['a', 'b'], allowWith: [] })).toBe(
      'apps/web/kustomization.yaml: a; b'
    )
  })

  it.each([
    ['kube-*', 'kube-system', true],
    ['kube-*', 'kubesystem', false],
    ['*', 'anything', true],
    ['a.b', 'axb', false],
    ['web', 'WEB', true]
  ])('glob %s on %s: %s', (pattern, value, expected) => {
    expect(globMatch(pattern, value)).toBe(expected)
  })

  it.each([
    ['Deployment', 'apps', 'Deployment', true],
    ['apps/Deployment', 'apps', 'Deployment', true],
    ['apps/Deployment', '', 'Deployment', false],
    ['core/Secret', '', 'Secret', true],
    ['/Secret', '', 'Secret', true],
    ['*.k8s.io/*', 'rbac.authorization.k8s.io', 'ClusterRole', true],
    ['*.k8s.io/*', 'apps', 'Deployment', false]
  ])('kind pattern %s on %s/%s: %s', (pattern, group, kind, expected) => {
    expect(kindMatches(pattern, group, kind)).toBe(expected)
  })
})

describe('apply policy: kustomize references', () => {
  const files = (kustomization: string, more: Array<[string, string]> = []) => [
    { path: 'apps/web/kustomization.yaml', content: kustomization },
    { path: 'apps/web/deploy.yaml', content: 'kind: Deployment' },
    { path: 'apps/base/kustomization.yaml', content: 'resources: [svc.yaml]' },
    { path: 'apps/base/svc.yaml', content: 'kind: Service' },
    ...more.map(([path, content]) => ({ path, content }))
  ]
  it.each<[string, string, boolean, RegExp | undefined]>([
    ['local resources', 'resources: [deploy.yaml, ../base]', false, undefined],
    [
      'a resource leaving the repo',
      'resources: [../../../etc]',
      false,
      /resources "..\/..\/..\/etc" leaves the env repository$/
    ],
    ['an absolute resource', 'resources: [/etc/passwd]', false, /"\/etc\/passwd" leaves the env repository/],
    ['a base leaving the repo', 'bases: [../../../../home/runner/.ssh]', false, /bases .* leaves the env repository/],
    ['a component leaving the repo', 'components: [../../../x]', false, /components .* leaves/],
    ['a patch file leaving the repo', 'patches: [{path: ../../../p.yaml}]', false, /patches .* leaves/],
    [
      'a generator file leaving the repo',
      'configMapGenerator: [{name: c, files: [k=../../../../etc/shadow]}]',
      false,
      /configMapGenerator "..\/..\/..\/..\/etc\/shadow" leaves/
    ],
    [
      'a secret generator env file leaving the repo',
      'secretGenerator: [{name: s, envs: [../../../.env]}]',
      false,
      /secretGenerator .* leaves/
    ],
    [
      'a remote base',
      'resources: [https://github.com/evil/k8s//base?ref=v1]',
      false,
      /resources "https:\/\/github.com\/evil\/k8s\/\/base\?ref=v1" is remote; allow with kustomize-remote: true \(remote ones\)$/
    ],
    ['a remote base, allowed', 'resources: [https://github.com/evil/k8s//base?ref=v1]', true, undefined],
    ['a host-like remote', 'resources: [github.com/evil/k8s/base]', false, /is remote/],
    ['a git@ remote', 'resources: ["git@github.com:evil/k8s.git"]', false, /is remote/],
    ['a file: URL, even with kustomize-remote', 'resources: ["file:///etc"]', true, /reads the runner's disk$/],
    [
      'a file: URL is not remote: kustomize-remote would not allow it',
      'resources: ["FILE:///etc"]',
      false,
      /^apps\/web\/kustomization.yaml: resources "FILE:\/\/\/etc" reads the runner's disk$/
    ],
    ['a local path containing "file:"', 'resources: ["cfg/file:x.yaml"]', false, undefined],
    ['a local path containing a colon', 'resources: ["cfg/a:b.yaml"]', false, undefined],
    ['a host with several dots', 'resources: [gitlab.example.com/evil/k8s]', false, /is remote/],
    ['a host given by address and port', 'resources: [10.0.0.1:8080/evil/k8s]', false, /is remote/],
    ['a directory with a dot and an underscore', 'resources: [cfg.d_x/extra]', false, undefined],
    ['a directory starting with an underscore', 'resources: [my_cfg.d/extra]', false, undefined],
    [
      'exactly the parent of the repo',
      'resources: [../../..]',
      false,
      /resources "..\/..\/.." leaves the env repository$/
    ],
    ['an empty entry (the directory itself)', 'resources: [""]', false, undefined],
    ['a string patch entry leaving the repo', 'patches: [../../../p.yaml]', false, /patches .* leaves/],
    ['an empty patch entry', 'patches: [~, {path: ../../../p.yaml}]', false, /patches .* leaves/],
    [
      'a JSON 6902 patch leaving the repo',
      'patchesJson6902: [{target: {kind: Deployment, name: web}, path: ../../../p.yaml}]',
      false,
      /patchesJson6902 .* leaves/
    ],
    ['a replacement file leaving the repo', 'replacements: [{path: ../../../r.yaml}]', false, /replacements .* leaves/],
    [
      'a generator env file (older field) leaving the repo',
      'configMapGenerator: [{name: c, env: ../../../.env}]',
      false,
      /configMapGenerator "..\/..\/..\/.env" leaves/
    ],
    ['an empty openapi field', 'openapi: ~\nresources: [../../../x]', false, /^[^;]*resources [^;]*leaves[^;]*$/],
    ['an empty kustomization', '', false, undefined],
    ['a null kustomization', '~', false, undefined],
    ['a broken kustomization (kustomize reports it)', 'resources: *undefined', false, undefined],
    ['a remote component', 'components: [ssh://git@example.com/c.git]', false, /components .* is remote/],
    ['a transformer leaving the repo', 'transformers: [../../../t.yaml]', false, /transformers .* leaves/],
    ['an openapi file leaving the repo', 'openapi: {path: ../../../schema.json}', false, /openapi .* leaves/],
    // kustomize folds the case of field names (render-kustomize.test.ts shows the real binary doing it)
    ['RESOURCES in capitals', 'RESOURCES: [../../../etc]', false, /^[^;]*: resources "..\/..\/..\/etc" leaves/],
    ['resources spelt with a long s', 'reſources: [../../../etc]', false, /resources .* leaves/],
    ['both spellings: each is checked', 'resources: [deploy.yaml]\nResources: [../../../etc]', false, /leaves/],
    [
      "patchesJSON6902 (kustomize's own example) with a PATH",
      'patchesJSON6902: [{target: {kind: Deployment, name: web}, PATH: ../../../p.yaml}]',
      false,
      /patchesJson6902 .* leaves/
    ],
    [
      'generator FILES in capitals',
      'ConfigMapGenerator: [{name: c, FILES: [../../../x]}]',
      false,
      /configMapGenerator .* leaves/
    ],
    ['OPENAPI in capitals', 'OPENAPI: {path: ../../../schema.json}', false, /openapi .* leaves/],
    ['a field name that only looks alike', 'resourcez: [../../../etc]', false, undefined],
    [
      'a generator file that is no string, beside one leaving the repo',
      'configMapGenerator: [{name: c, files: [5, {k: v}, k=../../../x]}]',
      false,
      /^[^;]*: configMapGenerator "..\/..\/..\/x" leaves[^;]*$/
    ],
    // kustomize itself refuses to decode these: the policy reads nothing from them
    ['a field that is no list', 'resources: ../../../etc', false, undefined],
    ['a kustomization that is a list', '- ../../../etc', false, undefined],
    ['a kustomization that is a string', '../../../etc', false, undefined]
  ])('%s', (_name, kustomization, remote, expected) => {
    const refusals = kustomizeRefusals(files(kustomization), remote, isKustomizationFile)
    if (expected === undefined) expect(refusals).toEqual([])
    else {
      expect(refusals).toHaveLength(1)
      expect(refusals[0].subject).toBe('apps/web/kustomization.yaml')
      expect(refusalLine(refusals[0])).toMatch(expected)
    }
  })

  it.each(['cfg.d/extra', 'cfg.d/extra/', 'cfg.d/'])(
    'a dotted local directory present in the repo is not remote: %s',
    entry => {
      const refusals = kustomizeRefusals(
        files(`resources: ["${entry}"]`, [['apps/web/cfg.d/extra/cm.yaml', 'kind: ConfigMap']]),
        false,
        isKustomizationFile
      )
      expect(refusals).toEqual([])
    }
  )

  it('reads only kustomization files', () => {
    const refusals = kustomizeRefusals(
      files('resources: [deploy.yaml]', [['apps/web/data.yaml', 'resources: [../../../etc]']]),
      false,
      isKustomizationFile
    )
    expect(refusals).toEqual([])
  })
})

describe('the kustomize rule, checked once per set of files', () => {
  const remoteBase = [{ path: 'apps/web/kustomization.yaml', content: 'resources: [github.com/acme/base]' }]

  it('policyRender reports the refusals with the rendering and never renders the refused set', async () => {
    const rendered: string[] = []
    const render = policyRender({ kustomizeRemote: false }, async files => {
      rendered.push(...files.map(f => f.path))
      return { manifests: [], problems: [] }
    })
    const rendering = await render(remoteBase)
    expect(rendered).toEqual([])
    expect(rendering.refusals?.map(r => r.subject)).toEqual(['apps/web/kustomization.yaml'])
    expect(rendering.problems).toEqual([
      expect.stringMatching(/^apps\/web\/kustomization.yaml: resources .* is remote/)
    ])
  })

  it('the applier refuses what its rendering refused, without checking the files again', async () => {
    const refusal = { subject: 'apps/web/kustomization.yaml', reasons: ['resources "x" is remote'], allowWith: [] }
    const rendering: Rendering = {
      manifests: [],
      problems: ['apps/web/kustomization.yaml: refused'],
      refusals: [refusal]
    }
    // Neither the apiserver nor discovery is reached: the refusal stops the set first.
    const applier = new Applier({} as never, {} as never, {
      fieldManager: 'test',
      defaultNamespace: 'web',
      log: () => {},
      render: async () => rendering
    })
    const error = await applier.prepare([{ path: 'apps/web/cm.yaml', content: '' }], {}).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(PolicyError)
    expect((error as PolicyError).refusals).toEqual([refusal])
  })
})
