// The GraphQL documents the env-repo stage sends, and the reading of their answers: one query reads a
// commit (a branch head or a sha) with every file under the env paths, one mutation commits.
import { type TreeFile } from './files.js'

/** Folder levels below an env path read in the same query; deeper trees take one more query per level batch. */
export const TREE_DEPTH = 4

const BLOB = 'fragment Blob on Blob { byteSize isBinary isTruncated text }'

/**
 * `E{first}` … `E{TREE_DEPTH}`: tree entries with their blobs, each level expanding the next (E0 is an
 * env path itself, E1 an entry of a tree read; a fragment the document does not use fails validation).
 */
function entryFragments(first: 0 | 1): string {
  const fragments = [BLOB]
  for (let level = first; level <= TREE_DEPTH; level++) {
    const below = level < TREE_DEPTH ? ` ... on Tree { entries { ...E${level + 1} } }` : ''
    fragments.push(`fragment E${level} on TreeEntry { name mode type oid object { ...Blob${below} } }`)
  }
  return fragments.join('\n')
}

export const OPEN_QUERY = `query EnvOpen($owner: String!, $name: String!, $ref: String!, $named: Boolean!) {
  repository(owner: $owner, name: $name) {
    defaultBranchRef { name target { oid } }
    ref(qualifiedName: $ref) @include(if: $named) { target { oid } }
  }
}`

/**
 * The commit at a branch head (`at: 'ref'`) or a sha, with its tree, message and first parent, and
 * each env path (`$p0`…) read `TREE_DEPTH` levels down (`.` is the root tree).
 */
export function filesQuery(at: 'ref' | 'oid', paths: string[]): string {
  const variables = paths.map((path, i) => (isRoot(path) ? '' : `, $p${i}: String!`)).join('')
  const reads = paths
    .map((path, i) => (isRoot(path) ? `p${i}: tree { entries { ...E1 } }` : `p${i}: file(path: $p${i}) { ...E0 }`))
    .join(' ')
  const root = at === 'ref' ? 'ref(qualifiedName: $at) { target { ...Snapshot } }' : 'object(oid: $at) { ...Snapshot }'
  const atType = at === 'ref' ? 'String!' : 'GitObjectID!'
  return `query EnvFiles($owner: String!, $name: String!, $at: ${atType}${variables}) {
  repository(owner: $owner, name: $name) { ${root} }
}
fragment Snapshot on Commit { oid url message parents(first: 1) { nodes { oid } } tree { oid } ${reads} }
${entryFragments(paths.every(isRoot) ? 1 : 0)}`
}

/** Trees deeper than one files query reads, by oid (`$t0`…). */
export function treesQuery(count: number): string {
  const variables = Array.from({ length: count }, (_, i) => `, $t${i}: GitObjectID!`).join('')
  const reads = Array.from(
    { length: count },
    (_, i) => `t${i}: object(oid: $t${i}) { ... on Tree { entries { ...E1 } } }`
  )
  return `query EnvTrees($owner: String!, $name: String!${variables}) {
  repository(owner: $owner, name: $name) { ${reads.join(' ')} }
}
${entryFragments(1)}`
}

/** The variables `filesQuery` declares for `paths` (`$p{i}`; `.` needs none). */
export function pathVariables(paths: string[]): Record<string, string> {
  return Object.fromEntries(paths.flatMap((path, i) => (isRoot(path) ? [] : [[`p${i}`, path]])))
}

export const COMMIT_MUTATION = `mutation EnvCommit($input: CreateCommitOnBranchInput!) {
  createCommitOnBranch(input: $input) { commit { oid url } }
}`

/** `.` (or empty): the whole repository, read from the root tree. */
export function isRoot(path: string): boolean {
  return path === '.' || path === ''
}

export interface GraphBlob {
  byteSize: number
  isBinary: boolean | null
  isTruncated: boolean
  text: string | null
}

export interface GraphEntry {
  name: string
  mode: number
  type: string
  oid: string
  object: (Partial<GraphBlob> & { entries?: GraphEntry[] | null }) | null
}

