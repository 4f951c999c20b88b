import { describe, expect, it } from '@jest/globals'
import { mkdtempSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { CliUsageError, helpText, INPUTS, parseCliArgs } from '../../src/config/index.js'

describe('parseCliArgs', () => {
  it.each<[string[], Record<string, string>]>([
    [['--env-repo', 'acme/env'], { 'env-repo': 'acme/env' }],
    [['--env-repo=acme/env'], { 'env-repo': 'acme/env' }],
    [['--dry-run'], { 'dry-run': 'true' }],
    [['--dry-run', '--apply', 'false'], { 'dry-run': 'true', apply: 'false' }],
    [['--dry-run', 'false'], { 'dry-run': 'false' }],
    [['--dry-run=false', '--apply'], { 'dry-run': 'false', apply: 'true' }],
    [['--image', '--dry-run'], { image: '--dry-run' }],
    [['--image='], { image: '' }],
    [['--env-path', 'a', '--env-path', 'b'], { 'env-path': 'a\nb' }],
    [['--commit-message=deploy {image}=x'], { 'commit-message': 'deploy {image}=x' }]
  ])('%j', (argv, expected) => {
    expect(parseCliArgs(argv, {}).inputs).toEqual(expected)
  })

  it('reads INPUT_* variables for what the flags leave out', () => {
    const { inputs } = parseCliArgs(['--image', 'flag/wins'], {
      INPUT_IMAGE: 'env/loses',
      'INPUT_ENV-REPO': 'acme/env'
    })
    expect(inputs).toEqual({ image: 'flag/wins', 'env-repo': 'acme/env' })
  })

  it.each([
    [['--nope', 'x'], /unknown flag "--nope"/],
    [['positional'], /unexpected argument "positional"/],
    [['--image'], /flag "--image" needs a value/],
    [['-x'], /unknown flag "-x"/],
    [['--constructor', 'x'], /unknown flag "--constructor"/],
    [['--json=false'], /flag "--json" takes no value/],
    [['--', '--image'], /unexpected argument "--image"/]
  ])('%j is a usage error', (argv, message) => {
    expect(() => parseCliArgs(argv, {})).toThrow(CliUsageError)
    expect(() => parseCliArgs(argv, {})).toThrow(message)
  })

  const dir = mkdtempSync(path.join(os.tmpdir(), 'cli-args-test-'))
  const tokenFile = path.join(dir, 'token')
  writeFileSync(tokenFile, 'ghp_fromfile\n')

  it.each([
    ['env-token', 'env-token'],
    ['kubeconfig', 'kubeconfig'],
    ['registry-password', 'registry-password'],
    ['github-token', 'github-token']
  ])('--%s-file reads the secret from a file, without a warning', (flag, input) => {
    const { inputs, warnings } = parseCliArgs([`--${flag}-file`, tokenFile], {})
    expect(inputs).toEqual({ [input]: 'ghp_fromfile\n' })
    expect(warnings).toEqual([])
  })

  it('warns about a secret given as a flag, naming the flag but not the value', () => {
    const { warnings } = parseCliArgs(['--env-token', 'ghp_onthecommandline', '--image', 'x'], {})
    expect(warnings).toHaveLength(1)
    expect(warnings[0]).toMatch(/^--env-token on the command line is visible .* use --env-token-file/)
    expect(warnings[0]).not.toContain('ghp_onthecommandline')
  })

  it.each([
    [['--image-file', 'x'], /unknown flag "--image-file"/],
    [['--env-token-file', '/nonexistent/token'], /--env-token-file: cannot read "\/nonexistent\/token" \(ENOENT\)/],
    [['--env-token-file', tokenFile, '--env-token', 'x'], /given twice/]
  ])('%j is a usage error', (argv, message) => {
    expect(() => parseCliArgs(argv, {})).toThrow(message)
  })

  it('--json and --help', () => {
    expect(parseCliArgs(['--json', '--help'], {})).toMatchObject({ json: true, help: true })
    expect(parseCliArgs(['-h'], {})).toMatchObject({ json: false, help: true })
  })
})

describe('helpText', () => {
  it('lists every input as a flag with its default', () => {
    const text = helpText()
    for (const spec of INPUTS) expect(text).toContain(`--${spec.name} `)
    expect(text).toMatch(/--timeout\s+.*\(default: 5m\)/)
    expect(text).toMatch(/--env-repo\s+.*\(required\)/)
    expect(text).toMatch(/--image\s+.*Required in mode `deploy`/)
    expect(text).toMatch(/--env-token-file\s+Read env-token from this file/)
  })
})
