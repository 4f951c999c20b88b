import { describe, expect, it } from '@jest/globals'
import { parseDuration } from '../../src/config/duration.js'

describe('parseDuration', () => {
  it.each([
    ['90s', 90_000],
    ['5m', 300_000],
    ['1h', 3_600_000],
    ['1h30m', 5_400_000],
    ['500ms', 500],
    ['1.5s', 1500]
  ])('%s → %i ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms)
  })

  it.each(['', '5x', '5', 'm5', '-5s', '0s', '5 m'])('rejects %j', text => {
    expect(() => parseDuration(text)).toThrow(/duration|longer than zero/)
  })
})
