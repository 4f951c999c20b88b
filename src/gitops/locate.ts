// Finds every place in one YAML file that names an image, with the source offsets needed to
// rewrite it in place. The `yaml` parser only locates; nothing is ever re-serialised.
import {
  isAlias,
  isMap,
  isScalar,
  isSeq,
  parseAllDocuments,
  type Document,
  type Node,
  type Range,
  type Scalar,
  type YAMLMap
} from 'yaml'
import {
  parseImageReference,
  repositoryName,
  sameRepository,
  type ImageReference,
  type ImageRepository
} from '../image/reference.js'
import { type ScalarSpot } from './scalar.js'
import { isKustomizationField, isKustomizationFile } from '../lib/descriptors.js'

interface LocationBase {
  /** Document index and path inside it (`0:spec/template/spec/containers/1/image`); survives edits elsewhere. */
  key: string
  /** 1-based line of the value in the file. */
  line: number
}

/**
 * A scalar holding a whole reference: a container's `image`, a Helm `image:` string, an `image`
 * marker, a JSON 6902 `value`, an Argo CD `kustomize.images` entry (after its `alias=` prefix).
 */
export interface ReferenceLocation extends LocationBase {
  kind: 'reference'
  scalar: ScalarSpot
  /** Text before the reference inside the scalar (`alias=`); '' for most. */
  prefix: string
}

/** A scalar holding only a tag or only a digest, marked `# gitops-push-deploy: tag|digest`. */
export interface PartLocation extends LocationBase {
  kind: 'tag' | 'digest'
  scalar: ScalarSpot
}

export interface PairSpot {
  key: string
  keyStart: number
  /** Set when the value is a scalar (or an alias of one: then the alias is what gets replaced). */
  value?: ScalarSpot
  valueEnd: number
}

/** A mapping, with what is needed to add or drop a key while keeping its layout. */
export interface MapSpot {
  flow: boolean
  /** Column of the keys of a block mapping. */
  keyColumn: number
  pairs: PairSpot[]
}

/** A kustomize `images:` entry (kustomization or Flux `Kustomization.spec.images`). */
export interface KustomizeLocation extends LocationBase {
  kind: 'kustomize'
  /** `newName` when given, else `name`: the repository the entry deploys. */
  repository: string
  entry: MapSpot
}

/**
 * Helm values: a repository-like key (`repository`, or `image` without a tag) with an optional
 * `registry`, next to a tag-like key (`tag`, `imageTag`) and maybe `digest`.
 */
export interface HelmLocation extends LocationBase {
  kind: 'helm'
  repository: string
  repositoryKey: string
  tagKey: string
  entry: MapSpot
}

export type ImageLocation = ReferenceLocation | PartLocation | KustomizeLocation | HelmLocation

export interface LocatedImages {
  /** Locations of the wanted repository, in file order. */
  locations: ImageLocation[]
  /** Every image repository the file names (normalised), for the "nothing matched" error. */
  repositories: string[]
  /** Why the file was skipped (not YAML). */
  skipped?: string
  /** Lines of a skipped file that name the wanted repository (a Helm template hard-coding it). */
  mentions: number[]
  /** Places of the repository left alone, each naming the file and line. */
  warnings: string[]
}

// `# gitops-push-deploy: image|tag|digest [repository]` at the end of a line: an `image` marker
// needs a scalar naming our repository; a `tag`/`digest` marker applies when it names our
// repository or names none (then it belongs to whatever image deploys to this env-path).
const MARKER = 'gitops-push-deploy'
const MARKER_LINE = new RegExp(`(?:^|\\s)#\\s*${MARKER}:\\s*(image|tag|digest)(?:\\s+(\\S+))?\\s*$`)
const HELM_REPOSITORY_KEYS = ['repository', 'image']
const HELM_TAG_KEYS = ['tag', 'imageTag']
// `${VAR}`: filled in later (Flux post-build substitution, envsubst); never ours to write.
const PLACEHOLDER = /\$\{[^}]*\}/g

