import * as core from '@actions/core'
import { readActionInputs } from './config/index.js'
import { ActionHost } from './host/action-host.js'
import { runPipeline } from './pipeline/pipeline.js'
import { exitCodeFor } from './pipeline/status.js'

/** The action's entry: inputs from the runner, outputs to GITHUB_OUTPUT. */
export async function run(): Promise<void> {
  const result = await runPipeline(new ActionHost(), readActionInputs())
  if (exitCodeFor(result.status) !== 0) core.setFailed(`deployment ${result.status}`)
}
