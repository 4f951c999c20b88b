// Stage 2: write the image reference into the environment repository through the GitHub API.
// Every write is one commit on the head it was computed from; when the branch moved meanwhile,
// the files are read again at the new head and the edit is applied again (never a replayed patch).
// GraphQL first: open = one query (default branch, head) + GET rules (+ GET protection); each attempt =
// one query (head, its tree and every file under env-path, TREE_DEPTH folder levels deep) + one
// createCommitOnBranch with expectedHeadOid, whatever the number of files changed.
// REST where GraphQL is not there (its endpoint answers 404, or the mutation is missing from the
// schema) and for files whose mode is not 100644 (createCommitOnBranch takes contents only): open =
// GET repo + GET ref + GET rules (+ GET protection); each attempt = GET ref + GET commit + one GET tree
// per folder level down to each env-path folder + GET tree (recursive) of it + the blobs not read
// before (cached by sha) + POST trees + POST commits + PATCH ref. Pull-request mode writes through REST
// (it force-moves its own branch, which createCommitOnBranch cannot).
import { mapLimit } from '../lib/concurrency.js'
import { retry, type RetryPolicy } from '../lib/retry.js'
import { type Config } from '../config/config.js'
import { type Host } from '../host/host.js'
import { DOCKER_HUB, type ImageRepository } from '../image/reference.js'
import {
  BranchRuleError,
  EditConflictError,
  EnvBranchNotFoundError,
  NothingToProposeError,
  PullRequestError
} from './errors.js'
import { descriptorFiles, type TreeFile } from './files.js'
import { EnvGitHub, githubOctokit, isAppInstallationToken, type GitHubOptions, type NewFile } from './github.js'
import { sameMessage } from './graphql.js'
import { revertFiles, type FilesEdit } from './plan.js'
import { renderFiles, type RenderFiles } from '../render/manifests.js'
import { provenEdit } from './verify.js'
import { type EnvCommit, type EnvFile, type EnvPlan, type ImageEdit, type PullRequestResult } from './types.js'

export { RenderCheckError } from './verify.js'
export * from './errors.js'
export type { EnvCommit, EnvFile, EnvPlan, ImageEdit, PullRequestResult, ReferenceChange } from './types.js'

export const MAX_ATTEMPTS = 10

/**
 * Wait after losing the race `attempt` times: random in [0, slot·2^attempt), capped at 30 s.
 * The slot is how long the lost attempt took (at least 100 ms), so runs spread out over the time
 * a commit actually needs (binary exponential backoff with full jitter).
 */
export const CONFLICT_RETRY: RetryPolicy = {
  attempts: MAX_ATTEMPTS,
  baseDelayMs: attemptMs => 2 * Math.max(100, attemptMs),
  maxDelayMs: 30_000,
  jitter: true
}

/** The branch moved between reading its head and committing on it. */
class BranchMovedError extends Error {}

/** A commit whose answer was lost (5xx, network) and that is not on the unmoved branch: tried again. */
class UnsureCommitError extends Error {
  constructor(readonly failure: unknown) {
    super('commit outcome unknown')
  }
}

