import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { Deadline } from '../../src/lib/deadline.js'
import { Cluster, type EnvFile } from '../../src/kube/index.js'
import { type KubeClient } from '../../src/kube/client.js'
import { type DeployStamp } from '../../src/pipeline/ports.js'
import { realStages } from '../../src/stages.js'
import {
  configFor,
  createNamespace,
  deleteQuietly,
  expectNoKubeconfigSecrets,
  getObject,
  RecordingHost,
  testClient,
  uniqueName
} from '../../test/helpers/kube.js'
import { buildImage, testbedEnv } from '../../test/helpers/testbed.js'

function envFiles(image: string, extra: boolean): EnvFile[] {
  const files: EnvFile[] = [
    {
      path: 'apps/web/deployment.yaml',
      content: `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: ${image}
`
    }
  ]
  if (extra) {
    files.push({
      path: 'apps/web/extra.yaml',
      content: 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: extra}\ndata: {a: "1"}\n'
    })
  }
  return files
}

interface LiveDeployment {
  metadata: { generation: number }
  spec: { template: { spec: { containers: Array<{ image: string }> } } }
  status?: { observedGeneration?: number; updatedReplicas?: number; availableReplicas?: number; replicas?: number }
}

describe('Cluster.rollback on the test bed', () => {
  const host = new RecordingHost()
  const namespace = uniqueName('kube-rollback')
  const registry = testbedEnv().registry
  const goodImage = `${registry}/kube-rollback/web:good`
  const missingImage = `${registry}/kube-rollback/web:missing-${namespace}`
  let client: KubeClient
  let cluster: Cluster

  beforeAll(async () => {
    await buildImage(goodImage)
    client = testClient()
    await createNamespace(client, namespace)
    cluster = await Cluster.connect(configFor(namespace), host)
  })

  afterAll(async () => {
    cluster?.close()
    await deleteQuietly(client, `/api/v1/namespaces/${namespace}`)
  })

  it('puts back the previous image and deletes what the failed deploy created', async () => {
    const good = envFiles(goodImage, false)
    let since = new Date()
    const first = await cluster.apply(good, { 'gitops-push-deploy/env-commit': 'c1' }, new Deadline(60_000))
    const firstRollout = await cluster.waitForRollout(first, new Deadline(90_000), since)
    expect(firstRollout.failure).toBeUndefined()
    expect(firstRollout.ok).toBe(true)

    since = new Date()
    const bad = await cluster.apply(
      envFiles(missingImage, true),
      { 'gitops-push-deploy/env-commit': 'c2' },
      new Deadline(60_000)
    )
    expect(bad.map(a => `${a.kind}/${a.name}/${a.created}`)).toEqual(['ConfigMap/extra/true', 'Deployment/web/false'])
    const badRollout = await cluster.waitForRollout(bad, new Deadline(90_000), since)
    expect(badRollout.ok).toBe(false)
    expect(badRollout.failure).toMatch(/ErrImagePull|ImagePullBackOff/)

    const rolledBack = await cluster.rollback(good, bad, new Deadline(90_000), {
      'gitops-push-deploy/env-commit': 'c1'
    })
    expect(rolledBack.failure).toBeUndefined()
    expect(rolledBack.ok).toBe(true)
    expect(rolledBack.resources).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ kind: 'Deployment', namespace, name: 'web', status: 'ready' }),
        expect.objectContaining({ kind: 'ConfigMap', namespace, name: 'extra', status: 'deleted' })
      ])
    )

    const live = await getObject<LiveDeployment>(client, `/apis/apps/v1/namespaces/${namespace}/deployments/web`)
    expect(live?.spec.template.spec.containers[0].image).toBe(goodImage)
    expect(live?.status?.observedGeneration).toBe(live?.metadata.generation)
    expect(live?.status).toMatchObject({ updatedReplicas: 2, availableReplicas: 2, replicas: 2 })
    expect(await getObject(client, `/api/v1/namespaces/${namespace}/configmaps/extra`)).toBeUndefined()
    expect(host.lines).toContain(
      `ConfigMap ${namespace}/extra deleted (created by this deploy, absent from the previous state)`
    )
  })

  it('never logs a credential of the kubeconfig', () => {
    expectNoKubeconfigSecrets(host)
  })
})

