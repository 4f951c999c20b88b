// The command lines of each builder, as pure functions of the request. Nothing here runs anything.
import { type BuildConfig } from '../config/config.js'
import { type RunContext } from '../config/context.js'
import { DOCKER_HUB } from '../image/reference.js'

export type BuilderName = 'docker' | 'buildah' | 'podman'

export type BuildRequest = Pick<
  BuildConfig,
  'context' | 'dockerfile' | 'buildArgs' | 'target' | 'platforms' | 'labels'
> & {
  /** Fully qualified reference to push, `registry/path:tag` (no short-name resolution). */
  reference: string
  insecure: boolean
}

/** Where the builder writes what it pushed; files in a temp dir owned by the caller. */
export interface OutputFiles {
  /** buildah/podman `--digestfile`, docker `--iidfile`. */
  digestFile: string
  /** docker `--metadata-file`. */
  metadataFile: string
}

/** Storage and isolation for buildah and podman, with why each was chosen. */
export interface ContainerOptions {
  storageDriver?: string
  isolation?: string
  reasons: string[]
}

/** Registry login credentials live in a temporary file instead of the user's config. */
export interface AuthLocation {
  /** buildah/podman `--authfile`. */
  authFile?: string
  /** docker: `DOCKER_CONFIG` directory. */
  dockerConfig?: string
}

export interface Command {
  tool: BuilderName
  args: string[]
  env?: Record<string, string>
  /** Written to stdin (a password; never on the command line). */
  stdin?: string
  /** It talks to the registry: a transient failure is retried. */
  retryable?: boolean
  /** Its failure is expected and harmless (removing what may not exist). */
  mayFail?: boolean
}

/** `buildah bud`, `docker buildx build`, `podman manifest push`: the tool and its subcommand words. */
/**
 * The command line as logged: build-arg values replaced by `***` (names only). Build args often
 * carry tokens (NPM_TOKEN, pip index URLs), and the registry does not know them to mask them.
 */
export function displayArgs(args: string[]): string[] {
  return args.map((arg, i) => {
    const value = args[i - 1] === '--build-arg' ? arg : arg.startsWith('--build-arg=') ? arg.slice(12) : undefined
    if (value === undefined || !value.includes('=')) return arg
    const masked = `${value.slice(0, value.indexOf('='))}=***`
    return arg === value ? masked : `--build-arg=${masked}`
  })
}

export function commandName(command: Pick<Command, 'tool' | 'args'>): string {
  const words: string[] = []
  for (let i = 0; i < command.args.length && words.length < 2; i++) {
    const arg = command.args[i]
    if (arg.startsWith('-')) {
      if (words.length > 0) break
      if (!arg.includes('=')) i++ // a global option's value (`--storage-driver vfs`)
    } else if (/^[a-z]+$/.test(arg)) words.push(arg)
    else break
  }
  return [command.tool, ...words].join(' ')
}

/** OCI labels from the run context, then the user's labels (which win on the same key). */
export function imageLabels(
  context: Pick<RunContext, 'repository' | 'sha' | 'serverUrl'>,
  userLabels: Array<[string, string]>,
  created: Date
): Array<[string, string]> {
  const oci: Array<[string, string]> = []
  if (context.repository) {
    oci.push(['org.opencontainers.image.source', `${context.serverUrl.replace(/\/+$/, '')}/${context.repository}`])
  }
  if (context.sha) oci.push(['org.opencontainers.image.revision', context.sha])
  oci.push(['org.opencontainers.image.created', created.toISOString()])
  const userKeys = new Set(userLabels.map(([key]) => key))
  return [...oci.filter(([key]) => !userKeys.has(key)), ...userLabels]
}

/** Facts about the machine the container options are derived from. */
export interface MachineFacts {
  /** Running inside a container (`/.dockerenv`, `/run/.containerenv`, `$container`). */
  inContainer: boolean
  /** An administrator or user storage.conf exists (`/etc/containers`, `~/.config/containers`). */
  storageConfigured: boolean
}

/**
 * buildah/podman honour `STORAGE_DRIVER` and `BUILDAH_ISOLATION`; without them, inside a
 * container the overlay driver and OCI isolation usually fail (overlay on overlay, no
 * namespaces for runc), so vfs and chroot are chosen unless a storage.conf says otherwise.
 */
