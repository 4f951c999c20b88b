import { createHash } from 'node:crypto'
import { type Deadline } from '../lib/deadline.js'
import { retry } from '../lib/retry.js'
import { isConflict, isNotFound, KubeApiError, type KubeClient } from './client.js'

/** The parts of a coordination.k8s.io/v1 Lease the lock reads. */
export interface LeaseRecord {
  metadata: { name: string; namespace?: string; resourceVersion?: string }
  spec?: {
    holderIdentity?: string
    leaseDurationSeconds?: number
    acquireTime?: string
    renewTime?: string
    leaseTransitions?: number
  }
}

export type LeaseDecision =
  { action: 'create' } | { action: 'take'; transition: boolean } | { action: 'wait'; holder: string }

/** When we first saw the lease at its current resourceVersion (our own clock). */
export interface Observation {
  resourceVersion: string
  atMs: number
}

/**
 * Whether to create, take or wait for a lease. A lease is free when it has no holder, is ours,
 * or expired: its renewTime is older than its duration, or (immune to clock skew between
 * runners) it has not changed for a whole duration while we watched.
 */
export function decideLease(
  lease: LeaseRecord | undefined,
  holder: string,
  nowMs: number,
  observed: Observation | undefined
): LeaseDecision {
  if (!lease) return { action: 'create' }
  const spec = lease.spec ?? {}
  if (!spec.holderIdentity) return { action: 'take', transition: true }
  if (spec.holderIdentity === holder) return { action: 'take', transition: false }
  const durationMs = (spec.leaseDurationSeconds ?? 0) * 1000
  const renewedMs = Date.parse(spec.renewTime ?? spec.acquireTime ?? '')
  const staleByClock = Number.isFinite(renewedMs) && nowMs - renewedMs > durationMs
  const staleWhileWatched =
    observed !== undefined &&
    observed.resourceVersion === lease.metadata.resourceVersion &&
    nowMs - observed.atMs > durationMs
  if (staleByClock || staleWhileWatched) return { action: 'take', transition: true }
  return { action: 'wait', holder: spec.holderIdentity }
}

/** `gitops-push-deploy-<hash>`: one lock per namespace and env path. */
export function leaseName(namespace: string, key: string): string {
  return `gitops-push-deploy-${createHash('sha256').update(`${namespace}\n${key}`).digest('hex').slice(0, 16)}`
}

/** A Lease MicroTime: RFC 3339 with microseconds. */
export function microTime(date: Date): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z')
}

export class LockTimeoutError extends Error {
  constructor(
    readonly holder: string,
    message: string
  ) {
    super(message)
    this.name = 'LockTimeoutError'
  }
}

export interface LockOptions {
  durationSeconds?: number
  renewEveryMs?: number
  pollEveryMs?: number
  log: (line: string) => void
  warn: (line: string) => void
}

export interface HeldLock {
  readonly name: string
  readonly namespace: string
  release(): Promise<void>
}

/**
 * A deploy lock on a Lease: acquired with optimistic concurrency (resourceVersion), renewed in
 * the background while held, deleted on release.
 */
