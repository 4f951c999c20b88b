import { describe, expect, it } from '@jest/globals'
import { authFilePaths, registryKey, seedAuthConfig, storedCredentials } from '../../src/build/credentials.js'

const b64 = (text: string) => Buffer.from(text).toString('base64')

describe('registryKey', () => {
  it.each([
    ['https://index.docker.io/v1/', 'docker.io'],
    ['registry-1.docker.io', 'docker.io'],
    ['docker.io', 'docker.io'],
    ['https://ghcr.io', 'ghcr.io'],
    ['GHCR.io', 'ghcr.io'],
    ['localhost:5000', 'localhost:5000'],
    ['http://localhost:5000/v2/', 'localhost:5000']
  ])('%s → %s', (key, host) => {
    expect(registryKey(key)).toBe(host)
  })
})

describe('storedCredentials', () => {
  const config = {
    auths: {
      'https://index.docker.io/v1/': { auth: b64('hubuser:hub:pass') },
      'ghcr.io': { username: 'gh', password: 'ghp_x' },
      'localhost:5000': { auth: b64('nocolon') },
      'quay.io': {}
    },
    credsStore: 'desktop'
  }
  it.each([
    ['docker.io', { username: 'hubuser', password: 'hub:pass' }],
    ['ghcr.io', { username: 'gh', password: 'ghp_x' }],
    ['localhost:5000', undefined],
    ['quay.io', undefined],
    ['example.com', undefined]
  ])('%s', (domain, expected) => {
    expect(storedCredentials(config, domain)).toEqual(expected)
  })

  it.each([undefined, null, 'text', {}, { auths: null }])('copes with %j', config => {
    expect(storedCredentials(config, 'ghcr.io')).toBeUndefined()
  })
})

describe('seedAuthConfig', () => {
  it('drops the credential store and every entry for the registry, keeps the rest', () => {
    const user = {
      auths: { 'https://ghcr.io': { auth: 'old' }, 'quay.io': { auth: 'q' } },
      credHelpers: { 'ghcr.io': 'gh', 'gcr.io': 'gcloud' },
      credsStore: 'desktop',
      proxies: { default: {} }
    }
    expect(seedAuthConfig(user, 'ghcr.io')).toEqual({
      auths: { 'quay.io': { auth: 'q' } },
      credHelpers: { 'gcr.io': 'gcloud' },
      proxies: { default: {} }
    })
    expect(user.credsStore).toBe('desktop')
  })

  it.each([undefined, 'not json'])('starts empty from %j', config => {
    expect(seedAuthConfig(config, 'ghcr.io')).toEqual({ auths: {} })
  })
})

describe('authFilePaths', () => {
  it.each([
    [{}, ['/home/u/.docker/config.json']],
    [
      { REGISTRY_AUTH_FILE: '/a.json', XDG_RUNTIME_DIR: '/run/user/1', DOCKER_CONFIG: '/dc' },
      ['/a.json', '/run/user/1/containers/auth.json', '/dc/config.json']
    ]
  ])('%j', (env, paths) => {
    expect(authFilePaths(env, '/home/u')).toEqual(paths)
  })
})
