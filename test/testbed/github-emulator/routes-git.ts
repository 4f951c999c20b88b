// Git data API: refs, commits, trees, blobs.
import { setTimeout as sleep } from 'node:timers/promises'
import { defaultIdentity, git, gitCommitJson, repoApi, requireString, type Ctx, type Route } from './context.ts'
import { isSha, runGit, type GitRepo, type Identity, type TreeChange, type TreeEntry } from './git.ts'
import { HttpError, base64Wrapped, decodeBase64Strict, isObject, nodeId, notFound, type Reply } from './http.ts'
import { checkRules } from './quirks.ts'

export function refJson(ctx: Ctx, ref: string, sha: string, type = 'commit'): Record<string, unknown> {
  const api = repoApi(ctx)
  const objType = type === 'commit' ? 'commits' : type === 'tag' ? 'tags' : type === 'tree' ? 'trees' : 'blobs'
  return {
    ref,
    node_id: nodeId('Ref', `${ctx.repo.full}:${ref}`),
    url: `${api}/git/${ref}`,
    object: { sha, type, url: `${api}/git/${objType}/${sha}` }
  }
}

async function validRefName(ref: string): Promise<boolean> {
  const r = await runGit(['check-ref-format', ref], { okCodes: [0, 1, 128] })
  return r.code === 0
}

const jitter = (attempt: number): Promise<void> => sleep(5 + Math.floor(Math.random() * 10 * (attempt + 1)))

async function getRef(ctx: Ctx): Promise<Reply> {
  const ref = `refs/${ctx.params[0]}`
  const info = (await git(ctx).listRefs(ref)).find(r => r.ref === ref)
  if (!info) throw notFound()
  return { status: 200, body: refJson(ctx, info.ref, info.sha, info.type) }
}

async function listRefs(ctx: Ctx): Promise<Reply> {
  // legacy GET /git/refs/{prefix}: the exact ref as an object, otherwise every ref under the prefix
  const sub = ctx.params[0] ?? ''
  const refs = await git(ctx).listRefs(sub ? `refs/${sub}` : 'refs')
  const exact = refs.find(r => r.ref === `refs/${sub}`)
  if (exact) return { status: 200, body: refJson(ctx, exact.ref, exact.sha, exact.type) }
  if (refs.length === 0) throw notFound()
  return { status: 200, body: refs.map(r => refJson(ctx, r.ref, r.sha, r.type)) }
}

async function matchingRefs(ctx: Ctx): Promise<Reply> {
  const prefix = `refs/${ctx.params[0] ?? ''}`
  const refs = (await git(ctx).listRefs('refs')).filter(r => r.ref.startsWith(prefix))
  return { status: 200, body: refs.map(r => refJson(ctx, r.ref, r.sha, r.type)) }
}

async function createRef(ctx: Ctx): Promise<Reply> {
  const ref = requireString(ctx.body, 'ref')
  const sha = requireString(ctx.body, 'sha')
  if (!ref.startsWith('refs/') || ref.split('/').length < 3) {
    throw new HttpError(422, "Reference name must start with 'refs/' and have at least two slashes.")
  }
  if (!(await validRefName(ref))) throw new HttpError(422, `${ref} is not a valid ref name.`)
  const repo = git(ctx)
  const type = isSha(sha) ? await repo.objectType(sha) : null
  if (!type) throw new HttpError(422, 'Object does not exist')
  if (ref.startsWith('refs/heads/') && type !== 'commit') throw new HttpError(422, 'Object does not exist')
  if (!ctx.svc.quirks.visible(ctx.repo.full, sha)) throw new HttpError(422, 'Object does not exist')
  if (!(await repo.casRef(ref, sha, null, `create by ${ctx.user.login}`)))
    throw new HttpError(422, 'Reference already exists')
  ctx.svc.quirks.wrote(ctx.repo.full, `ref:${ref}`)
  const body = refJson(ctx, ref, sha, type)
  return { status: 201, body, headers: { location: String(body.url) } }
}

