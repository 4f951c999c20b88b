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
import { isKustomizationFile } from '../lib/descriptors.js'

interface LocationBase {
  /** Document index and path inside it (`0:spec/template/spec/containers/1/image`); survives edits elsewhere. */
  key: string
  /** 1-based line of the value in the file. */
  line: number
}

/** A scalar holding a whole reference: a container's `image`, a Helm `image:` string, an `image` marker. */
export interface ReferenceLocation extends LocationBase {
  kind: 'reference'
  scalar: ScalarSpot
}

/** A scalar holding only a tag or only a digest, marked `# gitops-push-deploy: tag|digest`. */
export interface PartLocation extends LocationBase {
  kind: 'tag' | 'digest'
  scalar: ScalarSpot
}

export interface PairSpot {
  key: string
  keyStart: number
  /** Set when the value is a scalar. */
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

/** A kustomization `images:` entry (`name`, `newName`, `newTag`, `digest`). */
export interface KustomizeLocation extends LocationBase {
  kind: 'kustomize'
  /** `newName` when given, else `name`: the repository the entry deploys. */
  repository: string
  entry: MapSpot
}

/** Helm values: `repository` (with an optional `registry`) next to `tag` and maybe `digest`. */
export interface HelmLocation extends LocationBase {
  kind: 'helm'
  repository: string
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
}

// `# gitops-push-deploy: image|tag|digest [repository]` at the end of a line: an `image` marker
// needs a scalar naming our repository; a `tag`/`digest` marker applies when it names our
// repository or names none (then it belongs to whatever image deploys to this env-path).
const MARKER = 'gitops-push-deploy'
const MARKER_LINE = new RegExp(`(?:^|\\s)#\\s*${MARKER}:\\s*(image|tag|digest)(?:\\s+(\\S+))?\\s*$`)
/** A reference, or undefined when the text is not one (`{{ .Values.image }}`, `$(IMAGE)`). */
export function tryParseReference(text: string): ImageReference | undefined {
  try {
    return parseImageReference(text)
  } catch {
    return undefined
  }
}

interface ValueScalar {
  spot: ScalarSpot
  key: string
}

/** Collects the image locations of `repository` in one file. */
export function locateImages(source: string, path: string, repository: ImageRepository): LocatedImages {
  const documents = parseAllDocuments(source)
  const docs = Array.isArray(documents) ? documents : [documents]
  const broken = docs.find(doc => doc.errors.length > 0)
  if (broken)
    return { locations: [], repositories: [], skipped: `not YAML: ${broken.errors[0].message.split('\n')[0]}` }

  const lines = lineStarts(source)
  const lineOf = (offset: number): number => lineAt(lines, offset)
  const found = new Set<string>()
  const taken = new Set<number>()
  const locations: ImageLocation[] = []
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
    locations.push(location)
  }

  docs.forEach((doc, index) => {
    const walk = (node: unknown, path: string[], flow: boolean): void => {
      if (isMap(node)) {
        const inFlow = flow || Boolean(node.flow)
        const entry = mapSpot(doc, node, inFlow, source)
        const key = `${index}:${path.join('/')}`
        const helm = helmRepository(entry)
        if (helm !== undefined) {
          const ref = note(helm)
          if (ours(ref) && ref?.tag === undefined && ref?.digest === undefined) {
            const tag = field(entry, 'tag') as ScalarSpot
            add({ kind: 'helm', key, line: lineOf(tag.start), repository: helm, entry }, valueStarts(entry))
          }
        }
        for (const pair of node.items) {
          if (!isScalar(pair.key)) continue
          const name = String(pair.key.value)
          // an aliased scalar is edited where it is anchored
          const value = isAlias(pair.value) ? pair.value.resolve(doc) : pair.value
          if (isScalar(pair.value)) {
            values.push({ spot: scalarSpot(pair.value, inFlow, source), key: `${index}:${[...path, name].join('/')}` })
          }
          if (name === 'image' && isScalar(value) && typeof value.value === 'string') {
            const spot = scalarSpot(value, inFlow, source)
            if (ours(note(spot.value))) {
              const location: ReferenceLocation = {
                kind: 'reference',
                key: `${index}:${[...path, name].join('/')}`,
                line: lineOf(spot.start),
                scalar: spot
              }
              add(location, [spot.start])
            }
          }
          // aliased collections are visited where they are anchored
          if (!isAlias(pair.value)) walk(pair.value, [...path, name], inFlow)
        }
      } else if (isSeq(node)) {
        const inFlow = flow || Boolean(node.flow)
        node.items.forEach((item, i) => {
          if (isScalar(item))
            values.push({ spot: scalarSpot(item, inFlow, source), key: `${index}:${[...path, i].join('/')}` })
          else if (!isAlias(item)) walk(item, [...path, String(i)], inFlow)
        })
      }
    }
    walk(doc.contents, [], false)

    if (isKustomizationFile(path) && isMap(doc.contents)) {
      const images = doc.contents.get('images', true)
      if (isSeq(images)) {
        images.items.forEach((item, i) => {
          if (!isMap(item)) return
          const entry = mapSpot(doc, item, Boolean(images.flow || item.flow), source)
          const name = field(entry, 'name')?.value
          if (name === undefined) return
          const newName = field(entry, 'newName')?.value
          const matches = [name, newName].filter(n => n !== undefined).map(n => note(n))
          if (!matches.some(ours)) return
          const first = entry.pairs[0]
          const location: KustomizeLocation = {
            kind: 'kustomize',
            key: `${index}:images/${i}`,
            line: lineOf(first.keyStart),
            repository: newName ?? name,
            entry
          }
          add(location, valueStarts(entry))
        })
      }
    }
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
    } else if (named !== undefined && !ours(note(named))) return
    const kind = part === 'image' ? 'reference' : (part as 'tag' | 'digest')
    add({ kind, key: spot.key, line: i + 1, scalar: spot.spot }, [spot.spot.start])
  })

  return { locations: locations.sort((a, b) => a.line - b.line), repositories: [...found].sort() }
}

function valueStarts(entry: MapSpot): number[] {
  return entry.pairs.flatMap(pair => (pair.value ? [pair.value.start] : []))
}

/** The scalar value of `key` in a mapping. */
export function field(entry: MapSpot, key: string): ScalarSpot | undefined {
  return entry.pairs.find(pair => pair.key === key)?.value
}

function helmRepository(entry: MapSpot): string | undefined {
  const repository = field(entry, 'repository')?.value
  if (repository === undefined || field(entry, 'tag') === undefined) return undefined
  const registry = field(entry, 'registry')?.value
  return registry ? `${registry}/${repository}` : repository
}

function scalarSpot(node: Scalar, flow: boolean, source: string): ScalarSpot {
  const [start, end] = node.range ?? [0, 0]
  const value = typeof node.value === 'string' ? node.value : source.slice(start, end)
  return { start, end, value, style: node.type ?? 'PLAIN', flow }
}

function mapSpot(doc: Document, node: YAMLMap, flow: boolean, source: string): MapSpot {
  const pairs: PairSpot[] = []
  for (const pair of node.items) {
    if (!isScalar(pair.key) || !pair.key.range) continue
    const value = isAlias(pair.value) ? pair.value.resolve(doc) : pair.value
    pairs.push({
      key: String(pair.key.value),
      keyStart: pair.key.range[0],
      value: isScalar(value) && !isAlias(pair.value) ? scalarSpot(value, flow, source) : undefined,
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
