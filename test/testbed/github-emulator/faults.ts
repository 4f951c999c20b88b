// Fault injection: queued answers (5xx, 429, secondary rate limit, connection reset, latency) that
// replace the next requests matching a method and path pattern.
import { randomUUID } from 'node:crypto'
import { HttpError, type Reply } from './http.ts'
import { PRIMARY_DOCS } from './ratelimit.ts'

/** `handle-then-fail`: the request is handled (a write lands), then answered 502 as GitHub sometimes does. */
export type FaultKind = '5xx' | '429' | 'secondary-rate-limit' | 'reset' | 'latency' | 'handle-then-fail'

export interface FaultSpec {
  count?: number
  kind?: FaultKind
  status?: number
  body?: unknown
  headers?: Record<string, string>
  retryAfter?: number
  latencyMs?: number
  /** bodyRegex: tested against the request body (POST /graphql carries queries and mutations alike) */
  match?: { method?: string; pathRegex?: string; bodyRegex?: string }
}

export interface Fault {
  id: number
  kind: FaultKind
  remaining: number
  hits: number
  spec: FaultSpec
  re: RegExp | null
  bodyRe: RegExp | null
}

const SECONDARY_MESSAGE =
  'You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID '
const SECONDARY_DOCS = 'https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits'

export class Faults {
  list: Fault[] = []
  private seq = 0

  add(spec: FaultSpec): Fault {
    if (typeof spec !== 'object' || spec === null || Array.isArray(spec))
      throw new HttpError(400, 'fault must be an object')
    let kind = spec.kind
    if (!kind) {
      if (spec.status === 429) kind = '429'
      else if (spec.status) kind = '5xx'
      else if (spec.latencyMs) kind = 'latency'
      else throw new HttpError(400, 'fault needs kind, status or latencyMs')
    }
    if (!['5xx', '429', 'secondary-rate-limit', 'reset', 'latency', 'handle-then-fail'].includes(kind))
      throw new HttpError(400, `unknown fault kind ${kind}`)
    let re: RegExp | null = null
    if (spec.match?.pathRegex) {
      try {
        re = new RegExp(spec.match.pathRegex)
      } catch {
        throw new HttpError(400, `bad pathRegex ${spec.match.pathRegex}`)
      }
    }
    let bodyRe: RegExp | null = null
    if (spec.match?.bodyRegex) {
      try {
        bodyRe = new RegExp(spec.match.bodyRegex)
      } catch {
        throw new HttpError(400, `bad bodyRegex ${spec.match.bodyRegex}`)
      }
    }
    const count = spec.count === undefined ? 1 : Number(spec.count)
    if (!Number.isInteger(count) || count < 1) throw new HttpError(400, 'count must be a positive integer')
    const f: Fault = { id: ++this.seq, kind, remaining: count, hits: 0, spec, re, bodyRe }
    this.list.push(f)
    return f
  }

  /** The first pending fault matching the request, consumed by one. */
  take(method: string, pathAndQuery: string, body = ''): Fault | null {
    for (const f of this.list) {
      if (f.remaining <= 0) continue
      if (f.spec.match?.method && f.spec.match.method.toUpperCase() !== method) continue
      if (f.re && !f.re.test(pathAndQuery)) continue
      if (f.bodyRe && !f.bodyRe.test(body)) continue
      f.remaining--
      f.hits++
      if (f.remaining <= 0) this.list = this.list.filter(x => x !== f)
      return f
    }
    return null
  }

  clear(): void {
    this.list = []
  }
}

/** The answer a fault gives instead of the route's; null for faults that only delay or drop. */
export function faultReply(f: Fault, rateLimit: number): Reply | null {
  const s = f.spec
  const now = Math.floor(Date.now() / 1000)
  const retryAfter = s.retryAfter ?? 1
  const requestId = randomUUID().toUpperCase().slice(0, 23)
  let reply: Reply
  switch (f.kind) {
    case 'latency':
      return null
    case 'reset':
      return null
    case '429':
      reply = {
        status: s.status ?? 429,
        body: {
          message: `API rate limit exceeded for installation. If you reach out to GitHub Support for help, please include the request ID ${requestId}.`,
          documentation_url: PRIMARY_DOCS,
          status: String(s.status ?? 429)
        },
        headers: {
          'retry-after': String(retryAfter),
          'x-ratelimit-limit': String(rateLimit),
          'x-ratelimit-remaining': '0',
          'x-ratelimit-used': String(rateLimit),
          'x-ratelimit-reset': String(now + retryAfter),
          'x-ratelimit-resource': 'core'
        }
      }
      break
    case 'secondary-rate-limit':
      reply = {
        status: s.status ?? 403,
        body: {
          message: `${SECONDARY_MESSAGE}${requestId}.`,
          documentation_url: SECONDARY_DOCS,
          status: String(s.status ?? 403)
        },
        headers: { 'retry-after': String(retryAfter) }
      }
      break
    default:
      reply = {
        status: s.status ?? 502,
        body: {
          message: 'Server Error',
          documentation_url: 'https://docs.github.com/rest',
          status: String(s.status ?? 502)
        },
        headers: s.retryAfter !== undefined ? { 'retry-after': String(s.retryAfter) } : {}
      }
  }
  reply.headers = { 'x-github-request-id': requestId, ...reply.headers, ...(s.headers ?? {}) }
  if (s.body !== undefined) {
    reply.body = s.body
    if (typeof s.body === 'string' && !Object.keys(reply.headers).some(k => k.toLowerCase() === 'content-type')) {
      reply.headers['content-type'] = 'text/plain; charset=utf-8'
    }
  }
  return reply
}
