import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterEach, describe, expect, it } from '@jest/globals'
import { runEdit } from '../../src/cli-edit.js'

const image = 'registry.local:5000/team/api'
const NEW = 'sha256:11507a0e2f5e69d5dfa40a62a1bd7b6ee57e6bcd85c67c9b8431b36fff21c437'
const pod = (ref: string) =>
  `apiVersion: v1\nkind: Pod\nmetadata:\n  name: api\nspec:\n  containers:\n  - name: api\n    image: ${ref}\n`

const dirs: string[] = []
afterEach(() => dirs.splice(0).forEach(dir => rmSync(dir, { recursive: true, force: true })))

function checkout(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'edit-cli-'))
  dirs.push(dir)
  for (const [file, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, file)), { recursive: true })
    writeFileSync(path.join(dir, file), content)
  }
  return dir
}

async function edit(args: string[]) {
  let stdout = ''
  let stderr = ''
  const code = await runEdit(args, { stdout: t => (stdout += t), stderr: t => (stderr += t) })
  return { code, stdout, stderr }
}

describe('gitops-push-deploy edit', () => {
  it('writes in place, prints the diff on stdout and the change list on stderr', async () => {
    const dir = checkout({ 'apps/api/pod.yaml': pod(`${image}:1.9`), 'apps/web/pod.yaml': pod('nginx:1.25') })
    const result = await edit(['--image', image, '--tag', '1.10', '--env-path', 'apps', '--dir', dir])
    expect(result.code).toBe(0)
    expect(readFileSync(path.join(dir, 'apps/api/pod.yaml'), 'utf8')).toBe(pod(`${image}:1.10`))
    expect(result.stdout).toContain(`-    image: ${image}:1.9\n+    image: ${image}:1.10\n`)
    expect(result.stderr).toContain(`apps/api/pod.yaml:8: ${image}:1.9 → ${image}:1.10`)
    // a second run has nothing to do
    expect((await edit(['--image', image, '--tag', '1.10', '--env-path', 'apps', '--dir', dir])).code).toBe(0)
  })

  it('--check writes nothing and exits 1 when files would change; --json prints the change list', async () => {
    const dir = checkout({ 'pod.yaml': pod(`${image}:1.9`) })
    const args = ['--image', image, '--tag', '1.10', '--digest', NEW, '--env-path', '.', '--dir', dir]
    const result = await edit([...args, '--check', '--json'])
    expect(result.code).toBe(1)
    expect(readFileSync(path.join(dir, 'pod.yaml'), 'utf8')).toBe(pod(`${image}:1.9`))
    expect(JSON.parse(result.stdout)).toEqual({
      changed: ['pod.yaml'],
      changes: [{ path: 'pod.yaml', line: 8, previous: `${image}:1.9`, next: `${image}:1.10@${NEW}` }],
      warnings: []
    })
  })

  it('exits 1 with the usual message when the image is not referenced', async () => {
    const dir = checkout({ 'pod.yaml': pod('nginx:1.25') })
    const result = await edit(['--image', image, '--tag', '1.10', '--env-path', '.', '--dir', dir])
    expect(result.code).toBe(1)
    expect(result.stderr).toContain(`error: no reference to ${image} found under env-path in ${dir}.`)
    expect(result.stderr).toContain('error:   pod.yaml: docker.io/library/nginx')
  })

  it.each<[string[], string]>([
    [['--tag', '1.10', '--env-path', '.'], 'error: --image is required'],
    [
      ['--image', 'Bad/Name', '--tag', '1.10', '--env-path', '.'],
      'error: --image "Bad/Name" is not a valid image repository'
    ],
    [['--image', image, '--tag', '1.10', '--pin', 'digest', '--env-path', '.'], 'error: --pin digest needs --digest'],
    [
      ['--image', image, '--tag', '1.10', '--env-path', '../x'],
      'error: --env-path "../x" must be a path relative to --dir'
    ],
    [['--image', image, '--tag', '1.10', '--env-path', '.', '--bogus'], "error: Unknown option '--bogus'"]
  ])('refuses bad flags: %j', async (args, message) => {
    const result = await edit(args)
    expect(result.code).toBe(1)
    expect(result.stderr).toContain(message)
  })

  it('names an env path that does not exist', async () => {
    const dir = checkout({ 'pod.yaml': pod(`${image}:1.9`) })
    const result = await edit(['--image', image, '--tag', '1.10', '--env-path', 'nope', '--dir', dir])
    expect(result.code).toBe(1)
    expect(result.stderr).toContain(`error: env-path "nope" not found in ${dir}`)
  })
})
