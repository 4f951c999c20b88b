// A Host that records every line a stage says, unredacted, so a leaked secret would show.
import { type OutputName } from '../../src/config/inputs.js'
import { type Host, type RenderedSummary } from '../../src/host/host.js'
import { requestIdToken } from '../../src/host/id-token.js'

export class RecordingHost implements Host {
  readonly lines: string[] = []
  setSecret(): void {}
  debug(message: string): void {
    this.lines.push(`debug: ${message}`)
  }
  info(message: string): void {
    this.lines.push(message)
  }
  warning(message: string): void {
    this.lines.push(`warning: ${message}`)
  }
  error(message: string): void {
    this.lines.push(`error: ${message}`)
  }
  async group<T>(name: string, fn: () => Promise<T>): Promise<T> {
    this.lines.push(`group: ${name}`)
    return fn()
  }
  setOutput(name: OutputName, value: string): void {
    this.lines.push(`output ${name}=${value}`)
  }
  idToken(audience: string): Promise<string> {
    return requestIdToken(process.env, audience)
  }
  async writeSummary(summary: RenderedSummary): Promise<void> {
    this.lines.push(summary.text)
  }
}
