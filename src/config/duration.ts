const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }

/** Parses `90s`, `5m`, `1h30m`, `500ms` into milliseconds. */
export function parseDuration(text: string): number {
  const match = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h))+$/.test(text)
  if (!match) throw new Error('is not a duration (examples: 90s, 5m, 1h)')
  let total = 0
  for (const [, amount, unit] of text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) {
    total += Number(amount) * UNIT_MS[unit]
  }
  if (total <= 0) throw new Error('must be longer than zero')
  return Math.round(total)
}
