// Primary rate limit per token: GitHub's x-ratelimit-* headers and the 403 once the budget is spent.
import { HttpError } from './http.ts'

export const PRIMARY_DOCS = 'https://docs.github.com/rest/overview/rate-limits-for-the-rest-api'

export interface RateState {
  limit: number
  used: number
  reset: number
}

export class RateLimits {
  private rates = new Map<string, RateState>()
  /** Read at every window start, so a config reload takes effect at the next reset. */
  private readonly limit: () => number

  constructor(limit: () => number) {
    this.limit = limit
  }

  state(token: string): RateState {
    const now = Math.floor(Date.now() / 1000)
    let r = this.rates.get(token)
    const limit = this.limit()
    if (!r || r.reset <= now) {
      r = { limit, used: 0, reset: now + 3600 }
      this.rates.set(token, r)
    }
    return r
  }

  headers(token: string): Record<string, string> {
    const r = this.state(token)
    return {
      'x-ratelimit-limit': String(r.limit),
      'x-ratelimit-remaining': String(Math.max(0, r.limit - r.used)),
      'x-ratelimit-reset': String(r.reset),
      'x-ratelimit-used': String(r.used),
      'x-ratelimit-resource': 'core'
    }
  }

  consume(token: string): Record<string, string> {
    const r = this.state(token)
    if (r.used >= r.limit) {
      throw new HttpError(
        403,
        'API rate limit exceeded for user.',
        { documentation_url: PRIMARY_DOCS },
        this.headers(token)
      )
    }
    r.used++
    return this.headers(token)
  }

  /** Tokens that have used the API since the last clear. */
  tokens(): string[] {
    return [...this.rates.keys()]
  }

  clear(): void {
    this.rates.clear()
  }
}
