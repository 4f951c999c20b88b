// Test-bed fixtures shared by the rollout integration tests and benchmarks: objects applied
// with server-side apply, test images, and a TCP proxy that can cut the apiserver's connections.
import { randomBytes } from 'node:crypto'
import net from 'node:net'
import { KubeConfig } from '@kubernetes/client-node'
import { KubeClient } from '../../src/kube/client.js'
import { type LiveObject } from '../../src/kube/rollout/objects.js'
import { streamWatch, type WatchEvent } from '../../src/kube/rollout/watch.js'
import { buildImage, testbedEnv, testbedKubeconfigFile, type Behavior } from './testbed.js'

export type Manifest = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string } } & Record<
  string,
  unknown
>

export function testbedKubeConfig(): KubeConfig {
  const kc = new KubeConfig()
  kc.loadFromFile(testbedKubeconfigFile())
  return kc
}

export function clientFor(kc: KubeConfig): KubeClient {
  return new KubeClient(kc, kc.getCurrentCluster()?.server ?? '')
}

const PLURALS: Record<string, string> = {
  Namespace: 'namespaces',
  Deployment: 'deployments',
  StatefulSet: 'statefulsets',
  DaemonSet: 'daemonsets',
  Job: 'jobs',
  CronJob: 'cronjobs',
  ConfigMap: 'configmaps',
  ResourceQuota: 'resourcequotas'
}

/** Server-side apply of one built-in object; returns the generation and uid the server answered. */
export async function apply(client: KubeClient, object: Manifest): Promise<{ generation?: number; uid: string }> {
  const version = object.apiVersion.includes('/') ? `/apis/${object.apiVersion}` : `/api/${object.apiVersion}`
  const ns = object.metadata.namespace ? `/namespaces/${object.metadata.namespace}` : ''
  const { body } = await client.request<{ metadata: { generation?: number; uid: string } }>(
    'PATCH',
    `${version}${ns}/${PLURALS[object.kind]}/${object.metadata.name}`,
    {
      query: { fieldManager: 'rollout-test', force: 'true' },
      body: JSON.stringify(object),
      contentType: 'application/apply-patch+yaml'
    }
  )
  return body.metadata
}

export async function createNamespace(client: KubeClient, prefix: string): Promise<string> {
  const name = `${prefix}-${randomBytes(3).toString('hex')}`
  await apply(client, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } })
  return name
}

export async function deleteNamespace(client: KubeClient, name: string): Promise<void> {
  await client.request('DELETE', `/api/v1/namespaces/${name}`).catch(() => undefined)
}

/** The rollout tests' image `<registry>/rollout-<name>:<behavior>`, built and pushed by buildImage. */
export async function testImage(name: string, behavior?: Behavior): Promise<string> {
  const ref = `${testbedEnv().registry}/rollout-${name}:${behavior ?? 'good'}`
  await buildImage(ref, behavior)
  return ref
}

interface PodTemplateOptions {
  image: string
  labels: Record<string, string>
  restartPolicy?: string
  annotations?: Record<string, string>
}

function podTemplate({ image, labels, restartPolicy, annotations }: PodTemplateOptions): Record<string, unknown> {
  return {
    metadata: { labels, ...(annotations ? { annotations } : {}) },
    spec: {
      terminationGracePeriodSeconds: 0,
      ...(restartPolicy ? { restartPolicy } : {}),
      containers: [{ name: 'app', image }]
    }
  }
}

export function deployment(
  namespace: string,
  name: string,
  image: string,
  spec: Record<string, unknown> = {},
  annotations?: Record<string, string>
): Manifest {
  const labels = { app: name }
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace },
    spec: {
      replicas: 2,
      selector: { matchLabels: labels },
      template: podTemplate({ image, labels, annotations }),
      ...spec
    }
  }
}

