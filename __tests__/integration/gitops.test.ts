// Stage 2 against the test bed's GitHub emulator (real bare git repositories behind GitHub's REST
// shapes): byte-exact commits, races, faults, errors, revert and pull requests.
import { afterEach, describe, expect, it } from '@jest/globals'
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { envRepos, lastRequestId } from '../../test/helpers/env-repo.js'
import {
  clearFaults,
  createRepo as createTestbedRepo,
  emulatorRequests,
  injectFaults,
  pendingFaults,
  testbedEnv,
  withoutGraphQL
} from '../../test/helpers/testbed.js'
import {
  EnvBranchNotFoundError,
  EnvPathNotFoundError,
  EnvRepoNotFoundError,
  EnvTokenError,
  NoReferenceError,
  type ImageEdit
} from '../../src/gitops/index.js'

const bed = testbedEnv()
const OWNER = 'gitops-it'
const FAST = { retryBaseMs: 20 }
const { createRepo, git, configFor, open } = envRepos(
  OWNER,
  { image: 'registry.local:5000/team/api', tag: '1.10' },
  FAST
)
// Faults are global to the emulator: none may outlive its test.
afterEach(clearFaults)
const SLOW = 120_000

const NEW = 'sha256:11507a0e2f5e69d5dfa40a62a1bd7b6ee57e6bcd85c67c9b8431b36fff21c437'

function editFor(image: string, tag: string, pin: ImageEdit['pin'] = 'tag', digest = NEW): ImageEdit {
  const config = configFor('unused', { image, tag })
  return { repository: config.repository, image, tag, digest, pin }
}

const deployment = (images: string[]): string =>
  `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app # comment\nspec:\n  template:\n    spec:\n      containers:\n${images
    .map((image, i) => `      - name: c${i}\n        image: ${image}\n`)
    .join('')}`

describe('golden corpus through the API', () => {
  const fixtures = path.join(import.meta.dirname, '../fixtures/gitops')
  const cases = readdirSync(fixtures, { withFileTypes: true })
    .filter(entry => entry.isDirectory())
    .map(entry => entry.name)

  it.each(cases)(
    '%s: the commit holds the expected bytes and its diff touches only image lines',
    async name => {
      const dir = path.join(fixtures, name)
      const spec = JSON.parse(readFileSync(path.join(dir, 'edit.json'), 'utf8'))
      const inputs = readdirSync(path.join(dir, 'input'), { recursive: true, withFileTypes: true })
        .filter(entry => entry.isFile())
        .map(entry => path.relative(path.join(dir, 'input'), path.join(entry.parentPath, entry.name)))
      const files = Object.fromEntries(inputs.map(p => [p, readFileSync(path.join(dir, 'input', p), 'utf8')]))
      const repo = await createRepo({ ...files, 'README.md': '# env\n' })
      const env = await open(repo, { image: spec.image, tag: spec.tag })
      const commit = await env.commit(editFor(spec.image, spec.tag, spec.pin, spec.digest), 'deploy')

      if (spec.changes === 0) {
        expect(commit).toBeUndefined()
        expect(git(repo, 'rev-list', '--count', 'main').trim()).toBe('1')
        return
      }
      expect(commit).toBeDefined()
      for (const p of inputs) {
        expect(git(repo, 'show', `main:${p}`)).toBe(readFileSync(path.join(dir, 'expected', p), 'utf8'))
      }
      // every removed line of the commit is a line the stage reported changing
      const removed = git(repo, 'diff', '-U0', `${commit!.parentSha}`, commit!.sha)
        .split('\n')
        .filter(line => line.startsWith('-') && !line.startsWith('---'))
      expect(removed.length).toBeLessThanOrEqual(commit!.changes.length * 2)
      for (const line of removed) expect(line).toMatch(/image|newTag|digest|tag|ref|version|sum|pin|team\/api/)
      expect(git(repo, 'diff', '--name-only', commit!.parentSha, commit!.sha).trim().split('\n').sort()).toEqual(
        [...new Set(commit!.changes.map(c => c.path))].sort()
      )
    },
    SLOW
  )
})

