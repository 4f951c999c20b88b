import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { Deadline } from '../../src/lib/deadline.js'
import { ApplyError, Cluster, ValidationError, type EnvFile } from '../../src/kube/index.js'
import { type KubeClient } from '../../src/kube/client.js'
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

const ANNOTATIONS = {
  'gitops-push-deploy/env-commit': 'e1e1e1e',
  'gitops-push-deploy/source': 'owner/app@abc1234',
  'gitops-push-deploy/run-url': 'https://github.com/owner/app/actions/runs/1'
}

const deployment = (
  name: string,
  extra: Record<string, unknown> = {},
  container: Record<string, unknown> = {}
): string =>
  JSON.stringify({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name },
    spec: {
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: 'app', image: 'registry.test/app:1', ...container }] }
      },
      ...extra
    }
  })

describe('Cluster.validate and apply on the test bed', () => {
  const host = new RecordingHost()
  const namespace = uniqueName('kube-apply')
  const cleanups: string[] = []
  let client: KubeClient
  let cluster: Cluster

  beforeAll(async () => {
    client = testClient()
    await createNamespace(client, namespace)
    // The Namespace-wave tests create namespaces of their own: the apply policy must allow them.
    cluster = await Cluster.connect(configFor(namespace, { 'allowed-namespaces': 'kube-apply-ns-*' }), host)
  })

  afterAll(async () => {
    cluster?.close()
    for (const path of [...cleanups, `/api/v1/namespaces/${namespace}`]) await deleteQuietly(client, path)
  })

  it('validates, then applies a Deployment, Service and ConfigMap into the default namespace', async () => {
    const files: EnvFile[] = [
      { path: 'apps/web/deploy.yaml', content: `${deployment('web', { replicas: 1 })}\n` },
      {
        path: 'apps/web/rest.yaml',
        content: `apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
  trafficDistribution: PreferClose
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
data: {mode: "0644"}
`
      },
      { path: 'apps/web/README.md', content: 'not a manifest' }
    ]
    const report = await cluster.validate(files)
    expect(report.checked.sort()).toEqual([
      `ConfigMap ${namespace}/settings`,
      `Deployment ${namespace}/web`,
      `Service ${namespace}/web`
    ])
    expect(report.deferred).toEqual([])
    // The dry run created nothing.
    expect(await getObject(client, `/api/v1/namespaces/${namespace}/configmaps/settings`)).toBeUndefined()

    const applied = await cluster.apply(files, ANNOTATIONS, new Deadline(60_000))
    expect(applied.map(a => [a.kind, a.namespace, a.name, a.created])).toEqual([
      ['ConfigMap', namespace, 'settings', true],
      ['Service', namespace, 'web', true],
      ['Deployment', namespace, 'web', true]
    ])
    const live = await getObject(client, `/apis/apps/v1/namespaces/${namespace}/deployments/web`)
    expect(live?.metadata.annotations).toMatchObject(ANNOTATIONS)
    const appliedDeployment = applied.find(a => a.kind === 'Deployment')
    expect(appliedDeployment).toMatchObject({ apiVersion: 'apps/v1', generation: 1, uid: live?.metadata.uid })
    expect(appliedDeployment?.resourceVersion).toMatch(/^\d+$/)
    // A recent field (GA in 1.33) arrives as sent.
    const service = await getObject(client, `/api/v1/namespaces/${namespace}/services/web`)
    expect(service?.spec?.trafficDistribution).toBe('PreferClose')

    const nextCommit = { ...ANNOTATIONS, 'gitops-push-deploy/env-commit': 'f2f2f2f' }
    const again = await cluster.apply(files, nextCommit, new Deadline(60_000))
    expect(again.map(a => a.created)).toEqual([false, false, false])
    const relabelled = await getObject(client, `/apis/apps/v1/namespaces/${namespace}/deployments/web`)
    expect(relabelled?.metadata.annotations?.['gitops-push-deploy/env-commit']).toBe('f2f2f2f')
    // An identical apply changes nothing: same generation; no write to objects without a controller.
    const unchanged = await cluster.apply(files, nextCommit, new Deadline(60_000))
    expect(unchanged.map(a => a.generation)).toEqual(again.map(a => a.generation))
    expect(unchanged.slice(0, 2).map(a => a.resourceVersion)).toEqual(again.slice(0, 2).map(a => a.resourceVersion))
  })

  it('applies a CRD and its custom resource in one set, checking the resource once the CRD exists', async () => {
    const group = `${namespace}.example.com`
    const crdName = `widgets.${group}`
    cleanups.push(`/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crdName}`)
    const files: EnvFile[] = [
      {
        path: 'apps/web/widget.yaml',
        content: `apiVersion: ${group}/v1
kind: Widget
metadata: {name: blue}
spec: {size: 3}
`
      },
      {
        path: 'apps/web/crd.yaml',
        content: `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: ${crdName}}
spec:
  group: ${group}
  scope: Namespaced
  names: {kind: Widget, plural: widgets, singular: widget, listKind: WidgetList}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              size: {type: integer}
`
      }
    ]
    const report = await cluster.validate(files)
    expect(report.checked).toEqual([`CustomResourceDefinition ${crdName}`])
    expect(report.deferred).toEqual([
      { object: `Widget ${namespace}/blue`, reason: `checked after its CustomResourceDefinition ${crdName} is created` }
    ])
    const applied = await cluster.apply(files, ANNOTATIONS, new Deadline(60_000))
    expect(applied.map(a => `${a.kind}/${a.name}/${a.created}`)).toEqual([
      `CustomResourceDefinition/${crdName}/true`,
      'Widget/blue/true'
    ])
    const widget = await getObject(client, `/apis/${group}/v1/namespaces/${namespace}/widgets/blue`)
    expect(widget?.spec).toEqual({ size: 3 })
  })

  it('applies a new Namespace and what goes into it', async () => {
    const created = uniqueName('kube-apply-ns')
    cleanups.push(`/api/v1/namespaces/${created}`)
    const files: EnvFile[] = [
      {
        path: 'apps/web/ns.yaml',
        content: `apiVersion: v1
kind: ConfigMap
metadata: {name: inside, namespace: ${created}}
data: {a: "1"}
---
apiVersion: v1
kind: Namespace
metadata: {name: ${created}}
`
      }
    ]
    const report = await cluster.validate(files)
    expect(report.deferred).toEqual([
      { object: `ConfigMap ${created}/inside`, reason: `checked after its Namespace ${created} is created` }
    ])
    const applied = await cluster.apply(files, {}, new Deadline(60_000))
    expect(applied.map(a => `${a.kind}/${a.namespace ?? '-'}/${a.name}`)).toEqual([
      `Namespace/-/${created}`,
      `ConfigMap/${created}/inside`
    ])
    expect((await getObject(client, `/api/v1/namespaces/${created}/configmaps/inside`))?.data).toEqual({ a: '1' })
  })

  it('refuses a set with an unknown or invalid field and applies nothing', async () => {
    const files: EnvFile[] = [
      {
        path: 'apps/web/cm.yaml',
        content: 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: never}\ndata: {a: "1"}\n'
      },
      { path: 'apps/web/bad.yaml', content: deployment('bad', { replicaz: 2 }) },
      { path: 'apps/web/worse.yaml', content: deployment('worse', {}, { imagePullPolicy: 'Sometimes' }) }
    ]
    const error = await cluster.validate(files).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ValidationError)
    const problems = (error as ValidationError).problems.sort()
    expect(problems).toHaveLength(2)
    expect(problems[0]).toMatch(
      new RegExp(`^Deployment ${namespace}/bad: .*\\.spec\\.replicaz: field not declared in schema`)
    )
    expect(problems[1]).toMatch(
      new RegExp(
        `^Deployment ${namespace}/worse: spec\\.template\\.spec\\.containers\\[0\\]\\.imagePullPolicy: Unsupported value: "Sometimes"`
      )
    )
    for (const path of [
      `/api/v1/namespaces/${namespace}/configmaps/never`,
      `/apis/apps/v1/namespaces/${namespace}/deployments/bad`,
      `/apis/apps/v1/namespaces/${namespace}/deployments/worse`
    ]) {
      expect(await getObject(client, path)).toBeUndefined()
    }
  })

  it('stops after the Namespace wave when an object waiting for it fails its dry run', async () => {
    const created = uniqueName('kube-apply-ns')
    cleanups.push(`/api/v1/namespaces/${created}`)
    const files: EnvFile[] = [
      {
        path: 'apps/web/ns.yaml',
        content: `apiVersion: v1\nkind: Namespace\nmetadata: {name: ${created}}\n---\n${deployment('inner', { replicaz: 1 }).replace('{"name":"inner"}', `{"name":"inner","namespace":"${created}"}`)}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: fine, namespace: ${created}}\n`
      }
    ]
    const error = await cluster.apply(files, {}, new Deadline(60_000)).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ApplyError)
    expect((error as ApplyError).problems).toEqual([
      expect.stringMatching(new RegExp(`^Deployment ${created}/inner: .*replicaz`))
    ])
    expect((error as ApplyError).applied.map(a => a.kind)).toEqual(['Namespace'])
    expect(await getObject(client, `/api/v1/namespaces/${created}/configmaps/fine`)).toBeUndefined()
  })

  it('leaves replicas to whoever scaled the Deployment when the manifest omits them', async () => {
    const files: EnvFile[] = [{ path: 'apps/web/hpa-style.yaml', content: deployment('scaled') }]
    await cluster.apply(files, ANNOTATIONS, new Deadline(60_000))
    const path = `/apis/apps/v1/namespaces/${namespace}/deployments/scaled`
    // What `kubectl scale` does: the scale subresource, under its own field manager.
    await client.request('PATCH', `${path}/scale`, {
      query: { fieldManager: 'kubectl-scale' },
      body: JSON.stringify({ spec: { replicas: 3 } }),
      contentType: 'application/merge-patch+json'
    })
    await cluster.apply(files, { ...ANNOTATIONS, 'gitops-push-deploy/env-commit': 'f2f2f2f' }, new Deadline(60_000))
    const live = await getObject(client, path)
    expect(live?.spec?.replicas).toBe(3)
  })

  it('never logs a credential of the kubeconfig', () => {
    expect(host.lines.length).toBeGreaterThan(5)
    expectNoKubeconfigSecrets(host)
  })
})
