// The log of API requests the tests read back through GET /_testbed/requests.
export interface RequestLogEntry {
  id: number
  method: string
  path: string
  query: string
  status: number
  time: string
  durationMs: number
  login?: string
  fault?: string
  /** GraphQL: the `type` of each error the answer carried (STALE_DATA, FORBIDDEN, …) */
  graphqlErrors?: string[]
  body?: unknown
}

const KEEP = 20000

export class RequestLog {
  entries: RequestLogEntry[] = []
  private seq = 0

  nextId(): number {
    return ++this.seq
  }

  add(entry: RequestLogEntry): void {
    this.entries.push(entry)
    if (this.entries.length > KEEP) this.entries.splice(0, this.entries.length - KEEP)
  }

  since(id: number): RequestLogEntry[] {
    return this.entries.filter(r => r.id > id)
  }

  clear(): void {
    this.entries = []
  }
}
