// Pipeline overhead for a 20-object app: end-to-end wall time of the CLI (process start to
// exit) minus the cluster rollout time it reports, with build: false (the resolve stays in
// the overhead). Each run deploys a new image, so it commits, validates, applies and waits.
// Needs the test bed: npm run testbed:up. Run: node bench/pipeline-overhead.mjs [runs]
import { readTestbedEnv } from '../test/helpers/testbed-env.mjs'
import { createCliApp, runCli } from './lib/cli-app.mjs'
import { importSource } from './lib/import-source.mjs'

const runs = Number(process.argv[2] ?? 7)
const env = readTestbedEnv()

const namespace = `bench-${Date.now().toString(36)}`
const repo = await createCliApp(env, namespace, { replicas: 1 })

const { buildImage } = await importSource("export { buildImage } from './test/helpers/testbed.ts'\n")
const tags = ['a', 'b']
for (const tag of tags) await buildImage(`${env.REGISTRY}/bench/web:${tag}`)

const overheads = []
for (let i = 0; i < runs; i++) {
  const { wall, outputs, stderr } = runCli(env, repo, [
    '--build',
    'false',
    '--image',
    `${env.REGISTRY}/bench/web`,
    '--tag',
    tags[i % 2],
    '--registry-insecure',
    'true'
  ])
  if (outputs.status !== 'deployed') throw new Error(`run ${i} ended ${outputs.status}:\n${stderr}`)
  const objects = JSON.parse(outputs.resources).length
  const overhead = wall - Number(outputs['rollout-seconds'])
  overheads.push(overhead)
  console.log(
    `run ${i + 1}: ${objects} objects, wall ${wall.toFixed(2)} s, rollout ${outputs['rollout-seconds']} s, overhead ${overhead.toFixed(2)} s`
  )
}
overheads.sort((a, b) => a - b)
console.log(
  `pipeline overhead (20-object app): median ${overheads[Math.floor(runs / 2)].toFixed(2)} s, min ${overheads[0].toFixed(2)} s, max ${overheads[runs - 1].toFixed(2)} s over ${runs} runs (goal ≤ 1.5 s)`
)
