// Reads manifest digests from a registry over the distribution API (v2): HEAD the manifest, answer
// Bearer (token service) or Basic challenges, retry transient failures. Requests go through the
// proxy chosen for their URL, with a timeout (src/lib/http.ts).
import { createHash } from 'node:crypto'
import { DOCKER_HUB, isValidDigest } from '../image/reference.js'
import { DEFAULT_TIMEOUT_MS, notJsonMessage, ServiceTimeoutError, serviceFetch } from '../lib/http.js'
import { DEFAULT_RETRY, parseRetryAfter, retry, type RetryPolicy } from '../lib/retry.js'
import { isTransient, type Failure } from './retry.js'

/** Index and manifest types, multi-platform first, so the registry answers with what was pushed. */
export const MANIFEST_MEDIA_TYPES = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json'
]

export interface RegistryCredentials {
  username: string
  password: string
}

export interface RegistryOptions {
  /** Plain HTTP instead of HTTPS (Node's fetch cannot skip TLS verification per request). */
  insecure: boolean
  credentials?: RegistryCredentials
  retry?: RetryPolicy
  /** Per request. */
  timeoutMs?: number
  onRetry?: (message: string) => void
}

export class RegistryError extends Error {
  constructor(
    message: string,
    readonly failure: Failure = {},
    readonly retryAfterMs?: number
  ) {
    super(message)
    this.name = 'RegistryError'
  }
}

/** The registry answered 404 for the manifest (or its repository). */
export class ManifestNotFoundError extends RegistryError {
  constructor(message: string) {
    super(message, { status: 404 })
    this.name = 'ManifestNotFoundError'
  }
}

/** Base URL of a registry's API; Docker Hub's API lives on its own host. */
export function registryBaseUrl(domain: string, insecure: boolean): string {
  const host = domain === DOCKER_HUB ? 'registry-1.docker.io' : domain
  return `${insecure ? 'http' : 'https'}://${host}`
}

export interface Challenge {
  scheme: string
  params: Record<string, string>
}

/** The first challenge of a `WWW-Authenticate` header: `Bearer realm="…",service="…",scope="…"`. */
export function parseChallenge(header: string | null): Challenge | undefined {
  const match = header ? /^\s*([A-Za-z]+)\s*(.*)$/s.exec(header) : null
  if (!match) return undefined
  const params: Record<string, string> = {}
  for (const [, key, quoted, bare] of match[2].matchAll(/([A-Za-z_]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))/g)) {
    params[key.toLowerCase()] = quoted !== undefined ? quoted.replace(/\\(.)/g, '$1') : bare
  }
  return { scheme: match[1].toLowerCase(), params }
}

/** Where to ask for a pull token; the challenge's own scope wins over ours. */
export function tokenUrl(challenge: Challenge, repositoryPath: string): string {
  const { realm, service, scope } = challenge.params
  if (!realm) throw new RegistryError('the registry sent a Bearer challenge without a realm')
  const url = new URL(realm)
  if (service) url.searchParams.set('service', service)
  url.searchParams.set('scope', scope || `repository:${repositoryPath}:pull`)
  return url.toString()
}

export function basicAuthorization(credentials: RegistryCredentials): string {
  return `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`
}

/** Error code of a failed fetch: `ECONNREFUSED`, `TimeoutError`, … */
export function networkErrorCode(error: unknown): string | undefined {
  // Duck-typed: a timeout is a DOMException, not always an Error of this realm.
  if (typeof error !== 'object' || error === null) return undefined
  const { name, code, cause } = error as {
    name?: string
    code?: string
    cause?: { code?: string; errors?: Array<{ code?: string }> }
  }
  if (error instanceof ServiceTimeoutError || name === 'TimeoutError' || name === 'AbortError') return 'TimeoutError'
  return cause?.code ?? cause?.errors?.[0]?.code ?? code
}

const NETWORK_MEANINGS: Record<string, string> = {
  ECONNREFUSED: 'connection refused (is the registry running, and the host and port right?)',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'name resolution failed',
  ECONNRESET: 'connection reset',
  ETIMEDOUT: 'connection timed out',
  TimeoutError: 'request timed out'
}

function describeNetworkError(error: unknown, insecure: boolean): string {
  const code = networkErrorCode(error)
  const cause = (error as { cause?: { message?: string } }).cause?.message
  const meaning = (code && NETWORK_MEANINGS[code]) || code || cause || (error as Error).message
  const tls = code !== undefined && /SSL|TLS|CERT|EPROTO/i.test(code)
  const hint =
    tls && !insecure
      ? '; if the registry serves plain HTTP, set registry-insecure: true (self-signed certificates need NODE_EXTRA_CA_CERTS)'
      : ''
  return `${meaning}${hint}`
}

export class RegistryClient {
  private readonly base: string
  private readonly fetch: typeof fetch
  private authorization?: string

  constructor(
    readonly domain: string,
    private readonly options: RegistryOptions
  ) {
    this.base = registryBaseUrl(domain, options.insecure)
    this.fetch = serviceFetch(`registry ${domain}`, options.timeoutMs ?? DEFAULT_TIMEOUT_MS)
  }

