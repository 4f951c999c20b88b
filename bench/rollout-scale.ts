// Scale: N Deployments (1 replica) spread over N/10 namespaces, rolled out at once, tracked by one
// tracker in a child process loaded before the apply (as the CLI tracks them), for N = 50 … 300.
// Prints, per N, the tracker's wall time (targets handed over → verdict) over the slowest single
// rollout (its apply → a cluster-wide watch sees it complete by kubectl's rule), the tracking
// process's peak RSS, and a progress line every 10 s.
// Goals at 300 in 30 namespaces: ratio <= 1.2, peak RSS <= 250 MB. Run through bench/rollout-scale.mjs.
//
// It starts its own control plane (the test bed's binary, test/testbed/controlplane) with a node per
// 100 workloads: a node takes 110 pods (the kubelet's default), and the test bed's two nodes hold 220,
// so 300 pods there leave 80 unschedulable. Images come from the test bed's registry.
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, openSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { KubeConfig } from '@kubernetes/client-node'
import { type KubeClient } from '../src/kube/client.js'
import { trackRollout, type TrackTarget } from '../src/kube/rollout/index.js'
import { type LiveObject } from '../src/kube/rollout/objects.js'
import { rolloutStatus } from '../src/kube/rollout/status.js'
import { streamWatch } from '../src/kube/rollout/watch.js'
import {
  apply,
  clientFor,
  createNamespace,
  deleteNamespace,
  deployment,
  target,
  testImage
} from '../test/helpers/rollout.js'

const LABEL = 'bench.gitops-push-deploy/scale'
const PODS_PER_NODE = 100
const PROGRESS_EVERY_MS = 10_000
const CLUSTER_START_TIMEOUT_MS = 300_000

interface ChildReport {
  ok: boolean
  failure?: string
  wallMs: number
  maxRssKb: number
  /** The peak before tracking: loading (here with esbuild's bundling) is not tracking's cost. */
  loadedMaxRssKb: number
}

/**
 * The tracking process: loaded before the apply, as the CLI is; targets on stdin, one JSON line
 * (outcome, wall from the targets' arrival to the verdict, peak RSS) on stdout.
 */
export async function child(): Promise<void> {
  const loadedMaxRssKb = process.resourceUsage().maxRSS
  process.stdout.write('loaded\n')
  let input = ''
  for await (const chunk of process.stdin) input += chunk
  const { kubeconfig, targets, since } = JSON.parse(input) as {
    kubeconfig: string
    targets: TrackTarget[]
    since: string
  }
  const start = Date.now()
  let verdicts = 0
  const progress = setInterval(() => {
    const seconds = Math.round((Date.now() - start) / 1000)
    console.error(`  tracker: ${verdicts}/${targets.length} verdicts after ${seconds} s`)
  }, PROGRESS_EVERY_MS)
  const client = clientFor(kubeConfigFrom(kubeconfig))
  const outcome = await trackRollout(client, targets, {
    timeoutMs: 900_000,
    since: new Date(since),
    log: line => {
      // Verdict lines read `deployment/web-1 ready: … (2.1s)`; watch trouble is worth seeing at once.
      if (/^\S+ (ready|failed|timeout|not-trackable): /.test(line)) verdicts++
      else if (line.startsWith('watch ')) console.error(`  tracker: ${line}`)
    }
  })
  clearInterval(progress)
  client.close()
  const report: ChildReport = {
    ok: outcome.ok,
    failure: outcome.failure,
    wallMs: Date.now() - start,
    maxRssKb: process.resourceUsage().maxRSS,
    loadedMaxRssKb
  }
  process.stdout.write(`${JSON.stringify(report)}\n`)
}

