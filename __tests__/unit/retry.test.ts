import { describe, expect, it } from '@jest/globals'
import { Deadline, type Clock } from '../../src/lib/deadline.js'
import { backoffMs, parseRetryAfter, retry, type RetryOptions, type RetryPolicy } from '../../src/lib/retry.js'

/** Time moves only when someone sleeps (or an attempt says it took time); every wait is recorded. */
class VirtualClock implements Clock {
  private t = 0
  readonly waits: number[] = []
  constructor(private readonly onSleep?: () => void) {}
  now(): number {
    return this.t
  }
  async sleep(ms: number): Promise<void> {
    this.waits.push(ms)
    this.t += ms
    this.onSleep?.()
    await Promise.resolve()
  }
  advance(ms: number): void {
    this.t += ms
  }
}

const POLICY: RetryPolicy = { attempts: 3, baseDelayMs: 100, maxDelayMs: 1000 }

/** An outcome per attempt: a string succeeds, an object fails with that status (and Retry-After). */
type Outcome = string | { status: number; retryAfterMs?: number }

class Failure extends Error {
  constructor(
    readonly status: number,
    readonly retryAfterMs?: number
  ) {
    super(`status ${status}`)
  }
}

async function run(
  outcomes: Outcome[],
  policy: RetryPolicy = POLICY,
  options: Partial<RetryOptions> & { attemptMs?: number; clock?: VirtualClock } = {}
): Promise<{ result: string; attempts: number; waits: number[]; told: string[] }> {
  const clock = options.clock ?? new VirtualClock()
  const told: string[] = []
  let attempts = 0
  const result = await retry(
    policy,
    {
      retryable: error => error instanceof Failure && error.status >= 500,
      retryAfterMs: error => (error as Failure).retryAfterMs,
      onRetry: (error, attempt, delay) => told.push(`${(error as Error).message} #${attempt} ${delay}`),
      ...options,
      clock
    },
    async attempt => {
      attempts = attempt
      clock.advance(options.attemptMs ?? 0)
      const outcome = outcomes[attempt - 1]
      if (typeof outcome === 'string') return outcome
      throw new Failure(outcome.status, outcome.retryAfterMs)
    }
  ).catch((error: Error) => `threw ${error.message}`)
  return { result, attempts, waits: clock.waits, told }
}

describe('retry', () => {
  it.each<[string, Outcome[], string, number, number[]]>([
    ['first attempt succeeds', ['ok'], 'ok', 1, []],
    ['retryable failures, then success', [{ status: 503 }, { status: 502 }, 'ok'], 'ok', 3, [100, 200]],
    [
      'attempts spent: the last failure',
      [{ status: 503 }, { status: 503 }, { status: 500 }, 'never'],
      'threw status 500',
      3,
      [100, 200]
    ],
    ['a failure that is not retryable', [{ status: 404 }, 'never'], 'threw status 404', 1, []],
    ['Retry-After instead of the backoff', [{ status: 503, retryAfterMs: 700 }, 'ok'], 'ok', 2, [700]],
    ['Retry-After capped at maxDelayMs', [{ status: 503, retryAfterMs: 120_000 }, 'ok'], 'ok', 2, [1000]],
    ['Retry-After 0: again at once', [{ status: 503, retryAfterMs: 0 }, 'ok'], 'ok', 2, []]
  ])('%s', async (_name, outcomes, result, attempts, waits) => {
    const r = await run(outcomes)
    expect(r).toMatchObject({ result, attempts, waits })
  })

  it('tells each retry with the failed attempt and its wait', async () => {
    const r = await run([{ status: 503 }, { status: 503 }, 'ok'])
    expect(r.told).toEqual(['status 503 #1 100', 'status 503 #2 200'])
  })

  it.each<[string, RetryPolicy, number[]]>([
    ['exponential, capped', { attempts: 6, baseDelayMs: 300, maxDelayMs: 1000 }, [300, 600, 1000, 1000, 1000]],
    [
      'full jitter: a random part of the backoff',
      { attempts: 4, baseDelayMs: 100, maxDelayMs: 1000, jitter: true },
      [25, 50, 100]
    ],
    [
      'base from the attempt’s duration (250 ms each)',
      { attempts: 4, baseDelayMs: took => 2 * Math.max(100, took), maxDelayMs: 30_000 },
      [500, 1000, 2000]
    ]
  ])('waits: %s', async (_name, policy, waits) => {
    const failures = Array.from({ length: policy.attempts }, () => ({ status: 503 }))
    const r = await run(failures, policy, { random: () => 0.25, attemptMs: 250 })
    expect(r.waits).toEqual(waits)
    expect(r.attempts).toBe(policy.attempts)
  })

  it('never waits past the deadline, and starts no attempt after it', async () => {
    const clock = new VirtualClock()
    const deadline = new Deadline(250, clock)
    const failures = Array.from({ length: 10 }, () => ({ status: 503 }))
    const r = await run(failures, { attempts: 10, baseDelayMs: 100, maxDelayMs: 1000 }, { deadline, clock })
    expect(r).toMatchObject({ result: 'threw status 503', attempts: 3, waits: [100, 150] })
  })

  it('stops when the signal aborts during a wait, with the last failure', async () => {
    const controller = new AbortController()
    const clock = new VirtualClock(() => controller.abort())
    const r = await run([{ status: 503 }, 'never'], POLICY, { signal: controller.signal, clock })
    expect(r).toMatchObject({ result: 'threw status 503', attempts: 1, waits: [100] })
  })

  it('does not start over once the signal has aborted', async () => {
    const controller = new AbortController()
    controller.abort()
    const r = await run([{ status: 503 }, 'never'], POLICY, { signal: controller.signal })
    expect(r).toMatchObject({ result: 'threw status 503', attempts: 1, waits: [] })
  })
})

describe('backoffMs', () => {
  it.each([
    [1, 100],
    [2, 200],
    [4, 800],
    [5, 1000]
  ])('attempt %i → %i ms', (attempt, ms) => {
    expect(backoffMs(POLICY, attempt)).toBe(ms)
  })
})

describe('parseRetryAfter', () => {
  const now = Date.parse('2026-01-01T00:00:00Z')
  it.each<[string | number | null | undefined, number | undefined]>([
    ['3', 3000],
    [3, 3000],
    ['0', 0],
    ['1.5', 1500],
    ['Thu, 01 Jan 2026 00:00:30 GMT', 30_000],
    ['Wed, 31 Dec 2025 23:59:00 GMT', 0],
    ['soon', undefined],
    ['-1', undefined],
    ['', undefined],
    [null, undefined],
    [undefined, undefined]
  ])('%j → %s', (value, ms) => {
    expect(parseRetryAfter(value, now)).toBe(ms)
  })
})
