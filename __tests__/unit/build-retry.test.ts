import { describe, expect, it } from '@jest/globals'
import { isTransient, isTransientOutput, retryDelay, withRetry, type RetryPolicy } from '../../src/build/retry.js'

const POLICY: RetryPolicy = { attempts: 3, baseDelayMs: 100, maxDelayMs: 1000 }

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

describe('retryDelay', () => {
  it.each([
    [1, undefined, 100],
    [2, undefined, 200],
    [3, undefined, 400],
    [1, 0, 0],
    [1, 2, 1000],
    [1, 120, 1000]
  ])('attempt %i, Retry-After %s → %i ms', (attempt, retryAfter, ms) => {
    expect(retryDelay(POLICY, attempt, retryAfter)).toBe(ms)
  })
})

describe('withRetry', () => {
  const run = async (outcomes: Array<Error | string>, shouldRetry = (e: Error) => e.message === 'transient') => {
    const waits: number[] = []
    let calls = 0
    const result = withRetry<string, Error>(
      POLICY,
      { shouldRetry, sleep: async ms => void waits.push(ms) },
      async () => {
        const outcome = outcomes[calls++]
        if (outcome instanceof Error) throw outcome
        return outcome
      }
    )
    return { result, waits, calls: () => calls }
  }

  it('retries transient failures with growing waits, then succeeds', async () => {
    const r = await run([new Error('transient'), new Error('transient'), 'ok'])
    await expect(r.result).resolves.toBe('ok')
    expect(r.waits).toEqual([100, 200])
  })

  it('gives up after the last attempt with the last error', async () => {
    const r = await run([new Error('transient'), new Error('transient'), new Error('transient'), 'never'])
    await expect(r.result).rejects.toThrow('transient')
    expect(r.calls()).toBe(3)
  })

  it('does not retry a permanent failure', async () => {
    const r = await run([new Error('401'), 'never'])
    await expect(r.result).rejects.toThrow('401')
    expect(r.calls()).toBe(1)
    expect(r.waits).toEqual([])
  })
})