/** Starts the tracking process (the CLI is loaded before it applies); track() hands it the targets. */
function startChild(script: string, kubeconfig: string) {
  const proc = spawn(process.execPath, [script, '--track'], { stdio: ['pipe', 'pipe', 'inherit'] })
  let out = ''
  const closed = new Promise(resolve => proc.on('close', resolve))
  const loaded = new Promise<void>((resolve, reject) => {
    proc.stdout.on('data', chunk => {
      out += chunk
      if (out.startsWith('loaded\n')) resolve()
    })
    void closed.then(code => reject(new Error(`the tracking process exited with ${String(code)} before it was loaded`)))
  })
  return {
    loaded,
    async track(targets: TrackTarget[], since: Date): Promise<ChildReport> {
      proc.stdin.end(JSON.stringify({ kubeconfig, targets, since: since.toISOString() }))
      const code = await closed
      const last = out.trim().split('\n').pop()
      if (!last || last === 'loaded') throw new Error(`the tracking process exited with ${String(code)} and no report`)
      return JSON.parse(last) as ChildReport
    },
    kill: () => proc.kill()
  }
}

/**
 * One cluster-wide watch of the labelled Deployments: when each is first seen complete by kubectl's
 * rule at its applied generation. `applied` records a Deployment's generation once its apply answered.
 */
function watchCompletions(client: KubeClient) {
  const completeAt = new Map<string, number>()
  const generations = new Map<string, number | undefined>()
  const latest = new Map<string, LiveObject>()
  const stop = new AbortController()
  const check = (key: string, at: number): void => {
    const object = latest.get(key)
    if (completeAt.has(key) || !object || !generations.has(key)) return
    if (rolloutStatus('Deployment', object, generations.get(key)).state === 'ready') completeAt.set(key, at)
  }
  const url = client.url('/apis/apps/v1/deployments', { labelSelector: LABEL, watch: 'true' })
  const onEvent = ({ object }: { object: LiveObject }): void => {
    const key = `${object.metadata.namespace}/${object.metadata.name}`
    latest.set(key, object)
    check(key, Date.now())
  }
  const running = (async () => {
    // A new watch starts with the current state (ADDED events), so a reconnect misses nothing.
    while (!stop.signal.aborted) {
      await streamWatch(client, url, { onOpen: () => undefined, onEvent }, stop.signal, 120_000).catch(() => undefined)
    }
  })()
  return {
    completeAt,
    applied(key: string, generation: number | undefined): void {
      generations.set(key, generation)
      check(key, Date.now())
    },
    async stop(): Promise<void> {
      stop.abort()
      await running
    }
  }
}

/** Pods not yet running, and those of them no node was found for: where a stalled rollout waits. */
async function pendingPods(client: KubeClient): Promise<string> {
  const { body } = await client.request<{ items: LiveObject[] }>('GET', '/api/v1/pods', {
    query: { fieldSelector: 'status.phase=Pending' }
  })
  const pods = body?.items ?? []
  const unscheduled = pods.filter(p => !(p.spec as { nodeName?: string } | undefined)?.nodeName).length
  return `${pods.length} pods pending (${unscheduled} not scheduled)`
}

async function waitGone(client: KubeClient, namespaces: string[]): Promise<void> {
  for (const ns of namespaces) {
    while (
      await client.request('GET', `/api/v1/namespaces/${ns}`).then(
        () => true,
        () => false
      )
    )
      await sleep(500)
  }
}

function kubeConfigFrom(file: string): KubeConfig {
  const kc = new KubeConfig()
  kc.loadFromFile(file)
  return kc
}

