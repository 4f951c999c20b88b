// Pull requests, merged with real git objects (merge commit, squash, or fast-forward rebase).
import { git, repoApi, repoHtml, repoJson, restCommitJson, userJson, type Ctx, type Route } from './context.ts'
import { HttpError, isObject, isoNow, nodeId, notFound, paginate, validationFailed, type Reply } from './http.ts'
import type { PullRecord } from './state.ts'

function state(ctx: Ctx) {
  return ctx.svc.state.get(ctx.repo.owner, ctx.repo.name)
}

function save(ctx: Ctx): void {
  ctx.svc.state.save(ctx.repo.owner, ctx.repo.name)
}

function findPull(ctx: Ctx): PullRecord {
  const n = Number(ctx.params[0])
  const pr = state(ctx).pulls.find(p => p.number === n)
  if (!pr) throw notFound()
  return pr
}

/** Keep head/base shas live while the pull request is open, like GitHub does. */
async function refresh(ctx: Ctx, pr: PullRecord): Promise<void> {
  if (pr.state !== 'open') return
  const repo = git(ctx)
  const head = await repo.readRef(`refs/heads/${pr.head}`)
  const base = await repo.readRef(`refs/heads/${pr.base}`)
  if (head) pr.headSha = head
  if (base) pr.baseSha = base
}

async function pullJson(ctx: Ctx, pr: PullRecord, full: boolean): Promise<Record<string, unknown>> {
  const api = repoApi(ctx)
  const html = `${repoHtml(ctx)}/pull/${pr.number}`
  const url = `${api}/pulls/${pr.number}`
  const repo = await repoJson(ctx)
  const owner = userJson(ctx, ctx.repo.owner)
  const out: Record<string, unknown> = {
    url,
    id: pr.id,
    node_id: nodeId('PullRequest', pr.id),
    html_url: html,
    diff_url: `${html}.diff`,
    patch_url: `${html}.patch`,
    issue_url: `${api}/issues/${pr.number}`,
    commits_url: `${url}/commits`,
    review_comments_url: `${url}/comments`,
    comments_url: `${api}/issues/${pr.number}/comments`,
    statuses_url: `${api}/statuses/${pr.headSha}`,
    number: pr.number,
    state: pr.state,
    locked: false,
    title: pr.title,
    user: userJson(ctx, pr.user),
    body: pr.body,
    labels: [],
    milestone: null,
    active_lock_reason: null,
    created_at: pr.created_at,
    updated_at: pr.updated_at,
    closed_at: pr.closed_at,
    merged_at: pr.merged_at,
    merge_commit_sha: pr.merge_commit_sha,
    assignee: null,
    assignees: [],
    requested_reviewers: [],
    requested_teams: [],
    draft: pr.draft,
    head: { label: `${ctx.repo.owner}:${pr.head}`, ref: pr.head, sha: pr.headSha, user: owner, repo },
    base: { label: `${ctx.repo.owner}:${pr.base}`, ref: pr.base, sha: pr.baseSha, user: owner, repo },
    _links: {
      self: { href: url },
      html: { href: html },
      issue: { href: `${api}/issues/${pr.number}` },
      commits: { href: `${url}/commits` },
      statuses: { href: `${api}/statuses/${pr.headSha}` },
      comments: { href: `${api}/issues/${pr.number}/comments` },
      review_comments: { href: `${url}/comments` },
      review_comment: { href: `${api}/pulls/comments{/number}` }
    },
    review_comment_url: `${api}/pulls/comments{/number}`,
    author_association: 'OWNER',
    auto_merge: null
  }
  if (full) {
    const r = git(ctx)
    const merged = pr.merged_at !== null
    let mergeable: boolean | null = null
    let commits = 0
    let additions = 0
    let deletions = 0
    let changed = 0
    if (!merged && pr.state === 'open') mergeable = (await r.mergeTrees(pr.baseSha, pr.headSha)) !== null
    const mb = await r.mergeBase(pr.baseSha, pr.headSha)
    if (mb) {
      commits = await r.countCommits(`${mb}..${pr.headSha}`)
      const files = await r.diffFiles(mb, pr.headSha)
      changed = files.length
      for (const f of files) {
        additions += f.additions
        deletions += f.deletions
      }
    }
    Object.assign(out, {
      merged,
      mergeable,
      rebaseable: mergeable,
      mergeable_state: merged ? 'unknown' : mergeable ? 'clean' : mergeable === false ? 'dirty' : 'unknown',
      merged_by: pr.merged_by ? userJson(ctx, pr.merged_by) : null,
      comments: 0,
      review_comments: 0,
      maintainer_can_modify: pr.maintainer_can_modify,
      commits,
      additions,
      deletions,
      changed_files: changed
    })
  }
  return out
}

function branchOf(ctx: Ctx, spec: string): string {
  const i = spec.indexOf(':')
  if (i < 0) return spec
  if (spec.slice(0, i).toLowerCase() !== ctx.repo.owner.toLowerCase()) return '\0'
  return spec.slice(i + 1)
}

