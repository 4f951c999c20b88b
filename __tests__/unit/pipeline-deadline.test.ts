// One deadline for the lock wait, the apply and the rollout; the rollback has its own budget.
// Virtual time: the lock is the real Lease lock against an in-memory apiserver, the rollout and
// rollback fakes that spend whatever budget they are given.
import { describe, expect, it } from '@jest/globals'
import { CliHost } from '../../src/host/cli-host.js'
import { KubeApiError, type KubeClient } from '../../src/kube/client.js'
import { acquireLease, microTime, type LeaseRecord } from '../../src/kube/lease.js'
import { type Clock } from '../../src/lib/deadline.js'
import { runPipeline } from '../../src/pipeline/pipeline.js'
import { FAKE_CONTEXT, FAKE_IMAGE, fakeStages, withCluster } from '../../test/helpers/fake-stages.js'

const KUBECONFIG = `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]
users: [{name: u, user: {token: t0ken}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
`
const context = FAKE_CONTEXT

/** Time moves only when someone sleeps. */
class VirtualClock implements Clock {
  readonly start = Date.parse('2026-01-01T00:00:00Z')
  private t = this.start
  now(): number {
    return this.t
  }
  async sleep(ms: number): Promise<void> {
    this.t += Math.max(0, ms)
    await Promise.resolve()
  }
  elapsedMs(): number {
    return this.t - this.start
  }
}

/** An apiserver holding one Lease, renewed by another run until `releasedAtMs`. */
function leaseServer(clock: VirtualClock, releasedAtMs: number): KubeClient {
  let version = 0
  let ours: LeaseRecord | undefined
  const request = async (method: string, _path: string, options: { body?: string } = {}) => {
    if (method === 'GET') {
      if (ours) return { status: 200, body: ours }
      if (clock.elapsedMs() >= releasedAtMs) throw new KubeApiError(404, 'NotFound', 'not found', 'GET lease')
      const body: LeaseRecord = {
        metadata: { name: 'lock', resourceVersion: String(++version) },
        spec: { holderIdentity: 'other-run', leaseDurationSeconds: 30, renewTime: microTime(new Date(clock.now())) }
      }
      return { status: 200, body }
    }
    if (method === 'POST' || method === 'PUT') {
      ours = { ...(JSON.parse(options.body ?? '{}') as LeaseRecord) }
      ours.metadata.resourceVersion = String(++version)
      return { status: 201, body: ours }
    }
    return { status: 200, body: {} }
  }
  return { request } as unknown as KubeClient
}

async function deployWithSlowRollout(inputs: Record<string, string>) {
  const clock = new VirtualClock()
  const seen: { rolloutBudgetMs?: number; rollbackBudgetMs?: number; rollbackStamp?: unknown } = {}
  // A rollout that never becomes ready and a slow rollback: each waits out what its deadline has left.
  const stages = withCluster(fakeStages().stages, (_cluster, host) => ({
    // The real Lease lock, waiting on the run's deadline.
    lock: (_key, holder, deadline) =>
      acquireLease(leaseServer(clock, 1200), 'default', 'lock', holder, deadline, {
        pollEveryMs: 100,
        log: line => host.info(line),
        warn: line => host.warning(line)
      }),
    waitForRollout: async (_applied, deadline) => {
      seen.rolloutBudgetMs = deadline.remainingMs()
      await deadline.sleep(60_000)
      return { ok: false, resources: [], failure: 'timed out', seconds: seen.rolloutBudgetMs / 1000 }
    },
    rollback: async (_files, _applied, deadline, stamp) => {
      seen.rollbackBudgetMs = deadline.remainingMs()
      seen.rollbackStamp = stamp
      await deadline.sleep(60_000)
      return { ok: true, resources: [], seconds: deadline.budgetMs / 1000 }
    }
  }))
  const logs: string[] = []
  const result = await runPipeline(
    new CliHost(text => logs.push(text)),
    {
      image: FAKE_IMAGE,
      tag: 'v2',
      build: 'false',
      'env-repo': 'acme/env',
      'env-path': 'apps/web',
      'env-token': 'env-token-secret',
      kubeconfig: KUBECONFIG,
      ...inputs
    },
    stages,
    context,
    undefined,
    clock
  )
  return { status: result.status, elapsedMs: clock.elapsedMs(), seen, log: logs.join('') }
}

describe('one deadline for a run', () => {
  it('a held lock plus a slow rollout end at the timeout, then the rollback budget: not 3 × timeout', async () => {
    const run = await deployWithSlowRollout({ timeout: '2s', 'rollback-timeout': '1s' })
    expect(run.log).toContain('waiting for deploy lock default/lock, held by other-run')
    expect(run.status).toBe('rolled-back')
    // The lock was free after 1.2 s: the rollout had only what was left of the 2 s.
    expect(run.seen.rolloutBudgetMs).toBe(800)
    expect(run.seen.rollbackBudgetMs).toBe(1000)
    expect(run.elapsedMs).toBe(2000 + 1000)
  })

  it('the rollback budget defaults to the timeout', async () => {
    const run = await deployWithSlowRollout({ timeout: '2s' })
    expect(run.seen.rollbackBudgetMs).toBe(2000)
    expect(run.elapsedMs).toBe(2000 + 2000)
  })

  it('the rollback re-applies with the deploy stamp of the commit it restores', async () => {
    const run = await deployWithSlowRollout({ timeout: '2s' })
    expect(run.seen.rollbackStamp).toEqual({
      envCommit: 'base',
      repository: 'acme/app',
      sha: context.sha,
      runUrl: context.runUrl
    })
  })
})
