// The plan's unified diff of one env file in which 4000 image references change: time and
// peak RSS, each shape in a fresh process so the peak is the diff's own. Shapes: 4000
// consecutive reference lines (every line changes) and 4000 Deployments in one file
// (60,000 lines, every fifteenth changes). Prints the median of RUNS diffs per shape.
// Usage: node bench/gitops-diff.mjs
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { importSource } from './lib/import-source.mjs'

const RUNS = 5
const REFERENCES = 4000
const IMAGE = 'registry.local:5000/team/api'

const SHAPES = {
  'reference lines': tag =>
    `images:\n${Array.from({ length: REFERENCES }, (_, i) => `- ${IMAGE}:${tag} # ${i}\n`).join('')}`,
  deployments: tag =>
    Array.from(
      { length: REFERENCES },
      (_, i) => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: app-${i}
spec:
  selector:
    matchLabels: {app: app-${i}}
  template:
    metadata:
      labels: {app: app-${i}}
    spec:
      containers:
      - name: app
        image: ${IMAGE}:${tag}
`
    ).join('---\n')
}

const shape = process.argv[2]
if (shape === undefined) {
  for (const name of Object.keys(SHAPES)) {
    const child = spawnSync(process.execPath, [fileURLToPath(import.meta.url), name], { stdio: 'inherit' })
    if (child.status !== 0) process.exit(child.status ?? 1)
  }
} else {
  const { unifiedDiff } = await importSource("export { unifiedDiff } from './src/gitops/diff.ts'\n")
  const before = SHAPES[shape]('1.9')
  const after = SHAPES[shape]('2.0')
  const startRssMiB = process.resourceUsage().maxRSS / 1024
  const times = []
  let diff = ''
  for (let i = 0; i < RUNS; i++) {
    const start = performance.now()
    diff = unifiedDiff('apps/web/all.yaml', before, after)
    times.push(performance.now() - start)
  }
  times.sort((a, b) => a - b)
  const lines = before.split('\n').length - 1
  const changed = diff.split('\n').filter(line => line.startsWith('+') && !line.startsWith('+++')).length
  console.log(
    `${shape}: ${lines} lines, ${changed} changed: median ${times[Math.floor(RUNS / 2)].toFixed(0)} ms, ` +
      `slowest ${times[RUNS - 1].toFixed(0)} ms; peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB ` +
      `(${startRssMiB.toFixed(0)} MiB before the first diff)`
  )
}
