// Deployments and deployment statuses. Work on git-backed repos and on repos configured without git.
import { createHash } from 'node:crypto'
import { repoApi, requireString, userJson, type Ctx, type Route } from './context.ts'
import { isSha } from './git.ts'
import { HttpError, isObject, isoNow, nodeId, notFound, paginate, validationFailed, type Reply } from './http.ts'
import type { DeploymentRecord, DeploymentStatusRecord } from './state.ts'

const STATES = ['error', 'failure', 'inactive', 'in_progress', 'queued', 'pending', 'success']

function state(ctx: Ctx) {
  return ctx.svc.state.get(ctx.repo.owner, ctx.repo.name)
}

function deploymentJson(ctx: Ctx, d: DeploymentRecord): Record<string, unknown> {
  const url = `${repoApi(ctx)}/deployments/${d.id}`
  return {
    url,
    id: d.id,
    node_id: nodeId('Deployment', d.id),
    sha: d.sha,
    ref: d.ref,
    task: d.task,
    payload: d.payload,
    original_environment: d.original_environment,
    environment: d.environment,
    description: d.description,
    creator: userJson(ctx, d.creator),
    created_at: d.created_at,
    updated_at: d.updated_at,
    statuses_url: `${url}/statuses`,
    repository_url: repoApi(ctx),
    transient_environment: d.transient_environment,
    production_environment: d.production_environment,
    performed_via_github_app: null
  }
}

function statusJson(ctx: Ctx, d: DeploymentRecord, s: DeploymentStatusRecord): Record<string, unknown> {
  const durl = `${repoApi(ctx)}/deployments/${d.id}`
  return {
    url: `${durl}/statuses/${s.id}`,
    id: s.id,
    node_id: nodeId('DeploymentStatus', s.id),
    state: s.state,
    creator: userJson(ctx, s.creator),
    description: s.description,
    environment: s.environment,
    target_url: s.target_url,
    log_url: s.log_url,
    environment_url: s.environment_url,
    created_at: s.created_at,
    updated_at: s.updated_at,
    deployment_url: durl,
    repository_url: repoApi(ctx),
    performed_via_github_app: null
  }
}

function findDeployment(ctx: Ctx): DeploymentRecord {
  const id = Number(ctx.params[0])
  const d = state(ctx).deployments.find(x => x.id === id)
  if (!d) throw notFound()
  return d
}

async function createDeployment(ctx: Ctx): Promise<Reply> {
  if (!isObject(ctx.body)) throw new HttpError(400, 'Problems parsing JSON')
  const b = ctx.body
  const ref = requireString(b, 'ref')
  let sha: string
  if (ctx.repo.git) {
    const resolved = await ctx.repo.git.resolveCommit(ref)
    if (!resolved) throw new HttpError(422, `No ref found for: ${ref}`)
    sha = resolved
  } else {
    sha = isSha(ref) ? ref : createHash('sha1').update(ref).digest('hex')
  }
  let payload: unknown = b.payload ?? {}
  if (typeof payload === 'string') {
    try {
      payload = payload === '' ? {} : JSON.parse(payload)
    } catch {
      /* GitHub keeps non-JSON string payloads as they are */
    }
  }
  const environment = typeof b.environment === 'string' && b.environment ? b.environment : 'production'
  const now = isoNow()
  const d: DeploymentRecord = {
    id: ctx.svc.state.id(),
    sha,
    ref,
    task: typeof b.task === 'string' && b.task ? b.task : 'deploy',
    payload,
    environment,
    original_environment: environment,
    description: typeof b.description === 'string' ? b.description : null,
    creator: ctx.user.login,
    created_at: now,
    updated_at: now,
    transient_environment: b.transient_environment === true,
    production_environment:
      typeof b.production_environment === 'boolean' ? b.production_environment : environment === 'production',
    statuses: []
  }
  state(ctx).deployments.push(d)
  ctx.svc.state.save(ctx.repo.owner, ctx.repo.name)
  const body = deploymentJson(ctx, d)
  return { status: 201, body, headers: { location: String(body.url) } }
}

async function listDeployments(ctx: Ctx): Promise<Reply> {
  const q = ctx.query
  let list = [...state(ctx).deployments].reverse()
  for (const key of ['sha', 'ref', 'task', 'environment'] as const) {
    const v = q.get(key)
    if (v) list = list.filter(d => d[key] === v)
  }
  const { page, headers } = paginate(list, q, `${repoApi(ctx)}/deployments`)
  return { status: 200, body: page.map(d => deploymentJson(ctx, d)), headers }
}

