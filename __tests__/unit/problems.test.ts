import { describe, expect, it } from '@jest/globals'
import { ConfigError } from '../../src/config/index.js'
import { RenderCheckError } from '../../src/gitops/index.js'
import { ApplyError, ValidationError } from '../../src/kube/apply.js'
import { PolicyError } from '../../src/kube/policy.js'
import { ProblemsError } from '../../src/lib/problems.js'
import { ManifestError } from '../../src/render/manifests.js'

describe('one base for the errors that are a list of problems', () => {
  const problems = ['Deployment web/api: spec.replicas: Invalid value', 'ConfigMap web/cfg: data: Required value']
  it.each<[string, ProblemsError, string]>([
    ['ConfigError', new ConfigError(problems), problems.join('\n')],
    ['ManifestError', new ManifestError(problems), problems.join('\n')],
    [
      'ValidationError',
      new ValidationError(problems),
      `2 problem(s) in the manifests, nothing applied:\n${problems.join('\n')}`
    ],
    [
      'ApplyError',
      new ApplyError(problems, []),
      `apply failed after 0 object(s) were applied:\n${problems.join('\n')}`
    ],
    [
      'RenderCheckError',
      new RenderCheckError(problems),
      `the edit does not render as intended, nothing committed:\n  ${problems.join('\n  ')}`
    ]
  ])('%s keeps its problems and names itself', (name, error, message) => {
    expect(error).toBeInstanceOf(ProblemsError)
    expect(error.name).toBe(name)
    expect(error.problems).toEqual(problems)
    expect(error.message).toBe(message)
  })

  it('PolicyError: one problem per refusal, the refusals kept', () => {
    const refusal = { subject: 'ClusterRoleBinding pwn', reasons: ['cluster-scoped'], allowWith: ['apply-kinds'] }
    const error = new PolicyError([refusal])
    expect(error).toBeInstanceOf(ProblemsError)
    expect(error.name).toBe('PolicyError')
    expect(error.refusals).toEqual([refusal])
    expect(error.problems).toEqual(['ClusterRoleBinding pwn: cluster-scoped; allow with apply-kinds'])
    expect(error.message).toBe(
      'the apply policy refused 1 item(s); nothing was committed or applied:\nClusterRoleBinding pwn: cluster-scoped; allow with apply-kinds'
    )
  })
})
