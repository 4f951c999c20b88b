// What the env-repo benchmarks share: the test bed's GitHub emulator (admin endpoints, request log),
// the stage's modules, and a host that stays quiet.
import path from 'node:path'
import { loadTestbedEnv } from '../../test/helpers/testbed-env.mjs'
import { importSource } from './import-source.mjs'

const testbed = loadTestbedEnv()
export const api = testbed.GITHUB_API_URL.replace(/\/+$/, '')
export const token = testbed.TESTBED_GITHUB_TOKEN

export function loadModules() {
  return importSource("export * from './src/gitops/index.ts'\nexport { parseConfig } from './src/config/index.ts'\n")
}

/**
 * A push-mode run's config (no build, no apply) deploying `image:tag` to `envPath` of `bench/{repo}`
 * on the emulator; `parseConfig` is the one `loadModules` gives.
 */
export function benchConfig(parseConfig, { repo, envPath, image, tag }) {
  return parseConfig(
    {
      image,
      tag,
      build: 'false',
      apply: 'false',
      'env-repo': `bench/${repo}`,
      'env-path': envPath,
      'env-token': token,
      'github-api-url': api
    },
    { serverUrl: 'https://github.com', apiUrl: api, workspace: path.resolve(import.meta.dirname, '../..') }
  )
}

export async function admin(method, route, body) {
  const response = await fetch(`${api}/_testbed${route}`, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body)
  })
  if (!response.ok) throw new Error(`${method} /_testbed${route}: ${response.status} ${await response.text()}`)
  return response.status === 204 ? undefined : response.json()
}

export async function lastRequestId() {
  const log = await admin('GET', '/requests')
  return log.length > 0 ? log[log.length - 1].id : 0
}

/** The requests after `id` about `repo` (its REST paths, or GraphQL bodies naming it). */
export async function requestsSince(id, repo) {
  const log = await admin('GET', `/requests?since=${id}`)
  return log.filter(
    entry =>
      entry.path.includes(`/${repo}/`) ||
      entry.path.endsWith(`/${repo}`) ||
      (entry.path === '/graphql' && JSON.stringify(entry.body ?? '').includes(repo))
  )
}

/** A request that writes: any REST method but GET, or a GraphQL mutation (queries are POSTs that read). */
export function isWrite(entry) {
  if (entry.path === '/graphql') return /^\s*mutation/.test(entry.body?.query ?? '')
  return entry.method !== 'GET'
}

/** The two ways the stage talks to GitHub: GraphQL where it answers, REST where /graphql answers 404. */
export const PATHS = ['graphql', 'rest']

export async function useGitHubPath(path) {
  await admin('DELETE', '/faults')
  if (path === 'rest') {
    await admin('POST', '/faults', {
      kind: '5xx',
      status: 404,
      count: 1_000_000,
      body: { message: 'Not Found' },
      match: { method: 'POST', pathRegex: '^/graphql$' }
    })
  }
}

export const quietHost = {
  setSecret() {},
  debug() {},
  info() {},
  warning(message) {
    console.error(message)
  },
  error(message) {
    console.error(message)
  },
  group: (_name, fn) => fn(),
  setOutput() {},
  async writeSummary() {}
}

export const median = values => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]
