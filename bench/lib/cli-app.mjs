// The 20-object app in an env repo of the test bed, and one timed CLI run against it: shared by
// the whole-CLI benchmarks (bench/pipeline-overhead.mjs, bench/reconcile-run.mjs).
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'

/** Creates env repo bench/<namespace> with app/: Namespace, Deployment web, Service, 17 ConfigMaps. */
export async function createCliApp(env, namespace, { replicas }) {
  const files = {
    'app/namespace.yaml': `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${namespace}\n`,
    'app/deployment.yaml': `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: ${namespace}
spec:
  replicas: ${replicas}
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: ${env.REGISTRY}/bench/web:initial
`,
    'app/service.yaml': `apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  namespace: ${namespace}\nspec:\n  selector: {app: web}\n  ports: [{port: 80}]\n`
  }
  for (let i = 0; i < 17; i++) {
    files[`app/config-${i}.yaml`] =
      `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: config-${i}\n  namespace: ${namespace}\ndata:\n  key: "${i}"\n`
  }
  const response = await fetch(`${env.GITHUB_API_URL}/_testbed/repos`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ owner: 'bench', name: namespace, files })
  })
  if (!response.ok) throw new Error(`creating the env repo failed: ${response.status} ${await response.text()}`)
  return `bench/${namespace}`
}

/** One `dist/cli.js --json` run on env-path app of repo (token and kubeconfig as inputs); wall in seconds. */
export function runCli(env, repo, args) {
  const kubeconfig = readFileSync(env.KUBECONFIG, 'utf8')
  const start = performance.now()
  const result = spawnSync(
    process.execPath,
    [
      'dist/cli.js',
      '--json',
      ...args,
      '--env-repo',
      repo,
      '--env-path',
      'app',
      '--github-api-url',
      env.GITHUB_API_URL,
      '--timeout',
      '2m'
    ],
    {
      encoding: 'utf8',
      env: {
        PATH: process.env.PATH,
        'INPUT_ENV-TOKEN': env.TESTBED_GITHUB_TOKEN,
        INPUT_KUBECONFIG: kubeconfig
      }
    }
  )
  return { wall: (performance.now() - start) / 1000, outputs: JSON.parse(result.stdout), stderr: result.stderr }
}
