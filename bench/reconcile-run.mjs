// Whole CLI run of `--mode reconcile` on an unchanged 20-object app (no drift; goal ≤ 1 s wall,
// process start to exit): read env-path at the branch head, compare with the cluster, nothing
// to apply. The first run deploys the app; the next ones are timed. Median of 7 runs.
// Needs the test bed: npm run testbed:up, then npm run package. Run: node bench/reconcile-run.mjs [runs]
import { spawnSync } from 'node:child_process'
import { readTestbedEnv } from '../test/helpers/testbed-env.mjs'
import { createCliApp, runCli } from './lib/cli-app.mjs'

const runs = Number(process.argv[2] ?? 7)
const env = readTestbedEnv()

const namespace = `bench-reconcile-${Date.now().toString(36)}`
const repo = await createCliApp(env, namespace, { replicas: 0 })

function reconcile() {
  const run = runCli(env, repo, ['--mode', 'reconcile'])
  if (run.outputs.status !== 'reconciled') throw new Error(`reconcile ended ${run.outputs.status}:\n${run.stderr}`)
  return run
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
