import { CliUsageError, helpText, parseCliArgs } from './config/index.js'
import { runEdit } from './cli-edit.js'
import { CliHost } from './host/cli-host.js'
import { removeAll } from './lib/temp-files.js'
import { cancelOnSignals } from './pipeline/cancellation.js'
import { runPipeline } from './pipeline/pipeline.js'
import { exitCodeFor } from './report/status.js'
import { realStages } from './stages.js'
import { runContext } from './config/index.js'

/** The command line: same pipeline, logs to stderr, outputs to stdout. Returns the exit code. */
export async function runCli(argv: string[]): Promise<number> {
  if (argv[0] === 'edit') return runEdit(argv.slice(1))
  let invocation
  try {
    invocation = parseCliArgs(argv)
  } catch (error) {
    if (!(error instanceof CliUsageError)) throw error
    process.stderr.write(`error: ${error.message}\n`)
    return 1
  }
  if (invocation.help) {
    process.stdout.write(
      `${helpText()}Offline edit of a checkout (no build, no cluster): gitops-push-deploy edit --help\n`
    )
    return 0
  }
  const host = new CliHost()
  for (const warning of invocation.warnings) host.warning(warning)
  const cancellation = cancelOnSignals(line => host.warning(line))
  try {
    const result = await runPipeline(host, invocation.inputs, realStages, runContext(), cancellation.signal)
    process.stdout.write(host.formatOutputs(invocation.json))
    return exitCodeFor(result.status)
  } finally {
    cancellation.dispose()
    if (cancellation.signal.aborted) removeAll()
  }
}
