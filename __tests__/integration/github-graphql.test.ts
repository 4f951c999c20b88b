// The env-repo stage through GitHub's GraphQL API on the test bed's emulator: one query reads the head
// and every file under env-path, one createCommitOnBranch (with expectedHeadOid) commits. Every
// document the stage sends is checked against GitHub's published schema (test/jest/openapi-fit.mjs).
// Each test first shows the emulator behaves as GitHub does where a kinder one would not.
import { afterEach, describe, expect, it } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import { deployment, envRepos, lastRequestId } from '../../test/helpers/env-repo.js'
import { RecordingHost } from '../../test/helpers/recording-host.js'
import {
  addToken,
  clearExtraTokens,
  clearFaults,
  concerns,
  emulatorRequests,
  gitDir,
  githubRequest,
  injectFaults,
  testbedEnv,
  withoutGraphQL,
  type RequestLogEntry
} from '../../test/helpers/testbed.js'
import { EditConflictError, EnvRepository, MAX_ATTEMPTS, type ImageEdit } from '../../src/gitops/index.js'

const bed = testbedEnv()
const OWNER = 'graphql-it'
const IMAGE = 'registry.local:5000/team/api'
const SLOW = 120_000
const FAST = { retryBaseMs: 20, unsureWaitMs: 100 }
const { createRepo, configFor, open, ...repos } = envRepos(OWNER, { image: IMAGE, tag: '2.0' }, FAST)
const git = (name: string, ...args: string[]): string => repos.git(name, ...args).trim()

function bytes(name: string, rev: string): Buffer {
  return execFileSync('git', ['--git-dir', gitDir(`${OWNER}/${name}`), 'show', rev])
}

function editFor(tag: string, image = IMAGE): ImageEdit {
  return { repository: configFor('unused', { image }).repository, image, tag, digest: '', pin: 'tag' }
}

async function requestsOf(name: string, since = 0): Promise<RequestLogEntry[]> {
  return (await emulatorRequests(since)).filter(entry => concerns(entry, `${OWNER}/${name}`))
}

const isMutation = (entry: RequestLogEntry): boolean =>
  entry.path === '/graphql' && JSON.stringify(entry.body).includes('createCommitOnBranch')

// Faults and extra tokens are global to the emulator: none may outlive its test.
afterEach(async () => {
  await clearFaults()
  await clearExtraTokens()
})

