// Repository, branches, REST commits, compare and contents endpoints.
import {
  commitFiles,
  git,
  gitCommitJson,
  repoApi,
  repoHtml,
  repoJson,
  requireString,
  restCommitJson,
  type Ctx,
  type Route
} from './context.ts'
import type { GitRepo, ParsedCommit, TreeEntry } from './git.ts'
import { HttpError, base64Wrapped, decodeBase64Strict, isObject, notFound, paginate, type Reply } from './http.ts'
import { createCommitObject } from './routes-git.ts'
import { rulesJson } from './quirks.ts'

async function getRepo(ctx: Ctx): Promise<Reply> {
  return { status: 200, body: await repoJson(ctx) }
}

async function branchJson(ctx: Ctx, name: string, c: ParsedCommit): Promise<Record<string, unknown>> {
  const api = repoApi(ctx)
  return {
    name,
    commit: restCommitJson(ctx, c),
    _links: { self: `${api}/branches/${name}`, html: `${repoHtml(ctx)}/tree/${name}` },
    protected: false,
    protection: { enabled: false, required_status_checks: { enforcement_level: 'off', contexts: [], checks: [] } },
    protection_url: `${api}/branches/${name}/protection`
  }
}

async function listBranches(ctx: Ctx): Promise<Reply> {
  const refs = await git(ctx).listRefs('refs/heads')
  const items = refs.map(r => {
    const name = r.ref.slice('refs/heads/'.length)
    return { name, commit: { sha: r.sha, url: `${repoApi(ctx)}/commits/${r.sha}` }, protected: false }
  })
  const { page, headers } = paginate(items, ctx.query, `${repoApi(ctx)}/branches`)
  return { status: 200, body: page, headers }
}

async function getBranch(ctx: Ctx): Promise<Reply> {
  const name = ctx.params[0]
  const repo = git(ctx)
  const sha = await repo.readRef(`refs/heads/${name}`)
  if (!sha) throw new HttpError(404, 'Branch not found')
  return { status: 200, body: await branchJson(ctx, name, (await repo.readCommit(sha))!) }
}

async function getRestCommit(ctx: Ctx): Promise<Reply> {
  const repo = git(ctx)
  const sha = await repo.resolveCommit(ctx.params[0])
  if (!sha) throw new HttpError(422, `No commit found for SHA: ${ctx.params[0]}`)
  const c = (await repo.readCommit(sha))!
  return { status: 200, body: restCommitJson(ctx, c, await commitFiles(ctx, c.parents[0] ?? null, c.sha)) }
}

async function listCommits(ctx: Ctx): Promise<Reply> {
  const repo = git(ctx)
  const start = ctx.query.get('sha') ?? (await repo.defaultBranch())
  const tip = await repo.resolveCommit(start)
  if (!tip) {
    if (!(await repo.readRef(`refs/heads/${await repo.defaultBranch()}`)))
      throw new HttpError(409, 'Git Repository is empty.')
    throw notFound()
  }
  const args = ['--max-count=1000']
  const since = ctx.query.get('since')
  const until = ctx.query.get('until')
  if (since) args.push(`--since=${since}`)
  if (until) args.push(`--until=${until}`)
  args.push(tip)
  const path = ctx.query.get('path')
  if (path) args.push('--', path)
  const shas = await repo.revList(args)
  const { page, headers } = paginate(shas, ctx.query, `${repoApi(ctx)}/commits`)
  const body = []
  for (const s of page) body.push(restCommitJson(ctx, (await repo.readCommit(s))!))
  return { status: 200, body, headers }
}

function splitOwner(ctx: Ctx, rev: string): string {
  const i = rev.indexOf(':')
  if (i < 0) return rev
  if (rev.slice(0, i).toLowerCase() !== ctx.repo.owner.toLowerCase()) throw notFound()
  return rev.slice(i + 1)
}

