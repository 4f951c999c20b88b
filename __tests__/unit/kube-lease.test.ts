import { describe, expect, it } from '@jest/globals'
import { decideLease, type LeaseRecord, leaseName, microTime } from '../../src/kube/lease.js'

const NOW = Date.parse('2025-01-01T12:00:00Z')
const lease = (holder: string | undefined, renewedSecondsAgo: number, resourceVersion = '7'): LeaseRecord => ({
  metadata: { name: 'l', resourceVersion },
  spec: {
    holderIdentity: holder,
    leaseDurationSeconds: 30,
    renewTime: new Date(NOW - renewedSecondsAgo * 1000).toISOString()
  }
})

describe('decideLease', () => {
  it.each([
    ['no lease → create', undefined, undefined, { action: 'create' }],
    ['released (no holder) → take', lease(undefined, 5), undefined, { action: 'take', transition: true }],
    ['ours → take again, same holder', lease('me', 5), undefined, { action: 'take', transition: false }],
    ['held and fresh → wait', lease('run/1', 5), undefined, { action: 'wait', holder: 'run/1' }],
    [
      'renewed 31 s ago with 30 s duration → expired, take',
      lease('run/1', 31),
      undefined,
      { action: 'take', transition: true }
    ],
    [
      'fresh by its clock but unchanged for 31 s while we watched → take',
      lease('run/1', 0),
      { resourceVersion: '7', atMs: NOW - 31_000 },
      { action: 'take', transition: true }
    ],
    [
      'changed since we first saw it → wait',
      lease('run/1', 0, '8'),
      { resourceVersion: '7', atMs: NOW - 31_000 },
      { action: 'wait', holder: 'run/1' }
    ],
    [
      'unchanged for 20 s only → wait',
      lease('run/1', 0),
      { resourceVersion: '7', atMs: NOW - 20_000 },
      { action: 'wait', holder: 'run/1' }
    ]
  ])('%s', (_name, current, observed, decision) => {
    expect(decideLease(current, 'me', NOW, observed)).toEqual(decision)
  })
})

describe('leaseName', () => {
  it('is a valid, stable name per namespace and key', () => {
    const name = leaseName('app', 'envs/prod')
    expect(name).toMatch(/^gitops-push-deploy-[0-9a-f]{16}$/)
    expect(leaseName('app', 'envs/prod')).toBe(name)
    expect(leaseName('app', 'envs/staging')).not.toBe(name)
    expect(leaseName('other', 'envs/prod')).not.toBe(name)
  })
})

describe('microTime', () => {
  it('has microseconds, as Lease times require', () => {
    expect(microTime(new Date('2025-01-01T12:00:00.123Z'))).toBe('2025-01-01T12:00:00.123000Z')
  })
})