/**
 * Whether a file may hold a location of the repository: every form names the repository's last
 * path component in the file (a Helm `repository`, a kustomize `name`/`newName`, a reference)
 * or carries a marker. Files that cannot are not parsed, which keeps large env paths fast.
 */
export function mayName(source: string, repository: ImageRepository): boolean {
  return source.includes(repository.path.slice(repository.path.lastIndexOf('/') + 1)) || source.includes(MARKER)
}

/** A reference, or undefined when the text is not one (`{{ .Values.image }}`, `$(IMAGE)`). */
export function tryParseReference(text: string): ImageReference | undefined {
  try {
    return parseImageReference(text)
  } catch {
    return undefined
  }
}

/** `alias=repo:tag` (Argo CD `kustomize.images`): the prefix up to `=`, and the reference after it. */
export function splitAlias(text: string): { prefix: string; reference: string } {
  // without `=` the cut is at 0: no prefix
  const cut = text.indexOf('=') + 1
  return { prefix: text.slice(0, cut), reference: text.slice(cut) }
}

interface ValueScalar {
  spot: ScalarSpot
  key: string
}

/** Collects the image locations of `repository` in one file. */
export function locateImages(source: string, path: string, repository: ImageRepository): LocatedImages {
  const docs = parseAllDocuments(source)
  const broken = docs.find(doc => doc.errors.length > 0)
  if (broken) {
    return {
      locations: [],
      repositories: [],
      skipped: `not YAML: ${broken.errors[0].message.split('\n')[0]}`,
      mentions: mentionLines(source, repository),
      warnings: []
    }
  }

  const lines = lineStarts(source)
  const lineOf = (offset: number): number => lineAt(lines, offset)
  const found = new Set<string>()
  const taken = new Set<number>()
  const locations: ImageLocation[] = []
  const warnings: string[] = []
  const values: ValueScalar[] = []
  const note = (text: string): ImageReference | undefined => {
    const ref = tryParseReference(text)
    if (ref) found.add(repositoryName(ref))
    return ref
  }
  const ours = (ref: ImageReference | undefined): boolean => ref !== undefined && sameRepository(ref, repository)
  // scalar offsets already covered by a location: each scalar is edited by one location only
  const add = (location: ImageLocation, covered: number[]): void => {
    if (covered.some(offset => taken.has(offset))) return
    for (const offset of covered) taken.add(offset)
    const placeholder = spotsOf(location).find(spot => PLACEHOLDER.test(spot.value))
    PLACEHOLDER.lastIndex = 0
    if (placeholder) {
      warnings.push(`${path}:${location.line}: ${placeholder.value.trim()} holds a \${…} placeholder: left alone`)
      return
    }
    locations.push(location)
  }
  const reference = (spot: ScalarSpot, key: string, prefix = ''): void => {
    const text = spot.value.slice(prefix.length)
    if (ours(note(text))) {
      add({ kind: 'reference', key, line: lineOf(spot.start), scalar: spot, prefix }, [spot.start])
    } else if (namesWithPlaceholder(text, repository)) {
      warnings.push(`${path}:${lineOf(spot.start)}: ${text.trim()} holds a \${…} placeholder: left alone`)
    }
  }
  const kustomizeImages = (images: unknown, doc: Document, index: number, at: string): void => {
    if (!isSeq(images)) return
    images.items.forEach((item, i) => {
      if (!isMap(item)) return
      const entry = mapSpot(doc, item, Boolean(images.flow || item.flow), source)
      const name = field(entry, 'name')?.value
      if (name === undefined) return
      const newName = field(entry, 'newName')?.value
      // both names are noted for the repositories list; without newName, name counts twice
      const matches = [name, newName ?? name].map(n => note(n))
      if (!matches.some(ours)) return
      const location: KustomizeLocation = {
        kind: 'kustomize',
        key: `${index}:${at}/${i}`,
        line: lineOf(entry.pairs[0].keyStart),
        repository: newName ?? name,
        entry
      }
      add(location, valueStarts(entry))
    })
  }

  docs.forEach((doc, index) => {
    const root: unknown = doc.contents
    const kind = isMap(root) ? stringAt(root, ['kind']) : undefined
    const apiVersion = isMap(root) ? stringAt(root, ['apiVersion']) : undefined
    // Flux ImageRepository.spec.image names a repository to scan: a tag there is refused
    const repositoryOnly = kind === 'ImageRepository' && apiVersion?.startsWith('image.toolkit.fluxcd.io/')

    // override carriers first: they win at render time over what the manifests say
    if (isKustomizationFile(path) && isMap(root)) {
      // (`get` returns a collection as its node whatever `keepScalar` says)
      const images = kustomizationKey(root, 'images')
      kustomizeImages(root.get(images), doc, index, images)
      patchLocations(root, source, path, repository).forEach(found => {
        found.located.repositories.forEach(r => note(r))
        warnings.push(...found.located.warnings)
        for (const location of found.located.locations) {
          const shifted = shiftLocation(location, found.map, found.indent, `${index}:${found.at}|`)
          // the patch's lines are the file's lines from its first one on
          add({ ...shifted, line: lineOf(found.map(0)) + location.line - 1 }, coveredOf(shifted))
        }
      })
    }
    if (kind === 'Kustomization' && apiVersion?.startsWith('kustomize.toolkit.fluxcd.io/') && isMap(root)) {
      kustomizeImages(root.getIn(['spec', 'images']), doc, index, 'spec/images')
    }
    if (kind === 'Application' && apiVersion?.startsWith('argoproj.io/') && isMap(root)) {
      const sources = root.getIn(['spec', 'sources'])
      const carriers: Array<[unknown, string]> = [
        [root.getIn(['spec', 'source', 'kustomize', 'images']), 'spec/source']
      ]
      if (isSeq(sources))
        sources.items.forEach((_, i) => carriers.push([sources.getIn([i, 'kustomize', 'images']), `spec/sources/${i}`]))
      for (const [images, at] of carriers) {
        if (!isSeq(images)) continue
        images.items.forEach((item, i) => {
          if (!isScalar(item) || typeof item.value !== 'string') return
          const spot = scalarSpot(item, Boolean(images.flow), source)
          reference(spot, `${index}:${at}/kustomize/images/${i}`, splitAlias(spot.value).prefix)
        })
      }
    }

    const walk = (node: unknown, path: string[], flow: boolean): void => {
      if (isMap(node)) {
        const inFlow = flow || Boolean(node.flow)
        const entry = mapSpot(doc, node, inFlow, source)
        const key = `${index}:${path.join('/')}`
        const helm = helmRepository(entry)
        if (helm !== undefined) {
          const ref = note(helm.repository)
          if (ours(ref) && ref?.tag === undefined && ref?.digest === undefined) {
            const tag = field(entry, helm.tagKey) as ScalarSpot
            const location: HelmLocation = { kind: 'helm', key, line: lineOf(tag.start), ...helm, entry }
            add(location, coveredOf(location))
          }
        }
        // JSON 6902 operation setting a container image (`value` of a path ending in /image)
        const op = field(entry, 'op')?.value
        const opPath = field(entry, 'path')?.value
        const opValue = field(entry, 'value')
        if ((op === 'replace' || op === 'add') && opPath?.endsWith('/image') && opValue) {
          reference(opValue, `${index}:${[...path, 'value'].join('/')}`)
        }
        for (const pair of node.items) {
          if (!isScalar(pair.key)) continue
          const name = String(pair.key.value)
          // an aliased scalar is edited where it is anchored
          const value = isAlias(pair.value) ? pair.value.resolve(doc) : pair.value
          const at = [...path, name].join('/')
          if (isScalar(pair.value)) values.push({ spot: scalarSpot(pair.value, inFlow, source), key: `${index}:${at}` })
          const repositoryField = repositoryOnly && at === 'spec/image'
          if (name === 'image' && !repositoryField && isScalar(value) && typeof value.value === 'string') {
            reference(scalarSpot(value, inFlow, source), `${index}:${at}`)
          }
          // aliased collections are visited where they are anchored: walk passes over an alias
          walk(pair.value, [...path, name], inFlow)
        }
      } else if (isSeq(node)) {
        const inFlow = flow || Boolean(node.flow)
        node.items.forEach((item, i) => {
          if (isScalar(item))
            values.push({ spot: scalarSpot(item, inFlow, source), key: `${index}:${[...path, i].join('/')}` })
          else walk(item, [...path, String(i)], inFlow)
        })
      }
    }
    walk(root, [], false)
  })

  // markers: the value scalar that ends the marked line, unless a structural rule covers it
  source.split('\n').forEach((lineText, i) => {
    const match = MARKER_LINE.exec(lineText)
    if (!match) return
    const [, part, named] = match
    const lineStart = lines[i]
    const commentAt = lineStart + match.index + match[0].indexOf('#')
    const spot = values
      .filter(v => v.spot.start >= lineStart && v.spot.end <= commentAt)
      .sort((a, b) => b.spot.start - a.spot.start)[0]
    if (!spot) return
    if (part === 'image') {
      if (!ours(note(spot.spot.value))) return
      add({ kind: 'reference', key: spot.key, line: i + 1, scalar: spot.spot, prefix: '' }, [spot.spot.start])
      return
    }
    if (named !== undefined && !ours(note(named))) return
    add({ kind: part as 'tag' | 'digest', key: spot.key, line: i + 1, scalar: spot.spot }, [spot.spot.start])
  })

  return {
    locations: locations.sort((a, b) => a.line - b.line),
    repositories: [...found].sort(),
    mentions: [],
    warnings
  }
}

