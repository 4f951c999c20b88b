import { describe, expect, it } from '@jest/globals'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { buildSchema, parse, validate } from 'graphql'
import {
  addEntry,
  COMMIT_MUTATION,
  exactText,
  filesQuery,
  isMissingFromSchema,
  isStaleHead,
  messageParts,
  octalMode,
  OPEN_QUERY,
  sameMessage,
  treesQuery,
  type GraphEntry,
  type GraphRead
} from '../../src/gitops/graphql.js'

// GitHub's published schema; its IDL defines a few fields twice, so it is taken as valid.
const idl = readFileSync(
  new URL('schema.graphql', `file://${fileURLToPath(import.meta.resolve('@octokit/graphql-schema'))}`),
  'utf8'
)
const schema = buildSchema(idl, { assumeValidSDL: true })

describe("the documents fit GitHub's published schema", () => {
  it.each<[string, string]>([
    ['open', OPEN_QUERY],
    ['files at a branch, folders and a file', filesQuery('ref', ['apps/api', 'base/kustomization.yaml'])],
    ['files at a sha, the whole repository', filesQuery('oid', ['.'])],
    ['files at a branch, root and a folder', filesQuery('ref', ['.', 'apps'])],
    ['deeper trees', treesQuery(3)],
    ['commit', COMMIT_MUTATION]
  ])('%s', (_name, document) => {
    expect(validate(schema, parse(document)).map(error => error.message)).toEqual([])
  })
})

describe('answers', () => {
  it.each<[number, string]>([
    [0o100644, '100644'],
    [0o100755, '100755'],
    [0o040000, '040000'],
    [0o120000, '120000'],
    [0o160000, '160000']
  ])('mode %d is %s', (mode, octal) => expect(octalMode(mode)).toBe(octal))

  it.each<[string, Parameters<typeof exactText>[0], string | undefined]>([
    ['text', { byteSize: 9, isBinary: false, isTruncated: false, text: 'café ✓' }, 'café ✓'],
    ['binary', { byteSize: 3, isBinary: true, isTruncated: false, text: null }, undefined],
    ['cut short', { byteSize: 90, isBinary: false, isTruncated: true, text: 'abc' }, undefined],
    [
      'transcoded (Latin-1 read as UTF-8)',
      { byteSize: 4, isBinary: false, isTruncated: false, text: 'café' },
      undefined
    ],
    ['binary unknown', { byteSize: 1, isBinary: null, isTruncated: false, text: 'a' }, undefined],
    ['no blob', null, undefined]
  ])('%s', (_name, blob, text) => expect(exactText(blob)).toBe(text))

  it('entries get paths from the root; texts only where exact; trees past the depth are left to read', () => {
    const read: GraphRead = { entries: [], texts: new Map(), deeper: new Map() }
    const blob = (name: string, text: string): GraphEntry => ({
      name,
      mode: 0o100644,
      type: 'blob',
      oid: `${name}-oid`,
      object: { byteSize: Buffer.byteLength(text), isBinary: false, isTruncated: false, text }
    })
    addEntry(
      {
        name: 'api',
        mode: 0o040000,
        type: 'tree',
        oid: 'api-oid',
        object: {
          entries: [
            blob('a.yaml', 'image: x\n'),
            { name: 'deep', mode: 0o040000, type: 'tree', oid: 'deep-oid', object: {} },
            { name: 'sub', mode: 0o160000, type: 'commit', oid: 'sub-oid', object: null }
          ]
        }
      },
      'apps/api',
      read
    )
    expect(read.entries.map(e => [e.path, e.mode, e.type])).toEqual([
      ['apps/api', '040000', 'tree'],
      ['apps/api/a.yaml', '100644', 'blob'],
      ['apps/api/deep', '040000', 'tree'],
      ['apps/api/sub', '160000', 'commit']
    ])
    expect([...read.texts]).toEqual([['a.yaml-oid', 'image: x\n']])
    expect([...read.deeper]).toEqual([['apps/api/deep', 'deep-oid']])
  })
})

describe('commit messages', () => {
  it.each<[string, { headline: string; body?: string }, string]>([
    ['deploy api 2.0', { headline: 'deploy api 2.0' }, 'deploy api 2.0'],
    ['deploy\n\nbody\nmore\n', { headline: 'deploy', body: 'body\nmore' }, 'deploy\n\nbody\nmore'],
    ['deploy\nbody', { headline: 'deploy', body: 'body' }, 'deploy\n\nbody']
  ])('%j', (message, parts, stored) => {
    expect(messageParts(message)).toEqual(parts)
    expect(sameMessage(stored, message)).toBe(true)
    expect(sameMessage(`${stored} (another run)`, message)).toBe(false)
  })
})

describe('errors', () => {
  it('a stale head is a lost race; a missing field is a GitHub without the mutation', () => {
    const stale = [
      {
        type: 'STALE_DATA',
        message:
          'Expected branch to point to "d8a7a1d03f212ac203112cf729d6c27d7030f42c" but it did not.  Pull and try again.'
      }
    ]
    expect(isStaleHead(stale)).toBe(true)
    expect(isStaleHead([{ type: 'FORBIDDEN', message: 'Resource not accessible by integration' }])).toBe(false)
    expect(
      isMissingFromSchema([
        {
          message: "Field 'createCommitOnBranch' doesn't exist on type 'Mutation'",
          extensions: { code: 'undefinedField' }
        }
      ])
    ).toBe(true)
    expect(isMissingFromSchema(stale)).toBe(false)
  })
})
