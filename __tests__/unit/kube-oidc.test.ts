import { describe, expect, it } from '@jest/globals'
import { idTokenEndpoint, MissingIdTokenPermissionError } from '../../src/host/id-token.js'
import { describeClaims, jwtClaims, OidcToken, refreshDue, unauthorizedMessage } from '../../src/kube/oidc.js'

/** An unsigned JWT with these claims (only the payload is read here). */
const jwt = (claims: Record<string, unknown>): string =>
  `e30.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.c2ln`

// The claim set of a GitHub Actions ID token (docs.github.com, "OpenID Connect reference").
const GITHUB_CLAIMS = {
  jti: 'example-id',
  sub: 'repo:acme/app:environment:production',
  environment: 'production',
  aud: 'kubernetes',
  ref: 'refs/heads/main',
  repository: 'acme/app',
  repository_owner: 'acme',
  job_workflow_ref: 'acme/app/.github/workflows/deploy.yml@refs/heads/main',
  iss: 'https://token.actions.githubusercontent.com',
  nbf: 1_700_000_000,
  iat: 1_700_000_000,
  exp: 1_700_000_300
}

describe('jwtClaims', () => {
  it('reads the payload of a JWT', () => {
    expect(jwtClaims(jwt(GITHUB_CLAIMS))).toEqual(GITHUB_CLAIMS)
  })
  it.each(['', 'not-a-jwt', 'a.%%%.c', `a.${Buffer.from('[1]').toString('base64url')}.c`])('%j → {}', token => {
    expect(jwtClaims(token)).toEqual({})
  })
})

describe('refreshDue', () => {
  const iat = 1000
  it.each([
    ['fresh 5 min token', 1000, { iat, exp: 1300 }, false],
    ['a minute before a 5 min token expires', 1240, { iat, exp: 1300 }, true],
    ['just before that minute', 1239, { iat, exp: 1300 }, false],
    ['8 s token, 3 s left (margin: a quarter)', 1005, { iat, exp: 1008 }, false],
    ['8 s token, 2 s left', 1006, { iat, exp: 1008 }, true],
    ['expired', 1400, { iat, exp: 1300 }, true],
    ['no exp', 1000, { iat }, true],
    ['no iat: a 5 min lifetime is assumed', 1200, { exp: 1300 }, false]
  ])('%s → %s', (_name, now, claims, due) => {
    expect(refreshDue(now, claims)).toBe(due)
  })
})

describe('idTokenEndpoint', () => {
  it('needs both runner variables, and says which permission gives them', () => {
    expect(() => idTokenEndpoint({ ACTIONS_ID_TOKEN_REQUEST_URL: 'https://x' })).toThrow(MissingIdTokenPermissionError)
    expect(() => idTokenEndpoint({})).toThrow(/permissions: id-token: write/)
    expect(idTokenEndpoint({ ACTIONS_ID_TOKEN_REQUEST_URL: 'https://x', ACTIONS_ID_TOKEN_REQUEST_TOKEN: 't' })).toEqual(
      {
        url: 'https://x',
        token: 't'
      }
    )
  })
})

describe('401 message', () => {
  it('names the audience and the identity claims, never the token', () => {
    const token = jwt(GITHUB_CLAIMS)
    const message = unauthorizedMessage('https://k:6443', 'kubernetes', jwtClaims(token))
    expect(message).toContain('kube-audience "kubernetes" was requested')
    expect(message).toContain('sub="repo:acme/app:environment:production"')
    expect(message).toContain('iss="https://token.actions.githubusercontent.com"')
    expect(message).toContain('environment="production"')
    expect(message).not.toContain(token)
    expect(message).not.toContain(token.split('.')[1])
  })
  it('says when nothing could be read', () => {
    expect(describeClaims({})).toBe('no readable claims')
  })
})

describe('OidcToken', () => {
  function source(lifetime: number) {
    let now = 1000
    const requested: string[] = []
    const secrets: string[] = []
    const token = new OidcToken(
      async audience => {
        requested.push(audience)
        return jwt({ n: requested.length, iat: now, exp: now + lifetime })
      },
      'kubernetes',
      value => secrets.push(value),
      () => now
    )
    return { token, requested, secrets, advance: (s: number) => (now += s) }
  }

  it('requests once, reuses until the refresh margin, then requests again', async () => {
    const { token, requested, secrets, advance } = source(300)
    const first = await token.token()
    advance(200)
    expect(await token.token()).toBe(first)
    advance(50)
    const second = await token.token()
    expect(second).not.toBe(first)
    expect(requested).toEqual(['kubernetes', 'kubernetes'])
    expect(secrets).toEqual([first, second])
    expect(token.claims()).toMatchObject({ n: 2 })
  })

  it('shares one request among concurrent callers', async () => {
    const { token, requested } = source(300)
    const tokens = await Promise.all([token.token(), token.token(), token.token()])
    expect(new Set(tokens).size).toBe(1)
    expect(requested).toHaveLength(1)
  })

  it('passes the missing-permission error on', async () => {
    const token = new OidcToken(
      async () => {
        idTokenEndpoint({})
        return ''
      },
      'kubernetes',
      () => {}
    )
    await expect(token.token()).rejects.toThrow(MissingIdTokenPermissionError)
  })
})
