// A real overlay built by the kustomize the test bed installs (kubectl kustomize): the
// renderer's output, not a stand-in's. It lives here, not in the unit project, because a
// unit run must not depend on a binary only the test bed guarantees.
import { describe, expect, it } from '@jest/globals'
import { findOnPath, readManifests } from '../../src/render/manifests.js'

const configMap = (name: string): string => `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ${name}}\n`

describe('kustomize rendering', () => {
  it('finds kustomize or kubectl on PATH (the test bed installs kubectl)', async () => {
    expect(await findOnPath(['kustomize', 'kubectl'])).toMatch(/\/(kustomize|kubectl)$/)
  })

  it('renders a real overlay: name prefix and namespace applied, source named', async () => {
    const manifests = await readManifests([
      { path: 'base/kustomization.yaml', content: 'resources: [cm.yaml]' },
      { path: 'base/cm.yaml', content: configMap('settings') },
      { path: 'prod/kustomization.yaml', content: 'resources: [../base]\nnamePrefix: prod-\nnamespace: shop' }
    ])
    expect(manifests.map(m => [m.object.metadata.namespace, m.object.metadata.name, m.source])).toEqual([
      ['shop', 'prod-settings', 'kustomize build prod (document 1)']
    ])
  })
})
