// The apply policy: what the env repo may make this deploy touch. Whoever can write to the env
// repo otherwise gets every right of the kubeconfig that deploys from it. Checked on the rendered
// objects before the dry run, the commit, the apply and a rollback; pure, so one table of tests
// pins every rule.
import path from 'node:path'
import { parseAllDocuments } from 'yaml'
import { type ApplyPolicy } from '../config/apply-policy.js'
import { kustomizationFieldValues } from '../lib/descriptors.js'
import { ProblemsError } from '../lib/problems.js'
import { type EnvFile, type Refusal } from './types.js'

export { type ApplyPolicy, KIND_PATTERN, NAMESPACE_PATTERN } from '../config/apply-policy.js'
export type { Refusal } from './types.js'

/** An object as the policy sees it: rendered, its scope known from discovery. */
export interface PolicyObject {
  apiVersion: string
  kind: string
  name: string
  /** Where it goes (its own or the default namespace); absent when cluster-scoped. */
  namespace?: string
  namespaced: boolean
  /** `apps/web/deploy.yaml (document 2)`. */
  source: string
}

/** The policy refused objects or kustomize references; nothing was committed or applied. */
export class PolicyError extends ProblemsError {
  constructor(readonly refusals: Refusal[]) {
    const problems = refusals.map(refusalLine)
    super(
      problems,
      `the apply policy refused ${refusals.length} item(s); nothing was committed or applied:\n${problems.join('\n')}`
    )
  }
}

export function refusalLine(refusal: Refusal): string {
  const source = refusal.source ? ` (${refusal.source})` : ''
  const allow = refusal.allowWith.length > 0 ? `; allow with ${refusal.allowWith.join(', or ')}` : ''
  return `${refusal.subject}${source}: ${refusal.reasons.join('; ')}${allow}`
}

/** Cluster-scoped kinds every deploy may create: where the namespaced objects live, and their types. */
const FOUNDATION = ['/Namespace', 'apiextensions.k8s.io/CustomResourceDefinition']

/** `*` matches any run of characters; everything else literally, case-insensitively. */
export function globMatch(pattern: string, value: string): boolean {
  const source = pattern
    .split('*')
    .map(part => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*')
  return new RegExp(`^${source}$`, 'i').test(value)
}

function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf('/')
  return slash < 0 ? '' : apiVersion.slice(0, slash)
}

/** `Kind` matches that kind in any group; `group/Kind` in that group (`core/` or `/` is the core group). */
export function kindMatches(pattern: string, group: string, kind: string): boolean {
  const slash = pattern.lastIndexOf('/')
  if (slash < 0) return globMatch(pattern, kind)
  const groupPattern = pattern.slice(0, slash)
  const wanted = groupPattern === 'core' ? '' : groupPattern
  return globMatch(wanted, group) && globMatch(pattern.slice(slash + 1), kind)
}

/** `apps/Deployment`, `core/Secret`: how an allow/deny line names this kind. */
function kindName(group: string, kind: string): string {
  return `${group || 'core'}/${kind}`
}

function describe(object: PolicyObject): string {
  return object.namespace ? `${object.kind} ${object.namespace}/${object.name}` : `${object.kind} ${object.name}`
}

/** Every object the policy refuses, each with all its reasons and what would allow it. */
export function objectRefusals(objects: PolicyObject[], policy: ApplyPolicy): Refusal[] {
  const refusals: Refusal[] = []
  const restrictNamespaces = policy.namespace !== undefined || policy.allowedNamespaces.length > 0
  const namespaceAllowed = (namespace: string): boolean =>
    namespace === policy.namespace || policy.allowedNamespaces.some(p => globMatch(p, namespace))
  for (const object of objects) {
    const group = groupOf(object.apiVersion)
    const name = kindName(group, object.kind)
    const reasons: string[] = []
    const allowWith: string[] = []
    const denied = policy.deniedKinds.find(p => kindMatches(p, group, object.kind))
    if (denied !== undefined) {
      reasons.push(`kind ${name} is denied by denied-kinds "${denied}"`)
      allowWith.push(`removing "${denied}" from denied-kinds`)
    }
    const foundation = FOUNDATION.some(p => kindMatches(p, group, object.kind))
    if (!object.namespaced && !foundation && !policy.allowClusterScoped) {
      if (!policy.allowedKinds.some(p => kindMatches(p, group, object.kind))) {
        reasons.push(`cluster-scoped kind ${name} is not allowed`)
        allowWith.push('allow-cluster-scoped: true', `allowed-kinds: ${name}`)
      }
    }
    // A Namespace object is checked like the namespace it is: applying `kube-system` with force
    // could relabel it (pod security) as surely as an object inside it.
    const namespace = object.kind === 'Namespace' && group === '' ? object.name : object.namespace
    if (restrictNamespaces && namespace !== undefined && !namespaceAllowed(namespace)) {
      reasons.push(
        policy.namespace !== undefined
          ? `namespace "${namespace}" is not the namespace input "${policy.namespace}"`
          : `namespace "${namespace}" is not in allowed-namespaces`
      )
      allowWith.push(`allowed-namespaces: ${namespace}`)
    }
    if (reasons.length > 0) refusals.push({ subject: describe(object), source: object.source, reasons, allowWith })
  }
  return refusals
}

