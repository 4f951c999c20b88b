// Unified diff of one file (git's format, 1 line of context), for the plan shown before committing.
// It goes to logs and job summaries: lines of a Secret document are never shown.

type Op = { kind: ' ' | '-' | '+'; line: string }

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

/** Shortest edit script between two line lists (Myers, O((N+M)·D)). */
function editScript(a: string[], b: string[]): Op[] {
  const offset = a.length + b.length + 1
  const v = new Array<number>(2 * offset + 1).fill(0)
  // trace[d]: the furthest x on each diagonal k before step d
  const trace: number[][] = []
  const down = (row: number[], d: number, k: number): boolean =>
    k === -d || (k !== d && row[offset + k - 1] < row[offset + k + 1])
  search: for (let d = 0; ; d++) {
    trace.push(v.slice())
    for (let k = -d; k <= d; k += 2) {
      let x = down(v, d, k) ? v[offset + k + 1] : v[offset + k - 1] + 1
      let y = x - k
      while (x < a.length && y < b.length && a[x] === b[y]) {
        x++
        y++
      }
      v[offset + k] = x
      if (x >= a.length && y >= b.length) break search
    }
  }
  const ops: Op[] = []
  let x = a.length
  let y = b.length
  for (let d = trace.length - 1; d > 0; d--) {
    const row = trace[d]
    const k = x - y
    const previousK = down(row, d, k) ? k + 1 : k - 1
    const previousX = row[offset + previousK]
    const previousY = previousX - previousK
    while (x > previousX && y > previousY) {
      ops.push({ kind: ' ', line: a[--x] })
      y--
    }
    if (x === previousX) ops.push({ kind: '+', line: b[--y] })
    else ops.push({ kind: '-', line: a[--x] })
  }
  while (x > 0) ops.push({ kind: ' ', line: a[--x] })
  return ops.reverse()
}

/** `--- a/path`, `+++ b/path` and hunks; empty when the texts are equal. */
export function unifiedDiff(path: string, before: string, after: string): string {
  if (before === after) return ''
  const a = splitLines(before)
  const b = splitLines(after)
  const json = path.toLowerCase().endsWith('.json')
  const hiddenA = secretLines(a, json)
  const hiddenB = secretLines(b, json)
  let x = 0
  let y = 0
  const ops = editScript(a, b).map(op => {
    const hidden = op.kind === '+' ? hiddenB[y] : hiddenA[x]
    if (op.kind !== '+') x++
    if (op.kind !== '-') y++
    return hidden ? { ...op, line: HIDDEN_LINE } : op
  })
  const changed = ops.map((op, i) => (op.kind === ' ' ? -1 : i)).filter(i => i >= 0)
  if (changed.length === 0) return `--- a/${path}\n+++ b/${path}\n` // only the final newline differs
  const hunks: Array<[number, number]> = []
  for (const i of changed) {
    const last = hunks[hunks.length - 1]
    if (last && i - last[1] <= 2 * CONTEXT) last[1] = i
    else hunks.push([i, i])
  }
  let out = `--- a/${path}\n+++ b/${path}\n`
  for (const [first, last] of hunks) {
    const start = Math.max(0, first - CONTEXT)
    const end = Math.min(ops.length - 1, last + CONTEXT)
    let oldLine = 1
    let newLine = 1
    for (let i = 0; i < start; i++) {
      if (ops[i].kind !== '+') oldLine++
      if (ops[i].kind !== '-') newLine++
    }
    const slice = ops.slice(start, end + 1)
    const oldCount = slice.filter(op => op.kind !== '+').length
    const newCount = slice.filter(op => op.kind !== '-').length
    out += `@@ -${oldCount === 0 ? oldLine - 1 : oldLine},${oldCount} +${newCount === 0 ? newLine - 1 : newLine},${newCount} @@\n`
    out += slice.map(op => `${op.kind}${op.line}\n`).join('')
  }
  return out
}
