// Lets a benchmark import the project's TypeScript: bundles `code` (module text that imports
// or re-exports ./src/… files) with esbuild, imports the bundle and deletes it. The bundle is
// written under node_modules/.cache so that its external packages resolve from node_modules.
import { build } from 'esbuild'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import path from 'node:path'
import { pathToFileURL } from 'node:url'

const root = path.resolve(import.meta.dirname, '..', '..')

export async function importSource(code) {
  const cache = path.join(root, 'node_modules', '.cache')
  mkdirSync(cache, { recursive: true })
  const dir = mkdtempSync(path.join(cache, 'bench-'))
  const outfile = path.join(dir, 'bundle.mjs')
  try {
    await build({
      stdin: { contents: code, resolveDir: root, loader: 'ts' },
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node24',
      packages: 'external',
      outfile,
      logLevel: 'error'
    })
    return await import(pathToFileURL(outfile).href)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
