// kube-auth: github-oidc. The job's GitHub OIDC token is the bearer token of every apiserver
// request; the cluster trusts GitHub's issuer (structured authentication configuration) and its
// RBAC decides what the token's identity may do. No credential is stored anywhere.

import { type IdTokenRequest } from '../host/id-token.js'

/** A JWT's payload, decoded without verifying (the apiserver verifies; we read exp and claims for messages). */
export function jwtClaims(jwt: string): Record<string, unknown> {
  const payload = jwt.split('.')[1]
  if (!payload) return {}
  try {
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as unknown
    const isObject = typeof claims === 'object' && claims !== null && !Array.isArray(claims)
    return isObject ? (claims as Record<string, unknown>) : {}
  } catch {
    return {}
  }
}

/**
 * Refresh before expiry: a quarter of the token's lifetime ahead, at most a minute (GitHub's
 * tokens live minutes; a short-lived test token still gets a margin). No exp: never reused.
 */
export function refreshDue(nowSeconds: number, claims: Record<string, unknown>): boolean {
  const { exp, iat } = claims
  if (typeof exp !== 'number') return true
  const lifetime = typeof iat === 'number' && iat < exp ? exp - iat : 300
  return nowSeconds >= exp - Math.min(60, lifetime / 4)
}

const SHOWN_CLAIMS = ['iss', 'sub', 'aud', 'repository', 'environment', 'ref', 'job_workflow_ref'] as const

/** The identity-bearing claims, for error messages (never the token itself). */
export function describeClaims(claims: Record<string, unknown>): string {
  const shown = SHOWN_CLAIMS.filter(name => claims[name] !== undefined).map(
    name => `${name}=${JSON.stringify(claims[name])}`
  )
  return shown.length > 0 ? shown.join(', ') : 'no readable claims'
}

/** Explains a 401 to a GitHub OIDC token: which audience and identity the cluster did not trust. */
export function unauthorizedMessage(server: string, audience: string, claims: Record<string, unknown>): string {
  return (
    `the apiserver ${server} rejected the GitHub OIDC token (401 Unauthorized): kube-audience "${audience}" was ` +
    `requested and the token carried ${describeClaims(claims)}. The cluster's AuthenticationConfiguration must ` +
    `trust issuer ${JSON.stringify(claims.iss ?? 'https://token.actions.githubusercontent.com')} with audience ` +
    `"${audience}" (see the README's "Keyless cluster access")`
  )
}

/** The current token, requested on first use and again before it expires; each one is a secret at once. */
export class OidcToken {
  private current: { jwt: string; claims: Record<string, unknown> } | undefined
  private pending: Promise<string> | undefined

  constructor(
    private readonly request: IdTokenRequest,
    readonly audience: string,
    private readonly setSecret: (value: string) => void,
    private readonly nowSeconds = () => Date.now() / 1000
  ) {}

  /** Claims of the token last used (empty before the first). */
  claims(): Record<string, unknown> {
    return this.current?.claims ?? {}
  }

  async token(): Promise<string> {
    if (this.current && !refreshDue(this.nowSeconds(), this.current.claims)) return this.current.jwt
    // Concurrent requests (a wave of applies, several watches) share one refresh.
    this.pending ??= this.refresh().finally(() => (this.pending = undefined))
    return this.pending
  }

  private async refresh(): Promise<string> {
    const jwt = await this.request(this.audience)
    this.setSecret(jwt)
    this.current = { jwt, claims: jwtClaims(jwt) }
    return jwt
  }
}
