// Drift, prune and reconcile through the CLI (dist/cli.js) on the test bed: the cluster is
// changed by hand with kubectl, then a run reports and repairs it. Git history is read from the
// emulator's bare repositories; the cluster from the apiserver.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { parentName } from '../../src/kube/inventory.js'
import { type KubeClient } from '../../src/kube/client.js'
import { createNamespace, deleteQuietly, getObject, testClient } from '../../test/helpers/kube.js'
import { buildImage, createRepo, gitLog, kubectl, testbedEnv, uniqueName } from '../../test/helpers/testbed.js'
import { cliArgs, runCli, type CliFlags, type CliRun } from '../../test/helpers/cli.js'

const env = testbedEnv()
const PART_OF = 'applyset.kubernetes.io/part-of'

/** A `--json` run with the test bed's cluster. */
function cli(args: string[]): Promise<CliRun> {
  return runCli(['--json', ...args], { INPUT_KUBECONFIG: readFileSync(env.kubeconfig ?? '', 'utf8') })
}

const deployment = (namespace: string, image: string, name = 'web'): string => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
  namespace: ${namespace}
spec:
  replicas: 1
  selector: {matchLabels: {app: ${name}}}
  template:
    metadata: {labels: {app: ${name}}}
    spec:
      containers:
        - name: web
          image: ${image}
`
const configMap = (namespace: string, name: string, annotations = ''): string =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n  namespace: ${namespace}\n${annotations}data:\n  key: "${name}"\n`
const service = (namespace: string): string =>
  `apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  namespace: ${namespace}\nspec:\n  selector: {app: web}\n  ports: [{port: 80}]\n`

interface LiveObject {
  metadata: { labels?: Record<string, string>; annotations?: Record<string, string>; uid: string }
  spec?: { replicas?: number; template?: { spec: { containers: Array<{ image: string }> } } }
}