export function containerOptions(env: NodeJS.ProcessEnv, facts: MachineFacts): ContainerOptions {
  const options: ContainerOptions = { reasons: [] }
  if (env.STORAGE_DRIVER) {
    options.storageDriver = env.STORAGE_DRIVER
    options.reasons.push(`storage driver ${env.STORAGE_DRIVER} from STORAGE_DRIVER`)
  } else if (facts.storageConfigured) {
    options.reasons.push('storage driver from storage.conf')
  } else if (facts.inContainer) {
    options.storageDriver = 'vfs'
    options.reasons.push('storage driver vfs (inside a container, no storage.conf, no STORAGE_DRIVER)')
  } else {
    options.reasons.push("the builder's default storage driver")
  }
  if (env.BUILDAH_ISOLATION) {
    options.isolation = env.BUILDAH_ISOLATION
    options.reasons.push(`isolation ${env.BUILDAH_ISOLATION} from BUILDAH_ISOLATION`)
  } else if (facts.inContainer) {
    options.isolation = 'chroot'
    options.reasons.push('isolation chroot (inside a container, no BUILDAH_ISOLATION)')
  } else {
    options.reasons.push("the builder's default isolation")
  }
  return options
}

function commonBuildFlags(request: BuildRequest): string[] {
  const args = ['--file', request.dockerfile]
  for (const [key, value] of request.buildArgs) args.push('--build-arg', `${key}=${value}`)
  for (const [key, value] of request.labels) args.push('--label', `${key}=${value}`)
  if (request.target) args.push('--target', request.target)
  if (request.platforms.length > 0) args.push('--platform', request.platforms.join(','))
  return args
}

/** docker/build-push-action style: one `buildx build` that pushes and writes metadata and image id. */
export function dockerCommands(request: BuildRequest, files: OutputFiles, auth: AuthLocation = {}): Command[] {
  const args = ['buildx', 'build', ...commonBuildFlags(request), '--tag', request.reference]
  // buildx has no --tls-verify; an insecure registry is named on the image exporter.
  if (request.insecure) args.push('--output', 'type=image,push=true,registry.insecure=true')
  else args.push('--push')
  args.push('--metadata-file', files.metadataFile, '--iidfile', files.digestFile, request.context)
  return [{ tool: 'docker', args, env: dockerEnv(auth), retryable: true }]
}

function dockerEnv(auth: AuthLocation): Record<string, string> | undefined {
  return auth.dockerConfig ? { DOCKER_CONFIG: auth.dockerConfig } : undefined
}

function registryFlags(request: Pick<BuildRequest, 'insecure'>, auth: AuthLocation): string[] {
  const args: string[] = []
  if (auth.authFile) args.push('--authfile', auth.authFile)
  if (request.insecure) args.push('--tls-verify=false')
  return args
}

/**
 * buildah `bud` / podman `build`, then `push --digestfile`. Several platforms build into a
 * manifest list pushed with `manifest push --all`; a list left by an earlier run is removed
 * first, or its old entries would be pushed again.
 */
export function containerToolCommands(
  tool: 'buildah' | 'podman',
  request: BuildRequest,
  files: OutputFiles,
  options: ContainerOptions,
  auth: AuthLocation = {}
): Command[] {
  const global = options.storageDriver ? ['--storage-driver', options.storageDriver] : []
  const build = [...global, tool === 'buildah' ? 'bud' : 'build', ...commonBuildFlags(request)]
  if (options.isolation) build.push('--isolation', options.isolation)
  build.push(...registryFlags(request, auth))
  const destination = `docker://${request.reference}`
  const pushFlags = [...registryFlags(request, auth), '--digestfile', files.digestFile]
  if (request.platforms.length > 1) {
    return [
      { tool, args: [...global, 'manifest', 'rm', request.reference], mayFail: true },
      { tool, args: [...build, '--manifest', request.reference, request.context] },
      {
        tool,
        args: [...global, 'manifest', 'push', '--all', ...pushFlags, request.reference, destination],
        retryable: true
      }
    ]
  }
  return [
    { tool, args: [...build, '--tag', request.reference, request.context] },
    { tool, args: [...global, 'push', ...pushFlags, request.reference, destination], retryable: true }
  ]
}

