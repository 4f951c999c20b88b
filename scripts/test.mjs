// `npm test`: unit tests in parallel, then integration tests one file at a time on the
// local test bed, then the README's workflows through act (npm run test:workflows) (jest's global setup starts it when it is not running). Ends with one
// plain `N passed, N failed` line over both. Integration runs end with --forceExit: watches
// and keep-alive sockets to the test bed must not keep jest alive after the last test.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'

const extra = process.argv.slice(2)
const dir = mkdtempSync(path.join(tmpdir(), 'jest-results-'))
const runs = [
  ['unit', []],
  ['integration', ['--runInBand', '--forceExit']],
  ['workflows', ['--runInBand', '--forceExit']]
]
let passed = 0
let failed = 0
let exitCode = 0
for (const [project, flags] of runs) {
  const results = path.join(dir, `${project}.json`)
  const run = spawnSync(
    process.execPath,
    [
      'node_modules/jest/bin/jest.js',
      '--selectProjects',
      project,
      ...flags,
      '--json',
      `--outputFile=${results}`,
      ...extra
    ],
    { stdio: 'inherit', env: { ...process.env, NODE_OPTIONS: '--experimental-vm-modules' } }
  )
  if (run.status !== 0) exitCode = 1
  try {
    const summary = JSON.parse(readFileSync(results, 'utf8'))
    passed += summary.numPassedTests
    failed += summary.numFailedTests + summary.numRuntimeErrorTestSuites
  } catch {
    failed += 1 // jest died before writing results
  }
}
console.log(`tests: ${passed} passed, ${failed} failed`)
process.exitCode = exitCode || (failed > 0 ? 1 : 0)
