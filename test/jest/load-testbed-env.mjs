// jest setupFiles for the integration project: load .testbed/env (written by test/testbed/up.sh)
// into process.env, so tests and the code under test see the test bed's endpoints and secrets.
// The test bed's values win over the caller's (a developer's own KUBECONFIG must not be used).
import { existsSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')
const envFile = process.env.TESTBED_ENV_FILE ?? path.join(root, '.testbed', 'env')

export function parseEnvFile(text) {
  const out = {}
  for (const raw of text.split('\n')) {
    const line = raw.trim()
    if (!line || line.startsWith('#')) continue
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line)
    if (!m) continue
    let value = m[2]
    if (value.startsWith("'") && value.endsWith("'") && value.length >= 2) value = value.slice(1, -1)
    else if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) {
      // As the shell would: `export PATH="…/.testbed/bin:$PATH"` expands variables, `\$` does not.
      value = value
        .slice(1, -1)
        .replace(/(?<!\\)\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))/g, (_, braced, plain) => {
          const name = braced ?? plain
          return out[name] ?? process.env[name] ?? ''
        })
        .replace(/\\(["\\$`])/g, '$1')
    }
    out[m[1]] = value
  }
  return out
}

if (existsSync(envFile)) {
  Object.assign(process.env, parseEnvFile(readFileSync(envFile, 'utf8')))
}
