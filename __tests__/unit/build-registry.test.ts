import { describe, expect, it } from '@jest/globals'
import { pinnedReference } from '../../src/build/index.js'
import {
  basicAuthorization,
  networkErrorCode,
  parseChallenge,
  registryBaseUrl,
  tokenUrl
} from '../../src/build/registry.js'

const DIGEST = `sha256:${'c'.repeat(64)}`

describe('registryBaseUrl', () => {
  it.each([
    ['docker.io', false, 'https://registry-1.docker.io'],
    ['ghcr.io', false, 'https://ghcr.io'],
    ['localhost:5000', true, 'http://localhost:5000'],
    ['[::1]:5000', true, 'http://[::1]:5000']
  ])('%s insecure=%s → %s', (domain, insecure, url) => {
    expect(registryBaseUrl(domain, insecure)).toBe(url)
  })
})

describe('parseChallenge', () => {
  it.each([
    [
      'Bearer realm="https://ghcr.io/token",service="ghcr.io",scope="repository:acme/web:pull"',
      {
        scheme: 'bearer',
        params: { realm: 'https://ghcr.io/token', service: 'ghcr.io', scope: 'repository:acme/web:pull' }
      }
    ],
    [
      // scopes may hold commas inside the quotes
      'Bearer realm="https://auth.docker.io/token", service="registry.docker.io", scope="repository:a/b:pull,push"',
      {
        scheme: 'bearer',
        params: {
          realm: 'https://auth.docker.io/token',
          service: 'registry.docker.io',
          scope: 'repository:a/b:pull,push'
        }
      }
    ],
    ['Basic realm="basic-realm"', { scheme: 'basic', params: { realm: 'basic-realm' } }],
    ['basic realm=Registry', { scheme: 'basic', params: { realm: 'Registry' } }],
    [
      'Bearer realm="a\\"b",Error="insufficient_scope"',
      { scheme: 'bearer', params: { realm: 'a"b', error: 'insufficient_scope' } }
    ],
    [null, undefined],
    ['', undefined]
  ])('%j', (header, challenge) => {
    expect(parseChallenge(header)).toEqual(challenge)
  })
})

describe('tokenUrl', () => {
  it.each([
    [
      { realm: 'https://auth.docker.io/token', service: 'registry.docker.io' },
      'https://auth.docker.io/token?service=registry.docker.io&scope=repository%3Alibrary%2Fnginx%3Apull'
    ],
    [
      { realm: 'https://ghcr.io/token?x=1', service: 'ghcr.io', scope: 'repository:other/name:pull' },
      'https://ghcr.io/token?x=1&service=ghcr.io&scope=repository%3Aother%2Fname%3Apull'
    ],
    [{ realm: 'http://127.0.0.1:9/t' }, 'http://127.0.0.1:9/t?scope=repository%3Alibrary%2Fnginx%3Apull']
  ])('%j', (params, url) => {
    expect(tokenUrl({ scheme: 'bearer', params }, 'library/nginx')).toBe(url)
  })

  it('needs a realm', () => {
    expect(() => tokenUrl({ scheme: 'bearer', params: {} }, 'a')).toThrow(/without a realm/)
  })
})

describe('basicAuthorization', () => {
  it('encodes user:password, colons in the password kept', () => {
    expect(basicAuthorization({ username: 'u', password: 'p:w' })).toBe(
      `Basic ${Buffer.from('u:p:w').toString('base64')}`
    )
  })
})

describe('networkErrorCode', () => {
  const fetchFailed = (cause: unknown) => new TypeError('fetch failed', { cause })
  it.each([
    [fetchFailed(Object.assign(new Error('x'), { code: 'ECONNREFUSED' })), 'ECONNREFUSED'],
    [fetchFailed({ errors: [{ code: 'ECONNREFUSED' }, { code: 'ECONNREFUSED' }] }), 'ECONNREFUSED'],
    [new DOMException('The operation was aborted due to timeout', 'TimeoutError'), 'TimeoutError'],
    [fetchFailed(Object.assign(new Error('x'), { code: 'UND_ERR_SOCKET' })), 'UND_ERR_SOCKET'],
    [new Error('plain'), undefined],
    ['not an error', undefined]
  ])('%#', (error, code) => {
    expect(networkErrorCode(error)).toBe(code)
  })
})

describe('pinnedReference', () => {
  it.each([
    ['tag', 'ghcr.io/acme/web:v1'],
    ['digest', `ghcr.io/acme/web@${DIGEST}`],
    ['tag+digest', `ghcr.io/acme/web:v1@${DIGEST}`]
  ] as const)('%s → %s', (pin, reference) => {
    expect(pinnedReference('ghcr.io/acme/web', 'v1', DIGEST, pin)).toBe(reference)
  })
})
