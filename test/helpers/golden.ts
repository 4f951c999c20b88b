// The golden corpus of env-repo edits (__tests__/fixtures/gitops): one folder per case with
// edit.json, input/ and expected/. Shared by the byte-exact unit tests and the render tests.
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { type Pin } from '../../src/config/config.js'
import { parseImageRepository } from '../../src/image/reference.js'
import { type EnvFile, type ImageEdit } from '../../src/gitops/types.js'

export const GOLDEN = path.join(import.meta.dirname, '../../__tests__/fixtures/gitops')

export interface GoldenCase {
  name: string
  edit: ImageEdit
  /** How many references the edit changes. */
  changes: number
  input: EnvFile[]
  expected: EnvFile[]
}

export function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter(entry => entry.isFile())
    .map(entry => path.relative(dir, path.join(entry.parentPath, entry.name)))
    .sort()
}

function read(dir: string): EnvFile[] {
  return filesUnder(dir).map(p => ({ path: p, content: readFileSync(path.join(dir, p), 'utf8') }))
}

export function goldenCaseNames(): string[] {
  return readdirSync(GOLDEN, { withFileTypes: true })
    .filter(entry => entry.isDirectory())
    .map(entry => entry.name)
    .sort()
}

export function goldenCase(name: string): GoldenCase {
  const dir = path.join(GOLDEN, name)
  const spec = JSON.parse(readFileSync(path.join(dir, 'edit.json'), 'utf8')) as {
    image: string
    tag: string
    digest: string
    pin: Pin
    changes: number
  }
  return {
    name,
    edit: {
      repository: parseImageRepository(spec.image),
      image: spec.image,
      tag: spec.tag,
      digest: spec.digest,
      pin: spec.pin
    },
    changes: spec.changes,
    input: read(path.join(dir, 'input')),
    expected: read(path.join(dir, 'expected'))
  }
}
