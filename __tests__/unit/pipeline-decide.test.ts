import { describe, expect, it } from '@jest/globals'
import { afterDriftCheck, appliedStatus, checksDrift, inSyncStatus, type RunKind } from '../../src/pipeline/decide.js'
import { type DriftPolicy } from '../../src/config/config.js'

describe('afterDriftCheck', () => {
  it.each<[RunKind, DriftPolicy, { drifted: number; unlabelled: number } | undefined, string]>([
    ['deploy', 'warn', { drifted: 0, unlabelled: 0 }, 'apply'],
    ['deploy', 'warn', { drifted: 3, unlabelled: 0 }, 'apply'],
    ['deploy', 'fail', { drifted: 3, unlabelled: 0 }, 'stop'],
    ['deploy', 'fail', { drifted: 0, unlabelled: 2 }, 'apply'],
    ['deploy', 'ignore', undefined, 'apply'],
    ['catch-up', 'warn', { drifted: 0, unlabelled: 0 }, 'in-sync'],
    ['catch-up', 'warn', { drifted: 1, unlabelled: 0 }, 'apply'],
    ['catch-up', 'warn', { drifted: 0, unlabelled: 1 }, 'apply'],
    ['catch-up', 'fail', { drifted: 1, unlabelled: 0 }, 'stop'],
    ['catch-up', 'ignore', { drifted: 1, unlabelled: 0 }, 'apply'],
    ['catch-up', 'warn', undefined, 'apply'],
    ['reconcile', 'warn', { drifted: 0, unlabelled: 0 }, 'in-sync'],
    ['reconcile', 'fail', { drifted: 2, unlabelled: 0 }, 'stop'],
    ['reconcile', 'ignore', { drifted: 2, unlabelled: 0 }, 'apply']
  ])('%s with drift %s and %j → %s', (kind, policy, findings, next) => {
    expect(afterDriftCheck(kind, policy, findings)).toBe(next)
  })
})

describe('statuses', () => {
  it.each<[RunKind, string]>([
    ['deploy', 'deployed'],
    ['catch-up', 'reconciled'],
    ['reconcile', 'reconciled']
  ])('%s applied → %s', (kind, status) => {
    expect(appliedStatus(kind)).toBe(status)
  })
  it('in sync: unchanged for a deploy run, reconciled for mode reconcile', () => {
    expect(inSyncStatus('catch-up')).toBe('unchanged')
    expect(inSyncStatus('reconcile')).toBe('reconciled')
  })
  it.each<[RunKind, DriftPolicy, boolean]>([
    ['deploy', 'ignore', false],
    ['deploy', 'warn', true],
    ['catch-up', 'ignore', true],
    ['reconcile', 'ignore', true]
  ])('%s with %s checks drift: %s', (kind, policy, checks) => {
    expect(checksDrift(kind, policy)).toBe(checks)
  })
})
