import { RecordingHost } from './recording-host.js'
import { testbedKubeconfigFile } from './testbed.js'
import { readFileSync } from 'node:fs'
import { expect } from '@jest/globals'
import { type Config, kubeconfigSecrets, parseConfig } from '../../src/config/index.js'
import { isNotFound, KubeClient } from '../../src/kube/client.js'
import { loadKubeConfig } from '../../src/kube/kubeconfig.js'

/** Shared by the kube apply, lock and rollback integration tests on the test bed. */

/** The text of the cluster's admin kubeconfig. */
export function testbedKubeconfig(): string {
  return readFileSync(testbedKubeconfigFile(), 'utf8')
}

export function configFor(namespace: string, inputs: Record<string, string> = {}): Config {
  return parseConfig(
    {
      image: 'registry.test/app',
      tag: 'test',
      build: 'false',
      'env-repo': 'owner/env',
      'env-path': 'apps/web',
      'env-token': 'env-token',
      kubeconfig: testbedKubeconfig(),
      namespace,
      ...inputs
    },
    { serverUrl: 'https://github.com', apiUrl: 'https://api.github.com', workspace: process.cwd() }
  )
}

/** Every line the code under test said, as it said it (nothing masked). */
/** Fails if any credential of the test bed kubeconfig reached the host. */
export { RecordingHost }

export function expectNoKubeconfigSecrets(host: RecordingHost): void {
  const secrets = kubeconfigSecrets(testbedKubeconfig())
  expect(secrets.length).toBeGreaterThan(0)
  const logged = host.lines.join('\n')
  for (const secret of secrets) expect(logged.includes(secret)).toBe(false)
}

/** A plain client for checking the cluster from the test's side. */
export function testClient(): KubeClient {
  const loaded = loadKubeConfig(testbedKubeconfig(), undefined)
  return new KubeClient(loaded.kc, loaded.server)
}

export { uniqueName } from './testbed.js'

export async function createNamespace(client: KubeClient, name: string): Promise<void> {
  await client.request('POST', '/api/v1/namespaces', {
    body: JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } })
  })
}

/** The object, or undefined when it does not exist. */
export async function getObject<T = LiveObject>(client: KubeClient, path: string): Promise<T | undefined> {
  try {
    return (await client.request<T>('GET', path)).body
  } catch (error) {
    if (isNotFound(error)) return undefined
    throw error
  }
}

export async function deleteQuietly(client: KubeClient, path: string): Promise<void> {
  try {
    await client.request('DELETE', path)
  } catch (error) {
    if (!isNotFound(error)) throw error
  }
}

export interface LiveObject {
  metadata: {
    name: string
    uid: string
    resourceVersion: string
    generation?: number
    annotations?: Record<string, string>
  }
  data?: Record<string, string>
  spec?: Record<string, unknown>
}