describe('drift, prune and reconcile (CLI on the test bed)', () => {
  const refs = { v1: '', v2: '' }
  let client: KubeClient
  const namespaces: string[] = []

  beforeAll(async () => {
    client = testClient()
    const base = `${env.registry}/drift/web`
    refs.v1 = `${base}:v1@${await buildImage(`${base}:v1`)}`
    refs.v2 = `${base}:v2@${await buildImage(`${base}:v2`)}`
    await buildImage(`${base}:bad`, 'crashloop')
  })

  afterAll(async () => {
    for (const namespace of namespaces) await deleteQuietly(client, `/api/v1/namespaces/${namespace}`)
  })

  /**
   * A namespace and an env repo holding `files(namespace)` under `app/`, deployed at v1; `target`
   * names where the app is, `flags` a deploy of the image at `tag`.
   */
  async function deployedApp(prefix: string, files: (namespace: string) => Record<string, string>) {
    const namespace = uniqueName(prefix)
    namespaces.push(namespace)
    await createNamespace(client, namespace)
    const repo = `drift/${namespace}`
    await createRepo(repo, files(namespace))
    const target: CliFlags = { envRepo: repo, envPath: 'app', namespace, timeout: '90s' }
    const flags = (tag: string, more: Partial<CliFlags> = {}): string[] =>
      cliArgs(env, { ...target, image: `${env.registry}/drift/web`, tag, ...more })
    const first = await cli(flags('v1'))
    expect(first.outputs.status).toBe('deployed')
    return { namespace, repo, target, flags }
  }

  const standard = (namespace: string): Record<string, string> => ({
    'app/deployment.yaml': deployment(namespace, `${env.registry}/drift/web:old`),
    'app/config.yaml': configMap(namespace, 'cfg'),
    'app/service.yaml': service(namespace)
  })

  const get = (namespace: string, kind: 'deployments' | 'configmaps' | 'services', name: string) =>
    getObject<LiveObject>(
      client,
      kind === 'deployments'
        ? `/apis/apps/v1/namespaces/${namespace}/deployments/${name}`
        : `/api/v1/namespaces/${namespace}/${kind}/${name}`
    )

  it('reports drift with its states, fields and managers; warn repairs it and prunes what Git dropped', async () => {
    const app = await deployedApp('drift-warn', standard)
    const { namespace } = app
    const live = await get(namespace, 'services', 'web')
    expect(live?.metadata.labels?.[PART_OF]).toMatch(/^applyset-.*-v1$/)

    // By hand: scale, change the image, delete the ConfigMap; and drop the Service from Git.
    expect((await kubectl(['-n', namespace, 'scale', 'deployment/web', '--replicas=3'])).code).toBe(0)
    expect((await kubectl(['-n', namespace, 'set', 'image', 'deployment/web', `web=${refs.v2}`])).code).toBe(0)
    expect((await kubectl(['-n', namespace, 'delete', 'configmap', 'cfg'])).code).toBe(0)
    const files = standard(namespace)
    delete files['app/service.yaml']
    files['app/deployment.yaml'] = deployment(namespace, refs.v1)
    await createRepo(app.repo, files)

    const run = await cli(app.flags('v2'))
    expect(run.outputs.status).toBe('deployed')
    expect(run.code).toBe(0)
    const drift = JSON.parse(run.outputs.drift) as Array<Record<string, unknown>>
    expect(drift).toEqual([
      { kind: 'ConfigMap', namespace, name: 'cfg', state: 'missing', fields: [], managers: [] },
      {
        kind: 'Deployment',
        namespace,
        name: 'web',
        state: 'changed',
        fields: ['spec.replicas', 'spec.template.spec.containers[name=web].image'],
        managers: expect.arrayContaining([expect.stringMatching(/^kubectl/)])
      },
      { kind: 'Service', namespace, name: 'web', state: 'extra', fields: [], managers: [] }
    ])
    expect(run.stderr).toContain('3 object(s) drifted from Git')
    expect(run.stderr).toContain(`changed Deployment ${namespace}/web: spec.replicas`)

    // Repaired: Git's replicas, the ConfigMap back, the Service pruned (and gone, foreground).
    const web = await get(namespace, 'deployments', 'web')
    expect(web?.spec?.replicas).toBe(1)
    expect(web?.spec?.template?.spec.containers[0].image).toBe(refs.v2)
    expect(await get(namespace, 'configmaps', 'cfg')).toBeDefined()
    expect(await get(namespace, 'services', 'web')).toBeUndefined()
    expect(JSON.parse(run.outputs.resources)).toContainEqual(
      expect.objectContaining({ kind: 'Service', name: 'web', status: 'pruned' })
    )

    // In sync now: the next run of the same image is unchanged and reports no drift.
    const again = await cli(app.flags('v2'))
    expect(again.outputs.status).toBe('unchanged')
    expect(JSON.parse(again.outputs.drift)).toEqual([])
    expect(again.outputs['previous-image']).toBe(refs.v2)
  })

  it('drift fail stops with no commit and nothing applied', async () => {
    const app = await deployedApp('drift-fail', standard)
    const { namespace } = app
    expect((await kubectl(['-n', namespace, 'scale', 'deployment/web', '--replicas=2'])).code).toBe(0)
    const before = await gitLog(app.repo, 'main')
    const liveBefore = await get(namespace, 'deployments', 'web')

    const run = await cli([...app.flags('v2'), '--drift', 'fail'])
    expect(run.outputs.status).toBe('drifted')
    expect(run.code).toBe(1)
    expect(JSON.parse(run.outputs.drift)).toEqual([
      expect.objectContaining({ kind: 'Deployment', state: 'changed', fields: ['spec.replicas'] })
    ])
    expect(run.outputs['env-commit']).toBe('')
    expect(await gitLog(app.repo, 'main')).toHaveLength(before.length)
    const liveAfter = await get(namespace, 'deployments', 'web')
    expect(liveAfter?.spec?.replicas).toBe(2)
    expect(liveAfter?.spec?.template?.spec.containers[0].image).toBe(refs.v1)
    expect(liveAfter?.metadata.annotations?.['gitops-push-deploy/env-commit']).toBe(
      liveBefore?.metadata.annotations?.['gitops-push-deploy/env-commit']
    )
  })

  it('reconcile (no image) brings back a deleted Deployment', async () => {
    const app = await deployedApp('drift-reconcile', standard)
    const { namespace } = app
    expect((await kubectl(['-n', namespace, 'delete', 'deployment', 'web', '--wait=true'])).code).toBe(0)
    const before = await gitLog(app.repo, 'main')

    const run = await cli(cliArgs(env, { ...app.target, extra: ['--mode', 'reconcile'] }))
    expect(run.outputs.status).toBe('reconciled')
    expect(run.code).toBe(0)
    expect(JSON.parse(run.outputs.drift)).toEqual([
      { kind: 'Deployment', namespace, name: 'web', state: 'missing', fields: [], managers: [] }
    ])
    expect((await get(namespace, 'deployments', 'web'))?.spec?.template?.spec.containers[0].image).toBe(refs.v1)
    expect(await gitLog(app.repo, 'main')).toHaveLength(before.length)
  })

  it('repairs the unchanged-run trap: Git at v2, cluster set back to v1, a v2 run applies (reconciled)', async () => {
    const app = await deployedApp('drift-trap', standard)
    const { namespace } = app
    expect((await cli(app.flags('v2'))).outputs.status).toBe('deployed')
    expect((await kubectl(['-n', namespace, 'set', 'image', 'deployment/web', `web=${refs.v1}`])).code).toBe(0)

    const run = await cli(app.flags('v2'))
    expect(run.outputs.status).toBe('reconciled')
    expect(run.code).toBe(0)
    expect(run.outputs['previous-image']).toBe(refs.v2)
    expect(run.outputs['env-commit']).toBe('')
    expect((await get(namespace, 'deployments', 'web'))?.spec?.template?.spec.containers[0].image).toBe(refs.v2)
  })

  it('a failed rollout keeps what this run would have pruned, still in the inventory', async () => {
    const app = await deployedApp('drift-rollback', namespace => ({
      ...standard(namespace),
      'app/old.yaml': configMap(namespace, 'old')
    }))
    const { namespace } = app
    const files = standard(namespace)
    files['app/deployment.yaml'] = deployment(namespace, refs.v1)
    await createRepo(app.repo, files)

    const run = await cli(app.flags('bad'))
    expect(run.outputs.status).toBe('rolled-back')
    const old = await get(namespace, 'configmaps', 'old')
    expect(old?.metadata.labels?.[PART_OF]).toMatch(/^applyset-/)
    expect((await get(namespace, 'deployments', 'web'))?.spec?.template?.spec.containers[0].image).toBe(refs.v1)

    // The next good deploy prunes it.
    const good = await cli(app.flags('v2'))
    expect(good.outputs.status).toBe('deployed')
    expect(await get(namespace, 'configmaps', 'old')).toBeUndefined()
  })

  it('leaves another env path’s objects and prune-disabled objects alone; kubectl --prune --applyset agrees', async () => {
    const app = await deployedApp('drift-scope', namespace => ({
      ...standard(namespace),
      'app/pinned.yaml': configMap(namespace, 'pinned', '  annotations: {gitops-push-deploy/prune: disabled}\n'),
      'app/dropped.yaml': configMap(namespace, 'dropped')
    }))
    const { namespace } = app
    // Another env path deploying into the same namespace.
    const other = `drift/${namespace}-other`
    await createRepo(other, {
      'other/deployment.yaml': deployment(namespace, `${env.registry}/drift/web:old`, 'other'),
      'other/config.yaml': configMap(namespace, 'other-cfg')
    })
    const otherRun = await cli(app.flags('v1', { envRepo: other, envPath: 'other' }))
    expect(otherRun.outputs.status).toBe('deployed')

    // Git drops two files: one prunable, one annotated prune: disabled.
    const files = standard(namespace)
    files['app/deployment.yaml'] = deployment(namespace, refs.v1)
    await createRepo(app.repo, files)
    const folder = mkdtempSync(path.join(tmpdir(), 'drift-kubectl-'))
    try {
      mkdirSync(path.join(folder, 'app'))
      for (const [file, content] of Object.entries(files)) writeFileSync(path.join(folder, file), content)
      const applyset = `configmaps/${parentName(app.repo, ['app'])}`
      const kubectlPrune = (dryRun: boolean) =>
        kubectlWithApplySet([
          '-n',
          namespace,
          'apply',
          '--server-side',
          '--force-conflicts',
          '--field-manager=gitops-push-deploy',
          '--prune',
          `--applyset=${applyset}`,
          '-f',
          path.join(folder, 'app'),
          ...(dryRun ? ['--dry-run=server'] : [])
        ])
      // Before our run, kubectl computes the same prune set from our inventory.
      const planned = await kubectlPrune(true)
      expect(planned.stderr).not.toMatch(/error/i)
      expect(planned.code).toBe(0)
      expect(prunedLines(planned.stdout)).toEqual(['configmap/dropped', 'configmap/pinned'])

      const run = await cli(app.flags('v2'))
      expect(run.outputs.status).toBe('deployed')
      const resources = JSON.parse(run.outputs.resources) as Array<{ name: string; status: string }>
      expect(
        resources
          .filter(r => ['pruned', 'kept'].includes(r.status))
          .map(r => [r.name, r.status])
          .sort()
      ).toEqual([
        ['dropped', 'pruned'],
        ['pinned', 'kept']
      ])
      expect(await get(namespace, 'configmaps', 'dropped')).toBeUndefined()
      const pinned = await get(namespace, 'configmaps', 'pinned')
      expect(pinned).toBeDefined()
      expect(pinned?.metadata.labels?.[PART_OF]).toBeUndefined()
      for (const name of ['other-cfg']) expect(await get(namespace, 'configmaps', name)).toBeDefined()
      expect(await get(namespace, 'deployments', 'other')).toBeDefined()

      // After our run, kubectl on the same folder finds nothing to prune and keeps the same scope.
      const parentPath = `/api/v1/namespaces/${namespace}/${applyset}`
      const ours = await getObject<LiveObject>(client, parentPath)
      const after = await kubectlPrune(false)
      expect(after.code).toBe(0)
      expect(prunedLines(after.stdout)).toEqual([])
      const theirs = await getObject<LiveObject>(client, parentPath)
      const scope = (o: LiveObject | undefined) => ({
        id: o?.metadata.labels?.['applyset.kubernetes.io/id'],
        kinds: o?.metadata.annotations?.['applyset.kubernetes.io/contains-group-kinds'],
        namespaces: o?.metadata.annotations?.['applyset.kubernetes.io/additional-namespaces']
      })
      expect(scope(theirs)).toEqual(scope(ours))
      expect(scope(ours).kinds).toBe('ConfigMap,Deployment.apps,Service')
      const members = await kubectl([
        '-n',
        namespace,
        'get',
        'all,configmaps',
        '-l',
        `${PART_OF}=${scope(ours).id}`,
        '-o',
        'name'
      ])
      expect(members.stdout.trim().split('\n').sort()).toEqual(['configmap/cfg', 'deployment.apps/web', 'service/web'])
    } finally {
      rmSync(folder, { recursive: true, force: true })
    }
  })
})

/** kubectl with its ApplySet support switched on (alpha: KUBECTL_APPLYSET=true). */
function kubectlWithApplySet(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return kubectl(args, { env: { KUBECTL_APPLYSET: 'true' } })
}

/** `configmap/dropped` for each `configmap/dropped pruned` line kubectl printed. */
function prunedLines(stdout: string): string[] {
  return stdout
    .split('\n')
    .filter(line => / pruned\b/.test(line))
    .map(line => line.split(' ')[0])
    .sort()
}
