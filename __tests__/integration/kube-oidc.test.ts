// Keyless cluster access (kube-auth: github-oidc) through the CLI (dist/cli.js) on the test bed:
// the GitHub emulator issues the job's OIDC tokens, the apiserver trusts its issuer, and RBAC
// lets acme/app's production environment deploy to $TESTBED_OIDC_NAMESPACE only. No kubeconfig.
import { describe, expect, it } from '@jest/globals'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { buildImage, createRepo, kubectl, REPO_ROOT, testbedEnv, uniqueName } from '../../test/helpers/testbed.js'
import { cliArgs, runCli, type CliRun } from '../../test/helpers/cli.js'

const env = testbedEnv()
const { namespace } = env.oidc
if (!env.kube) throw new Error('the test bed has no cluster (TESTBED_SKIP_CLUSTER=1?): keyless access needs one')
const kubeServer = env.kube.server
const kubeCa = readFileSync(env.kube.caFile, 'utf8')
/** Everything the runs printed, scanned for tokens at the end. */
const captured: string[] = []
/** Runner request tokens handed to the runs (secrets too). */
const runnerTokens: string[] = [env.oidc.requestToken]

/** A runner of acme/app with these claims: `{url, token}` as ACTIONS_ID_TOKEN_REQUEST_URL/_TOKEN. */
async function runner(claims: Record<string, unknown>): Promise<{ id: string; url: string; token: string }> {
  const response = await fetch(`${env.githubApiUrl}/_testbed/oidc/runners`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ repository: 'acme/app', ...claims })
  })
  expect(response.status).toBe(201)
  const created = (await response.json()) as { id: string; url: string; token: string }
  runnerTokens.push(created.token)
  return created
}

async function issuedCount(id: string): Promise<number> {
  const response = await fetch(`${env.githubApiUrl}/_testbed/oidc/runners/${id}`)
  return ((await response.json()) as { issued: number }).issued
}

/** A run whose only way into the cluster is the OIDC token (no kubeconfig). */
async function cli(args: string[], oidc: { url: string; token: string }): Promise<CliRun> {
  const run = await runCli(args, { ACTIONS_ID_TOKEN_REQUEST_URL: oidc.url, ACTIONS_ID_TOKEN_REQUEST_TOKEN: oidc.token })
  captured.push(run.stdout, run.stderr)
  return run
}

/** Asserts the status, showing the run's log when it differs. */
function expectStatus(run: CliRun, status: string): void {
  if (run.outputs.status !== status) {
    throw new Error(`expected status=${status}, got status=${run.outputs.status}; the run printed:\n${run.stderr}`)
  }
}

/** An env repo holding one Deployment (+ ConfigMap, Service) named `app` in the OIDC namespace. */
async function envRepo(app: string, tag: string): Promise<string> {
  const repo = `oidc/${app}`
  const base = path.join(REPO_ROOT, 'demo/environment/apps/web')
  const files: Record<string, string> = {}
  for (const file of ['configmap.yaml', 'deployment.yaml', 'service.yaml']) {
    files[`apps/${file}`] = readFileSync(path.join(base, file), 'utf8')
      .replaceAll('REGISTRY/demo/web:initial', `${env.registry}/oidc/web:${tag}`)
      .replaceAll('namespace: demo', `namespace: ${namespace}`)
      .replaceAll('web-config', `${app}-config`)
      .replace(/^( {2}name:) web$/m, `$1 ${app}`)
      .replaceAll('app: web', `app: ${app}`)
  }
  await createRepo(repo, files)
  return repo
}

function deployArgs(repo: string, tag: string, extra: string[] = [], timeout = '90s'): string[] {
  return cliArgs(env, {
    image: `${env.registry}/oidc/web`,
    tag,
    envRepo: repo,
    envPath: 'apps',
    namespace,
    timeout,
    extra: [
      '--kube-auth',
      'github-oidc',
      '--kube-server',
      kubeServer,
      '--kube-ca',
      Buffer.from(kubeCa).toString('base64'),
      ...extra
    ]
  })
}

