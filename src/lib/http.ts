// HTTP for the services the action talks to (GitHub, registries, the apiserver): the proxy decision is
// made for the URL actually called, every request has a timeout, and an answer that is not JSON is an
// error naming the service instead of an undefined field later.
import { getProxyUrl } from '@actions/http-client'
import { fetch as undiciFetch, ProxyAgent, type Dispatcher } from 'undici'

export const DEFAULT_TIMEOUT_MS = 30_000

/**
 * The proxy for `url` from HTTPS_PROXY/HTTP_PROXY, unless NO_PROXY or loopback exempts its host
 * (@actions/http-client's rules, like Go's for kubectl), judged for this URL; undefined: direct.
 */
export function proxyFor(url: string | URL): string | undefined {
  return getProxyUrl(String(url)) || undefined
}

const proxyAgents = new Map<string, Dispatcher>()

/** The undici dispatcher for `url`: a proxy agent (one per proxy), or undefined for a direct connection. */
export function dispatcherFor(url: string | URL): Dispatcher | undefined {
  const proxy = proxyFor(url)
  if (!proxy) return undefined
  let agent = proxyAgents.get(proxy)
  if (!agent) proxyAgents.set(proxy, (agent = new ProxyAgent(proxy)))
  return agent
}

export class ServiceTimeoutError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = 'ServiceTimeoutError'
  }
}

/**
 * A fetch for `service` that sends each request through the dispatcher for its URL and aborts any
 * request that takes longer than `timeoutMs` with an error naming `service`.
 */
export function serviceFetch(service: string, timeoutMs = DEFAULT_TIMEOUT_MS): typeof fetch {
  return (async (input: string | URL | Request, init: RequestInit = {}) => {
    const url = input instanceof Request ? input.url : String(input)
    const timeout = AbortSignal.timeout(timeoutMs)
    const signal = init.signal ? AbortSignal.any([init.signal, timeout]) : timeout
    try {
      return await undiciFetch(
        input as string,
        { ...(init as object), signal, dispatcher: dispatcherFor(url) } as never
      )
    } catch (error) {
      if (timeout.aborted) {
        const method = init.method ?? 'GET'
        throw new ServiceTimeoutError(`${service} did not answer ${method} ${url} within ${timeoutMs / 1000} s`, {
          cause: error
        })
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
