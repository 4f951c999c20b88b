// Unified diff of one file (git's format, 1 line of context), for the plan shown before committing.
// It goes to logs and job summaries: lines of a Secret document are never shown.
import { diffArrays, FILE_HEADERS_ONLY, formatPatch, type StructuredPatchHunk } from 'diff'

// One line: enough to see which key changed; every more line is more of the file in the log.
const CONTEXT = 1
const SECRET_KIND = /^kind:\s*["']?Secret["']?\s*(?:#.*)?$/m
const SECRET_KIND_JSON = /"kind"\s*:\s*"Secret"/
export const HIDDEN_LINE = '<line of a Secret document hidden>'

/** One line of the edit script: `old` and `new` are the indexes of the next line of each side. */
interface Op {
  kind: ' ' | '-' | '+'
  line: string
  old: number
  new: number
}

/** For each line, whether it belongs to a Secret document (`---` separates YAML documents). */
function secretLines(lines: string[], json: boolean): boolean[] {
  if (json) return lines.map(() => SECRET_KIND_JSON.test(lines.join('\n')))
  const flags: boolean[] = []
  let start = 0
  const close = (end: number): void => {
    const secret = SECRET_KIND.test(lines.slice(start, end).join('\n'))
    for (let i = start; i < end; i++) flags.push(secret)
  }
  lines.forEach((line, i) => {
    if (/^---(?:\s|$)/.test(line)) {
      close(i)
      start = i
    }
  })
  close(lines.length)
  return flags
}

function splitLines(text: string): string[] {
  if (text === '') return []
  const lines = text.split('\n').map(line => line.replace(/\r$/, ''))
  if (text.endsWith('\n')) lines.pop()
  return lines
}

/**
 * The lines a and b have in common, as index pairs in order: jsdiff's Myers diff over the lines
 * both sides hold. A line only one side holds can never be common, so it is left out first (as
 * git's xdiff does): Myers costs lines × changes, and an edit changes every line naming the image.
 */
function commonLines(a: string[], b: string[]): Array<[number, number]> {
  const inA = new Set(a)
  const inB = new Set(b)
  const keptA = a.flatMap((line, i) => (inB.has(line) ? [i] : []))
  const keptB = b.flatMap((line, j) => (inA.has(line) ? [j] : []))
  const pairs: Array<[number, number]> = []
  let i = 0
  let j = 0
  for (const change of diffArrays(
    keptA.map(k => a[k]),
    keptB.map(k => b[k])
  )) {
    if (change.removed) i += change.count
    else if (change.added) j += change.count
    else for (let n = 0; n < change.count; n++) pairs.push([keptA[i++], keptB[j++]])
  }
  return pairs
}

/** Every line of both sides in order: between two common lines, the removed ones, then the added ones. */
function editScript(a: string[], b: string[], hiddenA: boolean[], hiddenB: boolean[]): Op[] {
  const ops: Op[] = []
  const shown = (line: string, hidden: boolean): string => (hidden ? HIDDEN_LINE : line)
  let x = 0
  let y = 0
  for (const [i, j] of [...commonLines(a, b), [a.length, b.length]]) {
    for (; x < i; x++) ops.push({ kind: '-', line: shown(a[x], hiddenA[x]), old: x, new: y })
    for (; y < j; y++) ops.push({ kind: '+', line: shown(b[y], hiddenB[y]), old: x, new: y })
    if (i < a.length) ops.push({ kind: ' ', line: shown(a[i], hiddenA[i]), old: x++, new: y++ })
  }
  return ops
}

/** Changes with at most 2 × CONTEXT unchanged lines between them share a hunk, as in git. */
function hunksOf(ops: Op[]): StructuredPatchHunk[] {
  const ranges: Array<[number, number]> = []
  ops.forEach((op, i) => {
    if (op.kind === ' ') return
    const last = ranges[ranges.length - 1]
    if (last && i - last[1] <= 2 * CONTEXT + 1) last[1] = i
    else ranges.push([i, i])
  })
  return ranges.map(([first, last]) => {
    const slice = ops.slice(Math.max(0, first - CONTEXT), Math.min(ops.length, last + CONTEXT + 1))
    return {
      oldStart: slice[0].old + 1,
      oldLines: slice.filter(op => op.kind !== '+').length,
      newStart: slice[0].new + 1,
      newLines: slice.filter(op => op.kind !== '-').length,
      lines: slice.map(op => `${op.kind}${op.line}`)
    }
  })
}

/**
 * `--- a/path`, `+++ b/path` and hunks; empty when the texts are equal. Line ends (CRLF) and a
 * missing final newline are not shown as changes: the editor keeps both byte for byte.
 */
export function unifiedDiff(path: string, before: string, after: string): string {
  if (before === after) return ''
  const a = splitLines(before)
  const b = splitLines(after)
  const json = path.toLowerCase().endsWith('.json')
  const ops = editScript(a, b, secretLines(a, json), secretLines(b, json))
  const patch = { oldFileName: `a/${path}`, newFileName: `b/${path}`, oldHeader: undefined, newHeader: undefined }
  return formatPatch({ ...patch, hunks: hunksOf(ops) }, FILE_HEADERS_ONLY)
}
