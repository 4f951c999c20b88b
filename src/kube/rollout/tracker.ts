import { type KubeClient } from '../client.js'
import { Discovery, objectPath } from '../discovery.js'
import { type ResourceResult } from '../types.js'
import { type RolloutOutcome, type TrackOptions, type TrackTarget } from './types.js'
import { type KubeEvent, type LiveObject } from './objects.js'
import { describeFailure, describeTimeout, notReadyPodLines, progressDue, warningLines } from './report.js'
import {
  describePodFailure,
  failuresAllowed,
  hasReplicaFailure,
  isUnschedulable,
  newReplicaSet,
  newRevisionPods,
  podFailure,
  replicaSetFailure
} from './signals.js'
import { rolloutStatus, trackingRule, unobservedGeneration, type RuleFacts, type TrackingRule } from './status.js'
import { CollectionWatch } from './watch.js'

const PROGRESS_INTERVAL_MS = 5_000
/** Re-evaluates time-based rules (unschedulable grace) and flushes held-back progress lines. */
const TICK_MS = 1_000
const WATCH_TIMEOUT_SECONDS = 120
const DEFAULT_GRACE_MS = 30_000
// The ReplicaSet controller retries a refused pod create with exponential backoff, so quota freed
// by a terminating old pod is seen tens of seconds late: a refusal gets a longer window than an
// unschedulable pod, restarted by any progress.
const REPLICA_FAILURE_GRACE_FACTOR = 4
const DEFAULT_FAILURES_ALLOWED = 1
const OK_STATUSES = new Set(['ready', 'not-trackable', 'applied'])

interface Tracked {
  target: TrackTarget
  /** `deployment/web` */
  ref: string
  rule: TrackingRule
  namespace?: string
  watch?: CollectionWatch
  /** Seen once: from then on, its absence means it was deleted. */
  seen: boolean
  progress: string
  lastLogged?: { line: string; atMs: number }
  /** The object, its current ReplicaSet and new pods: whose Warning events explain a failure. */
  relatedUids: Set<string>
  /** The new revision's pods at the last evaluation: the not-ready ones are named on a timeout. */
  newPods: LiveObject[]
  /** What its rule needs beyond the object (a PVC's binding mode), once looked up. */
  facts?: RuleFacts
  result?: ResourceResult
}

/** Watches shared by all targets of one namespace. */
interface NamespaceWatches {
  /** Only where workloads are tracked. */
  pods?: CollectionWatch
  /** Only where Deployments are tracked. */
  replicaSets?: CollectionWatch
  events: CollectionWatch<LiveObject & KubeEvent>
}

/** Rules whose pods are watched for fail-fast signals (a bare Pod is its own target). */
const WORKLOAD_RULES: ReadonlySet<TrackingRule> = new Set([
  'Deployment',
  'StatefulSet',
  'DaemonSet',
  'Job',
  'ReplicaSet'
])

/**
 * One tracking run. Every watch feeds one in-memory picture; any change schedules one
 * evaluation of all unfinished targets with the pure rules of status.ts and signals.ts.
 */
export class RolloutTracker {
  private readonly startMs = Date.now()
  private readonly stop = new AbortController()
  private readonly tracked: Tracked[]
  private readonly namespaces = new Map<string, NamespaceWatches>()
  /** First seen (our clock) per uid: unschedulable pods, ReplicaSets with ReplicaFailure. */
  private readonly unschedulableSince = new Map<string, number>()
  /** ReplicaFailure first seen (our clock) per ReplicaSet uid, with the workload's pod counts then. */
  private readonly replicaFailureSince = new Map<string, { sinceMs: number; counts: string }>()
  private readonly graceMs: number
  private evaluationQueued = false
  private timers: NodeJS.Timeout[] = []
  private settleRun: ((outcome: RolloutOutcome) => void) | undefined
  private failRun: ((error: unknown) => void) | undefined

  constructor(
    /** The cluster's client: its connections, credentials and proxy serve the watches too. */
    private readonly client: KubeClient,
    targets: TrackTarget[],
    private readonly options: TrackOptions
  ) {
    this.graceMs = options.graceMs ?? DEFAULT_GRACE_MS
    this.tracked = targets.map(target => ({
      target,
      ref: `${target.kind.toLowerCase()}/${target.name}`,
      rule: trackingRule(target.apiVersion, target.kind),
      seen: false,
      progress: 'waiting for the first status',
      relatedUids: new Set<string>(),
      newPods: []
    }))
  }