export function statefulSet(namespace: string, name: string, image: string): Manifest {
  const labels = { app: name }
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name, namespace },
    spec: {
      replicas: 2,
      serviceName: name,
      podManagementPolicy: 'Parallel',
      selector: { matchLabels: labels },
      template: podTemplate({ image, labels })
    }
  }
}

export function daemonSet(namespace: string, name: string, image: string): Manifest {
  const labels = { app: name }
  return {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name, namespace },
    spec: { selector: { matchLabels: labels }, template: podTemplate({ image, labels }) }
  }
}

export function job(namespace: string, name: string, image: string): Manifest {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name, namespace },
    spec: { backoffLimit: 0, template: podTemplate({ image, labels: { job: name }, restartPolicy: 'Never' }) }
  }
}

export function target(object: Manifest, generation?: number) {
  return {
    apiVersion: object.apiVersion,
    kind: object.kind,
    namespace: object.metadata.namespace,
    name: object.metadata.name,
    generation
  }
}

/** The test bed's kubeconfig, pointed at `server` instead (same TLS identity: 127.0.0.1). */
export function kubeConfigVia(kc: KubeConfig, server: string): KubeConfig {
  const copy = new KubeConfig()
  copy.loadFromOptions({
    clusters: kc.clusters.map(c => (c.name === kc.getCurrentCluster()?.name ? { ...c, server } : c)),
    users: kc.users,
    contexts: kc.contexts,
    currentContext: kc.getCurrentContext()
  })
  return copy
}

/**
 * A TCP proxy to the apiserver on 127.0.0.1: `cut()` resets every open connection (watches
 * included), `down()` / `up()` make the apiserver unreachable and back, like a restart.
 */
export class ApiserverProxy {
  private server: net.Server | undefined
  private readonly sockets = new Set<net.Socket>()
  port = 0
  /** Sockets (either side) reset by cut() and down(). */
  resets = 0

  constructor(private readonly upstream: URL) {}

  get url(): string {
    return `https://127.0.0.1:${this.port}`
  }

  async up(): Promise<void> {
    const server = net.createServer(client => {
      const upstream = net.connect(Number(this.upstream.port || 443), this.upstream.hostname)
      for (const [a, b] of [
        [client, upstream],
        [upstream, client]
      ]) {
        this.sockets.add(a)
        a.pipe(b)
        a.on('error', () => b.destroy())
        a.on('close', () => {
          this.sockets.delete(a)
          b.destroy()
        })
      }
    })
    await new Promise<void>(resolve => server.listen(this.port, '127.0.0.1', resolve))
    this.port = (server.address() as net.AddressInfo).port
    this.server = server
  }

  cut(): void {
    for (const socket of this.sockets) {
      // resetAndDestroy() would keep a still-connecting socket alive until it connects.
      if (socket.connecting) socket.destroy()
      else socket.resetAndDestroy()
      this.resets++
    }
  }

  async down(): Promise<void> {
    const server = this.server
    this.server = undefined
    const closed = new Promise<void>(resolve => server?.close(() => resolve()) ?? resolve())
    this.cut()
    await closed
  }
}

/**
 * Resolves with the time a separate watch first sees an object of `path` matching
 * `predicate` (NaN if stopped before).
 */
export function firstSeen(
  client: KubeClient,
  path: string,
  predicate: (object: LiveObject) => boolean
): { at: Promise<number>; stop: () => void } {
  const stopped = new AbortController()
  const url = client.url(path, { watch: 'true' })
  const at = (async () => {
    let seenAt = NaN
    const onEvent = (event: WatchEvent): void => {
      if (!Number.isNaN(seenAt) || !predicate(event.object)) return
      seenAt = Date.now()
      stopped.abort()
    }
    while (!stopped.signal.aborted) {
      // Each new watch starts with the current state (ADDED events), so nothing is missed.
      await streamWatch(client, url, { onOpen: () => undefined, onEvent }, stopped.signal, 60_000).catch(
        () => undefined
      )
    }
    return seenAt
  })()
  return { at, stop: () => stopped.abort() }
}
