// GitHub Actions' OIDC token service, emulated: an issuer over HTTPS (discovery + JWKS, what a
// cluster's JWT authenticator fetches) and the runner's token endpoint (what
// ACTIONS_ID_TOKEN_REQUEST_URL / _TOKEN point at), issuing RS256 tokens with GitHub's claim set.
// Runners are registered by tests: POST /_testbed/oidc/runners {repository, environment, ref, …}.
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  randomBytes,
  randomUUID,
  sign,
  type KeyObject
} from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createServer, type Server } from 'node:https'
import type { AddressInfo } from 'node:net'
import type { Reply } from './http.ts'

export interface OidcOptions {
  /** PEM files: the issuer's TLS certificate and key (signed by the test bed's CA) and the RS256 signing key. */
  tlsCert: string
  tlsKey: string
  signingKey: string
  host: string
  port: number
}

/** What a registered runner's tokens say; anything else given is added as a claim as is. */
export interface RunnerClaims {
  repository: string
  environment?: string
  ref?: string
  /** Seconds from issue to expiry (GitHub: minutes; tests use a few seconds to force refreshes). */
  lifetimeSeconds?: number
  [claim: string]: unknown
}

const b64url = (data: Buffer | string): string => Buffer.from(data).toString('base64url')

export class OidcIssuer {
  private readonly server: Server
  private readonly key: KeyObject
  private readonly kid: string
  /** By runner token; `id` names the runner in its request URL and in GET runners/{id}. */
  private readonly runners = new Map<string, { id: string; claims: RunnerClaims; issued: number }>()
  private port: number
  private readonly opts: OidcOptions

  constructor(opts: OidcOptions) {
    this.opts = opts
    this.key = createPrivateKey(readFileSync(opts.signingKey))
    const jwk = createPublicKey(this.key).export({ format: 'jwk' })
    this.kid = createHash('sha256').update(`${jwk.n}.${jwk.e}`).digest('hex').slice(0, 16)
    this.port = opts.port
    this.server = createServer({ cert: readFileSync(opts.tlsCert), key: readFileSync(opts.tlsKey) }, (req, res) => {
      const reply = this.discovery(new URL(req.url ?? '/', 'https://localhost').pathname)
      res.writeHead(reply.status, { 'content-type': 'application/json' })
      res.end(JSON.stringify(reply.body ?? {}))
    })
  }

  get issuer(): string {
    return `https://${this.opts.host}:${this.port}`
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject)
      this.server.listen(this.opts.port, this.opts.host, () => resolve())
    })
    this.port = (this.server.address() as AddressInfo).port
    return this.port
  }

  async close(): Promise<void> {
    this.server.closeAllConnections()
    await new Promise<void>(resolve => this.server.close(() => resolve()))
  }

  private discovery(path: string): Reply {
    if (path === '/.well-known/openid-configuration') {
      return {
        status: 200,
        body: {
          issuer: this.issuer,
          jwks_uri: `${this.issuer}/.well-known/jwks`,
          subject_types_supported: ['public', 'pairwise'],
          response_types_supported: ['id_token'],
          claims_supported: ['sub', 'aud', 'exp', 'iat', 'iss', 'jti', 'nbf', 'ref', 'repository', 'environment'],
          id_token_signing_alg_values_supported: ['RS256'],
          scopes_supported: ['openid']
        }
      }
    }
    if (path === '/.well-known/jwks') {
      const jwk = createPublicKey(this.key).export({ format: 'jwk' })
      return { status: 200, body: { keys: [{ ...jwk, kid: this.kid, alg: 'RS256', use: 'sig' }] } }
    }
    return { status: 404, body: { message: 'Not Found' } }
  }

  /**
   * The emulator's /_testbed/oidc/… endpoints: `POST runners` registers a runner and returns its
   * `{id, url, token}`; `GET runners/{id}` says how many tokens it was issued; `GET token?audience=`
   * with `Authorization: Bearer <runner token>` is the runner's token endpoint (`{"value": jwt}`, as
   * core.getIDToken expects).
   */
  handle(
    method: string,
    sub: string,
    query: URLSearchParams,
    authorization: string,
    body: unknown,
    apiBase: string
  ): Reply {
    if (method === 'POST' && sub === '/runners') {
      const claims = body as RunnerClaims
      if (typeof claims?.repository !== 'string' || !/^[\w.-]+\/[\w.-]+$/.test(claims.repository)) {
        return { status: 400, body: { message: 'need {repository: "owner/name", environment?, ref?, …}' } }
      }
      const token = `oidc_${randomBytes(18).toString('hex')}`
      const id = randomBytes(6).toString('hex')
      this.runners.set(token, { id, claims, issued: 0 })
      return { status: 201, body: { id, url: `${apiBase}/_testbed/oidc/token?api-version=2.0&runner=${id}`, token } }
    }
    const byId = /^\/runners\/([0-9a-f]+)$/.exec(sub)
    if (method === 'GET' && byId) {
      const found = [...this.runners.values()].find(r => r.id === byId[1])
      if (!found) return { status: 404, body: { message: 'no such runner' } }
      const { lifetimeSeconds, ...claims } = found.claims
      return { status: 200, body: { id: found.id, claims, lifetimeSeconds, issued: found.issued } }
    }
    if (method === 'GET' && sub === '/token') {
      const found = this.runners.get(authorization.replace(/^Bearer\s+/i, ''))
      if (!found) return { status: 401, body: { message: 'unknown runner token' } }
      found.issued++
      const claims = found.claims
      return {
        status: 200,
        body: {
          value: this.issue(claims, query.get('audience') || `https://github.com/${claims.repository.split('/')[0]}`)
        }
      }
    }
    return { status: 404, body: { message: 'Not Found' } }
  }

  /** An ID token with GitHub's claim set (https://docs.github.com/actions/reference/openid-connect-reference). */
  private issue(runner: RunnerClaims, audience: string): string {
    const { repository, environment, ref = 'refs/heads/main', lifetimeSeconds = 300, ...extra } = runner
    const now = Math.floor(Date.now() / 1000)
    const owner = repository.split('/')[0]
    const workflowRef = `${repository}/.github/workflows/deploy.yml@${ref}`
    const claims = {
      jti: randomUUID(),
      sub: environment ? `repo:${repository}:environment:${environment}` : `repo:${repository}:ref:${ref}`,
      aud: audience,
      ref,
      sha: '0123456789abcdef0123456789abcdef01234567',
      repository,
      repository_owner: owner,
      repository_visibility: 'private',
      run_id: '1',
      run_number: '1',
      run_attempt: '1',
      actor: owner,
      workflow: 'deploy',
      event_name: 'push',
      ref_type: ref.startsWith('refs/tags/') ? 'tag' : 'branch',
      ...(environment ? { environment } : {}),
      workflow_ref: workflowRef,
      job_workflow_ref: workflowRef,
      ...extra,
      iss: this.issuer,
      nbf: now - 5,
      iat: now,
      exp: now + lifetimeSeconds
    }
    const header = b64url(JSON.stringify({ alg: 'RS256', typ: 'JWT', kid: this.kid }))
    const payload = b64url(JSON.stringify(claims))
    const signature = sign('RSA-SHA256', Buffer.from(`${header}.${payload}`), this.key)
    return `${header}.${payload}.${b64url(signature)}`
  }
}
