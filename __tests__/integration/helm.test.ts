// Helm charts as deploy units, through the whole pipeline on the test bed: a local chart with a
// sub-chart and hooks, a values-only deploy, a rollback of a crash-looping image set through
// values, and a chart pulled from the htpasswd OCI registry (pushed there with `helm push`).
import { beforeAll, describe, expect, it } from '@jest/globals'
import { execFile } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { runPipeline } from '../../src/pipeline/pipeline.js'
import { realStages } from '../../src/stages.js'
import { createNamespace, getObject, RecordingHost, testClient } from '../../test/helpers/kube.js'
import { buildImage, createRepo, gitDir, githubRequest, testbedEnv, uniqueName } from '../../test/helpers/testbed.js'

const execFileAsync = promisify(execFile)
const env = testbedEnv()
const kubeconfig = readFileSync(env.kubeconfig ?? '', 'utf8')
const client = testClient()
const namespace = uniqueName('helm')
const context = { serverUrl: 'https://github.example', apiUrl: env.githubApiUrl, workspace: process.cwd() }

/** The local chart `web`: a Deployment from values, a sub-chart, and pre/post/test hooks. */
function webChart(): Record<string, string> {
  const job = (name: string, hook: string, policy: string): string =>
    [
      'apiVersion: batch/v1',
      'kind: Job',
      'metadata:',
      `  name: {{ .Release.Name }}-${name}`,
      '  annotations:',
      `    helm.sh/hook: ${hook}`,
      `    helm.sh/hook-delete-policy: ${policy}`,
      'spec:',
      '  backoffLimit: 0',
      '  template:',
      '    spec:',
      '      restartPolicy: Never',
      '      containers:',
      `        - name: ${name}`,
      '          image: {{ .Values.hookImage | quote }}',
      ''
    ].join('\n')
  return {
    'chart/Chart.yaml': [
      'apiVersion: v2',
      'name: web',
      'version: 0.1.0',
      'dependencies:',
      '  - name: cache',
      '    version: 0.1.0',
      ''
    ].join('\n'),
    'chart/values.yaml':
      'replicas: 1\nimage:\n  repository: example.invalid/web\n  tag: unset\nhookImage: example.invalid/tools:unset\n',
    'chart/.helmignore': '*.md\n',
    'chart/templates/_helpers.tpl': '{{- define "web.labels" -}}\napp: {{ .Release.Name }}\n{{- end }}\n',
    'chart/templates/deployment.yaml': [
      'apiVersion: apps/v1',
      'kind: Deployment',
      'metadata:',
      '  name: {{ .Release.Name }}',
      '  labels: {{- include "web.labels" . | nindent 4 }}',
      'spec:',
      '  replicas: {{ .Values.replicas }}',
      '  selector:',
      '    matchLabels: {{- include "web.labels" . | nindent 6 }}',
      '  template:',
      '    metadata:',
      '      labels: {{- include "web.labels" . | nindent 8 }}',
      '    spec:',
      '      containers:',
      '        - name: web',
      '          image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"',
      ''
    ].join('\n'),
    'chart/templates/migrate.yaml': job('migrate', 'pre-install,pre-upgrade', 'before-hook-creation'),
    'chart/templates/smoke.yaml': job('smoke', 'post-install,post-upgrade', 'hook-succeeded'),
    'chart/templates/test.yaml': job('test', 'test', 'before-hook-creation'),
    'chart/charts/cache/Chart.yaml': 'apiVersion: v2\nname: cache\nversion: 0.1.0\n',
    'chart/charts/cache/values.yaml': 'size: 64\n',
    'chart/charts/cache/templates/configmap.yaml': [
      'apiVersion: v1',
      'kind: ConfigMap',
      'metadata:',
      '  name: {{ .Release.Name }}-cache',
      'data:',
      '  size: "{{ .Values.size }}"',
      ''
    ].join('\n')
  }
}

