// The one reader of .testbed/env (test/helpers/testbed-env.mjs) reads it as the shell sources it.
import { describe, expect, it } from '@jest/globals'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseTestbedEnv, REPO_ROOT } from '../../test/helpers/testbed-env.mjs'

describe('parseTestbedEnv', () => {
  it('reads the lines up.sh writes, as the shell would', () => {
    const text = [
      '# written by test/testbed/up.sh',
      "export KUBECONFIG='/tb/kubeconfig'",
      'export TESTBED_REGISTRY_PASSWORD=\'pa$$word "x"\'',
      'export PATH="/tb/bin:$PATH"',
      'export BUILDER="${KUBECONFIG}-and-\\$HOME"',
      'TESTBED_SKIP_CLUSTER=1',
      '',
      'echo not an assignment'
    ].join('\n')
    expect(parseTestbedEnv(text, { PATH: '/usr/bin', HOME: '/home/me' })).toEqual({
      KUBECONFIG: '/tb/kubeconfig',
      TESTBED_REGISTRY_PASSWORD: 'pa$$word "x"',
      PATH: '/tb/bin:/usr/bin',
      BUILDER: '/tb/kubeconfig-and-$HOME',
      TESTBED_SKIP_CLUSTER: '1'
    })
  })

  it('expands a variable neither the file nor the caller has to nothing', () => {
    expect(parseTestbedEnv('export X="a${MISSING}b"', {})).toEqual({ X: 'ab' })
  })
})

it('REPO_ROOT is this checkout (found upwards, so a bundled copy finds it too)', () => {
  expect(REPO_ROOT).toBe(path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..'))
})