// Kustomization fields that name other files or kustomizations, and how to read each.
// Field names are matched as kustomize matches them, in any case, nested ones too.
type Reader = (value: unknown) => unknown[]
const list: Reader = value => (Array.isArray(value) ? value : [])
const paths =
  (...keys: string[]): Reader =>
  value =>
    list(value).flatMap(entry =>
      entry && typeof entry === 'object'
        ? keys.flatMap(key =>
            kustomizationFieldValues(entry, key).flatMap(field => (Array.isArray(field) ? field : [field]))
          )
        : [entry]
    )
const generatorFiles: Reader = value =>
  paths(
    'files',
    'envs',
    'env'
  )(value).map(entry =>
    // `key=path` names the file after the `=` (without one, indexOf is -1 and the whole entry is the file)
    typeof entry === 'string' ? entry.slice(entry.indexOf('=') + 1) : entry
  )
const KUSTOMIZE_REFERENCES: Record<string, Reader> = {
  resources: list,
  bases: list,
  components: list,
  crds: list,
  generators: list,
  transformers: list,
  validators: list,
  configurations: list,
  patchesStrategicMerge: list,
  patches: paths('path'),
  patchesJson6902: paths('path'),
  replacements: paths('path'),
  configMapGenerator: generatorFiles,
  secretGenerator: generatorFiles,
  openapi: value => kustomizationFieldValues(value, 'path')
}

const SCHEME = /^[a-z][a-z0-9+.-]*:/i
const HOST_LIKE = /^[a-z0-9-]+(?:\.[a-z0-9-]+)+(?::\d+)?$/i

/**
 * Why a kustomization reference is not allowed, if it is not: remote (a URL, `git@…`, or a
 * `host.tld/…` path not present in the env repo) unless `remoteAllowed`; leaving the env repo
 * always. Kustomize's own load restrictor does not stop resources and bases from `../../..`.
 * (Helm charts need `--enable-helm`, which is never passed.)
 */
export function referenceProblem(
  dir: string,
  entry: string,
  remoteAllowed: boolean,
  exists: (repoPath: string) => boolean
): { reason: string; remote: boolean } | undefined {
  if (/^file:/i.test(entry)) return { reason: `"${entry}" reads the runner's disk`, remote: false }
  const remote =
    SCHEME.test(entry) ||
    entry.startsWith('git@') ||
    (HOST_LIKE.test(entry.split('/')[0]) && !exists(path.posix.join(dir, entry)))
  if (remote) return remoteAllowed ? undefined : { reason: `"${entry}" is remote`, remote: true }
  const resolved = path.posix.normalize(path.posix.join(dir, entry))
  if (path.posix.isAbsolute(entry) || resolved === '..' || resolved.startsWith('../')) {
    return { reason: `"${entry}" leaves the env repository`, remote: false }
  }
  return undefined
}

/** Every kustomization reference that is remote (unless allowed) or leaves the env repository. */
export function kustomizeRefusals(
  files: EnvFile[],
  remoteAllowed: boolean,
  isKustomization: (p: string) => boolean
): Refusal[] {
  const known = new Set(files.map(f => f.path))
  // Called with joined, hence normalized, paths: at most one trailing slash to drop.
  const exists = (repoPath: string): boolean => {
    const normalized = repoPath.replace(/\/$/, '')
    return known.has(normalized) || files.some(f => f.path.startsWith(`${normalized}/`))
  }
  const refusals: Refusal[] = []
  for (const file of files.filter(f => isKustomization(f.path))) {
    let value: unknown
    try {
      value = parseAllDocuments(file.content)[0].toJS()
    } catch {
      // empty (no document) or broken: kustomize reports a broken kustomization itself
    }
    const dir = path.posix.dirname(file.path)
    const reasons: string[] = []
    let remote = false
    for (const [field, read] of Object.entries(KUSTOMIZE_REFERENCES)) {
      for (const entry of kustomizationFieldValues(value, field).flatMap(read)) {
        // An empty entry names the kustomization's own directory: never remote, never outside.
        if (typeof entry !== 'string') continue
        const problem = referenceProblem(dir, entry, remoteAllowed, exists)
        if (!problem) continue
        reasons.push(`${field} ${problem.reason}`)
        remote ||= problem.remote
      }
    }
    if (reasons.length > 0) {
      refusals.push({ subject: file.path, reasons, allowWith: remote ? ['kustomize-remote: true (remote ones)'] : [] })
    }
  }
  return refusals
}
