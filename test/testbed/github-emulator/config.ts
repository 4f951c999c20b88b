// Emulator configuration: tokens and their per-repository permissions, plus repositories that exist
// without git storage (e.g. only used for deployments). Re-read when the file changes or on SIGHUP.
import { readFileSync, statSync } from 'node:fs'

export type Permission = 'none' | 'read' | 'write' | 'admin'

export interface TokenConfig {
  token: string
  /** login reported for the token's user (default "testbed-user") */
  login?: string
  /** commit identity used when a request gives no author/committer */
  name?: string
  email?: string
  /** repository pattern ("*", "owner/*", "owner/name") → permission; the most specific pattern wins */
  repos: Record<string, Permission>
}

export interface EmulatorConfig {
  tokens: TokenConfig[]
  /** "owner/name" repositories that exist without a git directory (deployments, repo metadata only) */
  repos?: string[]
  /** base of html_url values (default http://<host of the request>) */
  htmlBaseUrl?: string
  /** per-token hourly request budget shown in x-ratelimit-* headers */
  rateLimit?: number
}

const PERMS: Permission[] = ['none', 'read', 'write', 'admin']

export function validateConfig(raw: unknown): EmulatorConfig {
  if (!raw || typeof raw !== 'object') throw new Error('config must be a JSON object')
  const c = raw as Record<string, unknown>
  const tokens = c.tokens ?? []
  if (!Array.isArray(tokens)) throw new Error('config.tokens must be an array')
  for (const t of tokens as TokenConfig[]) {
    if (!t || typeof t.token !== 'string' || !t.token) throw new Error('every token needs a non-empty "token"')
    if (!t.repos || typeof t.repos !== 'object') throw new Error(`token ${t.login ?? '?'} needs "repos"`)
    for (const [pattern, perm] of Object.entries(t.repos)) {
      if (!PERMS.includes(perm))
        throw new Error(`token ${t.login ?? '?'}: bad permission ${String(perm)} for ${pattern}`)
    }
  }
  if (c.repos !== undefined && !Array.isArray(c.repos)) throw new Error('config.repos must be an array')
  return {
    tokens: tokens as TokenConfig[],
    repos: (c.repos as string[] | undefined) ?? [],
    htmlBaseUrl: typeof c.htmlBaseUrl === 'string' ? c.htmlBaseUrl.replace(/\/$/, '') : undefined,
    rateLimit: typeof c.rateLimit === 'number' ? c.rateLimit : 5000
  }
}

export function permissionFor(token: TokenConfig, owner: string, name: string): Permission {
  const full = `${owner}/${name}`.toLowerCase()
  let best: Permission = 'none'
  let bestRank = -1
  for (const [pattern, perm] of Object.entries(token.repos)) {
    const p = pattern.toLowerCase()
    let rank = -1
    if (p === full) rank = 3
    else if (p === `${owner.toLowerCase()}/*`) rank = 2
    else if (p === '*' || p === '*/*') rank = 1
    if (rank > bestRank) {
      best = perm
      bestRank = rank
    }
  }
  return best
}

export class ConfigStore {
  file: string | null
  current: EmulatorConfig
  /** tokens added at run time through the admin endpoint */
  extraTokens: TokenConfig[] = []
  private mtime = 0
  private timer: NodeJS.Timeout | null = null

  constructor(file: string | null) {
    this.file = file
    this.current = { tokens: [], repos: [], rateLimit: 5000 }
    this.reload()
  }

  /** Re-read the file; keeps the previous config (and reports) when the new one is invalid. */
  reload(): { ok: boolean; error?: string } {
    if (!this.file) return { ok: true }
    try {
      const st = statSync(this.file)
      this.mtime = st.mtimeMs
      this.current = validateConfig(JSON.parse(readFileSync(this.file, 'utf8')))
      return { ok: true }
    } catch (e) {
      const error = e instanceof Error ? e.message : String(e)
      process.stderr.write(`github-emulator: config ${this.file} not loaded: ${error}\n`)
      return { ok: false, error }
    }
  }

  watch(intervalMs = 500): void {
    if (!this.file || this.timer) return
    const file = this.file
    this.timer = setInterval(() => {
      try {
        if (statSync(file).mtimeMs !== this.mtime) this.reload()
      } catch {
        /* file briefly missing while being replaced */
      }
    }, intervalMs)
    this.timer.unref()
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer)
    this.timer = null
  }

  findToken(value: string): TokenConfig | undefined {
    return this.extraTokens.find(t => t.token === value) ?? this.current.tokens.find(t => t.token === value)
  }
}
