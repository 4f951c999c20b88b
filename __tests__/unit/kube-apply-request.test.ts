import { describe, expect, it } from '@jest/globals'
import { apiReason, applyRequest, sameObject } from '../../src/kube/apply.js'
import { KubeApiError } from '../../src/kube/client.js'
import { type KubeObject } from '../../src/kube/types.js'

describe('applyRequest', () => {
  const deployment: KubeObject = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'app' },
    spec: {
      template: {
        spec: {
          // A field no generated client model knows: must reach the apiserver untouched.
          fieldFromAFutureRelease: { keep: [1, 'two', null] },
          containers: [{ name: 'web', image: 'registry:5000/web:1' }]
        }
      }
    }
  }
  const resource = { apiVersion: 'apps/v1', kind: 'Deployment', plural: 'deployments', namespaced: true }

  it('sends the object as raw JSON with server-side apply', () => {
    const request = applyRequest({ object: deployment, resource, namespace: 'app' }, 'gitops-push-deploy', false)
    expect(request).toEqual({
      method: 'PATCH',
      path: '/apis/apps/v1/namespaces/app/deployments/web',
      query: { fieldManager: 'gitops-push-deploy', force: 'true', fieldValidation: 'Strict' },
      body: JSON.stringify(deployment),
      contentType: 'application/apply-patch+yaml'
    })
    expect(JSON.parse(request.body).spec.template.spec.fieldFromAFutureRelease).toEqual({ keep: [1, 'two', null] })
  })

  it('asks for a dry run of every stage when validating', () => {
    const request = applyRequest({ object: deployment, resource, namespace: 'app' }, 'm', true)
    expect(request.query).toEqual({ fieldManager: 'm', force: 'true', fieldValidation: 'Strict', dryRun: 'All' })
  })
})

describe('apiReason', () => {
  it.each([
    [
      'Deployment.apps "web" is invalid: spec.template.spec.containers[0].imagePullPolicy: Unsupported value: "Sometimes"',
      'spec.template.spec.containers[0].imagePullPolicy: Unsupported value: "Sometimes"'
    ],
    [
      'failed to create typed patch object (app/bad; apps/v1, Kind=Deployment): .spec.replicaz: field not declared in schema',
      '.spec.replicaz: field not declared in schema'
    ],
    ['namespaces "nope" not found', 'namespaces "nope" not found']
  ])('%s', (message, reason) => {
    expect(apiReason(new KubeApiError(422, 'Invalid', message, 'PATCH /x'))).toBe(reason)
  })
})

describe('sameObject (plan: change or unchanged)', () => {
  const live = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: 'c',
      namespace: 'web',
      resourceVersion: '10',
      managedFields: [{ manager: 'gitops-push-deploy' }],
      annotations: { 'gitops-push-deploy/env-commit': 'abc', team: 'a' }
    },
    data: { a: '1', b: '2' }
  }
  it.each<[string, Record<string, unknown>, boolean]>([
    [
      'the same object, bookkeeping aside',
      { metadata: { ...live.metadata, resourceVersion: '11', managedFields: [] } },
      true
    ],
    ['keys in another order', { data: { b: '2', a: '1' } }, true],
    ['without our deploy annotations', { metadata: { ...live.metadata, annotations: { team: 'a' } } }, true],
    ['a changed value', { data: { a: '1', b: '3' } }, false],
    ['a changed annotation', { metadata: { ...live.metadata, annotations: { team: 'b' } } }, false]
  ])('%s: %s', (_name, override, expected) => {
    expect(sameObject(live, { ...live, ...override } as typeof live)).toBe(expected)
  })
})
