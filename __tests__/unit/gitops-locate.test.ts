// locateImages on whole files, asserting whole results: a wrong key, line, offset, flow flag,
// warning text or repository list fails a case. Offsets are found by searching the expected
// text in the source, not by asking the parser.
import { describe, expect, it } from '@jest/globals'
import { parseImageRepository } from '../../src/image/reference.js'
import {
  locateImages,
  mayName,
  splitAlias,
  tryParseReference,
  type ImageLocation,
  type LocatedImages,
  type MapSpot,
  type PairSpot
} from '../../src/gitops/locate.js'
import { type ScalarSpot } from '../../src/gitops/scalar.js'

const API = parseImageRepository('registry.local/team/api')
const DIGEST = `sha256:${'a'.repeat(64)}`

interface SpotOptions {
  /** Which occurrence of the text (0 = first). */
  nth?: number
  /** Search from this offset. */
  from?: number
  flow?: boolean
  typed?: boolean
}

function offsetOf(source: string, text: string, { nth = 0, from = 0 }: SpotOptions = {}): number {
  let at = source.indexOf(text, from)
  for (let i = 0; i < nth; i++) at = source.indexOf(text, at + 1)
  if (at < 0) throw new Error(`${JSON.stringify(text)} not in source`)
  return at
}

/** The spot of a scalar written as `raw` in the source (quotes included for quoted styles). */
function spot(source: string, raw: string, options: SpotOptions = {}): ScalarSpot {
  const start = offsetOf(source, raw, options)
  const quoted = raw.startsWith('"') ? 'QUOTE_DOUBLE' : raw.startsWith("'") ? 'QUOTE_SINGLE' : 'PLAIN'
  return {
    start,
    end: start + raw.length,
    value: quoted === 'PLAIN' ? raw : raw.slice(1, -1),
    style: quoted,
    flow: options.flow ?? false,
    typed: options.typed ?? false
  }
}

/** A block mapping written as `key: value` lines from `from` on; each value is given as written. */
function blockEntry(source: string, from: number, pairs: Array<[string, string]>): MapSpot {
  const spots: PairSpot[] = []
  let at = from
  for (const [key, raw] of pairs) {
    const keyStart = offsetOf(source, `${key}:`, { from: at })
    const value = spot(source, raw, { from: keyStart + key.length + 1 })
    spots.push({ key, keyStart, value, valueEnd: value.end })
    at = value.end
  }
  const first = spots[0].keyStart
  return { flow: false, keyColumn: first - (source.lastIndexOf('\n', first - 1) + 1), pairs: spots }
}

function reference(source: string, key: string, line: number, raw: string, options: SpotOptions = {}): ImageLocation {
  return { kind: 'reference', key, line, scalar: spot(source, raw, options), prefix: '' }
}

function result(locations: ImageLocation[], repositories: string[], warnings: string[] = []): LocatedImages {
  return { locations, repositories, mentions: [], warnings }
}

describe('mayName', () => {
  it.each<[string, string, boolean]>([
    // the last path component is enough: a Helm `repository: api` under `registry: …`
    ['repository: api', 'registry.local/team/api', true],
    ['image: registry.local/team/web:1', 'registry.local/team/api', false],
    ['tag: v1 # gitops-push-deploy: tag', 'registry.local/team/api', true],
    ['image: nginx', 'nginx', true]
  ])('%j may name %s: %s', (source, repository, may) => {
    expect(mayName(source, parseImageRepository(repository))).toBe(may)
  })
})

describe('splitAlias', () => {
  it.each<[string, string, string]>([
    ['api=registry.local/team/api:1.0', 'api=', 'registry.local/team/api:1.0'],
    ['registry.local/team/api:1.0', '', 'registry.local/team/api:1.0'],
    ['=registry.local/team/api:1.0', '=', 'registry.local/team/api:1.0']
  ])('%j → %j + %j', (text, prefix, ref) => {
    expect(splitAlias(text)).toEqual({ prefix, reference: ref })
  })
})