export async function acquireLease(
  client: KubeClient,
  namespace: string,
  name: string,
  holder: string,
  deadline: Deadline,
  options: LockOptions
): Promise<HeldLock> {
  const durationSeconds = options.durationSeconds ?? 30
  const collection = `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/leases`
  const path = `${collection}/${encodeURIComponent(name)}`
  const clock = deadline.clock
  const started = clock.now()
  let observed: Observation | undefined
  let announced = ''
  const attempt = async (): Promise<HeldLock> => {
    const lease = await readLease(client, path)
    const now = clock.now()
    if (lease && lease.metadata.resourceVersion !== observed?.resourceVersion) {
      observed = { resourceVersion: lease.metadata.resourceVersion ?? '', atMs: now }
    }
    const decision = decideLease(lease, holder, now, observed)
    if (decision.action === 'wait') throw new LeaseHeldError(decision.holder, lease?.spec?.renewTime ?? 'never')
    const stamp = microTime(new Date())
    const spec = {
      holderIdentity: holder,
      leaseDurationSeconds: durationSeconds,
      acquireTime: decision.action === 'take' && !decision.transition ? (lease?.spec?.acquireTime ?? stamp) : stamp,
      renewTime: stamp,
      leaseTransitions:
        (lease?.spec?.leaseTransitions ?? 0) + (decision.action === 'take' && decision.transition ? 1 : 0)
    }
    const body: LeaseRecord & { apiVersion: string; kind: string } = {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name, namespace, ...(lease ? { resourceVersion: lease.metadata.resourceVersion } : {}) },
      spec
    }
    const response =
      decision.action === 'create'
        ? await client.request<LeaseRecord>('POST', collection, { body: JSON.stringify(body) })
        : await client.request<LeaseRecord>('PUT', path, { body: JSON.stringify(body) })
    if (lease?.spec?.holderIdentity && lease.spec.holderIdentity !== holder) {
      options.log(`took over expired deploy lock ${namespace}/${name} from ${lease.spec.holderIdentity}`)
    }
    return new RenewedLease(client, path, namespace, name, holder, response.body, options)
  }
  const pollMs = options.pollEveryMs ?? 2000
  try {
    return await retry(
      { attempts: Infinity, baseDelayMs: pollMs, maxDelayMs: pollMs },
      {
        deadline,
        retryable: error => error instanceof LeaseHeldError || isConflict(error),
        // Someone else created or changed it first: read again and decide again, at once.
        retryAfterMs: error => (isConflict(error) ? 0 : undefined),
        onRetry: error => {
          if (!(error instanceof LeaseHeldError) || announced === error.holder) return
          options.log(`waiting for deploy lock ${namespace}/${name}, held by ${error.holder}`)
          announced = error.holder
        }
      },
      attempt
    )
  } catch (error) {
    if (!(error instanceof LeaseHeldError)) throw error
    throw new LockTimeoutError(
      error.holder,
      `deploy lock ${namespace}/${name} is held by ${error.holder}` +
        ` (renewed ${error.renewTime}); gave up after ${Math.round((clock.now() - started) / 1000)}s`
    )
  }
}

/** Another holder has the lease: polled until the deadline. */
class LeaseHeldError extends Error {
  constructor(
    readonly holder: string,
    readonly renewTime: string
  ) {
    super(`held by ${holder}`)
  }
}

async function readLease(client: KubeClient, path: string): Promise<LeaseRecord | undefined> {
  try {
    return (await client.request<LeaseRecord>('GET', path)).body
  } catch (error) {
    if (isNotFound(error)) return undefined
    throw error
  }
}

class RenewedLease implements HeldLock {
  private timer: NodeJS.Timeout | undefined
  private renewing: Promise<void> = Promise.resolve()
  private lost = false

  constructor(
    private readonly client: KubeClient,
    private readonly path: string,
    readonly namespace: string,
    readonly name: string,
    private readonly holder: string,
    private lease: LeaseRecord,
    private readonly options: LockOptions
  ) {
    this.timer = setInterval(() => {
      this.renewing = this.renewing.then(() => this.renew())
    }, options.renewEveryMs ?? 10_000)
    this.timer.unref()
  }

  private async renew(): Promise<void> {
    if (this.lost || !this.timer) return
    const body = { ...this.lease, spec: { ...this.lease.spec, renewTime: microTime(new Date()) } }
    try {
      this.lease = (await this.client.request<LeaseRecord>('PUT', this.path, { body: JSON.stringify(body) })).body
    } catch (error) {
      if (isConflict(error) || isNotFound(error)) {
        const current = await readLease(this.client, this.path).catch(() => undefined)
        if (current?.spec?.holderIdentity === this.holder) {
          this.lease = current
          return
        }
        this.lost = true
        this.options.warn(
          `deploy lock ${this.namespace}/${this.name} was lost to ${current?.spec?.holderIdentity ?? 'nobody (deleted)'}`
        )
        return
      }
      const reason = error instanceof KubeApiError ? error.message : (error as Error).message
      this.options.warn(`renewing deploy lock ${this.namespace}/${this.name} failed (will retry): ${reason}`)
    }
  }

  async release(): Promise<void> {
    if (!this.timer) return
    clearInterval(this.timer)
    this.timer = undefined
    await this.renewing
    if (this.lost) return
    const body = JSON.stringify({
      apiVersion: 'v1',
      kind: 'DeleteOptions',
      preconditions: { resourceVersion: this.lease.metadata.resourceVersion }
    })
    try {
      await this.client.request('DELETE', this.path, { body })
    } catch (error) {
      // Taken over or gone: nothing of ours left to release.
      if (!isConflict(error) && !isNotFound(error)) throw error
    }
  }
}
