// Thin adapter over the GitHub REST API for the env repository: the Git Data calls the stage
// needs (no clone), retries, and errors that say what is wrong in the user's terms.
import { setTimeout as sleep } from 'node:timers/promises'
import { getOctokit } from '@actions/github'
import { retry } from '@octokit/plugin-retry'
import { type TreeFile } from './files.js'

type Octokit = ReturnType<typeof getOctokit>

export interface GitHubOptions {
  /** Base of plugin-retry's quadratic wait for 5xx and network errors (1 s, 4 s, 9 s by default). */
  retryBaseMs?: number
  /** Longest wait honoured for a rate limit; a longer Retry-After fails at once, saying so. */
  maxRateLimitWaitMs?: number
}

export interface NewFile {
  path: string
  mode: string
  content: string
}

const RATE_LIMIT_RETRIES = 3
const SECONDARY_FALLBACK_MS = 60_000

interface HttpFailure {
  status?: number
  message?: string
  response?: { headers?: Record<string, string | number | undefined> }
}

/**
 * How long to wait before retrying a rate-limited request, or undefined when it is not one.
 * Rate limits answer 429, or 403 with "secondary rate limit" or `x-ratelimit-remaining: 0`;
 * `Retry-After` wins, then `x-ratelimit-reset`, then GitHub's advice of one minute.
 */
export function rateLimitWait(failure: HttpFailure, nowMs: number): number | undefined {
  const headers = failure.response?.headers ?? {}
  const exhausted = String(headers['x-ratelimit-remaining'] ?? '') === '0'
  const secondary = /secondary rate limit/i.test(failure.message ?? '')
  if (!(failure.status === 429 || (failure.status === 403 && (secondary || exhausted)))) return undefined
  const retryAfter = Number(headers['retry-after'])
  if (Number.isFinite(retryAfter) && retryAfter >= 0) return retryAfter * 1000
  const reset = Number(headers['x-ratelimit-reset'])
  if (exhausted && Number.isFinite(reset)) return Math.max(0, reset * 1000 - nowMs) + 1000
  return SECONDARY_FALLBACK_MS
}

export class RateLimitError extends Error {}

/** Octokit for the env repo: plugin-retry for 5xx and network errors, rate limits per `rateLimitWait`. */
export function envOctokit(token: string, baseUrl: string, options: GitHubOptions = {}): Octokit {
  // plugin-throttling is not used: it paces all writes of the process to one per second, which
  // serialises concurrent runs; a commit here is three writes.
  const octokit = getOctokit(
    token,
    {
      baseUrl,
      retry: {
        retryAfterBaseValue: options.retryBaseMs ?? 1000,
        doNotRetry: [400, 401, 403, 404, 409, 410, 422, 429, 451]
      }
    },
    retry
  )
  const maxWait = options.maxRateLimitWaitMs ?? 120_000
  octokit.hook.wrap('request', async (request, requestOptions) => {
    for (let attempt = 0; ; attempt++) {
      try {
        return await request(requestOptions)
      } catch (error) {
        const wait = rateLimitWait(error as HttpFailure, Date.now())
        if (wait === undefined || attempt >= RATE_LIMIT_RETRIES) throw error
        if (wait > maxWait) {
          throw new RateLimitError(
            `GitHub rate limit on ${requestOptions.method} ${requestOptions.url}: retry after ${Math.ceil(wait / 1000)} s, longer than the ${maxWait / 1000} s this run waits`
          )
        }
        await sleep(wait)
      }
    }
  })
  return octokit
}

