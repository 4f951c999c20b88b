// The emulator's HTTP server: request log, fault injection, authentication and rate limits, then
// dispatch to the GitHub-shaped routes. Admin endpoints are in admin.ts, faults in faults.ts, rate
// limits in ratelimit.ts, repository storage in repos.ts.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { mkdir } from 'node:fs/promises'
import { setTimeout as sleep } from 'node:timers/promises'
import { randomUUID } from 'node:crypto'
import { admin, type AdminTarget } from './admin.ts'
import { authenticate, userOf } from './auth.ts'
import { ConfigStore, permissionFor, type Permission, type TokenConfig } from './config.ts'
import { numericId, type Ctx, type Route } from './context.ts'
import { faultReply, Faults } from './faults.ts'
import { GitError } from './git.ts'
import type { OidcIssuer } from './oidc.ts'
import { decode, HttpError, notFound, parseJson, readBody, send, type Reply } from './http.ts'
import { checkQuirkPermissions, QuirkStore, type Quirks } from './quirks.ts'
import { RateLimits } from './ratelimit.ts'
import { RepoStore, validName } from './repos.ts'
import { RequestLog, type RequestLogEntry } from './request-log.ts'
import { deploymentRoutes } from './routes-deployments.ts'
import { gitRoutes } from './routes-git.ts'
import { pullRoutes } from './routes-pulls.ts'
import { repoRoutes } from './routes-repo.ts'
import { OpenApiCheck } from './openapi.ts'
import { GraphQLEndpoint } from './graphql.ts'

export type { FaultKind, FaultSpec } from './faults.ts'
export type { RequestLogEntry } from './request-log.ts'

function isLoopback(addr: string | undefined): boolean {
  return !!addr && (addr.startsWith('127.') || addr === '::1' || addr.startsWith('::ffff:127.'))
}

export interface EmulatorOptions {
  gitRoot: string
  configFile: string | null
  host?: string
  port?: number
  /** GitHub's OIDC token service (/_testbed/oidc/…); absent: those endpoints answer 404. */
  oidc?: OidcIssuer
}

export class Emulator implements AdminTarget {
  gitRoot: string
  config: ConfigStore
  quirks = new QuirkStore()
  openapi = new OpenApiCheck()
  graphql = new GraphQLEndpoint(misfit => this.openapi.record(misfit))
  repos: RepoStore
  server: Server
  log = new RequestLog()
  faults = new Faults()
  rates: RateLimits
  latencyMs = 0
  private host: string
  private port: number
  private repoRouteList: Route[]
  private oidc: OidcIssuer | undefined

  constructor(opts: EmulatorOptions) {
    this.oidc = opts.oidc
    this.gitRoot = opts.gitRoot
    this.host = opts.host ?? '127.0.0.1'
    this.port = opts.port ?? 0
    this.config = new ConfigStore(opts.configFile)
    this.repos = new RepoStore(opts.gitRoot, this.config, this.quirks)
    this.rates = new RateLimits(() => this.config.current.rateLimit ?? 5000)
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
    this.openapi.warm() // before the port opens, so no client waits on it
    this.graphql.warm()
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
        if (path.startsWith('/_testbed/oidc/')) {
          if (!this.oidc) return send(res, 404, { message: 'the OIDC issuer is off (start with --oidc-port)' })
          const raw = await readBody(req)
          const body = method === 'GET' ? {} : parseJson(raw)
          const sub = path.slice('/_testbed/oidc'.length)
          const reply = this.oidc.handle(method, sub, url.searchParams, req.headers.authorization ?? '', body, apiBase)
          return send(res, reply.status, reply.body)
        }
        const reply = await admin(this, method, path, url.searchParams, await readBody(req))
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
      id: this.log.nextId(),
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
      this.log.add(entry)
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
    const fault = this.faults.take(method, shownPath + url.search, raw.toString('utf8'))
    if (fault && fault.kind !== 'handle-then-fail') {
      entry.fault = fault.kind
      if (fault.spec.latencyMs) await sleep(fault.spec.latencyMs)
      if (fault.kind === 'reset') {
        req.socket.destroy()
        return
      }
      const reply = faultReply(fault, this.config.current.rateLimit ?? 5000)
      if (reply) return send(res, reply.status, reply.body, reply.headers)
    }

    const rateHeaders: Record<string, string> = {
      'x-github-request-id': randomUUID().toUpperCase().slice(0, 23),
      'x-github-api-version-selected': '2022-11-28',
      'x-github-media-type': 'github.v3; format=json'
    }
    try {
      const token = authenticate(req, this.config)
      entry.login = token.login ?? 'testbed-user'
      if (path !== '/rate_limit') Object.assign(rateHeaders, this.rates.consume(token.token))
      else Object.assign(rateHeaders, this.rates.headers(token.token))
      // The action's own requests (Octokit) must fit GitHub's description; tests' raw requests may not.
      // GraphQL documents are checked against GitHub's schema instead (graphql.ts).
      const graphql = path === '/graphql'
      if (!graphql && /octokit/i.test(String(req.headers['user-agent'] ?? ''))) {
        this.openapi.checkRequest(method, path, entry.body)
      }
      const reply = await this.dispatch(req, method, path, url.searchParams, raw, token, apiBase)
      if (fault) {
        entry.fault = fault.kind
        const failed = faultReply({ ...fault, kind: '5xx' }, this.config.current.rateLimit ?? 5000)!
        return send(res, failed.status, failed.body, { ...rateHeaders, ...failed.headers })
      }
      const errors = (reply.body as { errors?: Array<{ type?: string }> } | undefined)?.errors
      if (graphql && Array.isArray(errors)) entry.graphqlErrors = errors.map(e => e.type ?? 'INVALID')
      if (reply.body !== undefined && !graphql) this.openapi.checkResponse(method, path, reply.status, reply.body)
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

  /** A repository as GraphQL fields see it: null when it is not there or the token may not see it. */
  private async repoContext(
    req: IncomingMessage,
    owner: string,
    name: string,
    token: TokenConfig,
    apiBase: string,
    htmlBase: string
  ): Promise<Ctx | null> {
    if (!validName(owner) || !validName(name)) return null
    const perm = permissionFor(token, owner, name)
    if (perm === 'none') return null
    const repo = this.repos.gitRepo(owner, name)
    const full = `${owner}/${name}`
    const hasGit = await repo.exists()
    if (!hasGit && !this.repos.isVirtual(owner, name)) return null
    return {
      method: 'POST',
      path: '/graphql',
      query: new URLSearchParams(),
      params: [],
      body: {},
      headers: req.headers,
      apiBase,
      htmlBase,
      user: userOf(token),
      repo: { owner, name, full, git: hasGit ? repo : null, perm, quirks: this.quirks.get(full) },
      svc: this.repos
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
    const user = userOf(token)
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
      const r = this.rates.state(token.token)
      const core = {
        limit: r.limit,
        remaining: Math.max(0, r.limit - r.used),
        reset: r.reset,
        used: r.used,
        resource: 'core'
      }
      return { status: 200, body: { resources: { core }, rate: core } }
    }
    if (path === '/graphql' && method === 'POST') {
      return this.graphql.handle(
        parseJson(raw),
        (owner, name) => this.repoContext(req, owner, name, token, apiBase, htmlBase),
        user.login.endsWith('[bot]')
      )
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
    const repo = this.repos.gitRepo(owner, name)
    const hasGit = await repo.exists()
    const virtual = this.repos.isVirtual(owner, name)
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
      svc: this.repos
    }
    return route.handler(ctx)
  }
}
