// GitHub as it really answers: each test turns on one of the emulator's quirks (test/testbed/github-emulator/
// quirks.ts), first proves the quirk is on with a raw request (so the test fails against the kinder
// default), then shows the env-repo stage copes. Quirks of REST's Git data calls are met on a GitHub
// without GraphQL (withoutGraphQL), where the stage uses them; the GraphQL path has its own tests
// (github-graphql.test.ts).
import { afterEach, describe, expect, it } from '@jest/globals'
import { deployment, envRepos, RUN_CONTEXT as context } from '../../test/helpers/env-repo.js'
import { RecordingHost } from '../../test/helpers/recording-host.js'
import {
  clearFaults,
  emulatorRequests,
  githubRequest,
  injectFaults,
  registerRepo,
  testbedEnv,
  withoutGraphQL,
  type RequestLogEntry
} from '../../test/helpers/testbed.js'
import { parseConfig, type RawInputs } from '../../src/config/index.js'
import {
  BranchRuleError,
  EditConflictError,
  EnvRepoEmptyError,
  EnvRepository,
  EnvTokenError,
  MAX_ATTEMPTS,
  type ImageEdit
} from '../../src/gitops/index.js'
import { DeploymentRecorder } from '../../src/report/deployments.js'

const bed = testbedEnv()
const OWNER = 'quirks-it'
const IMAGE = 'registry.local:5000/team/api'
const SLOW = 120_000
const FAST = { retryBaseMs: 20, unsureWaitMs: 100 }
const { createRepo, configFor, open, ...repos } = envRepos(OWNER, { image: IMAGE, tag: '2.0' }, FAST)
const git = (name: string, ...args: string[]): string => repos.git(name, ...args).trim()

function editFor(tag: string): ImageEdit {
  const config = configFor('unused')
  return { repository: config.repository, image: IMAGE, tag, digest: '', pin: 'tag' }
}

async function requestsOf(name: string): Promise<RequestLogEntry[]> {
  return (await emulatorRequests()).filter(entry => entry.path.includes(`/repos/${OWNER}/${name}/`))
}

// Faults are global to the emulator: none may outlive its test.
afterEach(clearFaults)

describe('1. base_tree is a tree SHA', () => {
  it(
    'a tree read by commit SHA echoes that SHA and base_tree must be a tree: the commit still lands',
    async () => {
      await withoutGraphQL()
      const repo = await createRepo(
        { 'deploy.yaml': deployment(`${IMAGE}:1.0`) },
        {
          treeEchoesRequestedSha: true,
          strictBaseTree: true
        }
      )
      const head = git(repo, 'rev-parse', 'main')
      const echoed = await githubRequest<{ sha: string }>('GET', `/repos/${OWNER}/${repo}/git/trees/${head}`)
      expect(echoed.body.sha).toBe(head) // the quirk is on

      const commit = await (await open(repo)).commit(editFor('2.0'), 'deploy')
      expect(git(repo, 'rev-parse', 'main')).toBe(commit?.sha)
      const treeWrite = (await requestsOf(repo)).find(e => e.method === 'POST' && e.path.endsWith('/git/trees'))
      expect((treeWrite?.body as { base_tree: string }).base_tree).toBe(git(repo, 'rev-parse', `${head}^{tree}`))
    },
    SLOW
  )
})

