// Workflow cancellation: the runner signals the step's process (SIGINT, then SIGTERM). The CLI,
// signalled mid-rollout on the test bed, stops tracking, releases the lock, removes its temp
// files, records the GitHub Deployment as `error`, reports `cancelled` and exits 1 within 5 s.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {
  buildImage,
  createRepo,
  githubRequest,
  kubectl,
  registerRepo,
  testbedEnv,
  uniqueName,
  waitFor
} from '../../test/helpers/testbed.js'
import { cliArgs, startCli } from '../../test/helpers/cli.js'

const env = testbedEnv()
const namespace = uniqueName('cancel')
const runId = namespace.replace(/\D/g, '').slice(-9)
const runnerTemp = mkdtempSync(path.join(os.tmpdir(), 'cancel-runner-temp-'))
let image = ''

beforeAll(async () => {
  await registerRepo('acme/web')
  image = `${env.registry}/demo/web`
  await buildImage(`${image}:unready-${runId}`, 'unready')
})

afterAll(async () => {
  rmSync(runnerTemp, { recursive: true, force: true })
  await kubectl(['delete', 'namespace', namespace, '--wait=false'])
})

/** The env repo: a namespace and a Deployment whose new image never gets ready. */
async function envRepo(): Promise<string> {
  const repo = `cancel/${namespace}`
  await createRepo(repo, {
    'apps/web.yaml': [
      'apiVersion: v1',
      'kind: Namespace',
      'metadata:',
      `  name: ${namespace}`,
      '---',
      'apiVersion: apps/v1',
      'kind: Deployment',
      'metadata:',
      '  name: web',
      `  namespace: ${namespace}`,
      'spec:',
      '  replicas: 1',
      '  selector: { matchLabels: { app: web } }',
      '  template:',
      '    metadata: { labels: { app: web } }',
      '    spec:',
      '      containers:',
      '        - name: app',
      `          image: ${image}:old`,
      ''
    ].join('\n')
  })
  return repo
}

describe('cancelling the CLI mid-rollout', () => {
  it.each(['SIGINT', 'SIGTERM'] as const)(
    '%s: cancelled, lock released, no temp files, exit 1 within 5 s',
    async signal => {
      const repo = await envRepo()
      const run = startCli(
        cliArgs(env, {
          image,
          tag: `unready-${runId}`,
          envRepo: repo,
          envPath: 'apps',
          timeout: '5m',
          extra: ['--environment', 'cancel']
        }),
        {
          RUNNER_TEMP: runnerTemp,
          GITHUB_REPOSITORY: 'acme/web',
          GITHUB_RUN_ID: `${runId}${signal.length}`,
          'INPUT_GITHUB-TOKEN': env.githubToken,
          INPUT_KUBECONFIG: readFileSync(env.kubeconfig ?? '', 'utf8')
        }
      )
      const exited = run.done.then(result => ({ ...result, at: Date.now() }))

      // Mid-rollout: the tracker reports the Deployment's progress.
      await waitFor('the rollout to be tracked', async () => /deployment\/web .*updated/.test(run.stderr()), {
        timeoutMs: 120_000
      })
      const signalledAt = Date.now()
      run.child.kill(signal)
      const { code, at, outputs, stderr } = await exited

      expect(code).toBe(1)
      // The spec's own bound: the runner kills the process soon after its signals.
      expect(at - signalledAt).toBeLessThanOrEqual(5_000)
      expect(outputs.status).toBe('cancelled')
      expect(stderr).toContain(`${signal} received: cancelling`)
      expect(stderr).toMatch(/the cluster was left as it is \(Git and the cluster both hold /)
      expect(stderr).toContain('Cancelled (the cluster was left as it was)')

      // The cluster keeps the new image (no rollback), as Git does.
      const live = await kubectl([
        '-n',
        namespace,
        'get',
        'deploy/web',
        '-o',
        'jsonpath={.spec.template.spec.containers[0].image}'
      ])
      expect(live.stdout.startsWith(`${image}:unready-${runId}@sha256:`)).toBe(true)

      // The deploy lock of this run is gone.
      const leases = await kubectl(['get', 'leases', '-A', '-o', 'jsonpath={.items[*].spec.holderIdentity}'])
      expect(leases.stdout).not.toContain(`/actions/runs/${runId}${signal.length}`)

      // No temporary file of ours survives.
      expect(readdirSync(runnerTemp).filter(name => name.startsWith('gitops-push-deploy-'))).toEqual([])

      // The GitHub Deployment ends in error, described as cancelled.
      const statuses = await githubRequest<Array<{ id: number; state: string; description: string }>>(
        'GET',
        `/repos/acme/web/deployments/${outputs['deployment-id']}/statuses`
      )
      const last = [...statuses.body].sort((a, b) => a.id - b.id).at(-1)
      expect(last).toMatchObject({ state: 'error', description: 'cancelled' })
    }
  )
})
