// The emulator's HTTP server: authentication, permissions, rate-limit headers, request log,
// fault injection, the /_testbed admin endpoints, and dispatch to the GitHub-shaped routes.
import { readFileSync, writeFileSync } from 'node:fs'
import { stat, rm, mkdir } from 'node:fs/promises'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { randomUUID } from 'node:crypto'
import { ConfigStore, permissionFor, type Permission, type TokenConfig } from './config.ts'
import { numericId, type Ctx, type Route, type Services, type UserInfo } from './context.ts'
import { GitError, GitRepo, type TreeChange } from './git.ts'
import { HttpError, isObject, notFound, parseJson, readBody, send, type Reply } from './http.ts'
import { deploymentRoutes } from './routes-deployments.ts'
import { gitRoutes } from './routes-git.ts'
import { pullRoutes } from './routes-pulls.ts'
import { repoRoutes } from './routes-repo.ts'
import { OpenApiCheck } from './openapi.ts'
import { checkQuirkPermissions, QuirkStore, type Quirks } from './quirks.ts'
import { StateStore } from './state.ts'

export interface RequestLogEntry {
  id: number
  method: string
  path: string
  query: string
  status: number
  time: string
  durationMs: number
  login?: string
  fault?: string
  body?: unknown
}

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
  match?: { method?: string; pathRegex?: string }
}

interface Fault {
  id: number
  kind: FaultKind
  remaining: number
  hits: number
  spec: FaultSpec
  re: RegExp | null
}

interface RateState {
  limit: number
  used: number
  reset: number
}

const SECONDARY_MESSAGE =
  'You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID '
const SECONDARY_DOCS = 'https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits'
const PRIMARY_DOCS = 'https://docs.github.com/rest/overview/rate-limits-for-the-rest-api'

const NAME_RE = /^[A-Za-z0-9_.-]{1,100}$/

function validName(s: string): boolean {
  return NAME_RE.test(s) && s !== '.' && s !== '..' && !s.endsWith('.git')
}

function isLoopback(addr: string | undefined): boolean {
  return !!addr && (addr.startsWith('127.') || addr === '::1' || addr.startsWith('::ffff:127.'))
}

function decode(s: string): string {
  try {
    return decodeURIComponent(s)
  } catch {
    throw new HttpError(400, 'Malformed URL')
  }
}

export interface EmulatorOptions {
  gitRoot: string
  configFile: string | null
  host?: string
  port?: number
}

export class Emulator implements Services {
  gitRoot: string
  config: ConfigStore
  state: StateStore
  quirks = new QuirkStore()
  openapi = new OpenApiCheck()
  server: Server
  requests: RequestLogEntry[] = []
  faults: Fault[] = []
  latencyMs = 0
  private seq = 0
  private faultSeq = 0
  private locks = new Map<string, Promise<unknown>>()
  private rates = new Map<string, RateState>()
  private host: string
  private port: number
  private repoRouteList: Route[]

  constructor(opts: EmulatorOptions) {
    this.gitRoot = opts.gitRoot
    this.host = opts.host ?? '127.0.0.1'
    this.port = opts.port ?? 0
    this.config = new ConfigStore(opts.configFile)
    this.state = new StateStore(opts.gitRoot)
    this.repoRouteList = [...repoRoutes, ...gitRoutes, ...pullRoutes, ...deploymentRoutes]
    this.server = createServer((req, res) => {
      this.handle(req, res).catch(e => {
        process.stderr.write(`github-emulator: unhandled ${String(e?.stack ?? e)}\n`)
        send(res, 500, { message: 'Server Error' })
      })
    })
    this.server.keepAliveTimeout = 5000
  }

