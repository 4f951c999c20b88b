import { describe, expect, it } from '@jest/globals'
import { type Condition, type LiveObject } from '../../src/kube/rollout/objects.js'
import {
  rolloutStatus,
  trackingRule,
  unobservedGeneration,
  type RolloutState,
  type TrackingRule
} from '../../src/kube/rollout/status.js'

/** A live object; `status` undefined leaves the field out, as for an object no controller has written yet. */
function object(
  generation: number,
  spec: Record<string, unknown>,
  status?: Record<string, unknown> & { conditions?: Condition[] }
): LiveObject {
  return { metadata: { name: 'x', uid: 'u', generation }, spec, ...(status === undefined ? {} : { status }) }
}

const progressDeadline: Condition = {
  type: 'Progressing',
  status: 'False',
  reason: 'ProgressDeadlineExceeded',
  message: 'ReplicaSet "web-1" has timed out progressing.'
}
const progressingOk: Condition = { type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable' }

describe('trackingRule', () => {
  it.each<[string, string, TrackingRule]>([
    ['apps/v1', 'Deployment', 'Deployment'],
    ['apps/v1', 'StatefulSet', 'StatefulSet'],
    ['apps/v1', 'DaemonSet', 'DaemonSet'],
    ['apps/v1', 'ReplicaSet', 'ReplicaSet'],
    ['v1', 'ReplicationController', 'ReplicaSet'],
    ['v1', 'Pod', 'Pod'],
    ['v1', 'PersistentVolumeClaim', 'PersistentVolumeClaim'],
    ['policy/v1', 'PodDisruptionBudget', 'PodDisruptionBudget'],
    ['batch/v1', 'Job', 'Job'],
    ['batch/v1', 'CronJob', 'applied'],
    ['v1', 'Service', 'applied'],
    ['v1', 'ConfigMap', 'applied'],
    ['networking.k8s.io/v1', 'Ingress', 'applied'],
    ['apiextensions.k8s.io/v1', 'CustomResourceDefinition', 'CustomResourceDefinition'],
    ['cert-manager.io/v1', 'Certificate', 'custom-resource'],
    // a built-in kind's name in another group is that group's kind
    ['example.com/v1alpha1', 'Deployment', 'custom-resource'],
    ['example.com/v1', 'Job', 'custom-resource'],
    ['example.com/v1', 'ReplicaSet', 'custom-resource'],
    ['example.com/v1', 'ReplicationController', 'custom-resource'],
    ['example.com/v1', 'Pod', 'custom-resource'],
    ['example.com/v1', 'PodDisruptionBudget', 'custom-resource'],
    ['example.com/v1', 'CustomResourceDefinition', 'custom-resource'],
    // other kinds of the tracked groups are only applied
    ['apps/v1', 'ControllerRevision', 'applied'],
    ['policy/v1beta1', 'PodSecurityPolicy', 'applied'],
    ['apiextensions.k8s.io/v1', 'Example', 'applied'],
    // *.k8s.io groups that Kubernetes does not serve are custom resources (API-approved CRDs)
    ['gateway.networking.k8s.io/v1', 'Gateway', 'custom-resource'],
    ['gateway.networking.k8s.io/v1', 'HTTPRoute', 'custom-resource'],
    ['snapshot.storage.k8s.io/v1', 'VolumeSnapshot', 'custom-resource'],
    ['k8s.io/v1', 'Example', 'custom-resource']
  ])('%s %s → %s', (apiVersion, kind, rule) => {
    expect(trackingRule(apiVersion, kind)).toBe(rule)
  })

  // The dotted groups of the Kubernetes 1.34 API reference (kubernetes.io/docs/reference/kubernetes-api):
  // their kinds without a rule of their own are only applied.
  it.each([
    'admissionregistration.k8s.io',
    'apiextensions.k8s.io',
    'apiregistration.k8s.io',
    'authentication.k8s.io',
    'authorization.k8s.io',
    'certificates.k8s.io',
    'coordination.k8s.io',
    'discovery.k8s.io',
    'events.k8s.io',
    'flowcontrol.apiserver.k8s.io',
    'internal.apiserver.k8s.io',
    'networking.k8s.io',
    'node.k8s.io',
    'rbac.authorization.k8s.io',
    'resource.k8s.io',
    'scheduling.k8s.io',
    'storage.k8s.io',
    'storagemigration.k8s.io'
  ])('%s is built in', group => {
    expect(trackingRule(`${group}/v1`, 'SomeKind')).toBe('applied')
  })
})

describe('unobservedGeneration', () => {
  it.each<[string, number, number | undefined, number | undefined, boolean]>([
    ['observed the applied generation', 3, 3, 3, true],
    ['observed a newer one', 4, 4, 3, true],
    ['not yet observed what we applied', 2, 2, 3, false],
    ['live generation is newer than observed', 4, 3, 3, false],
    ['no status yet', 1, undefined, 1, false],
    ['no applied generation given', 2, 2, undefined, true],
    ['neither a generation nor an observation', 0, undefined, undefined, false]
  ])('%s', (_name, generation, observed, applied, isObserved) => {
    const live = object(generation, {}, observed === undefined ? {} : { observedGeneration: observed })
    expect(unobservedGeneration(live, applied) === undefined).toBe(isObserved)
  })
})

type Row = [string, LiveObject, number | undefined, RolloutState, string]

/** Whole messages: a wrong or extra word in a verdict's text fails the row. */
function check(rule: TrackingRule, rows: Row[]): void {
  it.each(rows)('%s', (_name, live, applied, state, message) => {
    expect(rolloutStatus(rule, live, applied)).toEqual({ state, message })
  })
}

describe('Deployment (kubectl rollout status, available replicas)', () => {
  const status = (s: Record<string, unknown>) => ({ observedGeneration: 2, ...s })
  check('Deployment', [
    [
      'complete',
      object(2, { replicas: 3 }, status({ replicas: 3, updatedReplicas: 3, availableReplicas: 3 })),
      2,
      'ready',
      '3/3 updated, 3/3 available'
    ],
    [
      'complete status but for the previous generation',
      object(2, { replicas: 3 }, { observedGeneration: 1, replicas: 3, updatedReplicas: 3, availableReplicas: 3 }),
      2,
      'progressing',
      'waiting for the controller to observe generation 2 (observed: 1)'
    ],
    [
      'our apply returned a generation the cache has not seen yet',
      object(2, { replicas: 3 }, status({ replicas: 3, updatedReplicas: 3, availableReplicas: 3 })),
      3,
      'progressing',
      'waiting for the controller to observe generation 3 (observed: 2)'
    ],
    [
      'new replicas still being created',
      object(2, { replicas: 3 }, status({ replicas: 3, updatedReplicas: 2, availableReplicas: 2 })),
      2,
      'progressing',
      '2/3 updated, 2/3 available, 1 old pending termination'
    ],
    [
      'old replicas pending termination (surge)',
      object(2, { replicas: 3 }, status({ replicas: 4, updatedReplicas: 3, availableReplicas: 3 })),
      2,
      'progressing',
      '3/3 updated, 3/3 available, 1 old pending termination'
    ],
    [
      'updated but not yet available (minReadySeconds)',
      object(2, { replicas: 3 }, status({ replicas: 3, updatedReplicas: 3, availableReplicas: 1 })),
      2,
      'progressing',
      '3/3 updated, 1/3 available'
    ],
    [
      'replicas omitted in the spec default to 1',
      object(2, {}, status({ replicas: 1, updatedReplicas: 1, availableReplicas: 1 })),
      2,
      'ready',
      '1/1 updated, 1/1 available'
    ],
    [
      'HPA scaled the live object up: the live spec.replicas counts',
      object(2, { replicas: 5 }, status({ replicas: 3, updatedReplicas: 3, availableReplicas: 3 })),
      2,
      'progressing',
      '3/5 updated, 3/5 available'
    ],
    ['scaled to zero', object(2, { replicas: 0 }, status({})), 2, 'ready', '0/0 updated, 0/0 available'],
    [
      'ProgressDeadlineExceeded',
      object(2, { replicas: 3 }, status({ replicas: 3, updatedReplicas: 1, conditions: [progressDeadline] })),
      2,
      'failed',
      'ProgressDeadlineExceeded: ReplicaSet "web-1" has timed out progressing.'
    ],
    [
      'ProgressDeadlineExceeded left over from an older generation is ignored',
      object(3, { replicas: 1 }, { observedGeneration: 2, conditions: [progressDeadline] }),
      3,
      'progressing',
      'waiting for the controller to observe generation 3 (observed: 2)'
    ],
    [
      'Progressing=True does not fail',
      object(
        2,
        { replicas: 1 },
        status({ replicas: 1, updatedReplicas: 1, availableReplicas: 1, conditions: [progressingOk] })
      ),
      2,
      'ready',
      '1/1 updated, 1/1 available'
    ],
    [
      'ReplicaFailure=True (quota at the surge pod): waits, the tracker fails it after the grace window',
      object(
        2,
        { replicas: 4 },
        status({
          replicas: 4,
          updatedReplicas: 0,
          availableReplicas: 4,
          conditions: [
            { type: 'ReplicaFailure', status: 'True', reason: 'FailedCreate', message: 'exceeded quota: pods' }
          ]
        })
      ),
      2,
      'progressing',
      '0/4 updated, 4/4 available, 4 old pending termination; ReplicaFailure: FailedCreate: exceeded quota: pods'
    ],
    [
      'paused with nothing pending is done (kubectl, helm)',
      object(2, { replicas: 3, paused: true }, status({ replicas: 3, updatedReplicas: 3, availableReplicas: 3 })),
      2,
      'ready',
      '3/3 updated, 3/3 available, paused with nothing pending'
    ],
    [
      'paused with a rollout pending fails, saying paused',
      object(2, { replicas: 3, paused: true }, status({ replicas: 3, updatedReplicas: 0, availableReplicas: 3 })),
      2,
      'failed',
      'is paused (spec.paused: true) with a rollout pending (0/3 updated, 3/3 available, 3 old pending termination); resume it or remove spec.paused'
    ],
    [
      'paused, generation not yet observed: waits for the controller',
      object(2, { replicas: 3, paused: true }, { observedGeneration: 1 }),
      2,
      'progressing',
      'waiting for the controller to observe generation 2 (observed: 1)'
    ]
  ])
})

describe('StatefulSet', () => {
  const rolling = (extra: Record<string, unknown> = {}) => ({
    replicas: 3,
    updateStrategy: { type: 'RollingUpdate', ...extra }
  })
  const status = (s: Record<string, unknown>) => ({ observedGeneration: 2, ...s })
  check('StatefulSet', [
    [
      'complete',
      object(
        2,
        rolling(),
        status({
          readyReplicas: 3,
          availableReplicas: 3,
          updatedReplicas: 3,
          currentRevision: 'b',
          updateRevision: 'b'
        })
      ),
      2,
      'ready',
      '3/3 updated, 3/3 available'
    ],
    [
      'ready pods still at the old revision',
      object(
        2,
        rolling(),
        status({
          readyReplicas: 3,
          availableReplicas: 3,
          updatedReplicas: 1,
          currentRevision: 'a',
          updateRevision: 'b'
        })
      ),
      2,
      'progressing',
      '1/3 updated, 3/3 available'
    ],
    [
      'not all available',
      object(
        2,
        rolling(),
        status({
          readyReplicas: 3,
          availableReplicas: 2,
          updatedReplicas: 3,
          currentRevision: 'b',
          updateRevision: 'b'
        })
      ),
      2,
      'progressing',
      '3/3 updated, 2/3 available'
    ],
    [
      'servers without availableReplicas: readyReplicas counts',
      object(2, rolling(), status({ readyReplicas: 3, updatedReplicas: 3, currentRevision: 'b', updateRevision: 'b' })),
      2,
      'ready',
      '3/3 updated, 3/3 available'
    ],
    [
      'generation not observed',
      object(2, rolling(), {
        observedGeneration: 1,
        readyReplicas: 3,
        availableReplicas: 3,
        currentRevision: 'a',
        updateRevision: 'a'
      }),
      2,
      'progressing',
      'waiting for the controller to observe generation 2 (observed: 1)'
    ],
    [
      'never observed (observedGeneration 0)',
      object(1, rolling(), { observedGeneration: 0 }),
      undefined,
      'progressing',
      'waiting for the controller to observe generation 1 (observed: 0)'
    ],
    [
      'partition: done once the pods above it are updated',
      object(
        2,
        rolling({ rollingUpdate: { partition: 2 } }),
        status({ availableReplicas: 3, updatedReplicas: 1, currentRevision: 'a', updateRevision: 'b' })
      ),
      2,
      'ready',
      '1/3 updated, 3/3 available, partition 2'
    ],
    [
      'partition: pods above it not yet updated',
      object(
        2,
        rolling({ rollingUpdate: { partition: 1 } }),
        status({ availableReplicas: 3, updatedReplicas: 1, currentRevision: 'a', updateRevision: 'b' })
      ),
      2,
      'progressing',
      '1/3 updated, 3/3 available, partition 1'
    ],
    [
      'OnDelete is not trackable',
      object(2, { replicas: 3, updateStrategy: { type: 'OnDelete' } }, { observedGeneration: 1 }),
      2,
      'not-trackable',
      'updateStrategy OnDelete: pods change only when deleted, so there is no rollout to wait for'
    ]
  ])
})

describe('DaemonSet', () => {
  const spec = { updateStrategy: { type: 'RollingUpdate' } }
  check('DaemonSet', [
    [
      'complete',
      object(2, spec, {
        observedGeneration: 2,
        desiredNumberScheduled: 2,
        updatedNumberScheduled: 2,
        numberAvailable: 2
      }),
      2,
      'ready',
      '2/2 updated, 2/2 available'
    ],
    [
      'updating',
      object(2, spec, {
        observedGeneration: 2,
        desiredNumberScheduled: 2,
        updatedNumberScheduled: 1,
        numberAvailable: 2
      }),
      2,
      'progressing',
      '1/2 updated, 2/2 available'
    ],
    [
      'updated, not yet available',
      object(2, spec, {
        observedGeneration: 2,
        desiredNumberScheduled: 2,
        updatedNumberScheduled: 2,
        numberAvailable: 1
      }),
      2,
      'progressing',
      '2/2 updated, 1/2 available'
    ],
    [
      'generation not observed',
      object(2, spec, {
        observedGeneration: 1,
        desiredNumberScheduled: 2,
        updatedNumberScheduled: 2,
        numberAvailable: 2
      }),
      2,
      'progressing',
      'waiting for the controller to observe generation 2 (observed: 1)'
    ],
    [
      'OnDelete is not trackable',
      object(2, { updateStrategy: { type: 'OnDelete' } }, {}),
      2,
      'not-trackable',
      'updateStrategy OnDelete: pods change only when deleted, so there is no rollout to wait for'
    ]
  ])
})

describe('Job', () => {
  check('Job', [
    [
      'Complete=True',
      object(1, {}, { succeeded: 1, conditions: [{ type: 'Complete', status: 'True' }] }),
      1,
      'ready',
      'complete, 1 succeeded'
    ],
    [
      'Failed=True',
      object(
        1,
        {},
        {
          failed: 7,
          conditions: [
            {
              type: 'Failed',
              status: 'True',
              reason: 'BackoffLimitExceeded',
              message: 'Job has reached the specified backoff limit'
            }
          ]
        }
      ),
      1,
      'failed',
      'Failed: BackoffLimitExceeded: Job has reached the specified backoff limit'
    ],
    [
      'FailureTarget=True comes before Failed',
      object(
        1,
        {},
        {
          conditions: [
            {
              type: 'FailureTarget',
              status: 'True',
              reason: 'DeadlineExceeded',
              message: 'Job was active longer than specified deadline'
            }
          ]
        }
      ),
      1,
      'failed',
      'FailureTarget: DeadlineExceeded: Job was active longer than specified deadline'
    ],
    ['running', object(1, {}, { active: 1 }), 1, 'progressing', '1 active, 0 succeeded, 0 failed'],
    [
      'suspended by the controller: done, saying so (kstatus)',
      object(1, { suspend: true }, { conditions: [{ type: 'Suspended', status: 'True', reason: 'JobSuspended' }] }),
      1,
      'ready',
      'suspended (spec.suspend: true), not run by this deploy; 0 active, 0 succeeded, 0 failed'
    ],
    [
      'suspend asked, not yet done by the controller',
      object(1, { suspend: true }, {}),
      1,
      'progressing',
      '0 active, 0 succeeded, 0 failed, waiting for the controller to suspend it'
    ],
    [
      'Complete=False is not done',
      object(1, {}, { active: 1, conditions: [{ type: 'Complete', status: 'False' }] }),
      1,
      'progressing',
      '1 active, 0 succeeded, 0 failed'
    ]
  ])
})

describe('CustomResourceDefinition', () => {
  check('CustomResourceDefinition', [
    [
      'Established',
      object(1, {}, { conditions: [{ type: 'Established', status: 'True' }] }),
      1,
      'ready',
      'established'
    ],
    [
      'not yet established',
      object(1, {}, { conditions: [{ type: 'NamesAccepted', status: 'True' }] }),
      1,
      'progressing',
      'waiting for condition Established'
    ],
    [
      'names rejected',
      object(
        1,
        {},
        {
          conditions: [
            { type: 'NamesAccepted', status: 'False', reason: 'MultipleNamesNotAllowed', message: 'conflict' }
          ]
        }
      ),
      1,
      'failed',
      'NamesAccepted=False: MultipleNamesNotAllowed: conflict'
    ],
    [
      'Established=True but a later name change refused',
      object(
        2,
        {},
        {
          conditions: [
            { type: 'Established', status: 'True' },
            { type: 'NamesAccepted', status: 'False', reason: 'KindConflict', message: 'taken' }
          ]
        }
      ),
      2,
      'failed',
      'NamesAccepted=False: KindConflict: taken'
    ]
  ])
})

describe('Pod (kstatus; fail-fast signals in signals.ts)', () => {
  check('Pod', [
    ['no status', object(1, {}, {}), 1, 'progressing', 'waiting for the kubelet'],
    [
      'running and Ready',
      object(1, {}, { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] }),
      1,
      'ready',
      'Running and Ready'
    ],
    [
      'running, not Ready',
      object(
        1,
        {},
        { phase: 'Running', conditions: [{ type: 'Ready', status: 'False', reason: 'ContainersNotReady' }] }
      ),
      1,
      'progressing',
      'phase Running, not Ready (ContainersNotReady)'
    ],
    ['Succeeded', object(1, {}, { phase: 'Succeeded' }), 1, 'ready', 'phase Succeeded'],
    ['Failed', object(1, {}, { phase: 'Failed', message: 'exit 1' }), 1, 'failed', 'phase Failed: exit 1'],
    ['Failed without a message', object(1, {}, { phase: 'Failed' }), 1, 'failed', 'phase Failed'],
    [
      'running, no Ready condition yet',
      object(1, {}, { phase: 'Running' }),
      1,
      'progressing',
      'phase Running, not Ready'
    ],
    [
      'Ready=True counts only while Running',
      object(1, {}, { phase: 'Pending', conditions: [{ type: 'Ready', status: 'True' }] }),
      1,
      'progressing',
      'phase Pending, not Ready'
    ]
  ])
})