/** Starts the test bed's control plane binary with enough nodes; stop() ends it. */
async function startCluster(nodes: number): Promise<{ kubeconfig: string; stop: () => Promise<void> }> {
  // Its progress shows on stderr: after a change to its Go sources the build takes minutes.
  const build = spawnSync('bash', ['test/testbed/controlplane/build.sh'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit']
  })
  const binary = build.stdout.trim().split('\n').pop() ?? ''
  if (build.status !== 0 || !existsSync(binary)) throw new Error('building the control plane failed (see above)')
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-rollout-scale-'))
  const kubeconfig = path.join(dir, 'kubeconfig')
  const logFile = path.join(dir, 'controlplane.log')
  const proc = spawn(
    binary,
    ['--state-dir', path.join(dir, 'state'), '--kubeconfig', kubeconfig, '--nodes', String(nodes)],
    { stdio: ['ignore', openSync(logFile, 'a'), openSync(logFile, 'a')] }
  )
  const exited = new Promise(resolve => proc.on('exit', resolve))
  const stop = async (): Promise<void> => {
    proc.kill('SIGTERM')
    await exited
    rmSync(dir, { recursive: true, force: true })
  }
  const start = Date.now()
  // The control plane writes its kubeconfig once nodes are Ready.
  while (!existsSync(kubeconfig)) {
    if (proc.exitCode !== null || Date.now() - start > CLUSTER_START_TIMEOUT_MS) {
      await stop()
      throw new Error(`the control plane did not start (its log was ${logFile})`)
    }
    await sleep(500)
  }
  console.log(`own control plane with ${nodes} node(s) ready after ${((Date.now() - start) / 1000).toFixed(0)} s`)
  return { kubeconfig, stop }
}

async function measure(script: string, kubeconfig: string, image: string, count: number) {
  const client = clientFor(kubeConfigFrom(kubeconfig))
  const nsCount = Math.max(1, Math.round(count / 10))
  const completions = watchCompletions(client)
  const tracker = startChild(script, kubeconfig)
  await tracker.loaded
  const namespaces = await Promise.all(Array.from({ length: nsCount }, () => createNamespace(client, 'bench-scale')))
  const start = Date.now()
  const progress = setInterval(() => {
    const seconds = Math.round((Date.now() - start) / 1000)
    void pendingPods(client).then(
      pods => console.log(`  ${seconds} s: ${completions.completeAt.size}/${count} complete in the apiserver; ${pods}`),
      (error: Error) => console.log(`  ${seconds} s: listing pods failed: ${error.message}`)
    )
  }, PROGRESS_EVERY_MS)
  try {
    const objects = Array.from({ length: count }, (_, i) => {
      const object = deployment(namespaces[i % nsCount], `web-${i}`, image, { replicas: 1 })
      object.metadata = { ...object.metadata, labels: { [LABEL]: 'true' } } as typeof object.metadata
      return object
    })
    const since = new Date()
    const appliedAt = new Map<string, number>()
    const targets = await Promise.all(
      objects.map(async object => {
        const { generation } = await apply(client, object)
        const key = `${object.metadata.namespace}/${object.metadata.name}`
        appliedAt.set(key, Date.now())
        completions.applied(key, generation)
        return target(object, generation)
      })
    )
    console.log(`  ${count} Deployments applied in ${((Date.now() - start) / 1000).toFixed(1)} s; tracking`)
    const report = await tracker.track(targets, since)
    if (!report.ok) throw new Error(`${count} rollouts failed: ${report.failure}`)
    while (completions.completeAt.size < count) await sleep(100)
    const slowest = Math.max(...[...completions.completeAt].map(([key, at]) => at - (appliedAt.get(key) ?? at)))
    console.log(
      `${String(count).padStart(3)} Deployments in ${String(nsCount).padStart(2)} namespaces: tracker wall ` +
        `${(report.wallMs / 1000).toFixed(1)} s, slowest single ${(slowest / 1000).toFixed(1)} s, ratio ` +
        `${(report.wallMs / slowest).toFixed(2)} (goal <= 1.2); tracker peak RSS ${(report.maxRssKb / 1024).toFixed(0)} MB (goal <= 250; ` +
        `${(report.loadedMaxRssKb / 1024).toFixed(0)} MB before tracking)`
    )
  } finally {
    clearInterval(progress)
    tracker.kill()
    await completions.stop()
    await Promise.all(namespaces.map(ns => deleteNamespace(client, ns)))
    // The next size starts on empty nodes.
    await waitGone(client, namespaces)
  }
}

export async function parent(script: string, counts: number[]): Promise<void> {
  const image = await testImage('app')
  const cluster = await startCluster(Math.ceil(Math.max(...counts) / PODS_PER_NODE))
  try {
    for (const count of counts) await measure(script, cluster.kubeconfig, image, count)
  } finally {
    await cluster.stop()
  }
}
