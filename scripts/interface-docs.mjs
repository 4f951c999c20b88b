// Writes action.yml's inputs/outputs and the README's interface tables from the one
// schema in src/config/inputs.ts. `--check` fails when either file is out of date.
import { readFile, writeFile } from 'node:fs/promises'
import { INPUTS, OUTPUTS } from '../src/config/inputs.ts'

const check = process.argv.includes('--check')

function yamlString(text) {
  return JSON.stringify(text)
}

function actionYml() {
  const lines = [
    "name: 'GitOps Push Deploy'",
    "description: 'Build and push an image, commit it to an environment repository, apply it to Kubernetes, wait on rollout and roll back on failure.'",
    "author: 'GitOps Push Deploy'",
    '',
    'branding:',
    '  icon: upload-cloud',
    '  color: blue',
    '',
    '# Generated from src/config/inputs.ts by `npm run interface-docs`.',
    'inputs:'
  ]
  for (const input of INPUTS) {
    lines.push(`  ${input.name}:`)
    lines.push(`    description: ${yamlString(input.description)}`)
    lines.push(`    required: ${input.required ? 'true' : 'false'}`)
    if (input.default !== undefined) lines.push(`    default: ${yamlString(input.default)}`)
  }
  lines.push('', 'outputs:')
  for (const output of OUTPUTS) {
    lines.push(`  ${output.name}:`)
    lines.push(`    description: ${yamlString(output.description)}`)
  }
  lines.push('', 'runs:', '  using: node24', '  main: dist/index.js', '')
  return lines.join('\n')
}

function cell(text) {
  return text.replace(/\|/g, '\\|')
}

function readmeTables() {
  const inputs = ['| name | default | meaning |', '|---|---|---|']
  for (const input of INPUTS) {
    const def = input.required
      ? '(required)'
      : (input.defaultText ?? (input.default !== undefined ? `\`${input.default}\`` : ''))
    inputs.push(`| \`${input.name}\` | ${cell(def)} | ${cell(input.description)} |`)
  }
  const outputs = ['| name | meaning |', '|---|---|']
  for (const output of OUTPUTS) outputs.push(`| \`${output.name}\` | ${cell(output.description)} |`)
  return { inputs: inputs.join('\n'), outputs: outputs.join('\n') }
}

function replaceBetween(text, marker, body) {
  const start = `<!-- ${marker}:start -->`
  const end = `<!-- ${marker}:end -->`
  const from = text.indexOf(start)
  const to = text.indexOf(end)
  if (from < 0 || to < 0) throw new Error(`README.md lacks the ${start} … ${end} markers`)
  return `${text.slice(0, from + start.length)}\n${body}\n${text.slice(to)}`
}

const tables = readmeTables()
const readme = await readFile('README.md', 'utf8')
const wanted = {
  'action.yml': actionYml(),
  'README.md': replaceBetween(replaceBetween(readme, 'inputs', tables.inputs), 'outputs', tables.outputs)
}
let stale = false
for (const [file, content] of Object.entries(wanted)) {
  const current = await readFile(file, 'utf8').catch(() => '')
  if (current === content) continue
  if (check) {
    console.error(`${file} is out of date with src/config/inputs.ts: run npm run interface-docs`)
    stale = true
  } else await writeFile(file, content)
}
process.exitCode = stale ? 1 : 0
