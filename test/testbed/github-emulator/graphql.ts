// POST /graphql: GitHub's GraphQL API for what the action uses (repository, refs, commits, trees,
// blobs, and the createCommitOnBranch mutation), executed by the `graphql` reference implementation
// against GitHub's published schema (@octokit/graphql-schema). A document or variables that do not fit
// that schema are kept as misfits (GET /_testbed/openapi), which fail the integration tests, and are
// answered with the errors, as GitHub would.
import { readFileSync } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { buildSchema, execute, GraphQLError, parse, validate, type GraphQLSchema } from 'graphql'
import { defaultIdentity, numericId, type Ctx } from './context.ts'
import { isSha, type TreeChange } from './git.ts'
import { decodeBase64Strict, HttpError, isObject, type Reply } from './http.ts'
import type { Misfit } from './openapi.ts'
import { checkQuirkPermissions, checkRules } from './quirks.ts'
import { createCommitObject } from './routes-git.ts'

/** The repository a GraphQL field names, as the REST routes see it; null when the token may not see it. */
export type OpenRepo = (owner: string, name: string) => Promise<Ctx | null>

type Record_ = Record<string, unknown>

/** A resolver's error in GitHub's shape: `type` (NOT_FOUND, FORBIDDEN, STALE_DATA, UNPROCESSABLE) beside the message. */
function failure(type: string, message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { type } })
}

/** GitHub's answer to a mutation a quirk or permission refuses (REST 403/422 → GraphQL error types). */
function asGraphError(error: unknown): unknown {
  if (!(error instanceof HttpError)) return error
  const message = (error.body as { message?: string } | undefined)?.message ?? 'error'
  return failure(error.status === 403 ? 'FORBIDDEN' : error.status === 404 ? 'NOT_FOUND' : 'UNPROCESSABLE', message)
}

/** A resolver met the `graphqlRateLimited` quirk: the whole call answers GitHub's rate limit. */
class RateLimited extends Error {}

/** Throws `RateLimited` while the repository's `graphqlRateLimited` quirk has calls left. */
function checkRateLimit(ctx: Ctx): void {
  if (ctx.svc.quirks.takeGraphqlRateLimit(ctx.repo.full)) throw new RateLimited(ctx.user.login)
}

/** GitHub's primary GraphQL rate limit: 200, no data, RATE_LIMITED, nothing remaining until the reset. */
function rateLimitReply(login: string): Reply {
  const id = numericId(`user:${login}`)
  return {
    status: 200,
    body: { errors: [{ type: 'RATE_LIMITED', message: `API rate limit exceeded for user ID ${id}.` }] },
    headers: {
      'x-ratelimit-remaining': '0',
      'x-ratelimit-reset': String(Math.floor(Date.now() / 1000) + 1),
      'x-ratelimit-resource': 'graphql'
    }
  }
}

export class GraphQLEndpoint {
  private schema: GraphQLSchema | undefined
  private readonly misfit: (misfit: Omit<Misfit, 'id'>) => void

  constructor(misfit: (misfit: Omit<Misfit, 'id'>) => void) {
    this.misfit = misfit
  }

  /** Builds the schema (about a second) before the port opens. */
  warm(): void {
    this.published()
  }

  private published(): GraphQLSchema {
    if (!this.schema) {
      const index = fileURLToPath(import.meta.resolve('@octokit/graphql-schema'))
      // The published IDL defines a few fields twice; GitHub's own schema is taken as valid.
      this.schema = buildSchema(readFileSync(new URL('schema.graphql', `file://${index}`), 'utf8'), {
        assumeValidSDL: true
      })
    }
    return this.schema
  }

