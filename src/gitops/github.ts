// Thin adapter over the GitHub REST API for the env repository: the Git Data calls the stage
// needs (no clone), retries, and errors that say what is wrong in the user's terms.
import {
  forbiddenMessage,
  githubMessage,
  rateLimitWait,
  RateLimitError,
  statusOf,
  type HttpFailure,
  type Octokit,
  type Scope
} from '../lib/github-client.js'
import { retry, type RetryPolicy } from '../lib/retry.js'
import { EnvRepoEmptyError, EnvRepoNotFoundError, EnvTokenError, GitOpsError } from './errors.js'
import { type TreeFile } from './files.js'
import {
  COMMIT_MUTATION,
  OPEN_QUERY,
  addEntry,
  collectEntries,
  filesQuery,
  graphErrors,
  isMissingFromSchema,
  isStaleHead,
  messageParts,
  pathVariables,
  treesQuery,
  type GraphCommit,
  type GraphEntry,
  type GraphRead
} from './graphql.js'

export { githubOctokit, rateLimitWait, type GitHubOptions } from '../lib/github-client.js'

/** Tries of a write whose answer was lost (5xx or network) or that met replication lag. */
const UNSURE_WRITE_TRIES = 4

export interface NewFile {
  path: string
  mode: string
  content: string
}

/** A 422 answer about a lost race on a ref: the branch moved between our read and our write. */
export function isLostRefRace(status: number | undefined, reason: string): boolean {
  return (
    (status === 422 || status === 409) &&
    /not a fast.forward|Reference cannot be updated|Reference update failed/i.test(reason)
  )
}

/** GitHub's "Validation Failed" for a pull request's head it does not see yet (just-created branch). */
function isInvalidHead(error: unknown): boolean {
  const data = (error as HttpFailure).response?.data as
    { errors?: Array<{ field?: string; code?: string }> } | undefined
  return statusOf(error) === 422 && (data?.errors ?? []).some(e => e.field === 'head' && e.code === 'invalid')
}

/** "Object does not exist" on a ref write: the commit just made is not yet visible where the ref is written. */
function isLagging(error: unknown): boolean {
  return statusOf(error) === 422 && /Object does not exist/i.test(githubMessage(error))
}

/** A write whose outcome is unknown: the answer was lost (network) or GitHub failed after maybe handling it. */
export function isUnsure(error: unknown): boolean {
  if (error instanceof RateLimitError) return false // GitHub refused it unprocessed
  const status = statusOf(error)
  return status === undefined || status >= 500
}

/**
 * Whether a token is a GitHub App installation token (`ghs_`, GITHUB_TOKEN included): GitHub signs the
 * commits such a token makes through `createCommitOnBranch` (signature verification for bots).
 */
export function isAppInstallationToken(token: string): boolean {
  return token.startsWith('ghs_')
}

/** The branch rules of the env branch that forbid a direct push, in words. */
export interface BranchRules {
  /** e.g. `requires pull requests (ruleset)` */
  blocking: string[]
  /** `requires signed commits (…)`: met by commits GitHub signs (`createCommitOnBranch` as a GitHub App). */
  signatures: string[]
}

/** A commit read through GraphQL with the entries under the env paths (paths from the root). */
export interface GraphSnapshot extends GraphRead {
  head: string
  url: string
  treeSha: string
  message: string
  parent: string | undefined
}

/** The env repository's Git data, as the stage uses it. */
export class EnvGitHub {
  readonly name: string
  /** Retries of a write whose answer was lost or met replication lag. */
  readonly unsureWrites: RetryPolicy

  constructor(
    private readonly octokit: Octokit,
    readonly owner: string,
    readonly repo: string,
    unsureWaitMs = 500
  ) {
    this.name = `${owner}/${repo}`
    this.unsureWrites = { attempts: UNSURE_WRITE_TRIES, baseDelayMs: unsureWaitMs, maxDelayMs: 30_000 }
  }

