// Runs the rollout tracker benchmarks (bench/rollout-scenarios.ts) on the test bed:
//   node bench/rollout-run.mjs [latency] [parallel] [failfast]      (all when none is named)
// Node 24 cannot import our TypeScript directly (parameter properties are not erasable syntax and
// imports name .js files), so this bundles the scenarios with esbuild into a temporary file first.
// Run it with Node 24: /work/main/node_modules/.bin/node bench/rollout-run.mjs
// KUBECONFIG and REGISTRY come from the environment, else from .testbed/env (npm run testbed:up).
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import path from 'node:path'
import { build } from 'esbuild'

const envFile = '.testbed/env'
if (!process.env.KUBECONFIG && existsSync(envFile)) {
  for (const match of readFileSync(envFile, 'utf8').matchAll(/^export (\w+)='([^']*)'$/gm)) {
    process.env[match[1]] ??= match[2]
  }
}

// Inside node_modules, so that the bundle's external packages resolve from it.
const dir = mkdtempSync(path.resolve('node_modules/.cache/rollout-bench-'))
const outfile = path.join(dir, 'scenarios.mjs')
try {
  await build({
    entryPoints: ['bench/rollout-scenarios.ts'],
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node24',
    packages: 'external',
    logLevel: 'warning'
  })
  const result = spawnSync(process.execPath, [outfile, ...process.argv.slice(2)], { stdio: 'inherit' })
  process.exitCode = result.status ?? 1
} finally {
  rmSync(dir, { recursive: true, force: true })
}
