// Image locations in the override carriers (kustomize `images:`, Flux `Kustomization.spec.images`,
// Argo CD `Application` `kustomize.images`) and in a kustomization's inline patches. Each test
// asserts the whole result; expected offsets are found in the source text by hand, not by a parser.
import { describe, expect, it } from '@jest/globals'
import {
  locateImages,
  type HelmLocation,
  type ImageLocation,
  type KustomizeLocation,
  type LocatedImages,
  type MapSpot,
  type PartLocation,
  type ReferenceLocation
} from '../../src/gitops/locate.js'
import { type ScalarSpot } from '../../src/gitops/scalar.js'
import { parseImageRepository } from '../../src/image/reference.js'

const API = parseImageRepository('team/api')

interface SpotOptions extends Partial<ScalarSpot> {
  /** Offset to search from. */
  from?: number
}

/** The scalar written as `text` at its first occurrence from `from`, as locate reports it. */
function spot(source: string, text: string, { from = 0, ...more }: SpotOptions = {}): ScalarSpot {
  const start = source.indexOf(text, from)
  if (start < 0) throw new Error(`${JSON.stringify(text)} is not in the source after ${from}`)
  return { start, end: start + text.length, value: text, style: 'PLAIN', flow: false, typed: false, ...more }
}

/** 1-based line of an offset. */
function lineOf(source: string, offset: number): number {
  return source.slice(0, offset).split('\n').length
}

/** A scalar value written as `text`; `null` for a key without one, or with the collection `more.collection`. */
type PairText = [key: string, text: string | null, more?: SpotOptions & { collection?: string }]

/** A mapping whose keys and values are found in file order from `from`. */
function mapping(source: string, from: number, keyColumn: number, pairs: PairText[], flow = false): MapSpot {
  let at = from
  return {
    flow,
    keyColumn,
    pairs: pairs.map(([key, text, { collection, ...more } = {}]) => {
      const keyStart = source.indexOf(key, at)
      if (keyStart < 0) throw new Error(`key ${key} is not in the source after ${at}`)
      at = keyStart + key.length
      if (collection !== undefined) at = source.indexOf(collection, at) + collection.length
      if (text === null) return { key, keyStart, value: undefined, valueEnd: at }
      const value = spot(source, text, { from: at, flow, ...more })
      at = value.end
      return { key, keyStart, value, valueEnd: value.end }
    })
  }
}

function kustomize(source: string, key: string, repository: string, entry: MapSpot): KustomizeLocation {
  return { kind: 'kustomize', key, line: lineOf(source, entry.pairs[0].keyStart), repository, entry }
}

function reference(source: string, key: string, scalar: ScalarSpot, prefix = ''): ReferenceLocation {
  return { kind: 'reference', key, line: lineOf(source, scalar.start), scalar, prefix }
}

function located(locations: ImageLocation[], repositories: string[], warnings: string[] = []): LocatedImages {
  return { locations, repositories, mentions: [], warnings }
}