  /** Maps auth and permission failures to messages naming the token, the repository and the permission. */
  private async call<T>(scope: Scope | undefined, action: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn()
    } catch (error) {
      const status = statusOf(error)
      if (status === 401) throw new EnvTokenError(401, 'env-token is not valid (401)', { cause: error })
      const forbidden = graphErrors(error)?.find(e => e.type === 'FORBIDDEN')
      if (forbidden) {
        const message = forbiddenMessage('env-token', this.name, action, scope, forbidden.message)
        throw new EnvTokenError(403, message, { cause: error })
      }
      if (status === 403 && rateLimitWait(error as HttpFailure, Date.now()) === undefined) {
        const message = forbiddenMessage('env-token', this.name, action, scope, githubMessage(error))
        throw new EnvTokenError(403, message, { cause: error })
      }
      if (status === 409 && /Git Repository is empty/i.test(githubMessage(error))) {
        throw new EnvRepoEmptyError(this.name, { cause: error })
      }
      throw error
    }
  }

  /** Scope of a write touching `paths`: changing workflow files needs the workflows permission. */
  private writeScope(paths: string[]): Scope {
    return paths.some(p => p.startsWith('.github/workflows/')) ? 'workflows' : 'contents'
  }

  async repository(): Promise<{ defaultBranch: string; htmlUrl: string }> {
    return this.call(undefined, 'read', async () => {
      try {
        const { data } = await this.octokit.rest.repos.get({ owner: this.owner, repo: this.repo })
        return { defaultBranch: data.default_branch, htmlUrl: data.html_url }
      } catch (error) {
        if (statusOf(error) === 404) throw new EnvRepoNotFoundError(this.name, { cause: error })
        throw error
      }
    })
  }

  /** The branch's head commit, or undefined when the branch does not exist. */
  async branchHead(branch: string): Promise<string | undefined> {
    return this.call(undefined, 'read', async () => {
      try {
        const { data } = await this.octokit.rest.git.getRef({
          owner: this.owner,
          repo: this.repo,
          ref: `heads/${branch}`
        })
        return data.object.sha
      } catch (error) {
        if (statusOf(error) === 404) return undefined
        throw error
      }
    })
  }

  /**
   * What keeps a direct push to `branch` out: rules of rulesets (readable with read access) and
   * classic branch protection (its settings need admin; without it only "protected" is known).
   */
  async branchRules(branch: string): Promise<BranchRules> {
    return this.call(undefined, 'read', async () => {
      const blocking: string[] = []
      const signatures: string[] = []
      // 404: a GitHub without rulesets (older Enterprise Server).
      const rules = await this.octokit
        .request('GET /repos/{owner}/{repo}/rules/branches/{branch}', { owner: this.owner, repo: this.repo, branch })
        .then(
          response => response.data,
          (error: unknown) => {
            if (statusOf(error) === 404) return []
            throw error
          }
        )
      for (const rule of rules as Array<{ type: string; parameters?: Record<string, unknown> }>) {
        if (rule.type === 'pull_request') blocking.push('requires pull requests (ruleset)')
        if (rule.type === 'required_status_checks') {
          const checks = (rule.parameters?.required_status_checks as Array<{ context: string }> | undefined) ?? []
          blocking.push(
            `requires status checks${checks.length ? ` ${checks.map(c => `"${c.context}"`).join(', ')}` : ''} (ruleset)`
          )
        }
        if (rule.type === 'required_signatures') signatures.push('requires signed commits (ruleset)')
      }
      try {
        const { data: protection } = await this.octokit.rest.repos.getBranchProtection({
          owner: this.owner,
          repo: this.repo,
          branch
        })
        if (protection.required_pull_request_reviews) blocking.push('requires pull requests (branch protection)')
        const contexts = protection.required_status_checks?.contexts ?? []
        if (protection.required_status_checks) {
          blocking.push(
            `requires status checks${contexts.length ? ` ${contexts.map(c => `"${c}"`).join(', ')}` : ''} (branch protection)`
          )
        }
        if (protection.required_signatures?.enabled) signatures.push('requires signed commits (branch protection)')
      } catch (error) {
        // 404: not protected (or, for a token without admin, unknowable): the rules above still apply.
        if (statusOf(error) !== 404 && statusOf(error) !== 403) throw error
      }
      return { blocking, signatures }
    })
  }

  /**
   * Opening through GraphQL: the default branch and the head of `branch` (or of the default branch) in
   * one query. Undefined when this GitHub has no GraphQL endpoint (404): the REST path is used.
   */
  async openGraph(
    branch: string | undefined
  ): Promise<{ defaultBranch: string; head: string | undefined } | undefined> {
    return this.call(undefined, 'read', async () => {
      let data: {
        repository: {
          defaultBranchRef: { name: string; target: { oid: string } } | null
          ref?: { target: { oid: string } } | null
        } | null
      }
      try {
        data = await this.octokit.graphql(OPEN_QUERY, {
          owner: this.owner,
          name: this.repo,
          ref: `refs/heads/${branch ?? ''}`,
          named: branch !== undefined
        })
      } catch (error) {
        if (statusOf(error) === 404) return undefined
        if (graphErrors(error)?.some(e => e.type === 'NOT_FOUND'))
          throw new EnvRepoNotFoundError(this.name, { cause: error })
        throw error
      }
      const repository = data.repository
      if (!repository) throw new EnvRepoNotFoundError(this.name)
      if (!repository.defaultBranchRef) throw new EnvRepoEmptyError(this.name)
      const head = branch === undefined ? repository.defaultBranchRef.target.oid : repository.ref?.target.oid
      return { defaultBranch: repository.defaultBranchRef.name, head }
    })
  }

  /**
   * A commit (a branch head, or a sha) and every entry under `paths`, in one query, plus one query per
   * batch of trees deeper than it reads. Undefined when the branch does not exist.
   */
  async filesGraph(at: { branch: string } | { sha: string }, paths: string[]): Promise<GraphSnapshot | undefined> {
    return this.call(undefined, 'read', async () => {
      const byRef = 'branch' in at
      const data: {
        repository: { ref?: { target: GraphCommit } | null; object?: GraphCommit | null } | null
      } = await this.octokit.graphql(filesQuery(byRef ? 'ref' : 'oid', paths), {
        owner: this.owner,
        name: this.repo,
        at: byRef ? `refs/heads/${at.branch}` : at.sha,
        ...pathVariables(paths)
      })
      const commit = byRef ? data.repository?.ref?.target : data.repository?.object
      if (!commit) {
        if ('sha' in at) throw new GitOpsError(`commit ${at.sha} not found in ${this.name}`)
        return undefined
      }
      const read: GraphRead = { entries: [], texts: new Map(), deeper: new Map() }
      paths.forEach((path, i) => {
        const found = commit[`p${i}`]
        if (!found) return // not there: descriptorFiles names it
        if ('name' in found) addEntry(found, path, read)
        else collectEntries(found.entries, '', read)
      })
      while (read.deeper.size > 0) {
        const deeper = [...read.deeper]
        read.deeper.clear()
        const trees: { repository: Record<string, { entries?: GraphEntry[] | null } | null> } =
          await this.octokit.graphql(treesQuery(deeper.length), {
            owner: this.owner,
            name: this.repo,
            ...Object.fromEntries(deeper.map(([, oid], i) => [`t${i}`, oid]))
          })
        deeper.forEach(([path], i) => collectEntries(trees.repository[`t${i}`]?.entries, path, read))
      }
      return {
        ...read,
        head: commit.oid,
        url: commit.url,
        treeSha: commit.tree.oid,
        message: commit.message,
        parent: commit.parents.nodes[0]?.oid
      }
    })
  }

  /**
   * One `createCommitOnBranch` with `expectedHeadOid`: the files (their exact bytes, base64) on top of
   * `expectedHead`. 'stale' when the branch moved ("Expected branch to point to …"), 'unavailable' when
   * this GitHub lacks the endpoint or the mutation, `unsure` (with the failure) when the answer was a 5xx
   * or lost: the commit may have landed, which the caller checks (never retried inside).
   */
  async commitGraph(
    branch: string,
    expectedHead: string,
    files: Array<{ path: string; content: string }>,
    message: string
  ): Promise<{ sha: string; url: string } | { unsure: unknown } | 'stale' | 'missing' | 'unavailable'> {
    return this.call(this.writeScope(files.map(f => f.path)), 'write commits', async () => {
      try {
        const data: { createCommitOnBranch: { commit: { oid: string; url: string } | null } | null } =
          await this.octokit.graphql(COMMIT_MUTATION, {
            input: {
              branch: { repositoryNameWithOwner: this.name, branchName: branch },
              expectedHeadOid: expectedHead,
              message: messageParts(message),
              fileChanges: {
                additions: files.map(file => ({
                  path: file.path,
                  contents: Buffer.from(file.content, 'utf8').toString('base64')
                }))
              }
            },
            request: { retries: 0 }
          })
        const commit = data.createCommitOnBranch?.commit
        if (!commit)
          throw new GitOpsError(`GitHub answered createCommitOnBranch on ${this.name}@${branch} without a commit`)
        return { sha: commit.oid, url: commit.url }
      } catch (error) {
        if (statusOf(error) === 404) return 'unavailable'
        const errors = graphErrors(error)
        if (!errors && isUnsure(error)) return { unsure: error }
        if (!errors) throw error
        if (isStaleHead(errors)) return 'stale'
        if (isMissingFromSchema(errors)) return 'unavailable'
        if (errors.some(e => e.type === 'NOT_FOUND')) return 'missing'
        if (errors.some(e => e.type === 'FORBIDDEN')) throw error
        throw new GitOpsError(
          `GitHub refused the commit to ${this.name}@${branch}: ${errors.map(e => e.message.trim()).join('; ')}`,
          { cause: error }
        )
      }
    })
  }

  /** The root tree of a commit (a tree SHA, which is what `base_tree` must be). */
  async commitTree(commitSha: string): Promise<string> {
    return this.call(undefined, 'read', async () => {
      const { data } = await this.octokit.rest.git.getCommit({
        owner: this.owner,
        repo: this.repo,
        commit_sha: commitSha
      })
      return data.tree.sha
    })
  }

  /** One tree's entries (paths relative to it); `truncated` when GitHub cut a recursive read short. */
  async treeEntries(treeSha: string, recursive: boolean): Promise<{ files: TreeFile[]; truncated: boolean }> {
    return this.call(undefined, 'read', async () => {
      const { data } = await this.octokit.rest.git.getTree({
        owner: this.owner,
        repo: this.repo,
        tree_sha: treeSha,
        ...(recursive ? { recursive: 'true' } : {})
      })
      const files = data.tree.flatMap(entry =>
        entry.path && entry.sha && entry.mode && entry.type
          ? [{ path: entry.path, sha: entry.sha, mode: entry.mode, type: entry.type as TreeFile['type'] }]
          : []
      )
      return { files, truncated: data.truncated }
    })
  }

  /** A blob's bytes. */
  async blob(sha: string): Promise<Buffer> {
    return this.call(undefined, 'read', async () => {
      const { data } = await this.octokit.rest.git.getBlob({ owner: this.owner, repo: this.repo, file_sha: sha })
      return Buffer.from(data.content, data.encoding === 'base64' ? 'base64' : 'utf8')
    })
  }

  /** One commit with `parent` as its only parent: the base tree (a tree SHA) plus the given files, inline. */
  async createCommit(
    parent: string,
    baseTree: string,
    files: NewFile[],
    message: string
  ): Promise<{ sha: string; url: string }> {
    return this.call(this.writeScope(files.map(f => f.path)), 'write commits', async () => {
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

  /** Whether `head` is `sha` or has it in its history. */
  private async holds(head: string, sha: string): Promise<boolean> {
    if (head === sha) return true
    const { data } = await this.octokit.rest.repos.compareCommitsWithBasehead({
      owner: this.owner,
      repo: this.repo,
      basehead: `${sha}...${head}`,
      per_page: 1
    })
    return data.status === 'ahead' || data.status === 'identical'
  }

  /**
   * Moves a branch to `sha`. Without force only a fast forward is accepted; 'stale' means the
   * branch moved since `sha`'s parent was read (GitHub says "Update is not a fast forward",
   * "Reference cannot be updated" or "Reference update failed"). A 5xx or lost answer may hide a
   * write that landed, so the branch is read before trying again: holding `sha` means moved.
   */
  async moveBranch(branch: string, sha: string, force: boolean): Promise<'moved' | 'stale' | 'missing'> {
    return this.call('contents', `move branch ${branch}`, () =>
      retry(this.unsureWrites, { retryable: error => isUnsure(error) || isLagging(error) }, async () => {
        try {
          await this.octokit.rest.git.updateRef({
            owner: this.owner,
            repo: this.repo,
            ref: `heads/${branch}`,
            sha,
            force,
            request: { retries: 0 }
          })
          return 'moved'
        } catch (error) {
          const reason = githubMessage(error)
          if (isLostRefRace(statusOf(error), reason)) return 'stale'
          if (statusOf(error) === 422 && /Reference does not exist/i.test(reason)) return 'missing'
          if (isUnsure(error)) {
            const head = await this.branchHead(branch)
            if (head === undefined) return 'missing'
            if (await this.holds(head, sha)) return 'moved'
          }
          throw error
        }
      })
    )
  }

  /** Creates a branch; 'exists' when another run created it first. */
  async createBranch(branch: string, sha: string): Promise<'created' | 'exists'> {
    return this.call('contents', `create branch ${branch}`, async () => {
      try {
        await this.octokit.rest.git.createRef({ owner: this.owner, repo: this.repo, ref: `refs/heads/${branch}`, sha })
        return 'created'
      } catch (error) {
        if (statusOf(error) === 422 && /already exists/i.test(githubMessage(error))) return 'exists'
        throw error
      }
    })
  }

  async openPullRequest(head: string, base: string): Promise<{ number: number; url: string } | undefined> {
    return this.call(undefined, 'read', async () => {
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

  /**
   * Creates the pull request; undefined when one for this head and base already exists. Right after
   * the head branch was created GitHub may not see it yet ("head invalid"): retried briefly.
   */
  async createPullRequest(
    head: string,
    base: string,
    title: string,
    body: string
  ): Promise<{ number: number; url: string } | undefined> {
    return this.call('pull-requests', 'open pull requests', () =>
      retry(this.unsureWrites, { retryable: isInvalidHead }, async () => {
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
          if (
            statusOf(error) === 422 &&
            /already exists/i.test(JSON.stringify((error as HttpFailure).response ?? ''))
          ) {
            return undefined
          }
          throw error
        }
      })
    )
  }

  async updatePullRequest(pullNumber: number, title: string, body: string): Promise<void> {
    await this.call('pull-requests', 'update pull requests', () =>
      this.octokit.rest.pulls.update({ owner: this.owner, repo: this.repo, pull_number: pullNumber, title, body })
    )
  }
}
