// End to end through the bundled action (dist/index.js) as the runner starts it: INPUT_*
// variables, GITHUB_OUTPUT and GITHUB_STEP_SUMMARY files, on the real test bed.
import { beforeAll, describe, expect, it } from '@jest/globals'
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import {
  buildImage,
  createRepo,
  gitLog,
  githubRequest,
  gitShow,
  kubectl,
  registerRepo,
  REPO_ROOT,
  testbedEnv,
  uniqueName
} from '../../test/helpers/testbed.js'

const env = testbedEnv()
const kubeconfig = readFileSync(env.kubeconfig ?? '', 'utf8')
/** Everything any run printed or wrote, scanned for secrets at the end. */
const captured: string[] = []

interface ActionRun {
  code: number
  stdout: string
  outputs: Record<string, string>
  summary: string
}

/** GITHUB_OUTPUT's file format: `name<<DELIM\nvalue\nDELIM`. */
function parseOutputFile(text: string): Record<string, string> {
  const outputs: Record<string, string> = {}
  const pattern = /^([^<\n]+)<<(.+)\n([\s\S]*?)\n\2$/gm
  for (const match of text.matchAll(pattern)) outputs[match[1]] = match[3]
  return outputs
}

async function runAction(inputs: Record<string, string>): Promise<ActionRun> {
  const dir = mkdtempSync(path.join(tmpdir(), 'action-run-'))
  const outputFile = path.join(dir, 'output')
  const summaryFile = path.join(dir, 'summary')
  writeFileSync(outputFile, '')
  writeFileSync(summaryFile, '')
  const inputEnv = Object.fromEntries(
    Object.entries(inputs).map(([name, value]) => [`INPUT_${name.toUpperCase()}`, value])
  )
  const child = spawn(process.execPath, [path.join(REPO_ROOT, 'dist/index.js')], {
    cwd: REPO_ROOT,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      GITHUB_OUTPUT: outputFile,
      GITHUB_STEP_SUMMARY: summaryFile,
      GITHUB_REPOSITORY: 'acme/web',
      GITHUB_SHA: '1234567890abcdef1234567890abcdef12345678',
      GITHUB_SERVER_URL: 'https://github.example',
      GITHUB_RUN_ID: '42',
      GITHUB_WORKSPACE: REPO_ROOT,
      RUNNER_TEMP: dir,
      ...inputEnv
    }
  })
  let stdout = ''
  child.stdout.on('data', chunk => (stdout += chunk))
  child.stderr.on('data', chunk => (stdout += chunk))
  const code = await new Promise<number>(resolve => child.on('close', status => resolve(status ?? -1)))
  const outputs = parseOutputFile(readFileSync(outputFile, 'utf8'))
  const summary = readFileSync(summaryFile, 'utf8')
  captured.push(stdout, summary, JSON.stringify(outputs))
  return { code, stdout, outputs, summary }
}

/** Asserts the status, showing the run's log when it differs. */
function expectStatus(run: ActionRun, status: string): void {
  if (run.outputs.status !== status) {
    throw new Error(`expected status=${status}, got status=${run.outputs.status}; the run printed:\n${run.stdout}`)
  }
}

/** A fresh env repo holding the demo app in its own namespace. */
async function envRepo(namespace: string): Promise<string> {
  const name = `e2e/${namespace}`
  const files: Record<string, string> = {}
  const base = path.join(REPO_ROOT, 'demo/environment/apps/web')
  for (const file of readdirSync(base)) {
    files[`apps/web/${file}`] = readFileSync(path.join(base, file), 'utf8')
      .replaceAll('REGISTRY/', `${env.registry}/`)
      .replace(/name: demo$/m, `name: ${namespace}`)
      .replaceAll('namespace: demo', `namespace: ${namespace}`)
  }
  await createRepo(name, files)
  return name
}

function commonInputs(repo: string, extra: Record<string, string>): Record<string, string> {
  return {
    image: `${env.registry}/demo/web`,
    'registry-insecure': 'true',
    'env-repo': repo,
    'env-path': 'apps/web',
    'env-token': env.githubToken,
    'github-api-url': env.githubApiUrl,
    kubeconfig,
    timeout: '90s',
    build: 'false',
    ...extra
  }
}