describe('locateImages: kustomize images entries', () => {
  // kubernetes-sigs/kustomize site/content/en/api-reference/kustomization/images/_index.md
  const KUSTOMIZE_DOCS = `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization

images:
- name: postgres
  newName: my-registry/my-postgres
  newTag: v1
- name: nginx
  newTag: 1.8.0
- name: my-demo-app
  newName: my-app
- name: alpine
  digest: sha256:24a0c4b4a4c0eb97a1aabb8e29f18e917d05abfe1b7a7c07857230879ce7d3d3
`
  const NAMED = [
    'docker.io/library/alpine',
    'docker.io/library/my-app',
    'docker.io/library/my-demo-app',
    'docker.io/library/nginx',
    'docker.io/library/postgres',
    'docker.io/my-registry/my-postgres'
  ]
  const s = KUSTOMIZE_DOCS

  it('finds the entry that renames to the repository (newName), which it deploys', () => {
    const entry = mapping(s, s.indexOf('- name: postgres'), 2, [
      ['name', 'postgres'],
      ['newName', 'my-registry/my-postgres'],
      ['newTag', 'v1']
    ])
    expect(locateImages(s, 'kustomization.yaml', parseImageRepository('my-registry/my-postgres'))).toEqual(
      located([kustomize(s, '0:images/0', 'my-registry/my-postgres', entry)], NAMED)
    )
  })

  it('finds the entry naming the repository, which deploys newName when set', () => {
    const entry = mapping(s, s.indexOf('- name: my-demo-app'), 2, [
      ['name', 'my-demo-app'],
      ['newName', 'my-app']
    ])
    expect(locateImages(s, 'kustomization.yaml', parseImageRepository('my-demo-app'))).toEqual(
      located([kustomize(s, '0:images/2', 'my-app', entry)], NAMED)
    )
  })

  it('finds an entry with a digest and no tag, and a typed newTag (1.8.0 is a string, 1.10 is not)', () => {
    const alpine = mapping(s, s.indexOf('- name: alpine'), 2, [
      ['name', 'alpine'],
      ['digest', 'sha256:24a0c4b4a4c0eb97a1aabb8e29f18e917d05abfe1b7a7c07857230879ce7d3d3']
    ])
    expect(locateImages(s, 'kustomization.yaml', parseImageRepository('alpine'))).toEqual(
      located([kustomize(s, '0:images/3', 'alpine', alpine)], NAMED)
    )
    // a number, plain or tagged, reads as its source text
    const typed = 'images:\n  - name: team/api\n    newTag: 1.10\n  - name: team/api\n    newTag: !!float "1.10"\n'
    const plain = mapping(typed, 0, 4, [
      ['name', 'team/api'],
      ['newTag', '1.10', { typed: true }]
    ])
    const tagged = mapping(typed, typed.lastIndexOf('- name'), 4, [
      ['name', 'team/api'],
      ['newTag', '"1.10"', { typed: true, style: 'QUOTE_DOUBLE' }]
    ])
    expect(locateImages(typed, 'kustomization.yaml', API)).toEqual(
      located(
        [kustomize(typed, '0:images/0', 'team/api', plain), kustomize(typed, '0:images/1', 'team/api', tagged)],
        ['docker.io/team/api']
      )
    )
  })

  const entryOf = (s: string, from: string, pairs: PairText[], keyColumn = 4, flow = false): MapSpot =>
    mapping(s, s.indexOf(from), keyColumn, pairs, flow)
  const TAGGED: PairText[] = [
    ['name', 'team/api'],
    ['newTag', 'v1']
  ]

  it.each<[string, string, (s: string) => LocatedImages]>([
    [
      'a list item that is no mapping is passed over',
      'images:\n  - team/api\n  - name: team/api\n    newTag: v1\n',
      s => located([kustomize(s, '0:images/1', 'team/api', entryOf(s, '- name', TAGGED))], ['docker.io/team/api'])
    ],
    [
      'an entry without a name matches nothing, even with newName',
      'images:\n  - newName: team/api\n    newTag: v1\n',
      () => located([], [])
    ],
    [
      'an empty entry is passed over',
      'images:\n  - {}\n  - name: team/api\n    newTag: v1\n',
      s => located([kustomize(s, '0:images/1', 'team/api', entryOf(s, '- name', TAGGED))], ['docker.io/team/api'])
    ],
    [
      'name and newName are both noted (renamed away from the repository)',
      'images:\n  - name: team/api\n    newName: team/api-canary\n    newTag: v1\n',
      s =>
        located(
          [
            kustomize(
              s,
              '0:images/0',
              'team/api-canary',
              entryOf(s, '- name', [['name', 'team/api'], ['newName', 'team/api-canary'], TAGGED[1]])
            )
          ],
          ['docker.io/team/api', 'docker.io/team/api-canary']
        )
    ],
    [
      'another repository is noted only',
      'images:\n  - name: team/web\n    newTag: v1\n',
      () => located([], ['docker.io/team/web'])
    ],
    [
      'a flow entry, with a key without value',
      'images: [{name: team/api, newTag: v1, digest}]\n',
      s =>
        located(
          [kustomize(s, '0:images/0', 'team/api', entryOf(s, '{name', [...TAGGED, ['digest', null]], 10, true))],
          ['docker.io/team/api']
        )
    ],
    [
      'a key that is a collection is no field',
      'images:\n  - {[x]: y, name: team/api, newTag: v1}\n',
      s =>
        located([kustomize(s, '0:images/0', 'team/api', entryOf(s, 'name', TAGGED, 13, true))], ['docker.io/team/api'])
    ],
    [
      'an explicit key (`? k`) gives the column of its text',
      'images:\n  - ? a\n    : 1\n    name: team/api\n    newTag: v1\n',
      s =>
        located(
          [kustomize(s, '0:images/0', 'team/api', entryOf(s, '? a', [['a', '1', { typed: true }], ...TAGGED], 6))],
          ['docker.io/team/api']
        )
    ],
    [
      'an aliased newTag is the alias, written plain',
      'images:\n  - name: team/web\n    newTag: &v "v1"\n  - name: team/api\n    newTag: *v\n',
      s =>
        located(
          [
            kustomize(
              s,
              '0:images/1',
              'team/api',
              entryOf(s, '- name: team/api', [
                ['name', 'team/api'],
                ['newTag', '*v', { value: 'v1' }]
              ])
            )
          ],
          ['docker.io/team/api', 'docker.io/team/web']
        )
    ],
    [
      // (it sits right after the colon, where a value is added)
      'an empty newTag is null, not typed',
      'images:\n  - name: team/api\n    newTag:\n',
      s =>
        located(
          [
            kustomize(
              s,
              '0:images/0',
              'team/api',
              entryOf(s, '- name', [
                ['name', 'team/api'],
                ['newTag', '', { from: s.indexOf(':\n', 20) + 1 }]
              ])
            )
          ],
          ['docker.io/team/api']
        )
    ],
    [
      // kustomize reads its fields in any case (Go's encoding/json)
      'the images field in another case',
      'Images:\n  - name: team/api\n    newTag: v1\n',
      s => located([kustomize(s, '0:Images/0', 'team/api', entryOf(s, '- name', TAGGED))], ['docker.io/team/api'])
    ]
  ])('%s', (_, source, expected) => {
    expect(locateImages(source, 'kustomization.yaml', API)).toEqual(expected(source))
  })

  it('reads images only in a kustomization', () => {
    const source = 'images:\n  - name: team/api\n    newTag: v1\n'
    expect(locateImages(source, 'values.yaml', API)).toEqual(located([], []))
    expect(locateImages(source, 'overlays/prod/Kustomization', API).locations).toHaveLength(1)
  })
})