describe('ReplicaSet and ReplicationController (kstatus)', () => {
  const rs = (generation: number, replicas: number, s: Record<string, unknown>) =>
    object(generation, { replicas }, { observedGeneration: 1, ...s })
  const all = { replicas: 2, fullyLabeledReplicas: 2, readyReplicas: 2, availableReplicas: 2 }
  check('ReplicaSet', [
    ['all ready and available', rs(1, 2, all), 1, 'ready', '2/2 ready, 2/2 available'],
    [
      'generation not observed',
      rs(2, 2, all),
      2,
      'progressing',
      'waiting for the controller to observe generation 2 (observed: 1)'
    ],
    ['fewer available', rs(1, 2, { ...all, availableReplicas: 1 }), 1, 'progressing', '2/2 ready, 1/2 available'],
    ['fewer ready', rs(1, 2, { ...all, readyReplicas: 1 }), 1, 'progressing', '1/2 ready, 2/2 available'],
    // kstatus waits for the controller to label all pods (fullyLabeledReplicas)
    [
      'fewer fully labelled',
      rs(1, 2, { ...all, fullyLabeledReplicas: 1 }),
      1,
      'progressing',
      '2/2 ready, 2/2 available'
    ],
    [
      'extra pods pending termination',
      rs(1, 2, { ...all, replicas: 3 }),
      1,
      'progressing',
      '2/2 ready, 2/2 available, 1 pending termination'
    ],
    [
      'ReplicaFailure waits (the tracker fails it after the grace window)',
      rs(1, 2, { ...all, conditions: [{ type: 'ReplicaFailure', status: 'True', reason: 'FailedCreate' }] }),
      1,
      'progressing',
      '2/2 ready, 2/2 available; ReplicaFailure: FailedCreate'
    ]
  ])
})

