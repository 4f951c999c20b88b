// The pure edit: (file text, path, edit) → new text and the references it changed. Only the
// scalars that change are spliced; every other byte of the file stays as it was.
import { formatReference, type ImageRepository } from '../image/reference.js'
import { UneditableError } from './errors.js'
import {
  field,
  lineAt,
  lineStarts,
  locateImages,
  mayName,
  splitAlias,
  tryParseReference,
  type ImageLocation,
  type MapSpot,
  type PairSpot
} from './locate.js'
import { applySplices, renderScalar, replaceScalar, type ScalarSpot, type Splice } from './scalar.js'

/** What an image location pins. */
export interface ImageValue {
  tag?: string
  digest?: string
}

/** What a location should hold. */
export interface WriteTarget extends ImageValue {
  /** The tag to write where one is required even under pin `digest` (a Helm `tag` without a `digest` key). */
  version: string
}

/** The whole lines a change replaced, to put back byte for byte when they are still as written. */
export interface LineBlock {
  before: string
  after: string
}

export interface LocationChange {
  path: string
  line: number
  /** The reference before and after, as the location spells it. */
  previous: string
  next: string
  /** The location's key (see `locateImages`), to find it again at a later commit. */
  location: string
  lines?: LineBlock
}

export interface FileEdit {
  repository: ImageRepository
  /** Repository spelling used to show tag-only and digest-only locations as references. */
  image: string
  /** What the location should hold; undefined leaves it alone. */
  targetFor(location: { key: string; current: ImageValue }): WriteTarget | undefined
  /** Lines to put back instead of writing the target, when found as written near the location (a revert). */
  restore?(key: string): LineBlock | undefined
}

export interface FileEditResult {
  text: string
  changes: LocationChange[]
  /** Locations of the repository found, changed or not. */
  matched: number
  /** Every image repository the file names. */
  repositories: string[]
  skipped?: string
  /** Lines of a skipped file naming the repository. */
  mentions: number[]
  warnings: string[]
}

export function sameValue(a: ImageValue, b: ImageValue): boolean {
  return a.tag === b.tag && a.digest === b.digest
}

/** Whether a location holding `current` already deploys `target` (a digest without tag accepts any tag). */
export function holds(current: ImageValue, target: ImageValue): boolean {
  if (current.digest !== target.digest) return false
  return current.tag === target.tag || (target.tag === undefined && target.digest !== undefined)
}

/** The value of a written reference (`repo:tag@digest`). */
export function valueOf(reference: string): ImageValue | undefined {
  const ref = tryParseReference(reference)
  return ref && { tag: ref.tag, digest: ref.digest }
}

/** `survey`: read every file, also those that cannot name the repository (for the no-match message). */
export function editFile(source: string, path: string, edit: FileEdit, survey = false): FileEditResult {
  if (!survey && !mayName(source, edit.repository)) {
    return { text: source, changes: [], matched: 0, repositories: [], mentions: [], warnings: [] }
  }
  const located = locateImages(source, path, edit.repository)
  const starts = lineStarts(source)
  const eol = source.includes('\r\n') ? '\r\n' : '\n'
  const splices: Splice[] = []
  const changes: LocationChange[] = []
  for (const location of located.locations) {
    const state = read(location, edit.image)
    const target = edit.targetFor({ key: location.key, current: state.value })
    if (!target) continue
    // a revert puts the lines back as they were, even where the value reads the same (`1.10` → `"1.10"`)
    const restored = edit.restore && restoreSplice(source, starts, location.line, edit.restore(location.key))
    if (restored && !splices.some(s => s.start < restored.end && restored.start < s.end)) {
      splices.push(restored)
      changes.push({
        path,
        line: spliceLine(starts, restored),
        previous: state.shown,
        next: shownTarget(location, state, target, edit.image, source, eol),
        location: location.key,
        lines: lineBlock(source, [restored])
      })
      continue
    }
    if (holds(state.value, target) && !state.typed) continue
    const written = write(location, state, target, edit.image, source, eol)
    if (written.splices.length === 0) continue
    splices.push(...written.splices)
    changes.push({
      path,
      line: Math.min(...written.splices.map(splice => spliceLine(starts, splice))),
      previous: state.shown,
      next: written.shown,
      location: location.key,
      lines: lineBlock(source, written.splices)
    })
  }
  let text = source
  try {
    text = applySplices(source, splices)
  } catch (error) {
    throw new UneditableError(`${path}: ${(error as Error).message}`, { cause: error })
  }
  return {
    text,
    changes,
    matched: located.locations.length,
    repositories: located.repositories,
    skipped: located.skipped,
    mentions: located.mentions,
    warnings: located.warnings
  }
}

/** How a target shows for a location (what `write` would report). */
function shownTarget(
  location: ImageLocation,
  state: LocationState,
  target: WriteTarget,
  image: string,
  source: string,
  eol: string
): string {
  try {
    return write(location, state, target, image, source, eol).shown
  } catch {
    return state.shown
  }
}