  /** Digest of the manifest (or index) `path:reference` points at, as the registry reports it. */
  async manifestDigest(path: string, reference: string): Promise<string> {
    const url = `${this.base}/v2/${path}/manifests/${reference}`
    const head = await this.authorized('HEAD', url, path)
    const digest = head.headers.get('docker-content-digest')
    if (digest && isValidDigest(digest)) return digest
    // Some registries omit the header: the digest is then the sha256 of the manifest bytes.
    const get = await this.authorized('GET', url, path)
    const body = Buffer.from(await get.arrayBuffer())
    if (!isManifest(body)) {
      throw new RegistryError(
        notJsonMessage(`registry ${this.domain}`, `GET ${url}`, get.status, get.headers.get('content-type') ?? '', body)
      )
    }
    return `sha256:${createHash('sha256').update(body).digest('hex')}`
  }

  private async authorized(method: string, url: string, path: string): Promise<Response> {
    let response = await this.send(method, url, this.authorization)
    if (response.status === 401) {
      await response.body?.cancel()
      this.authorization = await this.answerChallenge(response, path)
      response = await this.send(method, url, this.authorization)
    }
    if (response.ok) return response
    await response.body?.cancel()
    throw this.refusal(response.status, response.statusText, path, url)
  }

  private async answerChallenge(response: Response, path: string): Promise<string> {
    const challenge = parseChallenge(response.headers.get('www-authenticate'))
    const { credentials } = this.options
    if (challenge?.scheme === 'basic') {
      if (!credentials) throw this.refusal(401, 'Unauthorized', path)
      return basicAuthorization(credentials)
    }
    if (challenge?.scheme !== 'bearer') {
      throw new RegistryError(
        `registry ${this.domain} answered 401 without a Basic or Bearer challenge it can be authenticated with`,
        { status: 401 }
      )
    }
    const url = tokenUrl(challenge, path)
    const answer = await this.send('GET', url, credentials && basicAuthorization(credentials))
    if (!answer.ok) {
      if (answer.status === 401 || answer.status === 403) throw this.refusal(answer.status, answer.statusText, path)
      throw new RegistryError(`token service ${new URL(url).origin} answered ${answer.status} ${answer.statusText}`, {
        status: answer.status
      })
    }
    const text = await answer.text()
    const body = parseObject(text) as { token?: unknown; access_token?: unknown } | undefined
    if (!body) {
      const service = `token service ${new URL(url).origin}`
      throw new RegistryError(
        notJsonMessage(
          service,
          `GET ${new URL(url).pathname}`,
          answer.status,
          answer.headers.get('content-type') ?? '',
          text
        )
      )
    }
    const token = body.token ?? body.access_token
    if (typeof token !== 'string' || !token) {
      throw new RegistryError(`token service ${new URL(url).origin} answered without a token`)
    }
    return `Bearer ${token}`
  }

  private refusal(status: number, statusText: string, path: string, url?: string): RegistryError {
    const user = this.options.credentials?.username
    const answered = `${status} ${statusText || ''}`.trim()
    if (status === 404) return new ManifestNotFoundError(`registry ${this.domain} has no manifest at ${url}`)
    if (status === 401 && user) {
      return new RegistryError(`registry ${this.domain} rejected the credentials of user "${user}" (${answered})`, {
        status
      })
    }
    if (status === 401) {
      const hub = this.domain === DOCKER_HUB ? ' (Docker Hub also answers so for repositories that do not exist)' : ''
      return new RegistryError(
        `registry ${this.domain} requires authentication to read ${path} (${answered}): set registry-username and registry-password${hub}`,
        { status }
      )
    }
    if (status === 403) {
      return new RegistryError(
        `registry ${this.domain} denied reading ${path}${user ? ` to user "${user}"` : ''} (${answered})`,
        { status }
      )
    }
    return new RegistryError(`registry ${this.domain} answered ${answered} for ${url ?? path}`, { status })
  }

  /** One request with retries; answers other than transient ones are returned to the caller. */
  private async send(method: string, url: string, authorization?: string): Promise<Response> {
    const policy = this.options.retry ?? DEFAULT_RETRY
    const headers: Record<string, string> = { Accept: MANIFEST_MEDIA_TYPES.join(', ') }
    if (authorization) headers.Authorization = authorization
    const transient = (error: unknown): boolean => error instanceof RegistryError && isTransient(error.failure)
    return retry(
      policy,
      {
        retryable: transient,
        retryAfterMs: error => (error as RegistryError).retryAfterMs,
        onRetry: (error, attempt, delay) =>
          this.options.onRetry?.(
            `${(error as Error).message}; attempt ${attempt + 1} of ${policy.attempts} in ${delay} ms`
          )
      },
      async () => {
        let response: Response
        try {
          response = await this.fetch(url, { method, headers, redirect: 'follow' })
        } catch (error) {
          const where = `${method} ${new URL(url).origin}${new URL(url).pathname}`
          throw new RegistryError(
            `cannot reach registry ${this.domain} (${where}): ${describeNetworkError(error, this.options.insecure)}`,
            { code: networkErrorCode(error) }
          )
        }
        if (isTransient({ status: response.status })) {
          await response.body?.cancel()
          throw new RegistryError(
            `registry ${this.domain} answered ${response.status} ${response.statusText} for ${method} ${url}`,
            { status: response.status },
            parseRetryAfter(response.headers.get('retry-after'), Date.now())
          )
        }
        return response
      }
    )
  }
}

/** The JSON object in `text`, or undefined when it holds none. */
function parseObject(text: string): object | undefined {
  try {
    const value: unknown = JSON.parse(text)
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? value : undefined
  } catch {
    return undefined
  }
}

/** An image manifest or index: a JSON object with a schemaVersion (not a login page answering 200). */
function isManifest(body: Buffer): boolean {
  const manifest = parseObject(body.toString('utf8')) as { schemaVersion?: unknown } | undefined
  return typeof manifest?.schemaVersion === 'number'
}
