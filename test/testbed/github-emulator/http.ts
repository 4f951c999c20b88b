// HTTP plumbing shared by the emulator's handlers: GitHub-shaped errors, JSON bodies, pagination.
import type { IncomingMessage, ServerResponse } from 'node:http'

export const DOCS = 'https://docs.github.com/rest'

export class HttpError extends Error {
  status: number
  body: Record<string, unknown>
  headers: Record<string, string>
  constructor(
    status: number,
    message: string,
    extra: Record<string, unknown> = {},
    headers: Record<string, string> = {}
  ) {
    super(message)
    this.status = status
    this.body = {
      message,
      ...extra,
      documentation_url: (extra.documentation_url as string | undefined) ?? DOCS,
      status: String(status)
    }
    this.headers = headers
  }
}

export const notFound = (): HttpError => new HttpError(404, 'Not Found')

/** A percent-decoded path segment; 400 when malformed. */
export function decode(s: string): string {
  try {
    return decodeURIComponent(s)
  } catch {
    throw new HttpError(400, 'Malformed URL')
  }
}

/** GitHub's 422 "Validation Failed" shape. */
export function validationFailed(errors: Array<Record<string, unknown>>, message = 'Validation Failed'): HttpError {
  return new HttpError(422, message, { errors })
}

export interface Reply {
  status: number
  body?: unknown
  headers?: Record<string, string>
}

export async function readBody(req: IncomingMessage, limit = 200 * 1024 * 1024): Promise<Buffer> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const c of req) {
    const b = c as Buffer
    size += b.length
    if (size > limit) throw new HttpError(413, 'Request body too large')
    chunks.push(b)
  }
  return Buffer.concat(chunks)
}

export function parseJson(buf: Buffer): unknown {
  if (buf.length === 0) return {}
  try {
    return JSON.parse(buf.toString('utf8'))
  } catch {
    throw new HttpError(400, 'Problems parsing JSON')
  }
}

export function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return
  let payload: string | Buffer = ''
  const h: Record<string, string> = { ...headers }
  if (body !== undefined && status !== 204 && status !== 304) {
    if (Buffer.isBuffer(body)) payload = body
    else if (typeof body === 'string' && h['content-type'] && !h['content-type'].includes('json')) payload = body
    else {
      payload = JSON.stringify(body)
      h['content-type'] = h['content-type'] ?? 'application/json; charset=utf-8'
    }
  }
  h['content-length'] = String(Buffer.byteLength(payload))
  res.writeHead(status, h)
  res.end(payload)
}

/** Paginate an array per GitHub's page/per_page and build the Link header. */
export function paginate<T>(
  items: T[],
  query: URLSearchParams,
  selfUrl: string
): { page: T[]; headers: Record<string, string> } {
  const perPage = Math.min(100, Math.max(1, Number(query.get('per_page') ?? 30) || 30))
  const pageNo = Math.max(1, Number(query.get('page') ?? 1) || 1)
  const last = Math.max(1, Math.ceil(items.length / perPage))
  const slice = items.slice((pageNo - 1) * perPage, pageNo * perPage)
  const link = (p: number, rel: string): string => {
    const u = new URL(selfUrl)
    u.searchParams.set('per_page', String(perPage))
    u.searchParams.set('page', String(p))
    return `<${u.toString()}>; rel="${rel}"`
  }
  const links: string[] = []
  if (pageNo < last) links.push(link(pageNo + 1, 'next'), link(last, 'last'))
  if (pageNo > 1) links.push(link(1, 'first'), link(pageNo - 1, 'prev'))
  return { page: slice, headers: links.length ? { link: links.join(', ') } : {} }
}

export function isoNow(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z')
}

export function nodeId(kind: string, key: string | number): string {
  return Buffer.from(`${kind}:${key}`).toString('base64').replace(/=+$/, '')
}

/** GitHub wraps base64 content at 60 characters. */
export function base64Wrapped(buf: Buffer): string {
  const b = buf.toString('base64')
  const lines: string[] = []
  for (let i = 0; i < b.length; i += 60) lines.push(b.slice(i, i + 60))
  return lines.join('\n') + (lines.length ? '\n' : '')
}

export function decodeBase64Strict(s: string): Buffer {
  const clean = s.replace(/\s+/g, '')
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(clean)) throw new HttpError(422, 'content is not valid Base64')
  return Buffer.from(clean, 'base64')
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}
