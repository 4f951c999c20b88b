// One retry policy for everything that talks to a registry: the registry client and the
// builders' push steps. Transient failures (5xx, 429, resets, timeouts) are retried with
// exponential backoff; answers that will not change (401, 403, 404, connection refused) are not.

export interface RetryPolicy {
  /** Total attempts, the first included. */
  attempts: number
  baseDelayMs: number
  /** Longest wait honoured from a Retry-After header. */
  maxDelayMs: number
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 4, baseDelayMs: 500, maxDelayMs: 30_000 }

/** What is known about a failed attempt. */
export interface Failure {
  /** HTTP status, when the server answered. */
  status?: number
  /** Node/undici error code (`ECONNRESET`) or error name (`TimeoutError`) when it did not. */
  code?: string
}

const TRANSIENT_CODES = new Set([
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'TimeoutError'
])

export function isTransient(failure: Failure): boolean {
  if (failure.status !== undefined) return failure.status >= 500 || failure.status === 429 || failure.status === 408
  return failure.code !== undefined && TRANSIENT_CODES.has(failure.code)
}

// Builders report registry errors as text; these are the transient ones among them.
const TRANSIENT_OUTPUT =
  /\b(?:50[0-4]|429)\b|Internal Server Error|Bad Gateway|Service Unavailable|Gateway Timeout|Too Many Requests|connection reset|broken pipe|i\/o timeout|TLS handshake timeout|timeout awaiting|unexpected EOF|temporary failure in name resolution/i

/** Whether a builder's failed push, judged by the tail of its output, is worth another attempt. */
export function isTransientOutput(lines: readonly string[]): boolean {
  return lines.some(line => TRANSIENT_OUTPUT.test(line))
}

/** Milliseconds to wait before attempt `attempt + 1` (attempt counts from 1). */
export function retryDelay(policy: RetryPolicy, attempt: number, retryAfterSeconds?: number): number {
  if (retryAfterSeconds !== undefined && retryAfterSeconds >= 0) {
    return Math.min(retryAfterSeconds * 1000, policy.maxDelayMs)
  }
  return policy.baseDelayMs * 2 ** (attempt - 1)
}

export interface RetryHooks<E> {
  /** Whether this error deserves another attempt. */
  shouldRetry(error: E): boolean
  /** Seconds from a Retry-After header, when the error carries one. */
  retryAfter?(error: E): number | undefined
  onRetry?(error: E, attempt: number, delayMs: number): void
  sleep?(ms: number): Promise<void>
}

export async function withRetry<T, E = unknown>(
  policy: RetryPolicy,
  hooks: RetryHooks<E>,
  attemptOnce: (attempt: number) => Promise<T>
): Promise<T> {
  const sleep = hooks.sleep ?? ((ms: number) => new Promise<void>(resolve => setTimeout(resolve, ms)))
  for (let attempt = 1; ; attempt++) {
    try {
      return await attemptOnce(attempt)
    } catch (error) {
      if (attempt >= policy.attempts || !hooks.shouldRetry(error as E)) throw error
      const delay = retryDelay(policy, attempt, hooks.retryAfter?.(error as E))
      hooks.onRetry?.(error as E, attempt, delay)
      await sleep(delay)
    }
  }
}
