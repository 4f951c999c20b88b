// Thin async wrapper over the `git` CLI for one bare repository.
// Everything goes through spawn (no shell); object/ref writes are plain git plumbing,
// so the repositories stay inspectable with ordinary git commands.
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdir, readdir, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export const ZERO_SHA = '0000000000000000000000000000000000000000'
export const EMPTY_TREE = '4b825dc642cb6eb9a060e54bf8d69288fbee4904'

export interface GitResult {
  code: number
  stdout: Buffer
  stderr: string
}

export class GitError extends Error {
  code: number
  stderr: string
  args: string[]
  constructor(args: string[], code: number, stderr: string) {
    super(`git ${args.join(' ')} exited ${code}: ${stderr.trim()}`)
    this.code = code
    this.stderr = stderr
    this.args = args
  }
}

export interface Identity {
  name: string
  email: string
  /** ISO-8601 date or undefined for "now" */
  date?: string
}

export interface ParsedIdentity {
  name: string
  email: string
  date: string
}

export interface ParsedCommit {
  sha: string
  tree: string
  parents: string[]
  author: ParsedIdentity
  committer: ParsedIdentity
  message: string
  signature: string | null
}

export interface TreeEntry {
  mode: string
  type: 'blob' | 'tree' | 'commit'
  sha: string
  size?: number
  path: string
}

export interface TreeChange {
  path: string
  mode: string
  type: 'blob' | 'tree' | 'commit'
  /** null deletes the path (file or whole directory) */
  sha: string | null
}

export interface RefInfo {
  ref: string
  sha: string
  type: string
}

const BASE_ENV: Record<string, string> = {
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_TERMINAL_PROMPT: '0',
  GIT_LITERAL_PATHSPECS: '1',
  LC_ALL: 'C'
}

function cleanEnv(): Record<string, string> {
  const env: Record<string, string> = {}
  for (const k of ['PATH', 'HOME', 'TMPDIR']) {
    const v = process.env[k]
    if (v !== undefined) env[k] = v
  }
  return env
}

export function runGit(
  args: string[],
  opts: {
    gitDir?: string
    input?: string | Buffer
    env?: Record<string, string>
    okCodes?: number[]
    cwd?: string
  } = {}
): Promise<GitResult> {
  return new Promise((resolve, reject) => {
    const env = { ...cleanEnv(), ...BASE_ENV, ...(opts.env ?? {}) }
    if (opts.gitDir) env.GIT_DIR = opts.gitDir
    const child = spawn('git', args, { env, cwd: opts.cwd ?? opts.gitDir ?? tmpdir(), stdio: ['pipe', 'pipe', 'pipe'] })
    const out: Buffer[] = []
    const err: Buffer[] = []
    child.stdout.on('data', (d: Buffer) => out.push(d))
    child.stderr.on('data', (d: Buffer) => err.push(d))
    child.on('error', reject)
    child.stdin.on('error', () => {
      /* git may exit before reading stdin; the exit code tells */
    })
    child.on('close', code => {
      const res: GitResult = {
        code: code ?? -1,
        stdout: Buffer.concat(out),
        stderr: Buffer.concat(err).toString('utf8')
      }
      const ok = opts.okCodes ?? [0]
      if (ok.includes(res.code)) resolve(res)
      else reject(new GitError(args, res.code, res.stderr))
    })
    if (opts.input !== undefined) child.stdin.end(opts.input)
    else child.stdin.end()
  })
}

/** `git cat-file --batch` for one repository: requests answered in order, one process. */
class BatchReader {
  private readonly child: ChildProcessWithoutNullStreams
  private pending: Buffer = Buffer.alloc(0)
  private readonly waiting: Array<(object: { type: string; data: Buffer } | null) => void> = []
  closed = false

  constructor(dir: string, onClose: () => void) {
    this.child = spawn('git', ['cat-file', '--batch'], {
      env: { ...cleanEnv(), ...BASE_ENV, GIT_DIR: dir },
      cwd: dir,
      stdio: ['pipe', 'pipe', 'pipe']
    })
    this.child.unref()
    for (const stream of [this.child.stdin, this.child.stdout, this.child.stderr]) {
      ;(stream as unknown as { unref?: () => void }).unref?.()
      stream.on('error', () => this.close())
    }
    this.child.stdout.on('data', (chunk: Buffer) => {
      this.pending = Buffer.concat([this.pending, chunk])
      this.drain()
    })
    this.child.on('close', () => {
      this.closed = true
      onClose()
      for (const resolve of this.waiting.splice(0)) resolve(null)
    })
  }