export interface GraphCommit {
  oid: string
  url: string
  message: string
  parents: { nodes: Array<{ oid: string }> }
  tree: { oid: string }
  [read: `p${number}`]: GraphEntry | { entries: GraphEntry[] | null } | null
}

/** What one read gives: entries with paths from the root, the texts GraphQL gave byte-exact, trees still to read. */
export interface GraphRead {
  entries: TreeFile[]
  texts: Map<string, string>
  /** Trees at the depth limit, not expanded: path → oid. */
  deeper: Map<string, string>
}

/** GraphQL gives modes as integers (33188); Git and REST spell them in octal ('100644', '040000'). */
export function octalMode(mode: number): string {
  return mode.toString(8).padStart(6, '0')
}

/**
 * A blob's text when it is the file's bytes exactly: not binary, not cut short, and as many UTF-8
 * bytes as the blob has (GitHub may transcode other encodings, which changes the length).
 */
export function exactText(blob: Partial<GraphBlob> | null | undefined): string | undefined {
  if (!blob || blob.isBinary !== false || blob.isTruncated !== false || typeof blob.text !== 'string') return undefined
  return Buffer.byteLength(blob.text, 'utf8') === blob.byteSize ? blob.text : undefined
}

function joinPath(prefix: string, name: string): string {
  return prefix ? `${prefix}/${name}` : name
}

/** Adds entries under `prefix` (recursively, as deep as the answer goes) to `read`. */
export function collectEntries(entries: GraphEntry[] | null | undefined, prefix: string, read: GraphRead): void {
  for (const entry of entries ?? []) addEntry(entry, joinPath(prefix, entry.name), read)
}

/** Adds one entry at `path` and what the answer holds below it. */
export function addEntry(entry: GraphEntry, path: string, read: GraphRead): void {
  if (entry.type !== 'blob' && entry.type !== 'tree' && entry.type !== 'commit') return
  read.entries.push({ path, mode: octalMode(entry.mode), type: entry.type, sha: entry.oid })
  if (entry.type === 'blob') {
    const text = exactText(entry.object)
    if (text !== undefined) read.texts.set(entry.oid, text)
  } else if (entry.type === 'tree') {
    if (entry.object?.entries) collectEntries(entry.object.entries, path, read)
    else read.deeper.set(path, entry.oid)
  }
}

/** A commit message as `createCommitOnBranch` takes it: the first line, and the rest as the body. */
export function messageParts(message: string): { headline: string; body?: string } {
  const [headline, ...rest] = message.trim().split('\n')
  const body = rest.join('\n').trim()
  return body ? { headline: headline.trim(), body } : { headline: headline.trim() }
}

/** Whether a commit's message is the one `messageParts(message)` made (GitHub joins them with a blank line). */
export function sameMessage(stored: string, message: string): boolean {
  const { headline, body } = messageParts(message)
  return stored.trim() === (body ? `${headline}\n\n${body}` : headline)
}

export interface GraphError {
  type?: string
  message: string
  extensions?: { code?: string }
}

/** The `errors` of a GraphQL answer that carried some (Octokit's GraphqlResponseError), else undefined. */
export function graphErrors(error: unknown): GraphError[] | undefined {
  const errors = (error as { errors?: unknown } | undefined)?.errors
  return Array.isArray(errors) && errors.length > 0 ? (errors as GraphError[]) : undefined
}

/** GitHub's answer when `expectedHeadOid` is no longer the head: "Expected branch to point to … Pull and try again." */
export function isStaleHead(errors: GraphError[]): boolean {
  return errors.some(e => e.type === 'STALE_DATA' || /Expected branch to point to/i.test(e.message))
}

/** A GitHub whose schema lacks what the stage uses (older Enterprise Server): use REST instead. */
export function isMissingFromSchema(errors: GraphError[]): boolean {
  return errors.some(
    e =>
      e.extensions?.code === 'undefinedField' ||
      e.extensions?.code === 'undefinedType' ||
      /doesn't exist on type/i.test(e.message)
  )
}
