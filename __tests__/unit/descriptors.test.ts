import { describe, expect, it } from '@jest/globals'
import {
  isDescriptorFile,
  isKustomizationField,
  isKustomizationFile,
  isManifestFile,
  kustomizationFieldValues
} from '../../src/lib/descriptors.js'

describe('which files are descriptors', () => {
  // Kustomization names: kustomize's konfig.RecognizedKustomizationFileNames.
  it.each<[string, { manifest: boolean; kustomization: boolean }]>([
    ['apps/web/deploy.yaml', { manifest: true, kustomization: false }],
    ['deploy.yml', { manifest: true, kustomization: false }],
    ['apps/web/cm.json', { manifest: true, kustomization: false }],
    ['apps/web/DEPLOY.YAML', { manifest: true, kustomization: false }],
    ['apps/web/svc.Yml', { manifest: true, kustomization: false }],
    ['apps/web/kustomization.yaml', { manifest: true, kustomization: true }],
    ['apps/web/kustomization.yml', { manifest: true, kustomization: true }],
    ['apps/web/Kustomization', { manifest: false, kustomization: true }],
    ['Kustomization', { manifest: false, kustomization: true }],
    ['apps/web/KUSTOMIZATION.yaml', { manifest: true, kustomization: false }],
    ['apps/web/kustomization.json', { manifest: true, kustomization: false }],
    ['apps/web/kustomization.yaml.bak', { manifest: false, kustomization: false }],
    ['apps/kustomization.yaml/cm.txt', { manifest: false, kustomization: false }],
    ['apps/deploy.yaml/README', { manifest: false, kustomization: false }],
    ['apps/web/README.md', { manifest: false, kustomization: false }],
    ['apps/web/values.yaml.tpl', { manifest: false, kustomization: false }],
    ['apps/web/yaml', { manifest: false, kustomization: false }],
    // a file named only by its extension is no manifest (a hidden file, as kubectl's walk sees it)
    ['apps/web/.yaml', { manifest: false, kustomization: false }],
    ['.json', { manifest: false, kustomization: false }],
    ['apps/web/.hidden.yaml', { manifest: true, kustomization: false }]
  ])('%s: %j', (path, expected) => {
    expect({ manifest: isManifestFile(path), kustomization: isKustomizationFile(path) }).toEqual(expected)
    expect(isDescriptorFile(path)).toBe(expected.manifest || expected.kustomization)
  })
})

describe('kustomization fields, read as kustomize reads them', () => {
  it.each<[unknown, string, boolean]>([
    ['resources', 'resources', true],
    ['RESOURCES', 'resources', true],
    ['reſources', 'resources', true],
    ['\u212Aind', 'kind', true], // the Kelvin sign folds to k in Go
    ['patchesJSON6902', 'patchesJson6902', true],
    ['resource', 'resources', false],
    ['resources ', 'resources', false],
    [1, 'resources', false],
    [null, 'resources', false]
  ])('kustomize reads the key %j as the field %s: %s', (key, name, expected) => {
    expect(isKustomizationField(key, name)).toBe(expected)
  })

  it('gives the value of every spelling of the field, in document order, and nothing else', () => {
    const kustomization = { RESOURCES: ['b'], bases: ['c'], resources: ['a'], reſources: 'd' }
    expect(kustomizationFieldValues(kustomization, 'resources')).toEqual([['b'], ['a'], 'd'])
    expect(kustomizationFieldValues(kustomization, 'components')).toEqual([])
  })

  // Only a mapping has fields: a list or a scalar has none, whatever its indexes are called.
  it.each<[string, unknown, string]>([
    ['undefined', undefined, 'resources'],
    ['null', null, 'resources'],
    ['a list', ['x'], '0'],
    ['a string', 'abc', '0'],
    ['a number', 5, 'resources'],
    ['false', false, 'resources']
  ])('%s has no fields', (_name, value, field) => {
    expect(kustomizationFieldValues(value, field)).toEqual([])
  })
})
