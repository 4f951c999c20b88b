// Answers that are not the service's (an HTML page from a proxy or a wrong URL, garbage, silence)
// fail with an error naming GitHub, the registry, a token service or the apiserver, never a TypeError
// or SyntaxError later.
import http from 'node:http'
import { type AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { KubeConfig } from '@kubernetes/client-node'
import { RegistryClient } from '../../src/build/registry.js'
import { requestIdToken } from '../../src/host/id-token.js'
import { KubeClient } from '../../src/kube/client.js'
import { listCollection } from '../../src/kube/rollout/watch.js'
import { githubOctokit } from '../../src/lib/github-client.js'

const PAGE = '<!DOCTYPE html><html><body>Please sign in to the proxy</body></html>'

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void

/** What the loopback server does with the next requests. */
let handler: Handler = (_req, res) => res.end()
let server: http.Server
let origin: string

beforeAll(async () => {
  server = http.createServer((req, res) => handler(req, res))
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})

afterAll(async () => {
  server.closeAllConnections()
  await new Promise(resolve => server.close(resolve))
})

const html =
  (status: number): Handler =>
  (_req, res) =>
    res.writeHead(status, { 'content-type': 'text/html' }).end(PAGE)

function kubeClient(): KubeClient {
  const kc = new KubeConfig()
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: origin, skipTLSVerify: true }],
    users: [{ name: 'u', token: 'not-a-secret' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x'
  })
  return new KubeClient(kc, origin)
}

async function apiserver(call: (client: KubeClient) => Promise<unknown>): Promise<unknown> {
  const client = kubeClient()
  try {
    return await call(client)
  } finally {
    client.close()
  }
}

// A short timeout only where the server stays silent: a busy machine may take longer to answer.
const registry = (timeoutMs = 10_000): RegistryClient =>
  new RegistryClient(new URL(origin).host, {
    insecure: true,
    timeoutMs,
    retry: { attempts: 1, baseDelayMs: 1, maxDelayMs: 1 }
  })

const github = () => githubOctokit('not-a-token', origin, { retryBaseMs: 1 }).rest.repos.get({ owner: 'o', repo: 'r' })

describe('an answer that is not the service’s', () => {
  it.each<[string, Handler, () => Promise<unknown>, RegExp]>([
    [
      'GitHub: HTML with 200',
      html(200),
      github,
      /^GitHub \(http:\/\/127\.0\.0\.1:\d+\) answered GET \/repos\/\{owner\}\/\{repo\} with 200 and a text\/html body, not JSON: <!DOCTYPE html>/
    ],
    [
      'GitHub: HTML with 404',
      html(404),
      github,
      /^GitHub \(http:\/\/127\.0\.0\.1:\d+\) answered GET \/repos\/\{owner\}\/\{repo\} with 404 and a text\/html body/
    ],
    [
      'registry: HTML where the manifest should be',
      html(200),
      () => registry().manifestDigest('team/web', 'v1'),
      /^registry 127\.0\.0\.1:\d+ answered GET http:\/\/127\.0\.0\.1:\d+\/v2\/team\/web\/manifests\/v1 with 200 and a text\/html body, not JSON: <!DOCTYPE html>/
    ],
    [
      'registry: HTML from the token service',
      (req, res) => {
        if (req.url?.startsWith('/token')) return html(200)(req, res)
        res.writeHead(401, { 'www-authenticate': `Bearer realm="${origin}/token",service="test"` }).end()
      },
      () => registry().manifestDigest('team/web', 'v1'),
      /^token service http:\/\/127\.0\.0\.1:\d+ answered GET \/token with 200 and a text\/html body, not JSON/
    ],
    [
      'registry: silence past the timeout',
      () => undefined,
      () => registry(200).manifestDigest('team/web', 'v1'),
      /^cannot reach registry 127\.0\.0\.1:\d+ \(HEAD http:\/\/127\.0\.0\.1:\d+\/v2\/team\/web\/manifests\/v1\): request timed out/
    ],
    [
      'the runner’s OIDC token service: HTML with 200',
      html(200),
      () =>
        requestIdToken(
          {
            ACTIONS_ID_TOKEN_REQUEST_URL: `${origin}/token?api-version=2.0`,
            ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'request'
          },
          'kubernetes'
        ),
      /^the OIDC token service answered GET http:\/\/127\.0\.0\.1:\d+\/token with 200 and a text\/html body, not JSON/
    ],
    [
      'apiserver: HTML with 200',
      html(200),
      () => apiserver(client => client.request('GET', '/version')),
      /^the apiserver \(http:\/\/127\.0\.0\.1:\d+\) answered GET \/version with 200 and a text\/html body, not JSON: <!DOCTYPE html>/
    ],
    [
      'apiserver: plain text with 200',
      (_req, res) => res.end('ok'),
      () => apiserver(client => client.request('GET', '/version')),
      /^the apiserver \(http:\/\/127\.0\.0\.1:\d+\) answered GET \/version with 200 and a non-JSON body, not JSON: ok/
    ],
    [
      'apiserver: HTML with 404',
      html(404),
      () => apiserver(client => client.request('GET', '/apis/apps/v1/namespaces/web/deployments/api')),
      /^the apiserver \(http:\/\/127\.0\.0\.1:\d+\) answered GET \/apis\/apps\/v1\/namespaces\/web\/deployments\/api with 404 and a text\/html body/
    ],
    [
      'apiserver: HTML where a LIST should be',
      html(200),
      () =>
        apiserver(client =>
          listCollection(client, client.url('/api/v1/namespaces/web/pods'), AbortSignal.timeout(5_000), 5_000)
        ),
      /^the apiserver \(http:\/\/127\.0\.0\.1:\d+\) answered GET \/api\/v1\/namespaces\/web\/pods with 200 and a text\/html body, not JSON/
    ]
  ])('%s', async (_name, answer, call, message) => {
    handler = answer
    await expect(call()).rejects.toThrow(message)
  })
})