/** `login --password-stdin` into a temporary auth location; the password goes to stdin only. */
export function loginCommand(
  tool: BuilderName,
  domain: string,
  username: string,
  password: string,
  insecure: boolean,
  auth: AuthLocation
): Command {
  if (tool === 'docker') {
    // Docker Hub is docker login's default server; naming it `docker.io` would store a second key.
    const server = domain === DOCKER_HUB ? [] : [domain]
    return {
      tool,
      args: ['login', '--username', username, '--password-stdin', ...server],
      env: dockerEnv(auth),
      stdin: password,
      retryable: true
    }
  }
  return {
    tool,
    args: ['login', ...registryFlags({ insecure }, auth), '--username', username, '--password-stdin', domain],
    stdin: password,
    retryable: true
  }
}

/** The command whose success says the builder is usable. */
export function probeCommand(tool: BuilderName): Command {
  return tool === 'docker' ? { tool, args: ['info', '--format', '{{.ServerVersion}}'] } : { tool, args: ['--version'] }
}

/** The builder buildx would use (BUILDX_BUILDER, else the current one), asked when no daemon answers. */
export const BUILDX_INSPECT: Command = { tool: 'docker', args: ['buildx', 'inspect'] }

export interface BuildxBuilder {
  name?: string
  driver?: string
  /** One per node: running, inactive, stopped, error… */
  statuses: string[]
}

/** The builder's name, driver and node statuses from `docker buildx inspect`'s text. */
export function parseBuildxInspect(output: string): BuildxBuilder {
  const builder: BuildxBuilder = { statuses: [] }
  let inNodes = false
  for (const line of output.split('\n')) {
    const match = /^([A-Za-z][A-Za-z ]*):\s*(.*)/.exec(line.trim())
    if (!match) continue
    const [, key, value] = match
    if (key === 'Nodes') inNodes = true
    else if (key === 'Name' && !inNodes) builder.name ??= value
    else if (key === 'Driver' && !inNodes) builder.driver ??= value
    else if (key === 'Status' && inNodes) builder.statuses.push(value.toLowerCase())
  }
  return builder
}

/**
 * docker is usable when its daemon answers, or, without one, when buildx's builder does not need
 * it: a non-docker driver (remote, docker-container, kubernetes) with a node that is running or
 * merely not started yet (`buildx build` starts it).
 */
export function dockerProbe(infoExitCode: number, inspect?: { exitCode: number; output: string }): ProbeResult {
  if (infoExitCode === 0) return { tool: 'docker', state: 'usable', why: 'its daemon answered `docker info`' }
  const noDaemon = '`docker info` failed: no daemon reachable'
  if (!inspect || inspect.exitCode !== 0) {
    return { tool: 'docker', state: 'failing', why: `${noDaemon}, and \`docker buildx inspect\` failed` }
  }
  const { name = '?', driver, statuses } = parseBuildxInspect(inspect.output)
  const builder = `buildx builder "${name}" (driver ${driver ?? 'unknown'})`
  if (!driver || driver === 'docker') {
    return {
      tool: 'docker',
      state: 'failing',
      why: `${noDaemon}, and ${builder} needs it (set BUILDX_BUILDER to a remote or docker-container builder)`
    }
  }
  if (!statuses.some(status => status === 'running' || status === 'inactive')) {
    return { tool: 'docker', state: 'failing', why: `${noDaemon}, and ${builder} is ${statuses.join(', ') || 'down'}` }
  }
  return { tool: 'docker', state: 'usable', why: `${builder} needs no daemon` }
}

export interface ProbeResult {
  tool: BuilderName
  state: 'usable' | 'failing' | 'missing'
  /** What the probe saw, for the log line naming the choice and for the error when none is usable. */
  why?: string
}

export const AUTO_ORDER: readonly BuilderName[] = ['docker', 'buildah', 'podman']

/** `auto`: the first usable builder in AUTO_ORDER, or an error saying what was looked for. */
export function chooseBuilder(probes: readonly ProbeResult[]): ProbeResult {
  for (const tool of AUTO_ORDER) {
    const usable = probes.find(p => p.tool === tool && p.state === 'usable')
    if (usable) return usable
  }
  const seen = AUTO_ORDER.map(tool => {
    const probe = probes.find(p => p.tool === tool)
    if (!probe || probe.state === 'missing') return `${tool} (not installed)`
    return `${tool} (installed, but ${probe.why ?? `\`${tool} --version\` failed`})`
  })
  throw new Error(
    `builder "auto" found no usable image builder; looked for ${seen.join(', ')}. ` +
      'Install one — Docker with buildx (and a running daemon, or a BUILDX_BUILDER that needs none), ' +
      'or buildah (`sudo apt-get install -y buildah`), ' +
      'or podman (`sudo apt-get install -y podman`) — or set the builder input.'
  )
}
