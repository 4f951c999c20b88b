// Whole CLI run of `--mode reconcile` on an unchanged 20-object app (no drift; goal ≤ 1 s wall,
// process start to exit): read env-path at the branch head, compare with the cluster, nothing
// to apply. The first run deploys the app; the next ones are timed. Median of 7 runs.
// Needs the test bed: npm run testbed:up, then npm run package. Run: node bench/reconcile-run.mjs [runs]
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { readTestbedEnv } from '../test/helpers/testbed-env.mjs'

const runs = Number(process.argv[2] ?? 7)
const env = readTestbedEnv()

const namespace = `bench-reconcile-${Date.now().toString(36)}`
const repo = `bench/${namespace}`
const files = {
  'app/namespace.yaml': `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${namespace}\n`,
  'app/deployment.yaml': `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: ${namespace}
spec:
  replicas: 0
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

const kubeconfig = readFileSync(env.KUBECONFIG, 'utf8')
function reconcile() {
  const start = performance.now()
  const result = spawnSync(
    process.execPath,
    [
      'dist/cli.js',
      '--json',
      '--mode',
      'reconcile',
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
  if (outputs.status !== 'reconciled') throw new Error(`reconcile ended ${outputs.status}:\n${result.stderr}`)
  return { wall, outputs, stderr: result.stderr }
}

const first = reconcile()
console.log(
  `first run (creates the app): ${first.wall.toFixed(2)} s, ${JSON.parse(first.outputs.drift).length} missing`
)
const walls = []
for (let i = 0; i < runs; i++) {
  const { wall, outputs, stderr } = reconcile()
  if (JSON.parse(outputs.drift).length !== 0) throw new Error(`drift on an unchanged app:\n${stderr}`)
  walls.push(wall)
  const timings = /Timings: (.*)/.exec(stderr)?.[1] ?? ''
  console.log(`run ${i + 1}: wall ${wall.toFixed(2)} s (${timings})`)
}
walls.sort((a, b) => a - b)
console.log(
  `reconcile, unchanged 20-object app: median ${walls[Math.floor(runs / 2)].toFixed(2)} s, min ${walls[0].toFixed(2)} s, max ${walls[runs - 1].toFixed(2)} s over ${runs} runs (goal ≤ 1 s)`
)
spawnSync('kubectl', ['--kubeconfig', env.KUBECONFIG, 'delete', 'namespace', namespace, '--wait=false'], {
  stdio: 'ignore'
})
