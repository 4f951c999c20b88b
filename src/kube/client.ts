import http from 'node:http'
import https from 'node:https'
import { type KubeConfig } from '@kubernetes/client-node'
import { notJsonMessage, proxyFor } from '../lib/http.js'
import { DEFAULT_RETRY, parseRetryAfter, retry } from '../lib/retry.js'

export interface RequestOptions {
  query?: Record<string, string | undefined>
  /** Sent as is: raw JSON, never passed through client-node's models. */
  body?: string
  contentType?: string
}

export interface KubeResponse<T = unknown> {
  status: number
  body: T
}

/** A failed API call, carrying the apiserver's Status (reason and message). */
export class KubeApiError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
    /** `PATCH /apis/apps/v1/…`, for errors shown without their object. */
    readonly request: string,
    /** The wait a 429 or 503 asked for (Retry-After). */
    readonly retryAfterMs?: number
  ) {
    super(message)
    this.name = 'KubeApiError'
  }
}

const REQUEST_TIMEOUT_MS = 60_000
const RETRIED_STATUS = new Set([429, 502, 503, 504])
const RETRIED_ERRORS = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'ENOTFOUND'])

/** Short calls share a few keep-alive connections; streams (LIST, WATCH) get a connection each. */
type Pool = 'calls' | 'streams'

/**
 * The one HTTP transport to the apiserver, for our calls and the rollout watches: the kubeconfig's
 * TLS and credentials (client-node's applyToHTTPSOptions refreshes exec/OIDC tokens per call), the
 * proxy chosen for the server (the kubeconfig's proxy-url, else HTTPS_PROXY/NO_PROXY), an idle
 * timeout on every request, and answers that are not JSON reported as such. Retries throttling,
 * gateway errors and dropped connections; every call we make is idempotent or guarded by
 * resourceVersion/uid preconditions.
 */
export class KubeClient {
  private readonly base: URL
  private readonly agents = new Map<Pool, { agent: http.Agent; cert: unknown; key: unknown; proxy?: string }>()

  constructor(
    private readonly kc: KubeConfig,
    server: string
  ) {
    this.base = new URL(server.replace(/\/+$/, '') + '/')
  }

  /** `path` (from the API root) on the server, with `query`. */
  url(path: string, query: Record<string, string | undefined> = {}): URL {
    const url = new URL(path.replace(/^\/+/, ''), this.base)
    for (const [key, value] of Object.entries(query)) {
      if (value !== undefined) url.searchParams.set(key, value)
    }
    return url
  }

  async request<T = unknown>(method: string, path: string, options: RequestOptions = {}): Promise<KubeResponse<T>> {
    const url = this.url(path, options.query)
    const request = `${method} ${url.pathname}`
    try {
      return await retry(
        DEFAULT_RETRY,
        {
          retryable: error =>
            error instanceof KubeApiError
              ? RETRIED_STATUS.has(error.status)
              : RETRIED_ERRORS.has((error as NodeJS.ErrnoException).code ?? ''),
          retryAfterMs: error => (error instanceof KubeApiError ? error.retryAfterMs : undefined)
        },
        async () => this.answer<T>(request, url, await this.send(method, url, options))
      )
    } catch (error) {
      if (error instanceof KubeApiError) throw error
      throw new KubeApiError(0, 'ConnectionFailed', (error as Error).message, request)
    }
  }

  /**
   * Options for a request to the server: the kubeconfig's TLS options and credentials, and the agent.
   * A proxy-url in the kubeconfig wins, as in kubectl: client-node's agent honours it.
   */
  async requestOptions(method: string, pool: Pool): Promise<https.RequestOptions> {
    const options: https.RequestOptions = { method, headers: { Accept: 'application/json' } }
    await this.kc.applyToHTTPSOptions(options)
    if (!this.kc.getCurrentCluster()?.proxyUrl) options.agent = this.agent(options, pool)
    return options
  }

