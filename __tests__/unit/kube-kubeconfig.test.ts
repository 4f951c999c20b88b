import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals'
import { KubeConfigError, loadKubeConfig } from '../../src/kube/kubeconfig.js'

const TOKEN = 'sekrit-token-0123456789'
const kubeconfig = (extra: { currentContext?: string; user?: string } = {}): string => `apiVersion: v1
kind: Config
clusters:
- name: one
  cluster: {server: 'https://127.0.0.1:6443'}
- name: two
  cluster: {server: 'https://127.0.0.1:7443/prefix'}
contexts:
- name: first
  context: {cluster: one, user: u, namespace: team}
- name: second
  context: {cluster: two, user: u}
${extra.currentContext === undefined ? '' : `current-context: ${extra.currentContext}`}
users:
- name: u
  user: ${extra.user ?? `{token: ${TOKEN}}`}
`

describe('loadKubeConfig', () => {
  let runnerTemp: string
  beforeEach(() => {
    runnerTemp = mkdtempSync(path.join(os.tmpdir(), 'kube-kubeconfig-test-'))
  })
  afterEach(() => rmSync(runnerTemp, { recursive: true, force: true }))

  it('uses the current context and its namespace, writing nothing to disk', () => {
    const loaded = loadKubeConfig(kubeconfig({ currentContext: 'first' }), undefined, { RUNNER_TEMP: runnerTemp })
    expect(loaded.server).toBe('https://127.0.0.1:6443')
    expect(loaded.contextNamespace).toBe('team')
    expect(readdirSync(runnerTemp)).toEqual([])
  })

  it('switches to the named context', () => {
    const loaded = loadKubeConfig(kubeconfig({ currentContext: 'first' }), 'second', { RUNNER_TEMP: runnerTemp })
    expect(loaded.server).toBe('https://127.0.0.1:7443/prefix')
    expect(loaded.contextNamespace).toBeUndefined()
  })

  it('names the available contexts when the given one is missing', () => {
    expect(() => loadKubeConfig(kubeconfig({ currentContext: 'first' }), 'prod')).toThrow(
      new KubeConfigError('kube-context "prod" is not in the kubeconfig; available contexts: first, second')
    )
  })

  it('asks for a context when there is no current one', () => {
    expect(() => loadKubeConfig(kubeconfig(), undefined)).toThrow(
      'the kubeconfig has no usable current-context; set kube-context; available contexts: first, second'
    )
  })

  it('gives an exec credential plugin a 0600 kubeconfig in RUNNER_TEMP, removed by cleanup', () => {
    const user = `{exec: {apiVersion: client.authentication.k8s.io/v1, command: get-token, env: [{name: A, value: b}]}}`
    const loaded = loadKubeConfig(kubeconfig({ currentContext: 'first', user }), undefined, { RUNNER_TEMP: runnerTemp })
    const env = (loaded.kc.getCurrentUser()?.exec as { env: Array<{ name: string; value: string }> }).env
    const file = env.find(e => e.name === 'KUBECONFIG')?.value ?? ''
    expect(env.find(e => e.name === 'A')?.value).toBe('b')
    expect(file.startsWith(runnerTemp)).toBe(true)
    expect(statSync(file).mode & 0o777).toBe(0o600)
    expect(readFileSync(file, 'utf8')).toContain('get-token')
    loaded.cleanup()
    expect(readdirSync(runnerTemp)).toEqual([])
  })

  it('never quotes a credential when the kubeconfig cannot be read', () => {
    const broken = kubeconfig({ currentContext: 'first' }).replace('- name: one', `- name: one\n  extra: [${TOKEN}`)
    let message = ''
    try {
      loadKubeConfig(broken, undefined)
    } catch (error) {
      message = (error as Error).message
    }
    expect(message).toMatch(/^kubeconfig could not be read/)
    expect(message).not.toContain(TOKEN)
  })

  it('reports a parse error by position, never quoting a line', () => {
    const broken = kubeconfig({ currentContext: 'first' }).replace('- name: one', `- name: one\n  extra: [${TOKEN}`)
    expect(() => loadKubeConfig(broken, undefined)).toThrow(
      /^kubeconfig could not be read: YAML error at line \d+, column \d+ \(/
    )
  })

  it('puts the impersonation headers on every request it prepares', async () => {
    const loaded = loadKubeConfig(
      kubeconfig({ currentContext: 'first' }),
      undefined,
      {},
      {
        user: 'system:serviceaccount:web:deployer',
        groups: ['system:serviceaccounts', 'devs']
      }
    )
    for (let i = 0; i < 2; i++) {
      const options: { headers?: Record<string, unknown> } = {}
      await loaded.kc.applyToHTTPSOptions(options)
      expect(options.headers?.['Impersonate-User']).toBe('system:serviceaccount:web:deployer')
      expect(options.headers?.['Impersonate-Group']).toEqual(['system:serviceaccounts', 'devs'])
      expect(options.headers?.Authorization).toBe(`Bearer ${TOKEN}`)
    }
  })

  it('sends no impersonation headers without kube-as', async () => {
    const loaded = loadKubeConfig(kubeconfig({ currentContext: 'first' }), undefined, {})
    const options: { headers?: Record<string, unknown> } = {}
    await loaded.kc.applyToHTTPSOptions(options)
    expect(options.headers?.['Impersonate-User']).toBeUndefined()
  })
})
