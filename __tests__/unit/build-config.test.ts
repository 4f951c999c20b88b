// Bad build inputs must fail in parseConfig, before anything is built, each naming its input.
import { describe, expect, it } from '@jest/globals'
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { ConfigError, parseConfig, type RawInputs, type RunContext } from '../../src/config/index.js'

const workspace = mkdtempSync(path.join(tmpdir(), 'build-config-'))
writeFileSync(path.join(workspace, 'Dockerfile'), 'FROM scratch\n')
mkdirSync(path.join(workspace, 'app'))

const context: RunContext = {
  repository: 'acme/app',
  sha: '0123456789abcdef0123456789abcdef01234567',
  serverUrl: 'https://github.com',
  apiUrl: 'https://api.github.com',
  workspace
}
const valid: RawInputs = {
  image: 'localhost:5000/acme/app',
  'env-repo': 'acme/env',
  'env-path': 'apps/web',
  'env-token': 'tok',
  apply: 'false'
}

function problems(raw: RawInputs): string[] {
  try {
    parseConfig({ ...valid, ...raw }, context)
  } catch (error) {
    if (error instanceof ConfigError) return error.problems
    throw error
  }
  return []
}

describe('build inputs through parseConfig', () => {
  it('accepts the valid base and fills build defaults', () => {
    const config = parseConfig(valid, context)
    expect(config.build).toMatchObject({
      enabled: true,
      context: workspace,
      dockerfile: path.join(workspace, 'Dockerfile'),
      builder: 'auto',
      platforms: []
    })
    expect(config.tag).toBe('0123456')
    expect(config.repository).toEqual({ domain: 'localhost:5000', path: 'acme/app' })
  })

  it.each([
    ['missing Dockerfile', { context: 'app' }, /^input "dockerfile": does not exist \(.*app\/Dockerfile\)$/],
    [
      'missing named Dockerfile',
      { dockerfile: 'nope.Dockerfile' },
      /^input "dockerfile": "nope.Dockerfile" does not exist/
    ],
    ['missing context', { context: 'no-such-dir' }, /^input "context": "no-such-dir" is not a directory/],
    [
      'malformed build-args line',
      { 'build-args': 'A=1\nnot a pair' },
      /^input "build-args": line 2 "not a pair" is not KEY=VALUE$/
    ],
    ['build-arg without key', { 'build-args': '=v' }, /^input "build-args": line 1 "=v" is not KEY=VALUE$/],
    ['malformed label', { labels: 'ok=1\n-bad=2' }, /^input "labels": line 2 "-bad=2" is not KEY=VALUE$/],
    [
      'image with upper case',
      { image: 'ghcr.io/Acme/App' },
      /^input "image": "ghcr.io\/Acme\/App" is not a valid image repository: it has an invalid path component "Acme"/
    ],
    [
      'image with a tag',
      { image: 'ghcr.io/acme/app:v1' },
      /^input "image": .* must not contain a tag \(use the "tag" input\)$/
    ],
    ['image with a bad port', { image: 'localhost:port/app' }, /^input "image": .* invalid registry "localhost:port"$/],
    ['invalid platform', { platforms: 'linux/amd64,windows' }, /^input "platforms": "windows" is not a platform/],
    ['invalid platform case', { platforms: 'Linux/AMD64' }, /^input "platforms": "Linux\/AMD64" is not a platform/],
    [
      'unknown builder',
      { builder: 'kaniko' },
      /^input "builder": "kaniko" must be one of auto, docker, buildah, podman$/
    ],
    ['invalid tag', { tag: '-v1' }, /^input "tag": "-v1" is not a valid tag/],
    [
      'password without user',
      { 'registry-password': 'pw-secret' },
      /^input "registry-username": is required with registry-password$/
    ]
  ])('%s', (_name, raw, message) => {
    const found = problems(raw)
    expect(found).toHaveLength(1)
    expect(found[0]).toMatch(message)
  })

  it('skips Dockerfile and context checks when not building', () => {
    expect(problems({ build: 'false', context: 'no-such-dir' })).toEqual([])
  })

  it('reports every bad build input at once', () => {
    const found = problems({ context: 'no-such-dir', 'build-args': 'x', platforms: 'nope', image: 'A/B' })
    expect(found.map(p => /^input "([^"]+)"/.exec(p)?.[1]).sort()).toEqual([
      'build-args',
      'context',
      'image',
      'platforms'
    ])
  })

  it('keeps build-arg values verbatim, = and spaces included', () => {
    const config = parseConfig({ ...valid, 'build-args': 'A=x=y\nB= spaced value' }, context)
    expect(config.build.buildArgs).toEqual([
      ['A', 'x=y'],
      ['B', ' spaced value']
    ])
  })
})