describe('locateImages: Flux Kustomization spec.images', () => {
  // fluxcd/kustomize-controller docs/spec/v1/kustomizations.md, "Images"
  const FLUX_DOCS = `apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: podinfo
  namespace: flux-system
spec:
  images:
  - name: podinfo
    newName: my-registry/podinfo
    newTag: v1
  - name: podinfo
    newTag: 1.8.0
  - name: podinfo
    newName: my-podinfo
  - name: podinfo
    digest: sha256:24a0c4b4a4c0eb97a1aabb8e29f18e917d05abfe1b7a7c07857230879ce7d3d3
`
  const REGISTRY_PODINFO = parseImageRepository('my-registry/podinfo')

  it('finds the entry in any file, keyed under spec/images', () => {
    const s = FLUX_DOCS
    const entry = mapping(s, s.indexOf('- name: podinfo'), 4, [
      ['name', 'podinfo'],
      ['newName', 'my-registry/podinfo'],
      ['newTag', 'v1']
    ])
    expect(locateImages(s, 'clusters/prod/podinfo.yaml', REGISTRY_PODINFO)).toEqual(
      located(
        [kustomize(s, '0:spec/images/0', 'my-registry/podinfo', entry)],
        ['docker.io/library/my-podinfo', 'docker.io/library/podinfo', 'docker.io/my-registry/podinfo']
      )
    )
  })

  it.each([
    ["kustomize's own kind", 'kustomize.config.k8s.io/v1beta1', 'Kustomization'],
    ['another kind of the Flux group', 'kustomize.toolkit.fluxcd.io/v1', 'HelmRelease'],
    ['no apiVersion', undefined, 'Kustomization']
  ])('leaves spec.images alone in %s', (_, apiVersion, kind) => {
    const source = FLUX_DOCS.replace(
      'apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\n',
      `${apiVersion === undefined ? '' : `apiVersion: ${apiVersion}\n`}kind: ${kind}\n`
    )
    expect(locateImages(source, 'podinfo.yaml', REGISTRY_PODINFO)).toEqual(located([], []))
  })
})

