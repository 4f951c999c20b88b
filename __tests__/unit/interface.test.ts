import { describe, expect, it } from '@jest/globals'
import { execFileSync, spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { parse } from 'yaml'
import { INPUTS, OUTPUTS } from '../../src/config/index.js'

interface ActionYml {
  runs: { using: string; main: string }
  inputs: Record<string, { description: string; required: boolean; default?: string }>
  outputs: Record<string, { description: string }>
}

const action = parse(readFileSync('action.yml', 'utf8')) as ActionYml
const readme = readFileSync('README.md', 'utf8')

/** Rows of the markdown table between `<!-- marker:start -->` and `<!-- marker:end -->`. */
function readmeTable(marker: string): string[][] {
  const body = readme.slice(readme.indexOf(`<!-- ${marker}:start -->`), readme.indexOf(`<!-- ${marker}:end -->`))
  return body
    .split('\n')
    .filter(line => line.startsWith('| `'))
    .map(line =>
      line
        .slice(1, -1)
        .split(/(?<!\\)\|/)
        .map(cell => cell.trim())
    )
}

describe('public interface', () => {
  it('action.yml runs on node24 from dist/index.js', () => {
    expect(action.runs).toEqual({ using: 'node24', main: 'dist/index.js' })
  })

  it('action.yml declares exactly the schema inputs, with their defaults', () => {
    expect(Object.keys(action.inputs)).toEqual(INPUTS.map(spec => spec.name))
    for (const spec of INPUTS) {
      expect(action.inputs[spec.name].required).toBe(spec.required === true)
      expect(action.inputs[spec.name].default).toBe(spec.default)
      expect(action.inputs[spec.name].description.length).toBeGreaterThan(5)
    }
  })

  it('action.yml declares exactly the schema outputs', () => {
    expect(Object.keys(action.outputs)).toEqual(OUTPUTS.map(spec => spec.name))
  })

  it("README's input table agrees with action.yml", () => {
    const rows = readmeTable('inputs')
    expect(rows.map(row => row[0].replace(/`/g, ''))).toEqual(Object.keys(action.inputs))
    for (const [name, def] of rows) {
      const input = action.inputs[name.replace(/`/g, '')]
      if (input.required) expect(def).toBe('(required)')
      else if (input.default !== undefined) expect(def).toBe(`\`${input.default}\``)
    }
  })

  it("README's output table agrees with action.yml", () => {
    expect(readmeTable('outputs').map(row => row[0].replace(/`/g, ''))).toEqual(Object.keys(action.outputs))
  })
})

describe('bundled entries (dist/)', () => {
  it('the action fails on missing inputs, naming env-repo, exit 1', () => {
    const env = { PATH: process.env.PATH, INPUT_IMAGE: 'x', INPUT_TAG: 'v1', INPUT_BUILD: 'false' }
    const result = spawnSync(process.execPath, ['dist/index.js'], { env, encoding: 'utf8' })
    expect(result.status).toBe(1)
    expect(result.stdout).toMatch(/::error::input "env-repo": is required/)
  })

  it('the CLI --help lists every input', () => {
    const text = execFileSync(process.execPath, ['dist/cli.js', '--help'], { encoding: 'utf8' })
    for (const spec of INPUTS) expect(text).toContain(`--${spec.name} `)
  })

  it('the CLI prints outputs to stdout and exits 1 on bad input', () => {
    const result = spawnSync(process.execPath, ['dist/cli.js', '--image', 'x', '--tag', 'v1', '--timeout', '5x'], {
      env: { PATH: process.env.PATH },
      encoding: 'utf8'
    })
    expect(result.status).toBe(1)
    expect(result.stdout.split('\n')[0]).toBe('status=failed')
    for (const spec of OUTPUTS) expect(result.stdout).toMatch(new RegExp(`^${spec.name}=`, 'm'))
    expect(result.stderr).toContain('input "timeout": "5x" is not a duration (examples: 90s, 5m, 1h)')
  })
})