describe('a commit through createCommitOnBranch', () => {
  it(
    'one query reads the head and every file (deep ones in one more), one mutation commits; the bytes stay',
    async () => {
      // a BOM, CRLF line ends, a tab, non-ASCII text and no final newline: all kept byte for byte
      const odd = `\uFEFF# café ✓\r\napiVersion: v1\r\nkind: Pod\r\nmetadata:\r\n  name: odd\t# tab\r\nspec:\r\n  containers:\r\n  - name: app\r\n    image: ${IMAGE}:1.0`
      const repo = await createRepo({
        'apps/api/odd.yaml': odd,
        'apps/api/a/b/c/d/e/deep.yaml': deployment(`${IMAGE}:1.0`),
        'apps/other/deploy.yaml': deployment(`${IMAGE}:1.0`)
      })
      const parent = git(repo, 'rev-parse', 'main')
      const env = await open(repo, { 'env-path': 'apps/api' })
      const since = await lastRequestId()
      const commit = await env.commit(editFor('2.0'), 'deploy api 2.0\n\nfrom the test')

      const log = await requestsOf(repo, since)
      // files (head, tree, texts), the trees below TREE_DEPTH, the mutation; no REST call
      expect(log.map(e => `${e.method} ${e.path}`)).toEqual(['POST /graphql', 'POST /graphql', 'POST /graphql'])
      expect(log.filter(isMutation)).toHaveLength(1)
      const input = (log[2].body as { variables: { input: { expectedHeadOid: string } } }).variables.input
      expect(input.expectedHeadOid).toBe(parent)

      expect(git(repo, 'rev-parse', 'main')).toBe(commit?.sha)
      expect(git(repo, 'rev-parse', 'main^')).toBe(parent)
      expect(bytes(repo, 'main:apps/api/odd.yaml').equals(Buffer.from(odd.replace(':1.0', ':2.0'), 'utf8'))).toBe(true)
      expect(bytes(repo, 'main:apps/api/a/b/c/d/e/deep.yaml').toString()).toBe(deployment(`${IMAGE}:2.0`))
      expect(bytes(repo, 'main:apps/other/deploy.yaml').toString()).toBe(deployment(`${IMAGE}:1.0`))
      expect(git(repo, 'log', '-1', '--format=%cn|%B', 'main')).toBe('GitHub|deploy api 2.0\n\nfrom the test')
      expect(commit?.url).toMatch(new RegExp(`/${OWNER}/${repo}/commit/${commit?.sha}$`))
    },
    SLOW
  )

  it(
    'lost races answered STALE_DATA ("Expected branch to point to …") are re-read and redone: 3 runs, 3 commits',
    async () => {
      const images = Array.from({ length: 3 }, (_, i) => `${IMAGE}-${i}`)
      const repo = await createRepo(
        Object.fromEntries(images.map((image, i) => [`d${i}.yaml`, deployment(`${image}:1.0`)])),
        { refRaces: { windowMs: 200 } }
      )
      const runs = await Promise.all(images.map(image => open(repo, { image })))
      const commits = await Promise.all(runs.map((env, i) => env.commit(editFor('2.0', images[i]), `deploy ${i}`)))

      expect(commits.every(commit => commit !== undefined)).toBe(true)
      expect(git(repo, 'rev-list', '--count', 'main')).toBe('4')
      expect(git(repo, 'rev-list', '--merges', 'main')).toBe('')
      const mutations = (await requestsOf(repo)).filter(isMutation)
      const stale = mutations.filter(e => e.graphqlErrors?.includes('STALE_DATA'))
      expect(stale.length).toBeGreaterThan(0) // GitHub refused the stale heads
      expect(mutations.length - stale.length).toBe(3)
      for (let i = 0; i < images.length; i++) expect(git(repo, 'show', `main:d${i}.yaml`)).toContain(`${images[i]}:2.0`)
    },
    SLOW
  )

  it(
    'a head that moved before every mutation: EditConflictError after MAX_ATTEMPTS, nothing committed',
    async () => {
      const repo = await createRepo({ 'deploy.yaml': deployment(`${IMAGE}:1.0`) })
      const stale = {
        data: { createCommitOnBranch: null },
        errors: [
          {
            type: 'STALE_DATA',
            path: ['createCommitOnBranch'],
            message:
              'Expected branch to point to "0000000000000000000000000000000000000000" but it did not.  Pull and try again.'
          }
        ]
      }
      await injectFaults({
        kind: '5xx',
        status: 200,
        body: stale,
        count: MAX_ATTEMPTS,
        match: { method: 'POST', pathRegex: '^/graphql$', bodyRegex: `createCommitOnBranch.*${repo}` }
      })
      const env = await EnvRepository.open(configFor(repo), new RecordingHost(), { ...FAST, random: () => 0 })
      const failure = env.commit(editFor('2.0'), 'deploy')
      await expect(failure).rejects.toBeInstanceOf(EditConflictError)
      await expect(failure).rejects.toMatchObject({ attempts: MAX_ATTEMPTS })
      expect(git(repo, 'rev-list', '--count', 'main')).toBe('1')
    },
    SLOW
  )

  it(
    'a mutation that landed but answered 502: the head is read, our commit found, not made twice',
    async () => {
      const repo = await createRepo({ 'deploy.yaml': deployment(`${IMAGE}:1.0`) })
      const env = await open(repo)
      await injectFaults({
        kind: 'handle-then-fail',
        match: { method: 'POST', pathRegex: '^/graphql$', bodyRegex: `createCommitOnBranch.*${repo}` }
      })
      const commit = await env.commit(editFor('2.0'), 'deploy')
      expect(commit).toBeDefined()
      expect(git(repo, 'rev-parse', 'main')).toBe(commit?.sha)
      expect(git(repo, 'rev-list', '--count', 'main')).toBe('2')
      const mutations = (await requestsOf(repo)).filter(isMutation)
      expect(mutations.map(e => [e.status, e.fault])).toEqual([[502, 'handle-then-fail']])
    },
    SLOW
  )

  it(
    'a token without contents: write: the mutation is FORBIDDEN and the error names the permission',
    async () => {
      const repo = await createRepo({ 'deploy.yaml': deployment(`${IMAGE}:1.0`) })
      const env = await open(repo, { 'env-token': bed.githubReadonlyToken })
      await expect(env.commit(editFor('2.0'), 'deploy')).rejects.toThrow(
        `env-token may not write commits in ${OWNER}/${repo}: it needs contents: write (GitHub: "Resource not accessible by integration")`
      )
      const mutations = (await requestsOf(repo)).filter(isMutation)
      expect(mutations.map(e => e.graphqlErrors)).toEqual([['FORBIDDEN']])
      expect(git(repo, 'rev-list', '--count', 'main')).toBe('1')
    },
    SLOW
  )
})

