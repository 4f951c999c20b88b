import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { Deadline } from '../../src/lib/deadline.js'
import { Cluster, LockTimeoutError } from '../../src/kube/index.js'
import { type KubeClient } from '../../src/kube/client.js'
import { acquireLease, type LeaseRecord, leaseName, microTime } from '../../src/kube/lease.js'
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

describe('deploy lock (Lease) on the test bed', () => {
  const host = new RecordingHost()
  const namespace = uniqueName('kube-lock')
  let client: KubeClient
  let cluster: Cluster
  const leasePath = (key: string): string =>
    `/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases/${leaseName(namespace, key)}`

  beforeAll(async () => {
    client = testClient()
    await createNamespace(client, namespace)
    cluster = await Cluster.connect(configFor(namespace), host)
  })

  afterAll(async () => {
    cluster?.close()
    await deleteQuietly(client, `/api/v1/namespaces/${namespace}`)
  })

  it('makes a second holder wait, then fail naming the first; frees it on release', async () => {
    const first = await cluster.lock('apps/web', 'https://github.com/o/app/actions/runs/1', new Deadline(5000))
    const lease = await getObject<LeaseRecord>(client, leasePath('apps/web'))
    expect(lease?.spec).toMatchObject({
      holderIdentity: 'https://github.com/o/app/actions/runs/1',
      leaseDurationSeconds: 30
    })

    const started = Date.now()
    const error = await cluster
      .lock('apps/web', 'https://github.com/o/app/actions/runs/2', new Deadline(3000))
      .catch((e: unknown) => e)
    expect(Date.now() - started).toBeGreaterThanOrEqual(3000)
    expect(error).toBeInstanceOf(LockTimeoutError)
    expect((error as Error).message).toMatch(
      new RegExp(
        `^deploy lock ${namespace}/gitops-push-deploy-[0-9a-f]{16} is held by https://github.com/o/app/actions/runs/1 `
      )
    )
    expect(host.lines).toContain(
      `waiting for deploy lock ${namespace}/${leaseName(namespace, 'apps/web')}, held by https://github.com/o/app/actions/runs/1`
    )

    // Another env path is another lock.
    const other = await cluster.lock('apps/api', 'https://github.com/o/app/actions/runs/2', new Deadline(1000))
    await other.release()

    const waiting = cluster.lock('apps/web', 'https://github.com/o/app/actions/runs/3', new Deadline(10_000))
    await new Promise(resolve => setTimeout(resolve, 500))
    await first.release()
    const third = await waiting
    expect((await getObject<LeaseRecord>(client, leasePath('apps/web')))?.spec?.holderIdentity).toBe(
      'https://github.com/o/app/actions/runs/3'
    )
    await third.release()
    expect(await getObject(client, leasePath('apps/web'))).toBeUndefined()
  })

  it('takes over the lease of a crashed holder', async () => {
    const stale = new Date(Date.now() - 5 * 60_000)
    await client.request('POST', `/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases`, {
      body: JSON.stringify({
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name: leaseName(namespace, 'apps/crashed') },
        spec: {
          holderIdentity: 'crashed-run',
          leaseDurationSeconds: 30,
          acquireTime: microTime(stale),
          renewTime: microTime(stale),
          leaseTransitions: 4
        }
      })
    })
    const held = await cluster.lock('apps/crashed', 'rescuer', new Deadline(20_000))
    // Taken on the first read: an expired lease is never waited on.
    const lockName = `${namespace}/${leaseName(namespace, 'apps/crashed')}`
    expect(host.lines.filter(line => line.includes(lockName))).toEqual([
      `took over expired deploy lock ${lockName} from crashed-run`,
      `deploy lock ${lockName} acquired`
    ])
    const lease = await getObject<LeaseRecord>(client, leasePath('apps/crashed'))
    expect(lease?.spec).toMatchObject({ holderIdentity: 'rescuer', leaseTransitions: 5 })
    await held.release()
  })

  it('renews the lease while held', async () => {
    const name = leaseName(namespace, 'apps/renewed')
    const held = await acquireLease(client, namespace, name, 'renewer', new Deadline(1000), {
      renewEveryMs: 300,
      log: () => {},
      warn: line => host.warning(line)
    })
    const first = (await getObject<LeaseRecord>(client, leasePath('apps/renewed')))?.spec?.renewTime ?? ''
    await new Promise(resolve => setTimeout(resolve, 1200))
    const later = (await getObject<LeaseRecord>(client, leasePath('apps/renewed')))?.spec?.renewTime ?? ''
    expect(Date.parse(later)).toBeGreaterThan(Date.parse(first))
    await held.release()
    expect(host.lines.filter(line => line.startsWith('warning:'))).toEqual([])
  })

  it('never logs a credential of the kubeconfig', () => {
    expectNoKubeconfigSecrets(host)
  })
})