/** The whole lines the splices touch (line breaks included), before and after. */
function lineBlock(source: string, splices: Splice[]): LineBlock {
  const first = Math.min(...splices.map(s => s.start))
  // the last character each splice touches: a removed line's own line break closes the block;
  // an insertion is never at a line start, so the character before it is on its line
  const last = Math.max(...splices.map(s => s.end - 1))
  const start = source.lastIndexOf('\n', first - 1) + 1
  const newline = source.indexOf('\n', last)
  const end = newline < 0 ? source.length : newline + 1
  const before = source.slice(start, end)
  const shifted = splices.map(s => ({ ...s, start: s.start - start, end: s.end - start }))
  return { before, after: applySplices(before, shifted) }
}

/** Puts `block.before` back where `block.after` stands as whole lines, nearest to `line`. */
function restoreSplice(
  source: string,
  starts: number[],
  line: number,
  block: LineBlock | undefined
): Splice | undefined {
  if (!block) return undefined
  let best: Splice | undefined
  let distance = Infinity
  for (let at = source.indexOf(block.after); at >= 0; at = source.indexOf(block.after, at + 1)) {
    const end = at + block.after.length
    const wholeLines = (at === 0 || source[at - 1] === '\n') && (end === source.length || source[end - 1] === '\n')
    const d = Math.abs(lineAt(starts, at) - line)
    if (wholeLines && d < distance) {
      best = { start: at, end, text: block.before }
      distance = d
    }
  }
  return distance <= 50 ? best : undefined
}

/** The line an edit shows on: an added key starts on the line after its line break. */
function spliceLine(starts: number[], splice: Splice): number {
  return lineAt(starts, splice.start) + (/^\r?\n/.test(splice.text) ? 1 : 0)
}

interface LocationState {
  value: ImageValue
  /** The reference as shown in changes and messages. */
  shown: string
  /** A tag written as a number (`newTag: 1.10`): rewritten quoted even when it reads as current. */
  typed: boolean
}

/** Helm `tag` may carry the digest itself (`1.2@sha256:…`) when the values have no `digest` key. */
function helmValue(tagText: string, digestText: string | undefined): ImageValue {
  const at = tagText.indexOf('@')
  const tag = at >= 0 ? tagText.slice(0, at) : tagText
  const digest = digestText || (at >= 0 ? tagText.slice(at + 1) : undefined)
  return { tag: tag || undefined, digest: digest || undefined }
}

/** The repository part of a reference as written (`docker.io/library/nginx` of `docker.io/library/nginx:1.25`). */
export function repositorySpelling(reference: string): string | undefined {
  const ref = tryParseReference(reference)
  if (!ref) return undefined
  return reference.slice(
    0,
    reference.length - (ref.digest ? ref.digest.length + 1 : 0) - (ref.tag ? ref.tag.length + 1 : 0)
  )
}

function read(location: ImageLocation, image: string): LocationState {
  switch (location.kind) {
    case 'reference': {
      // a block scalar (`image: |`) ends with a line break that is not part of the reference
      const text = splitAlias(location.scalar.value).reference.trim()
      return { value: valueOf(text) ?? {}, shown: text, typed: false }
    }
    case 'tag':
      return {
        value: { tag: location.scalar.value || undefined },
        shown: formatReference(image, location.scalar.value),
        typed: Boolean(location.scalar.typed)
      }
    case 'digest': {
      const digest = location.scalar.value || undefined
      return { value: { digest }, shown: formatReference(image, undefined, digest), typed: false }
    }
    case 'kustomize': {
      const newTag = field(location.entry, 'newTag')
      const tag = newTag?.value || undefined
      const digest = field(location.entry, 'digest')?.value || undefined
      return {
        value: { tag, digest },
        shown: formatReference(location.repository, tag, digest),
        typed: Boolean(newTag?.typed)
      }
    }
    case 'helm': {
      // a Helm location is found by its tag key's scalar
      const tag = field(location.entry, location.tagKey) as ScalarSpot
      const value = helmValue(tag.value, field(location.entry, 'digest')?.value)
      return {
        value,
        shown: formatReference(location.repository, value.tag, value.digest),
        typed: Boolean(tag.typed)
      }
    }
  }
}

