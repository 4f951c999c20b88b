// Stage 1 against real buildah and the test bed's registries (anonymous $REGISTRY, htpasswd
// $REGISTRY_AUTH), plus a local token-service registry for the Bearer flow.
import { RecordingHost } from '../../test/helpers/recording-host.js'
import { testbedEnv } from '../../test/helpers/testbed.js'
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { createHash } from 'node:crypto'
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import { type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { buildAndResolve } from '../../src/build/index.js'
import { MANIFEST_MEDIA_TYPES, RegistryClient } from '../../src/build/registry.js'
import { parseConfig, type RawInputs, type RunContext } from '../../src/config/index.js'

const workspace = mkdtempSync(path.join(tmpdir(), 'build-it-'))
writeFileSync(path.join(workspace, 'Containerfile'), 'FROM scratch\nARG NOTE\nCOPY hello.txt /\n')
writeFileSync(path.join(workspace, 'hello.txt'), `hello ${Date.now()}\n`)
writeFileSync(path.join(workspace, 'Broken.Containerfile'), 'FROM scratch\nCOPY no-such-file.txt /\n')

const context: RunContext = {
  repository: 'acme/app',
  sha: '0123456789abcdef0123456789abcdef01234567',
  serverUrl: 'https://github.com',
  apiUrl: 'https://api.github.com',
  workspace
}
const run = Date.now().toString(36)

function config(raw: RawInputs) {
  return parseConfig(
    {
      dockerfile: 'Containerfile',
      // The test bed also offers docker buildx (which auto would pick): see build-builders.test.ts.
      builder: 'buildah',
      'registry-insecure': 'true',
      'env-repo': 'acme/env',
      'env-path': 'apps/web',
      'env-token': 'unused',
      apply: 'false',
      ...raw
    },
    context
  )
}

/** The registry's own answer, read without our client. */
async function registryDigest(registry: string, repoPath: string, tag: string, user?: string, password?: string) {
  const headers: Record<string, string> = { Accept: MANIFEST_MEDIA_TYPES.join(', ') }
  if (user) headers.Authorization = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`
  const response = await fetch(`http://${registry}/v2/${repoPath}/manifests/${tag}`, { method: 'HEAD', headers })
  expect(response.status).toBe(200)
  return response.headers.get('docker-content-digest')
}

async function imageLabels(registry: string, repoPath: string, digest: string): Promise<Record<string, string>> {
  const accept = { Accept: MANIFEST_MEDIA_TYPES.join(', ') }
  const manifest = (await (
    await fetch(`http://${registry}/v2/${repoPath}/manifests/${digest}`, { headers: accept })
  ).json()) as {
    config: { digest: string }
  }
  const blob = (await (await fetch(`http://${registry}/v2/${repoPath}/blobs/${manifest.config.digest}`)).json()) as {
    config: { Labels: Record<string, string> }
  }
  return blob.config.Labels
}

describe('build and resolve with buildah', () => {
  const { registry, registryAuth, registryUser: user, registryPassword: password } = testbedEnv()

  it('builds, pushes and pins the digest the registry reports, with OCI labels', async () => {
    const host = new RecordingHost()
    const image = `${registry}/build-it/app`
    const result = await buildAndResolve(config({ image, tag: `a-${run}`, 'build-args': 'NOTE=x y' }), host)

    const digest = await registryDigest(registry, 'build-it/app', `a-${run}`)
    expect(result).toEqual({
      repository: image,
      tag: `a-${run}`,
      digest,
      reference: `${image}:a-${run}@${digest}`
    })
    expect(await imageLabels(registry, 'build-it/app', result.digest)).toMatchObject({
      'org.opencontainers.image.source': 'https://github.com/acme/app',
      'org.opencontainers.image.revision': context.sha
    })
    expect(host.lines).toContainEqual(expect.stringMatching(/^builder: buildah; /))
  })

  it('with build: false resolves the existing image to the same digest', async () => {
    const image = `${registry}/build-it/app`
    const built = await buildAndResolve(config({ image, tag: `b-${run}`, pin: 'digest' }), new RecordingHost())
    const resolved = await buildAndResolve(
      config({ image, tag: `b-${run}`, build: 'false', pin: 'digest' }),
      new RecordingHost()
    )
    expect(resolved.digest).toBe(built.digest)
    expect(resolved.reference).toBe(`${image}@${built.digest}`)
  })

  it('with build: false fails on a missing image', async () => {
    const image = `${registry}/build-it/missing`
    await expect(buildAndResolve(config({ image, tag: 'nope', build: 'false' }), new RecordingHost())).rejects.toThrow(
      `image ${image}:nope not found in ${registry}`
    )
  })

  it('pushes to an htpasswd registry through a temporary auth file, password never shown', async () => {
    const host = new RecordingHost()
    const image = `${registryAuth}/build-it/private`
    const before = readdirSync(tmpdir()).filter(name => name.startsWith('gitops-push-deploy-build-'))
    const result = await buildAndResolve(
      config({ image, tag: `c-${run}`, 'registry-username': user, 'registry-password': password }),
      host
    )
    expect(result.digest).toBe(await registryDigest(registryAuth, 'build-it/private', `c-${run}`, user, password))
    expect(host.lines.join('\n')).not.toContain(password)
    expect(host.lines).toContainEqual(expect.stringContaining('--password-stdin'))
    const after = readdirSync(tmpdir()).filter(name => name.startsWith('gitops-push-deploy-build-'))
    expect(after).toEqual(before)
  })

  it('names the user whose password the registry rejects (401)', async () => {
    const wrong = `${password}-wrong`
    const inputs = {
      image: `${registryAuth}/build-it/private`,
      tag: `c-${run}`,
      'registry-username': user,
      'registry-password': wrong
    }
    const resolving = buildAndResolve(config({ ...inputs, build: 'false' }), new RecordingHost())
    await expect(resolving).rejects.toThrow(
      `registry ${registryAuth} rejected the credentials of user "${user}" (401 Unauthorized)`
    )

    const building = buildAndResolve(config(inputs), new RecordingHost())
    await expect(building).rejects.toThrow(/^buildah login failed with exit code \d+; last lines of its output:\n.*/)
    await expect(building).rejects.not.toThrow(wrong)
  })

  it('asks for credentials when an htpasswd registry is read anonymously', async () => {
    const image = `${registryAuth}/build-it/private`
    await expect(buildAndResolve(config({ image, tag: 'x', build: 'false' }), new RecordingHost())).rejects.toThrow(
      `registry ${registryAuth} requires authentication to read build-it/private (401 Unauthorized): set registry-username and registry-password`
    )
  })

  it('reports an unreachable registry plainly', async () => {
    const closed = await closedLoopbackPort()
    const image = `127.0.0.1:${closed}/build-it/app`
    await expect(buildAndResolve(config({ image, tag: 'x', build: 'false' }), new RecordingHost())).rejects.toThrow(
      `cannot reach registry 127.0.0.1:${closed} (HEAD http://127.0.0.1:${closed}/v2/build-it/app/manifests/x): connection refused`
    )
  })

  it('reports a failing build with its exit code and last output lines', async () => {
    const image = `${registry}/build-it/broken`
    const failing = buildAndResolve(
      config({ image, tag: 'x', dockerfile: 'Broken.Containerfile' }),
      new RecordingHost()
    )
    await expect(failing).rejects.toThrow(
      /^buildah bud failed with exit code \d+; last lines of its output:\n(.|\n)*no-such-file\.txt/
    )
  })
})

async function closedLoopbackPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise(resolve => server.close(resolve))
  return port
}