describe('PersistentVolumeClaim', () => {
  const pvc = (phase: string | undefined) =>
    object(1, { storageClassName: 'local' }, phase === undefined ? {} : { phase })
  it.each<[string, string | undefined, string | undefined, RolloutState, string]>([
    ['Bound', 'Bound', undefined, 'ready', 'Bound'],
    ['Pending, Immediate binding', 'Pending', 'Immediate', 'progressing', 'phase Pending, waiting for Bound'],
    ['Pending, no class known', 'Pending', undefined, 'progressing', 'phase Pending, waiting for Bound'],
    [
      'Pending, WaitForFirstConsumer',
      'Pending',
      'WaitForFirstConsumer',
      'ready',
      'Pending: storage class local binds when the first pod uses it (WaitForFirstConsumer)'
    ],
    ['Lost', 'Lost', 'Immediate', 'failed', 'phase Lost: its PersistentVolume is gone']
  ])('%s', (_name, phase, mode, state, message) => {
    expect(rolloutStatus('PersistentVolumeClaim', pvc(phase), 1, { volumeBindingMode: mode })).toEqual({
      state,
      message
    })
  })

  it('WaitForFirstConsumer without a class name in the claim names no class', () => {
    const claim = object(1, {}, { phase: 'Pending' })
    expect(rolloutStatus('PersistentVolumeClaim', claim, 1, { volumeBindingMode: 'WaitForFirstConsumer' })).toEqual({
      state: 'ready',
      message: 'Pending: its storage class binds when the first pod uses it (WaitForFirstConsumer)'
    })
  })
})

