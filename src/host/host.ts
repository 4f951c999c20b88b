import { type OutputName } from '../config/inputs.js'

/** A finished report, rendered for both kinds of reader. */
export interface RenderedSummary {
  markdown: string
  text: string
}

/**
 * Where the pipeline runs: a GitHub Actions runner or a terminal. Everything the
 * pipeline says to the outside world goes through here.
 */
export interface Host {
  /** Registers a value that must never be printed. Call before any logging. */
  setSecret(value: string): void
  debug(message: string): void
  info(message: string): void
  warning(message: string): void
  error(message: string): void
  group<T>(name: string, fn: () => Promise<T>): Promise<T>
  setOutput(name: OutputName, value: string): void
  /** The job's GitHub OIDC token for this audience (kube-auth github-oidc); not yet a secret. */
  idToken(audience: string): Promise<string>
  writeSummary(summary: RenderedSummary): Promise<void>
}
