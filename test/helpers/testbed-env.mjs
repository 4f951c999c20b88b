// The one reader of .testbed/env (written by test/testbed/up.sh): jest's setup, the test helpers,
// the benchmarks and the demo all take the test bed's endpoints and secrets from here. Plain
// JavaScript, so that Node runs it without a build step (types: testbed-env.d.mts).
import { existsSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * This checkout's root: the nearest folder above this file holding test/testbed/up.sh. Searched,
 * not fixed at `../..`: benchmarks run this file bundled into node_modules/.cache.
 */
export const REPO_ROOT = findRoot(path.dirname(fileURLToPath(import.meta.url)))

function findRoot(dir) {
  if (existsSync(path.join(dir, 'test', 'testbed', 'up.sh'))) return dir
  const parent = path.dirname(dir)
  if (parent === dir) throw new Error(`no checkout of gitops-push-deploy above ${fileURLToPath(import.meta.url)}`)
  return findRoot(parent)
}

/** $TESTBED_ENV_FILE, else .testbed/env of this checkout. */
export const TESTBED_ENV_FILE = process.env.TESTBED_ENV_FILE ?? path.join(REPO_ROOT, '.testbed', 'env')

/**
 * The variables of an env file as the shell would set them: `export NAME='value'` (literal),
 * `export NAME="…$OTHER…"` (expanded from the file's earlier values, else from `outer`; `\$` is
 * a literal dollar), or a bare value. Comments and other lines are skipped.
 */
export function parseTestbedEnv(text, outer = process.env) {
  const values = {}
  for (const raw of text.split('\n')) {
    const line = raw.trim()
    if (!line || line.startsWith('#')) continue
    const match = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line)
    if (!match) continue
    let value = match[2]
    if (value.length >= 2 && value.startsWith("'") && value.endsWith("'")) value = value.slice(1, -1)
    else if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) {
      value = value
        .slice(1, -1)
        .replace(/(?<!\\)\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))/g, (_, braced, plain) => {
          const name = braced ?? plain
          return values[name] ?? outer[name] ?? ''
        })
        .replace(/\\(["\\$`])/g, '$1')
    }
    values[match[1]] = value
  }
  return values
}

/** The test bed's variables; throws, saying how to start it, when the file is missing. */
export function readTestbedEnv(file = TESTBED_ENV_FILE) {
  if (!existsSync(file)) throw new Error(`${file} not found: start the test bed (npm run testbed:up)`)
  return parseTestbedEnv(readFileSync(file, 'utf8'))
}

/**
 * Sets the test bed's variables in process.env and returns them. They win over the caller's:
 * a developer's own KUBECONFIG or REGISTRY must never be the target of a test or benchmark.
 */
export function loadTestbedEnv(file = TESTBED_ENV_FILE) {
  const values = readTestbedEnv(file)
  Object.assign(process.env, values)
  return values
}
