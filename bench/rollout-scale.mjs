// Rollout tracking at scale on the test bed (bench/rollout-scale.ts):
//   node bench/rollout-scale.mjs [counts…]      default: 50 100 200 300
// Run it with Node 24 (see bench/rollout-run.mjs) on a started test bed (.testbed/env): it takes the test
// image from the test bed's registry and starts its own control plane.
import { loadTestbedEnv } from '../test/helpers/testbed-env.mjs'
import { fileURLToPath } from 'node:url'
import { importSource } from './lib/import-source.mjs'

loadTestbedEnv()

const scale = await importSource("export * from './bench/rollout-scale.ts'\n")
const args = process.argv.slice(2)
if (args[0] === '--track') {
  await scale.child()
} else {
  const counts = args.length > 0 ? args.map(Number) : [50, 100, 200, 300]
  await scale.parent(fileURLToPath(import.meta.url), counts)
}
