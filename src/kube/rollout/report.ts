// Texts the tracker shows: progress lines, failure diagnoses with their Warning events.
import { conditionOf, type KubeEvent, type LiveObject } from './objects.js'

export const MAX_EVENTS_SHOWN = 8
export const MAX_PODS_SHOWN = 5

/** When the event last happened, in ms; core/v1 events fill different fields by emitter. */
export function eventTimeMs(event: KubeEvent): number {
  const times = [
    event.series?.lastObservedTime,
    event.lastTimestamp,
    event.eventTime,
    event.firstTimestamp,
    event.metadata.creationTimestamp
  ]
  return Math.max(0, ...times.map(t => (t ? Date.parse(t) : NaN)).filter(Number.isFinite))
}

/**
 * Warning events about the given objects since `sinceMs`, oldest first, one line each. Event
 * times have whole-second precision, so `since` is rounded down to its second.
 */
export function warningLines(
  events: Iterable<KubeEvent>,
  objectUids: ReadonlySet<string>,
  sinceMs: number,
  limit = MAX_EVENTS_SHOWN
): string[] {
  const floor = Math.floor(sinceMs / 1000) * 1000
  const relevant = [...events]
    .filter(e => e.type === 'Warning' && objectUids.has(e.involvedObject.uid ?? '') && eventTimeMs(e) >= floor)
    .sort((a, b) => eventTimeMs(a) - eventTimeMs(b))
    .slice(-limit)
  return relevant.map(e => {
    const count = e.series?.count ?? e.count ?? 1
    const object = `${(e.involvedObject.kind ?? '').toLowerCase()}/${e.involvedObject.name ?? ''}`
    return `${object} ${e.reason ?? ''}: ${(e.message ?? '').trim()}${count > 1 ? ` (x${count})` : ''}`
  })
}

/**
 * The pods of the new revision that are not Ready, each with its Ready condition's reason and
 * its latest readiness-probe event (kubelet: Warning `Unhealthy`, "Readiness probe failed: …").
 */
export function notReadyPodLines(
  pods: Iterable<LiveObject>,
  events: Iterable<KubeEvent>,
  limit = MAX_PODS_SHOWN
): string[] {
  const notReady = [...pods].filter(p => conditionOf(p, 'Ready')?.status !== 'True')
  const probes = [...events].filter(e => e.reason === 'Unhealthy' && /^Readiness probe/.test(e.message ?? ''))
  const lines = notReady.slice(0, limit).map(pod => {
    const condition = conditionOf(pod, 'Ready')
    const why = condition
      ? `Ready=${condition.status}` +
        (condition.reason ? `: ${condition.reason}` : '') +
        (condition.message ? `: ${condition.message}` : '')
      : `no Ready condition (phase ${(pod.status as { phase?: string } | undefined)?.phase ?? 'unknown'})`
    const probe = probes
      .filter(e => e.involvedObject.uid === pod.metadata.uid)
      .sort((a, b) => eventTimeMs(a) - eventTimeMs(b))
      .at(-1)
    const count = probe ? (probe.series?.count ?? probe.count ?? 1) : 1
    const probeText = probe
      ? `; last readiness probe: ${(probe.message ?? '').trim()}${count > 1 ? ` (x${count})` : ''}`
      : ''
    return `pod ${pod.metadata.name}: ${why}${probeText}`
  })
  if (notReady.length > limit) lines.push(`… and ${notReady.length - limit} more`)
  return lines
}

/** `deployment/web: <reason>`, then the pods not ready and the recent Warning events, indented. */
export function describeFailure(
  ref: string,
  reason: string,
  warnings: readonly string[],
  notReadyPods: readonly string[] = []
): string {
  const lines = [`${ref}: ${reason}`]
  if (notReadyPods.length > 0) lines.push('  Pods not ready:', ...notReadyPods.map(p => `    ${p}`))
  if (warnings.length > 0) lines.push('  Warning events:', ...warnings.map(w => `    ${w}`))
  return lines.join('\n')
}

export function describeTimeout(timeoutMs: number, unfinished: ReadonlyArray<{ ref: string; text: string }>): string {
  const seconds = Math.round(timeoutMs / 100) / 10
  return [`timed out after ${seconds}s waiting for:`, ...unfinished.map(u => indent(u.text))].join('\n')
}

function indent(text: string): string {
  return text
    .split('\n')
    .map(line => `  ${line}`)
    .join('\n')
}

/** A progress line is due when it changed and the last one of this workload is old enough. */
export function progressDue(
  line: string,
  last: { line: string; atMs: number } | undefined,
  nowMs: number,
  intervalMs: number
): boolean {
  return last === undefined || (line !== last.line && nowMs - last.atMs >= intervalMs)
}
