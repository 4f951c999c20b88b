// The runner masks registered secrets in the log only: the summary and output files the
// ActionHost writes are masked by the host itself.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, jest } from '@jest/globals'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { ActionHost } from '../../src/host/action-host.js'

const SECRET = 'ghs_s3cr3tTokenValue'
const KUBECONFIG_LINE = 'client-key-data: c2VjcmV0LWtleS1ieXRlcw=='
// One folder for the file: @actions/core keeps the summary file's path once it has read it.
const dir = mkdtempSync(path.join(os.tmpdir(), 'action-host-'))

beforeAll(() => {
  for (const name of ['GITHUB_STEP_SUMMARY', 'GITHUB_OUTPUT']) process.env[name] = path.join(dir, name)
})

beforeEach(() => {
  for (const name of ['GITHUB_STEP_SUMMARY', 'GITHUB_OUTPUT']) writeFileSync(path.join(dir, name), '')
  jest.spyOn(process.stdout, 'write').mockImplementation(() => true) // ::add-mask:: lines
})

afterEach(() => {
  jest.restoreAllMocks()
})

afterAll(() => {
  delete process.env.GITHUB_STEP_SUMMARY
  delete process.env.GITHUB_OUTPUT
  rmSync(dir, { recursive: true, force: true })
})

describe('ActionHost', () => {
  it('masks registered secrets, and each line of a multi-line one, in the summary and outputs', async () => {
    const host = new ActionHost()
    host.setSecret(SECRET)
    host.setSecret(`apiVersion: v1\n${KUBECONFIG_LINE}\n`)
    await host.writeSummary({ markdown: `token ${SECRET}; key ${KUBECONFIG_LINE}`, text: '' })
    host.setOutput('status', `failed with ${SECRET}`)

    const summary = readFileSync(process.env.GITHUB_STEP_SUMMARY ?? '', 'utf8')
    const outputs = readFileSync(process.env.GITHUB_OUTPUT ?? '', 'utf8')
    expect(summary).toContain('token ***; key ***')
    expect(outputs).toContain('failed with ***')
    for (const text of [summary, outputs]) {
      expect(text).not.toContain(SECRET)
      expect(text).not.toContain('c2VjcmV0LWtleS1ieXRlcw')
    }
  })

  it('leaves text without secrets as it is', async () => {
    const host = new ActionHost()
    host.setSecret(SECRET)
    await host.writeSummary({ markdown: '## deployed `web`', text: '' })
    expect(readFileSync(process.env.GITHUB_STEP_SUMMARY ?? '', 'utf8')).toContain('## deployed `web`')
  })
})
