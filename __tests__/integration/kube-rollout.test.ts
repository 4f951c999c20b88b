import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals'
import { setTimeout as sleep } from 'node:timers/promises'
import { waitFor } from '../../test/helpers/testbed.js'
import { type KubeConfig } from '@kubernetes/client-node'
import { type KubeClient } from '../../src/kube/client.js'
import { trackRollout, type RolloutOutcome, type TrackTarget } from '../../src/kube/rollout/index.js'
import {
  apply,
  ApiserverProxy,
  clientFor,
  createNamespace,
  daemonSet,
  deleteNamespace,
  deployment,
  firstSeen,
  job,
  kubeConfigVia,
  statefulSet,
  target,
  testbedKubeConfig,
  testImage,
  type Manifest
} from '../../test/helpers/rollout.js'

let kc: KubeConfig
let client: KubeClient
const images: Record<'good' | 'good2' | 'crashloop' | 'crashonce' | 'unready' | 'fail', string> = {
  good: '',
  good2: '',
  crashloop: '',
  crashonce: '',
  unready: '',
  fail: ''
}
const namespaces: string[] = []

beforeAll(async () => {
  kc = testbedKubeConfig()
  client = clientFor(kc)
  images.good = await testImage('app')
  images.good2 = await testImage('app2')
  images.crashloop = await testImage('app', 'crashloop')
  images.crashonce = await testImage('app', 'crashonce')
  images.unready = await testImage('app', 'unready')
  images.fail = await testImage('app', 'fail')
}, 600_000)

afterEach(async () => {
  await Promise.all(namespaces.splice(0).map(ns => deleteNamespace(client, ns)))
})

afterAll(async () => {
  await Promise.all(namespaces.map(ns => deleteNamespace(client, ns)))
})

async function namespace(): Promise<string> {
  const ns = await createNamespace(client, 'rollout')
  namespaces.push(ns)
  return ns
}

/** Applies the objects, then tracks them like the pipeline does. */
async function applyAndTrack(
  objects: Manifest[],
  options: { timeoutMs?: number; via?: KubeClient; log?: (line: string) => void } = {}
): Promise<RolloutOutcome> {
  const since = new Date()
  const targets: TrackTarget[] = []
  for (const object of objects) targets.push(target(object, (await apply(client, object)).generation))
  return trackRollout(options.via ?? client, targets, {
    timeoutMs: options.timeoutMs ?? 90_000,
    since,
    log: options.log ?? (() => undefined)
  })
}

