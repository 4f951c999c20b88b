// The README's workflow examples, run by a real workflow engine (nektos/act, built into .testbed/bin
// by the test bed) on this host with `uses: ./` against the test bed: the steps after the action read
// its outputs as the README shows. Only what cannot run here changes: steps using other actions than
// checkout (which act serves from the working tree) are left out (they would be downloaded), the
// trigger is any push, and the `with:` values point at the test bed.
import { beforeAll, describe, expect, it } from '@jest/globals'
import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { parse, stringify } from 'yaml'
import { buildImage, createRepo, gitShow, REPO_ROOT, testbedEnv, uniqueName } from '../../test/helpers/testbed.js'

const env = testbedEnv()
const README = readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8')
const WORK = path.join(REPO_ROOT, '.testbed', 'workflows')
const NODE24_BIN = path.join(REPO_ROOT, 'node_modules', 'node', 'bin')

type Step = { id?: string; uses?: string; with?: Record<string, unknown>; run?: string; if?: string; name?: string }
type Workflow = { name?: string; on?: unknown; jobs: Record<string, { steps: Step[]; [key: string]: unknown }> }

/** The README's yaml block under `heading`. */
function readmeBlock(heading: string): string {
  const start = README.indexOf(`### ${heading}\n`)
  if (start < 0) throw new Error(`README has no section "${heading}"`)
  const block = /```yaml\n([\s\S]*?)```/.exec(README.slice(start))
  if (!block) throw new Error(`README section "${heading}" has no yaml block`)
  return block[1]
}

/** A README example as a workflow (a block of steps gets a job around it). */
function workflowOf(block: string): Workflow {
  const fragment = block.startsWith('      - ')
  const parsed = parse(fragment ? block.replace(/^ {6}/gm, '') : block) as Workflow | Step[]
  if (Array.isArray(parsed)) {
    return { name: 'example', on: 'push', jobs: { deploy: { 'runs-on': 'ubuntu-latest', steps: parsed } } }
  }
  return parsed
}

/** The trigger is any push; steps that need the network go; the action step runs `./` with test-bed inputs over the README's. */
function forTestbed(workflow: Workflow, inputs: Record<string, string>): Workflow {
  workflow.on = 'push' // act would judge a branch filter against this checkout's branch
  for (const job of Object.values(workflow.jobs)) {
    delete job.environment
    // act's actions/checkout of this repository copies the working tree (no download)
    const runnable = (uses: string): boolean => /^(?:acme\/gitops-push-deploy|actions\/checkout)@/.test(uses)
    job.steps = job.steps.filter(step => !step.uses || runnable(step.uses))
    for (const step of job.steps) {
      if (!step.uses?.startsWith('acme/gitops-push-deploy')) continue
      step.uses = './'
      const kept = Object.fromEntries(
        Object.entries(step.with ?? {}).filter(([name]) => !['registry-username', 'registry-password'].includes(name))
      )
      step.with = { ...kept, ...inputs }
    }
  }
  return workflow
}

interface ActRun {
  code: number
  log: string
}

/** act on this host (no Docker), Node 24 first on PATH, secrets from a file, the text log. */
async function act(name: string, workflow: Workflow, secrets: Record<string, string>): Promise<ActRun> {
  mkdirSync(WORK, { recursive: true })
  const file = path.join(WORK, `${name}.yml`)
  writeFileSync(file, stringify(workflow))
  const secretFile = path.join(WORK, `${name}.secrets`)
  writeFileSync(
    secretFile,
    Object.entries(secrets)
      .map(([k, v]) => `${k}=${v}\n`)
      .join(''),
    { mode: 0o600 }
  )
  const child = spawn(
    'act',
    [
      'push',
      '--workflows',
      file,
      '--platform',
      'ubuntu-latest=-self-hosted',
      '--no-cache-server',
      '--secret-file',
      secretFile
    ],
    {
      cwd: REPO_ROOT,
      env: { ...process.env, PATH: `${NODE24_BIN}:${process.env.PATH}`, ACT_DISABLE_VERSION_CHECK: '1' }
    }
  )
  let log = ''
  child.stdout.on('data', chunk => (log += chunk))
  child.stderr.on('data', chunk => (log += chunk))
  const code = await new Promise<number>((resolve, reject) => {
    child.on('error', reject)
    child.on('close', status => resolve(status ?? -1))
  })
  return { code, log }
}

