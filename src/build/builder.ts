// Runs a builder: picks it, logs in to a temporary auth location, runs its commands without a
// shell, and reads back the digest it pushed. The command lines come from argv.ts.
import { exec, getExecOutput } from '@actions/exec'
import { existsSync } from 'node:fs'
import { mkdir, readFile, symlink } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import which from 'which'
import { type Config } from '../config/config.js'
import { type Host } from '../host/host.js'
import { isValidDigest, repositoryName } from '../image/reference.js'
import { withTempDir, writeTempFile } from '../lib/temp-files.js'
import {
  AUTO_ORDER,
  BUILDX_INSPECT,
  chooseBuilder,
  commandName,
  containerOptions,
  containerToolCommands,
  displayArgs,
  dockerCommands,
  dockerProbe,
  imageLabels,
  loginCommand,
  probeCommand,
  type AuthLocation,
  type BuilderName,
  type Command,
  type MachineFacts,
  type OutputFiles,
  type ProbeResult
} from './argv.js'
import { authFilePaths, readJsonFile, seedAuthConfig } from './credentials.js'
import { DEFAULT_RETRY, retry, type RetryPolicy } from '../lib/retry.js'
import { isTransientOutput } from './retry.js'

/** The last lines of a command's output, bounded in count and width, for error messages. */
export class OutputTail {
  private readonly kept: string[] = []

  constructor(
    private readonly maxLines = 20,
    private readonly maxWidth = 400
  ) {}

  push(line: string): void {
    const trimmed = line.trimEnd()
    if (trimmed === '') return
    this.kept.push(trimmed.length > this.maxWidth ? `${trimmed.slice(0, this.maxWidth)}…` : trimmed)
    if (this.kept.length > this.maxLines) this.kept.shift()
  }

  lines(): string[] {
    return [...this.kept]
  }
}

export class CommandFailedError extends Error {
  constructor(
    readonly command: Command,
    readonly exitCode: number,
    readonly tail: string[]
  ) {
    const output = tail.length > 0 ? `; last lines of its output:\n${tail.map(line => `  ${line}`).join('\n')}` : ''
    super(`${commandName(command)} failed with exit code ${exitCode}${output}`)
    this.name = 'CommandFailedError'
  }
}

/** One run of a command without a shell; every output line goes to the host's log. */
export async function execCommand(
  command: Command,
  host: Host,
  log = true,
  baseEnv: NodeJS.ProcessEnv = process.env
): Promise<{ exitCode: number; tail: string[] }> {
  const tail = new OutputTail()
  const onLine = (line: string): void => {
    tail.push(line)
    if (log) host.info(line)
  }
  if (log) host.info(`[command] ${command.tool} ${displayArgs(command.args).join(' ')}`)
  const executable = await which(command.tool, { nothrow: true, path: baseEnv.PATH })
  if (!executable) throw new BuilderMissingError(command.tool)
  const exitCode = await exec(executable, command.args, {
    silent: true,
    ignoreReturnCode: true,
    env: { ...stringEnv(baseEnv), ...command.env },
    input: command.stdin === undefined ? undefined : Buffer.from(command.stdin),
    listeners: { stdline: onLine, errline: onLine }
  })
  return { exitCode, tail: tail.lines() }
}

export class BuilderMissingError extends Error {
  constructor(readonly tool: BuilderName) {
    super(`builder "${tool}" is not installed (no ${tool} on PATH)`)
    this.name = 'BuilderMissingError'
  }
}

function stringEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined))
}

/** Runs a command to success; registry-facing commands are retried on transient failures. */
export async function runCommand(command: Command, host: Host, policy: RetryPolicy = DEFAULT_RETRY): Promise<void> {
  const attempts = command.retryable ? policy : { ...policy, attempts: 1 }
  await retry(
    attempts,
    {
      retryable: error => error instanceof CommandFailedError && isTransientOutput(error.tail),
      onRetry: (error, attempt, delay) =>
        host.warning(`${(error as Error).message.split('\n')[0]}; transient, attempt ${attempt + 1} in ${delay} ms`)
    },
    async () => {
      const { exitCode, tail } = await execCommand(command, host)
      if (exitCode !== 0 && !command.mayFail) throw new CommandFailedError(command, exitCode, tail)
    }
  )
}

/** `auto`: probes docker (its daemon, else buildx's builder), buildah, podman, quietly. */
export async function detectBuilder(host: Host, env: NodeJS.ProcessEnv = process.env): Promise<ProbeResult> {
  const probes: ProbeResult[] = []
  for (const tool of AUTO_ORDER) {
    try {
      const { exitCode } = await execCommand(probeCommand(tool), host, false, env)
      let probe: ProbeResult = { tool, state: exitCode === 0 ? 'usable' : 'failing' }
      if (tool === 'docker')
        probe = dockerProbe(exitCode, exitCode === 0 ? undefined : await commandOutput(BUILDX_INSPECT, env))
      probes.push(probe)
      if (probe.state === 'usable') break
    } catch (error) {
      if (!(error instanceof BuilderMissingError)) throw error
      probes.push({ tool, state: 'missing' })
    }
  }
  host.debug(`builder probes: ${probes.map(p => `${p.tool} ${p.state}`).join(', ')}`)
  return chooseBuilder(probes)
}

