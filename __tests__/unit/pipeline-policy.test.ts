// The pipeline's order and failure policy, with fake stages (pure logic: the stages
// themselves are tested on the real test bed).
import { describe, expect, it } from '@jest/globals'
import { CliHost } from '../../src/host/cli-host.js'
import { deploymentState, runPipeline, type Stages } from '../../src/pipeline/pipeline.js'
import {
  FAKE_DIGEST as DIGEST,
  FAKE_CONTEXT,
  FAKE_IMAGE,
  fakeStages,
  withCluster,
  type Scenario
} from '../../test/helpers/fake-stages.js'

const KUBECONFIG = `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]
users: [{name: u, user: {token: kube-token-secret}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
`

const context = FAKE_CONTEXT

const baseInputs = {
  image: FAKE_IMAGE,
  tag: 'v2',
  build: 'false',
  'env-repo': 'acme/env',
  'env-path': 'apps/web',
  'env-token': 'env-token-secret',
  kubeconfig: KUBECONFIG
}

async function run(inputs: Record<string, string>, scenario: Scenario = {}) {
  const { stages, calls } = fakeStages(scenario)
  const logs: string[] = []
  const host = new CliHost(text => logs.push(text))
  const cancel = scenario.cancelDuringRollout?.signal
  const result = await runPipeline(host, { ...baseInputs, ...inputs }, stages, context, cancel)
  return { result, calls, outputs: Object.fromEntries(host.outputs), log: logs.join('') }
}

