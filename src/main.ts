import * as core from '@actions/core'
import { ActionHost, readActionInputs } from './host/action-host.js'
import { runPipeline } from './pipeline/pipeline.js'
import { exitCodeFor } from './report/status.js'
import { realStages } from './stages.js'

/** The action's entry: inputs from the runner, outputs to GITHUB_OUTPUT. */
export async function run(): Promise<void> {
  const result = await runPipeline(new ActionHost(), readActionInputs(), realStages)
  if (exitCodeFor(result.status) !== 0) core.setFailed(`deployment ${result.status}`)
}