async function compare(ctx: Ctx): Promise<Reply> {
  const spec = ctx.params[0]
  const sep = spec.includes('...') ? '...' : '..'
  const [b, h] = spec.split(sep)
  if (!b || !h) throw notFound()
  const repo = git(ctx)
  const base = await repo.resolveCommit(splitOwner(ctx, b))
  const head = await repo.resolveCommit(splitOwner(ctx, h))
  if (!base || !head) throw notFound()
  const mb = await repo.mergeBase(base, head)
  const ahead = mb ? await repo.countCommits(`${mb}..${head}`) : 0
  const behind = mb ? await repo.countCommits(`${mb}..${base}`) : 0
  const status =
    ahead === 0 && behind === 0 ? 'identical' : behind === 0 ? 'ahead' : ahead === 0 ? 'behind' : 'diverged'
  const shas = mb ? await repo.revList(['--reverse', '--max-count=250', `${mb}..${head}`]) : []
  const commits = []
  for (const s of shas) commits.push(restCommitJson(ctx, (await repo.readCommit(s))!))
  const mbCommit = mb ? await repo.readCommit(mb) : null
  return {
    status: 200,
    body: {
      url: `${repoApi(ctx)}/compare/${spec}`,
      html_url: `${repoHtml(ctx)}/compare/${spec}`,
      permalink_url: `${repoHtml(ctx)}/compare/${base}...${head}`,
      diff_url: `${repoHtml(ctx)}/compare/${spec}.diff`,
      patch_url: `${repoHtml(ctx)}/compare/${spec}.patch`,
      base_commit: restCommitJson(ctx, (await repo.readCommit(base))!),
      merge_base_commit: mbCommit ? restCommitJson(ctx, mbCommit) : null,
      status,
      ahead_by: ahead,
      behind_by: behind,
      total_commits: ahead,
      commits,
      files: mb ? await commitFiles(ctx, mb, head) : []
    }
  }
}

function contentType(e: TreeEntry): string {
  if (e.type === 'tree') return 'dir'
  if (e.type === 'commit') return 'submodule'
  if (e.mode === '120000') return 'symlink'
  return 'file'
}

function contentEntryJson(ctx: Ctx, e: TreeEntry, ref: string): Record<string, unknown> {
  const api = repoApi(ctx)
  const type = contentType(e)
  const url = `${api}/contents/${e.path}?ref=${encodeURIComponent(ref)}`
  const gitUrl =
    e.type === 'tree' ? `${api}/git/trees/${e.sha}` : e.type === 'blob' ? `${api}/git/blobs/${e.sha}` : null
  const htmlUrl = `${repoHtml(ctx)}/${type === 'dir' ? 'tree' : 'blob'}/${ref}/${e.path}`
  return {
    type,
    size: e.size ?? 0,
    name: e.path.split('/').pop(),
    path: e.path,
    sha: e.sha,
    url,
    git_url: gitUrl,
    html_url: htmlUrl,
    download_url: type === 'file' ? `${repoHtml(ctx)}/raw/${ref}/${e.path}` : null,
    _links: { self: url, git: gitUrl, html: htmlUrl }
  }
}

async function resolveContentRef(ctx: Ctx, repo: GitRepo): Promise<{ ref: string; sha: string }> {
  const ref = ctx.query.get('ref') || (await repo.defaultBranch())
  const sha = await repo.resolveCommit(ref)
  if (!sha) {
    if (!ctx.query.get('ref') && !(await repo.readRef(`refs/heads/${ref}`)))
      throw new HttpError(404, 'This repository is empty.')
    throw new HttpError(404, `No commit found for the ref ${ref}`)
  }
  return { ref, sha }
}

async function getContents(ctx: Ctx): Promise<Reply> {
  const repo = git(ctx)
  const path = (ctx.params[0] ?? '').replace(/^\/+|\/+$/g, '')
  const { ref, sha } = await resolveContentRef(ctx, repo)
  const entry = await repo.entryAt(sha, path)
  if (!entry) throw notFound()
  if (entry.type === 'tree') {
    const children = await repo.lsTree(path ? `${sha}:${path}` : sha)
    const body = children.map(c => contentEntryJson(ctx, { ...c, path: path ? `${path}/${c.path}` : c.path }, ref))
    return { status: 200, body }
  }
  const accept = String(ctx.headers.accept ?? '')
  if (entry.type === 'blob') {
    const data = await repo.readBlob(entry.sha)
    if (accept.includes('.raw'))
      return { status: 200, body: data, headers: { 'content-type': 'application/vnd.github.raw; charset=utf-8' } }
    const body = contentEntryJson(ctx, { ...entry, size: data.length }, ref)
    if (body.type === 'symlink') body.target = data.toString('utf8')
    else {
      body.content = base64Wrapped(data)
      body.encoding = 'base64'
    }
    return { status: 200, body }
  }
  return { status: 200, body: { ...contentEntryJson(ctx, entry, ref), submodule_git_url: null } }
}