describe('commit', () => {
  it(
    'without GraphQL: reads the commit and the trees down to env-path, writes tree, commit and ref; a second run is unchanged',
    async () => {
      await withoutGraphQL()
      const repo = await createRepo({
        'apps/api/deploy.yaml': deployment(['registry.local:5000/team/api:1.9']),
        'apps/api/kustomization.yaml': 'resources:\n- deploy.yaml\n',
        'apps/other/deploy.yaml': deployment(['registry.local:5000/team/api:1.0'])
      })
      const env = await open(repo, { 'env-path': 'apps/api' })
      const edit = editFor('registry.local:5000/team/api', '1.10', 'tag+digest')
      const since = await lastRequestId()
      const commit = await env.commit(edit, 'deploy api')
      const log = (await emulatorRequests(since)).filter(r => r.path.includes(repo))
      expect(log.map(r => `${r.method} ${r.path.replace(/^.*\/git\//, '').replace(/[0-9a-f]{40}/, 'SHA')}`)).toEqual([
        'GET ref/heads/main',
        'GET commits/SHA',
        'GET trees/SHA', // root
        'GET trees/SHA', // apps
        'GET trees/SHA', // apps/api, recursive
        'GET blobs/SHA',
        'GET blobs/SHA',
        'POST trees',
        'POST commits',
        'PATCH refs/heads/main'
      ])
      expect(commit?.changes.map(({ lines: _, ...change }) => change)).toEqual([
        {
          path: 'apps/api/deploy.yaml',
          line: 10,
          previous: 'registry.local:5000/team/api:1.9',
          next: `registry.local:5000/team/api:1.10@${NEW}`,
          location: '0:spec/template/spec/containers/0/image'
        }
      ])
      expect(commit?.previousImage).toBe('registry.local:5000/team/api:1.9')
      expect(git(repo, 'rev-parse', 'main').trim()).toBe(commit?.sha)
      expect(git(repo, 'rev-parse', 'main^').trim()).toBe(commit?.parentSha)
      expect(git(repo, 'show', 'main:apps/other/deploy.yaml')).toContain('api:1.0\n')
      expect(commit?.url).toMatch(new RegExp(`/${OWNER}/${repo}/commit/${commit?.sha}$`))

      expect(await env.commit(edit, 'deploy api again')).toBeUndefined()
      expect(git(repo, 'rev-list', '--count', 'main').trim()).toBe('2')
    },
    SLOW
  )

  it(
    'plan writes nothing and shows the diff',
    async () => {
      const repo = await createRepo({ 'a.yaml': deployment(['registry.local:5000/team/api:1.9']) })
      const env = await open(repo)
      const plan = await env.plan(editFor('registry.local:5000/team/api', '1.10'))
      expect(plan.diff).toContain(
        '-        image: registry.local:5000/team/api:1.9\n+        image: registry.local:5000/team/api:1.10\n'
      )
      expect(plan.previousImage).toBe('registry.local:5000/team/api:1.9')
      expect(plan.files[0].content).toContain('api:1.10\n')
      expect(git(repo, 'rev-list', '--count', 'main').trim()).toBe('1')
    },
    SLOW
  )

  it(
    'no reference under env-path: an error listing the files and their images, nothing committed',
    async () => {
      const repo = await createRepo({
        'apps/web/deploy.yaml': deployment(['nginx:1.27', 'quay.io/acme/web:2']),
        'apps/web/chart/templates/d.yaml': 'image: {{ .Values.image }}\n  x: [\n'
      })
      const env = await open(repo, { 'env-path': 'apps/web' })
      const failure = env.commit(editFor('registry.local:5000/team/api', '1.10'), 'deploy')
      await expect(failure).rejects.toBeInstanceOf(NoReferenceError)
      await expect(failure).rejects.toThrow(/no reference to registry.local:5000\/team\/api found/)
      await expect(failure).rejects.toThrow('apps/web/deploy.yaml: docker.io/library/nginx, quay.io/acme/web')
      await expect(failure).rejects.toThrow('apps/web/chart/templates/d.yaml: not YAML')
      expect(git(repo, 'rev-list', '--count', 'main').trim()).toBe('1')
    },
    SLOW
  )

  it(
    'uses the default branch when env-branch is empty, and a named branch otherwise',
    async () => {
      const repo = `env-${Date.now().toString(36)}-branch`
      await createTestbedRepo(
        `${OWNER}/${repo}`,
        { 'a.yaml': deployment(['registry.local:5000/team/api:1.9']) },
        { defaultBranch: 'trunk' }
      )
      const onDefault = await open(repo)
      const commit = await onDefault.commit(editFor('registry.local:5000/team/api', '1.10'), 'deploy')
      expect(git(repo, 'rev-parse', 'trunk').trim()).toBe(commit?.sha)
      const missing = open(repo, { 'env-branch': 'production' })
      await expect(missing).rejects.toBeInstanceOf(EnvBranchNotFoundError)
      await expect(missing).rejects.toThrow('env-branch "production" not found')
    },
    SLOW
  )
})

