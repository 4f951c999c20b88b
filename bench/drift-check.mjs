// Drift check of a 20-object app on the test bed (goal ≤ 300 ms): the inventory's labelled
// lists per kind and namespace and the server-side apply dry runs of Git's objects, all at once.
// Measured in sync, and with three objects changed or deleted by hand. Median and max of 9 runs.
// Run with Node 24: node_modules/.bin/node bench/drift-check.mjs (after npm run testbed:up).
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import {
  Cluster,
  configFor,
  Deadline,
  envFiles,
  KubeClient,
  loadKubeConfig,
  median,
  ms,
  silentHost
} from './lib/kube-app.mjs'

const RUNS = 9
const kubeconfig = readFileSync(process.env.KUBECONFIG, 'utf8')
const loaded = loadKubeConfig(kubeconfig, undefined)
const client = new KubeClient(loaded.kc, loaded.server)
const namespace = `bench-drift-${randomBytes(3).toString('hex')}`
const config = configFor(kubeconfig, namespace)
await client.request('POST', '/api/v1/namespaces', {
  body: JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } })
})
const cluster = await Cluster.connect(config, silentHost)
const timings = { 'in sync': [], drifted: [] }
try {
  const files = envFiles()
  await cluster.apply(files, { 'gitops-push-deploy/env-commit': 'bench' }, new Deadline(60_000))
  await cluster.drift(files) // warm discovery, as a run's validation does first
  for (let run = 0; run < RUNS; run++) {
    const start = performance.now()
    const check = await cluster.drift(files)
    timings['in sync'].push(performance.now() - start)
    if (check.items.length !== 0) throw new Error(`expected no drift, got ${JSON.stringify(check.items)}`)
  }
  // By hand: two Deployments scaled, one ConfigMap deleted.
  for (const name of ['web-0', 'web-1']) {
    await client.request('PATCH', `/apis/apps/v1/namespaces/${namespace}/deployments/${name}/scale`, {
      body: JSON.stringify({ spec: { replicas: 2 } }),
      contentType: 'application/merge-patch+json'
    })
  }
  await client.request('DELETE', `/api/v1/namespaces/${namespace}/configmaps/cm-0`)
  for (let run = 0; run < RUNS; run++) {
    const start = performance.now()
    const check = await cluster.drift(files)
    timings.drifted.push(performance.now() - start)
    if (check.items.length !== 3) throw new Error(`expected 3 drifted objects, got ${JSON.stringify(check.items)}`)
  }
} finally {
  await client.request('DELETE', `/api/v1/namespaces/${namespace}`)
  cluster.close()
  client.close()
}
console.log(`drift check, 20 objects, ${RUNS} runs (median / max; goal ≤ 300 ms):`)
for (const [name, values] of Object.entries(timings)) {
  console.log(`  ${name.padEnd(8)} ${ms(median(values))} / ${ms(Math.max(...values))}`)
}
