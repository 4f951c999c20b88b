// Fake stages for the pipeline's unit tests, typed against the pipeline's ports
// (src/pipeline/ports.ts): when a port changes, these stop compiling instead of drifting.
// Each call is recorded by name, so a test can assert the order the policy ran them in.
import { type RunContext } from '../../src/config/index.js'
import { type Host } from '../../src/host/host.js'
import { type DriftItem } from '../../src/kube/drift.js'
import {
  type AppliedObject,
  type ClusterPort,
  type EnvCommit,
  type EnvFile,
  type EnvPlan,
  type EnvRepoPort,
  type RolloutOutcome,
  type Stages
} from '../../src/pipeline/ports.js'

/** The workflow run the fake pipelines deploy from. */
export const FAKE_CONTEXT: RunContext = {
  repository: 'acme/app',
  sha: 'abcdef0123456789abcdef0123456789abcdef01',
  serverUrl: 'https://github.com',
  apiUrl: 'https://api.github.com',
  runUrl: 'https://github.com/acme/app/actions/runs/7',
  workspace: process.cwd()
}
export const FAKE_IMAGE = 'registry.local:5000/team/web'
export const FAKE_DIGEST = `sha256:${'a'.repeat(64)}`
/** The files after this run's edit, and at the commit before it. */
export const FAKE_FILES: EnvFile[] = [{ path: 'apps/web/deploy.yaml', content: `image: ${FAKE_IMAGE}:v2` }]
export const FAKE_PREVIOUS_FILES: EnvFile[] = [{ path: 'apps/web/deploy.yaml', content: `image: ${FAKE_IMAGE}:v1` }]

export interface Scenario {
  envError?: string
  changes?: number
  validateError?: string
  rolloutOk?: boolean
  applyError?: string
  rollbackOk?: boolean
  /** Objects the drift check finds drifted (0 by default). */
  drifted?: number
  /** Inventory members Git no longer has (what a prune deletes). */
  extra?: number
  /** Live objects not yet in the inventory. */
  unlabelled?: number
  pruneOk?: boolean
  revertError?: string
  /** The workflow is cancelled while the rollout is tracked. */
  cancelDuringRollout?: AbortController
}

const APPLIED: AppliedObject = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  namespace: 'web',
  name: 'web',
  resourceVersion: '1',
  uid: 'uid-web',
  created: false
}

function envRepo(scenario: Scenario, calls: string[]): EnvRepoPort {
  const change = { path: FAKE_FILES[0].path, line: 1, previous: `${FAKE_IMAGE}:v1`, next: `${FAKE_IMAGE}:v2` }
  return {
    async plan(): Promise<EnvPlan> {
      calls.push('plan')
      const count = scenario.changes ?? 1
      return {
        branch: 'main',
        baseSha: 'base',
        files: FAKE_FILES,
        changes: Array.from({ length: count }, () => ({ ...change, location: 'spec.containers[web].image' })),
        previousImage: `${FAKE_IMAGE}:v1`,
        diff: count ? '-v1\n+v2' : '',
        baseFiles: FAKE_PREVIOUS_FILES
      }
    },
    async current() {
      calls.push('current')
      return { sha: 'head', files: FAKE_FILES }
    },
    async commit(): Promise<EnvCommit> {
      calls.push('commit')
      return {
        sha: 'c0ffee',
        url: 'https://github.com/acme/env/commit/c0ffee',
        parentSha: 'base',
        files: FAKE_FILES,
        changes: [],
        previousImage: `${FAKE_IMAGE}:v1`
      }
    },
    async propose() {
      calls.push('propose')
      return { url: 'https://github.com/acme/env/pull/3', number: 3, branch: 'deploy/main/web', sha: 'pr' }
    },
    async readFiles(sha) {
      calls.push(`readFiles ${sha}`)
      return FAKE_PREVIOUS_FILES
    },
    async revert() {
      calls.push('revert')
      if (scenario.revertError) throw new Error(scenario.revertError)
      return { sha: 'rev', url: 'https://github.com/acme/env/commit/rev' }
    }
  }
}

function driftItems(scenario: Scenario): DriftItem[] {
  const drifted = Array.from({ length: scenario.drifted ?? 0 }, (_, i): DriftItem => ({
    kind: 'Deployment',
    namespace: 'web',
    name: `web-${i}`,
    state: 'changed',
    fields: ['spec.replicas'],
    managers: ['kubectl']
  }))
  const extra = Array.from({ length: scenario.extra ?? 0 }, (_, i): DriftItem => ({
    kind: 'ConfigMap',
    namespace: 'web',
    name: `old-${i}`,
    state: 'extra',
    fields: [],
    managers: []
  }))
  return [...drifted, ...extra]
}