describe('2. ref update failures', () => {
  it(
    'lost races answered "Reference cannot be updated" are re-read and re-applied: 3 runs, 3 commits',
    async () => {
      await withoutGraphQL()
      const images = Array.from({ length: 3 }, (_, i) => `${IMAGE}-${i}`)
      const repo = await createRepo(
        Object.fromEntries(images.map((image, i) => [`d${i}.yaml`, deployment(`${image}:1.0`)])),
        {
          refRaces: { windowMs: 200 }
        }
      )
      const runs = await Promise.all(images.map(image => open(repo, { image })))
      const commits = await Promise.all(
        runs.map((env, i) =>
          env.commit(
            { ...editFor('2.0'), image: images[i], repository: configFor(repo, { image: images[i] }).repository },
            `deploy ${i}`
          )
        )
      )
      expect(commits.every(commit => commit !== undefined)).toBe(true)
      expect(git(repo, 'rev-list', '--count', 'main')).toBe('4')
      const lost = (await requestsOf(repo)).filter(e => e.method === 'PATCH' && e.status === 422)
      expect(lost.length).toBeGreaterThan(0) // the quirk answered some runs
      for (let i = 0; i < images.length; i++) expect(git(repo, 'show', `main:d${i}.yaml`)).toContain(`${images[i]}:2.0`)
    },
    SLOW
  )

  it(
    'a branch that moved at every attempt: EditConflictError after MAX_ATTEMPTS, nothing committed',
    async () => {
      await withoutGraphQL()
      const repo = await createRepo({ 'deploy.yaml': deployment(`${IMAGE}:1.0`) })
      await injectFaults({
        kind: '5xx',
        status: 422,
        body: {
          message: 'Update is not a fast forward',
          documentation_url: 'https://docs.github.com/rest/git/refs#update-a-reference'
        },
        count: MAX_ATTEMPTS,
        match: { method: 'PATCH', pathRegex: repo }
      })
      const env = await EnvRepository.open(configFor(repo), new RecordingHost(), { ...FAST, random: () => 0 })
      const failure = env.commit(editFor('2.0'), 'deploy')
      await expect(failure).rejects.toBeInstanceOf(EditConflictError)
      await expect(failure).rejects.toMatchObject({
        attempts: MAX_ATTEMPTS,
        message: `${OWNER}/${repo}@main kept moving: gave up after ${MAX_ATTEMPTS} attempts to commit`
      })
      expect(git(repo, 'rev-list', '--count', 'main')).toBe('1')
    },
    SLOW
  )

  it(
    'a ref update that landed but answered 502: the branch is read, our commit found, no retry',
    async () => {
      await withoutGraphQL()
      const repo = await createRepo({ 'deploy.yaml': deployment(`${IMAGE}:1.0`) })
      await injectFaults({ kind: 'handle-then-fail', count: 4, match: { method: 'PATCH', pathRegex: repo } })
      const commit = await (await open(repo)).commit(editFor('2.0'), 'deploy')
      expect(commit).toBeDefined()
      expect(git(repo, 'rev-parse', 'main')).toBe(commit?.sha)
      expect(git(repo, 'rev-list', '--count', 'main')).toBe('2')
      const patches = (await requestsOf(repo)).filter(e => e.method === 'PATCH')
      expect(patches.map(e => [e.status, e.fault])).toEqual([[502, 'handle-then-fail']])
    },
    SLOW
  )

  it(
    '"Object does not exist" (replication lag) is retried, not read as a deleted branch',
    async () => {
      await withoutGraphQL()
      const repo = await createRepo({ 'deploy.yaml': deployment(`${IMAGE}:1.0`) }, { replicationLagMs: 400 })
      const commit = await (await open(repo)).commit(editFor('2.0'), 'deploy')
      expect(git(repo, 'rev-parse', 'main')).toBe(commit?.sha)
      const patches = (await requestsOf(repo)).filter(e => e.method === 'PATCH')
      expect(patches[0].status).toBe(422) // the quirk answered the first try
      expect(patches[patches.length - 1].status).toBe(200)
    },
    SLOW
  )
})

describe("3. GitHub's reason and the permission per endpoint", () => {
  it(
    "pull requests read-only: the error names pull-requests: write and keeps GitHub's message",
    async () => {
      const repo = await createRepo(
        { 'deploy.yaml': deployment(`${IMAGE}:1.0`) },
        {
          permissions: { contents: 'write', pull_requests: 'read' }
        }
      )
      const env = await open(repo, { 'commit-mode': 'pull-request' })
      await expect(env.propose(editFor('2.0'), 'deploy')).rejects.toThrow(
        `env-token may not open pull requests in ${OWNER}/${repo}: it needs pull-requests: write (GitHub: "Resource not accessible by integration")`
      )
    },
    SLOW
  )

  it(
    '"Actions may not create pull requests": says which setting, not which permission',
    async () => {
      const repo = await createRepo(
        { 'deploy.yaml': deployment(`${IMAGE}:1.0`) },
        { actionsMayNotCreatePullRequests: true }
      )
      const env = await open(repo, { 'commit-mode': 'pull-request' })
      const failure = env.propose(editFor('2.0'), 'deploy')
      await expect(failure).rejects.toThrow('Allow GitHub Actions to create and approve pull requests')
      await expect(failure).rejects.toThrow('GitHub Actions is not permitted to create or approve pull requests.')
    },
    SLOW
  )

  it(
    'SAML single sign-on not authorized: said at open',
    async () => {
      const repo = await createRepo({ 'deploy.yaml': deployment(`${IMAGE}:1.0`) }, { samlUnauthorized: true })
      const saml = open(repo)
      await expect(saml).rejects.toBeInstanceOf(EnvTokenError)
      await expect(saml).rejects.toThrow(`env-token is not authorized for the SAML single sign-on of ${OWNER}`)
    },
    SLOW
  )

  it(
    "a read-only token: the write names contents: write and GitHub's reason; nothing committed",
    async () => {
      const repo = await createRepo({ 'deploy.yaml': deployment(`${IMAGE}:1.0`) })
      const env = await open(repo, { 'env-token': bed.githubReadonlyToken })
      await expect(env.commit(editFor('2.0'), 'deploy')).rejects.toThrow(
        `env-token may not write commits in ${OWNER}/${repo}: it needs contents: write (GitHub: "Resource not accessible by integration")`
      )
      expect(git(repo, 'rev-list', '--count', 'main')).toBe('1')
    },
    SLOW
  )
})

