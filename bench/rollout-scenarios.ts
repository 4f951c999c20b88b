// Rollout tracker benchmarks on the test bed; run through bench/rollout-run.mjs (see its header).
//   latency   detection latency: Deployment status complete in the apiserver → verdict, ours and kubectl's
//   parallel  50 Deployments at once: our wall time / the slowest single rollout
//   failfast  a missing image: first ImagePullBackOff on a new pod → our verdict
import { spawn } from 'node:child_process'
import { type KubeClient } from '../src/kube/client.js'
import { trackRollout } from '../src/kube/rollout/index.js'
import { type LiveObject, type PodStatus } from '../src/kube/rollout/objects.js'
import { rolloutStatus } from '../src/kube/rollout/status.js'
import {
  apply,
  clientFor,
  createNamespace,
  deleteNamespace,
  deployment,
  firstSeen,
  target,
  testbedKubeConfig,
  testImage
} from '../test/helpers/rollout.js'

const KUBECTL = '/usr/bin/kubectl'

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]
}

function summary(name: string, values: number[], unit: string): string {
  const f = (v: number) => v.toFixed(unit === 'ms' ? 0 : 1)
  return `${name}: p50 ${f(percentile(values, 50))} ${unit}, p95 ${f(percentile(values, 95))} ${unit}, max ${f(Math.max(...values))} ${unit} (n=${values.length})`
}

/** When an independent watch first sees the Deployment complete by kubectl's rule at `generation`. */
function completeAt(client: KubeClient, namespace: string, name: string, generation: number | undefined) {
  return firstSeen(
    client,
    `/apis/apps/v1/namespaces/${namespace}/deployments?fieldSelector=metadata.name%3D${name}`,
    object => object.metadata.name === name && rolloutStatus('Deployment', object, generation).state === 'ready'
  )
}

function kubectlRolloutStatus(namespace: string, name: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(KUBECTL, ['rollout', 'status', `deployment/${name}`, '-n', namespace, '--timeout=180s'], {
      stdio: 'ignore'
    })
    child.on('error', reject)
    child.on('exit', code => (code === 0 ? resolve(Date.now()) : reject(new Error(`kubectl exited with ${code}`))))
  })
}

const silent = (): void => undefined

async function latency(client: KubeClient, rollouts: number): Promise<void> {
  const images = [await testImage('app'), await testImage('app2')]
  const ns = await createNamespace(client, 'bench-latency')
  const ours: number[] = []
  const kubectl: number[] = []
  try {
    for (let i = 0; i < rollouts; i++) {
      const object = deployment(ns, 'web', images[i % 2], { replicas: 1 })
      const since = new Date()
      const { generation } = await apply(client, object)
      const complete = completeAt(client, ns, 'web', generation)
      const kubectlDone = kubectlRolloutStatus(ns, 'web')
      const outcome = await trackRollout(client, [target(object, generation)], {
        timeoutMs: 180_000,
        since,
        log: silent
      })
      const oursAt = Date.now()
      if (!outcome.ok) throw new Error(`rollout ${i} failed: ${outcome.failure}`)
      const completeTime = await complete.at
      ours.push(oursAt - completeTime)
      kubectl.push((await kubectlDone) - completeTime)
    }
  } finally {
    await deleteNamespace(client, ns)
  }
  console.log(summary('detection latency, ours   ', ours, 'ms'))
  console.log(summary('detection latency, kubectl', kubectl, 'ms'))
  console.log('  goal: ours p50 <= 100 ms and no slower than kubectl rollout status')
}

async function parallel(client: KubeClient, count: number): Promise<void> {
  const image = await testImage('app')
  const ns = await createNamespace(client, 'bench-parallel')
  try {
    const objects = Array.from({ length: count }, (_, i) => deployment(ns, `web-${i}`, image, { replicas: 1 }))
    const since = new Date()
    const applied = await Promise.all(
      objects.map(async object => {
        const { generation } = await apply(client, object)
        return {
          object,
          generation,
          appliedAt: Date.now(),
          complete: completeAt(client, ns, object.metadata.name, generation)
        }
      })
    )
    const trackStart = Date.now()
    const outcome = await trackRollout(
      client,
      applied.map(a => target(a.object, a.generation)),
      { timeoutMs: 600_000, since, log: silent }
    )
    const wall = Date.now() - trackStart
    if (!outcome.ok) throw new Error(`parallel rollout failed: ${outcome.failure}`)
    const singles = await Promise.all(applied.map(async a => (await a.complete.at) - a.appliedAt))
    const slowest = Math.max(...singles)
    console.log(
      `${count} Deployments at once: tracker wall ${(wall / 1000).toFixed(1)} s, slowest single rollout ` +
        `(its apply → complete) ${(slowest / 1000).toFixed(1)} s, ratio ${(wall / slowest).toFixed(2)} (goal <= 1.2)`
    )
  } finally {
    await deleteNamespace(client, ns)
  }
}

function waitingIn(reason: string) {
  return (pod: LiveObject): boolean =>
    ((pod.status ?? {}) as PodStatus).containerStatuses?.some(c => c.state?.waiting?.reason === reason) ?? false
}

async function failfast(client: KubeClient, rollouts: number): Promise<void> {
  const fromBackoff: number[] = []
  const fromPullError: number[] = []
  for (let i = 0; i < rollouts; i++) {
    const ns = await createNamespace(client, 'bench-failfast')
    try {
      const object = deployment(ns, 'web', `${process.env.REGISTRY}/rollout-missing:nope-${i}`, { replicas: 1 })
      const pods = `/api/v1/namespaces/${ns}/pods`
      const pullError = firstSeen(client, pods, waitingIn('ErrImagePull'))
      const backoff = firstSeen(client, pods, waitingIn('ImagePullBackOff'))
      const since = new Date()
      const { generation } = await apply(client, object)
      const outcome = await trackRollout(client, [target(object, generation)], {
        timeoutMs: 180_000,
        since,
        log: silent
      })
      const verdictAt = Date.now()
      if (outcome.ok) throw new Error('a missing image rolled out')
      fromBackoff.push(verdictAt - (await backoff.at))
      fromPullError.push(verdictAt - (await pullError.at))
    } finally {
      await deleteNamespace(client, ns)
    }
  }
  console.log(summary('fail-fast, first ImagePullBackOff → verdict', fromBackoff, 'ms'))
  console.log(summary('fail-fast, first ErrImagePull → verdict    ', fromPullError, 'ms'))
  console.log('  goal: <= 15 s from the first ImagePullBackOff')
}

const client = clientFor(testbedKubeConfig())
const scenarios = process.argv.slice(2)
const all = scenarios.length === 0
if (all || scenarios.includes('latency')) await latency(client, 20)
if (all || scenarios.includes('parallel')) await parallel(client, 50)
if (all || scenarios.includes('failfast')) await failfast(client, 5)
