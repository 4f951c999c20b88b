// The golden cases that hold kustomizations, rendered with the real kustomize (kubectl
// kustomize, installed by the test bed): the expected bytes deploy the new image, and the
// render check accepts the edit.
import { describe, expect, it } from '@jest/globals'
import { targetOf } from '../../src/gitops/plan.js'
import { holds } from '../../src/gitops/edit.js'
import { checkEdit } from '../../src/gitops/verify.js'
import { isKustomizationFile } from '../../src/lib/descriptors.js'
import { findOnPath, renderFiles } from '../../src/render/manifests.js'
import { sameRepository } from '../../src/image/reference.js'
import { tryParseReference } from '../../src/gitops/locate.js'
import { goldenCase, goldenCaseNames } from '../../test/helpers/golden.js'

const withKustomize = goldenCaseNames().filter(name =>
  goldenCase(name).input.some(file => isKustomizationFile(file.path))
)

/** Every container image of the rendered objects. */
function images(objects: unknown[]): string[] {
  const found: string[] = []
  const walk = (value: unknown, key?: string): void => {
    if (Array.isArray(value)) value.forEach(item => walk(item))
    else if (value && typeof value === 'object') Object.entries(value).forEach(([k, v]) => walk(v, k))
    else if (key === 'image' && typeof value === 'string') found.push(value)
  }
  objects.forEach(object => walk(object))
  return found
}

describe('golden kustomize cases rendered with kubectl kustomize', () => {
  it('has kubectl or kustomize (the test bed installs kubectl)', async () => {
    expect(await findOnPath(['kustomize', 'kubectl'])).toBeDefined()
    expect(withKustomize.length).toBeGreaterThanOrEqual(6)
  })

  it.each(withKustomize)('%s: the expected bytes deploy the new image', async name => {
    const golden = goldenCase(name)
    const target = targetOf(golden.edit)
    const rendered = await renderFiles(golden.expected)
    expect(rendered.problems.filter(p => p.startsWith('kustomize build'))).toEqual([])
    const ours = images(rendered.manifests.map(m => m.object))
      .map(text => tryParseReference(text))
      .filter(ref => ref !== undefined && sameRepository(ref, golden.edit.repository))
    // keep-spelling-mirror renames to a mirror; its images then name the mirror, checked below
    if (name !== 'keep-spelling-mirror') expect(ours.length).toBeGreaterThan(0)
    for (const ref of ours.filter(r => r !== undefined)) {
      // tagSuffix appends to whatever tag the base carries
      if (name === 'kustomize-tag-suffix') expect(ref.tag).toMatch(/^1\.10-debug/)
      else expect(holds({ tag: ref.tag, digest: ref.digest }, target)).toBe(true)
    }
    if (name === 'keep-spelling-mirror') {
      expect(images(rendered.manifests.map(m => m.object))).toEqual(['mirror.local:5000/library/nginx:1.27.1'])
    }
    await expect(checkEdit(golden.input, golden.expected, golden.edit.repository, target)).resolves.toBeDefined()
  })
})