describe('races', () => {
  it(
    '20 concurrent runs, each updating a different image of one file: 20 commits, all kept, linear',
    async () => {
      const images = Array.from({ length: 20 }, (_, i) => `registry.local:5000/team/app-${i}`)
      const repo = await createRepo({ 'apps/deploy.yaml': deployment(images.map(image => `${image}:1.0`)) })
      const runs = await Promise.all(images.map(image => open(repo, { image })))
      const commits = await Promise.all(runs.map((env, i) => env.commit(editFor(images[i], '2.0'), `deploy ${i}`)))

      expect(commits.every(commit => commit !== undefined)).toBe(true)
      expect(git(repo, 'rev-list', '--count', 'main').trim()).toBe('21')
      expect(git(repo, 'rev-list', '--merges', 'main').trim()).toBe('')
      const final = git(repo, 'show', 'main:apps/deploy.yaml')
      expect(final).toBe(deployment(images.map(image => `${image}:2.0`)))
      // each run reports its own change, 1.0 → 2.0
      commits.forEach((commit, i) => {
        expect(commit?.changes.map(c => [c.previous, c.next])).toEqual([[`${images[i]}:1.0`, `${images[i]}:2.0`]])
      })
    },
    SLOW
  )

  it(
    '2 concurrent runs on the same image: the repo ends at one value and both report what they did',
    async () => {
      const image = 'registry.local:5000/team/api'
      const repo = await createRepo({ 'deploy.yaml': deployment([`${image}:1.0`]) })
      const [a, b] = await Promise.all([open(repo), open(repo)])
      const results = await Promise.all([a.commit(editFor(image, '2.0'), 'a'), b.commit(editFor(image, '3.0'), 'b')])
      const final = git(repo, 'show', 'main:deploy.yaml')
      const head = git(repo, 'rev-parse', 'main').trim()
      expect([`${image}:2.0`, `${image}:3.0`].some(ref => final.includes(`image: ${ref}\n`))).toBe(true)
      for (const commit of results) {
        if (!commit) continue
        const [{ previous, next }] = commit.changes
        expect(git(repo, 'show', `${commit.parentSha}:deploy.yaml`)).toContain(`image: ${previous}\n`)
        expect(git(repo, 'show', `${commit.sha}:deploy.yaml`)).toContain(`image: ${next}\n`)
        expect(git(repo, 'rev-parse', `${commit.sha}^`).trim()).toBe(commit.parentSha)
      }
      const last = results.find(commit => commit?.sha === head)
      expect(final).toContain(`image: ${last?.changes[0].next}\n`)
      expect(git(repo, 'rev-list', '--merges', 'main').trim()).toBe('')
    },
    SLOW
  )
})

describe('faults and errors', () => {
  it(
    '5xx, 429 and a secondary rate limit on the next requests: still exactly one commit',
    async () => {
      const repo = await createRepo({ 'deploy.yaml': deployment(['registry.local:5000/team/api:1.9']) })
      const env = await open(repo)
      // GraphQL's queries and its mutation are all POST /graphql, told apart by their bodies
      const graphql = { method: 'POST', pathRegex: '^/graphql$' }
      await injectFaults([
        { kind: '5xx', status: 502, count: 2, match: { ...graphql, bodyRegex: repo } },
        { kind: '429', retryAfter: 1, count: 1, match: { ...graphql, bodyRegex: repo } },
        { kind: 'secondary-rate-limit', retryAfter: 1, count: 1, match: { ...graphql, bodyRegex: repo } },
        { kind: '5xx', status: 503, count: 1, match: { ...graphql, bodyRegex: `createCommitOnBranch.*${repo}` } }
      ])
      const commit = await env.commit(editFor('registry.local:5000/team/api', '1.10'), 'deploy')
      expect(commit).toBeDefined()
      expect(git(repo, 'rev-list', '--count', 'main').trim()).toBe('2')
      expect(git(repo, 'rev-parse', 'main').trim()).toBe(commit?.sha)
      expect(await pendingFaults()).toEqual([])
    },
    SLOW
  )

  it(
    'a read-only token: a clear 403 message and no commit',
    async () => {
      const repo = await createRepo({ 'deploy.yaml': deployment(['registry.local:5000/team/api:1.9']) })
      const env = await open(repo, { 'env-token': bed.githubReadonlyToken })
      const failure = env.commit(editFor('registry.local:5000/team/api', '1.10'), 'deploy')
      await expect(failure).rejects.toMatchObject({ name: 'EnvTokenError', status: 403 })
      await expect(failure).rejects.toThrow(
        `env-token may not write commits in ${OWNER}/${repo}: it needs contents: write`
      )
      expect(git(repo, 'rev-list', '--count', 'main').trim()).toBe('1')
    },
    SLOW
  )

  it(
    'names what is wrong: token, repository, path',
    async () => {
      const repo = await createRepo({ 'apps/a.yaml': deployment(['registry.local:5000/team/api:1.9']) })
      const badToken = open(repo, { 'env-token': 'ghs_not_a_token' })
      await expect(badToken).rejects.toBeInstanceOf(EnvTokenError)
      await expect(badToken).rejects.toMatchObject({ status: 401, message: 'env-token is not valid (401)' })
      const missingRepo = open(`${repo}-missing`)
      await expect(missingRepo).rejects.toBeInstanceOf(EnvRepoNotFoundError)
      await expect(missingRepo).rejects.toThrow(`env-repo ${OWNER}/${repo}-missing not found`)
      const env = await open(repo, { 'env-path': 'apps\nclusters/prod' })
      const missingPath = env.plan(editFor('registry.local:5000/team/api', '1.10'))
      await expect(missingPath).rejects.toBeInstanceOf(EnvPathNotFoundError)
      await expect(missingPath).rejects.toThrow(`env-path "clusters/prod" not found in ${OWNER}/${repo}@main`)
    },
    SLOW
  )
})

