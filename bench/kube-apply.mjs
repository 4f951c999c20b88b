// Time to validate and apply a 20-object set on the test bed (server-side dry run, then apply
// in waves): first apply (creates), re-apply (no change). Median and max of 5 runs, each into a
// fresh namespace.
// Run with Node 24: /work/main/node_modules/.bin/node bench/kube-apply.mjs
// KUBECONFIG comes from .testbed/env (npm run testbed:up), loaded by lib/kube-app.mjs.
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

const RUNS = 5
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
