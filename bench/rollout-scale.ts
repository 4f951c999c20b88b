// Scale: N Deployments spread over N/10 namespaces, rolled out at once, tracked by one tracker
// in a child process (as the CLI tracks them), for N = 50 … 300. Prints, per N, the tracker's
// wall time over the slowest single rollout (its apply → the apiserver shows it complete by
// kubectl's rule, polled every 250 ms) and the tracking process's peak RSS.
// Goals at 300 in 30 namespaces: ratio <= 1.2, peak RSS <= 250 MB. Run through bench/rollout-scale.mjs.
import { spawn } from 'node:child_process'
import { setTimeout as sleep } from 'node:timers/promises'
import { type KubeClient } from '../src/kube/client.js'
import { trackRollout, type TrackTarget } from '../src/kube/rollout/index.js'
import { type LiveObject } from '../src/kube/rollout/objects.js'
import { rolloutStatus } from '../src/kube/rollout/status.js'
import {
  apply,
  clientFor,
  createNamespace,
  deleteNamespace,
  deployment,
  target,
  testbedKubeConfig,
  testImage
} from '../test/helpers/rollout.js'

const LABEL = 'bench.gitops-push-deploy/scale'

interface ChildReport {
  ok: boolean
  failure?: string
  wallMs: number
  maxRssKb: number
}

/** The tracking process: targets on stdin, one JSON line (outcome, wall, peak RSS) on stdout. */
export async function child(): Promise<void> {
  let input = ''
  for await (const chunk of process.stdin) input += chunk
  const { targets, since } = JSON.parse(input) as { targets: TrackTarget[]; since: string }
  const start = Date.now()
  const client = clientFor(testbedKubeConfig())
  const outcome = await trackRollout(client, targets, {
    timeoutMs: 900_000,
    since: new Date(since),
    log: () => undefined
  })
  client.close()
  const report: ChildReport = {
    ok: outcome.ok,
    failure: outcome.failure,
    wallMs: Date.now() - start,
    maxRssKb: process.resourceUsage().maxRSS
  }
  process.stdout.write(`${JSON.stringify(report)}\n`)
}

async function runChild(script: string, targets: TrackTarget[], since: Date): Promise<ChildReport> {
  const proc = spawn(process.execPath, [script, '--track'], { stdio: ['pipe', 'pipe', 'inherit'] })
  let out = ''
  proc.stdout.on('data', chunk => (out += chunk))
  proc.stdin.end(JSON.stringify({ targets, since: since.toISOString() }))
  await new Promise(resolve => proc.on('close', resolve))
  return JSON.parse(out.trim().split('\n').pop() ?? '{}') as ChildReport
}

/** When each Deployment is first seen complete (kubectl's rule at its applied generation), by polling. */
async function completions(
  client: KubeClient,
  namespaces: string[],
  generations: Map<string, number | undefined>,
  done: AbortSignal
): Promise<Map<string, number>> {
  const seen = new Map<string, number>()
  while (!done.aborted && seen.size < generations.size) {
    for (const ns of namespaces) {
      const { body } = await client.request<{ items: LiveObject[] }>(
        'GET',
        `/apis/apps/v1/namespaces/${ns}/deployments`,
        {
          query: { labelSelector: LABEL }
        }
      )
      const now = Date.now()
      for (const d of body?.items ?? []) {
        const key = `${ns}/${d.metadata.name}`
        if (!seen.has(key) && rolloutStatus('Deployment', d, generations.get(key)).state === 'ready') seen.set(key, now)
      }
    }
    await sleep(250)
  }
  return seen
}

export async function parent(script: string, counts: number[]): Promise<void> {
  const kc = testbedKubeConfig()
  const client = clientFor(kc)
  const image = await testImage('app')
  for (const count of counts) {
    const nsCount = Math.max(1, Math.round(count / 10))
    const namespaces = await Promise.all(Array.from({ length: nsCount }, () => createNamespace(client, 'bench-scale')))
    try {
      const objects = Array.from({ length: count }, (_, i) => {
        const object = deployment(namespaces[i % nsCount], `web-${i}`, image, { replicas: 1 })
        object.metadata = { ...object.metadata, labels: { [LABEL]: 'true' } } as typeof object.metadata
        return object
      })
      const since = new Date()
      const appliedAt = new Map<string, number>()
      const generations = new Map<string, number | undefined>()
      const targets = await Promise.all(
        objects.map(async object => {
          const { generation } = await apply(client, object)
          const key = `${object.metadata.namespace}/${object.metadata.name}`
          appliedAt.set(key, Date.now())
          generations.set(key, generation)
          return target(object, generation)
        })
      )
      const stopPolling = new AbortController()
      const seen = completions(client, namespaces, generations, stopPolling.signal)
      const report = await runChild(script, targets, since)
      const complete = await seen
      stopPolling.abort()
      if (!report.ok) throw new Error(`${count} rollouts failed: ${report.failure}`)
      const slowest = Math.max(...[...complete].map(([key, at]) => at - (appliedAt.get(key) ?? at)))
      console.log(
        `${String(count).padStart(3)} Deployments in ${String(nsCount).padStart(2)} namespaces: tracker wall ` +
          `${(report.wallMs / 1000).toFixed(1)} s, slowest single ${(slowest / 1000).toFixed(1)} s, ratio ` +
          `${(report.wallMs / slowest).toFixed(2)} (goal <= 1.2); tracker peak RSS ${(report.maxRssKb / 1024).toFixed(0)} MB (goal <= 250)`
      )
    } finally {
      await Promise.all(namespaces.map(ns => deleteNamespace(client, ns)))
    }
  }
}
