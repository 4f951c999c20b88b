import { existsSync, statSync } from 'node:fs'
import path from 'node:path'
import { INPUTS, type InputName } from './inputs.js'
import { parseDuration } from './duration.js'
import { type RunContext } from './context.js'
import { decodeKubeconfig, kubeconfigSecrets } from './kubeconfig.js'
import { type ApplyPolicy, KIND_PATTERN, NAMESPACE_PATTERN } from './apply-policy.js'
import { ProblemsError } from '../lib/problems.js'
import { ImageReferenceError, isValidTag, parseImageRepository, type ImageRepository } from '../image/reference.js'

export type Builder = 'auto' | 'docker' | 'buildah' | 'podman'
export type CommitMode = 'push' | 'pull-request'
export type Pin = 'tag' | 'digest' | 'tag+digest'
export type Mode = 'deploy' | 'reconcile'
export type DriftPolicy = 'warn' | 'fail' | 'ignore'

export interface BuildConfig {
  enabled: boolean
  context: string
  dockerfile: string
  buildArgs: Array<[string, string]>
  target?: string
  platforms: string[]
  labels: Array<[string, string]>
  builder: Builder
}

export interface RegistryConfig {
  username?: string
  password?: string
  insecure: boolean
}

export interface EnvRepoConfig {
  owner: string
  repo: string
  /** Undefined: the repository's default branch. */
  branch?: string
  paths: string[]
  token: string
  commitMode: CommitMode
  commitMessage?: string
  pin: Pin
}

export type KubeAuth = 'kubeconfig' | 'github-oidc'

export interface KubeConfigInput {
  apply: boolean
  auth: KubeAuth
  /** Kubeconfig YAML (decoded when base64 was given); absent when apply is false or auth is github-oidc. */
  kubeconfig?: string
  /** github-oidc: the apiserver URL, its CA (PEM; absent: the system's trust) and the token audience. */
  server?: string
  caPem?: string
  audience: string
  context?: string
  namespace?: string
  /** One budget for the lock wait, the apply and the rollout. */
  timeoutMs: number
  /** The rollback's own budget. */
  rollbackTimeoutMs: number
  /** Restarts a new pod may have before its crash loop fails the rollout. */
  failuresAllowed: number
  rollback: boolean
  fieldManager: string
  /** Delete inventory members Git no longer has, after a successful rollout. */
  prune: boolean
  drift: DriftPolicy
  policy: ApplyPolicy
  /** `kube-as` / `kube-as-groups`: the identity every apiserver request impersonates. */
  impersonate?: { user: string; groups: string[] }
  /** Release name for charts whose chart file names none. */
  helmReleaseName?: string
}

export interface Config {
  /** `reconcile`: no build, no commit; apply env-path at the branch head. */
  mode: Mode
  /** The `image` input as given (the spelling written into the env repo); '' in reconcile mode without one. */
  image: string
  repository: ImageRepository
  tag: string
  build: BuildConfig
  registry: RegistryConfig
  env: EnvRepoConfig
  kube: KubeConfigInput
  dryRun: boolean
  environment?: string
  environmentUrl?: string
  /** `production_environment` of the GitHub Deployment. */
  productionEnvironment: boolean
  githubToken?: string
  githubApiUrl: string
  context: RunContext
}

/** A cluster to talk to was given: a kubeconfig, or kube-auth github-oidc with its kube-server. */
export function clusterGiven(kube: KubeConfigInput): boolean {
  return kube.auth === 'github-oidc' ? Boolean(kube.server) : Boolean(kube.kubeconfig)
}

/** Every problem found in the inputs, each naming its input. */
export class ConfigError extends ProblemsError {}

export type RawInputs = Partial<Record<InputName, string>>

/** The secret values among raw inputs, to be masked before anything is logged. */
export function secretValues(raw: RawInputs): string[] {
  const values: string[] = []
  for (const spec of INPUTS) {
    const value = raw[spec.name]?.trim()
    if (!spec.secret || !value) continue
    // A kubeconfig is mostly public structure: mask the credentials inside it, not every line.
    if (spec.name === 'kubeconfig') values.push(...kubeconfigSecrets(value))
    else values.push(value)
  }
  return values
}