/** `repo:${TAG}`, `${REGISTRY}/team/api:1.9`: our repository, with a part filled in later. */
function namesWithPlaceholder(text: string, repository: ImageRepository): boolean {
  // without a placeholder, `filled` is the text itself (not ours, or no reference) and `rest` is refused
  const filled = tryParseReference(text.replace(PLACEHOLDER, 'x'))
  if (filled && sameRepository(filled, repository)) return true
  // a placeholder registry: the path alone decides
  const rest = tryParseReference(text.replace(/^\$\{[^}]*\}\//, '').replace(PLACEHOLDER, 'x'))
  return text.startsWith('${') && rest !== undefined && rest.path === repository.path
}

/** The scalars a location reads and writes. */
function spotsOf(location: ImageLocation): ScalarSpot[] {
  switch (location.kind) {
    case 'reference':
    case 'tag':
    case 'digest':
      return [location.scalar]
    case 'kustomize':
      return fields(location.entry, ['newTag', 'digest'])
    case 'helm':
      return fields(location.entry, [location.tagKey, 'digest'])
  }
}

function coveredOf(location: ImageLocation): number[] {
  if (location.kind === 'kustomize') return valueStarts(location.entry)
  if (location.kind === 'helm') return fields(location.entry, helmKeys(location)).map(spot => spot.start)
  return [location.scalar.start]
}

function helmKeys(helm: { repositoryKey: string; tagKey: string }): string[] {
  return ['registry', helm.repositoryKey, helm.tagKey, 'digest']
}

function valueStarts(entry: MapSpot): number[] {
  return entry.pairs.flatMap(pair => (pair.value ? [pair.value.start] : []))
}

/** The scalar value of `key` in a mapping. */
export function field(entry: MapSpot, key: string): ScalarSpot | undefined {
  return entry.pairs.find(pair => pair.key === key)?.value
}

/** The scalar values of those of `keys` the mapping has. */
function fields(entry: MapSpot, keys: string[]): ScalarSpot[] {
  return keys.flatMap(k => field(entry, k) ?? [])
}

/** `repository` (else `image`) naming a repository, with a tag-like sibling: Helm values. */
function helmRepository(entry: MapSpot): { repository: string; repositoryKey: string; tagKey: string } | undefined {
  const tagKey = HELM_TAG_KEYS.find(k => field(entry, k) !== undefined)
  const repositoryKey = HELM_REPOSITORY_KEYS.find(k => field(entry, k)?.value)
  if (repositoryKey === undefined || tagKey === undefined) return undefined
  const repository = (field(entry, repositoryKey) as ScalarSpot).value
  const registry = field(entry, 'registry')?.value
  return { repository: registry ? `${registry}/${repository}` : repository, repositoryKey, tagKey }
}

function stringAt(map: YAMLMap, path: string[]): string | undefined {
  const value = map.getIn(path)
  return typeof value === 'string' ? value : undefined
}

interface PatchFound {
  /** Where the patch text sits in the kustomization (`patches/0/patch`). */
  at: string
  located: LocatedImages
  /** Offset in the patch text → offset in the file. */
  map: (offset: number) => number
  indent: number
}

/**
 * Inline patches of a kustomization (`patches[].patch`, `patchesJson6902[].patch`,
 * `patchesStrategicMerge[]`) written as literal block scalars: located like a file of their own,
 * then mapped back into the kustomization. Other scalar styles are left alone.
 */
function patchLocations(root: YAMLMap, source: string, path: string, repository: ImageRepository): PatchFound[] {
  const found: PatchFound[] = []
  const consider = (node: unknown, at: string): void => {
    if (!isScalar(node) || node.type !== 'BLOCK_LITERAL' || typeof node.value !== 'string' || !node.range) return
    const mapped = blockMap(source, node.range[0], node.range[1], node.value)
    if (mapped) found.push({ at, located: locateImages(node.value, `${path} (${at})`, repository), ...mapped })
  }
  for (const name of ['patches', 'patchesJson6902']) {
    const key = kustomizationKey(root, name)
    const list = root.get(key)
    if (isSeq(list))
      list.items.forEach((item, i) => isMap(item) && consider(item.get('patch', true), `${key}/${i}/patch`))
  }
  const key = kustomizationKey(root, 'patchesStrategicMerge')
  const merge = root.get(key)
  if (isSeq(merge)) merge.items.forEach((item, i) => consider(item, `${key}/${i}`))
  return found
}

/** A kustomization field's key as the file writes it (kustomize folds the case of field names). */
function kustomizationKey(root: YAMLMap, name: string): string {
  const key = root.items.find(pair => isKustomizationField((pair.key as Scalar).value, name))?.key
  return key ? String((key as Scalar).value) : name
}

/** Offsets of a literal block scalar's text in the file, when its lines are the file's lines minus one indentation. */
function blockMap(
  source: string,
  start: number,
  end: number,
  value: string
): { map: (offset: number) => number; indent: number } | undefined {
  // the text starts on the line after the header (an empty text, which names nothing, may have none)
  const body = source.indexOf('\n', start) + 1
  const sourceLines = source.slice(body, end).split('\n')
  const indent = Math.min(...sourceLines.filter(l => l.trim() !== '').map(l => l.length - l.trimStart().length))
  const valueLines = value.split('\n')
  const starts: number[] = []
  let at = body
  for (let i = 0; i < valueLines.length; i++) {
    const line = sourceLines[i] ?? ''
    // blank lines too: their spaces up to the indentation are not text, any beyond it are
    if (line.replace(/\r$/, '').slice(indent) !== valueLines[i]) return undefined
    starts.push(at + Math.min(indent, line.length))
    at += line.length + 1
  }
  const valueStarts = lineStarts(value)
  const map = (offset: number): number => {
    const line = lineAt(valueStarts, offset) - 1
    return starts[line] + (offset - valueStarts[line])
  }
  return { map, indent }
}

function shiftSpot(spot: ScalarSpot, map: (offset: number) => number): ScalarSpot {
  return { ...spot, start: map(spot.start), end: map(spot.end) }
}

function shiftLocation(
  location: ImageLocation,
  map: (offset: number) => number,
  indent: number,
  keyPrefix: string
): ImageLocation {
  const key = keyPrefix + location.key
  switch (location.kind) {
    case 'reference':
    case 'tag':
    case 'digest':
      return { ...location, key, scalar: shiftSpot(location.scalar, map) } as ImageLocation
    case 'kustomize':
    case 'helm': {
      const entry: MapSpot = {
        ...location.entry,
        keyColumn: location.entry.keyColumn + indent,
        pairs: location.entry.pairs.map(pair => ({
          key: pair.key,
          keyStart: map(pair.keyStart),
          value: pair.value && shiftSpot(pair.value, map),
          valueEnd: map(pair.valueEnd)
        }))
      }
      return { ...location, key, entry }
    }
  }
}

/** Lines naming the repository in a file that is not YAML (a Helm template hard-coding it). */
export function mentionLines(source: string, repository: ImageRepository): number[] {
  const lines: number[] = []
  // only words holding the last path component are parsed: parsing is slow next to `includes`
  const last = repository.path.slice(repository.path.lastIndexOf('/') + 1)
  source.split('\n').forEach((line, i) => {
    // a word up to its tag or digest, which a template may fill in (`team/api:$(TAG)`, `team/api:{{ … }}`);
    // only a colon with no slash after it starts a tag: `registry.local:5000/team/api` keeps its port
    const named = line
      .split(/[\s"'`{}()|,[\]]+/)
      .filter(word => word.includes(last))
      .some(word => {
        const ref = tryParseReference(word.replace(/[:@][^/]*$/, ''))
        return ref !== undefined && sameRepository(ref, repository)
      })
    if (named) lines.push(i + 1)
  })
  return lines
}

function scalarSpot(node: Scalar, flow: boolean, source: string): ScalarSpot {
  // the parser gives every node it reads a range, and every scalar a type
  const [start, end] = node.range as Range
  const value = typeof node.value === 'string' ? node.value : source.slice(start, end)
  const typed = node.value !== null && typeof node.value !== 'string'
  return { start, end, value, style: node.type as Scalar.Type, flow, typed }
}

function mapSpot(doc: Document, node: YAMLMap, flow: boolean, source: string): MapSpot {
  const pairs: PairSpot[] = []
  for (const pair of node.items) {
    if (!isScalar(pair.key) || !pair.key.range) continue
    const resolved = isAlias(pair.value) ? pair.value.resolve(doc) : pair.value
    let value: ScalarSpot | undefined
    if (isScalar(resolved)) {
      value = scalarSpot(resolved, flow, source)
      // an alias (`newTag: *version`) is replaced by a plain scalar; the anchor stays as it is
      const range = (pair.value as Node).range
      if (isAlias(pair.value) && range) value = { ...value, start: range[0], end: range[1], style: 'PLAIN' }
    }
    pairs.push({
      key: String(pair.key.value),
      keyStart: pair.key.range[0],
      value,
      valueEnd: (pair.value as Node | null)?.range?.[1] ?? pair.key.range[1]
    })
  }
  const first = pairs[0]?.keyStart ?? 0
  return { flow, keyColumn: first - (source.lastIndexOf('\n', first - 1) + 1), pairs }
}

export function lineStarts(source: string): number[] {
  const starts = [0]
  for (let i = source.indexOf('\n'); i >= 0; i = source.indexOf('\n', i + 1)) starts.push(i + 1)
  return starts
}

/** 1-based line of an offset. */
export function lineAt(starts: number[], offset: number): number {
  let low = 0
  let high = starts.length - 1
  while (low < high) {
    const mid = (low + high + 1) >> 1
    if (starts[mid] <= offset) low = mid
    else high = mid - 1
  }
  return low + 1
}
