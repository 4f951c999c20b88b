// jest globalSetup for the integration project: make sure the local test bed is up and healthy;
// if .testbed/env is missing or any part does not answer, run test/testbed/up.sh (idempotent)
// with inherited stdio. TESTBED_SKIP_CLUSTER=1 leaves the control plane out.
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { readTestbedEnv, TESTBED_ENV_FILE } from '../helpers/testbed-env.mjs'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')

async function status(url) {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(5000) })
    await res.arrayBuffer()
    return res.status
  } catch {
    return 0
  }
}

/** Returns null when healthy, otherwise what is wrong. */
async function problem() {
  if (!existsSync(TESTBED_ENV_FILE)) return `${TESTBED_ENV_FILE} is missing`
  const env = readTestbedEnv()
  const wantCluster = process.env.TESTBED_SKIP_CLUSTER !== '1'
  if ((await status(`${env.GITHUB_API_URL}/_testbed/health`)) !== 200) return 'the GitHub API emulator does not answer'
  if ((await status(`${env.GITHUB_API_URL}/_testbed/openapi?since=999999999`)) !== 200)
    return 'the GitHub API emulator predates the OpenAPI check'
  if ((await status(`http://${env.REGISTRY}/v2/`)) !== 200) return 'the anonymous registry does not answer'
  if ((await status(`http://${env.REGISTRY_AUTH}/v2/`)) !== 401) return 'the htpasswd registry does not answer'
  if (wantCluster) {
    if (!env.KUBECONFIG || !existsSync(env.KUBECONFIG)) return 'the cluster is not up (no kubeconfig)'
    const r = spawnSync('kubectl', ['--kubeconfig', env.KUBECONFIG, '--request-timeout=5s', 'get', '--raw=/readyz'], {
      encoding: 'utf8',
      timeout: 15000
    })
    if (r.status !== 0 || r.stdout.trim() !== 'ok') return 'the cluster is not ready'
  }
  return null
}

export default async function integrationSetup() {
  const why = await problem()
  if (why === null) return
  console.log(`\n[testbed] ${why}: running test/testbed/up.sh`)
  const up = () => spawnSync('bash', [path.join(root, 'test', 'testbed', 'up.sh')], { cwd: root, stdio: 'inherit' })
  let r = up()
  if (r.status !== 0) {
    // One more try: a part can lose a freshly chosen loopback port to another process at start;
    // up.sh is idempotent and restarts only what is not healthy.
    console.log('\n[testbed] up.sh failed; trying once more')
    r = up()
  }
  if (r.status !== 0) {
    throw new Error(
      `The integration test bed did not come up (bash test/testbed/up.sh exited ${r.status ?? r.signal}). ` +
        'See the output above and the logs in .testbed/*.log.'
    )
  }
  const still = await problem()
  if (still !== null) throw new Error(`The integration test bed is still not healthy after up.sh: ${still}`)
}