  async run(): Promise<RolloutOutcome> {
    const outcome = new Promise<RolloutOutcome>((resolve, reject) => {
      this.settleRun = resolve
      this.failRun = reject
    })
    const cancel = (): void => this.abortAll('cancelled', 'rollout tracking was cancelled')
    this.options.signal?.addEventListener('abort', cancel, { once: true })
    try {
      this.timers.push(setTimeout(() => this.timeOut(), this.options.timeoutMs))
      if (this.options.signal?.aborted) cancel()
      else await this.startWatches()
      this.evaluate()
      return await outcome
    } finally {
      this.options.signal?.removeEventListener('abort', cancel)
      this.timers.forEach(clearTimeout)
      this.stop.abort()
    }
  }

  /** Resolves each kind to its collection, then starts one watch per collection and per namespace. */
  private async startWatches(): Promise<void> {
    const discovery = new Discovery(this.client)
    const collections = new Map<string, { names: Set<string>; members: Tracked[] }>()
    for (const t of this.tracked) {
      if (t.rule === 'applied') {
        this.settle(t, 'applied', 'applied')
        continue
      }
      let resource
      try {
        resource = await discovery.resolve(t.target.apiVersion, t.target.kind)
      } catch (error) {
        this.settle(
          t,
          'failed',
          `could not discover ${t.target.apiVersion} ${t.target.kind}: ${(error as Error).message}`
        )
        continue
      }
      if (!resource) {
        this.settle(t, 'failed', `the apiserver does not serve ${t.target.apiVersion} ${t.target.kind}`)
        continue
      }
      t.namespace = resource.namespaced ? (t.target.namespace ?? 'default') : undefined
      const path = objectPath(resource, t.namespace)
      const collection = collections.get(path) ?? { names: new Set<string>(), members: [] }
      collection.names.add(t.target.name)
      collection.members.push(t)
      collections.set(path, collection)
    }
    if (this.stop.signal.aborted) return
    // One watch per collection: by name for a single target, the whole collection for several.
    for (const [path, { names, members }] of collections) {
      const fieldSelector = names.size === 1 ? `metadata.name=${[...names][0]}` : undefined
      const watch = this.watch({ path, fieldSelector })
      for (const t of members) t.watch = watch
    }
    const namespaces = new Map<string, TrackingRule[]>()
    for (const t of this.tracked) {
      if (t.namespace !== undefined && !t.result)
        namespaces.set(t.namespace, [...(namespaces.get(t.namespace) ?? []), t.rule])
    }
    for (const [namespace, rules] of namespaces) {
      const ns = `/namespaces/${encodeURIComponent(namespace)}`
      this.namespaces.set(namespace, {
        pods: rules.some(r => WORKLOAD_RULES.has(r)) ? this.watch({ path: `/api/v1${ns}/pods` }) : undefined,
        replicaSets: rules.includes('Deployment') ? this.watch({ path: `/apis/apps/v1${ns}/replicasets` }) : undefined,
        events: this.watch<LiveObject & KubeEvent>({ path: `/api/v1${ns}/events`, fieldSelector: 'type=Warning' })
      })
    }
    this.timers.push(setInterval(() => this.evaluate(), TICK_MS))
  }

  private watch<T extends LiveObject>(source: { path: string; fieldSelector?: string }): CollectionWatch<T> {
    const watch = new CollectionWatch<T>(this.client, source, () => this.queueEvaluation(), {
      watchTimeoutSeconds: WATCH_TIMEOUT_SECONDS,
      onTrouble: message => this.options.log(message)
    })
    void watch.run(this.stop.signal)
    return watch
  }

  /** Coalesces a burst of watch events into one evaluation. */
  private queueEvaluation(): void {
    if (this.evaluationQueued) return
    this.evaluationQueued = true
    setImmediate(() => {
      this.evaluationQueued = false
      this.evaluate()
    })
  }

