// The peers' own suites (kubectl, kstatus, helm), translated case by case in
// __tests__/fixtures/peers, fed to our rules: the same verdict, or the documented difference.
import { describe, expect, it } from '@jest/globals'
import { helm } from '../fixtures/peers/helm.js'
import { kstatus } from '../fixtures/peers/kstatus.js'
import { kubectl } from '../fixtures/peers/kubectl.js'
import { type PeerCase, type PeerSuite } from '../fixtures/peers/types.js'
import { type LiveObject } from '../../src/kube/rollout/objects.js'
import { newRevisionPods, podFailure } from '../../src/kube/rollout/signals.js'
import { rolloutStatus, trackingRule, type RolloutState } from '../../src/kube/rollout/status.js'

const GRACE_MS = 30_000
const NOW_MS = 1_000_000

/** What the tracker concludes from one observation: the kind's rule, then its pods' fail-fast signals. */
function verdict(c: PeerCase): RolloutState {
  const object: LiveObject = { ...c.object, metadata: { name: 'foo', uid: 'uid-foo', ...c.object.metadata } }
  const rule = trackingRule(c.apiVersion, c.kind)
  const status = rolloutStatus(rule, object, c.applied, c.facts)
  if (status.state !== 'progressing') return status.state
  for (const pod of newRevisionPods(rule, object, [object])) {
    const failure = podFailure(pod, {
      nowMs: NOW_MS,
      unschedulableSinceMs: c.unschedulableForMs === undefined ? undefined : NOW_MS - c.unschedulableForMs,
      unschedulableGraceMs: GRACE_MS,
      failuresAllowed: 1
    })
    if (failure) return 'failed'
  }
  return 'progressing'
}

const suites: Array<[PeerSuite, number]> = [
  [kubectl, 16],
  [kstatus, 53],
  [helm, 46]
]

describe.each(suites)('$repo', (suite, count) => {
  it(`translates every case of ${suite.file} (${count})`, () => {
    expect(suite.cases).toHaveLength(count)
    expect(new Set(suite.cases.map(c => c.test)).size).toBe(count)
  })

  it.each(suite.cases.map(c => [c.test, c] as const))('%s', (_test, c) => {
    expect(verdict(c)).toBe(c.differs?.ours ?? c.peer)
    // A difference is a difference: documenting the peer's own answer as one would hide a regression.
    if (c.differs) expect(c.differs.ours).not.toBe(c.peer)
  })
})

it('kubectl: every case agrees', () => {
  expect(kubectl.cases.filter(c => c.differs)).toEqual([])
})