  async handle(body: unknown, open: OpenRepo, bot: boolean): Promise<Reply> {
    if (!isObject(body) || typeof body.query !== 'string') {
      this.misfit({ kind: 'request', method: 'POST', path: '/graphql', errors: ['no "query" string in the body'] })
      return {
        status: 400,
        body: { message: 'Problems parsing JSON', documentation_url: 'https://docs.github.com/graphql' }
      }
    }
    const variables = isObject(body.variables) ? body.variables : undefined
    let document
    try {
      document = parse(body.query)
    } catch (error) {
      return this.unfit([(error as Error).message])
    }
    const invalid = validate(this.published(), document)
    if (invalid.length > 0) return this.unfit(invalid.map(e => e.message))
    const result = await execute({
      schema: this.published(),
      document,
      variableValues: variables,
      operationName: typeof body.operationName === 'string' ? body.operationName : undefined,
      rootValue: { ...queryRoot(open), ...mutationRoot(open, bot) }
    })
    const limited = result.errors?.find(e => e.originalError instanceof RateLimited)
    if (limited) return rateLimitReply(limited.originalError!.message)
    // Errors without data are the request's (variables that do not fit), not a resolver's answer.
    if (result.data === undefined || result.data === null) {
      if (result.errors?.length) return this.unfit(result.errors.map(e => e.message))
    }
    const errors = result.errors?.map(e => {
      const type = (e.extensions as { type?: string } | undefined)?.type
      if (!type)
        process.stderr.write(`github-emulator: graphql ${e.message}\n${String(e.originalError?.stack ?? '')}\n`)
      return { type: type ?? 'INTERNAL', path: e.path, locations: e.locations, message: e.message }
    })
    return { status: 200, body: errors?.length ? { data: result.data, errors } : { data: result.data } }
  }

  private unfit(errors: string[]): Reply {
    this.misfit({ kind: 'request', method: 'POST', path: '/graphql', operation: 'GraphQL schema', errors })
    return { status: 200, body: { errors: errors.map(message => ({ message })) } }
  }
}

function queryRoot(open: OpenRepo): Record_ {
  return {
    repository: async ({ owner, name }: { owner: string; name: string }) => {
      const ctx = await open(owner, name)
      if (!ctx) throw failure('NOT_FOUND', `Could not resolve to a Repository with the name '${owner}/${name}'.`)
      checkRateLimit(ctx)
      checkReadable(ctx)
      return repositoryObject(ctx)
    }
  }
}

function checkReadable(ctx: Ctx): void {
  try {
    checkQuirkPermissions(ctx.repo.quirks, 'GET', '/git/trees', {})
  } catch (error) {
    throw asGraphError(error)
  }
}

/** An empty repository (no git storage yet) has no default branch, refs or objects. */
function repositoryObject(ctx: Ctx): Record_ {
  const git = ctx.repo.git
  if (!git)
    return { __typename: 'Repository', nameWithOwner: ctx.repo.full, defaultBranchRef: null, ref: null, object: null }
  return {
    __typename: 'Repository',
    nameWithOwner: ctx.repo.full,
    defaultBranchRef: async () => {
      const branch = await git.defaultBranch()
      const sha = await git.readRef(`refs/heads/${branch}`)
      return sha ? refObject(ctx, `refs/heads/${branch}`, sha) : null
    },
    ref: async ({ qualifiedName }: { qualifiedName: string }) => {
      const ref = qualifiedName.startsWith('refs/') ? qualifiedName : `refs/heads/${qualifiedName}`
      const sha = await git.readRef(ref)
      return sha ? refObject(ctx, ref, sha) : null
    },
    object: async ({ oid, expression }: { oid?: string; expression?: string }) => {
      const sha = oid ?? (expression ? await git.resolveCommit(expression) : null)
      return sha && isSha(sha) ? gitObject(ctx, sha) : null
    }
  }
}

function refObject(ctx: Ctx, ref: string, sha: string): Record_ {
  const parts = ref.split('/')
  return {
    __typename: 'Ref',
    name: parts.slice(2).join('/'),
    prefix: `${parts.slice(0, 2).join('/')}/`,
    target: () => commitObject(ctx, sha)
  }
}