describe('4. branch rules before the build', () => {
  it(
    'a branch requiring pull requests, checks and signatures fails a push-mode open, naming each rule',
    async () => {
      // REST: commits it makes are not signed (through GraphQL, GitHub signs a GitHub App token's commits)
      await withoutGraphQL()
      const repo = await createRepo(
        { 'deploy.yaml': deployment(`${IMAGE}:1.0`) },
        {
          rules: { main: { pullRequest: true, statusChecks: ['ci'], signatures: true } }
        }
      )
      const rules = await githubRequest<unknown[]>('GET', `/repos/${OWNER}/${repo}/rules/branches/main`)
      expect(rules.body).toHaveLength(3) // the quirk is on
      const failure = open(repo)
      await expect(failure).rejects.toBeInstanceOf(BranchRuleError)
      await expect(failure).rejects.toMatchObject({
        rules: [
          'requires pull requests (ruleset)',
          'requires status checks "ci" (ruleset)',
          'requires signed commits (ruleset)'
        ]
      })
      await expect(failure).rejects.toThrow(
        `env-branch "main" of ${OWNER}/${repo} requires pull requests (ruleset), requires status checks "ci" (ruleset), requires signed commits (ruleset)`
      )
      await expect(failure).rejects.toThrow('use commit-mode: pull-request')
      // pull-request mode is what the rules want
      const proposal = await (await open(repo, { 'commit-mode': 'pull-request' })).propose(editFor('2.0'), 'deploy')
      expect(proposal.url).toContain('/pull/')
      expect(git(repo, 'rev-list', '--count', 'main')).toBe('1')
    },
    SLOW
  )
})

describe('5. read only what env-path needs', () => {
  it(
    'walks down to env-path and reads that subtree; a truncated read is completed level by level',
    async () => {
      await withoutGraphQL()
      const files: Record<string, string> = { 'apps/web/deploy.yaml': deployment(`${IMAGE}:1.0`) }
      for (let i = 0; i < 12; i++) files[`other/f${i}.yaml`] = deployment(`${IMAGE}:1.0`)
      files['apps/web/nested/more/x.yaml'] = deployment(`${IMAGE}:1.0`)
      const repo = await createRepo(files, { treeEntryLimit: 3 })
      const root = git(repo, 'rev-parse', 'main^{tree}')
      const truncated = await githubRequest<{ truncated: boolean }>(
        'GET',
        `/repos/${OWNER}/${repo}/git/trees/${root}?recursive=1`
      )
      expect(truncated.body.truncated).toBe(true) // the quirk is on

      const commit = await (await open(repo, { 'env-path': 'apps/web' })).commit(editFor('2.0'), 'deploy')
      expect(commit?.changes.map(c => c.path).sort()).toEqual(['apps/web/deploy.yaml', 'apps/web/nested/more/x.yaml'])
      expect(git(repo, 'show', 'main:other/f0.yaml')).toContain(`${IMAGE}:1.0`)
      const reads = (await requestsOf(repo)).filter(e => e.method === 'GET' && e.path.endsWith(`/git/trees/${root}`))
      expect(reads.filter(e => e.query.includes('recursive'))).toHaveLength(1) // ours, above; none by the stage
    },
    SLOW
  )

  it(
    'files under .github/ are edited only when env-path names them',
    async () => {
      const repo = await createRepo({
        'apps/deploy.yaml': deployment(`${IMAGE}:1.0`),
        '.github/workflows/smoke.yaml': deployment(`${IMAGE}:1.0`)
      })
      const commit = await (await open(repo)).commit(editFor('2.0'), 'deploy')
      expect(commit?.changes.map(c => c.path)).toEqual(['apps/deploy.yaml'])
      expect(git(repo, 'show', 'main:.github/workflows/smoke.yaml')).toContain(`${IMAGE}:1.0`)
      const named = await (await open(repo, { 'env-path': '.github/workflows' })).commit(editFor('3.0'), 'deploy')
      expect(named?.changes.map(c => c.path)).toEqual(['.github/workflows/smoke.yaml'])
    },
    SLOW
  )
})