async function updateRef(ctx: Ctx): Promise<Reply> {
  const ref = `refs/${ctx.params[0]}`
  const sha = requireString(ctx.body, 'sha')
  const force = isObject(ctx.body) && ctx.body.force === true
  const repo = git(ctx)
  const type = isSha(sha) ? await repo.objectType(sha) : null
  if (!type || (ref.startsWith('refs/heads/') && type !== 'commit')) throw new HttpError(422, 'Object does not exist')
  const quirks = ctx.repo.quirks
  if (!ctx.svc.quirks.visible(ctx.repo.full, sha)) throw new HttpError(422, 'Object does not exist')
  for (let attempt = 0; attempt < 30; attempt++) {
    const cur = await repo.readRef(ref)
    if (cur === null) throw new HttpError(422, 'Reference does not exist')
    if (cur === sha) return { status: 200, body: refJson(ctx, ref, sha, type) }
    checkRules(quirks, ref)
    if (!force && !(await repo.isAncestor(cur, sha))) throw new HttpError(422, 'Update is not a fast forward')
    if (quirks.refRaces?.windowMs) await sleep(quirks.refRaces.windowMs)
    // compare-and-swap: only succeeds if the ref is still at the commit we checked against
    if (await repo.casRef(ref, sha, cur, `update by ${ctx.user.login}${force ? ' (force)' : ''}`)) {
      ctx.svc.quirks.wrote(ctx.repo.full, `ref:${ref}`)
      return { status: 200, body: refJson(ctx, ref, sha, type) }
    }
    // GitHub does not retry a lost race for the caller.
    if (quirks.refRaces) throw new HttpError(422, 'Reference cannot be updated')
    await jitter(attempt)
  }
  throw new HttpError(409, 'Reference update failed: too much contention')
}

async function deleteRef(ctx: Ctx): Promise<Reply> {
  const ref = `refs/${ctx.params[0]}`
  const repo = git(ctx)
  for (let attempt = 0; attempt < 30; attempt++) {
    const cur = await repo.readRef(ref)
    if (cur === null) throw new HttpError(422, 'Reference does not exist')
    if (await repo.casRef(ref, null, cur, `delete by ${ctx.user.login}`)) return { status: 204 }
    await jitter(attempt)
  }
  throw new HttpError(409, 'Reference update failed: too much contention')
}

async function getCommit(ctx: Ctx): Promise<Reply> {
  const c = await git(ctx).readCommit(ctx.params[0])
  if (!c) throw notFound()
  return { status: 200, body: gitCommitJson(ctx, c) }
}

function identityFrom(v: unknown, field: string): Identity | undefined {
  if (v === undefined || v === null) return undefined
  if (!isObject(v) || typeof v.name !== 'string' || typeof v.email !== 'string') {
    throw new HttpError(422, `Invalid request.\n\n"name", "email" weren't supplied for "${field}".`)
  }
  if (v.date !== undefined && (typeof v.date !== 'string' || Number.isNaN(Date.parse(v.date)))) {
    throw new HttpError(422, `Invalid request.\n\n${String(v.date)} is not a valid date-time for "${field}.date".`)
  }
  return { name: v.name, email: v.email, date: v.date as string | undefined }
}

export async function createCommitObject(
  ctx: Ctx,
  tree: string,
  parents: string[],
  message: string,
  author?: Identity,
  committer?: Identity
): Promise<string> {
  const now = new Date().toISOString()
  const a = author ?? { ...defaultIdentity(ctx.user), date: now }
  const c = committer ?? (author ? { ...author } : { ...defaultIdentity(ctx.user), date: now })
  return git(ctx).commitTree(tree, parents, message, a, c)
}

async function postCommit(ctx: Ctx): Promise<Reply> {
  if (!isObject(ctx.body)) throw new HttpError(400, 'Problems parsing JSON')
  const b = ctx.body
  if (typeof b.message !== 'string') throw new HttpError(422, `Invalid request.\n\n"message" wasn't supplied.`)
  const tree = requireString(b, 'tree')
  const repo = git(ctx)
  if (!isSha(tree) || (await repo.objectType(tree)) !== 'tree') throw new HttpError(422, 'Tree SHA does not exist')
  const parents = b.parents ?? []
  if (!Array.isArray(parents))
    throw new HttpError(422, 'Invalid request.\n\nFor \'properties/parents\', "..." is not an array.')
  for (const p of parents) {
    if (!isSha(p) || (await repo.objectType(p)) !== 'commit') {
      throw new HttpError(422, 'Parent SHA does not exist or is not a commit object')
    }
  }
  const author = identityFrom(b.author, 'author')
  const committer = identityFrom(b.committer, 'committer')
  const sha = await createCommitObject(ctx, tree, parents as string[], b.message, author, committer)
  ctx.svc.quirks.wrote(ctx.repo.full, sha)
  const parsed = await repo.readCommit(sha)
  const body = gitCommitJson(ctx, parsed!)
  return { status: 201, body, headers: { location: String(body.url) } }
}