describe('PodDisruptionBudget (observedGeneration)', () => {
  check('PodDisruptionBudget', [
    ['observed', object(2, {}, { observedGeneration: 2 }), 2, 'ready', 'observed'],
    [
      'not yet observed',
      object(2, {}, { observedGeneration: 1 }),
      2,
      'progressing',
      'waiting for the controller to observe generation 2 (observed: 1)'
    ]
  ])
})

describe('custom resources (kstatus)', () => {
  check('custom-resource', [
    ['no status at all is current', object(1, {}, {}), 1, 'ready', 'current'],
    [
      'Ready=True',
      object(2, {}, { observedGeneration: 2, conditions: [{ type: 'Ready', status: 'True' }] }),
      2,
      'ready',
      'Ready=True'
    ],
    [
      'Ready=True stamped with an older generation (cert-manager, Gateway API)',
      object(3, {}, { conditions: [{ type: 'Ready', status: 'True', observedGeneration: 2 }] }),
      3,
      'progressing',
      'condition Ready describes generation 2, waiting for generation 3'
    ],
    [
      'the live generation is newer than the one we applied: a condition must describe the live one',
      object(4, {}, { conditions: [{ type: 'Ready', status: 'True', observedGeneration: 3 }] }),
      3,
      'progressing',
      'condition Ready describes generation 3, waiting for generation 4'
    ],
    [
      'our apply returned a generation the cache has not seen yet: a condition must describe it',
      object(2, {}, { conditions: [{ type: 'Ready', status: 'True', observedGeneration: 2 }] }),
      3,
      'progressing',
      'condition Ready describes generation 2, waiting for generation 3'
    ],
    [
      'Ready=True stamped with the current generation',
      object(3, {}, { conditions: [{ type: 'Ready', status: 'True', observedGeneration: 3 }] }),
      3,
      'ready',
      'Ready=True'
    ],
    [
      'a stale Stalled is ignored',
      object(3, {}, { conditions: [{ type: 'Stalled', status: 'True', observedGeneration: 2 }] }),
      3,
      'ready',
      'current'
    ],
    [
      'Ready=True for an older generation',
      object(2, {}, { observedGeneration: 1, conditions: [{ type: 'Ready', status: 'True' }] }),
      2,
      'progressing',
      'waiting for the controller to observe generation 2 (observed: 1)'
    ],
    [
      'no observedGeneration: the generation cannot be checked',
      object(2, {}, { conditions: [{ type: 'Ready', status: 'True' }] }),
      2,
      'ready',
      'Ready=True'
    ],
    [
      'Ready=False',
      object(
        1,
        {},
        {
          observedGeneration: 1,
          conditions: [{ type: 'Ready', status: 'False', reason: 'Pending', message: 'issuing' }]
        }
      ),
      1,
      'progressing',
      'Ready=False: Pending: issuing'
    ],
    [
      'Reconciling=True',
      object(
        1,
        {},
        { observedGeneration: 1, conditions: [{ type: 'Reconciling', status: 'True', reason: 'Progressing' }] }
      ),
      1,
      'progressing',
      'Reconciling=True: Progressing'
    ],
    [
      'Stalled=True fails',
      object(
        1,
        {},
        {
          observedGeneration: 1,
          conditions: [{ type: 'Stalled', status: 'True', reason: 'InvalidSpec', message: 'bad field' }]
        }
      ),
      1,
      'failed',
      'Stalled=True: InvalidSpec: bad field'
    ]
  ])
})