describe('locateImages: Argo CD Application kustomize.images', () => {
  // argoproj/argo-cd docs/operator-manual/application.yaml
  const ARGO_DOCS = `apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: guestbook
spec:
  source:
    repoURL: https://github.com/argoproj/argocd-example-apps.git
    path: kustomize-guestbook
    kustomize:
      images:
      - quay.io/argoprojlabs/argocd-e2e-container:0.2
      - my-app=gcr.io/my-repo/my-app:0.1
`
  const NAMED = ['gcr.io/my-repo/my-app', 'quay.io/argoprojlabs/argocd-e2e-container']

  it('finds an `alias=reference` entry, the alias as prefix', () => {
    const s = ARGO_DOCS
    const scalar = spot(s, 'my-app=gcr.io/my-repo/my-app:0.1')
    expect(locateImages(s, 'apps/guestbook.yaml', parseImageRepository('gcr.io/my-repo/my-app'))).toEqual(
      located([reference(s, '0:spec/source/kustomize/images/1', scalar, 'my-app=')], NAMED)
    )
  })

  it('finds a plain reference entry', () => {
    const s = ARGO_DOCS
    const scalar = spot(s, 'quay.io/argoprojlabs/argocd-e2e-container:0.2')
    const repository = parseImageRepository('quay.io/argoprojlabs/argocd-e2e-container')
    expect(locateImages(s, 'apps/guestbook.yaml', repository)).toEqual(
      located([reference(s, '0:spec/source/kustomize/images/0', scalar)], NAMED)
    )
  })

  it('finds entries of each of several sources, in flow lists too', () => {
    const s = `apiVersion: argoproj.io/v1alpha1
kind: Application
spec:
  sources:
  - repoURL: https://charts.example.com
    chart: api
  - repoURL: https://github.com/team/env.git
    kustomize:
      images: [team/web:2, "api=team/api:1"]
`
    const scalar = spot(s, '"api=team/api:1"', { value: 'api=team/api:1', style: 'QUOTE_DOUBLE', flow: true })
    expect(locateImages(s, 'app.yaml', API)).toEqual(
      located(
        [reference(s, '0:spec/sources/1/kustomize/images/1', scalar, 'api=')],
        ['docker.io/team/api', 'docker.io/team/web']
      )
    )
  })

  it('passes over entries that are no string', () => {
    const s = `apiVersion: argoproj.io/v1alpha1
kind: Application
spec:
  source:
    kustomize:
      images:
      - 1.10
      - {name: team/api, newTag: v1}
      - team/api:1
`
    expect(locateImages(s, 'app.yaml', API)).toEqual(
      located([reference(s, '0:spec/source/kustomize/images/2', spot(s, 'team/api:1'))], ['docker.io/team/api'])
    )
  })

  it('warns of an entry whose tag is a placeholder', () => {
    const s = ARGO_DOCS.replace('my-app=gcr.io/my-repo/my-app:0.1', 'my-app=team/api:${TAG}')
    expect(locateImages(s, 'app.yaml', API)).toEqual(
      located(
        [],
        ['quay.io/argoprojlabs/argocd-e2e-container'],
        ['app.yaml:12: team/api:${TAG} holds a ${…} placeholder: left alone']
      )
    )
  })

  it.each([
    // the Kubernetes SIG Apps Application has no source
    ['another group', 'app.k8s.io/v1beta1', 'Application'],
    ['another kind of the Argo group', 'argoproj.io/v1alpha1', 'AppProject'],
    ['no apiVersion', undefined, 'Application']
  ])('leaves kustomize.images alone in %s', (_, apiVersion, kind) => {
    const source = ARGO_DOCS.replace(
      'apiVersion: argoproj.io/v1alpha1\nkind: Application\n',
      `${apiVersion === undefined ? '' : `apiVersion: ${apiVersion}\n`}kind: ${kind}\n`
    )
    expect(locateImages(source, 'app.yaml', parseImageRepository('gcr.io/my-repo/my-app'))).toEqual(located([], []))
  })
})

describe('locateImages: Flux ImageRepository spec.image', () => {
  const source = (apiVersion: string | undefined, kind: string): string =>
    `${apiVersion === undefined ? '' : `apiVersion: ${apiVersion}\n`}kind: ${kind}\nspec:\n  image: team/api:1\n`

  it("is Flux's repository to scan, not an image to deploy", () => {
    expect(locateImages(source('image.toolkit.fluxcd.io/v1beta2', 'ImageRepository'), 'f.yaml', API)).toEqual(
      located([], [])
    )
  })

  it.each([
    ['another group', 'example.com/v1', 'ImageRepository'],
    ['another kind of the Flux group', 'image.toolkit.fluxcd.io/v1beta2', 'ImagePolicy'],
    ['no apiVersion', undefined, 'ImageRepository']
  ])('is an image in %s', (_, apiVersion, kind) => {
    const s = source(apiVersion, kind)
    expect(locateImages(s, 'f.yaml', API)).toEqual(
      located([reference(s, '0:spec/image', spot(s, 'team/api:1'))], ['docker.io/team/api'])
    )
  })
})

