// Non-git state (pull requests, deployments) kept as small JSON files beside the bare repositories,
// so it survives emulator restarts and is reset together with the repository.
import { mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'

export interface UserRef {
  login: string
}

export interface PullRecord {
  id: number
  number: number
  title: string
  body: string | null
  state: 'open' | 'closed'
  draft: boolean
  head: string
  headSha: string
  base: string
  baseSha: string
  user: string
  created_at: string
  updated_at: string
  closed_at: string | null
  merged_at: string | null
  merge_commit_sha: string | null
  merged_by: string | null
  maintainer_can_modify: boolean
}

export interface DeploymentStatusRecord {
  id: number
  state: string
  description: string
  environment: string
  target_url: string
  log_url: string
  environment_url: string
  creator: string
  created_at: string
  updated_at: string
}

export interface DeploymentRecord {
  id: number
  sha: string
  ref: string
  task: string
  payload: unknown
  environment: string
  original_environment: string
  description: string | null
  creator: string
  created_at: string
  updated_at: string
  transient_environment: boolean
  production_environment: boolean
  statuses: DeploymentStatusRecord[]
}

export interface RepoState {
  nextNumber: number
  pulls: PullRecord[]
  deployments: DeploymentRecord[]
}

export class StateStore {
  root: string
  private cache = new Map<string, RepoState>()
  private nextId: number

  constructor(root: string) {
    this.root = root
    this.nextId = 1
    // ids are global (as on GitHub); continue after the largest one on disk
    try {
      for (const owner of readdirSync(root, { withFileTypes: true })) {
        if (!owner.isDirectory()) continue
        for (const f of readdirSync(join(root, owner.name))) {
          if (!f.endsWith('.testbed.json')) continue
          const s = this.read(join(root, owner.name, f))
          for (const p of s.pulls) this.nextId = Math.max(this.nextId, p.id + 1)
          for (const d of s.deployments) {
            this.nextId = Math.max(this.nextId, d.id + 1)
            for (const st of d.statuses) this.nextId = Math.max(this.nextId, st.id + 1)
          }
        }
      }
    } catch {
      /* empty root */
    }
  }

  id(): number {
    return this.nextId++
  }

  private file(owner: string, name: string): string {
    return join(this.root, owner, `${name}.testbed.json`)
  }

  private read(file: string): RepoState {
    try {
      return JSON.parse(readFileSync(file, 'utf8')) as RepoState
    } catch {
      return { nextNumber: 1, pulls: [], deployments: [] }
    }
  }

  get(owner: string, name: string): RepoState {
    const key = `${owner}/${name}`
    let s = this.cache.get(key)
    if (!s) {
      s = this.read(this.file(owner, name))
      this.cache.set(key, s)
    }
    return s
  }

  save(owner: string, name: string): void {
    const file = this.file(owner, name)
    mkdirSync(dirname(file), { recursive: true })
    const tmp = `${file}.${process.pid}.tmp`
    writeFileSync(tmp, JSON.stringify(this.get(owner, name), null, 1))
    renameSync(tmp, file)
  }

  reset(owner: string, name: string): void {
    this.cache.delete(`${owner}/${name}`)
    rmSync(this.file(owner, name), { force: true })
  }
}