async function gitObject(ctx: Ctx, sha: string): Promise<Record_ | null> {
  const type = await ctx.repo.git!.objectType(sha)
  if (type === 'commit') return commitObject(ctx, sha)
  if (type === 'tree') return treeObject(ctx, sha)
  if (type === 'blob') return blobObject(ctx, sha)
  return null
}

function commitObject(ctx: Ctx, sha: string): Record_ {
  const git = ctx.repo.git!
  let parsed: ReturnType<typeof git.readCommit> | undefined
  const commit = async () => {
    parsed ??= git.readCommit(sha)
    const found = await parsed
    if (!found) throw failure('NOT_FOUND', `Could not resolve to a Commit with the oid '${sha}'.`)
    return found
  }
  return {
    __typename: 'Commit',
    oid: sha,
    abbreviatedOid: sha.slice(0, 7),
    url: `${ctx.htmlBase}/${ctx.repo.full}/commit/${sha}`,
    message: async () => (await commit()).message.replace(/\n+$/, ''),
    messageHeadline: async () => (await commit()).message.split('\n')[0],
    tree: async () => treeObject(ctx, (await commit()).tree),
    parents: async ({ first }: { first?: number }) => {
      const parents = (await commit()).parents
      const nodes = parents.slice(0, first ?? parents.length).map(p => commitObject(ctx, p))
      return { totalCount: parents.length, nodes }
    },
    file: async ({ path }: { path: string }) => {
      const entry = await git.entryAt(sha, path.replace(/\/+$/, ''))
      return entry && entry.path !== '' ? treeEntryObject(ctx, entry.path, entry.mode, entry.type, entry.sha) : null
    }
  }
}

function treeObject(ctx: Ctx, sha: string): Record_ {
  return {
    __typename: 'Tree',
    oid: sha,
    abbreviatedOid: sha.slice(0, 7),
    entries: async () =>
      (await ctx.repo.git!.lsTree(sha)).map(e => treeEntryObject(ctx, e.path, e.mode, e.type, e.sha, e.size))
  }
}

/** `path` is the entry's name inside its tree for `entries`, its full path for `file(path:)`. */
function treeEntryObject(ctx: Ctx, path: string, mode: string, type: string, sha: string, size?: number): Record_ {
  const name = path.split('/').pop()!
  return {
    __typename: 'TreeEntry',
    name,
    path,
    mode: parseInt(mode, 8),
    type,
    oid: sha,
    size: size ?? 0,
    isGenerated: false,
    // the type is known from the tree: no lookup per entry
    object: () => (type === 'blob' ? blobObject(ctx, sha) : type === 'tree' ? treeObject(ctx, sha) : null)
  }
}

async function blobObject(ctx: Ctx, sha: string): Promise<Record_> {
  const data = (await ctx.repo.git!.readObject(sha))?.data ?? Buffer.alloc(0)
  // GitHub's heuristic: a NUL byte makes a blob binary (no text).
  const binary = data.includes(0)
  return {
    __typename: 'Blob',
    oid: sha,
    abbreviatedOid: sha.slice(0, 7),
    byteSize: data.length,
    isBinary: binary,
    isTruncated: false,
    // Bytes that are not UTF-8 come out transcoded (replacement characters), as GitHub's do.
    text: binary ? null : new TextDecoder('utf-8', { ignoreBOM: true }).decode(data)
  }
}

interface CommitInput {
  branch: { repositoryNameWithOwner?: string; branchName?: string; id?: string }
  expectedHeadOid: string
  message: { headline: string; body?: string | null }
  fileChanges?: {
    additions?: Array<{ path: string; contents: string }> | null
    deletions?: Array<{ path: string }> | null
  } | null
}

