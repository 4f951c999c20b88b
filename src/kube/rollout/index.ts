import { type KubeClient } from '../client.js'
import { RolloutTracker } from './tracker.js'
import { type RolloutOutcome, type TrackOptions, type TrackTarget } from './types.js'

export type { RolloutOutcome, TrackOptions, Tracker, TrackTarget } from './types.js'

/**
 * Waits until every target is rolled out, one fails, or the overall timeout passes, from
 * watches on the targets, their pods and ReplicaSets and the namespaces' Warning events.
 */
export function trackRollout(
  client: KubeClient,
  targets: TrackTarget[],
  options: TrackOptions
): Promise<RolloutOutcome> {
  return new RolloutTracker(client, targets, options).run()
}