describe('tryParseReference', () => {
  it('parses a reference and answers undefined for a template', () => {
    expect(tryParseReference('registry.local/team/api:1.0')).toEqual({
      domain: 'registry.local',
      path: 'team/api',
      tag: '1.0',
      digest: undefined
    })
    expect(tryParseReference('{{ .Values.image }}')).toBeUndefined()
  })
})

describe('locateImages: references', () => {
  it('finds the container of the repository among others, with every repository named', () => {
    const source = [
      'apiVersion: apps/v1',
      'kind: Deployment',
      'spec:',
      '  template:',
      '    spec:',
      '      initContainers:',
      '        - name: migrate',
      '          image: registry.local/team/api:1.0',
      '      containers:',
      '        - name: api',
      '          image: "registry.local/team/api:1.0"',
      '        - name: sidecar',
      '          image: busybox:1.36',
      ''
    ].join('\n')
    expect(locateImages(source, 'deploy.yaml', API)).toEqual(
      result(
        [
          reference(source, '0:spec/template/spec/initContainers/0/image', 8, 'registry.local/team/api:1.0'),
          reference(source, '0:spec/template/spec/containers/0/image', 11, '"registry.local/team/api:1.0"')
        ],
        // sorted, not in file order
        ['docker.io/library/busybox', 'registry.local/team/api']
      )
    )
  })

  it('marks scalars of flow collections as such, at any depth', () => {
    const source = [
      'spec:',
      '  containers: [{name: api, image: registry.local/team/api:1.0}]',
      '  sidecar: {image: registry.local/team/api:1.0}',
      ''
    ].join('\n')
    expect(locateImages(source, 'pod.yaml', API)).toEqual(
      result(
        [
          reference(source, '0:spec/containers/0/image', 2, 'registry.local/team/api:1.0', { flow: true }),
          reference(source, '0:spec/sidecar/image', 3, 'registry.local/team/api:1.0', { flow: true, nth: 1 })
        ],
        ['registry.local/team/api']
      )
    )
  })

  it('keys each document by its index', () => {
    const source = ['image: registry.local/team/web:1', '---', 'image: registry.local/team/api:1', ''].join('\n')
    expect(locateImages(source, 'two.yaml', API)).toEqual(
      result(
        [reference(source, '1:image', 3, 'registry.local/team/api:1')],
        ['registry.local/team/api', 'registry.local/team/web']
      )
    )
  })

  it('edits an aliased image where it is anchored', () => {
    const source = ['base: &img registry.local/team/api:1.0', 'spec:', '  containers:', '    - image: *img', ''].join(
      '\n'
    )
    expect(locateImages(source, 'deploy.yaml', API)).toEqual(
      result(
        [reference(source, '0:spec/containers/0/image', 1, 'registry.local/team/api:1.0')],
        ['registry.local/team/api']
      )
    )
  })

  it('reads no number as a reference, even one whose digits name a repository', () => {
    const source = 'image: 10\n'
    expect(locateImages(source, 'values.yaml', parseImageRepository('10'))).toEqual(result([], []))
  })

  it('leaves the value of a complex key alone', () => {
    const source = ['? [a, b]', ': registry.local/team/api:1.0 # gitops-push-deploy: image', ''].join('\n')
    expect(locateImages(source, 'odd.yaml', API)).toEqual(result([], []))
  })

  it('skips a file that is not YAML, naming the parser error and the lines mentioning the repository', () => {
    const source = [
      'spec:',
      '  containers:',
      '    - image: registry.local/team/api:{{ .Values.tag }}',
      '{{- if .Values.extra }}',
      ''
    ].join('\n')
    const located = locateImages(source, 'templates/deploy.yaml', API)
    expect(located).toEqual({
      locations: [],
      repositories: [],
      skipped: `not YAML: ${located.skipped?.slice('not YAML: '.length)}`,
      mentions: [3],
      warnings: []
    })
    // the first line of the parser's message only
    expect(located.skipped).toMatch(/^not YAML: \S.*[^\n]$/)
  })
})

