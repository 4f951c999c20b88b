// Repository storage: bare git repositories under the git root, repositories that exist without git
// storage ("virtual": configured, or registered at run time), per-repository locks, and the
// create/reset/delete used by the admin endpoints.
import { readFileSync, writeFileSync } from 'node:fs'
import { mkdir, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import type { ConfigStore } from './config.ts'
import type { Services } from './context.ts'
import { GitRepo, type TreeChange } from './git.ts'
import { HttpError } from './http.ts'
import type { QuirkStore } from './quirks.ts'
import { StateStore } from './state.ts'

const NAME_RE = /^[A-Za-z0-9_.-]{1,100}$/

export function validName(s: string): boolean {
  return NAME_RE.test(s) && s !== '.' && s !== '..' && !s.endsWith('.git')
}

export interface ResetRepoOptions {
  owner: string
  name: string
  dir?: string
  files?: Record<string, string>
  defaultBranch?: string
  message?: string
  virtual?: boolean
}

export class RepoStore implements Services {
  readonly gitRoot: string
  readonly state: StateStore
  private readonly config: ConfigStore
  readonly quirks: QuirkStore
  private locks = new Map<string, Promise<unknown>>()

  constructor(gitRoot: string, config: ConfigStore, quirks: QuirkStore) {
    this.gitRoot = gitRoot
    this.config = config
    this.quirks = quirks
    this.state = new StateStore(gitRoot)
  }

  gitRepo(owner: string, name: string): GitRepo {
    return new GitRepo(join(this.gitRoot, owner, `${name}.git`))
  }

  withRepoLock<T>(full: string, fn: () => Promise<T>): Promise<T> {
    const key = full.toLowerCase()
    const prev = this.locks.get(key) ?? Promise.resolve()
    const run = prev.then(fn, fn)
    const tail = run.catch(() => undefined)
    this.locks.set(key, tail)
    void tail.then(() => {
      if (this.locks.get(key) === tail) this.locks.delete(key)
    })
    return run
  }

  private virtualFile(): string {
    return join(this.gitRoot, '.testbed-virtual-repos.json')
  }

  /** Repositories registered at run time without git storage (kept across restarts). */
  private virtualRepos(): string[] {
    try {
      return JSON.parse(readFileSync(this.virtualFile(), 'utf8')) as string[]
    } catch {
      return []
    }
  }

  /** Configured ("owner/name" or "owner/*") or registered repositories that exist without git storage. */
  isVirtual(owner: string, name: string): boolean {
    const full = `${owner}/${name}`.toLowerCase()
    const patterns = [...(this.config.current.repos ?? []), ...this.virtualRepos()].map(r => r.toLowerCase())
    return patterns.some(p => p === full || p === `${owner.toLowerCase()}/*`)
  }

  private setVirtual(owner: string, name: string, on: boolean): void {
    const full = `${owner}/${name}`
    const list = this.virtualRepos().filter(r => r.toLowerCase() !== full.toLowerCase())
    if (on) list.push(full)
    writeFileSync(this.virtualFile(), JSON.stringify(list, null, 1))
  }

  async reset(opts: ResetRepoOptions): Promise<Record<string, unknown>> {
    const { owner, name } = opts
    if (typeof owner !== 'string' || typeof name !== 'string' || !validName(owner) || !validName(name)) {
      throw new HttpError(400, 'owner and name must be valid GitHub names')
    }
    this.quirks.reset(`${owner}/${name}`)
    if (opts.virtual) {
      // metadata and deployments only, no git storage
      return this.withRepoLock(`${owner}/${name}`, async () => {
        await rm(join(this.gitRoot, owner, `${name}.git`), { recursive: true, force: true })
        this.state.reset(owner, name)
        await mkdir(this.gitRoot, { recursive: true })
        this.setVirtual(owner, name, true)
        return { full_name: `${owner}/${name}`, virtual: true }
      })
    }
    const branch = opts.defaultBranch ?? 'main'
    const full = `${owner}/${name}`
    return this.withRepoLock(full, async () => {
      const gitDir = join(this.gitRoot, owner, `${name}.git`)
      await rm(gitDir, { recursive: true, force: true })
      this.state.reset(owner, name)
      if (this.virtualRepos().some(r => r.toLowerCase() === full.toLowerCase())) this.setVirtual(owner, name, false)
      const repo = await GitRepo.init(gitDir, branch)
      if (opts.dir) {
        const st = await stat(opts.dir).catch(() => null)
        if (!st?.isDirectory()) throw new HttpError(400, `dir ${opts.dir} is not a directory`)
      }
      let tree = await repo.treeFromDir(opts.dir ?? null)
      if (opts.files && Object.keys(opts.files).length) {
        const changes: TreeChange[] = []
        for (const [p, content] of Object.entries(opts.files)) {
          const path = p.replace(/^\/+/, '')
          if (!path || path.split('/').some(s => s === '' || s === '.' || s === '..' || s === '.git')) {
            throw new HttpError(400, `bad file path ${p}`)
          }
          changes.push({
            path,
            mode: '100644',
            type: 'blob',
            sha: await repo.hashBlob(Buffer.from(String(content), 'utf8'))
          })
        }
        tree = await repo.buildTree(tree, changes)
      }
      const ident = { name: 'testbed', email: 'testbed@testbed.invalid' }
      const sha = await repo.commitTree(tree, [], opts.message ?? 'Initial commit', ident, ident)
      if (!(await repo.casRef(`refs/heads/${branch}`, sha, null, 'testbed: initial commit'))) {
        throw new HttpError(500, 'could not create the initial branch')
      }
      return { full_name: full, default_branch: branch, sha, tree, git_dir: gitDir }
    })
  }

  async remove(owner: string, name: string): Promise<void> {
    await this.withRepoLock(`${owner}/${name}`, async () => {
      await rm(join(this.gitRoot, owner, `${name}.git`), { recursive: true, force: true })
      this.state.reset(owner, name)
      if (this.virtualRepos().length) this.setVirtual(owner, name, false)
    })
  }
}