async function createPull(ctx: Ctx): Promise<Reply> {
  if (!isObject(ctx.body)) throw new HttpError(400, 'Problems parsing JSON')
  const b = ctx.body
  const missing = ['head', 'base', 'title'].filter(f => typeof b[f] !== 'string' || b[f] === '')
  if (missing.length)
    throw validationFailed(missing.map(field => ({ resource: 'PullRequest', field, code: 'missing_field' })))
  const repo = git(ctx)
  const head = branchOf(ctx, b.head as string)
  const base = b.base as string
  const headSha = head === '\0' ? null : await repo.readRef(`refs/heads/${head}`)
  const baseSha = await repo.readRef(`refs/heads/${base}`)
  const errors: Array<Record<string, unknown>> = []
  // Replication lag: a head branch written a moment ago is not seen yet.
  const headSeen = headSha && ctx.svc.quirks.visible(ctx.repo.full, `ref:refs/heads/${head}`)
  if (!headSeen) errors.push({ resource: 'PullRequest', field: 'head', code: 'invalid' })
  if (!baseSha) errors.push({ resource: 'PullRequest', field: 'base', code: 'invalid' })
  if (errors.length) throw validationFailed(errors)
  const st = state(ctx)
  if (st.pulls.some(p => p.state === 'open' && p.head === head && p.base === base)) {
    throw validationFailed([
      {
        resource: 'PullRequest',
        code: 'custom',
        message: `A pull request already exists for ${ctx.repo.owner}:${head}.`
      }
    ])
  }
  if ((await repo.countCommits(`${baseSha}..${headSha}`)) === 0) {
    throw validationFailed([
      { resource: 'PullRequest', code: 'custom', message: `No commits between ${base} and ${head}` }
    ])
  }
  const now = isoNow()
  const pr: PullRecord = {
    id: ctx.svc.state.id(),
    number: st.nextNumber++,
    title: b.title as string,
    body: typeof b.body === 'string' ? b.body : null,
    state: 'open',
    draft: b.draft === true,
    head,
    headSha: headSha!,
    base,
    baseSha: baseSha!,
    user: ctx.user.login,
    created_at: now,
    updated_at: now,
    closed_at: null,
    merged_at: null,
    merge_commit_sha: null,
    merged_by: null,
    maintainer_can_modify: b.maintainer_can_modify !== false
  }
  st.pulls.push(pr)
  save(ctx)
  const body = await pullJson(ctx, pr, true)
  return { status: 201, body, headers: { location: String(body.url) } }
}

async function listPulls(ctx: Ctx): Promise<Reply> {
  const q = ctx.query
  const wanted = q.get('state') ?? 'open'
  if (!['open', 'closed', 'all'].includes(wanted))
    throw validationFailed([{ resource: 'Search', field: 'state', code: 'invalid' }])
  const head = q.get('head')
  const base = q.get('base')
  let pulls = state(ctx).pulls.filter(p => wanted === 'all' || p.state === wanted)
  if (head) {
    const h = branchOf(ctx, head)
    pulls = pulls.filter(p => p.head === h)
  }
  if (base) pulls = pulls.filter(p => p.base === base)
  const sort = q.get('sort') ?? 'created'
  const dir = q.get('direction') ?? (sort === 'created' ? 'desc' : 'desc')
  const key = (p: PullRecord): string =>
    (sort === 'updated' ? p.updated_at : p.created_at) + String(p.number).padStart(10, '0')
  pulls = [...pulls].sort((a, b) => (key(a) < key(b) ? -1 : 1) * (dir === 'asc' ? 1 : -1))
  const { page, headers } = paginate(pulls, q, `${repoApi(ctx)}/pulls`)
  const body = []
  for (const p of page) {
    await refresh(ctx, p)
    body.push(await pullJson(ctx, p, false))
  }
  return { status: 200, body, headers }
}

async function getPull(ctx: Ctx): Promise<Reply> {
  const pr = findPull(ctx)
  await refresh(ctx, pr)
  return { status: 200, body: await pullJson(ctx, pr, true) }
}

async function updatePull(ctx: Ctx): Promise<Reply> {
  if (!isObject(ctx.body)) throw new HttpError(400, 'Problems parsing JSON')
  const b = ctx.body
  const pr = findPull(ctx)
  await refresh(ctx, pr)
  if (typeof b.title === 'string') pr.title = b.title
  if (typeof b.body === 'string' || b.body === null) pr.body = b.body as string | null
  if (typeof b.maintainer_can_modify === 'boolean') pr.maintainer_can_modify = b.maintainer_can_modify
  if (typeof b.base === 'string' && b.base !== pr.base) {
    const sha = await git(ctx).readRef(`refs/heads/${b.base}`)
    if (!sha) throw validationFailed([{ resource: 'PullRequest', field: 'base', code: 'invalid' }])
    pr.base = b.base
    pr.baseSha = sha
  }
  if (b.state !== undefined) {
    if (b.state !== 'open' && b.state !== 'closed')
      throw validationFailed([{ resource: 'PullRequest', field: 'state', code: 'invalid' }])
    if (b.state === 'open' && pr.merged_at)
      throw validationFailed([
        {
          resource: 'PullRequest',
          code: 'custom',
          message: 'state cannot be changed. The pull request has been merged.'
        }
      ])
    if (b.state !== pr.state) {
      pr.state = b.state
      pr.closed_at = b.state === 'closed' ? isoNow() : null
    }
  }
  pr.updated_at = isoNow()
  save(ctx)
  return { status: 200, body: await pullJson(ctx, pr, true) }
}

