// Workflow cancellation: the runner sends SIGINT, then SIGTERM, then kills the process. Either
// signal aborts one AbortSignal; the pipeline stops tracking, releases the lock, records and
// reports `cancelled`. If some stage does not end in time, the process still exits.
import { removeAll } from '../lib/temp-files.js'

/** The runner kills a cancelled step's process soon after the signals; we exit before that. */
export const CANCEL_EXIT_MS = 4_500

export interface Cancellation {
  signal: AbortSignal
  /** Stops listening (the run ended). */
  dispose(): void
}

/**
 * On the first SIGINT or SIGTERM aborts `signal` and arms a last-resort exit (temp files
 * removed, exit code 1) in case a stage ignores it; later signals change nothing.
 */
export function cancelOnSignals(log: (line: string) => void): Cancellation {
  const controller = new AbortController()
  const onSignal = (name: NodeJS.Signals): void => {
    if (controller.signal.aborted) return
    log(`${name} received: cancelling (stop tracking, release the lock, report "cancelled")`)
    controller.abort(new CancelledError(name))
    setTimeout(() => {
      removeAll()
      process.exit(1)
    }, CANCEL_EXIT_MS).unref()
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  return {
    signal: controller.signal,
    dispose() {
      process.removeListener('SIGINT', onSignal)
      process.removeListener('SIGTERM', onSignal)
    }
  }
}

export class CancelledError extends Error {
  constructor(signal: string) {
    super(`cancelled (${signal})`)
    this.name = 'CancelledError'
  }
}

/** Throws at a stage boundary once the run is cancelled: nothing new starts. */
export function throwIfCancelled(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw signal.reason instanceof Error ? signal.reason : new CancelledError('abort')
}