function treeEntryJson(ctx: Ctx, e: TreeEntry): Record<string, unknown> {
  const out: Record<string, unknown> = { path: e.path, mode: e.mode, type: e.type, sha: e.sha }
  if (e.type === 'blob') {
    out.size = e.size
    out.url = `${repoApi(ctx)}/git/blobs/${e.sha}`
  } else if (e.type === 'tree') out.url = `${repoApi(ctx)}/git/trees/${e.sha}`
  return out
}

async function treeJson(ctx: Ctx, sha: string, recursive: boolean): Promise<Record<string, unknown>> {
  let entries = await git(ctx).lsTree(sha, { recursive })
  const limit = recursive ? ctx.repo.quirks.treeEntryLimit : undefined
  const truncated = limit !== undefined && entries.length > limit
  if (truncated) entries = entries.slice(0, limit)
  return {
    sha,
    url: `${repoApi(ctx)}/git/trees/${sha}`,
    tree: entries.map(e => treeEntryJson(ctx, e)),
    truncated
  }
}

async function resolveTreeish(repo: GitRepo, s: string): Promise<string | null> {
  if (isSha(s)) {
    const t = await repo.objectType(s)
    if (t === 'tree') return s
    if (t === 'commit') return (await repo.readCommit(s))!.tree
    return null
  }
  const c = await repo.resolveCommit(s)
  return c ? (await repo.readCommit(c))!.tree : null
}

async function getTree(ctx: Ctx): Promise<Reply> {
  const sha = await resolveTreeish(git(ctx), ctx.params[0])
  if (!sha) throw notFound()
  const body = await treeJson(ctx, sha, ctx.query.has('recursive'))
  // Reported of GitHub: a tree read by commit sha answers with the requested sha, not the tree's.
  if (ctx.repo.quirks.treeEchoesRequestedSha && isSha(ctx.params[0])) body.sha = ctx.params[0]
  return { status: 200, body }
}

const MODES: Record<string, TreeChange['type']> = {
  '100644': 'blob',
  '100755': 'blob',
  '120000': 'blob',
  '040000': 'tree',
  '160000': 'commit'
}

function validPath(p: string): boolean {
  if (!p || p.startsWith('/') || p.endsWith('/')) return false
  return p.split('/').every(seg => seg !== '' && seg !== '.' && seg !== '..' && seg !== '.git' && !seg.includes('\0'))
}

