// The I/O adapter: a list + watch cache of one collection, kept alive across watch ends,
// 410 Gone and apiserver restarts.
import http from 'node:http'
import https from 'node:https'
import { createInterface } from 'node:readline'
import { notJsonMessage } from '../../lib/http.js'
import { systemClock } from '../../lib/deadline.js'
import { backoffMs, type RetryPolicy } from '../../lib/retry.js'
import { answerError, apiserver, KubeApiError, type KubeClient } from '../client.js'
import { type LiveObject } from './objects.js'

export interface WatchEvent {
  type: string
  object: LiveObject & { code?: number; reason?: string; message?: string }
}

type Finish = (error?: KubeApiError) => void

/**
 * One streamed GET through the cluster's client (its TLS, credentials and proxy, on a connection
 * of its own). Settles once: when `consume` calls finish, on connection errors and non-200
 * answers (as KubeApiError), or quietly when `signal` aborts. The idle timeout catches a dead peer
 * that never closes the socket.
 */
async function get(
  client: KubeClient,
  url: URL,
  signal: AbortSignal,
  idleTimeoutMs: number,
  consume: (res: http.IncomingMessage, finish: Finish, fail: (error: Error) => void) => void
): Promise<void> {
  const options = await client.requestOptions('GET', 'streams')
  const request = `GET ${url.pathname}`
  return new Promise((resolve, reject) => {
    if (signal.aborted) return resolve()
    const transport = url.protocol === 'http:' ? http : https
    let req: http.ClientRequest | undefined = undefined
    const abort = (): void => finish()
    const finish: Finish = error => {
      signal.removeEventListener('abort', abort)
      req?.destroy()
      if (error && !signal.aborted) reject(error)
      else resolve()
    }
    const fail = (error: Error): void =>
      finish(error instanceof KubeApiError ? error : new KubeApiError(0, 'ConnectionFailed', error.message, request))
    req = transport.request(url, options, res => {
      res.on('error', fail)
      if (res.statusCode === 200) return consume(res, finish, fail)
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('end', () =>
        finish(
          answerError(
            request,
            url,
            res.statusCode ?? 0,
            res.headers['content-type'],
            Buffer.concat(chunks).toString('utf8')
          )
        )
      )
    })
    req.setTimeout(idleTimeoutMs, () =>
      fail(new KubeApiError(0, 'Timeout', `${apiserver(url)} sent nothing for ${idleTimeoutMs / 1000} s`, request))
    )
    req.on('error', fail)
    signal.addEventListener('abort', abort, { once: true })
    req.end()
  })
}

interface List<T> {
  metadata: { resourceVersion: string }
  items: T[]
}

/** A LIST: the collection's items and resourceVersion; undefined when `signal` aborted first. */
export async function listCollection<T>(
  client: KubeClient,
  url: URL,
  signal: AbortSignal,
  timeoutMs: number
): Promise<List<T> | undefined> {
  let list: List<T> | undefined
  await get(client, url, signal, timeoutMs, (res, finish) => {
    const chunks: Buffer[] = []
    res.on('data', (chunk: Buffer) => chunks.push(chunk))
    res.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8')
      list = parseList<T>(text)
      if (list) return finish()
      const request = `GET ${url.pathname}`
      const message = notJsonMessage(apiserver(url), request, 200, res.headers['content-type'], text)
      finish(new KubeApiError(200, 'NotAList', message, request))
    })
  })
  return list
}

/** The list in a LIST answer; undefined for anything else (an HTML page, a cut answer). */
function parseList<T>(text: string): List<T> | undefined {
  try {
    const list = JSON.parse(text) as Partial<List<T>> | null
    return Array.isArray(list?.items) && list.metadata ? (list as List<T>) : undefined
  } catch {
    return undefined
  }
}

/**
 * One watch request, streamed. Resolves when the server ends it (its timeoutSeconds) or
 * `signal` aborts; rejects on connection errors, non-200 answers and ERROR events (410 Gone
 * among them) as KubeApiError.
 */