// A registry in the style of ghcr.io / Docker Hub: Bearer challenge, token service, a
// transient 503, and no Docker-Content-Digest header on HEAD (the client must hash the body).
describe('registry client against a token-service registry', () => {
  const manifest = JSON.stringify({ schemaVersion: 2, mediaType: MANIFEST_MEDIA_TYPES[1], layers: [] })
  const digest = `sha256:${createHash('sha256').update(manifest).digest('hex')}`
  const requests: string[] = []
  let unavailableOnce = true
  let server: Server
  let origin: string

  beforeAll(async () => {
    server = createServer((req, res) => {
      const auth = req.headers.authorization ?? ''
      requests.push(`${req.method} ${req.url} ${auth.split(' ')[0]}`)
      if (req.url?.startsWith('/token')) {
        const url = new URL(req.url, origin)
        const basic = Buffer.from('bot:pw').toString('base64')
        if (auth && auth !== `Basic ${basic}`) return void res.writeHead(401).end()
        const token = auth ? 'user-token' : 'anonymous-token'
        res.writeHead(200, { 'Content-Type': 'application/json' })
        return void res.end(JSON.stringify({ token, scope: url.searchParams.get('scope') }))
      }
      if (req.url === '/v2/acme/web/manifests/v1') {
        if (auth !== 'Bearer user-token' && auth !== 'Bearer anonymous-token') {
          res.writeHead(401, {
            'WWW-Authenticate': `Bearer realm="${origin}/token",service="test",scope="repository:acme/web:pull"`
          })
          return void res.end()
        }
        if (unavailableOnce) {
          unavailableOnce = false
          return void res.writeHead(503).end()
        }
        res.writeHead(200, { 'Content-Type': MANIFEST_MEDIA_TYPES[1] })
        return void res.end(req.method === 'HEAD' ? undefined : manifest)
      }
      res.writeHead(404).end()
    })
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  afterAll(() => new Promise(resolve => server.close(resolve)))

  it('gets a token with Basic credentials, retries a 503 and hashes the manifest body', async () => {
    const retries: string[] = []
    const client = new RegistryClient(new URL(origin).host, {
      insecure: true,
      credentials: { username: 'bot', password: 'pw' },
      retry: { attempts: 3, baseDelayMs: 10, maxDelayMs: 100 },
      onRetry: message => retries.push(message)
    })
    await expect(client.manifestDigest('acme/web', 'v1')).resolves.toBe(digest)
    expect(retries).toEqual([expect.stringMatching(/answered 503 Service Unavailable.*attempt 2 of 3/)])
    expect(requests.slice(0, 3)).toEqual([
      'HEAD /v2/acme/web/manifests/v1 ',
      'GET /token?service=test&scope=repository%3Aacme%2Fweb%3Apull Basic',
      'HEAD /v2/acme/web/manifests/v1 Bearer'
    ])
  })

  it('gets an anonymous token without credentials', async () => {
    const client = new RegistryClient(new URL(origin).host, { insecure: true })
    await expect(client.manifestDigest('acme/web', 'v1')).resolves.toBe(digest)
  })

  it('says which user the token service rejected', async () => {
    const client = new RegistryClient(new URL(origin).host, {
      insecure: true,
      credentials: { username: 'bot', password: 'bad' }
    })
    await expect(client.manifestDigest('acme/web', 'v1')).rejects.toThrow(
      /rejected the credentials of user "bot" \(401/
    )
  })
})
