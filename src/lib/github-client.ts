// The one GitHub client of the action (env repository and Deployments): proxy and timeout for the URL
// called, retries, rate limits, and errors that keep GitHub's reason.
import { getOctokit } from '@actions/github'
import { retry as octokitRetry } from '@octokit/plugin-retry'
import { notJsonMessage, serviceFetch, DEFAULT_TIMEOUT_MS } from './http.js'
import { parseRetryAfter, retry } from './retry.js'

export type Octokit = ReturnType<typeof getOctokit>

export interface GitHubOptions {
  /** Base of plugin-retry's quadratic wait for 5xx and network errors (1 s, 4 s, 9 s by default). */
  retryBaseMs?: number
  /** Longest wait honoured for a rate limit; a longer Retry-After fails at once, saying so. */
  maxRateLimitWaitMs?: number
  /** Per-request timeout. */
  timeoutMs?: number
}

/** The token permission an endpoint needs (fine-grained and GITHUB_TOKEN names). */
export type Scope = 'contents' | 'pull-requests' | 'deployments' | 'workflows'

const RATE_LIMIT_RETRIES = 3
const SECONDARY_FALLBACK_MS = 60_000

export interface HttpFailure {
  status?: number
  message?: string
  response?: { data?: unknown; headers?: Record<string, string | number | undefined> }
}

/**
 * The message of a GraphQL answer that is a rate limit, else undefined. GitHub answers those with
 * HTTP 200 (a secondary limit also 200 or 403) and no data: `errors: [{ type: 'RATE_LIMITED', message:
 * 'API rate limit exceeded for …' }]`, `x-ratelimit-remaining: 0` and `x-ratelimit-reset` for the
 * primary limit, "secondary rate limit" and maybe `retry-after` for a secondary one (docs.github.com/en/graphql/
 * overview/rate-limits-and-query-limits-for-the-graphql-api, "Exceeding the primary/secondary rate limit";
 * the error's shape in github/docs#22607). The type has also been seen as `RATE_LIMIT`
 * (octokit/plugin-throttling.js#848).
 */
export function graphRateLimitMessage(data: unknown): string | undefined {
  const errors = (data as { errors?: unknown } | null | undefined)?.errors
  if (!Array.isArray(errors)) return undefined
  const limited = (errors as Array<{ type?: unknown; message?: unknown } | null>).find(
    e =>
      e?.type === 'RATE_LIMITED' ||
      e?.type === 'RATE_LIMIT' ||
      (typeof e?.message === 'string' && /secondary rate limit/i.test(e.message))
  )
  return limited ? String(limited.message ?? limited.type) : undefined
}

/**
 * How long to wait before retrying a rate-limited request, or undefined when it is not one.
 * Rate limits answer 429, 403 with "secondary rate limit" or `x-ratelimit-remaining: 0`, or (GraphQL)
 * 200 with a rate-limit error (`graphRateLimitMessage`); `Retry-After` wins, then
 * `x-ratelimit-reset`, then GitHub's advice of one minute.
 */
export function rateLimitWait(failure: HttpFailure, nowMs: number): number | undefined {
  const headers = failure.response?.headers ?? {}
  const exhausted = String(headers['x-ratelimit-remaining'] ?? '') === '0'
  const secondary = /secondary rate limit/i.test(failure.message ?? '')
  const graphLimited = failure.status === 200 && graphRateLimitMessage(failure.response?.data) !== undefined
  if (!(failure.status === 429 || graphLimited || (failure.status === 403 && (secondary || exhausted))))
    return undefined
  const retryAfter = parseRetryAfter(headers['retry-after'], nowMs)
  if (retryAfter !== undefined) return retryAfter
  const reset = Number(headers['x-ratelimit-reset'])
  if (exhausted && Number.isFinite(reset)) return Math.max(0, reset * 1000 - nowMs) + 1000
  return SECONDARY_FALLBACK_MS
}

/** A request GitHub kept rate-limiting: GitHub did not act on it. */
export class RateLimitError extends Error {}

/**
 * Octokit for a GitHub API URL: requests go through the proxy chosen for that URL with a timeout,
 * plugin-retry handles 5xx and network errors, rate limits per `rateLimitWait`, and an answer that
 * is not JSON fails naming GitHub.
 */
