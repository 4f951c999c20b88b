// The command line's flags, from the one schema of inputs.
import { readFileSync, statSync } from 'node:fs'
import { parseArgs, type ParseArgsOptionsConfig } from 'node:util'
import { INPUTS, inputEnvName, type InputName } from './inputs.js'
import { type RawInputs } from './config.js'

export interface CliInvocation {
  inputs: RawInputs
  json: boolean
  help: boolean
  /** Said before the run: secrets given as flags are visible to every user of the machine (`ps`). */
  warnings: string[]
}

/** A secret file above this is not a token or a kubeconfig. */
const MAX_SECRET_FILE_BYTES = 1024 * 1024

/** `--env-token-file PATH`: a secret input read from a file, so it never sits on a command line. */
function readSecretFile(flag: string, file: string): string {
  try {
    if (statSync(file).size > MAX_SECRET_FILE_BYTES)
      throw new CliUsageError(`--${flag}: "${file}" is larger than 1 MiB`)
    return readFileSync(file, 'utf8')
  } catch (error) {
    if (error instanceof CliUsageError) throw error
    throw new CliUsageError(`--${flag}: cannot read "${file}" (${(error as NodeJS.ErrnoException).code ?? 'error'})`)
  }
}

export class CliUsageError extends Error {}

/** `--json` and `--help`: the CLI's own flags beside the inputs. */
const OWN_FLAGS = { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } as const

/** Every input as a flag (a boolean input also takes a value: `--dry-run false`), and `--<secret>-file`. */
function flagOptions(): ParseArgsOptionsConfig {
  const options: ParseArgsOptionsConfig = { ...OWN_FLAGS }
  for (const spec of INPUTS) {
    options[spec.name] = { type: spec.boolean ? 'boolean' : 'string' }
    if (spec.secret) options[`${spec.name}-file`] = { type: 'string' }
  }
  return options
}

/**
 * `--env-repo owner/name`, `--env-repo=owner/name`, a bare boolean flag (`--dry-run`) or one with
 * a value (`--dry-run false`, `--dry-run=false`), a repeated flag for multiline inputs
 * (`--env-path a --env-path b`), `--<secret>-file PATH` for every secret input. INPUT_* variables
 * fill what the flags leave out, as in an Actions step.
 */
export function parseCliArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): CliInvocation {
  const options = flagOptions()
  const byName = new Map(INPUTS.map(spec => [spec.name, spec]))
  const secretFileOf = new Map(INPUTS.filter(spec => spec.secret).map(spec => [`${spec.name}-file`, spec.name]))
  const inputs: RawInputs = {}
  const warnings: string[] = []
  const fromFile = new Set<string>()
  let json = false
  let help = false
  // Not strict: the tokens are checked here, so every error names the flag in this CLI's words.
  const { tokens } = parseArgs({ args: argv, options, strict: false, allowPositionals: true, tokens: true })
  for (let t = 0; t < tokens.length; t++) {
    const token = tokens[t]
    if (token.kind === 'positional')
      throw new CliUsageError(`unexpected argument "${token.value}" (flags are --name value)`)
    if (token.kind === 'option-terminator') continue
    const flag = token.rawName
    const option = Object.hasOwn(options, token.name) ? options[token.name] : undefined
    if (!option) throw new CliUsageError(`unknown flag "${flag}" (see --help)`)
    if (Object.hasOwn(OWN_FLAGS, token.name)) {
      if (token.value !== undefined) throw new CliUsageError(`flag "${flag}" takes no value`)
      if (token.name === 'json') json = true
      else help = true
      continue
    }
    let value = token.value
    const next = tokens[t + 1]
    // `--dry-run false`: the argument right after a bare boolean flag is its value
    if (option.type === 'boolean' && value === undefined) {
      value = 'true'
      if (next?.kind === 'positional' && next.index === token.index + 1) {
        value = next.value
        t++
      }
    }
    if (value === undefined) throw new CliUsageError(`flag "${flag}" needs a value`)
    const name = (secretFileOf.get(token.name) ?? token.name) as InputName
    if (token.name !== name) {
      if (inputs[name] !== undefined) throw new CliUsageError(`--${name} is given twice (${flag} and another)`)
      inputs[name] = readSecretFile(token.name, value)
      fromFile.add(name)
      continue
    }
    if (fromFile.has(name)) throw new CliUsageError(`--${name} is given twice (--${name}-file and --${name})`)
    if (byName.get(name)?.secret) {
      warnings.push(
        `--${name} on the command line is visible to other users of this machine (ps, shell history); use --${name}-file or the ${inputEnvName(name)} variable`
      )
    }
    const previous = inputs[name]
    inputs[name] = previous === undefined ? value : `${previous}\n${value}`
  }
  for (const spec of INPUTS) {
    const fromEnv = env[inputEnvName(spec.name)]
    if (inputs[spec.name] === undefined && fromEnv !== undefined) inputs[spec.name] = fromEnv
  }
  return { inputs, json, help, warnings }
}

export function helpText(): string {
  const width = Math.max(...INPUTS.map(spec => spec.name.length + (spec.secret ? 5 : 0))) + 4
  const rows = INPUTS.map(spec => {
    const flag = `--${spec.name}`.padEnd(width)
    const defaultText = spec.required
      ? ' (required)'
      : spec.default !== undefined || spec.defaultText
        ? ` (default: ${spec.defaultText ?? spec.default})`
        : ''
    const row = `  ${flag}${spec.description}${defaultText}`
    return spec.secret
      ? `${row}\n  ${`--${spec.name}-file`.padEnd(width)}Read ${spec.name} from this file (never put a secret on a command line).`
      : row
  })
  return [
    'Usage: gitops-push-deploy --image REPO --env-repo OWNER/NAME --env-path PATH --env-token TOKEN [flags]',
    '',
    'Builds and pushes an image, commits it to the environment repository, applies it to',
    'Kubernetes, waits on the rollout and rolls back on failure.',
    '',
    'Inputs (also read from INPUT_<NAME> environment variables, as in GitHub Actions):',
    ...rows,
    '',
    'Other flags:',
    `  ${'--json'.padEnd(width)}Print the outputs as one JSON object instead of name=value lines.`,
    `  ${'--help'.padEnd(width)}Show this help.`,
    '',
    'Logs go to stderr, outputs to stdout. Exit status 0 for deployed, committed, unchanged,',
    'reconciled, proposed and planned; 1 otherwise (drifted, rolled-back, failed, cancelled).',
    ''
  ].join('\n')
}
