// Helm hooks around the main apply, as Argo CD runs them: pre-install/pre-upgrade before it,
// post-install/post-upgrade after the rollout succeeded; each weight in turn, each waited for.
import { type Deadline } from '../lib/deadline.js'
import { type Applier, failureLine, type PreparedObject } from './apply.js'
import { type HookPhase } from './helm.js'
import { type RolloutOutcome, type Tracker } from './rollout/types.js'
import { trackTarget } from './rollback.js'
import { type ResourceResult } from './types.js'

/** The hooks of one phase, grouped by weight in run order. */
export function hookGroups(prepared: PreparedObject[], phase: HookPhase): PreparedObject[][] {
  const hooks = prepared.filter(p => p.hook?.phase === phase)
  const weights = [...new Set(hooks.map(p => p.hook?.weight ?? 0))].sort((a, b) => a - b)
  return weights.map(weight => hooks.filter(p => p.hook?.weight === weight))
}

/** Which hooks to delete once a group ended: Helm's `hook-succeeded` / `hook-failed` policies. */
export function hooksToDelete(group: PreparedObject[], succeeded: boolean): PreparedObject[] {
  const policy = succeeded ? 'hook-succeeded' : 'hook-failed'
  return group.filter(p => p.hook?.deletePolicies.includes(policy))
}

/**
 * Runs the hooks of one phase. Each weight group: delete the old copies (`before-hook-creation`),
 * apply, wait until they are done (a Job completes, a Pod succeeds), then delete per policy. The
 * first failing group stops the phase; every wait spends `deadline`, the run's, and no group
 * starts once it ran out.
 */
export async function runHooks(
  applier: Pick<Applier, 'applyWaves' | 'deleteAndWait'>,
  track: Tracker,
  prepared: PreparedObject[],
  phase: HookPhase,
  deadline: Deadline,
  log: (line: string) => void
): Promise<{ ok: boolean; resources: ResourceResult[]; failure?: string }> {
  const resources: ResourceResult[] = []
  for (const group of hookGroups(prepared, phase)) {
    const weight = group[0].hook?.weight ?? 0
    if (deadline.expired()) {
      const failure = `Helm ${phase}-hooks (weight ${weight}) not run: the ${Math.round(deadline.budgetMs / 1000)}s timeout ran out`
      return { ok: false, resources, failure }
    }
    for (const p of group.filter(p => p.hook?.deletePolicies.includes('before-hook-creation'))) {
      if (await applier.deleteAndWait(p, deadline)) log(`${p.describe} deleted (Helm hook, before-hook-creation)`)
    }
    log(`${phase}-hooks (weight ${weight}): ${group.map(p => p.describe).join(', ')}`)
    const since = new Date()
    const { applied, failed } = await applier.applyWaves(group, 'stop', deadline)
    let outcome: RolloutOutcome | undefined
    if (failed.length === 0) {
      outcome = await track(applied.map(trackTarget), since, deadline)
      resources.push(...outcome.resources)
    }
    const ok = failed.length === 0 && outcome?.ok === true
    for (const p of hooksToDelete(group, ok)) {
      try {
        if (await applier.deleteAndWait(p, deadline))
          log(`${p.describe} deleted (Helm hook, ${ok ? 'hook-succeeded' : 'hook-failed'})`)
      } catch (error) {
        log(`${p.describe}: could not delete: ${(error as Error).message}`)
      }
    }
    if (ok) log(`${phase}-hooks (weight ${weight}) done: ${group.map(p => p.describe).join(', ')}`)
    if (!ok) {
      const why = failed.length > 0 ? failed.map(failureLine).join('\n') : (outcome?.failure ?? 'did not complete')
      return { ok: false, resources, failure: `Helm ${phase}-hook failed: ${why}` }
    }
  }
  return { ok: true, resources }
}