async function getDeployment(ctx: Ctx): Promise<Reply> {
  return { status: 200, body: deploymentJson(ctx, findDeployment(ctx)) }
}

async function deleteDeployment(ctx: Ctx): Promise<Reply> {
  const d = findDeployment(ctx)
  const st = state(ctx)
  const last = d.statuses[d.statuses.length - 1]
  const sameEnv = st.deployments.filter(x => x.environment === d.environment)
  if (last && last.state === 'success' && sameEnv.length > 1) {
    throw new HttpError(
      422,
      'We cannot delete an active deployment unless it is the only deployment in a given environment.'
    )
  }
  st.deployments = st.deployments.filter(x => x !== d)
  ctx.svc.state.save(ctx.repo.owner, ctx.repo.name)
  return { status: 204 }
}

async function createStatus(ctx: Ctx): Promise<Reply> {
  if (!isObject(ctx.body)) throw new HttpError(400, 'Problems parsing JSON')
  const b = ctx.body
  const d = findDeployment(ctx)
  const st = b.state
  if (typeof st !== 'string' || !STATES.includes(st)) {
    throw validationFailed([{ resource: 'DeploymentStatus', field: 'state', code: 'invalid' }])
  }
  const str = (v: unknown): string => (typeof v === 'string' ? v : '')
  const logUrl = str(b.log_url) || str(b.target_url)
  if (typeof b.environment === 'string' && b.environment) d.environment = b.environment
  const now = isoNow()
  const s: DeploymentStatusRecord = {
    id: ctx.svc.state.id(),
    state: st,
    description: str(b.description).slice(0, 140),
    environment: d.environment,
    target_url: logUrl,
    log_url: logUrl,
    environment_url: str(b.environment_url),
    creator: ctx.user.login,
    created_at: now,
    updated_at: now
  }
  d.statuses.push(s)
  d.updated_at = now
  // auto_inactive (default true): a success makes earlier successful deployments of the environment inactive
  if (st === 'success' && b.auto_inactive !== false) {
    for (const other of state(ctx).deployments) {
      if (other === d || other.environment !== d.environment || other.transient_environment) continue
      const last = other.statuses[other.statuses.length - 1]
      if (last && last.state === 'success') {
        other.statuses.push({
          ...last,
          id: ctx.svc.state.id(),
          state: 'inactive',
          description: '',
          created_at: now,
          updated_at: now
        })
        other.updated_at = now
      }
    }
  }
  ctx.svc.state.save(ctx.repo.owner, ctx.repo.name)
  const body = statusJson(ctx, d, s)
  return { status: 201, body, headers: { location: String(body.url) } }
}

async function listStatuses(ctx: Ctx): Promise<Reply> {
  const d = findDeployment(ctx)
  const { page, headers } = paginate(
    [...d.statuses].reverse(),
    ctx.query,
    `${repoApi(ctx)}/deployments/${d.id}/statuses`
  )
  return { status: 200, body: page.map(s => statusJson(ctx, d, s)), headers }
}

async function getStatus(ctx: Ctx): Promise<Reply> {
  const d = findDeployment(ctx)
  const s = d.statuses.find(x => x.id === Number(ctx.params[1]))
  if (!s) throw notFound()
  return { status: 200, body: statusJson(ctx, d, s) }
}

export const deploymentRoutes: Route[] = [
  { method: 'POST', re: /^\/deployments$/, git: false, handler: createDeployment },
  { method: 'GET', re: /^\/deployments$/, git: false, handler: listDeployments },
  { method: 'GET', re: /^\/deployments\/(\d+)$/, git: false, handler: getDeployment },
  { method: 'DELETE', re: /^\/deployments\/(\d+)$/, git: false, handler: deleteDeployment },
  { method: 'POST', re: /^\/deployments\/(\d+)\/statuses$/, git: false, handler: createStatus },
  { method: 'GET', re: /^\/deployments\/(\d+)\/statuses$/, git: false, handler: listStatuses },
  { method: 'GET', re: /^\/deployments\/(\d+)\/statuses\/(\d+)$/, git: false, handler: getStatus }
]
