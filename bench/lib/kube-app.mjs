// The 20-object app and the test-bed wiring shared by the cluster benchmarks
// (bench/kube-apply.mjs, bench/drift-check.mjs).
import { loadTestbedEnv } from '../../test/helpers/testbed-env.mjs'
import { importSource } from './import-source.mjs'

loadTestbedEnv()
if (!process.env.KUBECONFIG) throw new Error('the test bed has no cluster (TESTBED_SKIP_CLUSTER=1?)')

/** 20 objects: ServiceAccount, Secret, 8 ConfigMaps, 5 Services, 5 Deployments. */
export function envFiles() {
  const docs = [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'app' } },
    { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'app' }, data: { password: 'YmVuY2g=' } }
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

export const silentHost = {
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

export const median = values => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]
export const ms = value => `${value.toFixed(0)} ms`

export const { Cluster, Deadline, KubeClient, loadKubeConfig, parseConfig } = await importSource(
  "export * from './src/kube/index.ts'\nexport { KubeClient } from './src/kube/client.ts'\nexport { loadKubeConfig } from './src/kube/kubeconfig.ts'\nexport { Deadline } from './src/lib/deadline.ts'\nexport { parseConfig } from './src/config/config.ts'\n"
)
/** A whole config, as a run would have it, for one namespace. */
export const configFor = (kubeconfig, namespace) =>
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
