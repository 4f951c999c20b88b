// No secret input reaches what a run prints, even when the stages put them everywhere: thrown
// errors, log lines, report fields. Fake stages at the ports; the real redactor (CliHost's) and
// the pipeline's own registration of the secret inputs.
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals'
import { CliHost } from '../../src/host/cli-host.js'
import { runPipeline } from '../../src/pipeline/pipeline.js'
import { type Stages } from '../../src/pipeline/ports.js'
import {
  FAKE_CONTEXT,
  FAKE_IMAGE,
  fakeStages,
  withCluster,
  withEnvRepo,
  type Scenario
} from '../../test/helpers/fake-stages.js'

const KUBE_TOKEN = 'kube-token-8c41f0e2b7'
const KUBE_PASSWORD = 'kube-password-5d2e91'
const ENV_TOKEN = 'ghp_envtoken1234567890abcdef'
const GITHUB_TOKEN = 'ghs_githubtoken0987654321fedc'
const REGISTRY_PASSWORD = 'registry-password-77aa3c'
const SECRETS = [KUBE_TOKEN, KUBE_PASSWORD, ENV_TOKEN, GITHUB_TOKEN, REGISTRY_PASSWORD]

const KUBECONFIG = `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]
users: [{name: u, user: {token: ${KUBE_TOKEN}, username: admin, password: ${KUBE_PASSWORD}}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
`
const KUBECONFIG_BASE64 = Buffer.from(KUBECONFIG).toString('base64')

const context = FAKE_CONTEXT

function inputs(kubeconfig: string): Record<string, string> {
  return {
    image: FAKE_IMAGE,
    tag: 'v2',
    build: 'false',
    'registry-username': 'deployer',
    'registry-password': REGISTRY_PASSWORD,
    'env-repo': 'acme/env',
    'env-path': 'apps/web',
    'env-token': ENV_TOKEN,
    'github-token': GITHUB_TOKEN,
    kubeconfig
  }
}

/** Where the stages put `leak` (every secret, and the kubeconfig as given). */
type Leak = (stages: Stages, leak: string) => Stages

const LEAKS: Array<[string, Scenario, Leak]> = [
  [
    'a build error',
    {},
    (stages, leak) => ({
      ...stages,
      build: async () => {
        throw new Error(`buildah login failed: ${leak}`)
      }
    })
  ],
  [
    'an env repo that cannot be opened',
    {},
    (stages, leak) => ({
      ...stages,
      openEnvRepo: async () => {
        throw new Error(`GET /repos/acme/env answered 401: ${leak}`)
      }
    })
  ],
  [
    'a cluster connection error quoting the kubeconfig',
    {},
    (stages, leak) => ({
      ...stages,
      connectCluster: async () => {
        throw new Error(`cannot reach the cluster of this kubeconfig:\n${leak}`)
      }
    })
  ],
  [
    'log lines of a stage, at every level',
    {},
    (stages, leak) => ({
      ...stages,
      build: async (config, host) => {
        host.debug(leak)
        host.info(leak)
        host.warning(leak)
        host.error(leak)
        return stages.build(config, host)
      }
    })
  ],
  [
    'the diff of the edit (logged and in the summary)',
    {},
    (stages, leak) =>
      withEnvRepo(stages, repo => ({
        plan: async edit => ({ ...(await repo.plan(edit)), diff: `-v1\n+v2 ${leak}` })
      }))
  ],
  [
    'the commit URL and previous image (outputs and summary)',
    {},
    (stages, leak) =>
      withEnvRepo(stages, repo => ({
        commit: async (edit, message) => {
          const commit = await repo.commit(edit, message)
          return (
            commit && { ...commit, url: `https://x-access-token:${ENV_TOKEN}@github.com/c0ffee`, previousImage: leak }
          )
        }
      }))
  ],
  [
    'a validation error',
    {},
    (stages, leak) =>
      withCluster(stages, () => ({
        validate: async () => {
          throw new Error(`Deployment web/web is invalid: ${leak}`)
        }
      }))
  ],
  [
    'drifted fields (log, drift output)',
    {},
    (stages, leak) =>
      withCluster(stages, () => ({
        drift: async () => ({
          items: [{ kind: 'Secret', namespace: 'web', name: 'web', state: 'changed', fields: [leak], managers: [] }],
          unlabelled: 0
        })
      }))
  ],
  [
    'an apply error carrying what it applied',
    {},
    (stages, leak) =>
      withCluster(stages, cluster => ({
        apply: async (files, stamp, deadline) => {
          const applied = await cluster.apply(files, stamp, deadline)
          throw Object.assign(new Error(`apply stopped: ${leak}`), { applied })
        }
      }))
  ],
  [
    'a rollout diagnosis and resource rows (failure, resources output)',
    {},
    (stages, leak) =>
      withCluster(stages, () => ({
        waitForRollout: async () => ({
          ok: false,
          seconds: 1,
          resources: [{ kind: 'Deployment', namespace: 'web', name: 'web', status: 'failed', message: leak }],
          failure: `deployment/web: ${leak}`
        })
      }))
  ],
  [
    'a failed rollback',
    { rolloutOk: false },
    (stages, leak) =>
      withCluster(stages, () => ({
        rollback: async () => ({ ok: false, seconds: 1, resources: [], failure: leak })
      }))
  ],
  [
    'a refused revert',
    { rolloutOk: false },
    (stages, leak) =>
      withEnvRepo(stages, () => ({
        revert: async () => {
          throw new Error(`Repository rule violations found: ${leak}`)
        }
      }))
  ]
]

/** Everything a run shows: log and summary (CliHost writes both), outputs, GitHub Deployment statuses. */
async function everythingShown(kubeconfig: string, scenario: Scenario, leaky: Leak): Promise<string> {
  const written: string[] = []
  const host = new CliHost(text => written.push(text))
  const deploymentStatuses: string[] = []
  const stages: Stages = {
    ...leaky(fakeStages(scenario).stages, `leaked: ${SECRETS.join(' ')}\n${kubeconfig}`),
    startDeployment: async () => ({
      id: 1,
      status: async (state, description) => {
        deploymentStatuses.push(`${state} ${description}`)
      }
    })
  }
  await runPipeline(host, inputs(kubeconfig), stages, context)
  return [...written, host.formatOutputs(false), host.formatOutputs(true), ...deploymentStatuses].join('\n')
}

describe('no secret input is ever shown', () => {
  let runnerDebug: string | undefined
  beforeEach(() => {
    // Debug lines too: CliHost prints them only in debug runs.
    runnerDebug = process.env.RUNNER_DEBUG
    process.env.RUNNER_DEBUG = '1'
  })
  afterEach(() => {
    if (runnerDebug === undefined) delete process.env.RUNNER_DEBUG
    else process.env.RUNNER_DEBUG = runnerDebug
  })

  describe.each([
    ['kubeconfig as YAML', KUBECONFIG, SECRETS],
    ['kubeconfig as one base64 line', KUBECONFIG_BASE64, [...SECRETS, KUBECONFIG_BASE64]]
  ])('%s', (_name, kubeconfig, secrets) => {
    it.each(LEAKS)('in %s', async (_where, scenario, leaky) => {
      const shown = await everythingShown(kubeconfig, scenario, leaky)
      // The leak was shown, masked: the run reached the stage that leaks.
      expect(shown).toContain('leaked: *** *** *** *** ***')
      for (const secret of secrets) expect(shown).not.toContain(secret)
    })
  })
})