/** Branch of pull-request mode: `deploy/<env-branch>/<repository path, / as ->` (`deploy/main/team-api`). */
export function proposalBranch(branch: string, repository: ImageRepository): string {
  const path = repository.domain === DOCKER_HUB ? repository.path.replace(/^library\//, '') : repository.path
  return `deploy/${branch}/${path.replace(/\//g, '-')}`
}

interface Snapshot {
  head: string
  treeSha: string
  /** Descriptor files under env-path with their tree entries (mode for the write). */
  entries: TreeFile[]
  files: EnvFile[]
  /** Read through GraphQL: the head commit's message, first parent and url (to find a commit whose answer was lost). */
  commit?: { message: string; parent: string | undefined; url: string }
}

/** A commit on the branch, or why not: the branch moved since the snapshot, or is gone. */
type Written = { sha: string; url: string } | 'stale' | 'missing'

export interface OpenOptions extends GitHubOptions {
  /** Replaces the random part of the conflict backoff (tests). */
  random?: () => number
  /** Base wait before retrying a write whose outcome was unknown (tests shorten it). */
  unsureWaitMs?: number
  /** Renders files to objects for the render check (the run's shared renderer). */
  render?: RenderFiles
}

export class EnvRepository {
  private readonly blobs = new Map<string, Promise<string | undefined>>()
  /** Warnings already given: plan and commit read the same files. */
  private readonly warned = new Set<string>()

  private constructor(
    private readonly github: EnvGitHub,
    /** GraphQL answers here (false after it did not: REST from then on). */
    private graph: boolean,
    private readonly host: Host,
    private readonly branch: string,
    private readonly paths: string[],
    private readonly repository: ImageRepository,
    private readonly random: () => number,
    private readonly render: RenderFiles
  ) {}

  /**
   * Resolves the branch (the default branch when env-branch is empty), checks it can be read and,
   * in push mode, that no branch rule keeps a direct push out (before any build).
   */
  static async open(config: Config, host: Host, options: OpenOptions = {}): Promise<EnvRepository> {
    const { owner, repo } = config.env
    const github = new EnvGitHub(
      githubOctokit(config.env.token, config.githubApiUrl, options),
      owner,
      repo,
      options.unsureWaitMs
    )
    const opened = await github.openGraph(config.env.branch)
    let branch: string
    let head: string | undefined
    if (opened) {
      branch = config.env.branch ?? opened.defaultBranch
      head = opened.head
    } else {
      branch = config.env.branch ?? (await github.repository()).defaultBranch
      head = await github.branchHead(branch)
    }
    if (head === undefined) throw new EnvBranchNotFoundError(`${owner}/${repo}`, branch)
    if (config.env.commitMode === 'push') {
      const rules = await github.branchRules(branch)
      const signs = opened !== undefined && isAppInstallationToken(config.env.token)
      const blocking = [...rules.blocking, ...(signs ? [] : rules.signatures)]
      if (blocking.length > 0) {
        throw new BranchRuleError(`${owner}/${repo}`, branch, blocking)
      }
    }
    return new EnvRepository(
      github,
      opened !== undefined,
      host,
      branch,
      config.env.paths,
      config.repository,
      options.random ?? Math.random,
      options.render ?? renderFiles
    )
  }

  /** The edit at the current head, in memory only. */
  async plan(edit: ImageEdit): Promise<EnvPlan> {
    const snapshot = await this.latest()
    const edited = await this.forward(snapshot, edit)
    return {
      branch: this.branch,
      baseSha: snapshot.head,
      baseFiles: snapshot.files,
      files: edited.files,
      changes: edited.changes,
      previousImage: edited.changes[0]?.previous ?? '',
      diff: edited.diff
    }
  }

  /** Commits the edit on the branch; undefined when the head it was checked on already holds it. */
  async commit(edit: ImageEdit, message: string): Promise<EnvCommit | undefined> {
    return this.update(snapshot => this.forward(snapshot, edit), message)
  }

  /** Descriptor files under env-path at a commit. */
  async readFiles(sha: string): Promise<EnvFile[]> {
    return (await this.snapshot(sha)).files
  }

  /** The head of env-branch and its descriptor files under env-path (reconcile mode). */
  async current(): Promise<{ sha: string; files: EnvFile[] }> {
    const snapshot = await this.latest()
    return { sha: snapshot.head, files: snapshot.files }
  }

  /**
   * Puts back the references `commit` changed, on the current head, where they still hold what
   * the commit wrote. `parentFiles`: the files at the commit's parent, when already read.
   * Undefined when there is nothing left to revert.
   */
  async revert(
    commit: EnvCommit,
    message: string,
    parentFiles?: EnvFile[]
  ): Promise<{ sha: string; url: string } | undefined> {
    const parent = parentFiles ?? (await this.readFiles(commit.parentSha))
    const reverted = await this.update(
      async snapshot => revertFiles(snapshot.files, commit.files, parent, this.repository, commit.changes),
      message
    )
    return reverted && { sha: reverted.sha, url: reverted.url }
  }

  /**
   * Pull-request mode: one commit with the edit on the current base head, on branch
   * `deploy/<env-branch>/<image>` (created or force-moved), and one open pull request for it.
   */
  async propose(edit: ImageEdit, message: string): Promise<PullRequestResult> {
    const snapshot = await this.latest()
    const edited = await this.forward(snapshot, edit)
    if (edited.changed.length === 0) {
      throw new NothingToProposeError(
        `${this.where(snapshot.head)} already holds ${edit.image}:${edit.tag}: no pull request needed`
      )
    }
    const commit = await this.github.createCommit(
      snapshot.head,
      snapshot.treeSha,
      this.writes(snapshot, edited),
      message
    )
    const branch = proposalBranch(this.branch, edit.repository)
    if ((await this.github.moveBranch(branch, commit.sha, true)) === 'missing') {
      if ((await this.github.createBranch(branch, commit.sha)) === 'exists') {
        await this.github.moveBranch(branch, commit.sha, true)
      }
    }
    const [subject, ...rest] = message.trim().split('\n')
    const body = [
      rest.join('\n').trim(),
      '',
      ...edited.changes.map(
        change => `- \`${change.path}:${change.line}\`: \`${change.previous}\` → \`${change.next}\``
      ),
      '',
      `Commit: ${commit.url}`
    ].join('\n')
    const existing =
      (await this.github.openPullRequest(branch, this.branch)) ??
      (await this.github.createPullRequest(branch, this.branch, subject, body)) ??
      (await this.github.openPullRequest(branch, this.branch))
    if (!existing)
      throw new PullRequestError(
        `could not open a pull request from ${branch} into ${this.branch} in ${this.github.name}`
      )
    await this.github.updatePullRequest(existing.number, subject, body)
    this.host.info(`pull request ${existing.url} proposes ${edited.changes.length} change(s)`)
    return { url: existing.url, number: existing.number, branch, sha: commit.sha }
  }

  /** The edit at a snapshot, proven by rendering (each tree is rendered once per run). */
  private async forward(snapshot: Snapshot, edit: ImageEdit): Promise<FilesEdit> {
    return provenEdit(snapshot.files, edit, this.where(snapshot.head), this.render, message => this.warn(message))
  }

  private warn(message: string): void {
    if (this.warned.has(message)) return
    this.warned.add(message)
    this.host.warning(message)
  }

  /** The commit loop: build at the head, commit, fast-forward the branch; on a lost race start over at the new head. */
  private async update(
    build: (snapshot: Snapshot) => Promise<FilesEdit>,
    message: string
  ): Promise<EnvCommit | undefined> {
    const commitOnce = async (): Promise<EnvCommit | undefined> => {
      const snapshot = await this.latest()
      const edited = await build(snapshot)
      if (edited.changed.length === 0) {
        this.host.info(`${this.where(snapshot.head)}: nothing to change`)
        return undefined
      }
      const commit = await this.write(snapshot, edited, message)
      if (typeof commit === 'object') {
        this.host.info(
          `${this.github.name}@${this.branch}: committed ${commit.sha} (${edited.changes.length} change(s))`
        )
        return {
          sha: commit.sha,
          url: commit.url,
          parentSha: snapshot.head,
          files: edited.files,
          changes: edited.changes,
          previousImage: edited.changes[0]?.previous ?? ''
        }
      }
      if (commit === 'missing') throw new EnvBranchNotFoundError(this.github.name, this.branch, true)
      throw new BranchMovedError()
    }
    try {
      return await retry(
        CONFLICT_RETRY,
        {
          retryable: error => error instanceof BranchMovedError,
          onRetry: (_, attempt, wait) =>
            this.host.info(
              `${this.branch} moved while committing (attempt ${attempt}/${MAX_ATTEMPTS}); re-reading in ${Math.round(wait)} ms`
            ),
          random: this.random
        },
        commitOnce
      )
    } catch (error) {
      if (!(error instanceof BranchMovedError)) throw error
      throw new EditConflictError(this.github.name, this.branch, MAX_ATTEMPTS)
    }
  }

  /**
   * One commit of the edit on the snapshot's head: one `createCommitOnBranch` where GraphQL is there and
   * every changed file is a plain file (100644; the mutation takes contents, not modes), else REST's
   * tree, commit and fast-forward.
   */
  private async write(snapshot: Snapshot, edited: FilesEdit, message: string): Promise<Written> {
    const files = this.writes(snapshot, edited)
    if (this.graph && files.every(file => file.mode === '100644')) {
      const written = await this.writeGraph(snapshot, edited, files, message)
      if (written !== 'unavailable') return written
      this.graph = false
      this.host.info(`${this.github.name}: GraphQL createCommitOnBranch is not available here; committing through REST`)
    }
    const commit = await this.github.createCommit(snapshot.head, snapshot.treeSha, files, message)
    const moved = await this.github.moveBranch(this.branch, commit.sha, false)
    return moved === 'moved' ? commit : moved
  }

  /**
   * `createCommitOnBranch` expecting the snapshot's head. A 5xx or lost answer may hide a commit that
   * landed: the head is read again, and a head whose parent is the snapshot's, with our message and our
   * files, is our commit; an unmoved head is tried again, a moved one is a lost race.
   */
  private async writeGraph(
    snapshot: Snapshot,
    edited: FilesEdit,
    files: NewFile[],
    message: string
  ): Promise<Written | 'unavailable'> {
    const commitOnce = async (): Promise<Written | 'unavailable'> => {
      const written = await this.github.commitGraph(this.branch, snapshot.head, files, message)
      if (typeof written !== 'object' || !('unsure' in written)) return written
      const now = await this.latest()
      if (
        now.commit?.parent === snapshot.head &&
        sameMessage(now.commit.message, message) &&
        edited.changed.every(file => now.files.find(f => f.path === file.path)?.content === file.content)
      ) {
        return { sha: now.head, url: now.commit.url }
      }
      if (now.head !== snapshot.head) return 'stale'
      throw new UnsureCommitError(written.unsure)
    }
    try {
      return await retry(
        this.github.unsureWrites,
        { retryable: error => error instanceof UnsureCommitError },
        commitOnce
      )
    } catch (error) {
      throw error instanceof UnsureCommitError ? error.failure : error
    }
  }

  private writes(snapshot: Snapshot, edited: FilesEdit): Array<{ path: string; mode: string; content: string }> {
    const modes = new Map(snapshot.entries.map(entry => [entry.path, entry.mode]))
    return edited.changed.map(file => ({
      path: file.path,
      mode: modes.get(file.path) ?? '100644',
      content: file.content
    }))
  }

  private async head(): Promise<string> {
    const head = await this.github.branchHead(this.branch)
    if (head === undefined) throw new EnvBranchNotFoundError(this.github.name, this.branch)
    return head
  }

  private where(sha: string): string {
    return `${this.github.name}@${this.branch} (${sha.slice(0, 7)})`
  }

  /** The head of env-branch and its descriptor files. */
  private async latest(): Promise<Snapshot> {
    if (!this.graph) return this.snapshot(await this.head())
    const snapshot = await this.graphSnapshot({ branch: this.branch })
    if (!snapshot) throw new EnvBranchNotFoundError(this.github.name, this.branch)
    return snapshot
  }

  /** Descriptor files at a commit. */
  private async snapshot(sha: string): Promise<Snapshot> {
    if (this.graph) return (await this.graphSnapshot({ sha }))!
    // The commit names its root tree: that tree SHA (not the commit's) is the base of a new tree.
    const treeSha = await this.github.commitTree(sha)
    return this.filesAt(sha, treeSha, await this.envPathEntries(treeSha))
  }

  /** A commit read through GraphQL: one query for the commit and the files (more only for deep trees). */
  private async graphSnapshot(at: { branch: string } | { sha: string }): Promise<Snapshot | undefined> {
    const read = await this.github.filesGraph(at, this.paths)
    if (!read) return undefined
    const snapshot = await this.filesAt(read.head, read.treeSha, read.entries, read.texts)
    return { ...snapshot, commit: { message: read.message, parent: read.parent, url: read.url } }
  }

  /** The descriptor files among a commit's entries, their texts as given (`known`, by sha) or read once per sha. */
  private async filesAt(
    head: string,
    treeSha: string,
    tree: TreeFile[],
    known: Map<string, string> = new Map()
  ): Promise<Snapshot> {
    const entries = descriptorFiles(tree, this.paths, this.where(head))
    for (const entry of entries) {
      const text = known.get(entry.sha)
      if (text !== undefined && !this.blobs.has(entry.sha)) this.blobs.set(entry.sha, Promise.resolve(text))
    }
    const texts = await mapLimit(entries, 8, entry => this.text(entry))
    const files: EnvFile[] = []
    const kept: TreeFile[] = []
    entries.forEach((entry, i) => {
      const content = texts[i]
      if (content === undefined) return
      files.push({ path: entry.path, content })
      kept.push(entry)
    })
    return { head, treeSha, entries: kept, files }
  }

  /**
   * The tree entries env-path needs, paths from the root: walking down to each env-path (one
   * non-recursive read per level), then each folder's subtree. Never the whole repository unless
   * env-path is `.`, because GitHub truncates a recursive read at 100,000 entries or 7 MB.
   */
  private async envPathEntries(rootTree: string): Promise<TreeFile[]> {
    const levels = new Map<string, Promise<TreeFile[]>>()
    const level = (treeSha: string): Promise<TreeFile[]> => {
      let entries = levels.get(treeSha)
      if (!entries) {
        entries = this.github.treeEntries(treeSha, false).then(read => read.files)
        levels.set(treeSha, entries)
      }
      return entries
    }
    const found = new Map<string, TreeFile>()
    for (const envPath of this.paths) {
      let current: TreeFile = { path: '', mode: '040000', type: 'tree', sha: rootTree }
      for (const segment of envPath === '.' ? [] : envPath.split('/').filter(Boolean)) {
        const entry = current.type === 'tree' ? (await level(current.sha)).find(e => e.path === segment) : undefined
        if (!entry) {
          current = { ...current, type: 'commit' } // not found: descriptorFiles names it
          break
        }
        current = { ...entry, path: joinPath(current.path, segment) }
      }
      if (current.type === 'commit') continue
      if (current.path) found.set(current.path, current)
      if (current.type === 'tree') {
        for (const entry of await this.subtree(current.sha, current.path)) found.set(entry.path, entry)
      }
    }
    return [...found.values()]
  }

  /** Every entry under a tree, paths prefixed; level by level where GitHub truncated the recursive read. */
  private async subtree(treeSha: string, prefix: string): Promise<TreeFile[]> {
    const recursive = await this.github.treeEntries(treeSha, true)
    if (!recursive.truncated) return recursive.files.map(entry => ({ ...entry, path: joinPath(prefix, entry.path) }))
    const out: TreeFile[] = []
    for (const entry of (await this.github.treeEntries(treeSha, false)).files) {
      const path = joinPath(prefix, entry.path)
      out.push({ ...entry, path })
      if (entry.type === 'tree') out.push(...(await this.subtree(entry.sha, path)))
    }
    return out
  }

  /** A blob as text; undefined (and a warning) when it is not UTF-8, so it is never rewritten. */
  private text(entry: TreeFile): Promise<string | undefined> {
    let text = this.blobs.get(entry.sha)
    if (!text) {
      text = this.github.blob(entry.sha).then(bytes => {
        try {
          return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes)
        } catch {
          this.host.warning(`${entry.path}: skipped, not UTF-8`)
          return undefined
        }
      })
      text.catch(() => this.blobs.delete(entry.sha))
      this.blobs.set(entry.sha, text)
    }
    return text
  }
}

function joinPath(prefix: string, name: string): string {
  return prefix ? `${prefix}/${name}` : name
}
