// GitHub behaviours the emulator shows only when a repository asks for them (POST /_testbed/quirks):
// each is how GitHub really answers (documented, or reported in public issue threads), and each is
// used by an integration test that fails against the kinder default.
import { HttpError } from './http.ts'

export type Scope = 'contents' | 'pull_requests' | 'deployments' | 'workflows'

export interface BranchRuleset {
  /** "Require a pull request before merging" */
  pullRequest?: boolean
  /** "Require status checks to pass": the check names */
  statusChecks?: string[]
  /** "Require signed commits" */
  signatures?: boolean
}

export interface Quirks {
  /** GET /git/trees/{commit sha} answers with the requested commit sha as the tree's `sha`. */
  treeEchoesRequestedSha?: boolean
  /** `base_tree` must be a tree: a commit sha answers 422 "base_tree is not a valid tree oid". */
  strictBaseTree?: boolean
  /**
   * A ref update that loses a race answers 422 "Reference cannot be updated" at once instead of
   * retrying inside; `windowMs` widens the time between the fast-forward check and the swap.
   */
  refRaces?: { windowMs?: number }
  /**
   * Replication lag: commits and branches written become visible to ref updates ("Object does not
   * exist") and pull requests ("head invalid") only after this many milliseconds.
   */
  replicationLagMs?: number
  /** Recursive tree reads stop after this many entries and say `truncated` (GitHub: 100,000 or 7 MB). */
  treeEntryLimit?: number
  /** Rulesets by branch name (GET /rules/branches/{branch}; enforced on ref updates). */
  rules?: Record<string, BranchRuleset>
  /** Every token's permission per scope on this repository (a workflow's `permissions:`). */
  permissions?: Partial<Record<Scope, 'none' | 'read' | 'write'>>
  /** "Allow GitHub Actions to create and approve pull requests" is off. */
  actionsMayNotCreatePullRequests?: boolean
  /** The organization enforces SAML single sign-on and the token is not authorized for it. */
  samlUnauthorized?: boolean
  /**
   * The next this many GraphQL calls naming the repository answer GitHub's primary rate limit: HTTP 200,
   * no data, `errors: [{ type: 'RATE_LIMITED' }]`, `x-ratelimit-remaining: 0`, a reset one second away.
   */
  graphqlRateLimited?: number
}

const KNOWN = new Set([
  'treeEchoesRequestedSha',
  'strictBaseTree',
  'refRaces',
  'replicationLagMs',
  'treeEntryLimit',
  'rules',
  'permissions',
  'actionsMayNotCreatePullRequests',
  'samlUnauthorized',
  'graphqlRateLimited'
])

export const FORBIDDEN_INTEGRATION = 'Resource not accessible by integration'
export const ACTIONS_MAY_NOT_CREATE_PRS = 'GitHub Actions is not permitted to create or approve pull requests.'
export const SAML_MESSAGE =
  'Resource protected by organization SAML enforcement. You must grant your Personal Access token access to this organization.'

/** Quirks per repository ("owner/name", lower case) and what they need to remember. */
export class QuirkStore {
  private byRepo = new Map<string, Quirks>()
  /** When each object or branch tip was written, for replication lag. */
  private written = new Map<string, number>()
  /** GraphQL calls still to answer with a rate limit, per repository. */
  private rateLimitedCalls = new Map<string, number>()

  get(full: string): Quirks {
    return this.byRepo.get(full.toLowerCase()) ?? {}
  }

  set(full: string, quirks: Quirks): void {
    for (const key of Object.keys(quirks)) {
      if (!KNOWN.has(key)) throw new HttpError(400, `unknown quirk ${key}`)
    }
    this.byRepo.set(full.toLowerCase(), quirks)
    this.rateLimitedCalls.set(full.toLowerCase(), quirks.graphqlRateLimited ?? 0)
  }

  reset(full: string): void {
    this.byRepo.delete(full.toLowerCase())
    this.rateLimitedCalls.delete(full.toLowerCase())
  }

  clear(): void {
    this.byRepo.clear()
    this.written.clear()
    this.rateLimitedCalls.clear()
  }

  /** True (and one fewer left) when this GraphQL call is to answer a rate limit. */
  takeGraphqlRateLimit(full: string): boolean {
    const left = this.rateLimitedCalls.get(full.toLowerCase()) ?? 0
    if (left <= 0) return false
    this.rateLimitedCalls.set(full.toLowerCase(), left - 1)
    return true
  }

