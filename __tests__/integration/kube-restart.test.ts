// A real apiserver restart mid-rollout. The test runs its own control plane (the test bed's
// binary, a state dir of its own, so the shared cluster is left alone), stops it while a rollout
// is tracked and starts it again with --keep-state (same etcd data, ports and certificates):
// the tracker's watches resume, list again after 410 Gone, and reach the right verdict.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { KubeConfig } from '@kubernetes/client-node'
import { trackRollout } from '../../src/kube/rollout/index.js'
import { apply, clientFor, createNamespace, deployment, target, testImage } from '../../test/helpers/rollout.js'
import { REPO_ROOT, waitFor } from '../../test/helpers/testbed.js'

const stateDir = mkdtempSync(path.join(os.tmpdir(), 'restart-controlplane-'))
const kubeconfigFile = path.join(stateDir, 'kubeconfig')
let binary = ''
let controlPlane: ChildProcess | undefined

/** Starts the control plane of stateDir and waits until it wrote its kubeconfig (the cluster is ready). */
async function start(): Promise<void> {
  const child = spawn(
    binary,
    ['--state-dir', stateDir, '--kubeconfig', kubeconfigFile, '--keep-state', '--nodes', '1', '--ready-delay', '15s'],
    { stdio: ['ignore', 'ignore', 'inherit'] }
  )
  controlPlane = child
  await waitFor('the restarted control plane', async () => existsSync(kubeconfigFile) || child.exitCode !== null, {
    timeoutMs: 300_000
  })
  if (child.exitCode !== null) throw new Error(`the control plane exited with ${child.exitCode}`)
}

async function stop(): Promise<void> {
  const child = controlPlane
  controlPlane = undefined
  if (!child || child.exitCode !== null) return
  const exited = new Promise(resolve => child.on('exit', resolve))
  child.kill('SIGTERM')
  await exited
}

beforeAll(async () => {
  const build = execFileSync('bash', [path.join(REPO_ROOT, 'test/testbed/controlplane/build.sh')], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit']
  })
  binary = build.trim().split('\n').pop() ?? ''
  await start()
}, 1_800_000)

afterAll(async () => {
  await stop()
  rmSync(stateDir, { recursive: true, force: true })
})

describe('an apiserver restart mid-rollout', () => {
  it('the tracker resumes (410 Gone: lists again) and reaches the right verdict', async () => {
    const kc = new KubeConfig()
    kc.loadFromFile(kubeconfigFile)
    const client = clientFor(kc)
    const ns = await createNamespace(client, 'restart')
    const object = deployment(ns, 'web', await testImage('app'), { replicas: 2 })
    const since = new Date()
    const { generation } = await apply(client, object)

    const lines: string[] = []
    let restarted: Promise<void> | undefined
    const log = (line: string): void => {
      lines.push(line)
      // Once the rollout is under way (pods created, not ready for 15 s), restart the apiserver.
      if (!restarted && line.startsWith('deployment/web ') && line.includes('updated')) {
        restarted = (async () => {
          await stop()
          await start()
        })()
      }
    }
    const outcome = await trackRollout(client, [target(object, generation)], { timeoutMs: 240_000, since, log })
    await restarted

    expect(restarted).toBeDefined()
    if (!outcome.ok) console.log(`the tracker said:\n${lines.join('\n')}`)
    expect(outcome).toMatchObject({
      ok: true,
      resources: [{ status: 'ready', message: '2/2 updated, 2/2 available' }]
    })
    // The watches noticed the restart, and at least one listed again after 410 Gone.
    expect(lines.some(l => /retrying$/.test(l))).toBe(true)
    expect(lines.some(l => /resourceVersion expired \(410 Gone\); listing again$/.test(l))).toBe(true)
  }, 900_000)
})