async function mergePull(ctx: Ctx): Promise<Reply> {
  const b = isObject(ctx.body) ? ctx.body : {}
  const pr = findPull(ctx)
  const method = (b.merge_method as string | undefined) ?? 'merge'
  if (!['merge', 'squash', 'rebase'].includes(method))
    throw validationFailed([{ resource: 'PullRequest', field: 'merge_method', code: 'invalid' }])
  if (pr.state !== 'open') throw new HttpError(405, 'Pull Request is not mergeable')
  const repo = git(ctx)
  for (let attempt = 0; attempt < 20; attempt++) {
    await refresh(ctx, pr)
    const head = pr.headSha
    const base = await repo.readRef(`refs/heads/${pr.base}`)
    if (!base) throw new HttpError(422, 'Base branch was deleted')
    if (typeof b.sha === 'string' && b.sha !== head)
      throw new HttpError(409, 'Head branch was modified. Review and try the merge again.')
    let next: string
    if (method === 'rebase') {
      if (!(await repo.isAncestor(base, head))) throw new HttpError(405, "This branch can't be rebased")
      next = head // fast-forward
    } else {
      const tree = await ctx.svc.withRepoLock(ctx.repo.full, () => repo.mergeTrees(base, head))
      if (!tree) throw new HttpError(405, 'Pull Request is not mergeable')
      const title =
        typeof b.commit_title === 'string'
          ? b.commit_title
          : method === 'merge'
            ? `Merge pull request #${pr.number} from ${ctx.repo.owner}/${pr.head}`
            : `${pr.title} (#${pr.number})`
      const msg = typeof b.commit_message === 'string' ? b.commit_message : method === 'merge' ? pr.title : ''
      const parents = method === 'merge' ? [base, head] : [base]
      const now = new Date().toISOString()
      const author = { name: ctx.user.name, email: ctx.user.email, date: now }
      const committer = { name: 'GitHub', email: 'noreply@github.com', date: now }
      next = await repo.commitTree(tree, parents, msg ? `${title}\n\n${msg}` : title, author, committer)
    }
    if (await repo.casRef(`refs/heads/${pr.base}`, next, base, `merge #${pr.number} by ${ctx.user.login}`)) {
      const now = isoNow()
      pr.state = 'closed'
      pr.merged_at = now
      pr.closed_at = now
      pr.updated_at = now
      pr.merge_commit_sha = next
      pr.merged_by = ctx.user.login
      pr.baseSha = base
      save(ctx)
      return { status: 200, body: { sha: next, merged: true, message: 'Pull Request successfully merged' } }
    }
  }
  throw new HttpError(409, 'Base branch was modified. Review and try the merge again.')
}

async function isMerged(ctx: Ctx): Promise<Reply> {
  const pr = findPull(ctx)
  if (!pr.merged_at) throw notFound()
  return { status: 204 }
}

async function pullCommits(ctx: Ctx): Promise<Reply> {
  const pr = findPull(ctx)
  await refresh(ctx, pr)
  const repo = git(ctx)
  const mb = (await repo.mergeBase(pr.baseSha, pr.headSha)) ?? pr.baseSha
  const shas = await repo.revList(['--reverse', '--max-count=250', `${mb}..${pr.headSha}`])
  const { page, headers } = paginate(shas, ctx.query, `${repoApi(ctx)}/pulls/${pr.number}/commits`)
  const body = []
  for (const s of page) body.push(restCommitJson(ctx, (await repo.readCommit(s))!))
  return { status: 200, body, headers }
}

export const pullRoutes: Route[] = [
  { method: 'POST', re: /^\/pulls$/, handler: createPull },
  { method: 'GET', re: /^\/pulls$/, handler: listPulls },
  { method: 'GET', re: /^\/pulls\/(\d+)$/, handler: getPull },
  { method: 'PATCH', re: /^\/pulls\/(\d+)$/, handler: updatePull },
  { method: 'PUT', re: /^\/pulls\/(\d+)\/merge$/, handler: mergePull },
  { method: 'GET', re: /^\/pulls\/(\d+)\/merge$/, handler: isMerged },
  { method: 'GET', re: /^\/pulls\/(\d+)\/commits$/, handler: pullCommits }
]