describe('a rollback through the composition root keeps the deploy annotations', () => {
  const host = new RecordingHost()
  const namespace = uniqueName('kube-rollback-stamp')
  const registry = testbedEnv().registry
  const goodImage = `${registry}/kube-rollback/web:good`
  const missingImage = `${registry}/kube-rollback/web:missing-${namespace}`
  let client: KubeClient

  beforeAll(async () => {
    await buildImage(goodImage)
    client = testClient()
    await createNamespace(client, namespace)
  })

  afterAll(async () => {
    await deleteQuietly(client, `/api/v1/namespaces/${namespace}`)
  })

  const settings = (value: string): EnvFile => ({
    path: 'apps/web/settings.yaml',
    content: `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {level: "${value}"}\n`
  })

  /** The gitops-push-deploy/* annotations of a live object. */
  async function stampOf(path: string): Promise<Record<string, string>> {
    const live = await getObject<{ metadata: { annotations?: Record<string, string> } }>(client, path)
    return Object.fromEntries(
      Object.entries(live?.metadata.annotations ?? {}).filter(([key]) => key.startsWith('gitops-push-deploy/'))
    )
  }

  it('re-applied objects carry the env commit they were restored to, the source commit and the run', async () => {
    const cluster = await realStages.connectCluster(configFor(namespace), host)
    try {
      const previous = [...envFiles(goodImage, false), settings('1')]
      const first: DeployStamp = {
        envCommit: 'c0ffee1',
        repository: 'acme/web',
        sha: 'aaaaaaa',
        runUrl: 'https://github.test/acme/web/actions/runs/1'
      }
      let since = new Date()
      const applied = await cluster.apply(previous, first, new Deadline(60_000))
      expect((await cluster.waitForRollout(applied, new Deadline(90_000), since)).ok).toBe(true)

      const failing: DeployStamp = { ...first, envCommit: 'bad0001', sha: 'bbbbbbb', runUrl: `${first.runUrl}0` }
      since = new Date()
      const bad = await cluster.apply([...envFiles(missingImage, false), settings('2')], failing, new Deadline(60_000))
      expect((await cluster.waitForRollout(bad, new Deadline(90_000), since)).ok).toBe(false)
      expect(await stampOf(`/apis/apps/v1/namespaces/${namespace}/deployments/web`)).toEqual({
        'gitops-push-deploy/env-commit': 'bad0001',
        'gitops-push-deploy/source': 'acme/web@bbbbbbb',
        'gitops-push-deploy/run-url': 'https://github.test/acme/web/actions/runs/10'
      })

      // as the pipeline stamps a rollback: the parent env commit, by the run that failed
      const rolledBack = await cluster.rollback(previous, bad, new Deadline(90_000), {
        ...failing,
        envCommit: first.envCommit
      })
      expect(rolledBack.failure).toBeUndefined()
      expect(rolledBack.ok).toBe(true)

      const restored = {
        'gitops-push-deploy/env-commit': 'c0ffee1',
        'gitops-push-deploy/source': 'acme/web@bbbbbbb',
        'gitops-push-deploy/run-url': 'https://github.test/acme/web/actions/runs/10'
      }
      expect(await stampOf(`/apis/apps/v1/namespaces/${namespace}/deployments/web`)).toEqual(restored)
      expect(await stampOf(`/api/v1/namespaces/${namespace}/configmaps/settings`)).toEqual(restored)
      const live = await getObject<LiveDeployment>(client, `/apis/apps/v1/namespaces/${namespace}/deployments/web`)
      expect(live?.spec.template.spec.containers[0].image).toBe(goodImage)
      const configMap = await getObject<{ data: Record<string, string> }>(
        client,
        `/api/v1/namespaces/${namespace}/configmaps/settings`
      )
      expect(configMap?.data).toEqual({ level: '1' })
    } finally {
      cluster.close()
    }
  })
})
