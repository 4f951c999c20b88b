// Source text for a YAML scalar written in place of another one: same quoting style where it
// can hold the value, double quotes where a plain scalar would change type (`1.10`, `true`).
import { isScalar, parseDocument, type Scalar } from 'yaml'
import { UneditableError } from './errors.js'

/** Where a scalar sits in the source text and how it is written there. */
export interface ScalarSpot {
  /** Offsets of the scalar's own text (quotes included, anchor and tag excluded). */
  start: number
  end: number
  /** The value as a string; for a plain scalar that resolves to a number or boolean, its source text. */
  value: string
  style: Scalar.Type
  /** Inside a flow collection (`{…}`, `[…]`), where `,[]{}` end a plain scalar. */
  flow: boolean
  /** A scalar that resolves to a number or boolean (`newTag: 1.10`, `!!float "1.10"`): never a current tag. */
  typed?: boolean
}

/** Whether `value` written plain reads back as the same string under YAML 1.2 and 1.1 (Kubernetes) rules. */
export function isPlainSafe(value: string, flow: boolean): boolean {
  // The round trip below refuses empty, padded and folded values; a tab or a lone carriage
  // return passes it here but not every YAML reader.
  if (/[\n\r\t]/.test(value)) return false
  for (const version of ['1.2', '1.1'] as const) {
    const doc = parseDocument(flow ? `[${value}]` : value, { version })
    if (doc.errors.length > 0 || doc.warnings.length > 0) return false
    const node = flow ? doc.getIn([0], true) : doc.contents
    if (!isScalar(node) || node.type !== 'PLAIN' || node.value !== value) return false
  }
  return true
}

function doubleQuoted(value: string): string {
  return JSON.stringify(value)
}

function singleQuoted(value: string): string {
  return `'${value.replace(/'/g, "''")}'`
}

/** Text for a new scalar (an inserted key's value): plain when safe, else double quoted. */
export function renderScalar(value: string, flow: boolean): string {
  return isPlainSafe(value, flow) ? value : doubleQuoted(value)
}

/**
 * The splice that makes `spot` hold `value`: the original quoting style is kept; a plain
 * scalar that would change type becomes double quoted; a block scalar has its content line replaced.
 */
export function replaceScalar(source: string, spot: ScalarSpot, value: string): Splice {
  switch (spot.style) {
    case 'QUOTE_DOUBLE':
      return { start: spot.start, end: spot.end, text: doubleQuoted(value) }
    case 'QUOTE_SINGLE':
      return { start: spot.start, end: spot.end, text: singleQuoted(value) }
    case 'BLOCK_LITERAL':
    case 'BLOCK_FOLDED': {
      // `|\n  value\n`: only the content changes; header (and its comment) and indentation stay
      const old = spot.value.trim()
      // the content starts on the line after the header
      const body = source.indexOf('\n', spot.start) + 1
      const at = source.slice(body, spot.end).indexOf(old)
      if (old === '' || at < 0 || /[\n\r]/.test(value)) {
        throw new UneditableError(`cannot rewrite the block scalar ${JSON.stringify(spot.value)} in place`)
      }
      return { start: body + at, end: body + at + old.length, text: value }
    }
    default: {
      let text = renderScalar(value, spot.flow)
      if (spot.start === spot.end) {
        // an empty value (`tag:`, `tag: # comment`) needs a space after the colon and before a comment
        if (source[spot.start - 1] === ':') text = ` ${text}`
        if (source[spot.end] === '#') text = `${text} `
      }
      return { start: spot.start, end: spot.end, text }
    }
  }
}

/** A replacement of source[start, end) by text. */
export interface Splice {
  start: number
  end: number
  text: string
}

/** Applies non-overlapping splices to the source. */
export function applySplices(source: string, splices: Splice[]): string {
  // an insertion at the offset where a removal starts goes first
  const ordered = [...splices].sort((a, b) => a.start - b.start || a.end - b.end)
  let result = ''
  let at = 0
  for (const splice of ordered) {
    if (splice.start < at) throw new UneditableError(`overlapping edits at offset ${splice.start}`)
    result += source.slice(at, splice.start) + splice.text
    at = splice.end
  }
  return result + source.slice(at)
}
