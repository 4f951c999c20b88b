// HTTP for the services the action talks to (GitHub, registries, the apiserver): the proxy decision is
// made for the URL actually called, every request has a timeout, and an answer that is not JSON is an
// error naming the service instead of an undefined field later.
import { HttpClient } from '@actions/http-client'
import { fetch as undiciFetch, type Dispatcher } from 'undici'

export const DEFAULT_TIMEOUT_MS = 30_000

const dispatchers = new Map<string, Dispatcher | undefined>()

/**
 * The dispatcher for `url`: a proxy from HTTPS_PROXY/HTTP_PROXY unless NO_PROXY (or loopback) exempts
 * the host, judged by @actions/http-client's rules for this URL (not for GITHUB_API_URL).
 */
export function dispatcherFor(url: string): Dispatcher | undefined {
  const origin = new URL(url).origin
  if (!dispatchers.has(origin)) {
    dispatchers.set(origin, new HttpClient().getAgentDispatcher(url) as unknown as Dispatcher | undefined)
  }
  return dispatchers.get(origin)
}

export class ServiceTimeoutError extends Error {}

/**
 * A fetch for `baseUrl` through its dispatcher, aborting any request that takes longer than
 * `timeoutMs` with an error naming `service`.
 */
export function serviceFetch(service: string, baseUrl: string, timeoutMs = DEFAULT_TIMEOUT_MS): typeof fetch {
  const dispatcher = dispatcherFor(baseUrl)
  return (async (input: string | URL | Request, init: RequestInit = {}) => {
    const timeout = AbortSignal.timeout(timeoutMs)
    const signal = init.signal ? AbortSignal.any([init.signal, timeout]) : timeout
    try {
      return await undiciFetch(input as string, { ...(init as object), signal, dispatcher } as never)
    } catch (error) {
      if (timeout.aborted) {
        const method = init.method ?? 'GET'
        throw new ServiceTimeoutError(
          `${service} did not answer ${method} ${String(input)} within ${timeoutMs / 1000} s`,
          { cause: error }
        )
      }
      throw error
    }
  }) as typeof fetch
}

/** "GitHub answered GET /x with 200 and a text/html body: <!DOCTYPE…" for an answer that is not JSON. */
export function notJsonMessage(
  service: string,
  request: string,
  status: number,
  contentType: string | undefined,
  body: unknown
): string {
  const text = typeof body === 'string' ? body : String(body)
  const snippet = text.replace(/\s+/g, ' ').trim().slice(0, 80)
  return `${service} answered ${request} with ${status} and a ${contentType || 'non-JSON'} body, not JSON${
    snippet ? `: ${snippet}` : ''
  } (is the URL right, or is a proxy answering?)`
}