function cluster(scenario: Scenario, calls: string[]): ClusterPort {
  return {
    close() {
      calls.push('close')
    },
    async drift(files) {
      calls.push(files === FAKE_FILES || files === FAKE_PREVIOUS_FILES ? 'drift' : 'drift ?')
      return { items: driftItems(scenario), unlabelled: scenario.unlabelled ?? 0 }
    },
    async prune() {
      calls.push('prune')
      const ok = scenario.pruneOk ?? true
      return {
        ok,
        resources: [
          { kind: 'ConfigMap', namespace: 'web', name: 'old', status: ok ? 'pruned' : 'failed', message: '' }
        ],
        failure: ok ? undefined : 'ConfigMap web/old: prune failed: still being deleted',
        deleted: []
      }
    },
    async validate() {
      calls.push('validate')
      if (scenario.validateError) throw new Error(scenario.validateError)
      return {
        objects: 2,
        changes: [
          { object: 'Deployment web/web', action: 'change' },
          { object: 'Service web/web', action: 'unchanged' }
        ],
        checked: [],
        deferred: []
      }
    },
    async lock() {
      calls.push('lock')
      return {
        async release() {
          calls.push('release')
        }
      }
    },
    async apply(files, stamp) {
      calls.push(files === FAKE_FILES ? `apply ${stamp.envCommit}` : 'apply ?')
      if (scenario.applyError) throw new Error(scenario.applyError)
      return [APPLIED]
    },
    async waitForRollout(_applied, _deadline, _since, signal): Promise<RolloutOutcome> {
      calls.push('wait')
      if (scenario.cancelDuringRollout) {
        scenario.cancelDuringRollout.abort(new Error('cancelled (SIGTERM)'))
        if (!signal?.aborted) calls.push('wait without the run’s cancel signal')
        return {
          ok: false,
          seconds: 1,
          resources: [{ kind: 'Deployment', namespace: 'web', name: 'web', status: 'aborted', message: '' }],
          failure: 'rollout tracking was cancelled'
        }
      }
      const ok = scenario.rolloutOk ?? true
      return {
        ok,
        seconds: 3.25,
        resources: [
          {
            kind: 'Deployment',
            namespace: 'web',
            name: 'web',
            status: ok ? 'ready' : 'failed',
            message: ok ? '3/3' : 'ImagePullBackOff'
          }
        ],
        failure: ok ? undefined : 'deployment/web: pod web-1 container web: ImagePullBackOff: not found'
      }
    },
    async rollback(files) {
      calls.push(files === FAKE_PREVIOUS_FILES ? 'rollback' : 'rollback ?')
      const ok = scenario.rollbackOk ?? true
      return {
        ok,
        seconds: 2,
        resources: [
          { kind: 'Deployment', namespace: 'web', name: 'web', status: ok ? 'ready' : 'failed', message: '' }
        ],
        failure: ok ? undefined : 'still failing'
      }
    }
  }
}

/** Stages that succeed unless the scenario says otherwise; `calls` lists what ran, in order. */
export function fakeStages(scenario: Scenario = {}): { stages: Stages; calls: string[] } {
  const calls: string[] = []
  const stages: Stages = {
    async build() {
      calls.push('build')
      return { repository: FAKE_IMAGE, tag: 'v2', digest: FAKE_DIGEST, reference: `${FAKE_IMAGE}:v2@${FAKE_DIGEST}` }
    },
    async openEnvRepo() {
      if (scenario.envError) throw new Error(scenario.envError)
      return envRepo(scenario, calls)
    },
    async connectCluster() {
      return cluster(scenario, calls)
    },
    async startDeployment() {
      return undefined
    },
    renderer: () => async () => ({ manifests: [], problems: [] })
  }
  return { stages, calls }
}

/** `stages` with some of the cluster's methods replaced (`change` gets the fake to delegate to). */
export function withCluster(
  stages: Stages,
  change: (cluster: ClusterPort, host: Host) => Partial<ClusterPort>
): Stages {
  return {
    ...stages,
    async connectCluster(config, host) {
      const cluster = await stages.connectCluster(config, host)
      return { ...cluster, ...change(cluster, host) }
    }
  }
}

/** `stages` with some of the env repo's methods replaced. */
export function withEnvRepo(stages: Stages, change: (repo: EnvRepoPort) => Partial<EnvRepoPort>): Stages {
  return {
    ...stages,
    async openEnvRepo(config, host, render) {
      const repo = await stages.openEnvRepo(config, host, render)
      return { ...repo, ...change(repo) }
    }
  }
}
