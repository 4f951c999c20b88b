// The job's GitHub OIDC token, as the runner hands it out: a host concern (the action asks
// through core.getIDToken, the CLI makes the same request itself). kube-auth github-oidc uses it.
import { notJsonMessage, serviceFetch } from '../lib/http.js'

/** Asks the runner for an ID token with this audience (core.getIDToken, or the same request by hand). */
export type IdTokenRequest = (audience: string) => Promise<string>

/** Why a token cannot be requested at all: the job lacks `permissions: id-token: write`. */
export class MissingIdTokenPermissionError extends Error {
  constructor() {
    super(
      "kube-auth github-oidc needs the job's OIDC token, but ACTIONS_ID_TOKEN_REQUEST_URL and " +
        'ACTIONS_ID_TOKEN_REQUEST_TOKEN are not set: give the job `permissions: id-token: write` ' +
        '(outside Actions, set both variables to a token endpoint that issues them)'
    )
    this.name = 'MissingIdTokenPermissionError'
  }
}

/** The runner's token endpoint, from the variables it sets when the job may request ID tokens. */
export function idTokenEndpoint(env: NodeJS.ProcessEnv): { url: string; token: string } {
  const url = env.ACTIONS_ID_TOKEN_REQUEST_URL
  const token = env.ACTIONS_ID_TOKEN_REQUEST_TOKEN
  if (!url || !token) throw new MissingIdTokenPermissionError()
  return { url, token }
}

/** The runner's request (what core.getIDToken does): GET url&audience=…, bearer, `{"value": jwt}`. */
export async function requestIdToken(env: NodeJS.ProcessEnv, audience: string): Promise<string> {
  const endpoint = idTokenEndpoint(env)
  const url = new URL(endpoint.url)
  url.searchParams.set('audience', audience)
  const service = 'the OIDC token service'
  const response = await serviceFetch(service)(url, {
    headers: { Authorization: `Bearer ${endpoint.token}`, Accept: 'application/json' }
  })
  const text = await response.text()
  if (!response.ok) {
    throw new Error(`the OIDC token request to ${url.origin}${url.pathname} answered ${response.status}`)
  }
  let value: unknown
  try {
    value = (JSON.parse(text) as { value?: unknown } | null)?.value
  } catch {
    const where = `GET ${url.origin}${url.pathname}`
    throw new Error(notJsonMessage(service, where, response.status, response.headers.get('content-type') ?? '', text))
  }
  if (typeof value !== 'string' || value.split('.').length !== 3) {
    throw new Error(`the OIDC token request to ${url.origin}${url.pathname} returned no token`)
  }
  return value
}
