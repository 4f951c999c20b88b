// Requests to GitHub, the registry and the apiserver go through HTTPS_PROXY/HTTP_PROXY, judged for
// each URL, and not where NO_PROXY matches. The services are named by made-up hosts that only the
// test's proxy resolves (to loopback): an answer proves the request went through the proxy, and
// "not found" proves it did not.
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals'
import { KubeConfig } from '@kubernetes/client-node'
import { ManifestNotFoundError, RegistryClient } from '../../src/build/registry.js'
import { KubeClient } from '../../src/kube/client.js'
import { listCollection } from '../../src/kube/rollout/watch.js'
import { githubOctokit } from '../../src/lib/github-client.js'
import { startForwardingProxy, type ForwardingProxy } from '../../test/helpers/forwarding-proxy.js'
import { kubeConfigVia, testbedKubeConfig } from '../../test/helpers/rollout.js'
import { createRepo, testbedEnv, uniqueName } from '../../test/helpers/testbed.js'

const bed = testbedEnv()
const kc = testbedKubeConfig()

/** `url` with its host renamed (port and path kept). */
function renamed(url: string, hostname: string): string {
  const copy = new URL(url)
  copy.hostname = hostname
  return copy.toString().replace(/\/$/, '')
}

const GITHUB = renamed(bed.githubApiUrl, 'github.proxied.test')
const REGISTRY = new URL(renamed(`http://${bed.registry}`, 'registry.proxied.test')).host
// A name the test bed's serving certificate holds, so TLS through the tunnel verifies as usual.
const APISERVER = renamed(kc.getCurrentCluster()?.server ?? '', 'kubernetes.default.svc')
const PROXY_VARIABLES = ['HTTPS_PROXY', 'HTTP_PROXY', 'NO_PROXY', 'https_proxy', 'http_proxy', 'no_proxy']

let proxy: ForwardingProxy
const repo = `proxy/${uniqueName('env')}`
const saved = Object.fromEntries(PROXY_VARIABLES.map(name => [name, process.env[name]]))

beforeAll(async () => {
  proxy = await startForwardingProxy()
  await createRepo(repo, { 'README.md': 'proxy test\n' })
})

afterEach(() => {
  for (const name of PROXY_VARIABLES) {
    if (saved[name] === undefined) delete process.env[name]
    else process.env[name] = saved[name]
  }
  proxy.seen.length = 0
})

afterAll(() => proxy.close())

type Service = 'GitHub' | 'registry' | 'apiserver' | 'apiserver watch'

/** An error's message with its causes' (a failed fetch says why only in its cause). */
function messages(error: unknown): string {
  const own = error instanceof Error || (typeof error === 'object' && error !== null) ? (error as Error).message : ''
  const cause = (error as { cause?: unknown } | undefined)?.cause
  return cause === undefined ? String(own ?? error) : `${own}: ${messages(cause)}`
}

/** One call per service: 'answered', or the error. */
async function callEach(kubeConfig: KubeConfig): Promise<Record<Service, string>> {
  const outcome = (call: Promise<unknown>): Promise<string> =>
    call.then(
      () => 'answered',
      (error: unknown) => messages(error)
    )
  const [owner, name] = repo.split('/')
  const octokit = githubOctokit(bed.githubToken, GITHUB, { retryBaseMs: 1 })
  const registry = new RegistryClient(REGISTRY, {
    insecure: true,
    retry: { attempts: 1, baseDelayMs: 1, maxDelayMs: 1 }
  })
  const kube = new KubeClient(kubeConfig, APISERVER)
  try {
    return {
      GitHub: await outcome(octokit.rest.repos.get({ owner, repo: name })),
      // The real registry's 404 for a manifest it lacks is its answer.
      registry: await outcome(
        registry.manifestDigest('proxy-test/none', 'v1').catch(error => {
          if (!(error instanceof ManifestNotFoundError)) throw error
        })
      ),
      apiserver: await outcome(kube.request('GET', '/version')),
      'apiserver watch': await outcome(
        listCollection(kube, kube.url('/api/v1/namespaces'), AbortSignal.timeout(30_000), 30_000).then(list => {
          if (!list?.items.length) throw new Error('no namespaces listed')
        })
      )
    }
  } finally {
    kube.close()
  }
}

const NOT_FOUND = /ENOTFOUND|host not found/
const services: Service[] = ['GitHub', 'registry', 'apiserver', 'apiserver watch']
const host = (url: string): string => new URL(url).host

describe('HTTPS_PROXY, HTTP_PROXY and NO_PROXY, judged per URL', () => {
  it.each<[string, string | undefined, Service[]]>([
    ['no NO_PROXY: everything through the proxy', undefined, services],
    ['NO_PROXY matching every service: nothing through the proxy', '.proxied.test,kubernetes.default.svc', []],
    ['NO_PROXY matching the registry only', 'registry.proxied.test', ['GitHub', 'apiserver', 'apiserver watch']]
  ])('%s', async (_name, noProxy, proxied) => {
    process.env.HTTPS_PROXY = proxy.url
    process.env.HTTP_PROXY = proxy.url
    if (noProxy) process.env.NO_PROXY = noProxy
    const outcomes = await callEach(kubeConfigVia(kc, APISERVER))
    for (const service of services) {
      if (proxied.includes(service)) expect([service, outcomes[service]]).toEqual([service, 'answered'])
      else expect([service, outcomes[service]]).toEqual([service, expect.stringMatching(NOT_FOUND)])
    }
    const expected = new Set<string>()
    if (proxied.includes('GitHub')) expected.add(host(GITHUB))
    if (proxied.includes('registry')) expected.add(REGISTRY)
    if (proxied.includes('apiserver')) expected.add(host(APISERVER))
    expect(new Set(proxy.seen)).toEqual(expected)
  })

  it('a proxy-url in the kubeconfig is used for the apiserver without any variable', async () => {
    const viaProxy = new KubeConfig()
    viaProxy.loadFromOptions({
      clusters: kc.clusters.map(cluster => ({ ...cluster, server: APISERVER, proxyUrl: proxy.url })),
      users: kc.users,
      contexts: kc.contexts,
      currentContext: kc.getCurrentContext()
    })
    const kube = new KubeClient(viaProxy, APISERVER)
    try {
      await expect(kube.request('GET', '/version')).resolves.toMatchObject({ status: 200 })
    } finally {
      kube.close()
    }
    expect(proxy.seen).toEqual([host(APISERVER)])
  })
})
