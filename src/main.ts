import * as core from '@actions/core'
import { runContext } from './config/index.js'
import { ActionHost, readActionInputs } from './host/action-host.js'
import { removeAll } from './lib/temp-files.js'
import { cancelOnSignals } from './pipeline/cancellation.js'
import { runPipeline } from './pipeline/pipeline.js'
import { exitCodeFor } from './report/status.js'
import { realStages } from './stages.js'

/** The action's entry: inputs from the runner, outputs to GITHUB_OUTPUT. */
export async function run(): Promise<void> {
  const host = new ActionHost()
  const cancellation = cancelOnSignals(line => host.warning(line))
  try {
    const result = await runPipeline(host, readActionInputs(), realStages, runContext(), cancellation.signal)
    if (exitCodeFor(result.status) !== 0) core.setFailed(`deployment ${result.status}`)
  } finally {
    cancellation.dispose()
    if (cancellation.signal.aborted) removeAll()
  }
}