export function githubOctokit(token: string, baseUrl: string, options: GitHubOptions = {}): Octokit {
  // plugin-throttling is not used: it paces all writes of the process to one per second, which
  // serialises concurrent runs.
  const octokit = getOctokit(
    token,
    {
      baseUrl,
      request: { fetch: serviceFetch('GitHub', options.timeoutMs ?? DEFAULT_TIMEOUT_MS) },
      retry: {
        retryAfterBaseValue: options.retryBaseMs ?? 1000,
        doNotRetry: [400, 401, 403, 404, 409, 410, 422, 429, 451]
      }
    },
    octokitRetry
  )
  const maxWait = options.maxRateLimitWaitMs ?? 120_000
  octokit.hook.wrap('request', async (request, requestOptions) => {
    const what = `${requestOptions.method} ${requestOptions.url}`
    const waitFor = (error: unknown): number | undefined => rateLimitWait(error as HttpFailure, Date.now())
    const policy = { attempts: RATE_LIMIT_RETRIES + 1, baseDelayMs: SECONDARY_FALLBACK_MS, maxDelayMs: maxWait }
    return retry(policy, { retryable: error => waitFor(error) !== undefined, retryAfterMs: waitFor }, async () => {
      try {
        const response = await request(requestOptions)
        const limited = graphRateLimitMessage(response.data)
        if (limited !== undefined) {
          // thrown to be waited for and retried below like a REST rate limit; the last one is the error
          throw Object.assign(new RateLimitError(`GitHub rate limit on ${what} (GitHub: "${limited}")`), {
            status: response.status,
            response
          })
        }
        if (response.status !== 204 && typeof response.data === 'string') {
          throw new Error(
            notJsonMessage(
              `GitHub (${baseUrl})`,
              what,
              response.status,
              response.headers['content-type'],
              response.data
            )
          )
        }
        return response
      } catch (error) {
        const failure = error as HttpFailure
        if (failure.status && typeof failure.response?.data === 'string') {
          const headers = failure.response.headers ?? {}
          throw Object.assign(
            new Error(
              notJsonMessage(
                `GitHub (${baseUrl})`,
                what,
                failure.status,
                String(headers['content-type'] ?? ''),
                failure.response.data
              ),
              { cause: error }
            ),
            { status: failure.status }
          )
        }
        const wait = waitFor(error)
        if (wait !== undefined && wait > maxWait) {
          throw new RateLimitError(
            `GitHub rate limit on ${what}: retry after ${Math.ceil(wait / 1000)} s, longer than the ${maxWait / 1000} s this run waits`
          )
        }
        throw error
      }
    })
  })
  return octokit
}

export function statusOf(error: unknown): number | undefined {
  return typeof error === 'object' && error !== null && 'status' in error ? Number(error.status) : undefined
}

/** GitHub's own message (without Octokit's documentation suffix), else the error's. */
export function githubMessage(error: unknown): string {
  const data = (error as HttpFailure)?.response?.data
  if (typeof data === 'object' && data !== null && typeof (data as { message?: unknown }).message === 'string') {
    return (data as { message: string }).message
  }
  return error instanceof Error ? error.message : String(error)
}

/**
 * The error for a 403: GitHub's reason kept, the permission the endpoint needs named, and the
 * two answers that no permission fixes (SAML single sign-on, Actions not allowed to open pull requests).
 */
export function forbiddenMessage(
  tokenName: string,
  repo: string,
  action: string,
  scope: Scope | undefined,
  reason: string
): string {
  if (/SAML|single sign-on/i.test(reason)) {
    return `${tokenName} is not authorized for the SAML single sign-on of ${repo.split('/')[0]}: authorize the token for the organization (GitHub: "${reason}")`
  }
  if (/not permitted to create or approve pull requests/i.test(reason)) {
    return `${tokenName} may not open pull requests in ${repo}: GitHub Actions is not allowed to create pull requests there; enable "Allow GitHub Actions to create and approve pull requests" in the repository's (or organization's) Actions settings, or use another token (GitHub: "${reason}")`
  }
  if (!scope) return `${tokenName} cannot read ${repo} (403: "${reason}")`
  return `${tokenName} may not ${action} in ${repo}: it needs ${scope}: write (GitHub: "${reason}")`
}
