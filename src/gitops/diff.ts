// Unified diff of one file (git's format, 1 line of context), for the plan shown before committing.
// It goes to logs and job summaries: lines of a Secret document are never shown.
import { FILE_HEADERS_ONLY, formatPatch, structuredPatch } from 'diff'

// One line: enough to see which key changed; every more line is more of the file in the log.
const CONTEXT = 1
const SECRET_KIND = /^kind:\s*["']?Secret["']?\s*(?:#.*)?$/m
const SECRET_KIND_JSON = /"kind"\s*:\s*"Secret"/
export const HIDDEN_LINE = '<line of a Secret document hidden>'

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
 * `--- a/path`, `+++ b/path` and hunks; empty when the texts are equal. Line ends (CRLF) and a
 * missing final newline are not shown as changes: the editor keeps both byte for byte.
 */
export function unifiedDiff(path: string, before: string, after: string): string {
  if (before === after) return ''
  const a = splitLines(before)
  const b = splitLines(after)
  const patch = structuredPatch(`a/${path}`, `b/${path}`, withNewlines(a), withNewlines(b), undefined, undefined, {
    context: CONTEXT
  })
  const json = path.toLowerCase().endsWith('.json')
  const hiddenA = secretLines(a, json)
  const hiddenB = secretLines(b, json)
  const hunks = patch.hunks.map(hunk => {
    // 0-based line numbers of the next old and new line in the hunk
    let x = hunk.oldStart - 1
    let y = hunk.newStart - 1
    const lines = hunk.lines.map(line => {
      const kind = line[0]
      const hidden = kind === '+' ? hiddenB[y] : hiddenA[x]
      if (kind !== '+') x++
      if (kind !== '-') y++
      return hidden ? `${kind}${HIDDEN_LINE}` : line
    })
    return { ...hunk, lines }
  })
  return formatPatch({ ...patch, hunks }, FILE_HEADERS_ONLY)
}

function withNewlines(lines: string[]): string {
  return lines.map(line => `${line}\n`).join('')
}
