import { describe, expect, it } from '@jest/globals'
import { parseImageRepository } from '../../src/image/reference.js'
import { editFiles, forwardEdit, targetOf } from '../../src/gitops/plan.js'
import { checkEdit, compareRenderings, RenderCheckError } from '../../src/gitops/verify.js'
import { renderFiles } from '../../src/render/manifests.js'
import { type EnvFile } from '../../src/gitops/types.js'
import { goldenCase, goldenCaseNames } from '../../test/helpers/golden.js'

const image = 'registry.local:5000/team/api'
const repository = parseImageRepository(image)
const NEW = 'sha256:11507a0e2f5e69d5dfa40a62a1bd7b6ee57e6bcd85c67c9b8431b36fff21c437'
const target = { tag: '1.10', digest: undefined, version: '1.10' }
// plain manifests only: no kustomize process in unit tests
const parseOnly = (files: EnvFile[]) => renderFiles(files, [])

const pod = (images: string[], extra = '') =>
  `apiVersion: v1\nkind: Pod\nmetadata:\n  name: api\nspec:\n  containers:\n${images
    .map((ref, i) => `  - name: c${i}\n    image: ${ref}\n`)
    .join('')}${extra}`

async function problems(before: string, after: string, file = 'pod.yaml'): Promise<string[]> {
  const [a, b] = await Promise.all([
    parseOnly([{ path: file, content: before }]),
    parseOnly([{ path: file, content: after }])
  ])
  return compareRenderings(a, b, repository, target)
}

describe('render check', () => {
  it.each<[string, string, string, string[]]>([
    ['an edit of the image only', pod([`${image}:1.9`]), pod([`${image}:1.10`]), []],
    [
      'an old reference left behind',
      pod([`${image}:1.9`, `${image}:1.9`]),
      pod([`${image}:1.10`, `${image}:1.9`]),
      [`pod.yaml (document 1): Pod api: spec.containers.1.image still holds the old reference ${image}:1.9`]
    ],
    [
      'an invalid reference',
      pod([`${image}:1.9`]),
      pod([`${image}:1.10:5.7`]),
      [`pod.yaml (document 1): Pod api: spec.containers.0.image is not a valid image reference: "${image}:1.10:5.7"`]
    ],
    [
      'another field changed',
      pod([`${image}:1.9`], '  restartPolicy: Always\n'),
      pod([`${image}:1.10`], '  restartPolicy: Never\n'),
      [
        'pod.yaml (document 1): Pod api: spec.restartPolicy changed from "Always" to "Never", which is not an image field'
      ]
    ],
    [
      'another image',
      pod([`${image}:1.9`, 'nginx:1.25']),
      pod([`${image}:1.10`, 'nginx:1.27']),
      [
        'pod.yaml (document 1): Pod api: spec.containers.1.image changed from "nginx:1.25" to "nginx:1.27", another image'
      ]
    ],
    [
      'a file that no longer parses',
      pod([`${image}:1.9`]),
      pod([`${image}:1.10`]).replace('image:', 'image: [\n'),
      expect.arrayContaining([expect.stringMatching(/^no longer renders: pod\.yaml \(document 1\): /)]) as never
    ],
    [
      'a tag the edit wrote in a marked ConfigMap value',
      'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: v}\ndata: {version: "1.9"}\n',
      'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: v}\ndata: {version: "1.10"}\n',
      []
    ],
    [
      'a Flux Kustomization newTag and a HelmRelease tag',
      `apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: a}\nspec:\n  images: [{name: ${image}, newTag: "1.9", digest: ${NEW}}]\n---\napiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata: {name: b}\nspec:\n  values: {image: {repository: ${image}, tag: "1.9"}}\n`,
      `apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: a}\nspec:\n  images: [{name: ${image}, newTag: "1.10"}]\n---\napiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata: {name: b}\nspec:\n  values: {image: {repository: ${image}, tag: "1.10"}}\n`,
      []
    ],
    [
      'a Helm values tag an overlay patches apart from its repository, left behind',
      `apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata: {name: b}\nspec:\n  values: {image: {repository: ${image}, tag: 1.9}}\n`,
      `apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata: {name: b}\nspec:\n  values: {image: {repository: ${image}, tag: 1.9}}\n`,
      [`pod.yaml (document 1): HelmRelease b: spec.values.image.tag still holds the old reference ${image}:1.9`]
    ]
  ])('%s', async (_, before, after, expected) => {
    expect(await problems(before, after)).toEqual(expected)
  })

  it('leaves alone what did not render before the edit either, and reports it unchecked', async () => {
    const before = [
      { path: 'values.yaml', content: `image:\n  repository: ${image}\n  tag: "1.9"\n` },
      { path: 'pod.yaml', content: pod([`${image}:1.9`]) }
    ]
    const edited = editFiles(before, () => forwardEdit({ repository, image, tag: '1.10', digest: '', pin: 'tag' }))
    const check = await checkEdit(before, edited.files, repository, target, parseOnly)
    expect(check.unchecked).toEqual(['values.yaml (document 1): has no apiVersion'])
    expect(check.objects).toBe(1)
  })

  it('throws naming every object', async () => {
    const before = [{ path: 'pod.yaml', content: pod([`${image}:1.9`, `${image}:1.9`]) }]
    const after = [{ path: 'pod.yaml', content: pod([`${image}:1.10`, `${image}:1.9`]) }]
    const error = await checkEdit(before, after, repository, target, parseOnly).catch(e => e as RenderCheckError)
    expect(error).toBeInstanceOf(RenderCheckError)
    expect((error as Error).message).toContain('nothing committed')
    expect((error as RenderCheckError).problems).toHaveLength(1)
  })

  // kustomizations are built in the integration test (gitops-render), with kubectl kustomize
  it.each(goldenCaseNames())('golden case %s passes the check on its plain manifests', async name => {
    const golden = goldenCase(name)
    await expect(
      checkEdit(golden.input, golden.expected, golden.edit.repository, targetOf(golden.edit), parseOnly)
    ).resolves.toBeDefined()
  })
})
