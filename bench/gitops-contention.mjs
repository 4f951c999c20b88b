// 20 runs committing to one env branch (each its own image, in its own file), through GraphQL and
// through REST (GitHub without GraphQL): requests and writes of the commits, lost races, writes per
// landed commit. Goal: at most 150 requests and 1.5 writes per landed commit for the 20 commits.
// Two arrivals: all 20 commits released at the same instant (the worst case: every run reads the same
// head, so 19 lose the first race whatever the retry policy), and commits arriving over 5 s, as
// pipelines whose builds end at different times do.
// Usage: node bench/gitops-contention.mjs   (after npm run testbed:up: the emulator's URL and token come from .testbed/env)
import { setTimeout as sleep } from 'node:timers/promises'
import {
  admin,
  api,
  benchConfig,
  isWrite,
  lastRequestId,
  loadModules,
  median,
  PATHS,
  quietHost,
  requestsSince,
  useGitHubPath
} from './lib/github-bench.mjs'

const RUNNERS = 20
const ROUNDS = 3
const SPREADS_MS = [0, 5000]
const manifest = image =>
  `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app\nspec:\n  template:\n    spec:\n      containers:\n      - name: app\n        image: ${image}\n`

const { EnvRepository, parseConfig } = await loadModules()
const rows = []
for (const githubPath of PATHS)
  for (const spreadMs of SPREADS_MS) {
    await useGitHubPath(githubPath)
    const rounds = { requests: [], withOpen: [], writes: [], lost: [], perCommit: [], ms: [] }
    for (let round = 1; round <= ROUNDS; round++) {
      const repo = `contention-${githubPath}-${round}-${Date.now().toString(36)}`
      const images = Array.from({ length: RUNNERS }, (_, i) => `registry.local:5000/team/app-${i}`)
      const files = Object.fromEntries(images.map((image, i) => [`apps/app-${i}.yaml`, manifest(`${image}:1`)]))
      await admin('POST', '/repos', { owner: 'bench', name: repo, files })
      const configs = images.map(image => benchConfig(parseConfig, { repo, envPath: 'apps', image, tag: '2' }))
      const beforeOpen = await lastRequestId()
      const runs = await Promise.all(configs.map(config => EnvRepository.open(config, quietHost)))
      const beforeCommit = await lastRequestId()
      const started = performance.now()
      const commits = await Promise.all(
        runs.map(async (env, i) => {
          await sleep((i * spreadMs) / RUNNERS)
          return env.commit(
            { repository: configs[i].repository, image: images[i], tag: '2', digest: '', pin: 'tag' },
            `deploy ${i}`
          )
        })
      )
      const ms = performance.now() - started
      const landed = commits.filter(Boolean).length
      if (landed !== RUNNERS) throw new Error(`${githubPath}: ${landed} of ${RUNNERS} commits landed`)
      const all = await requestsSince(beforeOpen, repo)
      const commitPhase = all.filter(entry => entry.id > beforeCommit)
      const writes = commitPhase.filter(isWrite)
      // a lost attempt: a mutation answered STALE_DATA, or a ref update refused as not a fast forward
      const lost = writes.filter(
        entry => entry.graphqlErrors?.includes('STALE_DATA') || (entry.method === 'PATCH' && entry.status === 422)
      ).length
      rounds.requests.push(commitPhase.length)
      rounds.withOpen.push(all.length)
      rounds.writes.push(writes.length)
      rounds.lost.push(lost)
      rounds.perCommit.push(writes.length / landed)
      rounds.ms.push(ms)
    }
    rows.push({
      api: githubPath,
      arrival: spreadMs ? `over ${spreadMs / 1000} s` : 'at once',
      'commits: requests': median(rounds.requests),
      'with the 20 opens': median(rounds.withOpen),
      writes: median(rounds.writes),
      'lost races': median(rounds.lost),
      'writes per landed commit': Number(median(rounds.perCommit).toFixed(2)),
      'ms (median)': Math.round(median(rounds.ms))
    })
  }
await useGitHubPath('graphql')
console.log(`gitops contention bench: ${RUNNERS} commits to one branch, median of ${ROUNDS} rounds, emulator ${api}`)
console.table(rows)
