import { type Deadline } from '../lib/deadline.js'
import { type Applier, ValidationError } from './apply.js'
import { waveOf } from './plan.js'
import { PolicyError } from './policy.js'
import { type RolloutOutcome, type Tracker, type TrackTarget } from './rollout/types.js'
import { type AppliedObject, describeObject, type EnvFile, objectKey, type ResourceResult } from './types.js'

/**
 * What a rollback does with the objects this run applied, given the keys of the previous
 * desired state: objects this run created that the previous state lacks are deleted (in
 * reverse install order); objects that existed before but are not in it are left alone.
 */
export function rollbackDeletions(
  applied: AppliedObject[],
  previousKeys: Set<string>
): { remove: AppliedObject[]; leave: AppliedObject[] } {
  const absent = applied.filter(a => !previousKeys.has(objectKey(a)))
  return {
    remove: absent.filter(a => a.created).sort((a, b) => waveOf(b.kind) - waveOf(a.kind)),
    leave: absent.filter(a => !a.created)
  }
}

export function trackTarget(object: AppliedObject): TrackTarget {
  const { apiVersion, kind, namespace, name, generation } = object
  return { apiVersion, kind, namespace, name, generation }
}

function result(
  object: { kind: string; namespace?: string; name: string },
  status: string,
  message: string
): ResourceResult {
  return { kind: object.kind, namespace: object.namespace ?? '', name: object.name, status, message }
}

/**
 * Helm-style rollback: re-apply the previous desired state with the same field manager,
 * delete what this run created that it lacks, and wait for that rollout.
 */
export async function rollBack(
  applier: Applier,
  track: Tracker,
  previousFiles: EnvFile[],
  applied: AppliedObject[],
  deadline: Deadline,
  annotations: Record<string, string>,
  log: (line: string) => void,
  labels: Record<string, string> = {}
): Promise<RolloutOutcome> {
  const since = new Date()
  const elapsed = (): number => (Date.now() - since.getTime()) / 1000
  let prepared
  try {
    // Helm hooks are not run on a rollback (Helm's pre/post-rollback hooks are not supported).
    prepared = (await applier.prepare(previousFiles, annotations, labels)).filter(p => !p.hook)
  } catch (error) {
    if (!(error instanceof ValidationError) && !(error instanceof PolicyError)) throw error
    const failure = `the previous env state cannot be applied, nothing rolled back:\n${error.problems.join('\n')}`
    return { ok: false, resources: [], failure, seconds: elapsed() }
  }
  const { applied: restored, failed } = await applier.applyWaves(prepared, 'continue', deadline)
  const resources: ResourceResult[] = failed.map(f =>
    result(
      { kind: f.object.object.kind, namespace: f.object.namespace, name: f.object.object.metadata.name },
      'failed',
      f.reason
    )
  )

  const { remove, leave } = rollbackDeletions(applied, new Set(prepared.map(p => p.key)))
  for (const object of remove) {
    try {
      await applier.delete(object)
      log(`${describeObject(object)} deleted (created by this deploy, absent from the previous state)`)
      resources.push(result(object, 'deleted', 'created by this deploy, absent from the previous state'))
    } catch (error) {
      resources.push(result(object, 'failed', `could not delete: ${(error as Error).message}`))
    }
  }
  for (const object of leave) {
    resources.push(
      result(object, 'applied', 'absent from the previous state but existed before this deploy; left as applied')
    )
  }

  const outcome = await track(restored.map(trackTarget), since, deadline)
  // The tracker answers one result per target; what it merely applied, a rollback restored.
  const restoredResults = outcome.resources.map(r =>
    r.status === 'applied' ? { ...r, status: 'rolled-back', message: 'previous state re-applied' } : r
  )
  const problems = resources.filter(r => r.status === 'failed')
  return {
    ok: outcome.ok && problems.length === 0,
    resources: [...restoredResults, ...resources],
    failure:
      [...problems.map(p => `${describeObject(p)}: ${p.message}`), ...(outcome.failure ? [outcome.failure] : [])].join(
        '\n'
      ) || undefined,
    seconds: elapsed()
  }
}