async function postTree(ctx: Ctx): Promise<Reply> {
  if (!isObject(ctx.body)) throw new HttpError(400, 'Problems parsing JSON')
  const b = ctx.body
  const entries = b.tree
  if (!Array.isArray(entries)) throw new HttpError(422, `Invalid request.\n\n"tree" wasn't supplied.`)
  const repo = git(ctx)
  let base: string | null = null
  if (b.base_tree !== undefined && b.base_tree !== null) {
    if (typeof b.base_tree !== 'string') throw new HttpError(422, 'Invalid request.\n\n"base_tree" is not a string.')
    base = await resolveTreeish(repo, b.base_tree)
    const strict = ctx.repo.quirks.strictBaseTree && isSha(b.base_tree) && base !== b.base_tree
    if (!base || strict) throw new HttpError(422, `base_tree ${b.base_tree} is not a valid tree oid`)
  }
  const changes: TreeChange[] = []
  for (const raw of entries) {
    if (!isObject(raw)) throw new HttpError(422, 'Invalid tree info')
    const path = raw.path
    if (typeof path !== 'string' || !validPath(path)) {
      throw new HttpError(422, `tree.path contains a malformed path component`)
    }
    let mode = String(raw.mode ?? '')
    if (mode === '40000') mode = '040000'
    const modeType = MODES[mode]
    if (!modeType) throw new HttpError(422, `Invalid request.\n\n"${String(raw.mode)}" is not a valid tree.mode.`)
    const type = (raw.type ?? modeType) as TreeChange['type']
    if (type !== modeType)
      throw new HttpError(422, `Invalid request.\n\ntree.type ${String(raw.type)} does not match mode ${mode}.`)
    const hasContent = raw.content !== undefined
    const hasSha = 'sha' in raw
    if (hasContent && hasSha && raw.sha !== null)
      throw new HttpError(422, 'Must supply either tree.sha or tree.content, not both')
    if (hasContent) {
      if (typeof raw.content !== 'string' || type !== 'blob')
        throw new HttpError(422, 'tree.content must be a string for blobs')
      const sha = await repo.hashBlob(Buffer.from(raw.content, 'utf8'))
      changes.push({ path, mode, type, sha })
    } else if (hasSha && raw.sha === null) {
      changes.push({ path, mode, type, sha: null })
    } else if (hasSha) {
      const sha = raw.sha
      const t = isSha(sha) ? await repo.objectType(sha) : null
      if (type !== 'commit' && t !== type) throw new HttpError(422, `tree.sha ${String(sha)} is not a valid ${type}`)
      if (type === 'commit' && !isSha(sha)) throw new HttpError(422, `tree.sha ${String(sha)} is not a valid commit`)
      changes.push({ path, mode, type, sha: sha as string })
    } else {
      throw new HttpError(422, 'Must supply either tree.sha or tree.content')
    }
  }
  const sha = await ctx.svc.withRepoLock(ctx.repo.full, () => repo.buildTree(base, changes))
  const body = await treeJson(ctx, sha, false)
  return { status: 201, body, headers: { location: String(body.url) } }
}

async function postBlob(ctx: Ctx): Promise<Reply> {
  if (!isObject(ctx.body)) throw new HttpError(400, 'Problems parsing JSON')
  const { content, encoding = 'utf-8' } = ctx.body
  if (typeof content !== 'string') throw new HttpError(422, `Invalid request.\n\n"content" wasn't supplied.`)
  let data: Buffer
  if (encoding === 'utf-8' || encoding === 'utf8') data = Buffer.from(content, 'utf8')
  else if (encoding === 'base64') data = decodeBase64Strict(content)
  else throw new HttpError(422, `encoding must be "utf-8" or "base64"`)
  const sha = await git(ctx).hashBlob(data)
  const url = `${repoApi(ctx)}/git/blobs/${sha}`
  return { status: 201, body: { url, sha }, headers: { location: url } }
}

async function getBlob(ctx: Ctx): Promise<Reply> {
  const sha = ctx.params[0]
  const object = await git(ctx).readObject(sha)
  if (object?.type !== 'blob') throw notFound()
  const data = object.data
  return {
    status: 200,
    body: {
      sha,
      node_id: nodeId('Blob', sha),
      size: data.length,
      url: `${repoApi(ctx)}/git/blobs/${sha}`,
      content: base64Wrapped(data),
      encoding: 'base64'
    }
  }
}

export const gitRoutes: Route[] = [
  { method: 'GET', re: /^\/git\/ref\/(.+)$/, handler: getRef },
  { method: 'GET', re: /^\/git\/refs$/, handler: listRefs },
  { method: 'GET', re: /^\/git\/refs\/(.+)$/, handler: listRefs },
  { method: 'GET', re: /^\/git\/matching-refs\/(.*)$/, handler: matchingRefs },
  { method: 'POST', re: /^\/git\/refs$/, handler: createRef },
  { method: 'PATCH', re: /^\/git\/refs\/(.+)$/, handler: updateRef },
  { method: 'POST', re: /^\/git\/refs\/(.+)$/, handler: updateRef },
  { method: 'DELETE', re: /^\/git\/refs\/(.+)$/, handler: deleteRef },
  { method: 'GET', re: /^\/git\/commits\/([0-9a-f]{4,40})$/, handler: getCommit },
  { method: 'POST', re: /^\/git\/commits$/, handler: postCommit },
  { method: 'GET', re: /^\/git\/trees\/([^/]+)$/, handler: getTree },
  { method: 'POST', re: /^\/git\/trees$/, handler: postTree },
  { method: 'POST', re: /^\/git\/blobs$/, handler: postBlob },
  { method: 'GET', re: /^\/git\/blobs\/([0-9a-f]{40})$/, handler: getBlob }
]
