import { describe, expect, it } from '@jest/globals'
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { buildSync } from 'esbuild'
import { liveTempDirs, makeTempDir, removeAll, withTempDir, writeTempFile } from '../../src/lib/temp-files.js'

const mode = (p: string): number => statSync(p).mode & 0o777

describe('temp files', () => {
  it('makes 0700 directories and 0600 files, registered until removed', async () => {
    let seen = ''
    await withTempDir('test', async dir => {
      seen = dir
      const file = writeTempFile(dir, 'secret', 'token')
      expect(mode(dir)).toBe(0o700)
      expect(mode(file)).toBe(0o600)
      expect(liveTempDirs()).toContain(dir)
    })
    expect(existsSync(seen)).toBe(false)
    expect(liveTempDirs()).not.toContain(seen)
  })

  it('removes the directory when the work throws', async () => {
    let seen = ''
    await expect(
      withTempDir('test', async dir => {
        seen = dir
        writeTempFile(dir, 'auth.json', '{}')
        throw new Error('boom')
      })
    ).rejects.toThrow('boom')
    expect(existsSync(seen)).toBe(false)
  })

  it('removeAll removes every registered directory', () => {
    const dirs = [makeTempDir('a'), makeTempDir('b')]
    removeAll()
    expect(dirs.filter(existsSync)).toEqual([])
    expect(liveTempDirs()).toEqual([])
  })

  // A real process: the exit hook and the signal handlers are process-wide.
  const script = buildSync({
    entryPoints: ['src/lib/temp-files.ts'],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'node'
  }).outputFiles[0].text.replace(/^export \{[^}]*\};?\s*$/m, '')

  const run = async (
    body: string,
    signal?: NodeJS.Signals
  ): Promise<{ left: string[]; code: number | null; killedBy: string | null }> => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'temp-files-test-'))
    try {
      const child = spawn(process.execPath, ['--input-type=module', '-e', `${script}\n${body}`], {
        env: { ...process.env, RUNNER_TEMP: root, NODE_OPTIONS: '' },
        stdio: ['ignore', 'pipe', 'ignore']
      })
      if (signal) {
        // Signal once the child says its files exist.
        child.stdout.once('data', () => child.kill(signal))
      }
      const [code, killedBy] = await new Promise<[number | null, string | null]>(resolve =>
        child.on('exit', (c, s) => resolve([c, s]))
      )
      return { left: readdirSync(root), code, killedBy }
    } finally {
      rmSync(root, { recursive: true, force: true })
    }
  }
  const create = "writeTempFile(makeTempDir('kubeconfig'), 'kubeconfig', 'token: x');"

  it.each([
    ['a normal exit', `${create}`, undefined],
    ['an uncaught error', `${create} throw new Error('boom')`, undefined],
    ['SIGTERM', `${create} console.log('ready'); setInterval(() => {}, 1000)`, 'SIGTERM' as const],
    ['SIGINT', `${create} console.log('ready'); setInterval(() => {}, 1000)`, 'SIGINT' as const]
  ])('leaves nothing after %s', async (_name, body, signal) => {
    const result = await run(body, signal)
    expect(result.left).toEqual([])
    // A signal still ends the process as that signal (the default action is kept).
    if (signal) expect(result.killedBy).toBe(signal)
  })

  it('leaves a signal to another handler (cancellation), removing at its exit', async () => {
    const result = await run(
      `${create} process.on('SIGTERM', () => setTimeout(() => process.exit(3), 50)); console.log('ready'); setInterval(() => {}, 1000)`,
      'SIGTERM'
    )
    expect(result).toEqual({ left: [], code: 3, killedBy: null })
  })
})
