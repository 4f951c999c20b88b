// `npm run demo`: from a clean clone, start the test bed, create an env repo with a sample
// app, then run the CLI twice: a good image (deployed) and a crashing one (fails fast,
// rolls back the cluster, reverts Git). Exits 0 when both end as they should.
import { spawnSync } from 'node:child_process'
import { cpSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { readTestbedEnv } from '../test/helpers/testbed-env.mjs'

function run(command, args, options = {}) {
  const result = spawnSync(command, args, { stdio: 'inherit', encoding: 'utf8', ...options })
  if (result.status !== 0 && !options.allowFailure) {
    console.error(`demo: ${command} ${args.join(' ')} exited ${result.status}`)
    process.exit(1)
  }
  return result
}

function banner(text) {
  console.error(`\n${'='.repeat(78)}\n${text}\n${'='.repeat(78)}`)
}

banner('1/4 Starting the local test bed (first start builds the control plane)')
run('bash', ['test/testbed/up.sh'])
const testbed = readTestbedEnv()

banner('2/4 Creating the environment repository demo/environments')
const envDir = mkdtempSync(path.join(tmpdir(), 'demo-env-'))
cpSync('demo/environment', envDir, { recursive: true })
for (const file of readdirSync(path.join(envDir, 'apps/web'))) {
  const full = path.join(envDir, 'apps/web', file)
  writeFileSync(full, readFileSync(full, 'utf8').replaceAll('REGISTRY/', `${testbed.REGISTRY}/`))
}
run('bash', ['test/testbed/repo.sh', 'demo/environments', envDir])

const common = [
  '--image',
  `${testbed.REGISTRY}/demo/web`,
  '--context',
  'demo/app',
  '--builder',
  'buildah',
  '--registry-insecure',
  'true',
  '--env-repo',
  'demo/environments',
  '--env-path',
  'apps/web',
  '--github-api-url',
  testbed.GITHUB_API_URL,
  '--timeout',
  '2m'
]
const secrets = {
  ...process.env,
  'INPUT_ENV-TOKEN': testbed.TESTBED_GITHUB_TOKEN,
  INPUT_KUBECONFIG: readFileSync(testbed.KUBECONFIG, 'utf8')
}

function deploy(title, extra) {
  banner(title)
  const result = run(process.execPath, ['dist/cli.js', ...common, ...extra], {
    env: secrets,
    stdio: ['ignore', 'pipe', 'inherit'],
    allowFailure: true
  })
  console.error('\noutputs (stdout):')
  console.error(result.stdout)
  return /^status=(.*)$/m.exec(result.stdout)?.[1]
}

const stamp = Date.now().toString(36)
const first = deploy('3/4 Deploying a good image: expect status=deployed', ['--tag', `v1-${stamp}`])
const second = deploy('4/4 Deploying an image that crashes: expect a fast failure, rollback and a revert commit', [
  '--tag',
  `v2-${stamp}`,
  '--labels',
  'testbed.behavior=crashloop'
])

console.log(`demo: first run status=${first}`)
console.log(`demo: second run status=${second}`)
process.exitCode = first === 'deployed' && second === 'rolled-back' ? 0 : 1
