import { describe, expect, it } from '@jest/globals'
import { type ContainerStatus, type LiveObject } from '../../src/kube/rollout/objects.js'
import {
  describePodFailure,
  failuresAllowed,
  hasReplicaFailure,
  isUnschedulable,
  newReplicaSet,
  newRevisionPods,
  podFailure,
  replicaSetFailure
} from '../../src/kube/rollout/signals.js'

const controller = (uid: string) => [{ uid, kind: 'Owner', name: 'owner', controller: true }]

/** A pod; `status` undefined leaves the field out, as before the kubelet or scheduler wrote any. */
function pod(name: string, status?: Record<string, unknown>, meta: Partial<LiveObject['metadata']> = {}): LiveObject {
  return { metadata: { name, uid: `uid-${name}`, ...meta }, ...(status === undefined ? {} : { status }) }
}

function waiting(reason: string, message = `${reason} message`, name = 'app'): ContainerStatus {
  return { name, state: { waiting: { reason, message } } }
}

const options = { nowMs: 100_000, unschedulableGraceMs: 30_000, failuresAllowed: 0 }

describe('podFailure', () => {
  it.each([
    'ImagePullBackOff',
    'CrashLoopBackOff',
    'CreateContainerConfigError',
    'CreateContainerError',
    'InvalidImageName',
    'ErrImageNeverPull',
    'RunContainerError'
  ])('a container waiting in %s fails', reason => {
    const failure = podFailure(pod('web-1', { containerStatuses: [waiting(reason)] }), options)
    expect(failure).toEqual({ pod: 'web-1', container: 'app', reason, message: `${reason} message` })
  })

  it.each([
    ['ErrImagePull: one failed pull, the kubelet retries', [waiting('ErrImagePull')]],
    ['ContainerCreating', [waiting('ContainerCreating')]],
    ['PodInitializing', [waiting('PodInitializing')]],
    ['running', [{ name: 'app', state: { running: { startedAt: 'now' } } }]],
    [
      'a regular container that restarted once and now runs',
      [
        {
          name: 'app',
          restartCount: 1,
          lastState: { terminated: { reason: 'Error', exitCode: 1 } },
          state: { running: {} }
        }
      ]
    ],
    ['no statuses yet', []],
    ['a container status without any state yet', [{ name: 'app' }]]
  ])('%s does not fail', (_name, containerStatuses) => {
    expect(podFailure(pod('web-1', { containerStatuses }), options)).toBeUndefined()
  })

  it('a pod without any status (not yet scheduled) does not fail, whatever the clock says', () => {
    expect(podFailure(pod('web-1'), { ...options, unschedulableSinceMs: 0 })).toBeUndefined()
    expect(isUnschedulable(pod('web-1'))).toBe(false)
  })

  it.each([
    ['CrashLoopBackOff', { reason: 'CrashLoopBackOff' }],
    ['ImagePullBackOff', { reason: 'ImagePullBackOff' }]
  ])('%s without a kubelet message fails with an empty message', (_name, state) => {
    const failure = podFailure(
      pod('web-1', { containerStatuses: [{ name: 'app', state: { waiting: state } }] }),
      options
    )
    expect(failure).toEqual({ pod: 'web-1', container: 'app', reason: state.reason, message: '' })
  })

  it('init containers are checked, first', () => {
    const failure = podFailure(
      pod('web-1', {
        initContainerStatuses: [waiting('ImagePullBackOff', 'Back-off pulling image "x"', 'migrate')],
        containerStatuses: [waiting('PodInitializing', '', 'app')]
      }),
      options
    )
    expect(failure).toEqual({
      pod: 'web-1',
      container: 'migrate',
      reason: 'ImagePullBackOff',
      message: 'Back-off pulling image "x"'
    })
  })

  it('an init container that failed and was restarted fails', () => {
    const failure = podFailure(
      pod('web-1', {
        initContainerStatuses: [
          {
            name: 'migrate',
            restartCount: 1,
            lastState: { terminated: { reason: 'Error', exitCode: 3 } },
            state: { running: {} }
          }
        ]
      }),
      options
    )
    expect(failure).toEqual({
      pod: 'web-1',
      container: 'migrate',
      reason: 'Error',
      message: 'init container exited with code 3'
    })
  })

  it.each([
    [
      'with the message of its last exit',
      { reason: 'Error', exitCode: 2, message: 'no such table' },
      'init container exited with code 2: no such table'
    ],
    ['without an exit code', { reason: 'Error' }, 'init container exited with code ?']
  ])('an init container that failed and was restarted fails, %s', (_name, terminated, message) => {
    const status = { initContainerStatuses: [{ name: 'migrate', restartCount: 1, lastState: { terminated } }] }
    expect(podFailure(pod('web-1', status), options)).toEqual({
      pod: 'web-1',
      container: 'migrate',
      reason: 'Error',
      message
    })
  })

  it.each([
    [
      're-run after it completed (the pod sandbox was recreated)',
      { restartCount: 1, lastState: { terminated: { reason: 'Completed', exitCode: 0 } } }
    ],
    ['restarted, no last state known', { restartCount: 1 }],
    ['last exit Error but no restart counted yet', { lastState: { terminated: { reason: 'Error', exitCode: 1 } } }]
  ])('an init container %s does not fail', (_name, container) => {
    const status = { initContainerStatuses: [{ name: 'migrate', state: { running: {} }, ...container }] }
    expect(podFailure(pod('web-1', status), options)).toBeUndefined()
  })

  it('an init container that failed once, not yet restarted, does not fail', () => {
    const status = {
      initContainerStatuses: [{ name: 'migrate', state: { terminated: { reason: 'Error', exitCode: 3 } } }]
    }
    expect(podFailure(pod('web-1', status), options)).toBeUndefined()
  })

  const unschedulable = {
    conditions: [
      {
        type: 'PodScheduled',
        status: 'False',
        reason: 'Unschedulable',
        message: '0/2 nodes are available: 2 Insufficient cpu.'
      }
    ]
  }
  it.each([
    ['within the grace period', 80_000, undefined],
    ['beyond the grace period', 70_000, 'Unschedulable'],
    ['never seen unschedulable before', undefined, undefined]
  ])('unschedulable %s', (_name, since, reason) => {
    const failure = podFailure(pod('web-1', unschedulable), { ...options, unschedulableSinceMs: since })
    expect(failure?.reason).toBe(reason)
    if (reason) expect(failure?.message).toBe('0/2 nodes are available: 2 Insufficient cpu.')
  })

  it('unschedulable without a scheduler message fails with an empty message', () => {
    const status = { conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable' }] }
    expect(podFailure(pod('web-1', status), { ...options, unschedulableSinceMs: 0 })).toEqual({
      pod: 'web-1',
      reason: 'Unschedulable',
      message: ''
    })
  })

  const crashed = (restartCount: number): ContainerStatus => ({
    name: 'app',
    restartCount,
    lastState: { terminated: { reason: 'Error', exitCode: 1 } },
    state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 10s restarting failed container' } }
  })
  it.each([
    ['first crash, none allowed', 1, 0, 'back-off 10s restarting failed container'],
    ['first crash, one allowed', 1, 1, undefined],
    ['second crash, one allowed', 2, 1, 'back-off 10s restarting failed container (2 restarts, 1 allowed)'],
    ['third crash, three allowed', 3, 3, undefined]
  ])('crash loop: %s', (_name, restarts, allowed, message) => {
    const failure = podFailure(pod('web-1', { containerStatuses: [crashed(restarts)] }), {
      ...options,
      failuresAllowed: allowed
    })
    expect(failure?.message).toBe(message)
  })

  it('an init container that failed once and was restarted is tolerated with one failure allowed', () => {
    const status = {
      initContainerStatuses: [
        { name: 'migrate', restartCount: 1, lastState: { terminated: { reason: 'Error', exitCode: 3 } }, state: {} }
      ]
    }
    expect(podFailure(pod('web-1', status), { ...options, failuresAllowed: 1 })).toBeUndefined()
    expect(podFailure(pod('web-1', status), options)?.reason).toBe('Error')
  })

  it('isUnschedulable reads PodScheduled=False/Unschedulable only', () => {
    expect(isUnschedulable(pod('a', unschedulable))).toBe(true)
    expect(isUnschedulable(pod('a', { conditions: [{ type: 'PodScheduled', status: 'True' }] }))).toBe(false)
    expect(
      isUnschedulable(pod('a', { conditions: [{ type: 'PodScheduled', status: 'False', reason: 'SchedulingGated' }] }))
    ).toBe(false)
  })
})

describe('describePodFailure', () => {
  it.each([
    [
      { pod: 'web-7c9d5-x2k', container: 'app', reason: 'ImagePullBackOff', message: 'Back-off pulling image "r/x:1"' },
      'pod web-7c9d5-x2k container app: ImagePullBackOff: Back-off pulling image "r/x:1"'
    ],
    [{ pod: 'web-1', reason: 'Unschedulable', message: '' }, 'pod web-1: Unschedulable']
  ])('%j', (failure, text) => {
    expect(describePodFailure(failure)).toBe(text)
  })
})

describe('newReplicaSet', () => {
  const deployment: LiveObject = {
    metadata: { name: 'web', uid: 'dep', annotations: { 'deployment.kubernetes.io/revision': '3' } }
  }
  const rs = (name: string, revision: string, owner = 'dep'): LiveObject => ({
    metadata: {
      name,
      uid: `uid-${name}`,
      annotations: { 'deployment.kubernetes.io/revision': revision },
      ownerReferences: controller(owner)
    }
  })

  it.each([
    ['the controlled ReplicaSet at the Deployment revision', [rs('web-a', '2'), rs('web-b', '3')], 'web-b'],
    ["another Deployment's ReplicaSet at the same revision", [rs('api-a', '3', 'other')], undefined],
    ['none at that revision yet', [rs('web-a', '2')], undefined]
  ])('%s', (_name, replicaSets, expected) => {
    expect(newReplicaSet(deployment, replicaSets)?.metadata.name).toBe(expected)
  })

  it('ReplicaSets without annotations are at no revision', () => {
    const bare: LiveObject = { metadata: { name: 'web-a', uid: 'uid-web-a', ownerReferences: controller('dep') } }
    expect(newReplicaSet(deployment, [bare])).toBeUndefined()
  })

  it('nothing before the controller wrote a revision', () => {
    const bare: LiveObject = { metadata: { name: 'web-a', uid: 'uid-web-a', ownerReferences: controller('dep') } }
    expect(newReplicaSet({ metadata: { name: 'web', uid: 'dep' } }, [rs('web-a', '1'), bare])).toBeUndefined()
  })
})

describe('newRevisionPods', () => {
  const replicaSet: LiveObject = { metadata: { name: 'web-b', uid: 'rs-b' } }
  const deployment: LiveObject = { metadata: { name: 'web', uid: 'dep' } }
  const names = (pods: LiveObject[]) => pods.map(p => p.metadata.name)

  it('Deployment: pods of the current ReplicaSet only', () => {
    const pods = [
      pod('new', undefined, { ownerReferences: controller('rs-b') }),
      pod('old', undefined, { ownerReferences: controller('rs-a') })
    ]
    expect(names(newRevisionPods('Deployment', deployment, pods, replicaSet))).toEqual(['new'])
    expect(newRevisionPods('Deployment', deployment, pods, undefined)).toEqual([])
  })

  it('StatefulSet: its pods at updateRevision', () => {
    const sts: LiveObject = { metadata: { name: 'db', uid: 'sts' }, status: { updateRevision: 'db-2' } }
    const pods = [
      pod('db-0', {}, { ownerReferences: controller('sts'), labels: { 'controller-revision-hash': 'db-2' } }),
      pod('db-1', {}, { ownerReferences: controller('sts'), labels: { 'controller-revision-hash': 'db-1' } }),
      pod('other-0', {}, { ownerReferences: controller('x'), labels: { 'controller-revision-hash': 'db-2' } })
    ]
    expect(names(newRevisionPods('StatefulSet', sts, pods))).toEqual(['db-0'])
  })

  it('DaemonSet: its pods at the template generation', () => {
    const ds: LiveObject = {
      metadata: { name: 'agent', uid: 'ds', annotations: { 'deprecated.daemonset.template.generation': '2' } }
    }
    const pods = [
      pod('agent-a', {}, { ownerReferences: controller('ds'), labels: { 'pod-template-generation': '2' } }),
      pod('agent-b', {}, { ownerReferences: controller('ds'), labels: { 'pod-template-generation': '1' } }),
      pod('agent-c', {}, { ownerReferences: controller('ds') })
    ]
    expect(names(newRevisionPods('DaemonSet', ds, pods))).toEqual(['agent-a'])
  })

  it.each(['Job', 'ReplicaSet'] as const)('%s: all its pods', rule => {
    const owner: LiveObject = { metadata: { name: 'migrate', uid: 'job' } }
    const pods = [
      pod('migrate-a', {}, { ownerReferences: controller('job') }),
      pod('x', {}, { ownerReferences: controller('y') })
    ]
    expect(names(newRevisionPods(rule, owner, pods))).toEqual(['migrate-a'])
  })

  it('StatefulSet without status: none yet (its update revision is unknown)', () => {
    const sts: LiveObject = { metadata: { name: 'db', uid: 'sts' } }
    const pods = [pod('db-0', undefined, { ownerReferences: controller('sts') })]
    expect(newRevisionPods('StatefulSet', sts, pods)).toEqual([])
  })

  it('pods without labels are not at any StatefulSet revision', () => {
    const sts: LiveObject = { metadata: { name: 'db', uid: 'sts' }, status: { updateRevision: 'db-2' } }
    expect(
      newRevisionPods('StatefulSet', sts, [pod('db-0', undefined, { ownerReferences: controller('sts') })])
    ).toEqual([])
  })

  it('DaemonSet without the template-generation annotation: all its pods', () => {
    const ds: LiveObject = { metadata: { name: 'agent', uid: 'ds' } }
    const pods = [
      pod('agent-a', undefined, { ownerReferences: controller('ds') }),
      pod('agent-b', undefined, { ownerReferences: controller('ds'), labels: { 'pod-template-generation': '1' } }),
      pod('other', undefined, { ownerReferences: controller('x') }),
      pod('orphan')
    ]
    expect(names(newRevisionPods('DaemonSet', ds, pods))).toEqual(['agent-a', 'agent-b'])
  })

  it('Pod: itself only', () => {
    const self = pod('web')
    expect(names(newRevisionPods('Pod', self, [pod('other'), self]))).toEqual(['web'])
  })

  it('kinds without pods: none', () => {
    expect(
      newRevisionPods('custom-resource', deployment, [pod('a', {}, { ownerReferences: controller('dep') })])
    ).toEqual([])
  })
})

describe('replicaSetFailure', () => {
  it.each([
    [
      [
        {
          type: 'ReplicaFailure',
          status: 'True',
          reason: 'FailedCreate',
          message: 'pods "web-b-" is forbidden: exceeded quota'
        }
      ],
      'replicaset web-b: ReplicaFailure: FailedCreate: pods "web-b-" is forbidden: exceeded quota'
    ],
    [[{ type: 'ReplicaFailure', status: 'True' }], 'replicaset web-b: ReplicaFailure'],
    [[{ type: 'ReplicaFailure', status: 'False' }], undefined],
    [[], undefined]
  ])('%j, past the grace window', (conditions, expected) => {
    const rs = { metadata: { name: 'web-b', uid: 'rs' }, status: { conditions } }
    const failure = replicaSetFailure(rs, { nowMs: 100_000, sinceMs: 60_000, graceMs: 30_000 })
    expect(failure).toBe(expected && `${expected} (for 30s or more)`)
  })

  it.each([
    ['just seen (a quota hit by the surge pod clears when an old pod goes)', 90_000, false],
    ['never seen', undefined, false],
    ['seen for the whole grace window', 70_000, true]
  ])('ReplicaFailure %s', (_name, since, fails) => {
    const rs = {
      metadata: { name: 'web-b', uid: 'rs' },
      status: { conditions: [{ type: 'ReplicaFailure', status: 'True' }] }
    }
    expect(replicaSetFailure(rs, { nowMs: 100_000, sinceMs: since, graceMs: 30_000 }) !== undefined).toBe(fails)
    expect(hasReplicaFailure(rs)).toBe(true)
  })

  it('a ReplicaSet without status has no failure', () => {
    const rs = { metadata: { name: 'web-b', uid: 'rs' } }
    expect(replicaSetFailure(rs, { nowMs: 100_000, sinceMs: 0, graceMs: 30_000 })).toBeUndefined()
    expect(hasReplicaFailure(rs)).toBe(false)
  })
})

describe('failuresAllowed', () => {
  const annotated = (value?: string) => ({
    metadata: {
      name: 'web',
      uid: 'u',
      ...(value === undefined ? {} : { annotations: { 'gitops-push-deploy/failures-allowed': value } })
    }
  })
  it.each<[string | undefined, unknown]>([
    [undefined, { allowed: 1 }],
    ['0', { allowed: 0 }],
    [' 3 ', { allowed: 3 }],
    ['9999', { allowed: 9999 }],
    [
      '10000',
      { error: 'annotation gitops-push-deploy/failures-allowed: "10000" is not a whole number from 0 to 9999' }
    ],
    ['12a', { error: 'annotation gitops-push-deploy/failures-allowed: "12a" is not a whole number from 0 to 9999' }],
    ['-1', { error: 'annotation gitops-push-deploy/failures-allowed: "-1" is not a whole number from 0 to 9999' }],
    ['two', { error: 'annotation gitops-push-deploy/failures-allowed: "two" is not a whole number from 0 to 9999' }]
  ])('annotation %j', (value, expected) => {
    expect(failuresAllowed(annotated(value), 1)).toEqual(expected)
  })
})
