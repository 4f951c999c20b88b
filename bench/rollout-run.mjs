// Runs the rollout tracker benchmarks (bench/rollout-scenarios.ts) on the test bed:
//   node bench/rollout-run.mjs [latency] [parallel] [failfast]      (all when none is named)
// Node 24 cannot import our TypeScript directly (parameter properties are not erasable syntax and
// imports name .js files), so this bundles the scenarios with esbuild into a temporary file first.
// Run it with Node 24: /work/main/node_modules/.bin/node bench/rollout-run.mjs
// The test bed's KUBECONFIG and REGISTRY come from .testbed/env (npm run testbed:up).
import { loadTestbedEnv } from '../test/helpers/testbed-env.mjs'
import { importSource } from './lib/import-source.mjs'

loadTestbedEnv()

// The scenarios read process.argv ([latency] [parallel] [failfast]) and print their numbers.
await importSource("import './bench/rollout-scenarios.ts'\n")
