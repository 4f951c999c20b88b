// Runs the rollout tracker benchmarks (bench/rollout-scenarios.ts) on the test bed:
//   node bench/rollout-run.mjs [latency] [parallel] [failfast]      (all when none is named)
// Node 24 cannot import our TypeScript directly (parameter properties are not erasable syntax and
// imports name .js files), so this bundles the scenarios with esbuild into a temporary file first.
// Run it with Node 24: /work/main/node_modules/.bin/node bench/rollout-run.mjs
// KUBECONFIG and REGISTRY come from the environment, else from .testbed/env (npm run testbed:up).
import { existsSync, readFileSync } from 'node:fs'
import { importSource } from './lib/import-source.mjs'

const envFile = '.testbed/env'
if (!process.env.KUBECONFIG && existsSync(envFile)) {
  for (const match of readFileSync(envFile, 'utf8').matchAll(/^export (\w+)='([^']*)'$/gm)) {
    process.env[match[1]] ??= match[2]
  }
}

// The scenarios read process.argv ([latency] [parallel] [failfast]) and print their numbers.
await importSource("import './bench/rollout-scenarios.ts'\n")