  read(sha: string): Promise<{ type: string; data: Buffer } | null> {
    if (this.closed) return Promise.resolve(null)
    return new Promise(resolve => {
      this.waiting.push(resolve)
      this.child.stdin.write(`${sha}\n`)
    })
  }

  close(): void {
    this.child.kill()
  }

  /** `<sha> <type> <size>\n<bytes>\n` per found object, `<sha> missing\n` otherwise. */
  private drain(): void {
    while (this.waiting.length > 0) {
      const newline = this.pending.indexOf(10)
      if (newline < 0) return
      const header = this.pending.subarray(0, newline).toString('utf8').split(' ')
      if (header[1] === 'missing' || header.length < 3) {
        this.pending = this.pending.subarray(newline + 1)
        this.waiting.shift()?.(null)
        continue
      }
      const size = Number(header[2])
      if (this.pending.length < newline + 1 + size + 1) return
      const data = Buffer.from(this.pending.subarray(newline + 1, newline + 1 + size))
      this.pending = this.pending.subarray(newline + 1 + size + 1)
      this.waiting.shift()?.({ type: header[1], data })
    }
  }
}

const batchReaders = new Map<string, BatchReader>()

function batchReader(dir: string): BatchReader {
  let reader = batchReaders.get(dir)
  if (!reader || reader.closed) {
    const created: BatchReader = new BatchReader(dir, () => {
      if (batchReaders.get(dir) === created) batchReaders.delete(dir)
    })
    reader = created
    batchReaders.set(dir, reader)
  }
  return reader
}

/** Format an ISO date (or now) as git's internal "@<epoch> <tz>" form. */
function gitDate(iso?: string): string {
  const ms = iso ? Date.parse(iso) : Date.now()
  if (Number.isNaN(ms)) throw new Error(`invalid date: ${iso}`)
  return `@${Math.floor(ms / 1000)} +0000`
}

