// Build + push time per builder for a small image (FROM the test bed's busybox, one RUN step, one
// COPY), through the build stage as the action runs it: login, build, push, registry digest check.
// Each run changes a build arg, so the RUN step and the push are never cache hits.
// Usage: node bench/build-push.mjs [docker podman buildah] [--runs N]
//   (after npm run testbed:up: REGISTRY, TESTBED_BASE_IMAGE, DOCKER_CONFIG, BUILDX_BUILDER, … come from .testbed/env)
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { loadTestbedEnv } from '../test/helpers/testbed-env.mjs'
import { importSource } from './lib/import-source.mjs'

const args = process.argv.slice(2)
const runsAt = args.indexOf('--runs')
const RUNS = runsAt >= 0 ? Number(args.splice(runsAt, 2)[1]) : 3
const builders = args.length > 0 ? args : ['docker', 'podman', 'buildah']

// The builders read the test bed's variables (DOCKER_CONFIG, BUILDX_BUILDER, …) from process.env.
const { REGISTRY, TESTBED_BASE_IMAGE } = loadTestbedEnv()
const { buildAndResolve, parseConfig } = await importSource(
  "export { buildAndResolve } from './src/build/index.ts'\nexport { parseConfig } from './src/config/index.ts'\n"
)
const silentHost = {
  setSecret() {},
  debug() {},
  info() {},
  warning(message) {
    console.warn(`warning: ${message}`)
  },
  error() {},
  group: (_name, fn) => fn(),
  setOutput() {},
  writeSummary: async () => {}
}

const workspace = mkdtempSync(path.join(tmpdir(), 'bench-build-push-'))
writeFileSync(
  path.join(workspace, 'Dockerfile'),
  'ARG BASE\nFROM ${BASE}\nARG RUN_ID\nRUN echo "run $RUN_ID" > /run.txt\nCOPY hello.txt /\n'
)
writeFileSync(path.join(workspace, 'hello.txt'), 'hello\n')
const context = {
  repository: 'acme/app',
  sha: '0'.repeat(40),
  serverUrl: 'https://github.com',
  apiUrl: 'https://api.github.com',
  workspace
}

try {
  for (const builder of builders) {
    const times = []
    for (let i = 0; i <= RUNS; i++) {
      const runId = `${Date.now()}-${i}`
      const config = parseConfig(
        {
          image: `${REGISTRY}/bench/build-push-${builder}`,
          tag: `run-${runId}`,
          builder,
          'build-args': `BASE=${TESTBED_BASE_IMAGE}\nRUN_ID=${runId}`,
          'registry-insecure': 'true',
          'env-repo': 'acme/env',
          'env-path': 'apps',
          'env-token': 'unused',
          apply: 'false'
        },
        context
      )
      const start = performance.now()
      await buildAndResolve(config, silentHost)
      if (i > 0) times.push(performance.now() - start) // run 0 pulls the base image: warm-up
    }
    times.sort((a, b) => a - b)
    const median = times[Math.floor(times.length / 2)]
    console.log(
      `${builder.padEnd(8)} build+push median ${(median / 1000).toFixed(2)} s  min ${(times[0] / 1000).toFixed(2)} s  ` +
        `max ${(times.at(-1) / 1000).toFixed(2)} s  (n=${RUNS}, after one warm-up run)`
    )
  }
} finally {
  rmSync(workspace, { recursive: true, force: true })
}
