// Typed helpers for integration tests on the local test bed (see test/testbed/up.sh).
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import path from 'node:path'
import { promisify } from 'node:util'
import type { Quirks } from '../testbed/github-emulator/quirks.ts'
import type { FaultSpec, RequestLogEntry } from '../testbed/github-emulator/server.ts'
import { readTestbedEnv, REPO_ROOT } from './testbed-env.mjs'

export type { FaultSpec, Quirks, RequestLogEntry }
export { REPO_ROOT }

const execFileAsync = promisify(execFile)

export interface TestbedEnv {
  /** absolute path of the cluster's admin kubeconfig (undefined with TESTBED_SKIP_CLUSTER=1) */
  kubeconfig: string | undefined
  githubApiUrl: string
  /** token with admin permission on every emulated repository */
  githubToken: string
  /** token with read permission on every emulated repository */
  githubReadonlyToken: string
  /** host:port of the anonymous registry */
  registry: string
  /** host:port of the htpasswd registry */
  registryAuth: string
  registryUser: string
  registryPassword: string
  /** folder of the emulator's bare repositories ($GIT_ROOT/<owner>/<name>.git) */
  gitRoot: string
  /** a static busybox in the anonymous registry, for Dockerfiles with RUN steps (no Docker Hub) */
  baseImage: string
  clusterSkipped: boolean
  /** The cluster's apiserver URL and CA file, for a client without a kubeconfig (undefined without a cluster). */
  kube: { server: string; caFile: string } | undefined
  /**
   * Keyless access: the ID-token request (URL and token) of a runner of acme/app's production
   * environment on the emulator, and the one namespace RBAC lets that environment deploy to.
   */
  oidc: { requestUrl: string; requestToken: string; namespace: string }
}

/** The test bed's endpoints and secrets: process.env (filled by test/jest/load-testbed-env.mjs), else .testbed/env. */
export function testbedEnv(): TestbedEnv {
  const e: Record<string, string | undefined> =
    process.env.GITHUB_API_URL && process.env.REGISTRY ? process.env : readTestbedEnv()
  const need = (k: string): string => {
    const v = e[k]
    if (!v) throw new Error(`${k} is not set: is the test bed up (npm run testbed:up)?`)
    return v
  }
  const clusterSkipped = e.TESTBED_SKIP_CLUSTER === '1' || !e.KUBECONFIG
  return {
    kubeconfig: e.KUBECONFIG || undefined,
    githubApiUrl: need('GITHUB_API_URL'),
    githubToken: need('TESTBED_GITHUB_TOKEN'),
    githubReadonlyToken: need('TESTBED_GITHUB_READONLY_TOKEN'),
    registry: need('REGISTRY'),
    registryAuth: need('REGISTRY_AUTH'),
    registryUser: need('TESTBED_REGISTRY_USER'),
    registryPassword: need('TESTBED_REGISTRY_PASSWORD'),
    gitRoot: need('TESTBED_GIT_ROOT'),
    baseImage: need('TESTBED_BASE_IMAGE'),
    clusterSkipped,
    kube: clusterSkipped ? undefined : { server: need('TESTBED_KUBE_SERVER'), caFile: need('TESTBED_KUBE_CA') },
    oidc: {
      requestUrl: need('TESTBED_OIDC_REQUEST_URL'),
      requestToken: need('TESTBED_OIDC_REQUEST_TOKEN'),
      namespace: need('TESTBED_OIDC_NAMESPACE')
    }
  }
}

/** The path of the cluster's admin kubeconfig; throws when the test bed runs without a cluster. */
export function testbedKubeconfigFile(): string {
  const file = testbedEnv().kubeconfig
  if (!file) throw new Error('the test bed has no cluster (TESTBED_SKIP_CLUSTER=1?)')
  return file
}

/** A DNS-1123 label unique to this run: `${prefix}-<time>-<random>`. */
export function uniqueName(prefix: string): string {
  const p = prefix
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-')
    .slice(0, 40)
  return `${p}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`
}