describe('locateImages: JSON 6902 operations', () => {
  // Layout of kustomize's JSON 6902 patch files (kubernetes-sigs/kustomize, examples/jsonpatch.md):
  // a list of operations at the root.
  it('takes the value of replace and add operations on an image path only', () => {
    const source = [
      '- op: replace',
      '  path: /spec/template/spec/containers/0/image',
      '  value: registry.local/team/api:1.0',
      '- op: add',
      '  path: /spec/template/spec/initContainers/0/image',
      '  value: registry.local/team/api:1.0',
      // a test operation compares; rewriting it would make the patch fail
      '- op: test',
      '  path: /spec/template/spec/containers/0/image',
      '  value: registry.local/team/api:0.9',
      '- op: replace',
      '  path: /metadata/annotations/previous',
      '  value: registry.local/team/api:0.9',
      '- op: replace',
      '  value: registry.local/team/api:0.9',
      ''
    ].join('\n')
    expect(locateImages(source, 'patch.yaml', API)).toEqual(
      result(
        [
          reference(source, '0:0/value', 3, 'registry.local/team/api:1.0'),
          reference(source, '0:1/value', 6, 'registry.local/team/api:1.0', { nth: 1 })
        ],
        ['registry.local/team/api']
      )
    )
  })

  it('leaves an environment variable holding a reference alone', () => {
    const source = [
      'env:',
      '  - name: UPSTREAM_IMAGE',
      '    value: registry.local/team/api:1.0',
      '  - {name: OTHER, value: registry.local/team/api:1.0}',
      ''
    ].join('\n')
    expect(locateImages(source, 'deploy.yaml', API)).toEqual(result([], []))
  })
})

describe('locateImages: Flux ImageRepository', () => {
  // Layout of Flux's image-reflector ImageRepository (fluxcd.io docs, "Image Repositories").
  const flux = (image: string, apiVersion = 'image.toolkit.fluxcd.io/v1beta2'): string =>
    [
      `apiVersion: ${apiVersion}`,
      'kind: ImageRepository',
      'metadata:',
      '  name: api',
      '  annotations:',
      '    image: registry.local/team/api:0.9',
      'spec:',
      `  image: ${image}`,
      '  interval: 5m',
      ''
    ].join('\n')

  it('never takes spec.image, a repository to scan, but takes an image elsewhere', () => {
    const source = flux('registry.local/team/api:1.0')
    expect(locateImages(source, 'flux.yaml', API)).toEqual(
      result(
        [reference(source, '0:metadata/annotations/image', 6, 'registry.local/team/api:0.9')],
        ['registry.local/team/api']
      )
    )
  })

  it.each(['example.com/v1', '1'])('takes spec.image of an ImageRepository of apiVersion %s', apiVersion => {
    const source = flux('registry.local/team/api:1.0', apiVersion)
    expect(locateImages(source, 'crd.yaml', API).locations).toEqual([
      reference(source, '0:metadata/annotations/image', 6, 'registry.local/team/api:0.9'),
      reference(source, '0:spec/image', 8, 'registry.local/team/api:1.0')
    ])
  })

  it('takes spec.image of another kind', () => {
    const source = flux('registry.local/team/api:1.0').replace('kind: ImageRepository', 'kind: Runner')
    expect(locateImages(source, 'crd.yaml', API).locations[1]).toEqual(
      reference(source, '0:spec/image', 8, 'registry.local/team/api:1.0')
    )
  })
})