  private evaluate(): void {
    if (this.stop.signal.aborted) return
    try {
      const nowMs = Date.now()
      for (const t of this.tracked) if (!t.result) this.evaluateOne(t, nowMs)
      this.concludeIfDone()
    } catch (error) {
      this.stop.abort()
      this.failRun?.(error)
    }
  }

  private evaluateOne(t: Tracked, nowMs: number): void {
    if (!t.watch?.synced) return
    const object = [...t.watch.objects.values()].find(o => o.metadata.name === t.target.name)
    if (!object) {
      if (t.seen) this.settle(t, 'failed', 'deleted during the rollout')
      else this.noteProgress(t, 'not found yet', nowMs)
      return
    }
    t.seen = true
    t.relatedUids.add(object.metadata.uid)
    if (t.rule === 'PersistentVolumeClaim' && !t.facts) {
      this.lookUpBindingMode(t, object)
      return
    }
    const status = rolloutStatus(t.rule, object, t.target.generation, t.facts)
    if (status.state !== 'progressing') {
      this.settle(t, status.state, status.message)
      return
    }
    const failure = this.failFastSignal(t, object, nowMs)
    if (failure) this.settle(t, 'failed', failure)
    else this.noteProgress(t, status.message, nowMs)
  }

  /** A reason the workload's new revision cannot become ready, read from its ReplicaSet and pods. */
  private failFastSignal(t: Tracked, object: LiveObject, nowMs: number): string | undefined {
    const allowance = failuresAllowed(object, this.options.failuresAllowed ?? DEFAULT_FAILURES_ALLOWED)
    if ('error' in allowance) return allowance.error
    const watches = t.namespace === undefined ? undefined : this.namespaces.get(t.namespace)
    // Before the controller observed our generation, revision markers still name the old pods.
    const ownGeneration = t.rule === 'Job' || t.rule === 'Pod'
    if (!ownGeneration && unobservedGeneration(object, t.target.generation)) return undefined
    let replicaSet: LiveObject | undefined
    if (t.rule === 'Deployment') replicaSet = newReplicaSet(object, watches?.replicaSets?.objects.values() ?? [])
    if (t.rule === 'ReplicaSet') replicaSet = object
    if (replicaSet) {
      const uid = replicaSet.metadata.uid
      t.relatedUids.add(uid)
      const counts = podCounts(object, replicaSet)
      const seen = this.replicaFailureSince.get(uid)
      if (!hasReplicaFailure(replicaSet)) this.replicaFailureSince.delete(uid)
      // Progress restarts the window: a quota hit by the surge pod clears pod by pod, as old
      // pods terminate, and the controller's retries back off meanwhile.
      else if (!seen || seen.counts !== counts) this.replicaFailureSince.set(uid, { sinceMs: nowMs, counts })
      const failure = replicaSetFailure(replicaSet, {
        nowMs,
        sinceMs: this.replicaFailureSince.get(uid)?.sinceMs,
        graceMs: this.graceMs * REPLICA_FAILURE_GRACE_FACTOR
      })
      if (failure) return failure
    } else if (t.rule === 'Deployment') {
      return undefined
    }
    const candidates = t.rule === 'Pod' ? [object] : (watches?.pods?.objects.values() ?? [])
    t.newPods = newRevisionPods(t.rule, object, candidates, replicaSet)
    for (const pod of t.newPods) {
      const uid = pod.metadata.uid
      t.relatedUids.add(uid)
      if (!isUnschedulable(pod)) this.unschedulableSince.delete(uid)
      else if (!this.unschedulableSince.has(uid)) this.unschedulableSince.set(uid, nowMs)
      const failure = podFailure(pod, {
        nowMs,
        unschedulableSinceMs: this.unschedulableSince.get(uid),
        unschedulableGraceMs: this.graceMs,
        failuresAllowed: allowance.allowed
      })
      if (failure) return describePodFailure(failure)
    }
    return undefined
  }