describe('other kinds', () => {
  it('are done when applied', () => {
    expect(rolloutStatus('applied', object(1, {}, {}), 1)).toEqual({ state: 'ready', message: 'applied' })
  })
})

describe('objects no controller has written yet: no status, strategy, name, labels or annotations', () => {
  // As the apiserver may answer right after a create (fresh custom resources keep no status at all).
  const fresh = (spec?: Record<string, unknown>): LiveObject =>
    JSON.parse(JSON.stringify({ metadata: { uid: 'u', generation: 1 }, ...(spec ? { spec } : {}) })) as LiveObject
  const unobserved = 'waiting for the controller to observe generation 1 (observed: 0)'
  it.each<[TrackingRule, RolloutState, string]>([
    ['Deployment', 'progressing', unobserved],
    ['StatefulSet', 'progressing', unobserved],
    ['DaemonSet', 'progressing', unobserved],
    ['ReplicaSet', 'progressing', unobserved],
    ['PodDisruptionBudget', 'progressing', unobserved],
    ['Job', 'progressing', '0 active, 0 succeeded, 0 failed'],
    ['Pod', 'progressing', 'waiting for the kubelet'],
    ['PersistentVolumeClaim', 'progressing', 'phase Pending, waiting for Bound'],
    ['CustomResourceDefinition', 'progressing', 'waiting for condition Established'],
    ['custom-resource', 'ready', 'current'],
    ['applied', 'ready', 'applied']
  ])('%s', (rule, state, message) => {
    expect(rolloutStatus(rule, fresh(), 1)).toEqual({ state, message })
    expect(rolloutStatus(rule, fresh({}), 1)).toEqual({ state, message })
  })

  it('a custom resource with status but no conditions is current once observed', () => {
    const live = { ...fresh({}), status: { observedGeneration: 1 } }
    expect(rolloutStatus('custom-resource', live, 1)).toEqual({ state: 'ready', message: 'current' })
  })

  it.each<[TrackingRule, RolloutState, string]>([
    ['StatefulSet', 'progressing', '0/1 updated, 0/1 available'],
    ['DaemonSet', 'ready', '0/0 updated, 0/0 available'],
    ['Deployment', 'progressing', '0/1 updated, 0/1 available']
  ])(
    '%s observed, without updateStrategy or counts: a rolling update with nothing counted yet',
    (rule, state, message) => {
      expect(rolloutStatus(rule, { ...fresh({}), status: { observedGeneration: 1 } }, 1)).toEqual({ state, message })
    }
  )
})

