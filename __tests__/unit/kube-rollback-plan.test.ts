import { describe, expect, it } from '@jest/globals'
import { rollbackDeletions } from '../../src/kube/rollback.js'
import { type AppliedObject, objectKey } from '../../src/kube/types.js'

const applied = (kind: string, name: string, created: boolean, apiVersion = 'v1'): AppliedObject => ({
  apiVersion,
  kind,
  namespace: kind === 'Namespace' ? undefined : 'app',
  name,
  resourceVersion: '1',
  uid: `uid-${name}`,
  created
})

describe('rollbackDeletions', () => {
  const objects = [
    applied('Namespace', 'app', true),
    applied('ConfigMap', 'new-settings', true),
    applied('Deployment', 'web', false, 'apps/v1'),
    applied('Deployment', 'worker', true, 'apps/v1'),
    applied('Service', 'old-but-unlisted', false)
  ]
  // The previous state had the Deployment web only, under another apiVersion of the same group.
  const previous = new Set([
    objectKey({ apiVersion: 'apps/v1beta2', kind: 'Deployment', namespace: 'app', name: 'web' })
  ])

  it('deletes what this run created and the previous state lacks, workloads before their namespace', () => {
    expect(rollbackDeletions(objects, previous).remove.map(o => `${o.kind}/${o.name}`)).toEqual([
      'Deployment/worker',
      'ConfigMap/new-settings',
      'Namespace/app'
    ])
  })

  it('leaves objects that existed before this run', () => {
    expect(rollbackDeletions(objects, previous).leave.map(o => `${o.kind}/${o.name}`)).toEqual([
      'Service/old-but-unlisted'
    ])
  })

  it('deletes nothing the previous state has', () => {
    const all = new Set(objects.map(objectKey))
    expect(rollbackDeletions(objects, all)).toEqual({ remove: [], leave: [] })
  })
})