/** A probe's whole output (stdout and stderr), without logging it. */
async function commandOutput(command: Command, env: NodeJS.ProcessEnv): Promise<{ exitCode: number; output: string }> {
  const { exitCode, stdout, stderr } = await getExecOutput(command.tool, command.args, {
    silent: true,
    ignoreReturnCode: true,
    env: stringEnv(env)
  })
  return { exitCode, output: `${stdout}\n${stderr}` }
}

export function machineFacts(env: NodeJS.ProcessEnv, home = os.homedir()): MachineFacts {
  const userConfig = env.XDG_CONFIG_HOME || path.join(home, '.config')
  return {
    inContainer: existsSync('/.dockerenv') || existsSync('/run/.containerenv') || Boolean(env.container),
    storageConfigured: [
      env.CONTAINERS_STORAGE_CONF,
      '/etc/containers/storage.conf',
      path.join(userConfig, 'containers', 'storage.conf')
    ].some(file => file !== undefined && existsSync(file))
  }
}

/**
 * A temporary auth location seeded from the user's config, logged into with the password on
 * stdin. The user's own files stay untouched; the caller deletes `dir`.
 */
async function loginToTemporaryAuth(tool: BuilderName, dir: string, config: Config, host: Host): Promise<AuthLocation> {
  const { username, password } = config.registry
  if (!username || !password) return {}
  const domain = config.repository.domain
  let auth: AuthLocation
  if (tool === 'docker') {
    const userDir = process.env.DOCKER_CONFIG || path.join(os.homedir(), '.docker')
    const dockerConfig = path.join(dir, 'docker-config')
    await mkdir(dockerConfig, { mode: 0o700 })
    const seeded = seedAuthConfig(readJsonFile(path.join(userDir, 'config.json')), domain)
    writeTempFile(dockerConfig, 'config.json', JSON.stringify(seeded))
    // buildx finds its plugins, builder instances and contexts under DOCKER_CONFIG.
    for (const entry of ['cli-plugins', 'buildx', 'contexts']) {
      if (existsSync(path.join(userDir, entry)))
        await symlink(path.join(userDir, entry), path.join(dockerConfig, entry))
    }
    auth = { dockerConfig }
  } else {
    const existing = authFilePaths(process.env).find(file => existsSync(file))
    const seeded = seedAuthConfig(existing ? readJsonFile(existing) : undefined, domain)
    const authFile = writeTempFile(dir, 'auth.json', JSON.stringify(seeded))
    auth = { authFile }
  }
  await runCommand(loginCommand(tool, domain, username, password, config.registry.insecure, auth), host)
  return auth
}

/** The digest the builder says it pushed, undefined when it wrote none. */
async function pushedDigest(tool: BuilderName, files: OutputFiles): Promise<string | undefined> {
  let digest: string | undefined
  if (tool === 'docker') {
    const metadata = readJsonFile(files.metadataFile) as Record<string, unknown> | undefined
    digest = typeof metadata?.['containerimage.digest'] === 'string' ? metadata['containerimage.digest'] : undefined
  } else {
    digest = existsSync(files.digestFile) ? (await readFile(files.digestFile, 'utf8')).trim() : undefined
  }
  return digest && isValidDigest(digest) ? digest : undefined
}

/** Builds and pushes `config.image:config.tag`; returns the digest the builder reports. */
export async function buildAndPush(config: Config, host: Host, now = new Date()): Promise<string | undefined> {
  const chosen: Pick<ProbeResult, 'tool' | 'why'> =
    config.build.builder === 'auto' ? await detectBuilder(host) : { tool: config.build.builder }
  const { tool } = chosen
  const because = chosen.why ? `, chosen because ${chosen.why}` : ''
  return withTempDir('build', async dir => {
    const files: OutputFiles = { digestFile: path.join(dir, 'digest'), metadataFile: path.join(dir, 'metadata.json') }
    const auth = await loginToTemporaryAuth(tool, dir, config, host)
    const request = {
      ...config.build,
      labels: imageLabels(config.context, config.build.labels, now),
      reference: `${repositoryName(config.repository)}:${config.tag}`,
      insecure: config.registry.insecure
    }
    let commands: Command[]
    if (tool === 'docker') {
      commands = dockerCommands(request, files, auth)
      host.info(`builder: docker (buildx)${because}`)
    } else {
      const options = containerOptions(process.env, machineFacts(process.env))
      commands = containerToolCommands(tool, request, files, options, auth)
      host.info(`builder: ${tool}; ${options.reasons.join('; ')}`)
    }
    for (const command of commands) await runCommand(command, host)
    return await pushedDigest(tool, files)
  })
}