function statusOf(error: unknown): number | undefined {
  return typeof error === 'object' && error !== null && 'status' in error ? Number(error.status) : undefined
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

/** The env repository's Git data, as the stage uses it. */
export class EnvGitHub {
  readonly name: string

  constructor(
    private readonly octokit: Octokit,
    readonly owner: string,
    readonly repo: string
  ) {
    this.name = `${owner}/${repo}`
  }

  /** Maps auth and permission failures to messages naming the token and the repository. */
  private async call<T>(write: boolean, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn()
    } catch (error) {
      const status = statusOf(error)
      if (status === 401) throw new Error('env-token is not valid (401)', { cause: error })
      if (status === 403 && write) throw new Error(`env-token needs contents:write on ${this.name}`, { cause: error })
      if (status === 403)
        throw new Error(`env-token cannot read ${this.name} (403: ${messageOf(error)})`, { cause: error })
      throw error
    }
  }

  async repository(): Promise<{ defaultBranch: string; htmlUrl: string }> {
    return this.call(false, async () => {
      try {
        const { data } = await this.octokit.rest.repos.get({ owner: this.owner, repo: this.repo })
        return { defaultBranch: data.default_branch, htmlUrl: data.html_url }
      } catch (error) {
        if (statusOf(error) === 404) {
          throw new Error(`env-repo ${this.name} not found, or env-token cannot see it (404)`, { cause: error })
        }
        throw error
      }
    })
  }

  /** The branch's head commit, or undefined when the branch does not exist. */
  async branchHead(branch: string): Promise<string | undefined> {
    return this.call(false, async () => {
      try {
        const { data } = await this.octokit.rest.git.getRef({
          owner: this.owner,
          repo: this.repo,
          ref: `heads/${branch}`
        })
        return data.object.sha
      } catch (error) {
        if (statusOf(error) === 404 || statusOf(error) === 409) return undefined
        throw error
      }
    })
  }

  /** Every file of a commit, from one recursive tree read. */
  async tree(commitSha: string): Promise<{ sha: string; files: TreeFile[] }> {
    return this.call(false, async () => {
      const { data } = await this.octokit.rest.git.getTree({
        owner: this.owner,
        repo: this.repo,
        tree_sha: commitSha,
        recursive: 'true'
      })
      if (data.truncated) {
        throw new Error(`the tree of ${this.name}@${commitSha.slice(0, 7)} is too large for one read (truncated)`)
      }
      const files = data.tree.flatMap(entry =>
        entry.path && entry.sha && entry.mode && entry.type
          ? [{ path: entry.path, sha: entry.sha, mode: entry.mode, type: entry.type as TreeFile['type'] }]
          : []
      )
      return { sha: data.sha, files }
    })
  }

  /** A blob's bytes. */
  async blob(sha: string): Promise<Buffer> {
    return this.call(false, async () => {
      const { data } = await this.octokit.rest.git.getBlob({ owner: this.owner, repo: this.repo, file_sha: sha })
      return Buffer.from(data.content, data.encoding === 'base64' ? 'base64' : 'utf8')
    })
  }

  /** One commit with `parent` as its only parent: the base tree plus the given files, inline. */
  async createCommit(
    parent: string,
    baseTree: string,
    files: NewFile[],
    message: string
  ): Promise<{ sha: string; url: string }> {
    return this.call(true, async () => {
      const tree = await this.octokit.rest.git.createTree({
        owner: this.owner,
        repo: this.repo,
        base_tree: baseTree,
        tree: files.map(file => ({
          path: file.path,
          mode: file.mode as '100644',
          type: 'blob' as const,
          content: file.content
        }))
      })
      const { data } = await this.octokit.rest.git.createCommit({
        owner: this.owner,
        repo: this.repo,
        message,
        tree: tree.data.sha,
        parents: [parent]
      })
      return { sha: data.sha, url: data.html_url }
    })
  }

  /**
   * Moves a branch to `sha`. Without force only a fast forward is accepted; 'stale' means the
   * branch moved since `sha`'s parent was read (422 "Update is not a fast forward").
   */
  async moveBranch(branch: string, sha: string, force: boolean): Promise<'moved' | 'stale' | 'missing'> {
    return this.call(true, async () => {
      try {
        await this.octokit.rest.git.updateRef({
          owner: this.owner,
          repo: this.repo,
          ref: `heads/${branch}`,
          sha,
          force
        })
        return 'moved'
      } catch (error) {
        if (statusOf(error) !== 422) throw error
        if (/not a fast.forward/i.test(messageOf(error))) return 'stale'
        if (/does not exist/i.test(messageOf(error))) return 'missing'
        throw error
      }
    })
  }

  /** Creates a branch; 'exists' when another run created it first. */
  async createBranch(branch: string, sha: string): Promise<'created' | 'exists'> {
    return this.call(true, async () => {
      try {
        await this.octokit.rest.git.createRef({ owner: this.owner, repo: this.repo, ref: `refs/heads/${branch}`, sha })
        return 'created'
      } catch (error) {
        if (statusOf(error) === 422 && /already exists/i.test(messageOf(error))) return 'exists'
        throw error
      }
    })
  }

  async openPullRequest(head: string, base: string): Promise<{ number: number; url: string } | undefined> {
    return this.call(false, async () => {
      const { data } = await this.octokit.rest.pulls.list({
        owner: this.owner,
        repo: this.repo,
        head: `${this.owner}:${head}`,
        base,
        state: 'open'
      })
      return data[0] && { number: data[0].number, url: data[0].html_url }
    })
  }

  /** Creates the pull request; undefined when one for this head and base already exists. */
  async createPullRequest(
    head: string,
    base: string,
    title: string,
    body: string
  ): Promise<{ number: number; url: string } | undefined> {
    return this.call(true, async () => {
      try {
        const { data } = await this.octokit.rest.pulls.create({
          owner: this.owner,
          repo: this.repo,
          head,
          base,
          title,
          body
        })
        return { number: data.number, url: data.html_url }
      } catch (error) {
        if (statusOf(error) === 422 && /already exists/i.test(JSON.stringify((error as HttpFailure).response ?? ''))) {
          return undefined
        }
        throw error
      }
    })
  }

  async updatePullRequest(pullNumber: number, title: string, body: string): Promise<void> {
    await this.call(true, () =>
      this.octokit.rest.pulls.update({ owner: this.owner, repo: this.repo, pull_number: pullNumber, title, body })
    )
  }
}
