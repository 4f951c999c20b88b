// Bundle sizes and the cold-start time of the action entry (median of 10 runs of
// `node dist/index.js` failing fast on a missing input: module loading dominates).
import { spawnSync } from 'node:child_process'
import { readdirSync, statSync } from 'node:fs'
import path from 'node:path'

function files(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap(entry =>
    entry.isDirectory() ? files(path.join(dir, entry.name)) : [path.join(dir, entry.name)]
  )
}

let total = 0
for (const file of files('dist')) {
  const size = statSync(file).size
  total += size
  console.log(`bundle ${file}: ${(size / 1024).toFixed(1)} KiB`)
}
console.log(`bundle total: ${(total / 1024).toFixed(1)} KiB`)

function median(values) {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]
}

for (const entry of ['dist/index.js', 'dist/cli.js']) {
  const times = []
  for (let i = 0; i < 10; i++) {
    const start = process.hrtime.bigint()
    spawnSync(process.execPath, [entry], { env: { PATH: process.env.PATH, INPUT_IMAGE: 'x' }, stdio: 'ignore' })
    times.push(Number(process.hrtime.bigint() - start) / 1e6)
  }
  console.log(
    `cold start ${entry}: median ${median(times).toFixed(0)} ms over 10 runs (min ${Math.min(...times).toFixed(0)} ms)`
  )
}