/** PUT/DELETE /contents/{path}: one commit on a branch, ref moved by compare-and-swap. */
async function writeContents(ctx: Ctx): Promise<Reply> {
  if (!isObject(ctx.body)) throw new HttpError(400, 'Problems parsing JSON')
  const b = ctx.body
  const path = ctx.params[0].replace(/^\/+|\/+$/g, '')
  const del = ctx.method === 'DELETE'
  const message = requireString(b, 'message')
  const data = del ? null : decodeBase64Strict(requireString(b, 'content'))
  const repo = git(ctx)
  const branch = typeof b.branch === 'string' && b.branch ? b.branch : await repo.defaultBranch()
  const ref = `refs/heads/${branch}`
  for (let attempt = 0; attempt < 20; attempt++) {
    const head = await repo.readRef(ref)
    if (!head && (del || branch !== (await repo.defaultBranch())))
      throw new HttpError(404, `Branch ${branch} not found`)
    const existing = head ? await repo.entryAt(head, path) : null
    if (existing && existing.type !== 'blob') throw new HttpError(422, `Invalid request.\n\n"${path}" is a directory.`)
    if (del && !existing) throw notFound()
    if (existing && typeof b.sha !== 'string') throw new HttpError(422, `Invalid request.\n\n"sha" wasn't supplied.`)
    if (existing && b.sha !== existing.sha) throw new HttpError(409, `${path} does not match ${String(b.sha)}`)
    const baseTree = head ? (await repo.readCommit(head))!.tree : null
    const blob = data ? await repo.hashBlob(data) : null
    const tree = await ctx.svc.withRepoLock(ctx.repo.full, () =>
      repo.buildTree(baseTree, [{ path, mode: existing?.mode ?? '100644', type: 'blob', sha: blob }])
    )
    const ident = (v: unknown): { name: string; email: string; date?: string } | undefined =>
      isObject(v) && typeof v.name === 'string' && typeof v.email === 'string'
        ? { name: v.name, email: v.email }
        : undefined
    const commit = await createCommitObject(
      ctx,
      tree,
      head ? [head] : [],
      message,
      ident(b.author) ?? ident(b.committer),
      ident(b.committer)
    )
    if (await repo.casRef(ref, commit, head, `contents by ${ctx.user.login}`)) {
      const c = (await repo.readCommit(commit))!
      const content = del
        ? null
        : contentEntryJson(
            ctx,
            { path, mode: existing?.mode ?? '100644', type: 'blob', sha: blob!, size: data!.length },
            branch
          )
      return { status: del || existing ? 200 : 201, body: { content, commit: gitCommitJson(ctx, c) } }
    }
  }
  throw new HttpError(409, `${path} could not be updated: the branch kept moving`)
}

async function branchRules(ctx: Ctx): Promise<Reply> {
  return { status: 200, body: rulesJson(ctx.repo.quirks, ctx.params[0]) }
}

async function branchProtection(ctx: Ctx): Promise<Reply> {
  // GitHub documents only 200 and 404 here; settings stay hidden from a token without admin.
  throw new HttpError(404, ctx.repo.perm === 'admin' ? 'Branch not protected' : 'Not Found')
}

export const repoRoutes: Route[] = [
  { method: 'GET', re: /^\/rules\/branches\/(.+)$/, handler: branchRules },
  { method: 'GET', re: /^\/branches\/(.+)\/protection$/, handler: branchProtection },
  { method: 'GET', re: /^$/, git: false, handler: getRepo },
  { method: 'GET', re: /^\/branches$/, handler: listBranches },
  { method: 'GET', re: /^\/branches\/(.+)$/, handler: getBranch },
  { method: 'GET', re: /^\/commits$/, handler: listCommits },
  { method: 'GET', re: /^\/commits\/(.+)$/, handler: getRestCommit },
  { method: 'GET', re: /^\/compare\/(.+)$/, handler: compare },
  { method: 'GET', re: /^\/contents\/?$/, handler: getContents },
  { method: 'GET', re: /^\/contents\/(.+)$/, handler: getContents },
  { method: 'PUT', re: /^\/contents\/(.+)$/, handler: writeContents },
  { method: 'DELETE', re: /^\/contents\/(.+)$/, handler: writeContents }
]