  /** Note a commit or branch written now (only matters with replication lag). */
  wrote(full: string, key: string): void {
    if (this.get(full).replicationLagMs) this.written.set(`${full.toLowerCase()}:${key}`, Date.now())
  }

  /** False while a recent write has not "replicated" yet. */
  visible(full: string, key: string): boolean {
    const lag = this.get(full).replicationLagMs ?? 0
    const at = this.written.get(`${full.toLowerCase()}:${key}`)
    return !lag || at === undefined || Date.now() - at >= lag
  }
}

/** The scope a request needs, by endpoint (what GitHub's fine-grained permissions name). */
export function scopeOf(rest: string): Scope {
  if (/^\/(?:pulls|issues)(?:\/|$)/.test(rest)) return 'pull_requests'
  if (/^\/deployments(?:\/|$)/.test(rest)) return 'deployments'
  return 'contents'
}

/** Throws GitHub's 403 when the repository's quirks forbid this request. */
export function checkQuirkPermissions(quirks: Quirks, method: string, rest: string, body: unknown): void {
  if (quirks.samlUnauthorized) throw new HttpError(403, SAML_MESSAGE)
  const write = method !== 'GET' && method !== 'HEAD'
  const scope = scopeOf(rest)
  const granted = quirks.permissions?.[scope] ?? (quirks.permissions ? 'none' : 'write')
  if (granted === 'none' || (write && granted === 'read')) throw new HttpError(403, FORBIDDEN_INTEGRATION)
  if (write && scope === 'contents' && quirks.permissions && (quirks.permissions.workflows ?? 'none') !== 'write') {
    // A tree touching workflow files needs the workflows permission too.
    const tree = (body as { tree?: Array<{ path?: unknown }> } | undefined)?.tree
    if (Array.isArray(tree) && tree.some(e => typeof e?.path === 'string' && e.path.startsWith('.github/workflows/'))) {
      throw new HttpError(403, FORBIDDEN_INTEGRATION)
    }
  }
  if (quirks.actionsMayNotCreatePullRequests && method === 'POST' && rest === '/pulls') {
    throw new HttpError(403, ACTIONS_MAY_NOT_CREATE_PRS)
  }
}

/** The rules API's view of a branch's rulesets (GET /repos/{o}/{r}/rules/branches/{branch}). */
export function rulesJson(quirks: Quirks, branch: string): Array<Record<string, unknown>> {
  const ruleset = quirks.rules?.[branch]
  if (!ruleset) return []
  const source = { ruleset_source_type: 'Repository', ruleset_source: 'testbed', ruleset_id: 1 }
  const out: Array<Record<string, unknown>> = []
  if (ruleset.pullRequest) {
    out.push({
      type: 'pull_request',
      parameters: {
        required_approving_review_count: 1,
        dismiss_stale_reviews_on_push: false,
        require_code_owner_review: false,
        require_last_push_approval: false,
        required_review_thread_resolution: false
      },
      ...source
    })
  }
  if (ruleset.statusChecks) {
    out.push({
      type: 'required_status_checks',
      parameters: {
        required_status_checks: ruleset.statusChecks.map(context => ({ context })),
        strict_required_status_checks_policy: false
      },
      ...source
    })
  }
  if (ruleset.signatures) out.push({ type: 'required_signatures', ...source })
  return out
}

/**
 * GitHub's answer to a ref update a ruleset forbids. Commits are unsigned unless `signed` (GitHub signs
 * what createCommitOnBranch makes for a GitHub App).
 */
export function checkRules(quirks: Quirks, ref: string, options: { signed?: boolean } = {}): void {
  if (!ref.startsWith('refs/heads/')) return
  const ruleset = quirks.rules?.[ref.slice('refs/heads/'.length)]
  if (!ruleset) return
  const reasons: string[] = []
  if (ruleset.pullRequest) reasons.push('Changes must be made through a pull request.')
  for (const check of ruleset.statusChecks ?? []) reasons.push(`Required status check "${check}" is expected.`)
  if (ruleset.signatures && !options.signed) reasons.push('Commits must have verified signatures.')
  if (reasons.length > 0) throw new HttpError(422, `Repository rule violations found\n\n${reasons.join('\n')}\n\n`)
}
