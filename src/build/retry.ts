// Which registry failures are worth another attempt, for the registry client and the builders'
// push steps (both retried by src/lib/retry.ts): transient ones (5xx, 429, resets, timeouts) are;
// answers that will not change (401, 403, 404, connection refused) are not.

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
