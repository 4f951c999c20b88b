// Env-repo commits against the test bed's GitHub emulator: requests per commit (from the
// emulator's request log) and time per commit, for 1, 10 and 100 changed files, through GraphQL and
// through REST (GitHub without GraphQL: /graphql answers 404).
// Usage: node bench/gitops-commit.mjs   (after npm run testbed:up: the emulator's URL and token come from .testbed/env)
import {
  admin,
  api,
  benchConfig,
  lastRequestId,
  loadModules,
  median,
  PATHS,
  quietHost,
  requestsSince,
  isWrite,
  useGitHubPath
} from './lib/github-bench.mjs'

const SIZES = [1, 10, 100]
const RUNS = 5

const image = 'registry.local:5000/team/api'
const digest = 'sha256:11507a0e2f5e69d5dfa40a62a1bd7b6ee57e6bcd85c67c9b8431b36fff21c437'
const manifest = (i, tag) =>
  `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app-${i} # comment\nspec:\n  template:\n    spec:\n      containers:\n      - name: app\n        image: ${image}:${tag}\n`

const { EnvRepository, parseConfig } = await loadModules()
const rows = []
for (const githubPath of PATHS)
  for (const size of SIZES) {
    await useGitHubPath(githubPath)
    const repo = `bench-${githubPath}-${size}-${Date.now().toString(36)}`
    const files = Object.fromEntries(
      Array.from({ length: size }, (_, i) => [`apps/api/app-${i}.yaml`, manifest(i, '0')])
    )
    files['README.md'] = '# env\n'
    await admin('POST', '/repos', { owner: 'bench', name: repo, files })
    const stage = { requests: [], ms: [] }
    const commitOnly = { requests: [], ms: [], writes: [] }
    for (let run = 1; run <= RUNS; run++) {
      const tag = String(run)
      const config = benchConfig(parseConfig, { repo, envPath: 'apps/api', image, tag })
      const edit = { repository: config.repository, image, tag, digest, pin: 'tag+digest' }
      const first = await lastRequestId()
      const started = performance.now()
      const env = await EnvRepository.open(config, quietHost)
      await env.plan(edit)
      const beforeCommit = await lastRequestId()
      const commitStarted = performance.now()
      const commit = await env.commit(edit, `deploy ${tag}`)
      const finished = performance.now()
      if (!commit || commit.changes.length !== size) throw new Error(`run ${run}: expected ${size} changes`)
      const all = await requestsSince(first, repo)
      const commitRequests = all.filter(entry => entry.id > beforeCommit)
      stage.requests.push(all.length)
      stage.ms.push(finished - started)
      commitOnly.requests.push(commitRequests.length)
      commitOnly.writes.push(commitRequests.filter(isWrite).length)
      commitOnly.ms.push(finished - commitStarted)
    }
    rows.push({
      api: githubPath,
      'changed files': size,
      'open+plan+commit: requests': median(stage.requests),
      'open+plan+commit: ms (median)': Math.round(median(stage.ms)),
      'commit() after plan(): requests': median(commitOnly.requests),
      'of which writes': median(commitOnly.writes),
      'commit() ms (median)': Math.round(median(commitOnly.ms))
    })
  }
await useGitHubPath('graphql')
console.log(`gitops commit bench: ${RUNS} commits per size and API, emulator ${api}`)
console.table(rows)
