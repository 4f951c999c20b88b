// One time budget shared by the steps of a run: the lock wait, the apply (CRD waits) and the
// rollout all spend the same `timeout`; the rollback gets a budget of its own.
import { setTimeout as sleep } from 'node:timers/promises'

export interface Clock {
  now(): number
  /** Resolves after `ms`, or as soon as `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) => sleep(ms, undefined, { signal }).catch(() => undefined)
}

export class Deadline {
  private readonly endsAt: number

  constructor(
    /** The whole budget, as configured. */
    readonly budgetMs: number,
    readonly clock: Clock = systemClock
  ) {
    this.endsAt = clock.now() + budgetMs
  }

  /** Milliseconds left, never negative. */
  remainingMs(): number {
    return Math.max(0, this.endsAt - this.clock.now())
  }

  expired(): boolean {
    return this.remainingMs() <= 0
  }

  /** Sleeps `ms`, or less when the budget ends sooner. */
  sleep(ms: number): Promise<void> {
    return this.clock.sleep(Math.min(ms, this.remainingMs()))
  }
}