async function deployedImage(app: string): Promise<string> {
  const result = await kubectl([
    '-n',
    namespace,
    'get',
    `deploy/${app}`,
    '-o',
    'jsonpath={.spec.template.spec.containers[0].image}'
  ])
  return result.stdout.trim()
}

describe('kube-auth github-oidc on the test bed', () => {
  const app = uniqueName('oidc')
  const goodTag = `good-${app.slice(-6)}`

  it('deploys into the allowed namespace without a kubeconfig, and rolls back a crash loop', async () => {
    await buildImage(`${env.registry}/oidc/web:${goodTag}`)
    const repo = await envRepo(app, 'initial')
    const production = { url: env.oidc.requestUrl, token: env.oidc.requestToken }

    const good = await cli(deployArgs(repo, goodTag), production)
    expectStatus(good, 'deployed')
    expect(good.stderr).toContain(
      'GitHub OIDC token (audience kubernetes) as "github:repo:acme/app:environment:production" ' +
        '(groups github:repo:acme/app, github:env:acme/app:production)'
    )
    expect(await deployedImage(app)).toContain(goodTag)

    const crashTag = `crash-${app.slice(-6)}`
    await buildImage(`${env.registry}/oidc/web:${crashTag}`, 'crashloop')
    const crash = await cli(deployArgs(repo, crashTag), production)
    expectStatus(crash, 'rolled-back')
    expect(crash.code).toBe(1)
    expect(await deployedImage(app)).toContain(goodTag)
  })

  it("refuses an environment the cluster does not bind, naming the token's identity", async () => {
    const staging = await runner({ environment: 'staging' })
    const repo = await envRepo(`${app}-staging`, 'initial')
    const run = await cli(deployArgs(repo, goodTag), staging)
    expect(run.code).toBe(1)
    expect(run.stderr).toMatch(/User "github:repo:acme\/app:environment:staging" cannot \w+ resource/)
  })

  it('names the missing id-token permission when the runner variables are absent', async () => {
    const repo = await envRepo(`${app}-noperm`, 'initial')
    const run = await cli(deployArgs(repo, goodTag), { url: '', token: '' })
    expect(run.code).toBe(1)
    expect(run.stderr).toContain('permissions: id-token: write')
  })

  it('names the audience and claims when the cluster does not trust the token (401)', async () => {
    const repo = await envRepo(`${app}-aud`, 'initial')
    const production = await runner({ environment: 'production' })
    const run = await cli(deployArgs(repo, goodTag, ['--kube-audience', 'not-kubernetes']), production)
    expect(run.code).toBe(1)
    expect(run.stderr).toContain('rejected the GitHub OIDC token (401 Unauthorized): kube-audience "not-kubernetes"')
    expect(run.stderr).toContain('sub="repo:acme/app:environment:production"')
  })

  it('refreshes the token before it expires during a long rollout', async () => {
    // Tokens live 5 s; the unready image holds the rollout until its 12 s timeout, then the rollback
    // needs a token again: an expired one would be refused (401).
    const shortLived = await runner({ environment: 'production', lifetimeSeconds: 5 })
    await buildImage(`${env.registry}/oidc/web:${goodTag}`)
    const slowApp = `${app}-slow`
    const repo = await envRepo(slowApp, 'initial')
    const first = await cli(deployArgs(repo, goodTag), shortLived)
    expectStatus(first, 'deployed')
    const stuckTag = `stuck-${app.slice(-6)}`
    await buildImage(`${env.registry}/oidc/web:${stuckTag}`, 'unready')
    const before = await issuedCount(shortLived.id)
    const run = await cli(deployArgs(repo, stuckTag, [], '12s'), shortLived)
    expectStatus(run, 'rolled-back')
    expect(await issuedCount(shortLived.id)).toBeGreaterThanOrEqual(before + 2)
  })

  // Runs last: no token of any run appears in what they printed.
  it('never prints a token', () => {
    expect(captured.length).toBeGreaterThanOrEqual(12)
    const everything = captured.join('\n')
    expect(everything).not.toMatch(/eyJ[\w-]{10,}\.[\w-]{10,}\.[\w-]{10,}/)
    for (const token of runnerTokens) expect(everything).not.toContain(token)
  })
})
