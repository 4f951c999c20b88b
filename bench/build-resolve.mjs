// Digest resolution time against the test bed's registries: median and p90 of 20 runs.
// Usage: node bench/build-resolve.mjs   (after npm run testbed:up: the registries and their
// credentials come from .testbed/env)
import { createHash } from 'node:crypto'
import { readTestbedEnv } from '../test/helpers/testbed-env.mjs'
import { importSource } from './lib/import-source.mjs'

const RUNS = 20

function loadRegistryModule() {
  return importSource("export * from './src/build/registry.ts'\n")
}

/** Pushes a manifest with an empty config and no layers, so the bench needs no builder. */
async function pushTinyImage(registry, repoPath, tag, authorization) {
  const headers = authorization ? { Authorization: authorization } : {}
  const config = Buffer.from(
    JSON.stringify({ architecture: 'amd64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: [] } })
  )
  const configDigest = `sha256:${createHash('sha256').update(config).digest('hex')}`
  const start = await fetch(`http://${registry}/v2/${repoPath}/blobs/uploads/`, { method: 'POST', headers })
  if (start.status !== 202) throw new Error(`blob upload to ${registry} answered ${start.status}`)
  const location = new URL(start.headers.get('location'), `http://${registry}`)
  location.searchParams.set('digest', configDigest)
  const upload = await fetch(location, {
    method: 'PUT',
    headers: { ...headers, 'Content-Type': 'application/octet-stream' },
    body: config
  })
  if (upload.status !== 201) throw new Error(`blob upload to ${registry} answered ${upload.status}`)
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length },
    layers: []
  })
  const put = await fetch(`http://${registry}/v2/${repoPath}/manifests/${tag}`, {
    method: 'PUT',
    headers: { ...headers, 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' },
    body: manifest
  })
  if (put.status !== 201) throw new Error(`manifest push to ${registry} answered ${put.status}`)
}

async function measure(label, resolveOnce) {
  await resolveOnce() // warm-up: connection pool, JIT
  const times = []
  for (let i = 0; i < RUNS; i++) {
    const start = performance.now()
    await resolveOnce()
    times.push(performance.now() - start)
  }
  times.sort((a, b) => a - b)
  const at = q => times[Math.min(times.length - 1, Math.floor(q * times.length))].toFixed(2)
  console.log(`${label.padEnd(52)} median ${at(0.5)} ms  p90 ${at(0.9)} ms  (n=${RUNS})`)
}

const { RegistryClient, basicAuthorization } = await loadRegistryModule()
const testbed = readTestbedEnv()
const registry = testbed.REGISTRY.replace(/^https?:\/\//, '')

await pushTinyImage(registry, 'bench/resolve', 'v1')
await measure('anonymous registry, new client per lookup', () =>
  new RegistryClient(registry, { insecure: true }).manifestDigest('bench/resolve', 'v1')
)

const { REGISTRY_AUTH, TESTBED_REGISTRY_USER: username, TESTBED_REGISTRY_PASSWORD: password } = testbed
const authRegistry = REGISTRY_AUTH.replace(/^https?:\/\//, '')
const credentials = { username, password }
await pushTinyImage(authRegistry, 'bench/resolve', 'v1', basicAuthorization(credentials))
await measure('htpasswd registry, new client (401 + Basic retry)', () =>
  new RegistryClient(authRegistry, { insecure: true, credentials }).manifestDigest('bench/resolve', 'v1')
)
const reused = new RegistryClient(authRegistry, { insecure: true, credentials })
await measure('htpasswd registry, one client (cached authorization)', () =>
  reused.manifestDigest('bench/resolve', 'v1')
)
