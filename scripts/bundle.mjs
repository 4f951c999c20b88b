// Bundles the action (dist/index.js) and the CLI (dist/cli.js) with a shared chunk.
import { build } from 'esbuild'
import { chmod, rm } from 'node:fs/promises'

await rm('dist', { recursive: true, force: true })
await build({
  entryPoints: { index: 'src/index.ts', cli: 'src/cli-main.ts' },
  outdir: 'dist',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node24',
  // A stable chunk name keeps the committed dist/ diff to what changed, not a whole new file.
  chunkNames: 'chunks/[name]',
  legalComments: 'none',
  logLevel: 'warning',
  // CommonJS dependencies call require(); give ESM output one.
  banner: {
    js: "import { createRequire as __createRequire } from 'node:module';const require = __createRequire(import.meta.url);"
  }
})
// The CLI is the package bin: make it directly executable.
const { readFile, writeFile } = await import('node:fs/promises')
const cli = await readFile('dist/cli.js', 'utf8')
await writeFile('dist/cli.js', `#!/usr/bin/env node\n${cli}`)
await chmod('dist/cli.js', 0o755)