describe('pipeline policy', () => {
  it.each<[string, Record<string, string>, Scenario, string, string[]]>([
    [
      'success',
      {},
      {},
      'deployed',
      ['build', 'plan', 'validate', 'drift', 'commit', 'lock', 'apply c0ffee', 'wait', 'prune', 'release', 'close']
    ],
    [
      'prune disabled',
      { prune: 'false' },
      {},
      'deployed',
      ['build', 'plan', 'validate', 'drift', 'commit', 'lock', 'apply c0ffee', 'wait', 'release', 'close']
    ],
    [
      'drift warned, then repaired by the deploy',
      {},
      { drifted: 2 },
      'deployed',
      ['build', 'plan', 'validate', 'drift', 'commit', 'lock', 'apply c0ffee', 'wait', 'prune', 'release', 'close']
    ],
    [
      'drift ignored: not checked',
      { drift: 'ignore' },
      { drifted: 2 },
      'deployed',
      ['build', 'plan', 'validate', 'commit', 'lock', 'apply c0ffee', 'wait', 'prune', 'release', 'close']
    ],
    [
      'drift fail: nothing committed or applied',
      { drift: 'fail' },
      { drifted: 1 },
      'drifted',
      ['build', 'plan', 'validate', 'drift', 'close']
    ],
    [
      'a failed prune rolls back (pruned objects come back with the previous state)',
      {},
      { pruneOk: false },
      'rolled-back',
      [
        'build',
        'plan',
        'validate',
        'drift',
        'commit',
        'lock',
        'apply c0ffee',
        'wait',
        'prune',
        'readFiles base',
        'rollback',
        'revert',
        'release',
        'close'
      ]
    ],
    ['already at target, cluster equal', {}, { changes: 0 }, 'unchanged', ['build', 'plan', 'drift', 'close']],
    [
      'already at target, cluster differs: applied at head',
      {},
      { changes: 0, drifted: 1 },
      'reconciled',
      ['build', 'plan', 'drift', 'lock', 'apply base', 'wait', 'prune', 'release', 'close']
    ],
    [
      'already at target, objects not in the inventory yet: adopted',
      {},
      { changes: 0, unlabelled: 3 },
      'reconciled',
      ['build', 'plan', 'drift', 'lock', 'apply base', 'wait', 'prune', 'release', 'close']
    ],
    [
      'already at target, cluster differs, rollout fails: no commit to revert',
      {},
      { changes: 0, drifted: 1, rolloutOk: false },
      'failed',
      ['build', 'plan', 'drift', 'lock', 'apply base', 'wait', 'release', 'close']
    ],
    [
      'already at target with drift fail',
      { drift: 'fail' },
      { changes: 0, drifted: 1 },
      'drifted',
      ['build', 'plan', 'drift', 'close']
    ],
    [
      'already at target in pull-request mode: not checked',
      { 'commit-mode': 'pull-request' },
      { changes: 0, drifted: 1 },
      'unchanged',
      ['build', 'plan', 'close']
    ],
    [
      'reconcile: no build, no commit, no image',
      { mode: 'reconcile', image: '', tag: '' },
      { drifted: 1 },
      'reconciled',
      ['current', 'drift', 'lock', 'apply head', 'wait', 'prune', 'release', 'close']
    ],
    [
      'reconcile in sync: nothing applied',
      { mode: 'reconcile', image: '' },
      {},
      'reconciled',
      ['current', 'drift', 'close']
    ],
    [
      'reconcile with drift fail',
      { mode: 'reconcile', drift: 'fail' },
      { drifted: 1 },
      'drifted',
      ['current', 'drift', 'close']
    ],
    [
      'reconcile dry run',
      { mode: 'reconcile', 'dry-run': 'true' },
      { drifted: 1 },
      'planned',
      ['current', 'drift', 'close']
    ],
    ['reconcile needs a kubeconfig', { mode: 'reconcile', kubeconfig: '' }, {}, 'failed', []],
    ['dry run', { 'dry-run': 'true' }, {}, 'planned', ['build', 'plan', 'validate', 'drift', 'close']],
    [
      'invalid descriptors never reach Git',
      {},
      { validateError: 'Deployment web: unknown field' },
      'failed',
      ['build', 'plan', 'validate', 'close']
    ],
    ['commit only', { apply: 'false', kubeconfig: '' }, {}, 'committed', ['build', 'plan', 'commit']],
    ['pull request', { 'commit-mode': 'pull-request', kubeconfig: '' }, {}, 'proposed', ['build', 'plan', 'propose']],
    [
      'failed rollout rolls back and reverts',
      {},
      { rolloutOk: false },
      'rolled-back',
      [
        'build',
        'plan',
        'validate',
        'drift',
        'commit',
        'lock',
        'apply c0ffee',
        'wait',
        'readFiles base',
        'rollback',
        'revert',
        'release',
        'close'
      ]
    ],
    [
      'failed apply rolls back too',
      {},
      { applyError: 'conflict' },
      'rolled-back',
      [
        'build',
        'plan',
        'validate',
        'drift',
        'commit',
        'lock',
        'apply c0ffee',
        'readFiles base',
        'rollback',
        'revert',
        'release',
        'close'
      ]
    ],
    [
      'failed rollback is failed',
      {},
      { rolloutOk: false, rollbackOk: false },
      'failed',
      [
        'build',
        'plan',
        'validate',
        'drift',
        'commit',
        'lock',
        'apply c0ffee',
        'wait',
        'readFiles base',
        'rollback',
        'revert',
        'release',
        'close'
      ]
    ],
    [
      'a revert a branch rule refuses after the rollback is failed',
      {},
      { rolloutOk: false, revertError: 'Repository rule violations found' },
      'failed',
      [
        'build',
        'plan',
        'validate',
        'drift',
        'commit',
        'lock',
        'apply c0ffee',
        'wait',
        'readFiles base',
        'rollback',
        'revert',
        'release',
        'close'
      ]
    ],
    [
      'rollback disabled',
      { rollback: 'false' },
      { rolloutOk: false },
      'failed',
      ['build', 'plan', 'validate', 'drift', 'commit', 'lock', 'apply c0ffee', 'wait', 'release', 'close']
    ],
    ['bad input runs nothing', { timeout: 'soon' }, {}, 'failed', []],
    [
      'an unusable env repo fails before the build',
      {},
      { envError: 'env-token is not valid (401)' },
      'failed',
      ['close']
    ]
  ])('%s', async (_name, inputs, scenario, status, calls) => {
    const outcome = await run(inputs, scenario)
    expect(outcome.result.status).toBe(status)
    expect(outcome.calls).toEqual(calls)
    expect(outcome.outputs.status).toBe(status)
  })

  it('sets every declared output, in every outcome', async () => {
    for (const scenario of [{}, { rolloutOk: false }]) {
      const { outputs } = await run({}, scenario)
      expect(Object.keys(outputs).sort()).toEqual(
        [
          'status',
          'image',
          'digest',
          'previous-image',
          'env-commit',
          'env-commit-url',
          'revert-commit',
          'pull-request-url',
          'resources',
          'rollout-seconds',
          'drift',
          'deployment-id'
        ].sort()
      )
    }
  })

  it('reports the deploy and the rollback in outputs and summary', async () => {
    const { outputs, log } = await run({}, { rolloutOk: false })
    expect(outputs).toMatchObject({
      image: `registry.local:5000/team/web:v2@${DIGEST}`,
      digest: DIGEST,
      'previous-image': 'registry.local:5000/team/web:v1',
      'env-commit': 'c0ffee',
      'revert-commit': 'rev',
      'rollout-seconds': '3.3'
    })
    expect(JSON.parse(outputs.resources)).toEqual([
      { kind: 'Deployment', namespace: 'web', name: 'web', status: 'failed', message: 'ImagePullBackOff' }
    ])
    expect(log).toContain('Rolled back after a failed rollout')
    expect(log).toContain('ImagePullBackOff: not found')
    expect(log).toContain('Rollback: succeeded')
  })

  it('the plan lists every object the apply would create, change or leave, and what a prune deletes', async () => {
    const { log } = await run({ 'dry-run': 'true', prune: 'true' }, { extra: 1 })
    expect(log).toContain('Plan (server-side dry run):\n    1 change, 1 unchanged, 1 delete\n')
    expect(log).toContain(
      '    change    Deployment web/web\n    unchanged Service web/web\n    delete    ConfigMap web/old-0'
    )
  })

  it('reports drift in the log, the summary and the drift output; previous-image on unchanged runs', async () => {
    const { outputs, log } = await run({}, { changes: 0, drifted: 1 })
    expect(JSON.parse(outputs.drift)).toEqual([
      {
        kind: 'Deployment',
        namespace: 'web',
        name: 'web-0',
        state: 'changed',
        fields: ['spec.replicas'],
        managers: ['kubectl']
      }
    ])
    expect(outputs['previous-image']).toBe(`registry.local:5000/team/web:v2@${DIGEST}`)
    expect(log).toContain('changed Deployment web/web-0: spec.replicas (owned by kubectl)')
    expect(log).toContain('1 object(s) drifted from Git')
    expect(log).toContain('Reconciled')
    const ignored = await run({ drift: 'ignore' }, { drifted: 1 })
    expect(ignored.outputs.drift).toBe('')
  })

  it('cancelled during the rollout: no rollback, no revert, lock released, status cancelled', async () => {
    const deploymentStates: string[] = []
    const { stages, calls } = fakeStages({ cancelDuringRollout: new AbortController() })
    const controller = new AbortController()
    const cancelling: Stages = {
      ...withCluster(stages, cluster => ({
        waitForRollout: (applied, deadline, since) => {
          controller.abort(new Error('cancelled (SIGINT)'))
          return cluster.waitForRollout(applied, deadline, since, controller.signal)
        }
      })),
      async startDeployment() {
        return {
          id: 9,
          async status(state, description) {
            deploymentStates.push(`${state}: ${description}`)
          }
        }
      }
    }
    const logs: string[] = []
    const host = new CliHost(text => logs.push(text))
    const result = await runPipeline(host, baseInputs, cancelling, context, controller.signal)
    expect(result.status).toBe('cancelled')
    expect(calls).toEqual([
      'build',
      'plan',
      'validate',
      'drift',
      'commit',
      'lock',
      'apply c0ffee',
      'wait',
      'release',
      'close'
    ])
    expect(Object.fromEntries(host.outputs).status).toBe('cancelled')
    expect(deploymentStates).toEqual(['error: cancelled'])
    expect(logs.join('')).toMatch(/the cluster was left as it is \(Git and the cluster both hold .*web:v2/)
    expect(logs.join('')).toContain('Cancelled')
  })

  it('cancelled while the apply waits on a Helm pre-hook: the apply gets the signal; no rollback, no revert, lock released', async () => {
    const { stages, calls } = fakeStages({})
    const controller = new AbortController()
    const cancelling = withCluster(stages, cluster => ({
      apply: async (files, stamp, deadline, signal) => {
        await cluster.apply(files, stamp, deadline)
        controller.abort(new Error('cancelled (SIGTERM)'))
        // the pre-hook wait ends only through the signal
        if (!signal?.aborted) throw new Error('apply without the run’s cancel signal')
        throw new Error('Helm pre-hook failed: rollout tracking was cancelled')
      }
    }))
    const logs: string[] = []
    const host = new CliHost(text => logs.push(text))
    const result = await runPipeline(host, baseInputs, cancelling, context, controller.signal)
    expect(result.status).toBe('cancelled')
    expect(calls).toEqual(['build', 'plan', 'validate', 'drift', 'commit', 'lock', 'apply c0ffee', 'release', 'close'])
    expect(result.report.failure).toMatch(
      /^cancelled: the cluster was left as it is, maybe with only part of this run's objects applied \(Git holds .*web:v2@sha256:[0-9a-f]{64}, env commit c0ffee: the next run or a reconcile applies it\)\nHelm pre-hook failed: rollout tracking was cancelled$/
    )
    expect(logs.join('')).toContain(result.report.failure)
  })

  it('cancelled before a stage starts: that stage never runs', async () => {
    const controller = new AbortController()
    controller.abort(new Error('cancelled (SIGTERM)'))
    const { stages, calls } = fakeStages({})
    const host = new CliHost(() => {})
    const result = await runPipeline(host, baseInputs, stages, context, controller.signal)
    expect(result.status).toBe('cancelled')
    expect(calls).not.toContain('build')
    expect(calls).not.toContain('commit')
  })
})

describe('a revert refused after a rollback', () => {
  it('fails loudly: the summary and the log say Git still pins the failed image', async () => {
    const { result, log } = await run({}, { rolloutOk: false, revertError: 'Repository rule violations found' })
    expect(result.report.failure).toContain(
      'REVERT FAILED: acme/env still pins registry.local:5000/team/web:v2@sha256:'
    )
    expect(result.report.failure).toContain('Repository rule violations found')
    expect(log).toContain('REVERT FAILED')
  })
})

describe('deploymentState', () => {
  it.each<[string, Parameters<typeof deploymentState>[0], string]>([
    ['deployed', { status: 'deployed', resources: [] }, 'success'],
    ['committed', { status: 'committed', resources: [] }, 'success'],
    ['unchanged', { status: 'unchanged', resources: [] }, 'success'],
    ['reconciled: the cluster is back at Git', { status: 'reconciled', resources: [] }, 'success'],
    ['drifted: stopped on drift, nothing applied', { status: 'drifted', resources: [] }, 'failure'],
    ['a pull request deployed nothing', { status: 'proposed', resources: [] }, 'pending'],
    ['rolled back', { status: 'rolled-back', resources: [] }, 'failure'],
    [
      'failed rollout without rollback',
      {
        status: 'failed',
        resources: [{ kind: 'Deployment', namespace: 'a', name: 'b', status: 'failed', message: '' }]
      },
      'failure'
    ],
    ['a pipeline error before any rollout', { status: 'failed', resources: [] }, 'error']
  ])('%s', (_, report, state) => {
    expect(deploymentState(report)).toBe(state)
  })
})