describe('locateImages: Helm values', () => {
  // Image blocks as bitnami charts write them (bitnami/charts, bitnami/nginx/values.yaml:
  // `image` and `metrics.image` with registry, repository, tag and digest).
  it('finds registry + repository + tag + digest blocks, nested or not', () => {
    const source = [
      'image:',
      '  registry: registry.local',
      '  repository: team/api',
      '  tag: 1.0.0',
      '  digest: ""',
      'metrics:',
      '  image:',
      '    registry: docker.io',
      '    repository: bitnami/nginx-exporter',
      '    tag: 1.1.0',
      '  sidecar:',
      '    image:',
      '      registry: registry.local',
      '      repository: team/api',
      '      tag: 1.0.0',
      ''
    ].join('\n')
    const helm = (key: string, line: number, from: number, digest: boolean): ImageLocation => ({
      kind: 'helm',
      key,
      line,
      repository: 'registry.local/team/api',
      repositoryKey: 'repository',
      tagKey: 'tag',
      entry: blockEntry(source, from, [
        ['registry', 'registry.local'],
        ['repository', 'team/api'],
        ['tag', '1.0.0'],
        ...(digest ? [['digest', '""'] as [string, string]] : [])
      ])
    })
    expect(locateImages(source, 'values.yaml', API)).toEqual(
      result(
        [helm('0:image', 4, 0, true), helm('0:metrics/sidecar/image', 15, offsetOf(source, 'sidecar'), false)],
        ['docker.io/bitnami/nginx-exporter', 'registry.local/team/api']
      )
    )
  })

  // `image` holding the repository next to `tag`: stable/jenkins' `master.image: "jenkins/jenkins"`,
  // `master.tag: "lts"` (helm/charts); `imageTag` is the other tag-like key.
  it.each(['tag', 'imageTag'])('takes `image` without a tag as the repository of a `%s`, once', tagKey => {
    const source = ['master:', '  image: "registry.local/team/api"', `  ${tagKey}: "lts"`, ''].join('\n')
    expect(locateImages(source, 'values.yaml', API)).toEqual(
      result(
        [
          {
            kind: 'helm',
            key: '0:master',
            line: 3,
            repository: 'registry.local/team/api',
            repositoryKey: 'image',
            tagKey,
            entry: blockEntry(source, 0, [
              ['image', '"registry.local/team/api"'],
              [tagKey, '"lts"']
            ])
          }
        ],
        ['registry.local/team/api']
      )
    )
  })

  it.each([
    ['a repository with a tag', 'registry.local/team/api:1.0'],
    ['a repository with a digest', `registry.local/team/api@${DIGEST}`]
  ])('is no Helm block with %s', (_, repository) => {
    const source = ['image:', `  repository: ${repository}`, '  tag: 2.0.0', ''].join('\n')
    expect(locateImages(source, 'values.yaml', API)).toEqual(result([], ['registry.local/team/api']))
  })

  it('needs both a repository and a tag', () => {
    const source = ['a:', '  tag: 1.0.0', 'b:', '  repository: registry.local/team/api', ''].join('\n')
    expect(locateImages(source, 'values.yaml', API)).toEqual(result([], []))
  })

  it.each([
    ['tag', '" ${TAG} "', '${TAG}', 4],
    ['digest', '"${DIGEST}"', '${DIGEST}', 5]
  ])('leaves a block whose %s is a placeholder alone, with a warning', (_, raw, shown, line) => {
    const source = [
      'image:',
      '  registry: registry.local',
      '  repository: team/api',
      `  tag: ${line === 4 ? raw : '1.0.0'}`,
      `  digest: ${line === 5 ? raw : '""'}`,
      ''
    ].join('\n')
    expect(locateImages(source, 'values.yaml', API)).toEqual(
      result([], ['registry.local/team/api'], [`values.yaml:4: ${shown} holds a \${…} placeholder: left alone`])
    )
  })

  it('does not let one block hide another of the same repository', () => {
    const source = [
      'api:',
      '  image: {repository: registry.local/team/api, tag: 1.0.0}',
      'worker:',
      '  image: {repository: registry.local/team/api, tag: 1.0.0}',
      ''
    ].join('\n')
    expect(locateImages(source, 'values.yaml', API).locations.map(l => [l.key, l.line])).toEqual([
      ['0:api/image', 2],
      ['0:worker/image', 4]
    ])
  })
})