// Defaults written as workflow expressions (`${{ github.token }}`) are filled in by the
// runner; outside Actions they come from the run context instead.
const LITERAL_DEFAULTS = new Map(
  INPUTS.flatMap(spec =>
    spec.default === undefined || spec.default.startsWith('${{') ? [] : [[spec.name, spec.default] as const]
  )
)
const BOOLEAN_TRUE = ['true', 'True', 'TRUE']
const BOOLEAN_FALSE = ['false', 'False', 'FALSE']
const PLATFORM = /^[a-z0-9]+\/[a-z0-9_]+(?:\/[a-z0-9]+)?$/
// GitHub's characters: owners are letters, digits and hyphens (underscores for managed users),
// repositories add dots but are never `.` or `..` (`../user` would reach `GET /user`).
const GITHUB_OWNER = /^[A-Za-z0-9][A-Za-z0-9_-]{0,38}$/
const GITHUB_REPO = /^(?!\.{1,2}$)[A-Za-z0-9_.-]{1,100}$/
const MAX_INPUT_BYTES = 64 * 1024
const MAX_TIMEOUT_MS = 24 * 60 * 60 * 1000
const IDENTITY = /^[\x20-\x7e]{1,256}$/
const ENV_KEY = /^[A-Za-z_][A-Za-z0-9_.-]*$/
const LABEL_KEY = /^[A-Za-z0-9][A-Za-z0-9._/-]*$/
const FIELD_MANAGER = /^[\x21-\x7e]{1,128}$/

/**
 * Turns raw input strings into one validated, typed config. Collects every problem
 * before failing so a user fixes a workflow in one go.
 */