describe('trackRollout on the test bed', () => {
  it('a Deployment rolls out, then rolls out a new image', async () => {
    const ns = await namespace()
    const lines: string[] = []
    const first = await applyAndTrack([deployment(ns, 'web', images.good)], { log: line => lines.push(line) })
    expect(first).toMatchObject({ ok: true, resources: [{ kind: 'Deployment', name: 'web', status: 'ready' }] })
    expect(first.resources[0].message).toBe('2/2 updated, 2/2 available')
    // Progress lines depend on timing (throttled, and a fast rollout may have none); the verdict line does not.
    expect(lines).toContainEqual(expect.stringMatching(/^deployment\/web ready: 2\/2 updated, 2\/2 available \(/))

    const second = await applyAndTrack([deployment(ns, 'web', images.good2)])
    expect(second.ok).toBe(true)
    expect(second.resources[0]).toMatchObject({ status: 'ready', message: '2/2 updated, 2/2 available' })
  })

  it('a StatefulSet, a DaemonSet and non-workload kinds together', async () => {
    const ns = await namespace()
    const configMap: Manifest = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'settings', namespace: ns },
      data: {}
    }
    const cronJob: Manifest = {
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: { name: 'nightly', namespace: ns },
      spec: { schedule: '0 3 * * *', jobTemplate: { spec: job(ns, 'x', images.good).spec } }
    }
    const outcome = await applyAndTrack([
      configMap,
      statefulSet(ns, 'db', images.good),
      daemonSet(ns, 'agent', images.good),
      cronJob
    ])
    expect(outcome.ok).toBe(true)
    expect(outcome.resources.map(r => [r.kind, r.status])).toEqual([
      ['ConfigMap', 'applied'],
      ['StatefulSet', 'ready'],
      ['DaemonSet', 'ready'],
      ['CronJob', 'applied']
    ])
    expect(outcome.resources[1].message).toBe('2/2 updated, 2/2 available')
  })

  it('a Job that completes, and one that fails', async () => {
    const ns = await namespace()
    const complete = await applyAndTrack([job(ns, 'migrate', images.good)])
    expect(complete.resources[0]).toMatchObject({ status: 'ready', message: 'complete, 1 succeeded' })

    const failed = await applyAndTrack([job(ns, 'broken', images.fail)])
    expect(failed.ok).toBe(false)
    expect(failed.resources[0]).toMatchObject({
      status: 'failed',
      message: expect.stringMatching(/^(Failed|FailureTarget): BackoffLimitExceeded/)
    })
    expect(failed.failure).toMatch(/^job\/broken: (Failed|FailureTarget): BackoffLimitExceeded/)
  })

  // Failed by the pod's ImagePullBackOff, not by the deadline; how soon after the pod shows it is
  // bench/rollout-run.mjs's failfast reading.
  it('a missing image fails on its pod showing ImagePullBackOff, with the kubelet message and events', async () => {
    const ns = await namespace()
    const outcome = await applyAndTrack([deployment(ns, 'web', `${process.env.REGISTRY}/rollout-missing:nope`)])
    expect(outcome.ok).toBe(false)
    expect(outcome.resources[0].status).toBe('failed')
    expect(outcome.failure).toMatch(/^deployment\/web: pod web-[a-z0-9]+-[a-z0-9]+ container app: ImagePullBackOff: /)
    expect(outcome.failure).toMatch(/Warning events:\n {4}pod\/web-\S+ Failed: Failed to pull image/)
  })

  it('a crash-looping image fails with CrashLoopBackOff', async () => {
    const ns = await namespace()
    const outcome = await applyAndTrack([deployment(ns, 'web', images.crashloop)])
    expect(outcome.ok).toBe(false)
    expect(outcome.failure).toMatch(/^deployment\/web: pod web-\S+ container app: CrashLoopBackOff: /)
  })

  it('an image that never gets ready fails on ProgressDeadlineExceeded', async () => {
    const ns = await namespace()
    const outcome = await applyAndTrack([
      deployment(ns, 'web', images.unready, { progressDeadlineSeconds: 10, replicas: 1 })
    ])
    expect(outcome.ok).toBe(false)
    expect(outcome.resources[0].message).toMatch(/^ProgressDeadlineExceeded: /)
  })

  it('a pod that no node can take fails after the unschedulable grace period', async () => {
    const ns = await namespace()
    const template = {
      metadata: { labels: { app: 'huge' } },
      spec: { containers: [{ name: 'app', image: images.good, resources: { requests: { cpu: '1000' } } }] }
    }
    const object = deployment(ns, 'huge', images.good, { replicas: 1, template })
    const since = new Date()
    const { generation } = await apply(client, object)
    const outcome = await trackRollout(client, [target(object, generation)], {
      timeoutMs: 60_000,
      since,
      log: () => undefined,
      graceMs: 2_000
    })
    expect(outcome.ok).toBe(false)
    expect(outcome.failure).toMatch(/^deployment\/huge: pod huge-\S+: Unschedulable: 0\/\d+ nodes are available/)
    expect(outcome.failure).toMatch(/pod\/huge-\S+ FailedScheduling: /)
  })

  it('an init container that crash-loops fails the rollout', async () => {
    const ns = await namespace()
    const template = {
      metadata: { labels: { app: 'web' } },
      spec: {
        initContainers: [{ name: 'migrate', image: images.crashloop }],
        containers: [{ name: 'app', image: images.good }]
      }
    }
    const outcome = await applyAndTrack([deployment(ns, 'web', images.good, { replicas: 1, template })])
    expect(outcome.ok).toBe(false)
    expect(outcome.failure).toMatch(/^deployment\/web: pod web-\S+ container migrate: (CrashLoopBackOff|Error): /)
  })

  it('a paused Deployment with a rollout pending fails at once, saying paused', async () => {
    const ns = await namespace()
    const outcome = await applyAndTrack([deployment(ns, 'web', images.good, { paused: true })], { timeoutMs: 60_000 })
    expect(outcome.ok).toBe(false)
    expect(outcome.resources[0]).toMatchObject({
      status: 'failed',
      message: expect.stringMatching(/^is paused \(spec.paused: true\) with a rollout pending/)
    })
  })

  it('a paused Deployment with nothing pending, beside a changing one, deploys', async () => {
    const ns = await namespace()
    expect((await applyAndTrack([deployment(ns, 'steady', images.good)])).ok).toBe(true)
    const outcome = await applyAndTrack([
      deployment(ns, 'steady', images.good, { paused: true }),
      deployment(ns, 'web', images.good2)
    ])
    expect(outcome.ok).toBe(true)
    expect(outcome.resources.map(r => [r.name, r.status, r.message])).toEqual([
      ['steady', 'ready', '2/2 updated, 2/2 available, paused with nothing pending'],
      ['web', 'ready', '2/2 updated, 2/2 available']
    ])
  })

  it('a quota hit by the surge pod (4 replicas, default strategy) recovers: deploys', async () => {
    const ns = await namespace()
    await apply(client, {
      apiVersion: 'v1',
      kind: 'ResourceQuota',
      metadata: { name: 'pods', namespace: ns },
      spec: { hard: { pods: '4' } }
    })
    // Admission refuses every pod until the quota controller has computed the quota's usage.
    await waitFor('the quota to be computed', async () => {
      const quota = await client.request<{ status?: { hard?: unknown } }>(
        'GET',
        `/api/v1/namespaces/${ns}/resourcequotas/pods`
      )
      return quota.body?.status?.hard !== undefined
    })
    expect((await applyAndTrack([deployment(ns, 'web', images.good, { replicas: 4 })])).ok).toBe(true)
    const refused = firstSeen(client, `/apis/apps/v1/namespaces/${ns}/replicasets`, rs =>
      (rs.status?.conditions ?? []).some(c => c.type === 'ReplicaFailure' && c.status === 'True')
    )
    let outcome: RolloutOutcome
    try {
      outcome = await applyAndTrack([deployment(ns, 'web', images.good2, { replicas: 4 })])
    } finally {
      refused.stop()
    }
    expect(outcome).toMatchObject({ ok: true, resources: [{ status: 'ready', message: '4/4 updated, 4/4 available' }] })
    // The case was exercised: a ReplicaSet was refused a pod (the surge pod) at least once.
    expect(await refused.at).not.toBeNaN()
  })

  it('a crash loop fails once a new pod restarted more than failures-allowed (1) times', async () => {
    const ns = await namespace()
    const outcome = await applyAndTrack([deployment(ns, 'web', images.crashloop, { replicas: 1 })])
    expect(outcome.ok).toBe(false)
    expect(outcome.failure).toMatch(
      /^deployment\/web: pod web-\S+ container app: CrashLoopBackOff: .*\((\d+) restarts, 1 allowed\)/
    )
  })

  it('a pod that crashes once (failures-allowed 1, the default) deploys', async () => {
    const ns = await namespace()
    const outcome = await applyAndTrack([deployment(ns, 'web', images.crashonce, { replicas: 1 })])
    expect(outcome).toMatchObject({ ok: true, resources: [{ status: 'ready', message: '1/1 updated, 1/1 available' }] })
  })

  it('the annotation gitops-push-deploy/failures-allowed: "0" makes the first crash fail', async () => {
    const ns = await namespace()
    const object = deployment(ns, 'web', images.crashonce, { replicas: 1 })
    object.metadata = {
      ...object.metadata,
      annotations: { 'gitops-push-deploy/failures-allowed': '0' }
    } as typeof object.metadata
    const outcome = await applyAndTrack([object])
    expect(outcome.ok).toBe(false)
    expect(outcome.failure).toMatch(/^deployment\/web: pod web-\S+ container app: CrashLoopBackOff: /)
  })

  it('a suspended Job does not block: done, saying it is suspended', async () => {
    const ns = await namespace()
    const suspended = job(ns, 'later', images.good)
    const outcome = await applyAndTrack([{ ...suspended, spec: { ...(suspended.spec as object), suspend: true } }])
    expect(outcome.ok).toBe(true)
    expect(outcome.resources[0]).toMatchObject({
      status: 'ready',
      message: expect.stringMatching(/^suspended \(spec.suspend: true\)/)
    })
  })

  it('on timeout, reports each unfinished workload with its last progress', async () => {
    const ns = await namespace()
    // Long enough for the pod to exist whatever the load, so that it can be named.
    const outcome = await applyAndTrack([deployment(ns, 'web', images.unready, { replicas: 1 })], {
      timeoutMs: 15_000
    })
    expect(outcome.ok).toBe(false)
    expect(outcome.resources[0]).toMatchObject({ status: 'timeout', message: expect.stringMatching(/updated|observe/) })
    expect(outcome.failure).toMatch(/^timed out after 15s waiting for:\n {2}deployment\/web: /)
    // The pods that never got ready are named, with their Ready condition.
    expect(outcome.failure).toMatch(/\n {4}Pods not ready:\n {6}pod web-\S+: (Ready=False|no Ready condition)/)
  })

  it('one failing workload stops the others, which are reported as aborted', async () => {
    const ns = await namespace()
    const outcome = await applyAndTrack([
      deployment(ns, 'slow', images.unready, { replicas: 1 }),
      deployment(ns, 'broken', images.crashloop, { replicas: 1 })
    ])
    expect(outcome.ok).toBe(false)
    expect(outcome.resources.map(r => [r.name, r.status])).toEqual([
      ['slow', 'aborted'],
      ['broken', 'failed']
    ])
    expect(outcome.resources[0].message).toMatch(/^stopped at: /)
  })

  describe('through a proxy that cuts connections', () => {
    let proxy: ApiserverProxy
    let proxied: KubeClient

    beforeAll(async () => {
      proxy = new ApiserverProxy(new URL(kc.getCurrentCluster()?.server ?? ''))
      await proxy.up()
      proxied = clientFor(kubeConfigVia(kc, proxy.url))
    })

    afterAll(async () => {
      proxied.close()
      await proxy.down()
    })

    it('watches cut mid-rollout resume and reach the right verdict', async () => {
      const ns = await namespace()
      let cutter: NodeJS.Timeout | undefined
      let resetsMidRollout = 0
      // From the first progress line on (watches open, rollout under way), reset every connection.
      const log = (line: string): void => {
        if (cutter || !line.includes('updated')) return
        cutter = setInterval(() => proxy.cut(), 200)
        proxy.cut()
        resetsMidRollout = proxy.resets
      }
      try {
        const outcome = await applyAndTrack([deployment(ns, 'web', images.good, { replicas: 3 })], {
          via: proxied,
          log
        })
        expect(outcome).toMatchObject({
          ok: true,
          resources: [{ status: 'ready', message: '3/3 updated, 3/3 available' }]
        })
      } finally {
        clearInterval(cutter)
      }
      expect(resetsMidRollout).toBeGreaterThan(0)
    })

    it('an apiserver unreachable for seconds mid-rollout: reconnects with backoff and still fails fast', async () => {
      const ns = await namespace()
      const lines: string[] = []
      // Down 0.5 s into the rollout, back 4 s later; awaited, so the proxy is up again when the test ends.
      const outage = (async () => {
        await sleep(500)
        await proxy.down()
        await sleep(4_000)
        await proxy.up()
      })()
      try {
        const outcome = await applyAndTrack([deployment(ns, 'web', images.crashloop)], {
          via: proxied,
          log: line => lines.push(line)
        })
        expect(outcome.ok).toBe(false)
        expect(outcome.failure).toMatch(/CrashLoopBackOff/)
      } finally {
        await outage
      }
      expect(lines.some(l => /retrying$/.test(l))).toBe(true)
    })
  })
})
