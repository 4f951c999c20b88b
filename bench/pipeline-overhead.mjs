// Pipeline overhead for a 20-object app: end-to-end wall time of the CLI (process start to
// exit) minus the cluster rollout time it reports, with build: false (the resolve stays in
// the overhead). Each run deploys a new image, so it commits, validates, applies and waits.
// Needs the test bed: npm run testbed:up. Run: node bench/pipeline-overhead.mjs [runs]
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { readTestbedEnv } from '../test/helpers/testbed-env.mjs'
import { importSource } from './lib/import-source.mjs'

const runs = Number(process.argv[2] ?? 7)
const env = readTestbedEnv()

const namespace = `bench-${Date.now().toString(36)}`
const repo = `bench/${namespace}`
const files = {
  'app/namespace.yaml': `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${namespace}\n`,
  'app/deployment.yaml': `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: ${namespace}
spec:
  replicas: 1
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: ${env.REGISTRY}/bench/web:initial
`,
  'app/service.yaml': `apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  namespace: ${namespace}\nspec:\n  selector: {app: web}\n  ports: [{port: 80}]\n`
}
for (let i = 0; i < 17; i++) {
  files[`app/config-${i}.yaml`] =
    `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: config-${i}\n  namespace: ${namespace}\ndata:\n  key: "${i}"\n`
}
const response = await fetch(`${env.GITHUB_API_URL}/_testbed/repos`, {
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ owner: 'bench', name: namespace, files })
})
if (!response.ok) throw new Error(`creating the env repo failed: ${response.status} ${await response.text()}`)

const { buildImage } = await importSource("export { buildImage } from './test/helpers/testbed.ts'\n")
const tags = ['a', 'b']
for (const tag of tags) await buildImage(`${env.REGISTRY}/bench/web:${tag}`)

const overheads = []
const kubeconfig = readFileSync(env.KUBECONFIG, 'utf8')
for (let i = 0; i < runs; i++) {
  const start = performance.now()
  const result = spawnSync(
    process.execPath,
    [
      'dist/cli.js',
      '--json',
      '--build',
      'false',
      '--image',
      `${env.REGISTRY}/bench/web`,
      '--tag',
      tags[i % 2],
      '--registry-insecure',
      'true',
      '--env-repo',
      repo,
      '--env-path',
      'app',
      '--github-api-url',
      env.GITHUB_API_URL,
      '--timeout',
      '2m'
    ],
    {
      encoding: 'utf8',
      env: { PATH: process.env.PATH, 'INPUT_ENV-TOKEN': env.TESTBED_GITHUB_TOKEN, INPUT_KUBECONFIG: kubeconfig }
    }
  )
  const wall = (performance.now() - start) / 1000
  const outputs = JSON.parse(result.stdout)
  if (outputs.status !== 'deployed') throw new Error(`run ${i} ended ${outputs.status}:\n${result.stderr}`)
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