function write(
  location: ImageLocation,
  state: LocationState,
  target: WriteTarget,
  image: string,
  source: string,
  eol: string
): { splices: Splice[]; shown: string } {
  switch (location.kind) {
    case 'reference': {
      // the file's spelling stays: kustomize matches `images[].name` literally
      const current = splitAlias(location.scalar.value)
      const repository = repositorySpelling(current.reference.trim()) ?? image
      const reference = formatReference(repository, target.tag, target.digest)
      return { splices: [replaceScalar(source, location.scalar, current.prefix + reference)], shown: reference }
    }
    case 'tag':
      // no tag under pin digest: the marked tag stays; neither tag nor digest: back to an empty value (a revert)
      if (target.tag === undefined && target.digest !== undefined) return { splices: [], shown: state.shown }
      return {
        splices: [replaceScalar(source, location.scalar, target.tag ?? '')],
        shown: formatReference(image, target.tag)
      }
    case 'digest':
      return {
        splices: [replaceScalar(source, location.scalar, target.digest ?? '')],
        shown: formatReference(image, undefined, target.digest)
      }
    case 'kustomize': {
      // `kustomize edit set image` semantics: newName and other keys stay; newTag and digest
      // hold exactly what the pin says (a stale digest would otherwise keep the old image).
      // An entry that only adds a `tagSuffix` gets no newTag: kustomize would drop the suffix.
      const suffixOnly =
        field(location.entry, 'tagSuffix') !== undefined && field(location.entry, 'newTag') === undefined
      const tag = suffixOnly ? undefined : target.tag
      const kept = tag === undefined ? ['name', 'newName'] : ['name', 'newName', 'newTag']
      const splices = [
        ...(suffixOnly ? [] : setKey(source, location.entry, 'newTag', tag, ['name', 'newName'], eol)),
        ...setKey(source, location.entry, 'digest', target.digest, kept, eol)
      ]
      return { splices, shown: formatReference(location.repository, tag, target.digest) }
    }
    case 'helm': {
      // only replaced, never added or dropped: the tag key is there (it makes the location), the digest key maybe
      const tagSpot = field(location.entry, location.tagKey) as ScalarSpot
      const digestSpot = field(location.entry, 'digest')
      // charts render `repository:tag`: the tag is never left empty, even under pin digest
      const tag = target.tag ?? target.version
      const splices = digestSpot
        ? [
            ...setScalar(source, tagSpot, tag),
            // an empty digest rather than a stale one: charts render `repo@digest` when it is set
            ...setScalar(source, digestSpot, target.digest ?? '')
          ]
        : setScalar(source, tagSpot, target.digest ? `${tag}@${target.digest}` : tag)
      return { splices, shown: formatReference(location.repository, tag, target.digest) }
    }
  }
}

/** The splice that makes a scalar hold `value`; none when it does (a typed `1.10` is rewritten quoted). */
function setScalar(source: string, spot: ScalarSpot, value: string): Splice[] {
  return spot.value === value && !spot.typed ? [] : [replaceScalar(source, spot, value)]
}

/**
 * Splices that make `key` hold `value` in a kustomize entry: replace the scalar, add the key
 * after the last of `after` present (`name` always is), or drop it when `value` is undefined.
 */
function setKey(
  source: string,
  entry: MapSpot,
  key: string,
  value: string | undefined,
  after: string[],
  eol: string
): Splice[] {
  const index = entry.pairs.findIndex(pair => pair.key === key)
  const pair = entry.pairs[index]
  if (pair?.value) {
    if (value === undefined) return [removePair(source, entry, index)]
    return setScalar(source, pair.value, value)
  }
  if (pair) throw new UneditableError(`"${key}" at offset ${pair.keyStart} is not a scalar`)
  if (value === undefined) return []
  const anchor = [...entry.pairs].reverse().find(p => after.includes(p.key)) as PairSpot
  const rendered = `${key}: ${renderScalar(value, entry.flow)}`
  if (entry.flow) return [{ start: anchor.valueEnd, end: anchor.valueEnd, text: `, ${rendered}` }]
  const at = lineEnd(source, lastValueCharacter(anchor))
  return [{ start: at, end: at, text: `${eol}${' '.repeat(entry.keyColumn)}${rendered}` }]
}

/**
 * The offset on a pair's last line: a block scalar (`newTag: |`) ends after its line break, at
 * the next line's start, so the character before its end is taken (never a line start otherwise).
 */
function lastValueCharacter(pair: PairSpot): number {
  return pair.valueEnd - 1
}

/** Offset of the line break ending the line that holds `offset` (before `\r\n`), or the end of the text. */
function lineEnd(source: string, offset: number): number {
  const newline = source.indexOf('\n', offset)
  if (newline < 0) return source.length
  return source[newline - 1] === '\r' ? newline - 1 : newline
}

function removePair(source: string, entry: MapSpot, index: number): Splice {
  const pair = entry.pairs[index]
  if (entry.flow) {
    // drop `, key: value` (or `key: value, ` when it is the first pair)
    if (index > 0) return { start: entry.pairs[index - 1].valueEnd, end: pair.valueEnd, text: '' }
    const next = entry.pairs[index + 1]
    return { start: pair.keyStart, end: next ? next.keyStart : pair.valueEnd, text: '' }
  }
  const lineStart = source.lastIndexOf('\n', pair.keyStart - 1) + 1
  if (source.slice(lineStart, pair.keyStart).trim() !== '') {
    // the first key of a sequence item (`- digest: …`) cannot go without the item's dash
    return replaceScalar(source, pair.value as ScalarSpot, '')
  }
  const newline = source.indexOf('\n', lastValueCharacter(pair))
  if (newline >= 0) return { start: lineStart, end: newline + 1, text: '' }
  // last line without a final newline: drop the line break before it instead
  const previousBreak = source[lineStart - 2] === '\r' ? lineStart - 2 : lineStart - 1
  return { start: Math.max(previousBreak, 0), end: source.length, text: '' }
}