describe('locateImages: placeholders in references', () => {
  it.each<[string, string | undefined]>([
    ['registry.local/team/api:${TAG}', 'registry.local/team/api:${TAG}'],
    ['${REGISTRY}/team/api:${TAG}', '${REGISTRY}/team/api:${TAG}'],
    ['" registry.local/team/api:${TAG}"', 'registry.local/team/api:${TAG}'],
    // not our repository, placeholder or not
    ['registry.local/team/web:${TAG}', undefined],
    ['other.local/team/api:${TAG}', undefined],
    ['"${A} ${B}"', undefined],
    ['${A}.io/${B}/team/api:1.0', undefined],
    ['busybox:1.36', undefined]
  ])('image: %s warns %j', (raw, shown) => {
    const source = `spec:\n  image: ${raw}\n`
    expect(locateImages(source, 'deploy.yaml', API)).toEqual({
      locations: [],
      repositories: raw === 'busybox:1.36' ? ['docker.io/library/busybox'] : [],
      mentions: [],
      warnings: shown === undefined ? [] : [`deploy.yaml:2: ${shown} holds a \${…} placeholder: left alone`]
    })
  })
})

// Markers sit where Flux image-automation puts its setters, at the end of the value's line
// (fluxcd.io docs, "Configure image updates": `tag: 5.0.0 # {"$imagepolicy": "flux-system:podinfo:tag"}`).
describe('locateImages: markers', () => {
  it("reads no Flux setter as a marker: it is Flux's to write", () => {
    const source = [
      'podinfo:',
      '  ref: registry.local/team/api:5.0.0 # {"$imagepolicy": "flux-system:podinfo"}',
      '  tag: 5.0.0 # {"$imagepolicy": "flux-system:podinfo:tag"}',
      ''
    ].join('\n')
    expect(locateImages(source, 'values.yaml', API)).toEqual(result([], []))
  })

  const source = [
    'app:',
    '  version: v1.2.3 # gitops-push-deploy: tag',
    `  build: "${DIGEST}" #gitops-push-deploy: digest registry.local/team/api`,
    '  web: v9 # gitops-push-deploy: tag registry.local/team/web',
    '  ref: registry.local/team/api:1.0   # gitops-push-deploy:   image  ',
    '  other: registry.local/team/web:1.0 # gitops-push-deploy: image',
    '  args: # gitops-push-deploy: image',
    '    - registry.local/team/api:2.0 # gitops-push-deploy: image',
    '  pinned: {name: api, ref: registry.local/team/api:3.0} # gitops-push-deploy: image',
    '  note: "# gitops-push-deploy: tag"',
    'spec:',
    '  image: registry.local/team/api:4.0',
    ''
  ].join('\n')

  it('takes the last scalar before the marker, of our repository or of none, in line order', () => {
    expect(locateImages(source, 'values.yaml', API)).toEqual(
      result(
        [
          { kind: 'tag', key: '0:app/version', line: 2, scalar: spot(source, 'v1.2.3') },
          { kind: 'digest', key: '0:app/build', line: 3, scalar: spot(source, `"${DIGEST}"`) },
          reference(source, '0:app/ref', 5, 'registry.local/team/api:1.0'),
          reference(source, '0:app/args/0', 8, 'registry.local/team/api:2.0'),
          reference(source, '0:app/pinned/ref', 9, 'registry.local/team/api:3.0', { flow: true }),
          reference(source, '0:spec/image', 12, 'registry.local/team/api:4.0')
        ],
        // `name: api` on line 9 is not the last scalar before its marker: never read
        ['registry.local/team/api', 'registry.local/team/web']
      )
    )
  })

  it('takes a scalar that starts its line (a flow list at the root)', () => {
    const flow = ['[', 'registry.local/team/api:1.0, # gitops-push-deploy: image', 'busybox:1.36', ']', ''].join('\n')
    expect(locateImages(flow, 'list.yaml', API)).toEqual(
      result([reference(flow, '0:0', 2, 'registry.local/team/api:1.0', { flow: true })], ['registry.local/team/api'])
    )
  })

  it('marks an alias nowhere: the anchor is what gets edited', () => {
    const aliased = ['base: &v v1', 'app:', '  tag: *v # gitops-push-deploy: tag', ''].join('\n')
    expect(locateImages(aliased, 'values.yaml', API)).toEqual(result([], []))
  })

  it('adds nothing for a scalar a structural rule already covers', () => {
    const covered = [
      'spec:',
      '  image: registry.local/team/api:1.0 # gitops-push-deploy: image',
      'image:',
      '  registry: registry.local # gitops-push-deploy: tag',
      '  repository: team/api',
      '  tag: 1.0.0 # gitops-push-deploy: tag',
      `  digest: ${DIGEST} # gitops-push-deploy: digest`,
      ''
    ].join('\n')
    expect(locateImages(covered, 'values.yaml', API).locations.map(l => [l.kind, l.key, l.line])).toEqual([
      ['reference', '0:spec/image', 2],
      ['helm', '0:image', 6]
    ])
  })
})

