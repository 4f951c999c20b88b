import { describe, expect, it } from '@jest/globals'
import { type KubeEvent } from '../../src/kube/rollout/objects.js'
import {
  describeFailure,
  describeTimeout,
  eventTimeMs,
  notReadyPodLines,
  progressDue,
  warningLines
} from '../../src/kube/rollout/report.js'

function event(name: string, uid: string, time: string, extra: Partial<KubeEvent> = {}): KubeEvent {
  return {
    metadata: { name: `${name}.1`, uid: `ev-${name}-${time}` },
    type: 'Warning',
    reason: 'Failed',
    message: `about ${name}`,
    lastTimestamp: time,
    involvedObject: { kind: 'Pod', name, uid },
    ...extra
  }
}

describe('eventTimeMs', () => {
  it.each<[string, Partial<KubeEvent>, string]>([
    ['lastTimestamp', { lastTimestamp: '2025-01-01T00:00:05Z' }, '2025-01-01T00:00:05Z'],
    ['eventTime (events.k8s.io emitters)', { eventTime: '2025-01-01T00:00:06.123456Z' }, '2025-01-01T00:00:06.123Z'],
    [
      'series.lastObservedTime is the newest',
      { eventTime: '2025-01-01T00:00:06Z', series: { count: 4, lastObservedTime: '2025-01-01T00:01:00Z' } },
      '2025-01-01T00:01:00Z'
    ],
    ['only creationTimestamp', {}, '2025-01-01T00:00:01Z']
  ])('%s', (_name, fields, expected) => {
    const e: KubeEvent = {
      metadata: { name: 'e', uid: 'e', creationTimestamp: '2025-01-01T00:00:01Z' },
      involvedObject: {},
      ...fields
    }
    expect(eventTimeMs(e)).toBe(Date.parse(expected))
  })
})

describe('warningLines', () => {
  const since = Date.parse('2025-01-01T00:00:10.700Z')
  const uids = new Set(['pod-a', 'dep'])

  it('keeps Warning events of the given objects since the apply, oldest first, with counts', () => {
    const events = [
      event('web-a', 'pod-a', '2025-01-01T00:00:12Z', {
        count: 3,
        message: 'Failed to pull image "r/x:1": not found '
      }),
      event('web', 'dep', '2025-01-01T00:00:11Z', {
        involvedObject: { kind: 'Deployment', name: 'web', uid: 'dep' },
        reason: 'Odd'
      }),
      event('web-a', 'pod-a', '2025-01-01T00:00:09Z'),
      event('other', 'pod-z', '2025-01-01T00:00:12Z'),
      event('web-a', 'pod-a', '2025-01-01T00:00:13Z', { type: 'Normal', reason: 'Pulling' })
    ]
    expect(warningLines(events, uids, since)).toEqual([
      'deployment/web Odd: about web',
      'pod/web-a Failed: Failed to pull image "r/x:1": not found (x3)'
    ])
  })

  it('counts an event stamped in the same second as the apply (whole-second timestamps)', () => {
    expect(warningLines([event('web-a', 'pod-a', '2025-01-01T00:00:10Z')], uids, since)).toHaveLength(1)
  })

  it('shows only the newest ones', () => {
    const events = [1, 2, 3, 4].map(s => event('web-a', 'pod-a', `2025-01-01T00:00:2${s}Z`, { message: `m${s}` }))
    expect(warningLines(events, uids, since, 2)).toEqual(['pod/web-a Failed: m3', 'pod/web-a Failed: m4'])
  })
})

describe('describeFailure', () => {
  it('reason first, then the events indented', () => {
    expect(
      describeFailure('deployment/web', 'pod web-1 container app: CrashLoopBackOff: back-off', ['pod/web-1 BackOff: x'])
    ).toBe(
      'deployment/web: pod web-1 container app: CrashLoopBackOff: back-off\n  Warning events:\n    pod/web-1 BackOff: x'
    )
  })

  it('no events section without events', () => {
    expect(describeFailure('job/migrate', 'Failed: BackoffLimitExceeded: limit', [])).toBe(
      'job/migrate: Failed: BackoffLimitExceeded: limit'
    )
  })
})

