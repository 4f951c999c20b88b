import { type Host, type RenderedSummary } from './host.js'
import { type OutputName } from '../config/inputs.js'
import { requestIdToken } from './id-token.js'
import { Redactor } from './redactor.js'

/** A terminal: logs and the summary to stderr, outputs collected for stdout. */
export class CliHost implements Host {
  readonly outputs = new Map<OutputName, string>()
  private readonly redactor = new Redactor()
  private depth = 0

  constructor(private readonly write: (text: string) => void = text => process.stderr.write(text)) {}

  setSecret(value: string): void {
    this.redactor.add(value)
  }
  debug(message: string): void {
    if (process.env.RUNNER_DEBUG === '1') this.line(`debug: ${message}`)
  }
  info(message: string): void {
    this.line(message)
  }
  warning(message: string): void {
    this.line(`warning: ${message}`)
  }
  error(message: string): void {
    this.line(`error: ${message}`)
  }
  async group<T>(name: string, fn: () => Promise<T>): Promise<T> {
    this.line(`▶ ${name}`)
    this.depth++
    try {
      return await fn()
    } finally {
      this.depth--
    }
  }
  setOutput(name: OutputName, value: string): void {
    this.outputs.set(name, this.redactor.redact(value))
  }
  /** The runner's request by hand: core.getIDToken would print `::add-mask::<token>` to stdout. */
  idToken(audience: string): Promise<string> {
    return requestIdToken(process.env, audience)
  }
  async writeSummary(summary: RenderedSummary): Promise<void> {
    this.write(`${this.redactor.redact(summary.text)}\n`)
  }

  /** `name=value` lines (multi-line values use GitHub's heredoc form), or one JSON object. */
  formatOutputs(json: boolean): string {
    if (json) return `${JSON.stringify(Object.fromEntries(this.outputs))}\n`
    let text = ''
    for (const [name, value] of this.outputs) {
      text += value.includes('\n') ? `${name}<<EOF_OUTPUT\n${value}\nEOF_OUTPUT\n` : `${name}=${value}\n`
    }
    return text
  }

  private line(message: string): void {
    const indent = '  '.repeat(this.depth)
    const text = this.redactor.redact(message)
    this.write(
      `${text
        .split('\n')
        .map(l => indent + l)
        .join('\n')}\n`
    )
  }
}