function mutationRoot(open: OpenRepo, bot: boolean): Record_ {
  return {
    createCommitOnBranch: async ({ input }: { input: CommitInput }) => {
      const [owner, name] = (input.branch.repositoryNameWithOwner ?? '').split('/')
      const branch = input.branch.branchName
      if (!owner || !name || !branch) {
        throw failure('UNPROCESSABLE', 'The branch must be given by repositoryNameWithOwner and branchName.')
      }
      const ctx = await open(owner, name)
      if (!ctx?.repo.git)
        throw failure('NOT_FOUND', `Could not resolve to a Repository with the name '${owner}/${name}'.`)
      checkRateLimit(ctx)
      const additions = input.fileChanges?.additions ?? []
      const deletions = input.fileChanges?.deletions ?? []
      try {
        if (ctx.repo.perm === 'read') throw new HttpError(403, 'Resource not accessible by integration')
        // Workflow files need the workflows permission, as on REST.
        checkQuirkPermissions(ctx.repo.quirks, 'POST', '/git/trees', {
          tree: [...additions, ...deletions].map(change => ({ path: change.path }))
        })
      } catch (error) {
        throw asGraphError(error)
      }
      return commitOnBranch(ctx, `refs/heads/${branch}`, input, bot)
    }
  }
}

/**
 * The commit on top of `expectedHeadOid`, authored by the token's user with GitHub as committer (as on
 * the web), signed by GitHub when the token is a GitHub App's (a bot): only those meet a signed-commits
 * rule. A head that is not `expectedHeadOid`, before or during the swap, answers STALE_DATA.
 */
async function commitOnBranch(ctx: Ctx, ref: string, input: CommitInput, bot: boolean): Promise<Record_> {
  const git = ctx.repo.git!
  const quirks = ctx.repo.quirks
  const head = await git.readRef(ref)
  if (head === null) throw failure('NOT_FOUND', `A ref named "${ref}" does not exist.`)
  const stale = failure(
    'STALE_DATA',
    `Expected branch to point to "${input.expectedHeadOid}" but it did not.  Pull and try again.`
  )
  if (head !== input.expectedHeadOid) throw stale
  try {
    checkRules(quirks, ref, { signed: bot })
  } catch (error) {
    throw asGraphError(error)
  }
  const base = (await git.readCommit(head))!
  const changes: TreeChange[] = []
  const additions = input.fileChanges?.additions ?? []
  const modes = new Map(
    additions.length > 0
      ? (await git.lsTree(head, { recursive: true })).map(e => [e.path, e.type === 'blob' ? e.mode : ''])
      : []
  )
  for (const addition of additions) {
    let bytes: Buffer
    try {
      bytes = decodeBase64Strict(addition.contents)
    } catch {
      throw failure('UNPROCESSABLE', `The contents of ${addition.path} are not valid Base64.`)
    }
    // an existing file keeps its mode (an executable stays one)
    const mode = modes.get(addition.path) || '100644'
    changes.push({ path: addition.path, mode, type: 'blob', sha: await git.hashBlob(bytes) })
  }
  for (const deletion of input.fileChanges?.deletions ?? []) {
    changes.push({ path: deletion.path, mode: '100644', type: 'blob', sha: null })
  }
  const tree = await ctx.svc.withRepoLock(ctx.repo.full, () => git.buildTree(base.tree, changes))
  const { headline, body } = input.message
  const message = body ? `${headline}\n\n${body}` : headline
  const now = new Date().toISOString()
  const sha = await createCommitObject(
    ctx,
    tree,
    [head],
    message,
    { ...defaultIdentity(ctx.user), date: now },
    {
      name: 'GitHub',
      email: 'noreply@github.com',
      date: now
    }
  )
  if (quirks.refRaces?.windowMs) await sleep(quirks.refRaces.windowMs)
  // GitHub does not retry a lost swap for the caller.
  if (!(await git.casRef(ref, sha, head, `createCommitOnBranch by ${ctx.user.login}`))) throw stale
  return { commit: commitObject(ctx, sha), ref: refObject(ctx, ref, sha) }
}