function inputs(repo: string, image: string, tag: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    image,
    tag,
    build: 'false',
    'registry-insecure': 'true',
    'env-repo': repo,
    'env-path': 'apps/web',
    'env-token': env.githubToken,
    'github-api-url': env.githubApiUrl,
    kubeconfig,
    namespace,
    timeout: '90s',
    pin: 'tag',
    ...extra
  }
}

async function deploy(raw: Record<string, string>): Promise<{ status: string; host: RecordingHost }> {
  const host = new RecordingHost()
  const { status } = await runPipeline(host, raw, realStages, context)
  return { status, host }
}

function expectStatus(run: { status: string; host: RecordingHost }, status: string): void {
  if (run.status !== status) throw new Error(`expected ${status}, got ${run.status}:\n${run.host.lines.join('\n')}`)
}

async function git(repo: string, ...args: string[]): Promise<string> {
  return (await execFileAsync('git', ['--git-dir', gitDir(repo), ...args])).stdout
}

interface Deployment {
  metadata: { generation: number }
  spec: { template: { spec: { containers: Array<{ image: string }> } } }
}
interface Job {
  metadata: { uid: string; annotations?: Record<string, string> }
  status?: { succeeded?: number; completionTime?: string }
}

const deploymentImage = async (name: string): Promise<string | undefined> =>
  (await getObject<Deployment>(client, `/apis/apps/v1/namespaces/${namespace}/deployments/${name}`))?.spec.template.spec
    .containers[0].image
const job = (name: string): Promise<Job | undefined> =>
  getObject<Job>(client, `/apis/batch/v1/namespaces/${namespace}/jobs/${name}`)