describe('revert', () => {
  it(
    'puts back only what our commit changed, keeping changes made since',
    async () => {
      const image = 'registry.local:5000/team/api'
      const repo = await createRepo({
        'a.yaml': deployment([`${image}:1.0`, 'nginx:1.27']),
        'b.yaml': deployment([`${image}:1.0`])
      })
      const env = await open(repo)
      const commit = await env.commit(editFor(image, '2.0'), 'deploy 2.0')
      // someone else edits a.yaml after us: another line, and b.yaml's reference
      const other = await open(repo, { image: 'nginx' })
      await other.commit(editFor('nginx', '1.28'), 'nginx 1.28')
      const b = await open(repo, { 'env-path': 'b.yaml' })
      await b.commit(editFor(image, '5.0'), 'b to 5.0')

      const reverted = await env.revert(commit!, 'revert')
      expect(reverted).toBeDefined()
      expect(git(repo, 'show', 'main:a.yaml')).toBe(deployment([`${image}:1.0`, 'nginx:1.28']))
      expect(git(repo, 'show', 'main:b.yaml')).toBe(deployment([`${image}:5.0`]))
      expect(git(repo, 'rev-list', '--count', 'main').trim()).toBe('5')
      expect(await env.revert(commit!, 'revert again')).toBeUndefined()
    },
    SLOW
  )
})

describe('pull-request mode', () => {
  it(
    'one branch and one pull request, updated by the next run',
    async () => {
      const image = 'registry.local:5000/team/api'
      const repo = await createRepo({ 'deploy.yaml': deployment([`${image}:1.0`]) })
      const env = await open(repo, { 'commit-mode': 'pull-request' })
      const first = await env.propose(editFor(image, '2.0'), 'deploy 2.0\n\nbody')
      expect(first.branch).toBe('deploy/main/team-api')
      expect(git(repo, 'rev-list', '--count', 'main').trim()).toBe('1')
      expect(git(repo, 'show', `${first.branch}:deploy.yaml`)).toContain(`${image}:2.0\n`)

      const second = await env.propose(editFor(image, '3.0'), 'deploy 3.0')
      expect(second.number).toBe(first.number)
      expect(git(repo, 'rev-parse', first.branch).trim()).toBe(second.sha)
      expect(git(repo, 'rev-parse', `${second.sha}^`).trim()).toBe(git(repo, 'rev-parse', 'main').trim())
      const pr = (await (
        await fetch(`${bed.githubApiUrl}/repos/${OWNER}/${repo}/pulls/${first.number}`, {
          headers: { authorization: `token ${bed.githubToken}` }
        })
      ).json()) as { title: string; body: string; state: string }
      expect(pr.state).toBe('open')
      expect(pr.title).toBe('deploy 3.0')
      expect(pr.body).toContain(`\`${image}:1.0\` → \`${image}:3.0\``)
    },
    SLOW
  )
})
