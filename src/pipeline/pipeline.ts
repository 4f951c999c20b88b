import { ConfigError, parseConfig, runContext, secretValues, type RawInputs } from '../config/index.js'
import { type Host } from '../host/host.js'
import { type DeployStatus } from './status.js'

export interface PipelineResult {
  status: DeployStatus
}

/** Runs the whole deployment; owns the order of the stages and the failure policy. */
export async function runPipeline(host: Host, raw: RawInputs): Promise<PipelineResult> {
  for (const secret of secretValues(raw)) host.setSecret(secret)
  try {
    parseConfig(raw, runContext())
    throw new Error('not implemented: build')
  } catch (error) {
    const message = error instanceof ConfigError ? error.message : `${(error as Error).message}`
    for (const line of message.split('\n')) host.error(line)
    host.setOutput('status', 'failed')
    return { status: 'failed' }
  }
}