describe('conditions without reason or message: no dangling separators', () => {
  it.each<[TrackingRule, Record<string, unknown>, Record<string, unknown>, RolloutState, string]>([
    [
      'Deployment',
      { replicas: 1 },
      { observedGeneration: 1, conditions: [{ type: 'ReplicaFailure', status: 'True' }] },
      'progressing',
      '0/1 updated, 0/1 available; ReplicaFailure'
    ],
    [
      'ReplicaSet',
      { replicas: 1 },
      { observedGeneration: 1, conditions: [{ type: 'ReplicaFailure', status: 'True', message: 'quota' }] },
      'progressing',
      '0/1 ready, 0/1 available; ReplicaFailure: quota'
    ],
    ['Job', {}, { conditions: [{ type: 'Failed', status: 'True' }] }, 'failed', 'Failed'],
    [
      'CustomResourceDefinition',
      {},
      { conditions: [{ type: 'NamesAccepted', status: 'False' }] },
      'failed',
      'NamesAccepted=False'
    ],
    ['custom-resource', {}, { conditions: [{ type: 'Stalled', status: 'True' }] }, 'failed', 'Stalled=True'],
    [
      'Deployment',
      { replicas: 1 },
      {
        observedGeneration: 1,
        conditions: [{ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded' }]
      },
      'failed',
      'ProgressDeadlineExceeded: no progress within progressDeadlineSeconds'
    ]
  ])('%s', (rule, spec, status, state, message) => {
    expect(rolloutStatus(rule, object(1, spec, status), 1)).toEqual({ state, message })
  })
})
