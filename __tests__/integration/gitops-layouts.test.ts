// Env repos shaped like public layouts (__tests__/fixtures/layouts, see its README) run through
// `gitops-push-deploy edit`, render check included, then rendered with kubectl kustomize: what
// deploys holds the new image.
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from '@jest/globals'
import { runEdit } from '../../src/cli-edit.js'
import { descriptorFiles } from '../../src/gitops/files.js'
import { localTree, readLocalFiles } from '../../src/gitops/local.js'
import { tryParseReference } from '../../src/gitops/locate.js'
import { parseImageRepository, sameRepository } from '../../src/image/reference.js'
import { renderFiles } from '../../src/render/manifests.js'

const LAYOUTS = path.join(import.meta.dirname, '../fixtures/layouts')
const cases = readdirSync(LAYOUTS, { withFileTypes: true })
  .filter(entry => entry.isDirectory())
  .map(entry => entry.name)
const work = mkdtempSync(path.join(os.tmpdir(), 'layouts-'))
afterAll(() => rmSync(work, { recursive: true, force: true }))

interface LayoutEdit {
  image: string
  tag: string
  digest: string
  pin: string
  envPaths: string[]
  changes: number
}

/** Every image string and every Helm values tag of the objects. */
function imagesAndTags(objects: unknown[]): { images: string[]; tags: string[] } {
  const found = { images: [] as string[], tags: [] as string[] }
  const walk = (value: unknown, key?: string): void => {
    if (Array.isArray(value)) value.forEach(item => walk(item))
    else if (value && typeof value === 'object') Object.entries(value).forEach(([k, v]) => walk(v, k))
    else if (key === 'image' && typeof value === 'string') found.images.push(value)
    else if (key === 'tag' && value !== undefined) found.tags.push(String(value))
  }
  objects.forEach(object => walk(object))
  return found
}

describe('public-layout corpus through gitops-push-deploy edit', () => {
  it('has the layouts, each named in the README', () => {
    const readme = readFileSync(path.join(LAYOUTS, 'README.md'), 'utf8')
    expect(cases.length).toBeGreaterThanOrEqual(5)
    for (const name of cases) expect(readme).toContain(`- \`${name}\`: mirrors `)
  })

  it.each(cases)('%s', async name => {
    const spec = JSON.parse(readFileSync(path.join(LAYOUTS, name, 'edit.json'), 'utf8')) as LayoutEdit
    const dir = path.join(work, name)
    cpSync(path.join(LAYOUTS, name, 'repo'), dir, { recursive: true })
    const args = ['--image', spec.image, '--tag', spec.tag, '--pin', spec.pin, '--dir', dir]
    if (spec.digest) args.push('--digest', spec.digest)
    for (const envPath of spec.envPaths) args.push('--env-path', envPath)
    let stdout = ''
    let stderr = ''
    const code = await runEdit([...args, '--json'], { stdout: t => (stdout += t), stderr: t => (stderr += t) })
    expect({ code, stderr: stderr.split('\n').filter(l => l.startsWith('error')) }).toEqual({ code: 0, stderr: [] })
    expect((JSON.parse(stdout) as { changes: unknown[] }).changes).toHaveLength(spec.changes)

    // what deploys now: every image of the repository (and every Helm values tag) is the new one
    const files = readLocalFiles(dir, descriptorFiles(localTree(dir), spec.envPaths, dir), () => undefined)
    const rendered = await renderFiles(files)
    expect(rendered.problems).toEqual([])
    const { images, tags } = imagesAndTags(rendered.manifests.map(m => m.object))
    const repository = parseImageRepository(spec.image)
    const ours = images.map(text => tryParseReference(text)).filter(ref => ref && sameRepository(ref, repository))
    expect(ours.length + tags.length).toBeGreaterThan(0)
    for (const ref of ours) expect(ref?.tag).toBe(spec.tag)
    for (const tag of tags) expect(tag).toBe(spec.tag)

    // a second run finds nothing to change
    expect(await runEdit([...args, '--check'], { stdout: () => undefined, stderr: () => undefined })).toBe(0)
  })
})
