// Request context handed to route handlers, and the JSON shapes shared by several routes.
import { createHash } from 'node:crypto'
import type { Permission } from './config.ts'
import type { GitRepo, ParsedCommit } from './git.ts'
import { HttpError, nodeId, type Reply } from './http.ts'
import type { QuirkStore, Quirks } from './quirks.ts'
import type { StateStore } from './state.ts'

export interface UserInfo {
  login: string
  name: string
  email: string
}

export interface RepoCtx {
  owner: string
  name: string
  full: string
  /** null for repositories configured without git storage */
  git: GitRepo | null
  perm: Permission
  /** GitHub behaviours this repository asked for (see quirks.ts) */
  quirks: Quirks
}

export interface Services {
  state: StateStore
  quirks: QuirkStore
  /** Run `fn` while holding the per-repository lock (tree/index work, resets). */
  withRepoLock<T>(full: string, fn: () => Promise<T>): Promise<T>
}

export interface Ctx {
  method: string
  path: string
  query: URLSearchParams
  params: string[]
  body: unknown
  headers: Record<string, string | string[] | undefined>
  apiBase: string
  htmlBase: string
  user: UserInfo
  repo: RepoCtx
  svc: Services
}

export interface Route {
  method: string
  /** matched against the path after /repos/{owner}/{repo} for repo routes, the whole path otherwise */
  re: RegExp
  /** repository-scoped route (default true) */
  repo?: boolean
  /** needs git storage (default true for repo routes) */
  git?: boolean
  handler: (ctx: Ctx) => Promise<Reply>
}

export function numericId(key: string): number {
  return (parseInt(createHash('sha1').update(key).digest('hex').slice(0, 8), 16) % 900000000) + 1000
}

export function repoApi(ctx: Ctx): string {
  return `${ctx.apiBase}/repos/${ctx.repo.owner}/${ctx.repo.name}`
}

export function repoHtml(ctx: Ctx): string {
  return `${ctx.htmlBase}/${ctx.repo.owner}/${ctx.repo.name}`
}

export function git(ctx: Ctx): GitRepo {
  if (!ctx.repo.git) throw new HttpError(409, 'Git Repository is empty.')
  return ctx.repo.git
}

export function userJson(ctx: Ctx, login: string): Record<string, unknown> {
  const id = numericId(`user:${login}`)
  return {
    login,
    id,
    node_id: nodeId('User', id),
    avatar_url: `${ctx.htmlBase}/${encodeURIComponent(login)}.png`,
    gravatar_id: '',
    url: `${ctx.apiBase}/users/${encodeURIComponent(login)}`,
    html_url: `${ctx.htmlBase}/${encodeURIComponent(login)}`,
    ...userUrls(`${ctx.apiBase}/users/${encodeURIComponent(login)}`),
    type: login.endsWith('[bot]') ? 'Bot' : 'User',
    site_admin: false
  }
}

/** The API links GitHub's simple-user carries. */
function userUrls(user: string): Record<string, string> {
  return {
    events_url: `${user}/events{/privacy}`,
    followers_url: `${user}/followers`,
    following_url: `${user}/following{/other_user}`,
    gists_url: `${user}/gists{/gist_id}`,
    organizations_url: `${user}/orgs`,
    received_events_url: `${user}/received_events`,
    repos_url: `${user}/repos`,
    starred_url: `${user}/starred{/owner}{/repo}`,
    subscriptions_url: `${user}/subscriptions`
  }
}

/** The API links GitHub's repository objects carry (templated as GitHub spells them). */
function repoUrls(api: string): Record<string, string> {
  const links: Record<string, string> = {}
  for (const [name, suffix] of Object.entries({
    archive: '/{archive_format}{/ref}',
    assignees: '/assignees{/user}',
    blobs: '/git/blobs{/sha}',
    branches: '/branches{/branch}',
    collaborators: '/collaborators{/collaborator}',
    comments: '/comments{/number}',
    compare: '/compare/{base}...{head}',
    contributors: '/contributors',
    downloads: '/downloads',
    events: '/events',
    forks: '/forks',
    git_commits: '/git/commits{/sha}',
    git_tags: '/git/tags{/sha}',
    hooks: '/hooks',
    issue_comment: '/issues/comments{/number}',
    issue_events: '/issues/events{/number}',
    issues: '/issues{/number}',
    keys: '/keys{/key_id}',
    labels: '/labels{/name}',
    languages: '/languages',
    merges: '/merges',
    milestones: '/milestones{/number}',
    notifications: '/notifications{?since,all,participating}',
    releases: '/releases{/id}',
    stargazers: '/stargazers',
    statuses: '/statuses/{sha}',
    subscribers: '/subscribers',
    subscription: '/subscription',
    tags: '/tags',
    teams: '/teams',
    trees: '/git/trees{/sha}'
  })) {
    links[`${name}_url`] = `${api}${suffix}`
  }
  return links
}

export function defaultIdentity(user: UserInfo): { name: string; email: string } {
  return { name: user.name, email: user.email }
}

export function permissionsJson(perm: Permission): Record<string, boolean> {
  const rank = { none: 0, read: 1, write: 2, admin: 3 }[perm]
  return { admin: rank >= 3, maintain: rank >= 3, push: rank >= 2, triage: rank >= 2, pull: rank >= 1 }
}

