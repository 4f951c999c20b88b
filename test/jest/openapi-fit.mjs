// After each integration test: every request the action sent and every answer the GitHub emulator gave
// during the test must fit GitHub's published REST description (the emulator checks each one against
// @octokit/openapi and keeps the misfits), and every GraphQL document GitHub's published schema
// (@octokit/graphql-schema); any misfit fails the test.
import { afterEach, beforeEach } from '@jest/globals'

let since = 0

async function misfits(after) {
  const base = process.env.GITHUB_API_URL
  if (!base) throw new Error('GITHUB_API_URL is not set: is the test bed up (npm run testbed:up)?')
  const res = await fetch(`${base}/_testbed/openapi?since=${after}`, { signal: AbortSignal.timeout(10000) })
  if (!res.ok)
    throw new Error(
      `the GitHub emulator has no OpenAPI check (${res.status}): npm run testbed:down && npm run testbed:up`
    )
  return res.json()
}

beforeEach(async () => {
  since = (await misfits(999999999)).lastId
})

afterEach(async () => {
  const { misfits: found } = await misfits(since)
  if (found.length === 0) return
  const lines = found
    .slice(0, 10)
    .map(
      m =>
        `${m.kind} ${m.method} ${m.path}${m.status ? ` → ${m.status}` : ''} (${m.operation ?? 'no operation'}): ${m.errors.join('; ')}`
    )
  throw new Error(
    `${found.length} request(s)/answer(s) do not fit GitHub's REST description or GraphQL schema:\n${lines.join('\n')}`
  )
})