async function deploymentField(namespace: string, jsonpath: string): Promise<string> {
  const result = await kubectl(['-n', namespace, 'get', 'deploy/web', '-o', `jsonpath={${jsonpath}}`])
  if (result.code !== 0) throw new Error(`kubectl get deploy/web failed: ${result.stderr}`)
  return result.stdout.trim()
}

const deployedImage = (namespace: string): Promise<string> =>
  deploymentField(namespace, '.spec.template.spec.containers[0].image')

describe('the bundled action on the test bed', () => {
  const namespace = uniqueName('e2e')
  let repo = ''
  let goodDigest = ''
  const goodTag = `good-${namespace.slice(-6)}`

  // GitHub Deployments are recorded on the source repository (GITHUB_REPOSITORY of the run).
  const deploymentInputs = {
    environment: 'e2e',
    'environment-url': 'https://web.e2e.example',
    'github-token': env.githubToken
  }

  /** States of a Deployment's statuses, oldest first. */
  async function deploymentStates(id: string): Promise<string[]> {
    expect(id).toMatch(/^\d+$/)
    const response = await githubRequest<Array<{ state: string; id: number }>>(
      'GET',
      `/repos/acme/web/deployments/${id}/statuses`
    )
    return [...response.body].sort((a, b) => a.id - b.id).map(status => status.state)
  }

  beforeAll(async () => {
    await registerRepo('acme/web')
    repo = await envRepo(namespace)
    goodDigest = await buildImage(`${env.registry}/demo/web:${goodTag}`)
  })

  it('builds with buildah, commits, applies and waits: deployed', async () => {
    const run = await runAction(
      commonInputs(repo, {
        build: 'true',
        builder: 'buildah',
        context: 'demo/app',
        tag: `built-${namespace.slice(-6)}`,
        ...deploymentInputs
      })
    )
    expectStatus(run, 'deployed')
    expect(run.code).toBe(0)
    expect(run.outputs.digest).toMatch(/^sha256:[0-9a-f]{64}$/)
    expect(run.outputs['previous-image']).toBe(`${env.registry}/demo/web:initial`)
    expect(await deployedImage(namespace)).toBe(run.outputs.image)
    const log = await gitLog(repo, 'main')
    expect(log[0].sha).toBe(run.outputs['env-commit'])
    const resources = JSON.parse(run.outputs.resources) as Array<{ kind: string; status: string }>
    expect(resources.find(r => r.kind === 'Deployment')?.status).toBe('ready')
    expect(resources.map(r => r.kind)).toEqual(
      expect.arrayContaining(['Namespace', 'ConfigMap', 'Service', 'Deployment'])
    )
    expect(Number(run.outputs['rollout-seconds'])).toBeGreaterThan(0)
    expect(await deploymentStates(run.outputs['deployment-id'])).toEqual(['in_progress', 'success'])
    expect(run.summary).toContain('Deployed')
    expect(run.summary).toContain(run.outputs.image)
  })

  it('deploys an existing image (build: false), then an unchanged re-run commits and applies nothing', async () => {
    const first = await runAction(commonInputs(repo, { tag: goodTag }))
    expectStatus(first, 'deployed')
    expect(first.outputs.digest).toBe(goodDigest)
    const commits = (await gitLog(repo, 'main')).length
    const before = await deploymentField(namespace, '.metadata.resourceVersion')

    const again = await runAction(commonInputs(repo, { tag: goodTag }))
    expectStatus(again, 'unchanged')
    expect(again.code).toBe(0)
    expect(again.outputs['env-commit']).toBe('')
    expect((await gitLog(repo, 'main')).length).toBe(commits)
    expect(await deploymentField(namespace, '.metadata.resourceVersion')).toBe(before)
  })

  it('dry run: plans, prints the diff, commits and applies nothing', async () => {
    const tag = `plan-${namespace.slice(-6)}`
    await buildImage(`${env.registry}/demo/web:${tag}`)
    const commits = (await gitLog(repo, 'main')).length
    const run = await runAction(commonInputs(repo, { tag, 'dry-run': 'true' }))
    expectStatus(run, 'planned')
    expect(run.code).toBe(0)
    expect(run.stdout).toContain(`+          image: ${env.registry}/demo/web:${tag}@sha256:`)
    expect((await gitLog(repo, 'main')).length).toBe(commits)
    expect(await deployedImage(namespace)).toContain(goodTag)
  })

  it('commit only (apply: false): committed, the cluster untouched', async () => {
    const tag = `commit-${namespace.slice(-6)}`
    await buildImage(`${env.registry}/demo/web:${tag}`)
    const run = await runAction(commonInputs(repo, { tag, apply: 'false', kubeconfig: '' }))
    expectStatus(run, 'committed')
    expect(run.outputs['env-commit']).toMatch(/^[0-9a-f]{40}$/)
    expect(await gitShow(repo, 'main', 'apps/web/deployment.yaml')).toContain(`:${tag}@`)
    expect(await deployedImage(namespace)).toContain(goodTag)
    // put Git back in step with the cluster for the next tests
    expect((await runAction(commonInputs(repo, { tag: goodTag }))).outputs.status).toBe('deployed')
  })

  it('pull-request mode: proposed, the env branch untouched', async () => {
    const tag = `pr-${namespace.slice(-6)}`
    await buildImage(`${env.registry}/demo/web:${tag}`)
    const head = (await gitLog(repo, 'main'))[0].sha
    const run = await runAction(commonInputs(repo, { tag, 'commit-mode': 'pull-request', kubeconfig: '' }))
    expectStatus(run, 'proposed')
    expect(run.outputs['pull-request-url']).toMatch(/\/pull\/\d+$/)
    expect((await gitLog(repo, 'main'))[0].sha).toBe(head)
  })

  it('a crashing image fails fast, rolls back the cluster and reverts Git: rolled-back, exit 1', async () => {
    const tag = `crash-${namespace.slice(-6)}`
    await buildImage(`${env.registry}/demo/web:${tag}`, 'crashloop')
    const run = await runAction(commonInputs(repo, { tag, ...deploymentInputs }))
    expectStatus(run, 'rolled-back')
    expect(await deploymentStates(run.outputs['deployment-id'])).toEqual(['in_progress', 'failure'])
    expect(run.code).toBe(1)
    expect(run.stdout).toMatch(/deployment\/web: pod web-[a-z0-9-]+ container web: CrashLoopBackOff/)
    expect(run.outputs['revert-commit']).toMatch(/^[0-9a-f]{40}$/)
    expect(await deployedImage(namespace)).toContain(goodTag)
    expect(await gitShow(repo, 'main', 'apps/web/deployment.yaml')).toContain(`:${goodTag}@`)
    expect(run.summary).toContain('Rolled back')
    expect(run.summary).toContain('CrashLoopBackOff')
  })

  // Runs last (tests in a file run in order): scans what every run above printed and wrote.
  it('no secret appears in any log, output or summary', () => {
    expect(captured.length).toBeGreaterThanOrEqual(6 * 3)
    // Every secret the runs were given, as a user would store it and as it sits inside the kubeconfig.
    const secrets = [env.githubToken, env.githubReadonlyToken, env.registryPassword]
    for (const match of kubeconfig.matchAll(/(client-key-data|token|password): *(\S+)/g)) {
      secrets.push(match[2])
      if (match[1] === 'client-key-data') {
        secrets.push(
          ...Buffer.from(match[2], 'base64')
            .toString('utf8')
            .split('\n')
            .filter(line => line.length > 20)
        )
      }
    }
    // `::add-mask::` lines are how a step hands secrets to the runner, which never shows them.
    const everything = captured
      .join('\n')
      .split('\n')
      .filter(line => !line.startsWith('::add-mask::'))
      .join('\n')
    for (const secret of secrets) expect(everything.includes(secret)).toBe(false)
  })
})