describe('locateImages: kustomize images', () => {
  it('leaves an entry whose newTag or digest is a placeholder alone, with a warning', () => {
    const source = [
      'images:',
      '  - name: registry.local/team/api',
      '    newTag: ${TAG}',
      '  - name: registry.local/team/api',
      '    digest: ${DIGEST}',
      ''
    ].join('\n')
    expect(locateImages(source, 'kustomization.yaml', API)).toEqual(
      result(
        [],
        ['registry.local/team/api'],
        [
          'kustomization.yaml:2: ${TAG} holds a ${…} placeholder: left alone',
          'kustomization.yaml:4: ${DIGEST} holds a ${…} placeholder: left alone'
        ]
      )
    )
  })

  it('adds nothing for a marked newTag the entry already covers', () => {
    const source = [
      'images:',
      '  - name: registry.local/team/api',
      '    newTag: v1 # gitops-push-deploy: tag',
      ''
    ].join('\n')
    expect(locateImages(source, 'kustomization.yaml', API).locations.map(l => [l.kind, l.line])).toEqual([
      ['kustomize', 2]
    ])
  })

  it('does not let a malformed entry hide the next one', () => {
    const source = [
      'images:',
      '  - name: registry.local/team/api',
      '    newTag: [v1]',
      '  - name: registry.local/team/api',
      '    newTag: {v: 1}',
      ''
    ].join('\n')
    expect(locateImages(source, 'kustomization.yaml', API).locations.map(l => [l.kind, l.line])).toEqual([
      ['kustomize', 2],
      ['kustomize', 4]
    ])
  })

  // A Flux Kustomization patched in by an overlay: its images entry is found inside the patch.
  it('finds an entry with only a digest inside an inline patch, on the line of its name as outside patches', () => {
    const source = [
      'resources: [flux.yaml]',
      'patches:',
      '  - patch: |',
      '      apiVersion: kustomize.toolkit.fluxcd.io/v1',
      '      kind: Kustomization',
      '      metadata: {name: api}',
      '      spec:',
      '        images:',
      '          - name: registry.local/team/api',
      `            digest: ${DIGEST}`,
      ''
    ].join('\n')
    expect(locateImages(source, 'kustomization.yaml', API).locations.map(l => [l.kind, l.key, l.line])).toEqual([
      ['kustomize', '0:patches/0/patch|0:spec/images/0', 9]
    ])
  })
})
