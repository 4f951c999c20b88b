// The CLI (dist/cli.js) as the integration tests run it on the test bed: the flags of one run
// (cliArgs) and the process (startCli, runCli). The env token goes in INPUT_ENV-TOKEN, as a user
// passes it: a secret on the command line is visible to every user of the machine (ps).
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import path from 'node:path'
import { REPO_ROOT, testbedEnv, type TestbedEnv } from './testbed.js'

/** One run's values; the flags follow from them. */
export interface CliFlags {
  /** The image repository, in the plain-HTTP test registry; none in reconcile mode (then no build either). */
  image?: string
  tag?: string
  /** `--build true` (the build context and builder go in `extra`); else `--build false`. */
  build?: boolean
  envRepo: string
  envPath: string
  namespace?: string
  timeout?: string
  /** Flags after these. */
  extra?: string[]
}

/** Flag-value pairs (`--build false`, never a bare flag), so a caller can replace a flag by name. */
export function cliArgs(env: Pick<TestbedEnv, 'githubApiUrl'>, flags: CliFlags): string[] {
  const image =
    flags.image === undefined
      ? []
      : ['--image', flags.image, '--build', String(flags.build ?? false), '--registry-insecure', 'true']
  return [
    ...image,
    ...flag('tag', flags.tag),
    '--env-repo',
    flags.envRepo,
    '--env-path',
    flags.envPath,
    '--github-api-url',
    env.githubApiUrl,
    ...flag('namespace', flags.namespace),
    ...flag('timeout', flags.timeout),
    ...(flags.extra ?? [])
  ]
}

const flag = (name: string, value: string | undefined): string[] => (value === undefined ? [] : [`--${name}`, value])

export interface CliRun {
  code: number
  stdout: string
  stderr: string
  /** From stdout: one JSON object with `--json`, else its `name=value` lines. */
  outputs: Record<string, string>
}

export interface CliProcess {
  child: ChildProcessWithoutNullStreams
  /** What the CLI printed on stderr so far. */
  stderr: () => string
  /** Settles when the process has exited and closed its streams. */
  done: Promise<CliRun>
}

/**
 * dist/cli.js with `args`, in the checkout, with only PATH, HOME, the test bed's env token and
 * `vars` in its environment (no KUBECONFIG of the developer's: a run reaches a cluster only
 * through what `vars` gives it).
 */
export function startCli(args: string[], vars: Record<string, string> = {}): CliProcess {
  const child = spawn(process.execPath, [path.join(REPO_ROOT, 'dist/cli.js'), ...args], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, 'INPUT_ENV-TOKEN': testbedEnv().githubToken, ...vars }
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', chunk => (stdout += chunk))
  child.stderr.on('data', chunk => (stderr += chunk))
  const done = new Promise<number>(resolve => child.on('close', status => resolve(status ?? -1))).then(code => ({
    code,
    stdout,
    stderr,
    outputs: args.includes('--json') ? jsonOutputs(code, stdout, stderr) : lineOutputs(stdout)
  }))
  return { child, stderr: () => stderr, done }
}

/** startCli, run to its end. */
export function runCli(args: string[], vars: Record<string, string> = {}): Promise<CliRun> {
  return startCli(args, vars).done
}

function jsonOutputs(code: number, stdout: string, stderr: string): Record<string, string> {
  try {
    return JSON.parse(stdout) as Record<string, string>
  } catch {
    throw new Error(`the CLI printed no JSON (exit ${code}):\n${stdout}\n${stderr}`)
  }
}

function lineOutputs(stdout: string): Record<string, string> {
  return Object.fromEntries(
    stdout
      .split('\n')
      .filter(line => /^[a-z-]+=/.test(line))
      .map(line => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)])
  )
}
