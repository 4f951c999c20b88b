import { describe, expect, it } from '@jest/globals'
import { isTransient, isTransientOutput } from '../../src/build/retry.js'

describe('isTransient', () => {
  it.each([
    [{ status: 500 }, true],
    [{ status: 502 }, true],
    [{ status: 503 }, true],
    [{ status: 429 }, true],
    [{ status: 408 }, true],
    [{ status: 400 }, false],
    [{ status: 401 }, false],
    [{ status: 403 }, false],
    [{ status: 404 }, false],
    [{ code: 'ECONNRESET' }, true],
    [{ code: 'ETIMEDOUT' }, true],
    [{ code: 'UND_ERR_SOCKET' }, true],
    [{ code: 'TimeoutError' }, true],
    [{ code: 'ECONNREFUSED' }, false],
    [{ code: 'ENOTFOUND' }, false],
    [{ code: 'ERR_SSL_WRONG_VERSION_NUMBER' }, false],
    [{}, false]
  ])('%j → %s', (failure, transient) => {
    expect(isTransient(failure)).toBe(transient)
  })
})

describe('isTransientOutput', () => {
  it.each([
    ['Error: writing blob: received unexpected HTTP status: 502 Bad Gateway', true],
    ['error: read tcp 127.0.0.1:1->127.0.0.1:5000: read: connection reset by peer', true],
    ['dial tcp 10.0.0.1:443: i/o timeout', true],
    ['net/http: TLS handshake timeout', true],
    ['toomanyrequests: Too Many Requests', true],
    ['unexpected EOF', true],
    ['Error: unauthorized: authentication required', false],
    ['denied: requested access to the resource is denied', false],
    ['dial tcp 127.0.0.1:1: connect: connection refused', false],
    ['Error: building at STEP "RUN make": exit status 2', false],
    ['copied 5000 bytes', false]
  ])('%j → %s', (line, transient) => {
    expect(isTransientOutput(['some earlier line', line])).toBe(transient)
  })
})