describe("GitHub's GraphQL rate limit: HTTP 200 with errors of type RATE_LIMITED", () => {
  it(
    'a limited query waits for x-ratelimit-reset and is asked again; open and commit go through',
    async () => {
      const repo = await createRepo({ 'deploy.yaml': deployment(`${IMAGE}:1.0`) }, { graphqlRateLimited: 2 })
      const commit = await (await open(repo)).commit(editFor('2.0'), 'deploy')
      expect(git(repo, 'rev-parse', 'main')).toBe(commit?.sha)

      const asked = (await requestsOf(repo)).filter(e => e.path === '/graphql')
      expect(asked.map(e => [e.status, e.graphqlErrors])).toEqual([
        [200, ['RATE_LIMITED']],
        [200, ['RATE_LIMITED']],
        [200, undefined], // the open's query, answered
        [200, undefined], // the files
        [200, undefined] // the mutation
      ])
      // the reset is a second after each limited answer at the latest: no retry before it
      for (let i = 1; i <= 2; i++) {
        expect(Date.parse(asked[i].time) - Date.parse(asked[i - 1].time)).toBeGreaterThanOrEqual(1000)
      }
    },
    SLOW
  )

  it(
    "a limit lasting longer than the run waits fails naming GitHub's rate limit, nothing committed",
    async () => {
      const repo = await createRepo({ 'deploy.yaml': deployment(`${IMAGE}:1.0`) }, { graphqlRateLimited: 1 })
      await expect(open(repo, {}, { maxRateLimitWaitMs: 100 })).rejects.toThrow(
        /^GitHub rate limit on POST \/graphql: retry after \d+ s, longer than the 0\.1 s this run waits$/
      )
      expect((await requestsOf(repo)).map(e => e.graphqlErrors)).toEqual([['RATE_LIMITED']])
      expect(git(repo, 'rev-list', '--count', 'main')).toBe('1')
    },
    SLOW
  )

  it(
    "a limit still on after every wait fails naming GitHub's rate limit and GitHub's message",
    async () => {
      const repo = await createRepo({ 'deploy.yaml': deployment(`${IMAGE}:1.0`) }, { graphqlRateLimited: 4 })
      await expect(open(repo)).rejects.toThrow(
        /^GitHub rate limit on POST \/graphql \(GitHub: "API rate limit exceeded for user ID \d+\."\)$/
      )
      const asked = (await requestsOf(repo)).map(e => e.graphqlErrors)
      expect(asked).toEqual([['RATE_LIMITED'], ['RATE_LIMITED'], ['RATE_LIMITED'], ['RATE_LIMITED']])
    },
    SLOW
  )
})

describe('GitHub without GraphQL', () => {
  it(
    'the endpoint answers 404: REST opens, reads and commits (tree, commit, ref), GraphQL is not asked again',
    async () => {
      const repo = await createRepo({ 'deploy.yaml': deployment(`${IMAGE}:1.0`) })
      await withoutGraphQL()
      const commit = await (await open(repo)).commit(editFor('2.0'), 'deploy')
      expect(git(repo, 'rev-parse', 'main')).toBe(commit?.sha)
      const log = await emulatorRequests()
      const asked = log.filter(e => e.path === '/graphql' && JSON.stringify(e.body).includes(repo))
      expect(asked.map(e => e.status)).toEqual([404]) // the open's query only
      const writes = (await requestsOf(repo)).filter(e => e.method !== 'GET' && e.path !== '/graphql')
      expect(writes.map(e => `${e.method} ${e.path.replace(/^.*\/git\//, '')}`)).toEqual([
        'POST trees',
        'POST commits',
        'PATCH refs/heads/main'
      ])
    },
    SLOW
  )
})

describe('a branch requiring signed commits', () => {
  it(
    'a GitHub App token (ghs_) commits through GraphQL, which GitHub signs; a personal token, or REST, is stopped at open',
    async () => {
      const repo = await createRepo(
        { 'deploy.yaml': deployment(`${IMAGE}:1.0`) },
        { rules: { main: { signatures: true } } }
      )
      const head = git(repo, 'rev-parse', 'main')
      const made = await githubRequest<{ sha: string }>('POST', `/repos/${OWNER}/${repo}/git/commits`, {
        body: { message: 'unsigned', tree: git(repo, 'rev-parse', 'main^{tree}'), parents: [head] }
      })
      const unsigned = await githubRequest<{ message: string }>(
        'PATCH',
        `/repos/${OWNER}/${repo}/git/refs/heads/main`,
        {
          body: { sha: made.body.sha }
        }
      )
      expect([unsigned.status, unsigned.body.message]).toEqual([422, expect.stringContaining('verified signatures')])
      const rules = await githubRequest<Array<{ type: string }>>('GET', `/repos/${OWNER}/${repo}/rules/branches/main`)
      expect(rules.body.map(rule => rule.type)).toEqual(['required_signatures']) // the quirk is on

      // the test bed's token is a GitHub App installation token (ghs_, github-actions[bot]), like GITHUB_TOKEN
      expect(bed.githubToken.startsWith('ghs_')).toBe(true)
      const personal = `ghp_${'x'.repeat(36)}`
      await addToken(personal, { [`${OWNER}/*`]: 'write' }, 'octocat')
      await expect(open(repo, { 'env-token': personal })).rejects.toThrow(
        `env-branch "main" of ${OWNER}/${repo} requires signed commits (ruleset): a push-mode run cannot commit to it`
      )
      const commit = await (await open(repo)).commit(editFor('2.0'), 'deploy')
      expect(git(repo, 'rev-parse', 'main')).toBe(commit?.sha)
      expect(git(repo, 'log', '-1', '--format=%an', 'main')).toBe('github-actions[bot]')

      await withoutGraphQL()
      await expect(open(repo)).rejects.toThrow('requires signed commits (ruleset)')
    },
    SLOW
  )
})
