// One retry loop for every service the action calls (GitHub, registries, the apiserver, the deploy
// lock): exponential backoff, optionally with jitter, a Retry-After the answer asks for, and no wait
// past the run's deadline or after cancellation.
import { systemClock, type Clock, type Deadline } from './deadline.js'

export interface RetryPolicy {
  /** Total attempts, the first included. */
  attempts: number
  /**
   * Wait after the first failed attempt; it doubles after each further one. A function gets how long
   * the failed attempt took: runs that collided then spread over the time an attempt needs.
   */
  baseDelayMs: number | ((attemptMs: number) => number)
  /** Longest single wait, a Retry-After included. */
  maxDelayMs: number
  /** Full jitter: each wait is random in [0, backoff), so runs that failed together do not retry together. */
  jitter?: boolean
}

/** Registries, image pushes and the apiserver: 0.5 s, 1 s, 2 s. */
export const DEFAULT_RETRY: RetryPolicy = { attempts: 4, baseDelayMs: 500, maxDelayMs: 30_000 }

export interface RetryOptions {
  /** Whether this failure deserves another attempt. */
  retryable(error: unknown): boolean
  /** The wait this failure asks for instead of the backoff: a Retry-After, or 0 to try again at once. */
  retryAfterMs?(error: unknown): number | undefined
  /** Told before each wait; `attempt` is the one that failed (from 1). */
  onRetry?(error: unknown, attempt: number, delayMs: number): void
  /** No attempt starts after it, and no wait outlasts it: the last error is thrown. */
  deadline?: Deadline
  /** Stops the waiting at once: the last error is thrown. */
  signal?: AbortSignal
  /** Defaults to the deadline's clock, else the system clock. */
  clock?: Clock
  random?: () => number
}

/** The backoff after failed attempt `attempt` (from 1) that took `attemptMs`. */
export function backoffMs(policy: RetryPolicy, attempt: number, attemptMs = 0, random = Math.random): number {
  const base = typeof policy.baseDelayMs === 'function' ? policy.baseDelayMs(attemptMs) : policy.baseDelayMs
  const backoff = Math.min(policy.maxDelayMs, base * 2 ** (attempt - 1))
  return policy.jitter ? random() * backoff : backoff
}

/** Milliseconds from a Retry-After header: delay-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | number | null | undefined, nowMs: number): number | undefined {
  if (value === undefined || value === null || value === '') return undefined
  const text = String(value).trim()
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000
  // An HTTP date names its day and month (Date.parse alone would read "-1" as a year).
  const date = /[a-z]{3}/i.test(text) ? Date.parse(text) : NaN
  return Number.isFinite(date) ? Math.max(0, date - nowMs) : undefined
}

/**
 * Runs `attempt` until it succeeds, a failure is not retryable, the attempts are spent, the deadline
 * has passed or `signal` aborts; then throws the last failure.
 */
export async function retry<T>(
  policy: RetryPolicy,
  options: RetryOptions,
  attempt: (attempt: number) => Promise<T>
): Promise<T> {
  const { deadline, signal } = options
  const clock = options.clock ?? deadline?.clock ?? systemClock
  for (let n = 1; ; n++) {
    const started = clock.now()
    try {
      return await attempt(n)
    } catch (error) {
      if (n >= policy.attempts || signal?.aborted || deadline?.expired() || !options.retryable(error)) throw error
      const asked = options.retryAfterMs?.(error)
      const wait =
        asked === undefined
          ? backoffMs(policy, n, clock.now() - started, options.random)
          : Math.min(asked, policy.maxDelayMs)
      const delay = deadline ? Math.min(wait, deadline.remainingMs()) : wait
      options.onRetry?.(error, n, delay)
      if (delay > 0) await clock.sleep(delay, signal)
      if (signal?.aborted) throw error
    }
  }
}