function parseIdentity(line: string): ParsedIdentity {
  // "Name <email> 1700000000 +0000"
  const m = /^(.*) <([^>]*)> (\d+) ([+-]\d{4})$/.exec(line)
  if (!m) return { name: line, email: '', date: new Date(0).toISOString() }
  return { name: m[1], email: m[2], date: new Date(Number(m[3]) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z') }
}

export function isSha(s: unknown): s is string {
  return typeof s === 'string' && /^[0-9a-f]{40}$/.test(s)
}

export class GitRepo {
  dir: string

  constructor(dir: string) {
    this.dir = dir
  }

  run(
    args: string[],
    opts: { input?: string | Buffer; env?: Record<string, string>; okCodes?: number[] } = {}
  ): Promise<GitResult> {
    return runGit(args, { ...opts, gitDir: this.dir })
  }

  async out(args: string[], opts: { input?: string | Buffer; env?: Record<string, string> } = {}): Promise<string> {
    return (await this.run(args, opts)).stdout.toString('utf8').trim()
  }

  static async init(dir: string, defaultBranch: string): Promise<GitRepo> {
    await mkdir(dir, { recursive: true })
    await runGit(['init', '--quiet', '--bare', `--initial-branch=${defaultBranch}`, dir])
    const repo = new GitRepo(dir)
    // reflogs make `git log -g` useful when debugging test runs
    await repo.run(['config', 'core.logAllRefUpdates', 'always'])
    await repo.run(['config', 'core.filesRefLockTimeout', '2000'])
    return repo
  }

  async exists(): Promise<boolean> {
    try {
      const s = await stat(join(this.dir, 'HEAD'))
      return s.isFile()
    } catch {
      return false
    }
  }

  async defaultBranch(): Promise<string> {
    const r = await this.run(['symbolic-ref', '--quiet', 'HEAD'], { okCodes: [0, 1] })
    const ref = r.stdout.toString().trim()
    return ref.startsWith('refs/heads/') ? ref.slice('refs/heads/'.length) : 'main'
  }

  async objectType(sha: string): Promise<string | null> {
    if (!/^[0-9a-f]{4,40}$/.test(sha)) return null
    const r = await this.run(['cat-file', '-t', sha], { okCodes: [0, 1, 128] })
    return r.code === 0 ? r.stdout.toString().trim() : null
  }

  /** Resolve a branch, tag, full or abbreviated sha to a commit sha. */
  async resolveCommit(rev: string): Promise<string | null> {
    if (!rev || rev.startsWith('-') || rev.includes('..') || /[\s~^:?*[\\]/.test(rev)) return null
    const candidates = /^[0-9a-f]{4,40}$/.test(rev)
      ? [rev, `refs/heads/${rev}`, `refs/tags/${rev}`]
      : rev.startsWith('refs/')
        ? [rev]
        : [`refs/heads/${rev}`, `refs/tags/${rev}`, rev]
    for (const c of candidates) {
      const r = await this.run(['rev-parse', '--verify', '--quiet', `${c}^{commit}`], { okCodes: [0, 1, 128] })
      if (r.code === 0) return r.stdout.toString().trim()
    }
    return null
  }

  /** Refs whose name equals `prefix` or lies under `prefix/` (for-each-ref semantics), or all with a trailing '/'. */
  async listRefs(prefix: string): Promise<RefInfo[]> {
    const r = await this.run(['for-each-ref', '--format=%(refname)%00%(objectname)%00%(objecttype)', prefix])
    return r.stdout
      .toString('utf8')
      .split('\n')
      .filter(Boolean)
      .map(line => {
        const [ref, sha, type] = line.split('\0')
        return { ref, sha, type }
      })
  }

  async readRef(ref: string): Promise<string | null> {
    const refs = await this.listRefs(ref)
    const hit = refs.find(r => r.ref === ref)
    return hit ? hit.sha : null
  }

  /**
   * Compare-and-swap a ref. `oldSha` null means "must not exist"; `newSha` null deletes.
   * Returns false when the ref was not at `oldSha` (or its lock was held by a concurrent update).
   */
  async casRef(
    ref: string,
    newSha: string | null,
    oldSha: string | null,
    reason = 'testbed emulator'
  ): Promise<boolean> {
    const args =
      newSha === null
        ? ['update-ref', '-m', reason, '-d', ref, oldSha ?? ZERO_SHA]
        : ['update-ref', '-m', reason, ref, newSha, oldSha ?? ZERO_SHA]
    const r = await this.run(args, {
      okCodes: [0, 1, 128],
      env: { GIT_COMMITTER_NAME: 'testbed', GIT_COMMITTER_EMAIL: 'testbed@testbed.invalid' }
    })
    return r.code === 0
  }

  async isAncestor(ancestor: string, descendant: string): Promise<boolean> {
    const r = await this.run(['merge-base', '--is-ancestor', ancestor, descendant], { okCodes: [0, 1] })
    return r.code === 0
  }

  async mergeBase(a: string, b: string): Promise<string | null> {
    const r = await this.run(['merge-base', a, b], { okCodes: [0, 1] })
    return r.code === 0 ? r.stdout.toString().trim() : null
  }

  async countCommits(range: string): Promise<number> {
    return Number(await this.out(['rev-list', '--count', range]))
  }

  async revList(args: string[]): Promise<string[]> {
    return (await this.out(['rev-list', ...args])).split('\n').filter(Boolean)
  }

  async readCommit(sha: string): Promise<ParsedCommit | null> {
    if ((await this.objectType(sha)) !== 'commit') return null
    const full = await this.out(['rev-parse', '--verify', `${sha}^{commit}`])
    const raw = (await this.run(['cat-file', 'commit', full])).stdout.toString('utf8')
    const split = raw.indexOf('\n\n')
    const header = split >= 0 ? raw.slice(0, split) : raw
    const message = split >= 0 ? raw.slice(split + 2) : ''
    const c: ParsedCommit = {
      sha: full,
      tree: '',
      parents: [],
      author: { name: '', email: '', date: '' },
      committer: { name: '', email: '', date: '' },
      message,
      signature: null
    }
    let last = ''
    for (const line of header.split('\n')) {
      if (line.startsWith(' ')) {
        if (last === 'gpgsig' && c.signature !== null) c.signature += '\n' + line.slice(1)
        continue
      }
      const sp = line.indexOf(' ')
      const key = line.slice(0, sp)
      const val = line.slice(sp + 1)
      last = key
      if (key === 'tree') c.tree = val
      else if (key === 'parent') c.parents.push(val)
      else if (key === 'author') c.author = parseIdentity(val)
      else if (key === 'committer') c.committer = parseIdentity(val)
      else if (key === 'gpgsig') c.signature = val
    }
    return c
  }

  async lsTree(treeish: string, opts: { recursive?: boolean; path?: string } = {}): Promise<TreeEntry[]> {
    const args = ['ls-tree', '-z', '-l']
    if (opts.recursive) args.push('-r', '-t')
    args.push(treeish)
    if (opts.path !== undefined) args.push('--', opts.path)
    const r = await this.run(args)
    const out: TreeEntry[] = []
    for (const rec of r.stdout.toString('utf8').split('\0')) {
      if (!rec) continue
      const tab = rec.indexOf('\t')
      const [mode, type, sha, size] = rec.slice(0, tab).split(/\s+/)
      const e: TreeEntry = { mode, type: type as TreeEntry['type'], sha, path: rec.slice(tab + 1) }
      if (size !== undefined && size !== '-') e.size = Number(size)
      out.push(e)
    }
    return out
  }

  /** The tree entry at `path` inside commit/tree `treeish`, or the root tree for ''. */
  async entryAt(treeish: string, path: string): Promise<TreeEntry | null> {
    if (path === '') {
      const sha = await this.out(['rev-parse', `${treeish}^{tree}`])
      return { mode: '040000', type: 'tree', sha, path: '' }
    }
    const entries = await this.lsTree(treeish, { path })
    return entries.find(e => e.path === path) ?? null
  }

  async hashBlob(data: Buffer): Promise<string> {
    return this.out(['hash-object', '-w', '-t', 'blob', '--stdin'], { input: data })
  }

  async readBlob(sha: string): Promise<Buffer> {
    return (await this.run(['cat-file', 'blob', sha])).stdout
  }

  /**
   * An object's type and bytes, from a long-lived `git cat-file --batch` of this repository (a
   * process per read cost ~35 ms; a run reads a blob per file). A miss is checked once more with
   * a process of its own: the repository may have been re-created under the reader.
   */
  async readObject(sha: string): Promise<{ type: string; data: Buffer } | null> {
    if (!/^[0-9a-f]{40}$/.test(sha)) return null
    const found = await batchReader(this.dir).read(sha)
    if (found) return found
    batchReaders.get(this.dir)?.close()
    const type = await this.objectType(sha)
    return type ? { type, data: (await this.run(['cat-file', type, sha])).stdout } : null
  }

  async objectSize(sha: string): Promise<number> {
    return Number(await this.out(['cat-file', '-s', sha]))
  }

  /**
   * Build a tree from an optional base tree plus changes, with a private temporary index
   * (so concurrent requests never share index state).
   */
  async buildTree(baseTree: string | null, changes: TreeChange[]): Promise<string> {
    const idx = join(tmpdir(), `testbed-gh-index-${process.pid}-${randomBytes(8).toString('hex')}`)
    const env = { GIT_INDEX_FILE: idx }
    try {
      if (baseTree) await this.run(['read-tree', baseTree], { env })
      else await this.run(['read-tree', '--empty'], { env })
      let batch: string[] = []
      const flush = async (): Promise<void> => {
        if (batch.length === 0) return
        await this.run(['update-index', '--add', '--replace', '-z', '--index-info'], { env, input: batch.join('') })
        batch = []
      }
      const removeUnder = async (path: string): Promise<void> => {
        await flush()
        const r = await this.run(['ls-files', '-z', '--', path], { env })
        const paths = r.stdout
          .toString('utf8')
          .split('\0')
          .filter(p => p && (p === path || p.startsWith(path + '/')))
        if (paths.length) {
          await this.run(['update-index', '-z', '--index-info'], {
            env,
            input: paths.map(p => `0 ${ZERO_SHA}\t${p}\0`).join('')
          })
        }
      }
      for (const ch of changes) {
        if (ch.sha === null) {
          await removeUnder(ch.path)
        } else if (ch.type === 'tree') {
          await removeUnder(ch.path)
          await this.run(['read-tree', `--prefix=${ch.path}/`, ch.sha], { env })
        } else {
          batch.push(`${ch.mode} ${ch.sha}\t${ch.path}\0`)
        }
      }
      await flush()
      return await this.out(['write-tree'], { env })
    } finally {
      await rm(idx, { force: true })
      await rm(idx + '.lock', { force: true })
    }
  }

  async commitTree(
    tree: string,
    parents: string[],
    message: string,
    author: Identity,
    committer: Identity
  ): Promise<string> {
    const args = ['commit-tree', tree]
    for (const p of parents) args.push('-p', p)
    args.push('-F', '-')
    return this.out(args, {
      input: message,
      env: {
        GIT_AUTHOR_NAME: author.name,
        GIT_AUTHOR_EMAIL: author.email,
        GIT_AUTHOR_DATE: gitDate(author.date),
        GIT_COMMITTER_NAME: committer.name,
        GIT_COMMITTER_EMAIL: committer.email,
        GIT_COMMITTER_DATE: gitDate(committer.date)
      }
    })
  }

  /** Three-way merge of two commits into a tree; null on conflicts. */
  async mergeTrees(ours: string, theirs: string): Promise<string | null> {
    const r = await this.run(['merge-tree', '--write-tree', '--no-messages', ours, theirs], { okCodes: [0, 1] })
    if (r.code !== 0) return null
    return r.stdout.toString('utf8').split('\n')[0].trim()
  }

  /** Changed files between two commits (name-status + numstat). */
  async diffFiles(
    from: string | null,
    to: string
  ): Promise<
    Array<{
      filename: string
      status: string
      additions: number
      deletions: number
      previous_filename?: string
      sha: string | null
    }>
  > {
    const base = from ?? EMPTY_TREE
    const ns = (await this.run(['diff-tree', '-r', '-z', '--no-renames', '--raw', base, to])).stdout.toString('utf8')
    const num = (await this.run(['diff-tree', '-r', '-z', '--no-renames', '--numstat', base, to])).stdout.toString(
      'utf8'
    )
    const stats = new Map<string, { a: number; d: number }>()
    const np = num.split('\0').filter(Boolean)
    for (const rec of np) {
      const [a, d, file] = rec.split('\t')
      if (file !== undefined) stats.set(file, { a: a === '-' ? 0 : Number(a), d: d === '-' ? 0 : Number(d) })
    }
    const parts = ns.split('\0')
    const files: Array<{ filename: string; status: string; additions: number; deletions: number; sha: string | null }> =
      []
    for (let i = 0; i + 1 < parts.length; i += 2) {
      const meta = parts[i]
      const file = parts[i + 1]
      if (!meta.startsWith(':')) continue
      const [, , , dstSha, st] = meta.slice(1).split(' ')
      const status = st === 'A' ? 'added' : st === 'D' ? 'removed' : 'modified'
      const s = stats.get(file) ?? { a: 0, d: 0 }
      files.push({ filename: file, status, additions: s.a, deletions: s.d, sha: status === 'removed' ? null : dstSha })
    }
    return files
  }

  /** Write a folder's files as the root tree of a fresh private index. */
  async treeFromDir(dir: string | null): Promise<string> {
    if (!dir) return this.buildTree(null, [])
    const changes: TreeChange[] = []
    const walk = async (abs: string, rel: string): Promise<void> => {
      for (const ent of await readdir(abs, { withFileTypes: true })) {
        if (ent.name === '.git') continue
        const a = join(abs, ent.name)
        const r = rel ? `${rel}/${ent.name}` : ent.name
        if (ent.isDirectory()) await walk(a, r)
        else if (ent.isFile()) {
          const st = await stat(a)
          const sha = await this.out(['hash-object', '-w', '--no-filters', '--', a])
          changes.push({ path: r, mode: st.mode & 0o111 ? '100755' : '100644', type: 'blob', sha })
        }
      }
    }
    await walk(dir, '')
    return this.buildTree(null, changes)
  }
}
