// Time to validate and apply a 20-object set on the test bed (server-side dry run, then apply
// in waves): first apply (creates), re-apply (no change). Median and max of 5 runs, each into a
// fresh namespace.
// Run with Node 24: /work/main/node_modules/.bin/node bench/kube-apply.mjs
// KUBECONFIG comes from the environment, else from .testbed/env (npm run testbed:up).
import { randomBytes } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { importSource } from './lib/import-source.mjs'

const RUNS = 5
const envFile = '.testbed/env'
if (!process.env.KUBECONFIG && existsSync(envFile)) {
  for (const match of readFileSync(envFile, 'utf8').matchAll(/^export (\w+)='([^']*)'$/gm)) {
    process.env[match[1]] ??= match[2]
  }
}
if (!process.env.KUBECONFIG) throw new Error('KUBECONFIG is not set: run npm run testbed:up')

/** 20 objects: ServiceAccount, Secret, 8 ConfigMaps, 5 Services, 5 Deployments. */
function envFiles() {
  const docs = [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'app' } },
    { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'app' }, stringData: { password: 'bench' } }
  ]
  for (let i = 0; i < 8; i++)
    docs.push({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `cm-${i}` }, data: { i: `${i}` } })
  for (let i = 0; i < 5; i++) {
    const labels = { app: `web-${i}` }
    docs.push({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: `web-${i}` },
      spec: { selector: labels, ports: [{ port: 80 }] }
    })
    docs.push({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: `web-${i}` },
      spec: {
        replicas: 0,
        selector: { matchLabels: labels },
        template: { metadata: { labels }, spec: { containers: [{ name: 'web', image: 'registry.test/web:1' }] } }
      }
    })
  }
  return [{ path: 'apps/bench/all.yaml', content: docs.map(d => JSON.stringify(d)).join('\n---\n') }]
}

const silentHost = {
  setSecret() {},
  debug() {},
  info() {},
  warning(message) {
    console.error(`warning: ${message}`)
  },
  error(message) {
    console.error(`error: ${message}`)
  },
  group: (_name, fn) => fn(),
  setOutput() {},
  writeSummary: async () => {}
}

const median = values => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]
const ms = value => `${value.toFixed(0)} ms`

const { Cluster, Deadline, KubeClient, loadKubeConfig, parseConfig } = await importSource(
  "export * from './src/kube/index.ts'\nexport { KubeClient } from './src/kube/client.ts'\nexport { loadKubeConfig } from './src/kube/kubeconfig.ts'\nexport { Deadline } from './src/lib/deadline.ts'\nexport { parseConfig } from './src/config/config.ts'\n"
)
/** A whole config, as a run would have it, for one namespace. */
const configFor = (kubeconfig, namespace) =>
  parseConfig(
    {
      image: 'registry.test/web',
      tag: 'bench',
      build: 'false',
      'env-repo': 'bench/env',
      'env-path': 'apps/bench',
      'env-token': 'bench',
      kubeconfig,
      namespace,
      'field-manager': 'gitops-push-deploy-bench'
    },
    { serverUrl: 'https://github.com', apiUrl: 'https://api.github.com', workspace: process.cwd() }
  )
const kubeconfig = readFileSync(process.env.KUBECONFIG, 'utf8')
const loaded = loadKubeConfig(kubeconfig, undefined)
const client = new KubeClient(loaded.kc, loaded.server)
const timings = { validate: [], create: [], reapply: [] }
for (let run = 0; run < RUNS; run++) {
  const namespace = `bench-apply-${randomBytes(3).toString('hex')}`
  const config = configFor(kubeconfig, namespace)
  const cluster = await Cluster.connect(config, silentHost)
  const files = envFiles()
  await client.request('POST', '/api/v1/namespaces', {
    body: JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } })
  })
  try {
    let start = performance.now()
    await cluster.validate(files)
    timings.validate.push(performance.now() - start)
    start = performance.now()
    const applied = await cluster.apply(files, { 'gitops-push-deploy/env-commit': 'bench' }, new Deadline(60_000))
    timings.create.push(performance.now() - start)
    if (applied.length !== 20) throw new Error(`applied ${applied.length} objects, expected 20`)
    start = performance.now()
    await cluster.apply(files, { 'gitops-push-deploy/env-commit': 'bench' }, new Deadline(60_000))
    timings.reapply.push(performance.now() - start)
  } finally {
    await client.request('DELETE', `/api/v1/namespaces/${namespace}`)
    cluster.close()
  }
}
console.log(`kube apply, 20 objects, ${RUNS} runs (median / max):`)
for (const [name, values] of Object.entries(timings)) {
  console.log(`  ${name.padEnd(9)} ${ms(median(values))} / ${ms(Math.max(...values))}`)
}
