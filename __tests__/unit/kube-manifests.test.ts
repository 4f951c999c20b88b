import { describe, expect, it } from '@jest/globals'
import {
  kustomizePlan,
  kustomizeRenderer,
  ManifestError,
  parseManifest,
  readManifests,
  renderFiles,
  renderOnce
} from '../../src/render/manifests.js'

describe('parseManifest', () => {
  it('reads every document, skips empty ones and expands Lists', () => {
    const text = [
      '---',
      'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}',
      '---\n# only a comment',
      '---',
      'apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Secret, metadata: {name: b}}\n- {apiVersion: v1, kind: Service, metadata: {name: c}}'
    ].join('\n')
    const { manifests, problems } = parseManifest('app.yaml', text)
    expect(problems).toEqual([])
    expect(manifests.map(m => `${m.object.kind}/${m.object.metadata.name}`)).toEqual([
      'ConfigMap/a',
      'Secret/b',
      'Service/c'
    ])
    expect(manifests[0].source).toBe('app.yaml (document 1)')
    expect(manifests[2].source).toBe('app.yaml (document 3) item 2')
  })

  it('reads values the way kubectl does (YAML 1.1 octal and booleans; timestamps and 12:30 stay strings)', () => {
    const text = `apiVersion: v1
kind: ConfigMap
metadata:
  name: x
  annotations: {when: 2024-01-02, at: 12:30}
spec: {mode: 0644, enabled: yes, plain: "0644"}`
    const { manifests } = parseManifest('x.yaml', text)
    expect(manifests[0].object.metadata.annotations).toEqual({ when: '2024-01-02', at: '12:30' })
    expect(manifests[0].object.spec).toEqual({ mode: 420, enabled: true, plain: '0644' })
  })

  it('reads JSON', () => {
    const { manifests } = parseManifest('x.json', '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"n"}}')
    expect(manifests[0].object).toEqual({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'n' } })
  })

  it.each([
    ['kind: ConfigMap\nmetadata: {name: a}', 'x.yaml (document 1): has no apiVersion'],
    ['apiVersion: v1\nmetadata: {name: a}', 'x.yaml (document 1): has no kind'],
    [
      'apiVersion: v1\nkind: Pod\nmetadata: {generateName: a-}',
      'x.yaml (document 1): Pod has no metadata.name (generateName cannot be applied)'
    ],
    ['- a\n- b', 'x.yaml (document 1): is not a Kubernetes object (a mapping)'],
    ['apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, name: b}', 'x.yaml (document 1): Map keys must be unique'],
    ['apiVersion: v1\nkind: [', 'x.yaml (document 1): ']
  ])('reports %j', (text, problem) => {
    const { manifests, problems } = parseManifest('x.yaml', text)
    expect(manifests).toEqual([])
    expect(problems).toHaveLength(1)
    expect(problems[0].startsWith(problem)).toBe(true)
  })
})

describe('kustomizePlan', () => {
  const file = (path: string, content = ''): { path: string; content: string } => ({ path, content })

  it('builds overlays, not the bases they name, and leaves their files to kustomize', () => {
    const files = [
      file('app/base/kustomization.yaml', 'resources: [deploy.yaml]'),
      file('app/base/deploy.yaml'),
      file('app/overlays/prod/kustomization.yaml', 'resources: [../../base/, ../../extra.yaml]'),
      file('app/overlays/prod/patch.yaml'),
      file('app/extra.yaml'),
      file('other/plain.yaml')
    ]
    const { roots, owned } = kustomizePlan(files)
    expect(roots).toEqual(['app/overlays/prod'])
    expect([...owned].sort()).toEqual([
      'app/base/deploy.yaml',
      'app/base/kustomization.yaml',
      'app/extra.yaml',
      'app/overlays/prod/kustomization.yaml',
      'app/overlays/prod/patch.yaml'
    ])
  })

  it('reads the fields that name a base in any case, as kustomize does', () => {
    const files = [
      file('base/kustomization.yaml', 'resources: [deploy.yaml]'),
      file('base/deploy.yaml'),
      file('prod/kustomization.yaml', 'RESOURCES: [../base]'),
      file('component/kustomization.yaml'),
      file('staging/kustomization.yaml', 'Components: [../component]\nbaſes: [../base]')
    ]
    expect(kustomizePlan(files).roots).toEqual(['prod', 'staging'])
  })

  it('has no roots without a kustomization', () => {
    expect(kustomizePlan([file('a.yaml'), file('b/c.yml')])).toEqual({ roots: [], owned: new Set() })
  })
})

describe('readManifests', () => {
  const configMap = (name: string): string => `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ${name}}\n`

  it('parses plain files, skips non-manifests and renders kustomizations from a copy of the files', async () => {
    const seen: string[] = []
    const manifests = await readManifests(
      [
        { path: 'README.md', content: '# not yaml: ---' },
        { path: 'plain.yaml', content: configMap('plain') },
        { path: 'k/kustomization.yaml', content: 'resources: [cm.yaml]' },
        { path: 'k/cm.yaml', content: configMap('from-kustomize') }
      ],
      files =>
        renderFiles(files, [
          kustomizeRenderer(async (workdir, root) => {
            const { readFileSync } = await import('node:fs')
            seen.push(root, readFileSync(`${workdir}/k/cm.yaml`, 'utf8'))
            return configMap('rendered')
          })
        ])
    )
    expect(seen).toEqual(['k', configMap('from-kustomize')])
    expect(manifests.map(m => [m.object.metadata.name, m.source])).toEqual([
      ['plain', 'plain.yaml (document 1)'],
      ['rendered', 'kustomize build k (document 1)']
    ])
  })

  it('collects every problem before failing', async () => {
    const error = await readManifests([
      { path: 'a.yaml', content: 'kind: X' },
      { path: 'b.yaml', content: 'apiVersion: v1\nkind: Thing\nmetadata: {}' }
    ]).catch(e => e as ManifestError)
    expect(error).toBeInstanceOf(ManifestError)
    expect((error as ManifestError).problems).toEqual([
      'a.yaml (document 1): has no apiVersion',
      'b.yaml (document 1): Thing has no metadata.name (generateName cannot be applied)'
    ])
  })

  it('says so when neither kustomize nor kubectl is on PATH', async () => {
    const path = process.env.PATH
    process.env.PATH = '/nonexistent'
    try {
      await expect(readManifests([{ path: 'kustomization.yaml', content: 'resources: []' }])).rejects.toThrow(
        'kustomize build .: neither kustomize nor kubectl is on PATH; install one of them to deploy a kustomization'
      )
    } finally {
      process.env.PATH = path
    }
  })

  it('renders each distinct set of files once per renderOnce', async () => {
    let builds = 0
    const render = renderOnce(files => {
      builds++
      return renderFiles(files)
    })
    const files = [{ path: 'a.yaml', content: configMap('a') }]
    const [first, second] = await Promise.all([render(files), render([{ ...files[0] }])])
    expect(second).toBe(first)
    await render([{ path: 'a.yaml', content: configMap('b') }])
    expect(builds).toBe(2)
  })
})