  private async send(method: string, url: URL, options: RequestOptions): Promise<RawResponse> {
    const requestOptions = await this.requestOptions(method, 'calls')
    const headers = requestOptions.headers as http.OutgoingHttpHeaders
    if (options.body !== undefined) {
      headers['Content-Type'] = options.contentType ?? 'application/json'
      headers['Content-Length'] = Buffer.byteLength(options.body)
    }
    const transport = url.protocol === 'http:' ? http : https
    return new Promise((resolve, reject) => {
      const req = transport.request(url, requestOptions, res => {
        const chunks: Buffer[] = []
        res.on('data', (chunk: Buffer) => chunks.push(chunk))
        res.on('error', reject)
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            text: Buffer.concat(chunks).toString('utf8'),
            contentType: res.headers['content-type'],
            retryAfter: res.headers['retry-after']
          })
        )
      })
      req.setTimeout(REQUEST_TIMEOUT_MS, () =>
        req.destroy(
          Object.assign(
            new Error(
              `the apiserver (${this.base.origin}) did not answer ${method} ${url.pathname} within ${REQUEST_TIMEOUT_MS / 1000} s`
            ),
            { code: 'ETIMEDOUT' }
          )
        )
      )
      req.on('error', reject)
      req.end(options.body)
    })
  }

  /** The answer as JSON, or the error it carries: the apiserver answers JSON objects, anything else is not it. */
  private answer<T>(request: string, url: URL, response: RawResponse): KubeResponse<T> {
    const { status, text, contentType } = response
    if (status >= 400) {
      throw answerError(request, url, status, contentType, text, parseRetryAfter(response.retryAfter, Date.now()))
    }
    const body = parseJson(text)
    if (text.trim() && !isObject(body)) {
      throw new KubeApiError(
        status,
        'NotJSON',
        notJsonMessage(apiserver(url), request, status, contentType, text),
        request
      )
    }
    return { status, body: body as T }
  }

  /** Closes the connections kept open. */
  close(): void {
    for (const { agent } of this.agents.values()) agent.destroy()
    this.agents.clear()
  }

  /**
   * Our agents: client-node's opens a TLS connection per request; a wave of applies reuses a few.
   * Rebuilt when an exec plugin hands out a new client certificate, or the proxy for the server
   * changed. The proxy is chosen by the same rule as for GitHub and registries (src/lib/http.ts)
   * and used through Node's own proxy support.
   */
  private agent(options: https.RequestOptions, pool: Pool): http.Agent {
    const { ca, cert, key, rejectUnauthorized, servername } = options
    const proxy = proxyFor(this.base)
    const held = this.agents.get(pool)
    if (held && sameBytes(held.cert, cert) && sameBytes(held.key, key) && held.proxy === proxy) return held.agent
    held?.agent.destroy()
    const shape = pool === 'calls' ? { keepAlive: true, maxSockets: 16 } : { keepAlive: false, maxSockets: Infinity }
    const proxyEnv = proxy ? { HTTPS_PROXY: proxy, HTTP_PROXY: proxy } : undefined
    const agent =
      this.base.protocol === 'http:'
        ? new http.Agent({ ...shape, proxyEnv })
        : new https.Agent({ ...shape, proxyEnv, ca, cert, key, rejectUnauthorized, servername })
    this.agents.set(pool, { agent, cert, key, proxy })
    return agent
  }
}

function sameBytes(a: unknown, b: unknown): boolean {
  return Buffer.isBuffer(a) && Buffer.isBuffer(b) ? a.equals(b) : a === b
}

interface RawResponse {
  status: number
  text: string
  contentType?: string
  retryAfter?: string
}

/** `the apiserver (https://host:6443)`, as errors name it. */
export function apiserver(url: URL): string {
  return `the apiserver (${url.origin})`
}

function parseJson(text: string): unknown {
  try {
    return text ? JSON.parse(text) : undefined
  } catch {
    return text
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/**
 * The error for an answer of 400 or more: the apiserver's Status (reason and message), else its
 * text; a page that is not the apiserver's (HTML from a proxy) is described, not quoted whole.
 */
export function answerError(
  request: string,
  url: URL,
  status: number,
  contentType: string | undefined,
  text: string,
  retryAfterMs?: number
): KubeApiError {
  const body = parseJson(text)
  if (isObject(body)) {
    const message = typeof body.message === 'string' && body.message ? body.message : `HTTP ${status}`
    const reason = typeof body.reason === 'string' && body.reason ? body.reason : `HTTP${status}`
    return new KubeApiError(status, reason, message, request, retryAfterMs)
  }
  const html = /html/i.test(contentType ?? '') || /^\s*</.test(text)
  const message = html
    ? notJsonMessage(apiserver(url), request, status, contentType, text)
    : text.trim() || `HTTP ${status}`
  return new KubeApiError(status, `HTTP${status}`, message, request, retryAfterMs)
}

export function isNotFound(error: unknown): boolean {
  return error instanceof KubeApiError && error.status === 404
}

export function isConflict(error: unknown): boolean {
  return error instanceof KubeApiError && error.status === 409
}