export async function repoJson(ctx: Ctx): Promise<Record<string, unknown>> {
  const { owner, name, full } = ctx.repo
  const id = numericId(`repo:${full}`)
  const api = repoApi(ctx)
  const defaultBranch = ctx.repo.git ? await ctx.repo.git.defaultBranch() : 'main'
  return {
    id,
    node_id: nodeId('Repository', id),
    name,
    full_name: full,
    private: true,
    owner: userJson(ctx, owner),
    html_url: repoHtml(ctx),
    description: null,
    fork: false,
    url: api,
    git_refs_url: `${api}/git/refs{/sha}`,
    commits_url: `${api}/commits{/sha}`,
    pulls_url: `${api}/pulls{/number}`,
    deployments_url: `${api}/deployments`,
    contents_url: `${api}/contents/{+path}`,
    clone_url: `${repoHtml(ctx)}.git`,
    ...repoUrls(api),
    git_url: `git:${repoHtml(ctx).replace(/^https?:/, '')}.git`,
    ssh_url: `git@testbed:${full}.git`,
    svn_url: repoHtml(ctx),
    mirror_url: null,
    homepage: null,
    language: null,
    license: null,
    size: 0,
    forks: 0,
    forks_count: 0,
    stargazers_count: 0,
    watchers: 0,
    watchers_count: 0,
    open_issues: 0,
    open_issues_count: 0,
    network_count: 0,
    subscribers_count: 0,
    has_issues: true,
    has_projects: false,
    has_wiki: false,
    has_pages: false,
    has_downloads: false,
    has_discussions: false,
    archived: false,
    disabled: false,
    visibility: 'private',
    default_branch: defaultBranch,
    permissions: permissionsJson(ctx.repo.perm),
    allow_merge_commit: true,
    allow_squash_merge: true,
    allow_rebase_merge: true,
    created_at: '2024-01-01T00:00:00Z',
    updated_at: '2024-01-01T00:00:00Z',
    pushed_at: '2024-01-01T00:00:00Z'
  }
}

/** Git-data commit shape (GET/POST /git/commits). */
export function gitCommitJson(ctx: Ctx, c: ParsedCommit): Record<string, unknown> {
  const api = repoApi(ctx)
  return {
    sha: c.sha,
    node_id: nodeId('Commit', c.sha),
    url: `${api}/git/commits/${c.sha}`,
    html_url: `${repoHtml(ctx)}/commit/${c.sha}`,
    author: c.author,
    committer: c.committer,
    tree: { sha: c.tree, url: `${api}/git/trees/${c.tree}` },
    message: c.message,
    parents: c.parents.map(p => ({ sha: p, url: `${api}/git/commits/${p}`, html_url: `${repoHtml(ctx)}/commit/${p}` })),
    verification: {
      verified: false,
      reason: c.signature ? 'unknown_key' : 'unsigned',
      signature: c.signature,
      payload: null,
      verified_at: null
    }
  }
}

/** REST commit shape (GET /commits/{ref}, branches, compare). */
export function restCommitJson(
  ctx: Ctx,
  c: ParsedCommit,
  files?: Array<Record<string, unknown>>
): Record<string, unknown> {
  const api = repoApi(ctx)
  const out: Record<string, unknown> = {
    sha: c.sha,
    node_id: nodeId('Commit', c.sha),
    commit: {
      author: c.author,
      committer: c.committer,
      message: c.message,
      tree: { sha: c.tree, url: `${api}/git/trees/${c.tree}` },
      url: `${api}/git/commits/${c.sha}`,
      comment_count: 0,
      verification: { verified: false, reason: 'unsigned', signature: null, payload: null, verified_at: null }
    },
    url: `${api}/commits/${c.sha}`,
    html_url: `${repoHtml(ctx)}/commit/${c.sha}`,
    comments_url: `${api}/commits/${c.sha}/comments`,
    author: null,
    committer: null,
    parents: c.parents.map(p => ({ sha: p, url: `${api}/commits/${p}`, html_url: `${repoHtml(ctx)}/commit/${p}` }))
  }
  if (files) {
    const additions = files.reduce((n, f) => n + Number(f.additions), 0)
    const deletions = files.reduce((n, f) => n + Number(f.deletions), 0)
    out.stats = { total: additions + deletions, additions, deletions }
    out.files = files
  }
  return out
}

export async function commitFiles(ctx: Ctx, from: string | null, to: string): Promise<Array<Record<string, unknown>>> {
  const files = await git(ctx).diffFiles(from, to)
  return files.map(f => ({
    sha: f.sha,
    filename: f.filename,
    status: f.status,
    additions: f.additions,
    deletions: f.deletions,
    changes: f.additions + f.deletions,
    blob_url: `${repoHtml(ctx)}/blob/${to}/${f.filename}`,
    raw_url: `${repoHtml(ctx)}/raw/${to}/${f.filename}`,
    contents_url: `${repoApi(ctx)}/contents/${f.filename}?ref=${to}`
  }))
}

export function requireString(body: unknown, field: string): string {
  const v = (body as Record<string, unknown>)[field]
  if (typeof v !== 'string' || v === '') throw new HttpError(422, `Invalid request.\n\n"${field}" wasn't supplied.`)
  return v
}