  /** A PVC's rule depends on its StorageClass's volumeBindingMode: one GET, then re-evaluate. */
  private lookUpBindingMode(t: Tracked, claim: LiveObject): void {
    const storageClass = (claim.spec as { storageClassName?: string } | undefined)?.storageClassName
    // Until the answer comes the claim is judged as Immediate: it waits for Bound, it never fails.
    t.facts = {}
    if (!storageClass) return this.queueEvaluation()
    this.noteProgress(t, `looking up storage class ${storageClass}`, Date.now())
    this.client
      .request<{ volumeBindingMode?: string }>(
        'GET',
        `/apis/storage.k8s.io/v1/storageclasses/${encodeURIComponent(storageClass)}`
      )
      .then(
        answer => {
          t.facts = { volumeBindingMode: answer.body?.volumeBindingMode }
        },
        (error: unknown) => {
          // A missing class leaves the claim Pending: it is judged as Immediate, waiting for Bound.
          this.options.log(`${t.ref}: storage class ${storageClass}: ${(error as Error).message}`)
        }
      )
      .finally(() => this.queueEvaluation())
  }

  private noteProgress(t: Tracked, progress: string, nowMs: number): void {
    t.progress = progress
    const line = `${t.ref} ${progress}`
    if (progressDue(line, t.lastLogged, nowMs, PROGRESS_INTERVAL_MS)) {
      t.lastLogged = { line, atMs: nowMs }
      this.options.log(line)
    }
  }

  private settle(t: Tracked, status: string, message: string): void {
    const seconds = Math.round((Date.now() - this.startMs) / 100) / 10
    t.result = {
      kind: t.target.kind,
      namespace: t.target.namespace ?? '',
      name: t.target.name,
      status,
      message,
      seconds
    }
    if (status !== 'applied' && status !== 'aborted') this.options.log(`${t.ref} ${status}: ${message} (${seconds}s)`)
  }

  /** Ends the run once every target has a verdict, or as soon as one failed (the rollback follows). */
  private concludeIfDone(): void {
    const failed = this.tracked.filter(t => t.result?.status === 'failed')
    if (failed.length > 0) {
      const failure = failed.map(t => this.diagnose(t, t.result?.message ?? '')).join('\n')
      for (const t of this.tracked) if (!t.result) this.settle(t, 'aborted', `stopped at: ${t.progress}`)
      this.conclude(failure)
    } else if (this.tracked.every(t => t.result)) {
      this.conclude(undefined)
    }
  }

  private timeOut(): void {
    this.evaluate()
    if (this.stop.signal.aborted) return
    const unfinished = this.tracked.filter(t => !t.result)
    for (const t of unfinished) this.settle(t, 'timeout', t.progress)
    this.conclude(
      describeTimeout(
        this.options.timeoutMs,
        unfinished.map(t => ({ ref: t.ref, text: this.diagnose(t, t.progress) }))
      )
    )
  }

  private abortAll(reason: string, failure: string): void {
    if (this.stop.signal.aborted) return
    for (const t of this.tracked) if (!t.result) this.settle(t, 'aborted', `${reason} at: ${t.progress}`)
    this.conclude(failure)
  }

  private diagnose(t: Tracked, reason: string): string {
    const events = [
      ...((t.namespace === undefined ? undefined : this.namespaces.get(t.namespace)?.events.objects.values()) ?? [])
    ]
    return describeFailure(
      t.ref,
      reason,
      warningLines(events, t.relatedUids, this.options.since.getTime()),
      notReadyPodLines(t.newPods, events)
    )
  }

  private conclude(failure: string | undefined): void {
    if (this.stop.signal.aborted) return
    this.stop.abort()
    const resources = this.tracked.map(t => t.result as ResourceResult)
    const ok = failure === undefined && resources.every(r => OK_STATUSES.has(r.status))
    const seconds = Math.round((Date.now() - this.startMs) / 100) / 10
    this.settleRun?.({ ok, resources, ...(failure === undefined ? {} : { failure }), seconds })
  }
}

/** The pod counts a rollout moves through (workload and new ReplicaSet): any change is progress. */
function podCounts(workload: LiveObject, replicaSet: LiveObject): string {
  const counts = (object: LiveObject): unknown[] =>
    ['replicas', 'updatedReplicas', 'readyReplicas', 'availableReplicas'].map(key => object.status?.[key] ?? 0)
  return JSON.stringify([counts(workload), counts(replicaSet)])
}