export async function streamWatch(
  client: KubeClient,
  url: URL,
  handlers: { onOpen: () => void; onEvent: (event: WatchEvent) => void },
  signal: AbortSignal,
  idleTimeoutMs: number
): Promise<void> {
  const request = `GET ${url.pathname}`
  await get(client, url, signal, idleTimeoutMs, (res, finish, fail) => {
    handlers.onOpen()
    const lines = createInterface({ input: res, crlfDelay: Infinity })
    // readline re-emits the response's errors: it needs a listener too.
    lines.on('error', fail)
    lines.on('line', line => {
      if (!line.trim()) return
      let event: WatchEvent
      try {
        event = JSON.parse(line) as WatchEvent
      } catch {
        const message = `${apiserver(url)} sent an unreadable watch event: ${line.slice(0, 200)}`
        return finish(new KubeApiError(0, 'BadWatchEvent', message, request))
      }
      if (event.type !== 'ERROR') return handlers.onEvent(event)
      const status = event.object
      finish(new KubeApiError(status.code ?? 0, status.reason ?? 'WatchError', status.message ?? '', request))
    })
    // A response cut short (connection reset) is an error; a complete one is the server's timeout.
    res.on('close', () =>
      finish(res.complete ? undefined : new KubeApiError(0, 'ConnectionFailed', 'watch connection lost', request))
    )
  })
}

export interface CollectionSource {
  /** The collection path, `/apis/apps/v1/namespaces/web/deployments`. */
  path: string
  fieldSelector?: string
}

export interface CollectionWatchOptions {
  /** Asked of the server per watch request; it then ends the watch and we resume from our resourceVersion. */
  watchTimeoutSeconds: number
  /** Told once per streak of errors (then retried with backoff), and when the streak ends. */
  onTrouble: (message: string) => void
}

/** Waits between reconnects while the apiserver cannot be reached (attempts: as long as the tracker runs). */
const RECONNECT: RetryPolicy = { attempts: Infinity, baseDelayMs: 250, maxDelayMs: 2_000 }
const LIST_TIMEOUT_MS = 60_000

/**
 * A live copy of one collection (by uid): LIST, then WATCH from its resourceVersion; resume from
 * the last seen resourceVersion whenever a watch ends; LIST again after 410 Gone; back off
 * exponentially while the apiserver cannot be reached. `onChange` runs after every change.
 */
export class CollectionWatch<T extends LiveObject = LiveObject> {
  readonly objects = new Map<string, T>()
  synced = false
  private resourceVersion: string | undefined

  constructor(
    private readonly client: KubeClient,
    private readonly source: CollectionSource,
    private readonly onChange: () => void,
    private readonly options: CollectionWatchOptions
  ) {}

  /** Runs until `signal` aborts. */
  async run(signal: AbortSignal): Promise<void> {
    let failures = 0
    while (!signal.aborted) {
      try {
        if (this.resourceVersion === undefined) await this.list(signal)
        const onOpen = (): void => {
          if (failures > 0) this.options.onTrouble(`watch ${this.describe()} resumed`)
          failures = 0
        }
        await streamWatch(
          this.client,
          this.url(true),
          { onOpen, onEvent: e => this.apply(e) },
          signal,
          this.idleTimeoutMs()
        )
      } catch (error) {
        if (signal.aborted) return
        if (error instanceof KubeApiError && (error.status === 410 || error.reason === 'Expired')) {
          // After an apiserver restart (or compaction) the resourceVersion is too old: list again.
          this.options.onTrouble(`watch ${this.describe()}: resourceVersion expired (410 Gone); listing again`)
          this.resourceVersion = undefined
          continue
        }
        if (failures === 0) {
          this.options.onTrouble(`watch ${this.describe()}: ${(error as Error).message}; retrying`)
        }
        failures++
        await systemClock.sleep(backoffMs(RECONNECT, failures), signal)
      }
    }
  }

  private async list(signal: AbortSignal): Promise<void> {
    const list = await listCollection<T>(this.client, this.url(false), signal, LIST_TIMEOUT_MS)
    if (!list) return
    this.objects.clear()
    for (const item of list.items) this.objects.set(item.metadata.uid, item)
    this.resourceVersion = list.metadata.resourceVersion
    this.synced = true
    this.onChange()
  }

  private apply(event: WatchEvent): void {
    const object = event.object as T
    this.resourceVersion = object.metadata.resourceVersion ?? this.resourceVersion
    if (event.type === 'BOOKMARK') return
    if (event.type === 'DELETED') this.objects.delete(object.metadata.uid)
    else this.objects.set(object.metadata.uid, object)
    this.onChange()
  }

  private url(watch: boolean): URL {
    const { path, fieldSelector } = this.source
    if (!watch) return this.client.url(path, { fieldSelector })
    return this.client.url(path, {
      fieldSelector,
      watch: 'true',
      allowWatchBookmarks: 'true',
      resourceVersion: this.resourceVersion ?? '',
      timeoutSeconds: String(this.options.watchTimeoutSeconds)
    })
  }

  private idleTimeoutMs(): number {
    return (this.options.watchTimeoutSeconds + 30) * 1000
  }

  private describe(): string {
    return this.source.path + (this.source.fieldSelector ? `?fieldSelector=${this.source.fieldSelector}` : '')
  }
}