describe('6. eventual consistency and empty repositories', () => {
  it(
    'a pull request right after its branch was created ("head invalid") is retried',
    async () => {
      const repo = await createRepo({ 'deploy.yaml': deployment(`${IMAGE}:1.0`) }, { replicationLagMs: 400 })
      const proposal = await (await open(repo, { 'commit-mode': 'pull-request' })).propose(editFor('2.0'), 'deploy')
      expect(proposal.number).toBeGreaterThan(0)
      const creates = (await requestsOf(repo)).filter(e => e.method === 'POST' && e.path.endsWith('/pulls'))
      expect(creates[0].status).toBe(422) // the quirk answered the first try
      expect(creates[creates.length - 1].status).toBe(201)
    },
    SLOW
  )

  it(
    'an empty repository (409 "Git Repository is empty.") has its own message',
    async () => {
      const repo = `empty-${Date.now().toString(36)}`
      await registerRepo(`${OWNER}/${repo}`)
      const empty = open(repo)
      await expect(empty).rejects.toBeInstanceOf(EnvRepoEmptyError)
      await expect(empty).rejects.toThrow(`env-repo ${OWNER}/${repo} is empty`)
    },
    SLOW
  )
})

describe('7. answers that are not GitHub', () => {
  it(
    'an HTML page where JSON was expected: an error naming GitHub, not an undefined field',
    async () => {
      await withoutGraphQL()
      const repo = await createRepo({ 'deploy.yaml': deployment(`${IMAGE}:1.0`) })
      await injectFaults({
        kind: '5xx',
        status: 200,
        body: '<!DOCTYPE html><html><body>Sign in to the proxy</body></html>',
        headers: { 'content-type': 'text/html' },
        match: { method: 'GET', pathRegex: `${repo}$` }
      })
      await expect(open(repo)).rejects.toThrow(
        `GitHub (${bed.githubApiUrl}) answered GET /repos/{owner}/{repo} with 200 and a text/html body, not JSON: <!DOCTYPE html>`
      )
    },
    SLOW
  )

  it(
    'a request that hangs: a timeout naming GitHub',
    async () => {
      await withoutGraphQL()
      const repo = await createRepo({ 'deploy.yaml': deployment(`${IMAGE}:1.0`) })
      await injectFaults({
        kind: 'latency',
        latencyMs: 2000,
        count: 4,
        match: { method: 'GET', pathRegex: `${repo}$` }
      })
      const config = configFor(repo)
      await expect(EnvRepository.open(config, new RecordingHost(), { ...FAST, timeoutMs: 300 })).rejects.toThrow(
        `GitHub did not answer GET ${bed.githubApiUrl}/repos/${OWNER}/${repo} within 0.3 s`
      )
    },
    SLOW
  )
})

describe('8. deployments', () => {
  async function deploymentOf(repo: string, id: number): Promise<{ production_environment: boolean }> {
    return (await githubRequest<{ production_environment: boolean }>('GET', `/repos/acme/${repo}/deployments/${id}`))
      .body
  }

  it(
    'production_environment comes from the input (default: production/prod only), and calls are retried',
    async () => {
      const repo = `app-${Date.now().toString(36)}`
      await registerRepo(`acme/${repo}`)
      const start = (environment: string, extra: RawInputs = {}) =>
        DeploymentRecorder.start(
          parseConfig(
            {
              image: IMAGE,
              build: 'false',
              apply: 'false',
              'env-repo': 'acme/env',
              'env-path': '.',
              'env-token': bed.githubToken,
              'github-token': bed.githubToken,
              'github-api-url': bed.githubApiUrl,
              environment,
              ...extra
            },
            { ...context, repository: `acme/${repo}` }
          ),
          new RecordingHost(),
          context.sha!
        )
      await injectFaults({
        kind: '5xx',
        status: 502,
        count: 1,
        match: { method: 'POST', pathRegex: `${repo}/deployments$` }
      })
      const preprod = await start('preprod')
      expect(preprod).toBeDefined() // retried after the 502
      expect((await deploymentOf(repo, preprod!.id)).production_environment).toBe(false)
      expect((await deploymentOf(repo, (await start('nonprod'))!.id)).production_environment).toBe(false)
      expect((await deploymentOf(repo, (await start('Production'))!.id)).production_environment).toBe(true)
      const forced = await start('eu-live', { 'production-environment': 'true' })
      expect((await deploymentOf(repo, forced!.id)).production_environment).toBe(true)
    },
    SLOW
  )
})
