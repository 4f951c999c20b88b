import { describe, expect, it } from '@jest/globals'
import { newRunReport, outputsOf } from '../../src/report/run-report.js'
import { renderSummary } from '../../src/report/summary.js'

describe('drift in the report', () => {
  const report = newRunReport()
  report.status = 'drifted'
  report.drift = [
    { kind: 'ConfigMap', namespace: 'web', name: 'cfg', state: 'missing', fields: [], managers: [] },
    {
      kind: 'Deployment',
      namespace: 'web',
      name: 'web',
      state: 'changed',
      fields: ['spec.replicas', 'spec.template.spec.containers[name=web].image'],
      managers: ['kubectl', 'kubectl-set']
    },
    { kind: 'Namespace', namespace: '', name: 'old', state: 'extra', fields: [], managers: [] }
  ]

  it('is a table in the job summary, one row per object', () => {
    const { markdown, text } = renderSummary(report)
    expect(markdown).toContain('Drifted (the cluster differs from Git; nothing committed or applied)')
    expect(markdown).toContain('| state | kind | name | fields | other managers |')
    expect(markdown).toContain(
      '| changed | Deployment | web/web | spec.replicas, spec.template.spec.containers[name=web].image | kubectl, kubectl-set |'
    )
    expect(markdown).toContain('| extra | Namespace | old |  |  |')
    expect(text).toContain('    missing ConfigMap web/cfg')
    expect(text).toContain(
      '    changed Deployment web/web: spec.replicas, spec.template.spec.containers[name=web].image (owned by kubectl, kubectl-set)'
    )
  })

  it('is the drift output: a JSON array, empty when nothing drifted, unset when not checked', () => {
    expect(JSON.parse(outputsOf(report).drift)).toEqual(report.drift)
    expect(outputsOf({ ...report, drift: [] }).drift).toBe('[]')
    expect(outputsOf({ ...report, drift: undefined }).drift).toBe('')
  })

  it('leaves the summary without a drift section when there is none', () => {
    expect(renderSummary({ ...report, status: 'unchanged', drift: [] }).markdown).not.toContain('### Drift')
  })
})