describe("the README's workflows, run by act", () => {
  const namespace = uniqueName('wf')
  const repo = `workflows/${namespace}`
  const goodTag = `good-${namespace.slice(-6)}`
  const crashTag = `crash-${namespace.slice(-6)}`
  const kubeconfig = Buffer.from(readFileSync(env.kubeconfig ?? '', 'utf8')).toString('base64')
  const secrets = { ENV_REPO_TOKEN: env.githubToken, PRODUCTION_KUBECONFIG: kubeconfig }
  const inputs = (tag: string): Record<string, string> => ({
    image: `${env.registry}/demo/web`,
    tag,
    build: 'false',
    'registry-insecure': 'true',
    'env-repo': repo,
    'env-path': 'apps/web',
    'env-token': '${{ secrets.ENV_REPO_TOKEN }}',
    kubeconfig: '${{ secrets.PRODUCTION_KUBECONFIG }}',
    'github-api-url': env.githubApiUrl,
    timeout: '90s'
  })

  beforeAll(async () => {
    if (!existsSync(path.join(REPO_ROOT, '.testbed', 'bin', 'act'))) {
      throw new Error('act is not in .testbed/bin: run npm run testbed:up (it builds act with gotool.sh)')
    }
    const files: Record<string, string> = {}
    const base = path.join(REPO_ROOT, 'demo/environment/apps/web')
    for (const file of ['namespace.yaml', 'configmap.yaml', 'deployment.yaml', 'service.yaml']) {
      const text = readFileSync(path.join(base, file), 'utf8')
      files[`apps/web/${file}`] = text
        .replaceAll('REGISTRY/', `${env.registry}/`)
        .replace(/name: demo$/m, `name: ${namespace}`)
        .replaceAll('namespace: demo', `namespace: ${namespace}`)
    }
    await createRepo(repo, files)
    await buildImage(`${env.registry}/demo/web:${goodTag}`)
    await buildImage(`${env.registry}/demo/web:${crashTag}`, 'crashloop')
  }, 600_000)

  it('One environment: deploys, and the next step reads image and rollout-seconds', async () => {
    const run = await act('deploy', forTestbed(workflowOf(readmeBlock('One environment')), inputs(goodTag)), secrets)
    if (run.code !== 0) throw new Error(`act failed (${run.code}):\n${run.log}`)
    expect(run.log).toMatch(
      new RegExp(`\\| deployed ${env.registry}/demo/web:${goodTag}@sha256:[0-9a-f]{64} in \\d+\\.\\d+s`)
    )
    expect(await gitShow(repo, 'main', 'apps/web/deployment.yaml')).toContain(`:${goodTag}@sha256:`)
    expect(run.log).not.toContain(env.githubToken)
  }, 600_000)

  it('Reacting to the outcome: a crash-looping image; the always() step reads status, revert-commit, resources', async () => {
    const run = await act(
      'outcome',
      forTestbed(workflowOf(readmeBlock('Reacting to the outcome')), inputs(crashTag)),
      secrets
    )
    expect(run.code).not.toBe(0) // the action's step failed the job
    expect(run.log).toContain('| status=rolled-back')
    expect(run.log).toMatch(/\| revert-commit=[0-9a-f]{40}\n/)
    expect(run.log).toMatch(/\| first resource=\w+ \w+/)
    expect(await gitShow(repo, 'main', 'apps/web/deployment.yaml')).toContain(`:${goodTag}@sha256:`)
    expect(run.log).not.toContain(env.githubToken)
  }, 600_000)
})