async function admin<T>(method: string, sub: string, body?: unknown): Promise<T> {
  const res = await fetch(`${testbedEnv().githubApiUrl}/_testbed${sub}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body)
  })
  const text = await res.text()
  if (!res.ok) throw new Error(`emulator admin ${method} ${sub} failed: ${res.status} ${text}`)
  return (text ? JSON.parse(text) : undefined) as T
}

export interface CreatedRepo {
  full_name: string
  default_branch: string
  /** sha of the initial commit */
  sha: string
  git_dir: string
}

function splitName(ownerName: string): { owner: string; name: string } {
  const [owner, name, extra] = ownerName.split('/')
  if (!owner || !name || extra !== undefined) throw new Error(`expected owner/name, got ${ownerName}`)
  return { owner, name }
}

/** Create (or reset) an emulated repository with one initial commit on main holding `files`. */
export async function createRepo(
  ownerName: string,
  files: Record<string, string>,
  opts: { defaultBranch?: string; message?: string } = {}
): Promise<CreatedRepo> {
  return admin<CreatedRepo>('POST', '/repos', { ...splitName(ownerName), files, ...opts })
}

/** Create (or reset) an emulated repository from a folder's files. */
export async function createRepoFromDir(ownerName: string, dir: string): Promise<CreatedRepo> {
  return admin<CreatedRepo>('POST', '/repos', { ...splitName(ownerName), dir: path.resolve(dir) })
}

/**
 * Register a repository without git storage (repository metadata and deployments only), e.g. the
 * application repository the action reports deployments to.
 */
export async function registerRepo(ownerName: string): Promise<void> {
  await admin('POST', '/repos', { ...splitName(ownerName), virtual: true })
}

/** Make a repository answer like GitHub in the given ways (see quirks.ts); reset by createRepo. */
export async function setQuirks(ownerName: string, quirks: Quirks): Promise<void> {
  await admin('POST', '/quirks', { ...splitName(ownerName), quirks })
}

export async function deleteRepo(ownerName: string): Promise<void> {
  const { owner, name } = splitName(ownerName)
  await admin('DELETE', `/repos/${owner}/${name}`)
}

/**
 * What the simulated kubelet does with a test image's containers (its label testbed.behavior);
 * none (or `ready`) runs and becomes ready.
 */
export type Behavior = 'ready' | 'crashloop' | 'crashonce' | 'unready' | 'fail'

/**
 * The one way tests and benchmarks make a test image: a FROM-scratch image built with buildah
 * (test/testbed/image.sh) and pushed to `ref`; returns its digest (sha256:…). The same reference,
 * behavior and nonce give the same digest, so building again is cheap.
 */
export async function buildImage(ref: string, behavior?: Behavior, opts: { nonce?: string } = {}): Promise<string> {
  const args = [path.join(REPO_ROOT, 'test', 'testbed', 'image.sh'), ref]
  if (behavior) args.push(behavior)
  const { stdout } = await execFileAsync('bash', args, {
    env: { ...process.env, TESTBED_IMAGE_NONCE: opts.nonce ?? '' },
    maxBuffer: 16 * 1024 * 1024
  })
  const last = stdout.trim().split('\n').pop() ?? ''
  if (!/^sha256:[0-9a-f]{64}$/.test(last)) throw new Error(`image.sh printed no digest: ${stdout}`)
  return last
}

/** The emulator's request log (oldest first), optionally only entries after id `since`. */
export async function emulatorRequests(since = 0): Promise<RequestLogEntry[]> {
  return admin<RequestLogEntry[]>('GET', `/requests?since=${since}`)
}

export async function clearRequests(): Promise<void> {
  await admin('DELETE', '/requests')
}

/** Fail the next matching requests (see FaultSpec); returns the fault ids. */
export async function injectFaults(specs: FaultSpec | FaultSpec[]): Promise<number[]> {
  const added = await admin<Array<{ id: number }>>('POST', '/faults', specs)
  return added.map(f => f.id)
}

export async function pendingFaults(): Promise<Array<FaultSpec & { id: number; remaining: number; hits: number }>> {
  return admin('GET', '/faults')
}

export async function clearFaults(): Promise<void> {
  await admin('DELETE', '/faults')
}

/**
 * A GitHub without GraphQL (an older Enterprise Server, an API proxy): POST /graphql answers 404 until
 * the faults are cleared (clearFaults after each test).
 */
export async function withoutGraphQL(): Promise<void> {
  await injectFaults({
    kind: '5xx',
    status: 404,
    count: 100_000,
    body: { message: 'Not Found', documentation_url: 'https://docs.github.com/graphql' },
    match: { method: 'POST', pathRegex: '^/graphql$' }
  })
}

/**
 * Whether a logged request concerns repository `repo` ("owner/name"): its REST path, or a GraphQL body
 * naming it (queries give the owner and the name apart; names are unique on the test bed).
 */
export function concerns(entry: RequestLogEntry, repo: string): boolean {
  if (entry.path !== '/graphql') return entry.path.includes(`/${repo}`)
  return (
    JSON.stringify(entry.body ?? '').includes(`"${repo.split('/').pop()}"`) ||
    JSON.stringify(entry.body ?? '').includes(repo)
  )
}

/** Delay every emulated GitHub request by `ms` (0 turns it off). */
export async function setLatency(ms: number): Promise<void> {
  await admin('POST', '/latency', { ms })
}

/** Add a token at run time: repos maps "*", "owner/*" or "owner/name" to none|read|write|admin. */
export async function addToken(
  token: string,
  repos: Record<string, 'none' | 'read' | 'write' | 'admin'>,
  login = 'testbed-extra'
): Promise<void> {
  await admin('POST', '/tokens', { token, repos, login })
}

export async function clearExtraTokens(): Promise<void> {
  await admin('DELETE', '/tokens')
}

export interface GithubResponse<T = unknown> {
  status: number
  headers: Headers
  body: T
}

/** A raw request to the emulated GitHub API (token defaults to the write token; null sends none). */
export async function githubRequest<T = unknown>(
  method: string,
  apiPath: string,
  opts: { token?: string | null; body?: unknown } = {}
): Promise<GithubResponse<T>> {
  const env = testbedEnv()
  const token = opts.token === undefined ? env.githubToken : opts.token
  const headers: Record<string, string> = { accept: 'application/vnd.github+json' }
  if (token) headers.authorization = `Bearer ${token}`
  if (opts.body !== undefined) headers['content-type'] = 'application/json'
  const res = await fetch(`${env.githubApiUrl}${apiPath}`, {
    method,
    headers,
    body: opts.body === undefined ? undefined : JSON.stringify(opts.body)
  })
  const text = await res.text()
  let body: unknown = text
  try {
    body = text ? JSON.parse(text) : undefined
  } catch {
    /* not JSON */
  }
  return { status: res.status, headers: res.headers, body: body as T }
}

export interface GitLogEntry {
  sha: string
  parents: string[]
  authorName: string
  authorEmail: string
  subject: string
  body: string
}

export function gitDir(ownerName: string): string {
  const { owner, name } = splitName(ownerName)
  return path.join(testbedEnv().gitRoot, owner, `${name}.git`)
}

/** `git log` of a branch, read straight from the emulator's bare repository (newest first). */
export async function gitLog(ownerName: string, branch: string): Promise<GitLogEntry[]> {
  const { stdout } = await execFileAsync(
    'git',
    [
      '--git-dir',
      gitDir(ownerName),
      'log',
      '-z',
      '--format=%H%x1f%P%x1f%an%x1f%ae%x1f%s%x1f%b',
      `refs/heads/${branch}`,
      '--'
    ],
    { maxBuffer: 64 * 1024 * 1024 }
  )
  return stdout
    .split('\0')
    .filter(Boolean)
    .map(rec => {
      const [sha, parents, authorName, authorEmail, subject, body] = rec.split('\x1f')
      return { sha, parents: parents ? parents.split(' ') : [], authorName, authorEmail, subject, body: body.trim() }
    })
}

/** A file's content at a branch/commit of an emulated repository, or null if absent. */
export async function gitShow(ownerName: string, rev: string, file: string): Promise<string | null> {
  try {
    const { stdout } = await execFileAsync('git', ['--git-dir', gitDir(ownerName), 'show', `${rev}:${file}`])
    return stdout
  } catch {
    return null
  }
}

export interface ImageRef {
  host: string
  repository: string
  reference: string
}

export function parseImageRef(ref: string): ImageRef {
  const slash = ref.indexOf('/')
  if (slash < 0) throw new Error(`image reference needs a registry host: ${ref}`)
  const host = ref.slice(0, slash)
  const rest = ref.slice(slash + 1)
  const at = rest.indexOf('@')
  if (at >= 0) return { host, repository: rest.slice(0, at), reference: rest.slice(at + 1) }
  const colon = rest.lastIndexOf(':')
  if (colon < 0) return { host, repository: rest, reference: 'latest' }
  return { host, repository: rest.slice(0, colon), reference: rest.slice(colon + 1) }
}

const MANIFEST_ACCEPT = [
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json'
].join(', ')

/** HEAD the manifest on the registry and return its Docker-Content-Digest (null when the tag is absent). */
export async function registryDigest(ref: string): Promise<string | null> {
  const res = await registryFetch(ref, 'HEAD')
  if (res.status === 404) return null
  if (!res.ok) throw new Error(`HEAD manifest ${ref}: ${res.status}`)
  return res.headers.get('docker-content-digest')
}

/** A request for a manifest (`host/repo:tag|@digest`) or, with `blob`, a blob of that repository. */
function registryFetch(ref: string, method: 'GET' | 'HEAD', blob?: string): Promise<Response> {
  const env = testbedEnv()
  const r = parseImageRef(ref)
  const headers: Record<string, string> = { accept: MANIFEST_ACCEPT }
  if (r.host === env.registryAuth) {
    headers.authorization = `Basic ${Buffer.from(`${env.registryUser}:${env.registryPassword}`).toString('base64')}`
  }
  const what = blob ? `blobs/${blob}` : `manifests/${r.reference}`
  return fetch(`http://${r.host}/v2/${r.repository}/${what}`, { method, headers })
}

/** The manifest or index a reference names, as the registry serves it. */
export async function registryManifest<T = Record<string, unknown>>(ref: string): Promise<T> {
  const res = await registryFetch(ref, 'GET')
  if (!res.ok) throw new Error(`GET manifest ${ref}: ${res.status}`)
  return (await res.json()) as T
}

/** A blob (config or layer) of the repository `ref` names. */
export async function registryBlob(ref: string, digest: string): Promise<Buffer> {
  const res = await registryFetch(ref, 'GET', digest)
  if (!res.ok) throw new Error(`GET blob ${digest} of ${ref}: ${res.status}`)
  return Buffer.from(await res.arrayBuffer())
}

/** Run the system kubectl against the test bed's cluster. */
export async function kubectl(
  args: string[],
  opts: { timeoutMs?: number; env?: Record<string, string> } = {}
): Promise<{ code: number; stdout: string; stderr: string }> {
  const kubeconfig = testbedKubeconfigFile()
  try {
    const { stdout, stderr } = await execFileAsync('/usr/bin/kubectl', ['--kubeconfig', kubeconfig, ...args], {
      env: { ...process.env, ...opts.env },
      timeout: opts.timeoutMs ?? 120000,
      maxBuffer: 64 * 1024 * 1024
    })
    return { code: 0, stdout, stderr }
  } catch (e) {
    const err = e as { code?: number | string; stdout?: string; stderr?: string }
    return {
      code: typeof err.code === 'number' ? err.code : 1,
      stdout: err.stdout ?? '',
      stderr: err.stderr ?? String(e)
    }
  }
}

/** Poll `fn` until it returns a value other than undefined/false, or fail after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined | false>,
  opts: { timeoutMs?: number; intervalMs?: number } = {}
): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? 60000)
  let last: unknown
  for (;;) {
    try {
      const v = await fn()
      if (v !== undefined && v !== false) return v as T
    } catch (e) {
      last = e
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`)
    }
    await new Promise(r => setTimeout(r, opts.intervalMs ?? 250))
  }
}
