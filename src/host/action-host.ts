import * as core from '@actions/core'
import { INPUTS, type RawInputs } from '../config/index.js'
import { idTokenEndpoint } from './id-token.js'
import { Redactor } from './redactor.js'
import { type Host, type RenderedSummary } from './host.js'

/** Inputs as the Actions runner passes them (INPUT_* variables, read by core.getInput). */
export function readActionInputs(): RawInputs {
  const raw: RawInputs = {}
  for (const spec of INPUTS) raw[spec.name] = core.getInput(spec.name)
  return raw
}

/** The GitHub Actions runner: workflow commands, GITHUB_OUTPUT, GITHUB_STEP_SUMMARY. */
export class ActionHost implements Host {
  // The runner masks registered secrets in the log; the summary and output files are ours to mask.
  private readonly redactor = new Redactor()

  setSecret(value: string): void {
    core.setSecret(value)
    this.redactor.add(value)
  }
  debug(message: string): void {
    core.debug(message)
  }
  info(message: string): void {
    core.info(message)
  }
  warning(message: string): void {
    core.warning(message)
  }
  error(message: string): void {
    core.error(message)
  }
  group<T>(name: string, fn: () => Promise<T>): Promise<T> {
    return core.group(name, fn)
  }
  setOutput(name: string, value: string): void {
    core.setOutput(name, this.redactor.redact(value))
  }
  idToken(audience: string): Promise<string> {
    idTokenEndpoint(process.env) // the helpful error when the job lacks id-token: write
    return core.getIDToken(audience)
  }
  async writeSummary(summary: RenderedSummary): Promise<void> {
    // core.summary throws without GITHUB_STEP_SUMMARY (local runs): print it instead.
    if (!process.env.GITHUB_STEP_SUMMARY) {
      core.info(this.redactor.redact(summary.text))
      return
    }
    await core.summary.addRaw(this.redactor.redact(summary.markdown), true).write()
  }
}
