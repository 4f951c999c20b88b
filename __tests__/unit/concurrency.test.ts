import { describe, expect, it } from '@jest/globals'
import { mapLimit } from '../../src/lib/concurrency.js'

describe('mapLimit', () => {
  it('keeps at most `limit` calls in flight and the results in input order', async () => {
    let inFlight = 0
    let most = 0
    const results = await mapLimit([30, 5, 20, 1, 10, 2, 15], 3, async ms => {
      inFlight++
      most = Math.max(most, inFlight)
      await new Promise(resolve => setTimeout(resolve, ms))
      inFlight--
      return ms * 2
    })
    expect(most).toBe(3)
    expect(results).toEqual([60, 10, 40, 2, 20, 4, 30])
  })

  it('handles an empty list', async () => {
    expect(await mapLimit([], 8, async () => 1)).toEqual([])
  })
})
