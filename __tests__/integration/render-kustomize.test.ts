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

  // The apply policy and the image locator read kustomization fields in any case
  // (isKustomizationField) because kustomize does: here the real binary reads each spelling.
  it.each([
    ['RESOURCES: [cm.yaml]', 'settings', undefined],
    ['reſources: [cm.yaml]', 'settings', undefined],
    ['Resources: [cm.yaml]\nPatches: [{PATH: patch.yaml}]', 'settings', 'patched'],
    ['ConfigMapGenerator: [{NAME: generated, FILES: [patch.yaml]}]', 'generated', undefined]
  ])('kustomize reads %j', async (kustomization, name, value) => {
    const manifests = await readManifests([
      { path: 'app/kustomization.yaml', content: kustomization },
      { path: 'app/cm.yaml', content: configMap('settings') },
      { path: 'app/patch.yaml', content: `${configMap('settings')}data: {value: patched}\n` }
    ])
    const object = manifests.map(m => m.object as { metadata: { name: string }; data?: Record<string, string> })[0]
    expect(object.metadata.name).toMatch(new RegExp(`^${name}`))
    if (value) expect(object.data).toEqual({ value })
  })
})
