import { describe, expect, it } from '@jest/globals'
import {
  familiarName,
  formatReference,
  isValidDigest,
  isValidTag,
  parseImageReference,
  parseImageRepository,
  repositoryName,
  sameRepository
} from '../../src/image/reference.js'

const SHA256 = `sha256:${'a'.repeat(64)}`
const SHA512 = `sha512:${'b'.repeat(128)}`

describe('parseImageReference', () => {
  it.each([
    // Docker Hub defaults
    ['nginx', { domain: 'docker.io', path: 'library/nginx' }],
    ['nginx:1.27', { domain: 'docker.io', path: 'library/nginx', tag: '1.27' }],
    ['acme/web', { domain: 'docker.io', path: 'acme/web' }],
    ['acme/web:v1', { domain: 'docker.io', path: 'acme/web', tag: 'v1' }],
    ['docker.io/nginx', { domain: 'docker.io', path: 'library/nginx' }],
    ['docker.io/library/nginx:latest', { domain: 'docker.io', path: 'library/nginx', tag: 'latest' }],
    ['index.docker.io/nginx', { domain: 'docker.io', path: 'library/nginx' }],
    ['registry-1.docker.io/acme/web', { domain: 'docker.io', path: 'acme/web' }],
    ['acme/team/web', { domain: 'docker.io', path: 'acme/team/web' }],
    // a dot makes the first component a registry only when a path follows
    ['my.app', { domain: 'docker.io', path: 'library/my.app' }],
    // other registries
    ['ghcr.io/acme/web', { domain: 'ghcr.io', path: 'acme/web' }],
    ['ghcr.io/acme/web:sha-1234567', { domain: 'ghcr.io', path: 'acme/web', tag: 'sha-1234567' }],
    ['registry.example.com/a/b/c/d:t', { domain: 'registry.example.com', path: 'a/b/c/d', tag: 't' }],
    ['Registry.Example.COM/a', { domain: 'Registry.Example.COM', path: 'a' }],
    // ports: the colon of the port is no tag
    ['localhost:5000/a/b:t', { domain: 'localhost:5000', path: 'a/b', tag: 't' }],
    ['localhost:5000/a/b', { domain: 'localhost:5000', path: 'a/b' }],
    ['127.0.0.1:5000/a', { domain: '127.0.0.1:5000', path: 'a' }],
    ['registry.local:5000/team/api:1.0.0', { domain: 'registry.local:5000', path: 'team/api', tag: '1.0.0' }],
    ['[::1]:5000/a/b:t', { domain: '[::1]:5000', path: 'a/b', tag: 't' }],
    ['[fe80::1]/a', { domain: '[fe80::1]', path: 'a' }],
    ['localhost/a', { domain: 'localhost', path: 'a' }],
    ['r.example.com/a', { domain: 'r.example.com', path: 'a' }],
    // without a domain, `localhost:5000` is the name localhost with tag 5000, as in distribution
    ['localhost:5000', { domain: 'docker.io', path: 'library/localhost', tag: '5000' }],
    ['localhost', { domain: 'docker.io', path: 'library/localhost' }],
    // digests, with and without tag
    [`nginx@${SHA256}`, { domain: 'docker.io', path: 'library/nginx', digest: SHA256 }],
    [`ghcr.io/a/b:v1@${SHA256}`, { domain: 'ghcr.io', path: 'a/b', tag: 'v1', digest: SHA256 }],
    [`localhost:5000/a:t@${SHA512}`, { domain: 'localhost:5000', path: 'a', tag: 't', digest: SHA512 }],
    [`localhost:5000/a@${SHA256}`, { domain: 'localhost:5000', path: 'a', digest: SHA256 }],
    // separators inside path components
    ['a/b.c_d__e-f--g', { domain: 'docker.io', path: 'a/b.c_d__e-f--g' }],
    // separators followed by more than one character (team/my-app is the common shape)
    ['ghcr.io/team/my-app:v1', { domain: 'ghcr.io', path: 'team/my-app', tag: 'v1' }],
    ['team/web.server_api__v2--beta', { domain: 'docker.io', path: 'team/web.server_api__v2--beta' }],
    ['registry.local:5000/my-team/my-app', { domain: 'registry.local:5000', path: 'my-team/my-app' }],
    // tags: word characters, dots and dashes; leading underscore allowed
    ['a:_x', { domain: 'docker.io', path: 'library/a', tag: '_x' }],
    [`a:${'t'.repeat(128)}`, { domain: 'docker.io', path: 'library/a', tag: 't'.repeat(128) }],
    ['  ghcr.io/a/b:t  ', { domain: 'ghcr.io', path: 'a/b', tag: 't' }],
    // the longest name allowed: 255 characters before tag and digest
    [`ghcr.io/${'a'.repeat(247)}:t`, { domain: 'ghcr.io', path: 'a'.repeat(247), tag: 't' }]
  ])('%s', (input, expected) => {
    expect(parseImageReference(input)).toEqual({ tag: undefined, digest: undefined, ...expected })
  })

  it.each([
    ['', /is empty/],
    ['   ', /is empty/],
    ['ghcr.io/a b', /white space/],
    [':t', /no repository name/],
    [`@${SHA256}`, /no repository name/],
    ['ghcr.io/', /no repository path/],
    ['ghcr.io/a//b', /invalid path component ""/],
    ['ghcr.io/a/', /invalid path component ""/],
    ['Acme/web', /invalid path component "Acme"/],
    ['ghcr.io/Acme/web', /invalid path component "Acme"/],
    ['ghcr.io/a/-b', /invalid path component "-b"/],
    ['ghcr.io/a/b.', /invalid path component "b."/],
    ['ghcr.io/a/b___c', /invalid path component "b___c"/],
    ['a:', /invalid tag ""/],
    ['a:-t', /invalid tag "-t"/],
    ['a:.t', /invalid tag ".t"/],
    ['a:t/x', /invalid registry "a:t"/],
    [`a:${'t'.repeat(129)}`, /invalid tag/],
    ['a:t:u', /invalid registry|invalid tag|invalid path/],
    ['a@sha256:abc', /invalid digest "sha256:abc"/],
    [`a@sha256:${'A'.repeat(64)}`, /invalid digest/],
    [`a@md5:${'a'.repeat(32)}`, /invalid digest/],
    [`a@${SHA256}@${SHA256}`, /invalid digest/],
    ['a@', /invalid digest ""/],
    ['-bad.example.com/a', /invalid registry "-bad.example.com"/],
    ['host:port/a', /invalid registry "host:port"/],
    ['host:/a', /invalid registry "host:"/],
    ['bad_host.com/a', /invalid registry "bad_host.com"/],
    ['a[::1]:5000/b', /invalid registry "a\[::1\]:5000"/],
    ['[::1]:5000x/b', /invalid registry "\[::1\]:5000x"/],
    ['[abc]/a', /invalid path component "\[abc\]"/],
    [`ghcr.io/${'a'.repeat(250)}`, /longer than 255/]
  ])('rejects %j', (input, message) => {
    expect(() => parseImageReference(input)).toThrow(message)
  })
})