describe('notReadyPodLines', () => {
  const pod = (name: string, ready: string | undefined, extra: Record<string, unknown> = {}) => ({
    metadata: { name, uid: `uid-${name}` },
    status: {
      phase: 'Running',
      ...(ready === undefined
        ? {}
        : {
            conditions: [
              {
                type: 'Ready',
                status: ready,
                reason: 'ContainersNotReady',
                message: 'containers with unready status: [app]'
              }
            ]
          }),
      ...extra
    }
  })
  const probe = (uid: string, time: string, message: string, count = 1) =>
    event('web-1', uid, time, { reason: 'Unhealthy', message, count })

  it('names each pod not Ready, its Ready reason and its latest readiness-probe event', () => {
    const events = [
      probe('uid-web-1', '2026-01-01T00:00:01Z', 'Readiness probe failed: HTTP probe failed with statuscode: 500'),
      probe('uid-web-1', '2026-01-01T00:00:09Z', 'Readiness probe failed: HTTP probe failed with statuscode: 503', 7),
      probe('uid-web-1', '2026-01-01T00:00:10Z', 'Liveness probe failed: timeout'),
      probe('uid-web-2', '2026-01-01T00:00:05Z', 'Readiness probe failed: connection refused')
    ]
    expect(notReadyPodLines([pod('web-1', 'False'), pod('web-0', 'True'), pod('web-3', undefined)], events)).toEqual([
      'pod web-1: Ready=False: ContainersNotReady: containers with unready status: [app]; ' +
        'last readiness probe: Readiness probe failed: HTTP probe failed with statuscode: 503 (x7)',
      'pod web-3: no Ready condition (phase Running)'
    ])
  })

  it('shows the first few and counts the rest', () => {
    const pods = ['a', 'b', 'c'].map(n => pod(n, 'False'))
    expect(notReadyPodLines(pods, [], 2)).toEqual([
      'pod a: Ready=False: ContainersNotReady: containers with unready status: [app]',
      'pod b: Ready=False: ContainersNotReady: containers with unready status: [app]',
      '… and 1 more'
    ])
  })

  it('describeFailure lists them before the events', () => {
    expect(describeFailure('deployment/web', 'timed out', ['pod/web-1 Unhealthy: x'], ['pod web-1: Ready=False'])).toBe(
      [
        'deployment/web: timed out',
        '  Pods not ready:',
        '    pod web-1: Ready=False',
        '  Warning events:',
        '    pod/web-1 Unhealthy: x'
      ].join('\n')
    )
  })
})

describe('describeTimeout', () => {
  it('lists every unfinished resource with its last progress', () => {
    expect(
      describeTimeout(90_000, [
        {
          ref: 'deployment/web',
          text: 'deployment/web: 2/3 updated, 1/3 available\n  Warning events:\n    pod/web-1 Unhealthy: probe'
        },
        { ref: 'job/migrate', text: 'job/migrate: 1 active, 0 succeeded, 0 failed' }
      ])
    ).toBe(
      [
        'timed out after 90s waiting for:',
        '  deployment/web: 2/3 updated, 1/3 available',
        '    Warning events:',
        '      pod/web-1 Unhealthy: probe',
        '  job/migrate: 1 active, 0 succeeded, 0 failed'
      ].join('\n')
    )
  })
})

describe('progressDue', () => {
  it.each<[string, string, { line: string; atMs: number } | undefined, number, boolean]>([
    ['first line', 'a', undefined, 0, true],
    ['unchanged', 'a', { line: 'a', atMs: 0 }, 60_000, false],
    ['changed too soon', 'b', { line: 'a', atMs: 0 }, 4_999, false],
    ['changed after the interval', 'b', { line: 'a', atMs: 0 }, 5_000, true]
  ])('%s', (_name, line, last, now, due) => {
    expect(progressDue(line, last, now, 5_000)).toBe(due)
  })
})