  async listen(): Promise<number> {
    await mkdir(this.gitRoot, { recursive: true })
    this.config.watch()
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject)
      this.server.listen(this.port, this.host, () => resolve())
    })
    return (this.server.address() as AddressInfo).port
  }

  async close(): Promise<void> {
    this.config.stop()
    this.server.closeAllConnections()
    await new Promise<void>(resolve => this.server.close(() => resolve()))
  }

  withRepoLock<T>(full: string, fn: () => Promise<T>): Promise<T> {
    const key = full.toLowerCase()
    const prev = this.locks.get(key) ?? Promise.resolve()
    const run = prev.then(fn, fn)
    const tail = run.catch(() => undefined)
    this.locks.set(key, tail)
    void tail.then(() => {
      if (this.locks.get(key) === tail) this.locks.delete(key)
    })
    return run
  }

  // ---------------------------------------------------------------- request handling

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = Date.now()
    const url = new URL(req.url ?? '/', 'http://localhost')
    const method = (req.method ?? 'GET').toUpperCase()
    const path = url.pathname.replace(/\/+$/, '') || '/'
    const hostHeader = req.headers.host ?? `${this.host}:${this.port}`
    const apiBase = `http://${hostHeader}`

    if (path === '/_testbed' || path.startsWith('/_testbed/')) {
      if (!isLoopback(req.socket.remoteAddress)) return send(res, 403, { message: 'admin endpoints are loopback only' })
      try {
        const reply = await this.admin(method, path, url.searchParams, await readBody(req))
        return send(res, reply.status, reply.body, reply.headers)
      } catch (e) {
        return this.sendError(res, e)
      }
    }

    // log and match faults against the decoded path (Octokit sends heads%2Fmain for heads/main)
    let shownPath = path
    try {
      shownPath = decodeURIComponent(path)
    } catch {
      /* keep it raw */
    }
    const entry: RequestLogEntry = {
      id: ++this.seq,
      method,
      path: shownPath,
      query: url.search,
      status: 0,
      time: new Date(started).toISOString(),
      durationMs: 0
    }
    res.on('close', () => {
      entry.status = res.headersSent ? res.statusCode : 0
      entry.durationMs = Date.now() - started
      this.requests.push(entry)
      if (this.requests.length > 20000) this.requests.splice(0, this.requests.length - 20000)
    })

    let raw: Buffer
    try {
      raw = await readBody(req)
    } catch (e) {
      return this.sendError(res, e)
    }
    if (method !== 'GET' && raw.length > 0 && raw.length < 64 * 1024) {
      try {
        entry.body = JSON.parse(raw.toString('utf8'))
      } catch {
        entry.body = raw.toString('utf8')
      }
    }

    if (this.latencyMs > 0) await sleep(this.latencyMs)
    const fault = this.takeFault(method, shownPath + url.search)
    if (fault && fault.kind !== 'handle-then-fail') {
      entry.fault = fault.kind
      if (fault.spec.latencyMs) await sleep(fault.spec.latencyMs)
      if (fault.kind === 'reset') {
        req.socket.destroy()
        return
      }
      const reply = this.faultReply(fault)
      if (reply) return send(res, reply.status, reply.body, reply.headers)
    }

    const rateHeaders: Record<string, string> = {
      'x-github-request-id': randomUUID().toUpperCase().slice(0, 23),
      'x-github-api-version-selected': '2022-11-28',
      'x-github-media-type': 'github.v3; format=json'
    }
    try {
      const token = this.authenticate(req)
      entry.login = token.login ?? 'testbed-user'
      if (path !== '/rate_limit') Object.assign(rateHeaders, this.consumeRate(token.token))
      else Object.assign(rateHeaders, this.rateHeaders(token.token))
      // The action's own requests (Octokit) must fit GitHub's description; tests' raw requests may not.
      if (/octokit/i.test(String(req.headers['user-agent'] ?? ''))) this.openapi.checkRequest(method, path, entry.body)
      const reply = await this.dispatch(req, method, path, url.searchParams, raw, token, apiBase)
      if (fault) {
        entry.fault = fault.kind
        const failed = this.faultReply({ ...fault, kind: '5xx' })!
        return send(res, failed.status, failed.body, { ...rateHeaders, ...failed.headers })
      }
      if (reply.body !== undefined) this.openapi.checkResponse(method, path, reply.status, reply.body)
      send(res, reply.status, reply.body, { ...rateHeaders, ...(reply.headers ?? {}) })
    } catch (e) {
      if (e instanceof HttpError) this.openapi.checkResponse(method, path, e.status, e.body)
      if (!rateHeaders['x-ratelimit-limit']) {
        // unauthenticated answers carry GitHub's anonymous budget
        Object.assign(rateHeaders, {
          'x-ratelimit-limit': '60',
          'x-ratelimit-remaining': '59',
          'x-ratelimit-reset': String(Math.floor(Date.now() / 1000) + 3600),
          'x-ratelimit-used': '1',
          'x-ratelimit-resource': 'core'
        })
      }
      this.sendError(res, e, rateHeaders)
    }
  }

  private sendError(res: ServerResponse, e: unknown, headers: Record<string, string> = {}): void {
    if (e instanceof HttpError) return send(res, e.status, e.body, { ...headers, ...e.headers })
    process.stderr.write(`github-emulator: ${e instanceof GitError ? e.message : String((e as Error)?.stack ?? e)}\n`)
    send(
      res,
      500,
      { message: 'Server Error', documentation_url: 'https://docs.github.com/rest', status: '500' },
      headers
    )
  }

  private authenticate(req: IncomingMessage): TokenConfig {
    const h = req.headers.authorization
    if (!h) throw new HttpError(401, 'Requires authentication')
    let value: string | null = null
    const m = /^(?:token|bearer)\s+(\S+)\s*$/i.exec(h)
    if (m) value = m[1]
    else {
      const b = /^basic\s+(\S+)$/i.exec(h)
      if (b) {
        const [user, pass] = Buffer.from(b[1], 'base64').toString('utf8').split(':')
        value = pass && pass !== 'x-oauth-basic' ? pass : user
      }
    }
    const token = value ? this.config.findToken(value) : undefined
    if (!token) throw new HttpError(401, 'Bad credentials')
    return token
  }

  private rateFor(token: string): RateState {
    const now = Math.floor(Date.now() / 1000)
    let r = this.rates.get(token)
    const limit = this.config.current.rateLimit ?? 5000
    if (!r || r.reset <= now) {
      r = { limit, used: 0, reset: now + 3600 }
      this.rates.set(token, r)
    }
    return r
  }

  private rateHeaders(token: string): Record<string, string> {
    const r = this.rateFor(token)
    return {
      'x-ratelimit-limit': String(r.limit),
      'x-ratelimit-remaining': String(Math.max(0, r.limit - r.used)),
      'x-ratelimit-reset': String(r.reset),
      'x-ratelimit-used': String(r.used),
      'x-ratelimit-resource': 'core'
    }
  }

  private consumeRate(token: string): Record<string, string> {
    const r = this.rateFor(token)
    if (r.used >= r.limit) {
      throw new HttpError(
        403,
        'API rate limit exceeded for user.',
        { documentation_url: PRIMARY_DOCS },
        this.rateHeaders(token)
      )
    }
    r.used++
    return this.rateHeaders(token)
  }

  private userOf(token: TokenConfig): UserInfo {
    const login = token.login ?? 'testbed-user'
    return {
      login,
      name: token.name ?? login,
      email: token.email ?? `${numericId(`user:${login}`)}+${login}@users.noreply.github.com`
    }
  }

  private async dispatch(
    req: IncomingMessage,
    method: string,
    path: string,
    query: URLSearchParams,
    raw: Buffer,
    token: TokenConfig,
    apiBase: string
  ): Promise<Reply> {
    const user = this.userOf(token)
    const htmlBase = this.config.current.htmlBaseUrl ?? apiBase
    if (path === '/user' && method === 'GET') {
      const id = numericId(`user:${user.login}`)
      return {
        status: 200,
        body: {
          login: user.login,
          id,
          type: user.login.endsWith('[bot]') ? 'Bot' : 'User',
          name: user.name,
          email: user.email,
          url: `${apiBase}/users/${user.login}`,
          html_url: `${htmlBase}/${user.login}`
        }
      }
    }
    if (path === '/rate_limit' && method === 'GET') {
      const r = this.rateFor(token.token)
      const core = {
        limit: r.limit,
        remaining: Math.max(0, r.limit - r.used),
        reset: r.reset,
        used: r.used,
        resource: 'core'
      }
      return { status: 200, body: { resources: { core }, rate: core } }
    }
    const m = /^\/repos\/([^/]+)\/([^/]+)(\/.*)?$/.exec(path)
    if (!m) throw notFound()
    const owner = decode(m[1])
    const name = decode(m[2])
    const rest = m[3] ?? ''
    if (!validName(owner) || !validName(name)) throw notFound()
    const full = `${owner}/${name}`
    const perm: Permission = permissionFor(token, owner, name)
    if (perm === 'none') throw notFound()
    const repo = new GitRepo(join(this.gitRoot, owner, `${name}.git`))
    const hasGit = await repo.exists()
    const virtual = this.isVirtual(owner, name)
    if (!hasGit && !virtual) throw notFound()

    let route: Route | undefined
    let match: RegExpExecArray | null = null
    const routeMethod = method === 'HEAD' ? 'GET' : method
    for (const r of this.repoRouteList) {
      if (r.method !== routeMethod) continue
      match = r.re.exec(rest)
      if (match) {
        route = r
        break
      }
    }
    if (!route || !match) throw notFound()
    if (route.git !== false && !hasGit) throw new HttpError(409, 'Git Repository is empty.')
    const writes = method !== 'GET' && method !== 'HEAD'
    if (writes && perm === 'read') throw new HttpError(403, 'Resource not accessible by integration')

    const body = method === 'GET' || method === 'HEAD' ? {} : parseJson(raw)
    const quirks: Quirks = this.quirks.get(full)
    checkQuirkPermissions(quirks, method, rest, body)
    const ctx: Ctx = {
      method,
      path,
      query,
      params: match.slice(1).map(p => (p === undefined ? '' : decode(p))),
      body,
      headers: req.headers,
      apiBase,
      htmlBase,
      user,
      repo: { owner, name, full, git: hasGit ? repo : null, perm, quirks },
      svc: this
    }
    return route.handler(ctx)
  }

  // ---------------------------------------------------------------- faults

  addFault(spec: FaultSpec): Fault {
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
    const count = spec.count === undefined ? 1 : Number(spec.count)
    if (!Number.isInteger(count) || count < 1) throw new HttpError(400, 'count must be a positive integer')
    const f: Fault = { id: ++this.faultSeq, kind, remaining: count, hits: 0, spec, re }
    this.faults.push(f)
    return f
  }

  private takeFault(method: string, pathAndQuery: string): Fault | null {
    for (const f of this.faults) {
      if (f.remaining <= 0) continue
      if (f.spec.match?.method && f.spec.match.method.toUpperCase() !== method) continue
      if (f.re && !f.re.test(pathAndQuery)) continue
      f.remaining--
      f.hits++
      if (f.remaining <= 0) this.faults = this.faults.filter(x => x !== f)
      return f
    }
    return null
  }

  private faultReply(f: Fault): Reply | null {
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
            'x-ratelimit-limit': String(this.config.current.rateLimit ?? 5000),
            'x-ratelimit-remaining': '0',
            'x-ratelimit-used': String(this.config.current.rateLimit ?? 5000),
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

  // ---------------------------------------------------------------- repositories

  private virtualFile(): string {
    return join(this.gitRoot, '.testbed-virtual-repos.json')
  }

  /** Repositories registered at run time without git storage (kept across restarts). */
  private virtualRepos(): string[] {
    try {
      return JSON.parse(readFileSync(this.virtualFile(), 'utf8')) as string[]
    } catch {
      return []
    }
  }

  /** Configured ("owner/name" or "owner/*") or registered repositories that exist without git storage. */
  isVirtual(owner: string, name: string): boolean {
    const full = `${owner}/${name}`.toLowerCase()
    const patterns = [...(this.config.current.repos ?? []), ...this.virtualRepos()].map(r => r.toLowerCase())
    return patterns.some(p => p === full || p === `${owner.toLowerCase()}/*`)
  }

  private setVirtual(owner: string, name: string, on: boolean): void {
    const full = `${owner}/${name}`
    const list = this.virtualRepos().filter(r => r.toLowerCase() !== full.toLowerCase())
    if (on) list.push(full)
    writeFileSync(this.virtualFile(), JSON.stringify(list, null, 1))
  }

  async resetRepo(opts: {
    owner: string
    name: string
    dir?: string
    files?: Record<string, string>
    defaultBranch?: string
    message?: string
    virtual?: boolean
  }): Promise<Record<string, unknown>> {
    const { owner, name } = opts
    if (typeof owner !== 'string' || typeof name !== 'string' || !validName(owner) || !validName(name)) {
      throw new HttpError(400, 'owner and name must be valid GitHub names')
    }
    this.quirks.reset(`${owner}/${name}`)
    if (opts.virtual) {
      // metadata and deployments only, no git storage
      return this.withRepoLock(`${owner}/${name}`, async () => {
        await rm(join(this.gitRoot, owner, `${name}.git`), { recursive: true, force: true })
        this.state.reset(owner, name)
        await mkdir(this.gitRoot, { recursive: true })
        this.setVirtual(owner, name, true)
        return { full_name: `${owner}/${name}`, virtual: true }
      })
    }
    const branch = opts.defaultBranch ?? 'main'
    const full = `${owner}/${name}`
    return this.withRepoLock(full, async () => {
      const gitDir = join(this.gitRoot, owner, `${name}.git`)
      await rm(gitDir, { recursive: true, force: true })
      this.state.reset(owner, name)
      if (this.virtualRepos().some(r => r.toLowerCase() === full.toLowerCase())) this.setVirtual(owner, name, false)
      const repo = await GitRepo.init(gitDir, branch)
      if (opts.dir) {
        const st = await stat(opts.dir).catch(() => null)
        if (!st?.isDirectory()) throw new HttpError(400, `dir ${opts.dir} is not a directory`)
      }
      let tree = await repo.treeFromDir(opts.dir ?? null)
      if (opts.files && Object.keys(opts.files).length) {
        const changes: TreeChange[] = []
        for (const [p, content] of Object.entries(opts.files)) {
          const path = p.replace(/^\/+/, '')
          if (!path || path.split('/').some(s => s === '' || s === '.' || s === '..' || s === '.git')) {
            throw new HttpError(400, `bad file path ${p}`)
          }
          changes.push({
            path,
            mode: '100644',
            type: 'blob',
            sha: await repo.hashBlob(Buffer.from(String(content), 'utf8'))
          })
        }
        tree = await repo.buildTree(tree, changes)
      }
      const ident = { name: 'testbed', email: 'testbed@testbed.invalid' }
      const sha = await repo.commitTree(tree, [], opts.message ?? 'Initial commit', ident, ident)
      if (!(await repo.casRef(`refs/heads/${branch}`, sha, null, 'testbed: initial commit'))) {
        throw new HttpError(500, 'could not create the initial branch')
      }
      return { full_name: full, default_branch: branch, sha, tree, git_dir: gitDir }
    })
  }

  // ---------------------------------------------------------------- admin endpoints

  private async admin(method: string, path: string, query: URLSearchParams, raw: Buffer): Promise<Reply> {
    const body = method === 'GET' ? {} : parseJson(raw)
    const sub = path.slice('/_testbed'.length) || '/'
    const key = `${method} ${sub}`
    switch (key) {
      case 'GET /health':
        return {
          status: 200,
          body: { ok: true, gitRoot: this.gitRoot, pid: process.pid, uptimeSeconds: Math.round(process.uptime()) }
        }
      case 'GET /requests': {
        const since = Number(query.get('since') ?? 0)
        return { status: 200, body: this.requests.filter(r => r.id > since) }
      }
      case 'GET /openapi': {
        const since = Number(query.get('since') ?? 0)
        return {
          status: 200,
          body: { lastId: this.openapi.lastId, misfits: this.openapi.misfits.filter(m => m.id > since) }
        }
      }
      case 'DELETE /requests':
        this.requests = []
        return { status: 204 }
      case 'GET /faults':
        return {
          status: 200,
          body: this.faults.map(f => ({ id: f.id, kind: f.kind, remaining: f.remaining, hits: f.hits, ...f.spec }))
        }
      case 'POST /faults': {
        const specs = Array.isArray(body) ? body : [body]
        const added = specs.map(s => this.addFault(s as FaultSpec))
        return { status: 201, body: added.map(f => ({ id: f.id, kind: f.kind, remaining: f.remaining })) }
      }
      case 'DELETE /faults':
        this.faults = []
        return { status: 204 }
      case 'POST /latency': {
        const ms = isObject(body) ? Number(body.ms ?? 0) : NaN
        if (!Number.isFinite(ms) || ms < 0) throw new HttpError(400, 'ms must be a non-negative number')
        this.latencyMs = ms
        return { status: 200, body: { ms } }
      }
      case 'POST /repos': {
        if (!isObject(body)) throw new HttpError(400, 'body must be an object')
        const created = await this.resetRepo(
          body as {
            owner: string
            name: string
            dir?: string
            files?: Record<string, string>
            defaultBranch?: string
            message?: string
            virtual?: boolean
          }
        )
        return { status: 201, body: created }
      }
      case 'POST /tokens': {
        if (!isObject(body) || typeof body.token !== 'string' || !isObject(body.repos))
          throw new HttpError(400, 'need {token, repos}')
        const t = body as unknown as TokenConfig
        this.config.extraTokens = [...this.config.extraTokens.filter(x => x.token !== t.token), t]
        return { status: 201, body: { token: t.token, login: t.login ?? 'testbed-user' } }
      }
      case 'DELETE /tokens':
        this.config.extraTokens = []
        return { status: 204 }
      case 'POST /reload': {
        const r = this.config.reload()
        return { status: r.ok ? 200 : 500, body: r }
      }
      case 'POST /ratelimit': {
        if (!isObject(body)) throw new HttpError(400, 'body must be an object')
        const tokens =
          typeof body.token === 'string'
            ? [body.token]
            : [...this.rates.keys(), ...this.config.current.tokens.map(t => t.token)]
        for (const t of tokens) {
          const r = this.rateFor(t)
          if (typeof body.limit === 'number') r.limit = body.limit
          if (typeof body.remaining === 'number') r.used = Math.max(0, r.limit - body.remaining)
          if (typeof body.resetInSeconds === 'number') r.reset = Math.floor(Date.now() / 1000) + body.resetInSeconds
        }
        return { status: 200, body: { tokens: tokens.length } }
      }
      case 'POST /quirks': {
        if (
          !isObject(body) ||
          typeof body.owner !== 'string' ||
          typeof body.name !== 'string' ||
          !isObject(body.quirks)
        )
          throw new HttpError(400, 'need {owner, name, quirks}')
        this.quirks.set(`${body.owner}/${body.name}`, body.quirks as Quirks)
        return { status: 200, body: { full_name: `${body.owner}/${body.name}`, quirks: body.quirks } }
      }
      case 'POST /reset':
        this.quirks.clear()
        this.faults = []
        this.latencyMs = 0
        this.requests = []
        this.config.extraTokens = []
        this.rates.clear()
        return { status: 204 }
    }
    const del = /^\/repos\/([^/]+)\/([^/]+)$/.exec(sub)
    if (method === 'DELETE' && del) {
      const [owner, name] = [decode(del[1]), decode(del[2])]
      if (!validName(owner) || !validName(name)) throw notFound()
      await this.withRepoLock(`${owner}/${name}`, async () => {
        await rm(join(this.gitRoot, owner, `${name}.git`), { recursive: true, force: true })
        this.state.reset(owner, name)
        if (this.virtualRepos().length) this.setVirtual(owner, name, false)
      })
      return { status: 204 }
    }
    throw notFound()
  }
}