describe('parseImageRepository', () => {
  it.each([
    ['nginx', { domain: 'docker.io', path: 'library/nginx' }],
    ['ghcr.io/acme/web', { domain: 'ghcr.io', path: 'acme/web' }],
    ['localhost:5000/a/b', { domain: 'localhost:5000', path: 'a/b' }]
  ])('%s', (input, expected) => {
    expect(parseImageRepository(input)).toEqual(expected)
  })

  it.each([
    ['ghcr.io/acme/web:v1', /must not contain a tag/],
    [`ghcr.io/acme/web@${SHA256}`, /must not contain a digest/],
    ['', /is empty/],
    ['Acme/Web', /invalid path component/]
  ])('rejects %j', (input, message) => {
    expect(() => parseImageRepository(input)).toThrow(message)
  })
})

describe('tags and digests', () => {
  it.each([
    ['v1', true],
    ['1.0.0-rc.1', true],
    ['_', true],
    ['a'.repeat(128), true],
    ['a'.repeat(129), false],
    ['-x', false],
    ['.x', false],
    ['a+b', false],
    ['', false]
  ])('isValidTag(%j) = %s', (tag, valid) => {
    expect(isValidTag(tag)).toBe(valid)
  })

  it.each([
    [SHA256, true],
    [SHA512, true],
    [`sha256:${'a'.repeat(63)}`, false],
    [`sha512:${'a'.repeat(64)}`, false],
    [`SHA256:${'a'.repeat(64)}`, false],
    [`x${SHA512}`, false],
    [`${SHA512}b`, false],
    ['a'.repeat(64), false]
  ])('isValidDigest(%j) = %s', (digest, valid) => {
    expect(isValidDigest(digest)).toBe(valid)
  })
})

describe('names', () => {
  it.each([
    [{ domain: 'docker.io', path: 'library/nginx' }, 'docker.io/library/nginx', 'nginx'],
    [{ domain: 'docker.io', path: 'acme/web' }, 'docker.io/acme/web', 'acme/web'],
    // only official images lose `library/`
    [{ domain: 'docker.io', path: 'library/a/b' }, 'docker.io/library/a/b', 'library/a/b'],
    [{ domain: 'ghcr.io', path: 'library/x' }, 'ghcr.io/library/x', 'ghcr.io/library/x'],
    [{ domain: 'docker.io', path: 'acme/library/web' }, 'docker.io/acme/library/web', 'acme/library/web'],
    [{ domain: 'localhost:5000', path: 'a/b' }, 'localhost:5000/a/b', 'localhost:5000/a/b']
  ])('%j → %s, familiar %s', (repo, full, familiar) => {
    expect(repositoryName(repo)).toBe(full)
    expect(familiarName(repo)).toBe(familiar)
  })

  it.each([
    ['nginx', 'docker.io/library/nginx', true],
    ['acme/web', 'index.docker.io/acme/web', true],
    ['Registry.Example.com/a', 'registry.example.com/a', true],
    ['localhost:5000/a', 'localhost:5001/a', false],
    ['ghcr.io/a/b', 'ghcr.io/a/c', false]
  ])('sameRepository(%s, %s) = %s', (a, b, same) => {
    expect(sameRepository(parseImageRepository(a), parseImageRepository(b))).toBe(same)
  })

  it.each([
    ['ghcr.io/a', 'v1', undefined, 'ghcr.io/a:v1'],
    ['ghcr.io/a', undefined, SHA256, `ghcr.io/a@${SHA256}`],
    ['localhost:5000/a', 't', SHA256, `localhost:5000/a:t@${SHA256}`],
    ['nginx', undefined, undefined, 'nginx']
  ])('formatReference(%s, %s, %s)', (repo, tag, digest, expected) => {
    expect(formatReference(repo, tag, digest)).toBe(expected)
    expect(parseImageReference(expected)).toMatchObject({ tag, digest })
  })
})
