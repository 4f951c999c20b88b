import http from 'node:http'
import https from 'node:https'
import { setTimeout as sleep } from 'node:timers/promises'
import { type KubeConfig } from '@kubernetes/client-node'

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
    readonly request: string
  ) {
    super(message)
    this.name = 'KubeApiError'
  }
}

const ATTEMPTS = 4
const REQUEST_TIMEOUT_MS = 60_000
const RETRIED_STATUS = new Set([429, 502, 503, 504])
const RETRIED_ERRORS = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'ENOTFOUND'])

/**
 * Raw HTTP to the apiserver with the kubeconfig's TLS and credentials (client-node's
 * applyToHTTPSOptions refreshes exec/OIDC tokens per call). Retries throttling, gateway
 * errors and dropped connections; every call we make is idempotent or guarded by
 * resourceVersion/uid preconditions.
 */
export class KubeClient {
  private readonly base: URL
  private keepAlive: { agent: https.Agent; cert: unknown; key: unknown } | undefined

  constructor(
    private readonly kc: KubeConfig,
    server: string
  ) {
    this.base = new URL(server.replace(/\/+$/, '') + '/')
  }

  async request<T = unknown>(method: string, path: string, options: RequestOptions = {}): Promise<KubeResponse<T>> {
    const url = new URL(path.replace(/^\/+/, ''), this.base)
    for (const [key, value] of Object.entries(options.query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, value)
    }
    for (let attempt = 1; ; attempt++) {
      let response: RawResponse
      try {
        response = await this.send(method, url, options)
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code ?? ''
        if (attempt < ATTEMPTS && RETRIED_ERRORS.has(code)) {
          await sleep(backoffMs(attempt))
          continue
        }
        throw new KubeApiError(0, 'ConnectionFailed', (error as Error).message, `${method} ${url.pathname}`)
      }
      if (attempt < ATTEMPTS && RETRIED_STATUS.has(response.status)) {
        await sleep(retryAfterMs(response.retryAfter) ?? backoffMs(attempt))
        continue
      }
      const body = parseBody(response.text)
      if (response.status >= 400) throw apiError(method, url.pathname, response.status, body)
      return { status: response.status, body: body as T }
    }
  }

  private async send(method: string, url: URL, options: RequestOptions): Promise<RawResponse> {
    const requestOptions: https.RequestOptions = { method, headers: { Accept: 'application/json' } }
    await this.kc.applyToHTTPSOptions(requestOptions)
    const headers = requestOptions.headers as http.OutgoingHttpHeaders
    if (options.body !== undefined) {
      headers['Content-Type'] = options.contentType ?? 'application/json'
      headers['Content-Length'] = Buffer.byteLength(options.body)
    }
    const transport = url.protocol === 'http:' ? http : https
    if (transport === https && !this.kc.getCurrentCluster()?.proxyUrl)
      requestOptions.agent = this.keepAliveAgent(requestOptions)
    return new Promise((resolve, reject) => {
      const req = transport.request(url, requestOptions, res => {
        const chunks: Buffer[] = []
        res.on('data', (chunk: Buffer) => chunks.push(chunk))
        res.on('error', reject)
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            text: Buffer.concat(chunks).toString('utf8'),
            retryAfter: res.headers['retry-after']
          })
        )
      })
      req.setTimeout(REQUEST_TIMEOUT_MS, () =>
        req.destroy(Object.assign(new Error('request timed out'), { code: 'ETIMEDOUT' }))
      )
      req.on('error', reject)
      req.end(options.body)
    })
  }

  /** Closes idle keep-alive connections. */
  close(): void {
    this.keepAlive?.agent.destroy()
    this.keepAlive = undefined
  }

  /**
   * client-node's agent opens a TLS connection per request; a wave of applies reuses a few.
   * Rebuilt when an exec plugin hands out a new client certificate.
   */
  private keepAliveAgent(options: https.RequestOptions): https.Agent {
    const { cert, key } = options
    if (!this.keepAlive || !sameBytes(this.keepAlive.cert, cert) || !sameBytes(this.keepAlive.key, key)) {
      this.keepAlive?.agent.destroy()
      const { ca, rejectUnauthorized, servername } = options
      const agent = new https.Agent({ keepAlive: true, maxSockets: 16, ca, cert, key, rejectUnauthorized, servername })
      this.keepAlive = { agent, cert, key }
    }
    return this.keepAlive.agent
  }
}

function sameBytes(a: unknown, b: unknown): boolean {
  return Buffer.isBuffer(a) && Buffer.isBuffer(b) ? a.equals(b) : a === b
}

interface RawResponse {
  status: number
  text: string
  retryAfter?: string
}

function backoffMs(attempt: number): number {
  return 500 * 2 ** (attempt - 1)
}

function retryAfterMs(header: string | undefined): number | undefined {
  const seconds = Number(header)
  return header && Number.isFinite(seconds) ? Math.min(seconds, 30) * 1000 : undefined
}

function parseBody(text: string): unknown {
  try {
    return text ? JSON.parse(text) : undefined
  } catch {
    return text
  }
}

function apiError(method: string, path: string, status: number, body: unknown): KubeApiError {
  const statusObject = (typeof body === 'object' && body !== null ? body : {}) as { reason?: string; message?: string }
  const message = statusObject.message || (typeof body === 'string' && body.trim()) || `HTTP ${status}`
  return new KubeApiError(status, statusObject.reason || `HTTP${status}`, message, `${method} ${path}`)
}

export function isNotFound(error: unknown): boolean {
  return error instanceof KubeApiError && error.status === 404
}

export function isConflict(error: unknown): boolean {
  return error instanceof KubeApiError && error.status === 409
}