describe('Helm charts on the test bed', () => {
  const image = `${env.registry}/helm/web`
  const repo = `helm/${uniqueName('env')}`
  const tools = `${env.registry}/helm/tools`

  beforeAll(async () => {
    await createNamespace(client, namespace)
    for (const tag of ['v2', 'v3']) await buildImage(`${image}:${tag}`)
    await buildImage(`${image}:crash`, 'crashloop')
    // The hooks run a tools image of their own: the crash-looping app image must not stop them.
    await buildImage(`${tools}:v1`)
    const chart = Object.fromEntries(Object.entries(webChart()).map(([file, text]) => [`apps/web/${file}`, text]))
    await createRepo(repo, {
      ...chart,
      'apps/web/helm-chart.yaml': 'chart: ./chart\nreleaseName: web\nvaluesFiles: [values-prod.yaml]\n',
      'apps/web/values-prod.yaml': [
        'replicas: 2',
        'image:',
        `  repository: ${image}`,
        '  tag: v1 # the deployed version',
        `hookImage: ${tools}:v1`,
        ''
      ].join('\n')
    })
  })

  it('deploys a local chart with a sub-chart: the image edit changes only the values file', async () => {
    const run = await deploy(inputs(repo, image, 'v2'))
    expectStatus(run, 'deployed')
    expect(await git(repo, 'diff', '--name-only', 'main~1', 'main')).toBe('apps/web/values-prod.yaml\n')
    expect(await deploymentImage('web')).toBe(`${image}:v2`)
    const cache = await getObject<{ data: Record<string, string> }>(
      client,
      `/api/v1/namespaces/${namespace}/configmaps/web-cache`
    )
    expect(cache?.data).toEqual({ size: '64' })
    // the pre-install hook ran to completion and is kept; the post hook deleted itself; test hooks never run
    expect((await job('web-migrate'))?.status?.succeeded).toBe(1)
    expect(await job('web-smoke')).toBeUndefined()
    expect(await job('web-test')).toBeUndefined()
    expect(run.host.lines).toContain(`Job ${namespace}/web-smoke deleted (Helm hook, hook-succeeded)`)
  })

  it('runs the pre-upgrade hook Job to completion before the Deployment changes', async () => {
    const before = await job('web-migrate')
    const run = await deploy(inputs(repo, image, 'v3'))
    expectStatus(run, 'deployed')
    const migrate = await job('web-migrate')
    expect(migrate?.metadata.uid).not.toBe(before?.metadata.uid) // before-hook-creation: a new Job
    expect(migrate?.status?.succeeded).toBe(1)
    const lines = run.host.lines
    const hookDone = lines.indexOf(`pre-hooks (weight 0) done: Job ${namespace}/web-migrate`)
    const deploymentApplied = lines.findIndex(l => l.startsWith(`Deployment ${namespace}/web applied`))
    expect(hookDone).toBeGreaterThanOrEqual(0)
    expect(deploymentApplied).toBeGreaterThan(hookDone)
    expect(await deploymentImage('web')).toBe(`${image}:v3`)
  })

  it('a values-only commit (replicas 2 → 3, same image) deploys with mode reconcile', async () => {
    const file = `/repos/${repo}/contents/apps/web/values-prod.yaml`
    const current = await githubRequest<{ sha: string; content: string }>('GET', file)
    const text = Buffer.from(current.body.content, 'base64').toString('utf8')
    expect(text).toContain('replicas: 2\n')
    const put = await githubRequest('PUT', file, {
      body: {
        message: 'scale web to 3',
        sha: current.body.sha,
        content: Buffer.from(text.replace('replicas: 2\n', 'replicas: 3\n')).toString('base64')
      }
    })
    expect(put.status).toBe(200)
    const { image: _, tag: __, ...raw } = inputs(repo, image, 'v3')
    const run = await deploy({ ...raw, mode: 'reconcile' })
    expectStatus(run, 'reconciled')
    const deployment = await getObject<{ spec: { replicas: number } }>(
      client,
      `/apis/apps/v1/namespaces/${namespace}/deployments/web`
    )
    expect(deployment?.spec.replicas).toBe(3)
    expect(await deploymentImage('web')).toBe(`${image}:v3`)
  })

  it('rolls back a crash-looping image set through values: Git reverted, the cluster back on v3', async () => {
    const run = await deploy(inputs(repo, image, 'crash', { timeout: '60s' }))
    expectStatus(run, 'rolled-back')
    expect(await deploymentImage('web')).toBe(`${image}:v3`)
    const values = await git(repo, 'show', 'main:apps/web/values-prod.yaml')
    expect(values).toMatch(/^ {2}tag: "?v3"? # the deployed version$/m)
  })

  it('a cancel while the pre-upgrade hook runs stops the wait on it: cancelled, nothing rolled back, the Deployment untouched', async () => {
    const heldRepo = `helm/${uniqueName('held')}`
    const hanging = `${env.registry}/helm/hanging`
    await buildImage(`${hanging}:v1`, 'unready') // a hook Job of this image never completes
    const chart = Object.fromEntries(Object.entries(webChart()).map(([file, text]) => [`apps/web/${file}`, text]))
    await createRepo(heldRepo, {
      ...chart,
      'apps/web/helm-chart.yaml': 'chart: ./chart\nreleaseName: held\nvaluesFiles: [values-prod.yaml]\n',
      'apps/web/values-prod.yaml': `replicas: 1\nimage:\n  repository: ${image}\n  tag: v1\nhookImage: ${tools}:v1\n`
    })
    expectStatus(await deploy(inputs(heldRepo, image, 'v2')), 'deployed')
    const file = `/repos/${heldRepo}/contents/apps/web/values-prod.yaml`
    const current = await githubRequest<{ sha: string; content: string }>('GET', file)
    const text = Buffer.from(current.body.content, 'base64').toString('utf8')
    const put = await githubRequest('PUT', file, {
      body: {
        message: 'hooks run the hanging tools',
        sha: current.body.sha,
        content: Buffer.from(text.replace(`${tools}:v1`, `${hanging}:v1`)).toString('base64')
      }
    })
    expect(put.status).toBe(200)

    const host = new RecordingHost()
    const cancel = new AbortController()
    // the timeout is far beyond the test's: only the cancel can end the wait on the hook
    const running = runPipeline(
      host,
      inputs(heldRepo, image, 'v3', { timeout: '10m' }),
      realStages,
      context,
      cancel.signal
    )
    while (!host.lines.some(line => line.startsWith('pre-hooks (weight 0):')))
      await new Promise(resolve => setTimeout(resolve, 100))
    cancel.abort(new Error('cancelled (SIGTERM)'))
    const { status, report } = await running
    if (status !== 'cancelled') throw new Error(`expected cancelled, got ${status}:\n${host.lines.join('\n')}`)
    expect(report.failure).toMatch(/^cancelled: the cluster was left as it is/)
    expect(report.failure).toContain('Helm pre-hook failed: rollout tracking was cancelled')
    expect(await deploymentImage('held')).toBe(`${image}:v2`)
    // Git keeps this run's commit: no revert ran
    expect(await git(heldRepo, 'show', 'main:apps/web/values-prod.yaml')).toMatch(/^ {2}tag: "?v3"?$/m)
  })

  it('deploys a chart from the htpasswd OCI registry with the registry login inputs', async () => {
    const registry = env.registryAuth
    const helmHome = mkdtempSync(path.join(tmpdir(), 'helm-push-'))
    try {
      const chartDir = path.join(helmHome, 'hello')
      for (const [file, text] of Object.entries({
        'Chart.yaml': 'apiVersion: v2\nname: hello\nversion: 0.1.0\n',
        'values.yaml': 'image: {repository: example.invalid/hello, tag: unset}\n',
        'templates/deployment.yaml': webChart()['chart/templates/deployment.yaml'].replace(
          /\{\{- include "web.labels" \. \| nindent \d+ \}\}/g,
          '{app: hello}'
        )
      })) {
        mkdirSync(path.dirname(path.join(chartDir, file)), { recursive: true })
        writeFileSync(path.join(chartDir, file), text)
      }
      const helmEnv = { ...process.env, HELM_CONFIG_HOME: helmHome, HELM_REGISTRY_CONFIG: `${helmHome}/r.json` }
      await execFileAsync('helm', ['package', chartDir, '-d', helmHome], { env: helmEnv })
      const login = execFile(
        'helm',
        ['registry', 'login', registry, '-u', env.registryUser, '--password-stdin', '--plain-http'],
        {
          env: helmEnv
        }
      )
      login.stdin?.end(env.registryPassword)
      await new Promise((resolve, reject) =>
        login.on('close', code => (code === 0 ? resolve(code) : reject(new Error(`helm registry login: ${code}`))))
      )
      await execFileAsync('helm', ['push', `${helmHome}/hello-0.1.0.tgz`, `oci://${registry}/charts`, '--plain-http'], {
        env: helmEnv
      })
    } finally {
      rmSync(helmHome, { recursive: true, force: true })
    }

    const appImage = `${registry}/helm/hello`
    await buildImage(`${appImage}:v1`)
    const ociRepo = `helm/${uniqueName('oci')}`
    await createRepo(ociRepo, {
      'apps/web/helm-chart.yaml': [
        'chart: hello',
        `repoURL: oci://${registry}/charts`,
        'version: 0.1.0',
        'releaseName: hello',
        'valuesFiles: [values.yaml]',
        ''
      ].join('\n'),
      'apps/web/values.yaml': `replicas: 1\nimage: {repository: ${appImage}, tag: v0}\n`
    })
    const run = await deploy(
      inputs(ociRepo, appImage, 'v1', {
        'registry-username': env.registryUser,
        'registry-password': env.registryPassword
      })
    )
    expectStatus(run, 'deployed')
    expect(await deploymentImage('hello')).toBe(`${appImage}:v1`)
    expect(run.host.lines.join('\n')).not.toContain(env.registryPassword)
  })
})