describe('locateImages: inline patches of a kustomization', () => {
  const NGINX = parseImageRepository('nginx')
  const CONTAINER = 'spec/template/spec/containers/0/image'
  // kubernetes-sigs/kustomize examples/inlinePatch.md: the three fields, each changing nginx to
  // nginx:latest (the strategic merge patch ends with a line of spaces; JSON6902 is spelt JSON)
  const SMP = `resources:
- ../base

patchesStrategicMerge:
- |-
  apiVersion: apps/v1
  kind: Deployment
  metadata:
    name: deploy
  spec:
    template:
      spec:
        containers:
        - name: nginx
          image: nginx:latest
          
`
  const JSON6902 = `resources:
- ../base

patchesJSON6902:
- target:
    group: apps
    version: v1
    kind: Deployment
    name: deploy
  patch: |-
    - op: replace
      path: /spec/template/spec/containers/0/image
      value: nginx:latest
`
  const PATCHES = `resources:
- ../base

patches:
- target:
    kind: Deployment
    name: deploy
  patch: |-
    apiVersion: apps/v1
    kind: Deployment
    metadata:
      name: deploy
    spec:
      template:
        spec:
          containers:
          - name: nginx
            image: nginx:latest
`
  const nginxAt = (s: string, key: string): LocatedImages =>
    located([reference(s, key, spot(s, 'nginx:latest'))], ['docker.io/library/nginx'])

  it.each<[string, string, string]>([
    ['patchesStrategicMerge', SMP, `0:patchesStrategicMerge/0|0:${CONTAINER}`],
    ['patchesJSON6902', JSON6902, '0:patchesJSON6902/0/patch|0:0/value'],
    ['patches', PATCHES, `0:patches/0/patch|0:${CONTAINER}`],
    // the file's lines may end in CRLF, the patch's in LF
    ['patches, CRLF', PATCHES.replace(/\n/g, '\r\n'), `0:patches/0/patch|0:${CONTAINER}`],
    [
      'patches with a blank line',
      PATCHES.replace('kind: Deployment\n    metadata', 'kind: Deployment\n\n    metadata'),
      `0:patches/0/patch|0:${CONTAINER}`
    ],
    // spaces on a blank line are no indentation (an editor's leftovers)
    [
      'patches with a blank line of fewer spaces',
      PATCHES.replace('kind: Deployment\n    metadata', 'kind: Deployment\n  \n    metadata'),
      `0:patches/0/patch|0:${CONTAINER}`
    ],
    // a lone carriage return breaks no line for the YAML parser: it is text
    [
      'patches with a carriage return inside a line',
      PATCHES.replace('kind: Deployment\n    metadata', 'kind: Deployment\n    # old\rnew\n    metadata'),
      `0:patches/0/patch|0:${CONTAINER}`
    ],
    // `|` at the end of a file without a line break: the text still ends in one
    [
      'patches at the end of the file',
      PATCHES.replace('patch: |-', 'patch: |').trimEnd(),
      `0:patches/0/patch|0:${CONTAINER}`
    ]
  ])('finds the image of an inline patch in %s, mapped into the file', (_, s, key) => {
    expect(locateImages(s, 'kustomization.yaml', NGINX)).toEqual(nginxAt(s, key))
  })

  it.each<[string, string]>([
    // `|1-` keeps one space of the file's indentation in each line of the text: not mapped
    ['an indentation indicator short of the indentation', PATCHES.replace('patch: |-', 'patch: |1-')],
    // only literal scalars are patches: not a folded one, even on one line (where it reads the same)
    [
      'a folded scalar',
      'patches:\n- target: {kind: Deployment}\n  patch: >-\n    [{"op": "replace", "path": "/spec/template/spec/containers/0/image", "value": "nginx:latest"}]\n'
    ],
    [
      'a quoted scalar',
      `patches:\n- patch: '{"spec": {"template": {"spec": {"containers": [{"name": "nginx", "image": "nginx:latest"}]}}}}'\n`
    ],
    // bytes, not text
    ['!!binary', `patches:\n- patch: !!binary |\n    ${Buffer.from('image: nginx:latest\n').toString('base64')}\n`],
    ['a patch file', 'patches:\n- path: nginx-latest.yaml\n  target: {kind: Deployment}\n'],
    ['a patch file of patchesStrategicMerge', 'patchesStrategicMerge:\n- nginx-latest.yaml\n'],
    ['a list item that is no mapping', 'patches:\n- nginx-latest.yaml\n']
  ])('leaves alone %s', (_, s) => {
    expect(locateImages(s, 'kustomization.yaml', NGINX)).toEqual(located([], []))
  })

  it('reads patches only in a kustomization', () => {
    expect(locateImages(PATCHES, 'overlay.yaml', NGINX)).toEqual(located([], []))
  })

  it('maps a Helm values entry of a patched HelmRelease, with its key column', () => {
    const s = `resources:
  - ../base
patches:
  - target:
      kind: HelmRelease
      name: api
    patch: |
      apiVersion: helm.toolkit.fluxcd.io/v2
      kind: HelmRelease
      metadata:
        name: api
      spec:
        values:
          image:
            registry: docker.io
            repository: team/api
            tag: "1.0"
            digest: ""
            pullPolicy: IfNotPresent
            pullSecrets: []
`
    const entry = mapping(s, s.indexOf('registry:'), 12, [
      ['registry', 'docker.io'],
      ['repository', 'team/api'],
      ['tag', '"1.0"', { value: '1.0', style: 'QUOTE_DOUBLE' }],
      ['digest', '""', { value: '', style: 'QUOTE_DOUBLE' }],
      ['pullPolicy', 'IfNotPresent'],
      ['pullSecrets', null, { collection: '[]' }]
    ])
    const helm: HelmLocation = {
      kind: 'helm',
      key: '0:patches/0/patch|0:spec/values/image',
      line: lineOf(s, s.indexOf('tag:')),
      repository: 'docker.io/team/api',
      repositoryKey: 'repository',
      tagKey: 'tag',
      entry
    }
    expect(locateImages(s, 'kustomization.yaml', API)).toEqual(located([helm], ['docker.io/team/api']))
  })

  it('maps a Flux Kustomization images entry of a patch, on the line of its first key', () => {
    const s = `patches:
  - patch: |
      apiVersion: kustomize.toolkit.fluxcd.io/v1
      kind: Kustomization
      metadata:
        name: apps
      spec:
        images:
          - name: team/api
            newTag: v1
`
    const entry = mapping(s, s.indexOf('- name'), 12, [
      ['name', 'team/api'],
      ['newTag', 'v1']
    ])
    expect(locateImages(s, 'kustomization.yaml', API)).toEqual(
      located([kustomize(s, '0:patches/0/patch|0:spec/images/0', 'team/api', entry)], ['docker.io/team/api'])
    )
  })

  it('maps tag and digest markers of a patch', () => {
    const s = `patches:
  - patch: |
      apiVersion: v1
      kind: ConfigMap
      metadata:
        name: api-version
      data:
        API_TAG: "1.0" # gitops-push-deploy: tag team/api
        API_DIGEST: '' # gitops-push-deploy: digest team/api
`
    const tag = spot(s, '"1.0"', { value: '1.0', style: 'QUOTE_DOUBLE' })
    const digest = spot(s, "''", { value: '', style: 'QUOTE_SINGLE' })
    const parts: PartLocation[] = [
      { kind: 'tag', key: '0:patches/0/patch|0:data/API_TAG', line: lineOf(s, tag.start), scalar: tag },
      { kind: 'digest', key: '0:patches/0/patch|0:data/API_DIGEST', line: lineOf(s, digest.start), scalar: digest }
    ]
    expect(locateImages(s, 'kustomization.yaml', API)).toEqual(located(parts, ['docker.io/team/api']))
  })

  it("notes a patch's other repositories and passes on its warnings", () => {
    const s = `patches:
  - patch: |
      apiVersion: apps/v1
      kind: Deployment
      metadata:
        name: api
      spec:
        template:
          spec:
            containers:
              - name: api
                image: team/api:\${TAG}
              - name: proxy
                image: envoyproxy/envoy:v1.30.1
`
    expect(locateImages(s, 'kustomization.yaml', API)).toEqual(
      located(
        [],
        ['docker.io/envoyproxy/envoy'],
        ['kustomization.yaml (patches/0/patch):10: team/api:${TAG} holds a ${…} placeholder: left alone']
      )
    )
  })
})
