// The /_testbed admin endpoints (loopback only): health, request log, faults, latency, repositories,
// extra tokens, config reload, rate-limit budgets and a full reset.
import type { ConfigStore, TokenConfig } from './config.ts'
import type { FaultSpec, Faults } from './faults.ts'
import type { OpenApiCheck } from './openapi.ts'
import type { QuirkStore, Quirks } from './quirks.ts'
import { decode, HttpError, isObject, notFound, parseJson, type Reply } from './http.ts'
import type { RateLimits } from './ratelimit.ts'
import { validName, type RepoStore, type ResetRepoOptions } from './repos.ts'
import type { RequestLog } from './request-log.ts'

/** What the admin endpoints inspect and change. */
export interface AdminTarget {
  gitRoot: string
  config: ConfigStore
  quirks: QuirkStore
  openapi: OpenApiCheck
  repos: RepoStore
  log: RequestLog
  faults: Faults
  rates: RateLimits
  latencyMs: number
}

export async function admin(
  t: AdminTarget,
  method: string,
  path: string,
  query: URLSearchParams,
  raw: Buffer
): Promise<Reply> {
  const body = method === 'GET' ? {} : parseJson(raw)
  const sub = path.slice('/_testbed'.length) || '/'
  const key = `${method} ${sub}`
  switch (key) {
    case 'GET /health':
      return {
        status: 200,
        body: { ok: true, gitRoot: t.gitRoot, pid: process.pid, uptimeSeconds: Math.round(process.uptime()) }
      }
    case 'GET /requests': {
      const since = Number(query.get('since') ?? 0)
      return { status: 200, body: t.log.since(since) }
    }
    case 'GET /openapi': {
      const since = Number(query.get('since') ?? 0)
      return { status: 200, body: { lastId: t.openapi.lastId, misfits: t.openapi.misfits.filter(m => m.id > since) } }
    }
    case 'DELETE /requests':
      t.log.clear()
      return { status: 204 }
    case 'GET /faults':
      return {
        status: 200,
        body: t.faults.list.map(f => ({ id: f.id, kind: f.kind, remaining: f.remaining, hits: f.hits, ...f.spec }))
      }
    case 'POST /faults': {
      const specs = Array.isArray(body) ? body : [body]
      const added = specs.map(s => t.faults.add(s as FaultSpec))
      return { status: 201, body: added.map(f => ({ id: f.id, kind: f.kind, remaining: f.remaining })) }
    }
    case 'DELETE /faults':
      t.faults.clear()
      return { status: 204 }
    case 'POST /latency': {
      const ms = isObject(body) ? Number(body.ms ?? 0) : NaN
      if (!Number.isFinite(ms) || ms < 0) throw new HttpError(400, 'ms must be a non-negative number')
      t.latencyMs = ms
      return { status: 200, body: { ms } }
    }
    case 'POST /repos': {
      if (!isObject(body)) throw new HttpError(400, 'body must be an object')
      const created = await t.repos.reset(body as unknown as ResetRepoOptions)
      return { status: 201, body: created }
    }
    case 'POST /tokens': {
      if (!isObject(body) || typeof body.token !== 'string' || !isObject(body.repos))
        throw new HttpError(400, 'need {token, repos}')
      const token = body as unknown as TokenConfig
      t.config.extraTokens = [...t.config.extraTokens.filter(x => x.token !== token.token), token]
      return { status: 201, body: { token: token.token, login: token.login ?? 'testbed-user' } }
    }
    case 'DELETE /tokens':
      t.config.extraTokens = []
      return { status: 204 }
    case 'POST /reload': {
      const r = t.config.reload()
      return { status: r.ok ? 200 : 500, body: r }
    }
    case 'POST /ratelimit': {
      if (!isObject(body)) throw new HttpError(400, 'body must be an object')
      const tokens =
        typeof body.token === 'string'
          ? [body.token]
          : [...t.rates.tokens(), ...t.config.current.tokens.map(x => x.token)]
      for (const token of tokens) {
        const r = t.rates.state(token)
        if (typeof body.limit === 'number') r.limit = body.limit
        if (typeof body.remaining === 'number') r.used = Math.max(0, r.limit - body.remaining)
        if (typeof body.resetInSeconds === 'number') r.reset = Math.floor(Date.now() / 1000) + body.resetInSeconds
      }
      return { status: 200, body: { tokens: tokens.length } }
    }
    case 'POST /quirks': {
      if (!isObject(body) || typeof body.owner !== 'string' || typeof body.name !== 'string' || !isObject(body.quirks))
        throw new HttpError(400, 'need {owner, name, quirks}')
      t.quirks.set(`${body.owner}/${body.name}`, body.quirks as Quirks)
      return { status: 200, body: { full_name: `${body.owner}/${body.name}`, quirks: body.quirks } }
    }
    case 'POST /reset':
      t.quirks.clear()
      t.faults.clear()
      t.latencyMs = 0
      t.log.clear()
      t.config.extraTokens = []
      t.rates.clear()
      return { status: 204 }
  }
  const del = /^\/repos\/([^/]+)\/([^/]+)$/.exec(sub)
  if (method === 'DELETE' && del) {
    const [owner, name] = [decode(del[1]), decode(del[2])]
    if (!validName(owner) || !validName(name)) throw notFound()
    await t.repos.remove(owner, name)
    return { status: 204 }
  }
  throw notFound()
}