export function parseConfig(raw: RawInputs, context: RunContext): Config {
  const problems: string[] = []
  // Anything bigger is a mistake or an attack; never echoed (the kubeconfig may carry a bundle).
  const oversized = new Set(
    INPUTS.filter(spec => spec.name !== 'kubeconfig' && Buffer.byteLength(raw[spec.name] ?? '') > MAX_INPUT_BYTES).map(
      spec => spec.name
    )
  )
  for (const name of oversized) problems.push(`input "${name}": is larger than 64 KiB (${MAX_INPUT_BYTES} bytes)`)
  const problem = (name: InputName, value: string | undefined, what: string): void => {
    // An oversized input reads as empty below; its one problem is that it is too large.
    if (oversized.has(name)) return
    const shown = value === undefined || isSecret(name) ? '' : ` ${JSON.stringify(value)}`
    problems.push(`input "${name}":${shown} ${what}`)
  }
  const get = (name: InputName): string =>
    (oversized.has(name) ? '' : raw[name]?.trim()) || LITERAL_DEFAULTS.get(name) || ''
  const optional = (name: InputName): string | undefined => get(name) || undefined
  const required = (name: InputName): string => {
    const value = get(name)
    if (value === '') problem(name, undefined, 'is required')
    return value
  }
  const bool = (name: InputName): boolean => {
    const value = get(name)
    if (BOOLEAN_TRUE.includes(value)) return true
    if (BOOLEAN_FALSE.includes(value)) return false
    problem(name, value, 'is not a boolean (true or false)')
    return false
  }
  const oneOf = <T extends string>(name: InputName, allowed: readonly T[]): T => {
    const value = get(name)
    if ((allowed as readonly string[]).includes(value)) return value as T
    problem(name, value, `must be one of ${allowed.join(', ')}`)
    return allowed[0]
  }
  const pairs = (name: InputName, keyPattern: RegExp): Array<[string, string]> => {
    const result: Array<[string, string]> = []
    for (const [index, line] of lines(get(name)).entries()) {
      const eq = line.indexOf('=')
      // Without `=` the key is empty, which no key pattern accepts.
      const key = line.slice(0, Math.max(eq, 0)).trim()
      if (!keyPattern.test(key)) {
        problems.push(`input "${name}": line ${index + 1} "${line}" is not KEY=VALUE`)
        continue
      }
      result.push([key, line.slice(eq + 1)])
    }
    return result
  }

  const mode = oneOf('mode', ['deploy', 'reconcile'] as const)
  const deploying = mode === 'deploy'

  // image
  const image = deploying ? required('image') : get('image')
  let repository: ImageRepository = { domain: '', path: '' }
  if (image) {
    try {
      repository = parseImageRepository(image)
    } catch (error) {
      if (!(error instanceof ImageReferenceError)) throw error
      problem('image', image, `is not a valid image repository: it ${error.message}`)
    }
  }

  // tag
  let tag = get('tag')
  if (tag === '') {
    if (context.sha) tag = context.sha.slice(0, 7)
    else if (deploying)
      problem('tag', undefined, 'is required when the source commit sha is unknown (no GITHUB_SHA, no git checkout)')
  } else if (!isValidTag(tag)) {
    problem('tag', tag, 'is not a valid tag (letters, digits, _ . -, at most 128, not starting with . or -)')
  }

  // build: never in reconcile mode
  const buildEnabled = bool('build') && deploying
  const buildContext = path.resolve(context.workspace, get('context'))
  // As in docker/build-push-action: a given dockerfile is relative to the workspace.
  const dockerfile = get('dockerfile')
    ? path.resolve(context.workspace, get('dockerfile'))
    : path.join(buildContext, 'Dockerfile')
  if (buildEnabled && !isDirectory(buildContext)) {
    problem('context', get('context'), `is not a directory (${buildContext})`)
  } else if (buildEnabled && !existsSync(dockerfile)) {
    problem('dockerfile', get('dockerfile') || undefined, `does not exist (${dockerfile})`)
  }
  const platforms = get('platforms')
    .split(/[,\n]/)
    .map(p => p.trim())
    .filter(Boolean)
  for (const platform of platforms) {
    if (!PLATFORM.test(platform))
      problem('platforms', platform, 'is not a platform (os/arch[/variant], e.g. linux/amd64)')
  }
  const build: BuildConfig = {
    enabled: buildEnabled,
    context: buildContext,
    dockerfile,
    buildArgs: pairs('build-args', ENV_KEY),
    target: optional('target'),
    platforms,
    labels: pairs('labels', LABEL_KEY),
    builder: oneOf('builder', ['auto', 'docker', 'buildah', 'podman'] as const)
  }

  // registry
  const registry: RegistryConfig = {
    username: optional('registry-username'),
    password: optional('registry-password'),
    insecure: bool('registry-insecure')
  }
  if (registry.password && !registry.username)
    problem('registry-username', undefined, 'is required with registry-password')
  if (registry.username && !registry.password)
    problem('registry-password', undefined, 'is required with registry-username')

  // env repo
  const envRepo = required('env-repo')
  const [owner, repo = '', ...extra] = envRepo.split('/')
  if (envRepo && (extra.length > 0 || !GITHUB_OWNER.test(owner) || !GITHUB_REPO.test(repo))) {
    problem('env-repo', envRepo, "is not owner/name of GitHub's characters (letters, digits, - _ and . in the name)")
  }
  const paths = lines(required('env-path')).map(p => p.replace(/^\.\//, '').replace(/\/+$/, ''))
  for (const p of paths) {
    if (p.startsWith('/') || p.split('/').includes('..')) {
      problem('env-path', p, 'must be a path relative to the env repo root, without ..')
    }
  }
  const env: EnvRepoConfig = {
    owner,
    repo,
    branch: optional('env-branch'),
    paths: paths.map(p => (p === '' ? '.' : p)),
    token: required('env-token'),
    commitMode: oneOf('commit-mode', ['push', 'pull-request'] as const),
    commitMessage: optional('commit-message'),
    pin: oneOf('pin', ['tag', 'digest', 'tag+digest'] as const)
  }

  // kube
  const apply = bool('apply')
  const dryRun = bool('dry-run')
  let kubeconfig: string | undefined
  const kubeconfigInput = get('kubeconfig')
  const needsCluster = (apply && env.commitMode === 'push') || !deploying
  const auth = oneOf('kube-auth', ['kubeconfig', 'github-oidc'] as const)
  const server = optional('kube-server')
  const caInput = optional('kube-ca')
  let caPem: string | undefined
  if (auth === 'github-oidc') {
    if (kubeconfigInput) problem('kube-auth', auth, 'excludes the kubeconfig input: give one of them')
    if (!server && needsCluster) problem('kube-server', undefined, 'is required with kube-auth github-oidc')
    if (server && !/^https:\/\/[^/\s]/.test(server)) problem('kube-server', server, 'is not an https:// URL')
    if (caInput) {
      caPem = decodePem(caInput)
      if (caPem === undefined) problem('kube-ca', undefined, 'is neither a PEM certificate nor base64 of one')
    }
  } else {
    if (server) problem('kube-server', server, 'is used only with kube-auth github-oidc')
    if (caInput) problem('kube-ca', undefined, 'is used only with kube-auth github-oidc')
    if (kubeconfigInput) {
      kubeconfig = decodeKubeconfig(kubeconfigInput)
      if (kubeconfig === undefined) problem('kubeconfig', undefined, 'is neither kubeconfig YAML nor base64 of it')
    } else if (needsCluster) {
      problem(
        'kubeconfig',
        undefined,
        deploying ? 'is required unless apply is false or kube-auth is github-oidc' : 'is required in mode reconcile'
      )
    }
  }
  if (!deploying && !apply) problem('apply', 'false', 'cannot be false in mode reconcile (reconcile applies)')
  const duration = (name: InputName): number => {
    try {
      return parseDuration(get(name))
    } catch (error) {
      problem(name, get(name), (error as Error).message)
      return 0
    }
  }
  const timeoutMs = duration('timeout')
  const rollbackTimeoutMs = get('rollback-timeout') ? duration('rollback-timeout') : timeoutMs
  // Node timers overflow past 2^31 ms (24.8 days) and fire at once: cap well below.
  if (timeoutMs > MAX_TIMEOUT_MS) problem('timeout', get('timeout'), 'is longer than 24h')
  if (get('rollback-timeout') && rollbackTimeoutMs > MAX_TIMEOUT_MS)
    problem('rollback-timeout', get('rollback-timeout'), 'is longer than 24h')
  const failuresAllowedInput = get('failures-allowed')
  if (!/^\d{1,4}$/.test(failuresAllowedInput)) {
    problem('failures-allowed', failuresAllowedInput, 'must be a whole number from 0 to 9999')
  }
  const fieldManager = get('field-manager')
  if (!FIELD_MANAGER.test(fieldManager)) problem('field-manager', fieldManager, 'must be 1 to 128 printable characters')
  const patterns = (name: InputName, pattern: RegExp, what: string): string[] => {
    const values = lines(get(name))
    for (const value of values) if (!pattern.test(value)) problem(name, value, `is not ${what}`)
    return values
  }
  const kindPatterns = (name: InputName): string[] =>
    patterns(name, KIND_PATTERN, 'a kind (`Kind` or `group/Kind`, `*` globs)')
  const policy: ApplyPolicy = {
    namespace: optional('namespace'),
    allowedNamespaces: patterns('allowed-namespaces', NAMESPACE_PATTERN, 'a namespace name or glob'),
    allowClusterScoped: bool('allow-cluster-scoped'),
    allowedKinds: kindPatterns('allowed-kinds'),
    deniedKinds: kindPatterns('denied-kinds'),
    kustomizeRemote: bool('kustomize-remote')
  }
  const kubeAs = optional('kube-as')
  const kubeAsGroups = lines(get('kube-as-groups'))
  if (kubeAs !== undefined && !IDENTITY.test(kubeAs))
    problem('kube-as', kubeAs, 'must be 1 to 256 printable characters')
  for (const group of kubeAsGroups) {
    if (!IDENTITY.test(group)) problem('kube-as-groups', group, 'must be 1 to 256 printable characters')
  }
  if (kubeAsGroups.length > 0 && kubeAs === undefined) problem('kube-as-groups', undefined, 'needs kube-as')
  const kube: KubeConfigInput = {
    apply,
    auth,
    kubeconfig,
    // With kube-auth kubeconfig a kube-server is refused above.
    server: server?.replace(/\/+$/, ''),
    caPem,
    audience: get('kube-audience'),
    context: optional('kube-context'),
    namespace: optional('namespace'),
    timeoutMs,
    rollbackTimeoutMs,
    failuresAllowed: Number(failuresAllowedInput),
    rollback: bool('rollback'),
    fieldManager,
    prune: bool('prune'),
    drift: oneOf('drift', ['warn', 'fail', 'ignore'] as const),
    policy,
    impersonate: kubeAs === undefined ? undefined : { user: kubeAs, groups: kubeAsGroups },
    helmReleaseName: optional('helm-release-name')
  }
  if (kube.namespace && !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(kube.namespace)) {
    problem('namespace', kube.namespace, 'is not a valid namespace name')
  }

  // Helm's rule for release names: a DNS-1123 subdomain of at most 53 characters.
  if (
    kube.helmReleaseName &&
    !(
      kube.helmReleaseName.length <= 53 &&
      /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(kube.helmReleaseName)
    )
  ) {
    problem(
      'helm-release-name',
      kube.helmReleaseName,
      'is not a valid Helm release name (lowercase DNS name, at most 53 characters)'
    )
  }

  // GitHub
  const githubApiUrl = get('github-api-url') || context.apiUrl
  if (!isHttpUrl(githubApiUrl))
    problem('github-api-url', githubApiUrl.includes('@') ? undefined : githubApiUrl, 'is not an http(s) URL')
  else if (hasCredentials(githubApiUrl)) {
    // Shown without the URL: it holds a password. The token goes in github-token / env-token.
    problem('github-api-url', undefined, 'must not carry user:password@ credentials (use env-token and github-token)')
  }
  const environmentUrl = optional('environment-url')
  if (environmentUrl && !isHttpUrl(environmentUrl)) problem('environment-url', environmentUrl, 'is not an http(s) URL')

  const environment = optional('environment')
  const productionEnvironment = get('production-environment')
    ? bool('production-environment')
    : /^(?:production|prod)$/i.test(environment ?? '')

  if (problems.length > 0) throw new ConfigError(problems)
  return {
    mode,
    image,
    repository,
    tag,
    build,
    registry,
    env,
    kube,
    dryRun,
    environment,
    environmentUrl,
    productionEnvironment,
    githubToken: optional('github-token'),
    githubApiUrl: githubApiUrl.replace(/\/+$/, ''),
    context
  }
}

function isSecret(name: InputName): boolean {
  return INPUTS.some(spec => spec.name === name && spec.secret)
}

function lines(value: string): string[] {
  return value
    .split(/\r?\n/)
    .map(line => line.trim())
    .filter(line => line !== '' && !line.startsWith('#'))
}

function isDirectory(p: string): boolean {
  try {
    return statSync(p).isDirectory()
  } catch {
    return false
  }
}

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value)
    return url.protocol === 'http:' || url.protocol === 'https:'
  } catch {
    return false
  }
}

function hasCredentials(value: string): boolean {
  const url = new URL(value)
  return url.username !== '' || url.password !== ''
}

/** A PEM certificate (bundle) as given, or decoded from base64; undefined when it is neither. */
function decodePem(input: string): string | undefined {
  const pem = /-----BEGIN CERTIFICATE-----/.test(input) ? input : Buffer.from(input, 'base64').toString('utf8')
  return /-----BEGIN CERTIFICATE-----[\s\S]+-----END CERTIFICATE-----/.test(pem) ? pem.trim() + '\n' : undefined
}
