import { describe, expect, it } from '@jest/globals'
import { applyPatch } from 'diff'
import { parseImageRepository } from '../../src/image/reference.js'
import { HIDDEN_LINE, unifiedDiff } from '../../src/gitops/diff.js'
import { chartFolders, descriptorFiles, isEditable, type TreeFile } from '../../src/gitops/files.js'
import { isLostRefRace, rateLimitWait } from '../../src/gitops/github.js'
import { forbiddenMessage } from '../../src/lib/github-client.js'
import { CONFLICT_RETRY, proposalBranch } from '../../src/gitops/index.js'
import { backoffMs } from '../../src/lib/retry.js'
import { renderCommitMessage } from '../../src/pipeline/commit-message.js'
import { isMap, parseDocument, type Scalar } from 'yaml'
import { applySplices, isPlainSafe, replaceScalar, type ScalarSpot } from '../../src/gitops/scalar.js'
import { EnvPathNotFoundError, UneditableError } from '../../src/gitops/errors.js'

describe('isPlainSafe', () => {
  it.each<[string, boolean, boolean]>([
    ['registry.local:5000/team/api:1.10', false, true],
    ['nginx@sha256:abc', false, true],
    ['v1.2.3', false, true],
    ['1.10', false, false], // a float
    ['10', false, false],
    ['010', false, false], // octal in YAML 1.1
    ['1:20', false, false], // sexagesimal in YAML 1.1
    ['1e3', false, false],
    ['yes', false, false], // boolean in YAML 1.1
    ['null', false, false],
    ['', false, false],
    ['a #b', false, false],
    ['a: b', false, false],
    ['a,b', false, true],
    ['a,b', true, false], // ends a plain scalar in a flow collection
    ['v1.2.3', true, true],
    ['1.10', true, false],
    ['@latest', false, false],
    // padded, folded or holding a tab or line break: never plain
    [' v1', false, false],
    ['v1 ', true, false],
    ['v1\nv2', false, false],
    ['v1\rv2', false, false],
    ['v1\tv2', false, false],
    ['v1\tv2', true, false],
    // tagged, anchored, quoted or block: not a plain scalar holding the same text
    ['!foo', false, false],
    ['&a v1', false, false],
    ['"v1"', false, false],
    ['|', false, false]
  ])('%j (flow %s) → %s', (value, flow, safe) => {
    expect(isPlainSafe(value, flow)).toBe(safe)
  })
})

/** The spot of the first value scalar in `source` (the document itself when it is a scalar), as locate finds it. */
function locateFirstScalar(source: string): ScalarSpot {
  const doc = parseDocument(source)
  const node = isMap(doc.contents) ? (doc.contents.items[0].value as Scalar) : (doc.contents as Scalar)
  const [start, end] = node.range as [number, number, number]
  return { start, end, value: String(node.value), style: node.type as Scalar.Type, flow: false }
}

describe('replaceScalar', () => {
  const spot = (source: string, style: 'PLAIN' | 'QUOTE_SINGLE' | 'QUOTE_DOUBLE') => ({
    start: source.indexOf(':') + 2,
    end: source.length,
    value: '',
    style,
    flow: false
  })
  it.each<[string, 'PLAIN' | 'QUOTE_SINGLE' | 'QUOTE_DOUBLE', string, string]>([
    ['tag: 1.9', 'PLAIN', '1.10', '"1.10"'],
    ['tag: v1', 'PLAIN', 'v2', 'v2'],
    ["tag: 'v1'", 'QUOTE_SINGLE', "it's", "'it''s'"],
    ['tag: "v1"', 'QUOTE_DOUBLE', '1.10', '"1.10"']
  ])('%s ← %s keeps or fixes the style', (source, style, value, text) => {
    expect(replaceScalar(source, spot(source, style), value).text).toBe(text)
  })

  it.each<[string, string, string, string]>([
    ['literal', 'tag: |\n  v1\n', 'v2', 'tag: |\n  v2\n'],
    ['folded, no final line break', 'tag: >-\n    v1', 'v2', 'tag: >-\n    v2'],
    ['header comment holding the old value', 'tag: | # x\n  x\n', 'y', 'tag: | # x\n  y\n'],
    ['a document that is a block scalar', '|\nv1\n', 'v2', '|\nv2\n']
  ])('a block scalar (%s) has its content replaced in place', (_name, source, value, expected) => {
    const spot = locateFirstScalar(source)
    expect(applySplices(source, [replaceScalar(source, spot, value)])).toBe(expected)
  })

  it.each([
    ['empty', 'tag: |\nnext: x\n'],
    ['folded over two lines (its value is on no single line)', 'tag: >\n  v1\n  v2\n']
  ])('refuses to rewrite a block scalar %s', (_name, source) => {
    expect(() => replaceScalar(source, locateFirstScalar(source), 'v3')).toThrow(UneditableError)
  })

  it('a value right after the colon of a quoted flow key gets no space', () => {
    const source = '{"tag":v1}'
    const spot = { start: 7, end: 9, value: 'v1', style: 'PLAIN' as const, flow: true }
    expect(applySplices(source, [replaceScalar(source, spot, 'v2')])).toBe('{"tag":v2}')
  })

  it('refuses to put a line break into a block scalar', () => {
    const source = 'tag: |\n  v1\n'
    const block = { start: 5, end: source.length, value: 'v1\n', style: 'BLOCK_LITERAL' as const, flow: false }
    expect(replaceScalar(source, block, 'v2').text).toBe('v2')
    const tooLong = (): unknown => replaceScalar(source, block, 'v2\nv3')
    expect(tooLong).toThrow(UneditableError)
    expect(tooLong).toThrow('cannot rewrite the block scalar "v1\\n" in place')
  })
})

describe('applySplices', () => {
  it('applies splices in offset order and refuses overlapping ones', () => {
    expect(
      applySplices('abcdef', [
        { start: 4, end: 5, text: 'E' },
        { start: 0, end: 1, text: 'A' }
      ])
    ).toBe('AbcdEf')
    const overlapping = (): unknown =>
      applySplices('abcdef', [
        { start: 0, end: 3, text: 'x' },
        { start: 2, end: 4, text: 'y' }
      ])
    expect(overlapping).toThrow(UneditableError)
    expect(overlapping).toThrow('overlapping edits at offset 2')
  })
})

describe('descriptorFiles', () => {
  const blob = (path: string, mode = '100644'): TreeFile => ({ path, mode, type: 'blob', sha: path })
  const tree: TreeFile[] = [
    { path: 'apps', mode: '040000', type: 'tree', sha: 't1' },
    { path: 'apps/api', mode: '040000', type: 'tree', sha: 't2' },
    blob('apps/api/deploy.yaml'),
    blob('apps/api/svc.yml'),
    blob('apps/api/cm.json'),
    blob('apps/api/Kustomization'),
    blob('apps/api/README.md'),
    blob('apps/api/link.yaml', '120000'),
    blob('apps/apix/deploy.yaml'),
    blob('values.prod')
  ]

  it.each<[string[], string[]]>([
    [['apps/api'], ['apps/api/Kustomization', 'apps/api/cm.json', 'apps/api/deploy.yaml', 'apps/api/svc.yml']],
    [
      ['apps/api/deploy.yaml', 'values.prod'],
      ['apps/api/deploy.yaml', 'values.prod']
    ],
    [
      ['.'],
      [
        'apps/api/Kustomization',
        'apps/api/cm.json',
        'apps/api/deploy.yaml',
        'apps/api/svc.yml',
        'apps/apix/deploy.yaml'
      ]
    ]
  ])('%j → %j', (paths, expected) => {
    expect(descriptorFiles(tree, paths, 'o/r@main').map(f => f.path)).toEqual(expected)
  })

  it('reads every file of a Helm chart folder; only its non-template YAML is edited', () => {
    const chart = [
      blob('web/Chart.yaml'),
      blob('web/values.yaml'),
      blob('web/.helmignore'),
      blob('web/templates/_helpers.tpl'),
      blob('web/templates/deploy.yaml'),
      blob('web/charts/redis/Chart.yaml'),
      blob('web/charts/redis/templates/NOTES.txt'),
      blob('web-values.md'),
      blob('templates/plain.yaml')
    ]
    const read = descriptorFiles(chart, ['.'], 'o/r@main').map(f => f.path)
    expect(read).toEqual(
      chart
        .filter(f => f.path !== 'web-values.md')
        .map(f => f.path)
        .sort()
    )
    const charts = chartFolders(read)
    expect(read.filter(path => isEditable(path, charts))).toEqual([
      'templates/plain.yaml',
      'web/Chart.yaml',
      'web/charts/redis/Chart.yaml',
      'web/values.yaml'
    ])
  })

  it('names every missing env path', () => {
    const missing = (): unknown => descriptorFiles(tree, ['apps/api', 'apps/web', 'x.yaml'], 'o/r@main')
    expect(missing).toThrow(EnvPathNotFoundError)
    expect(missing).toThrow('env-path "apps/web", "x.yaml" not found in o/r@main')
  })
})

describe('renderCommitMessage', () => {
  const values = {
    image: 'ghcr.io/acme/web',
    tag: 'abc1234',
    digest: 'sha256:1234',
    reference: 'ghcr.io/acme/web:abc1234@sha256:1234',
    previous: 'ghcr.io/acme/web:old',
    sha: '0123456789',
    repo: 'acme/web',
    run_url: 'https://github.com/acme/web/actions/runs/7'
  }

  it('fills every placeholder and leaves other braces', () => {
    expect(
      renderCommitMessage('{image} {tag} {digest} {reference} {previous} {sha} {repo} {run_url} {other}', values)
    ).toBe(
      'ghcr.io/acme/web abc1234 sha256:1234 ghcr.io/acme/web:abc1234@sha256:1234 ghcr.io/acme/web:old 0123456789 acme/web https://github.com/acme/web/actions/runs/7 {other}'
    )
  })

  it('default: subject, old → new, source and run', () => {
    expect(renderCommitMessage(undefined, values)).toBe(
      'deploy ghcr.io/acme/web:abc1234\n\nghcr.io/acme/web:old → ghcr.io/acme/web:abc1234@sha256:1234\nSource: acme/web@0123456789\nRun: https://github.com/acme/web/actions/runs/7\n'
    )
  })

  it('default outside Actions leaves out what is unknown', () => {
    expect(renderCommitMessage(undefined, { ...values, previous: '', sha: '', repo: '', run_url: '' })).toBe(
      'deploy ghcr.io/acme/web:abc1234\n\n→ ghcr.io/acme/web:abc1234@sha256:1234\n'
    )
  })
})

/** Lines removed and added by a shortest edit: each side's length less their longest common subsequence. */
function minimalChanges(a: string[], b: string[]): [number, number] {
  const lcs = a.map(() => new Array<number>(b.length + 1).fill(0))
  lcs.push(new Array<number>(b.length + 1).fill(0))
  for (let i = a.length - 1; i >= 0; i--)
    for (let j = b.length - 1; j >= 0; j--)
      lcs[i][j] = a[i] === b[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1])
  return [a.length - lcs[0][0], b.length - lcs[0][0]]
}

describe('unifiedDiff', () => {
  it('shows a changed line with context, CR stripped', () => {
    expect(unifiedDiff('a.yaml', 'a\r\nb\r\nc\r\n', 'a\r\nB\r\nc\r\n')).toBe(
      '--- a/a.yaml\n+++ b/a.yaml\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n'
    )
  })

  it('splits far apart changes into hunks and counts added lines', () => {
    const before = 'l1\nl2\nl3\nl4\nl5\nl6\nl7\nl8\nl9\nl10\n'
    const after = 'L1\nl2\nl3\nl4\nl5\nl6\nl7\nl8\nl9\nl10\nl11\n'
    expect(unifiedDiff('f', before, after)).toBe(
      '--- a/f\n+++ b/f\n@@ -1,2 +1,2 @@\n-l1\n+L1\n l2\n@@ -10,1 +10,2 @@\n l10\n+l11\n'
    )
  })

  it.each([
    [
      'a Secret document',
      'all.yaml',
      'kind: Deployment\nimage: a:1\n---\nkind: Secret\nstringData:\n  token: s3cret-old\n'
    ],
    ['a JSON Secret', 's.json', '{\n"kind": "Secret",\n"stringData": {"token": "s3cret-old"}\n}\n']
  ])('never shows the lines of %s', (_name, file, before) => {
    const after = before.replace('s3cret-old', 's3cret-new').replace('a:1', 'a:2')
    const diff = unifiedDiff(file, before, after)
    expect(diff).not.toMatch(/s3cret/)
    expect(diff).toContain(`-<line of a Secret document hidden>\n+<line of a Secret document hidden>`)
    if (file.endsWith('.yaml')) expect(diff).toContain('-image: a:1\n+image: a:2')
  })

  it('is a patch that turns the old text into the new one, with the fewest changed lines', () => {
    let seed = 7
    const random = (n: number): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n
    for (let run = 0; run < 300; run++) {
      const alphabet = 1 + random(8)
      const before = Array.from({ length: random(25) }, () => `l${random(alphabet)}`)
      // kept, dropped, one inserted before, or replaced by a line only the new side has
      const after = before.flatMap(line => [[line], [], [`l${random(alphabet)}`, line], [`new${random(3)}`]][random(4)])
      const [a, b] = [before, after].map(lines => lines.map(line => `${line}\n`).join(''))
      const diff = unifiedDiff('f', a, b)
      if (a === b) continue
      expect(applyPatch(a, diff)).toBe(b)
      const changed = (sign: string): number => diff.split('\n').filter(l => l[0] === sign && l[1] !== sign).length
      expect([changed('-'), changed('+')]).toEqual(minimalChanges(before, after))
    }
  })

  it('is empty for equal texts', () => {
    expect(unifiedDiff('f', 'x\n', 'x\n')).toBe('')
  })

  it('shows no hunk when only line ends or the final newline differ (they are kept as they were)', () => {
    expect(unifiedDiff('f', 'a\r\nb', 'a\nb\n')).toBe('--- a/f\n+++ b/f\n')
  })

  it('numbers hunks of a new file and of lines added at the end like git', () => {
    expect(unifiedDiff('f', '', 'x\ny\n')).toBe('--- a/f\n+++ b/f\n@@ -0,0 +1,2 @@\n+x\n+y\n')
    expect(unifiedDiff('f', 'x\n', '')).toBe('--- a/f\n+++ b/f\n@@ -1,1 +0,0 @@\n-x\n')
  })

  it('hides the Secret lines of each side by their own line numbers when lines were added before them', () => {
    const before = 'kind: ConfigMap\ndata: {a: "1"}\n---\nkind: Secret\nstringData: {token: old}\n'
    const after =
      'kind: ConfigMap\ndata: {a: "1"}\nimmutable: true\nextra: true\n---\nkind: Secret\nstringData: {token: new}\n'
    expect(unifiedDiff('f.yaml', before, after)).toBe(
      '--- a/f.yaml\n+++ b/f.yaml\n' +
        '@@ -2,4 +2,6 @@\n data: {a: "1"}\n+immutable: true\n+extra: true\n' +
        ` ${HIDDEN_LINE}\n ${HIDDEN_LINE}\n-${HIDDEN_LINE}\n+${HIDDEN_LINE}\n`
    )
  })
})

describe('rateLimitWait', () => {
  const now = 1_000_000_000_000
  it.each<[string, object, number | undefined]>([
    ['429 with Retry-After', { status: 429, response: { headers: { 'retry-after': '3' } } }, 3000],
    [
      '403 secondary rate limit with Retry-After',
      {
        status: 403,
        message: 'You have exceeded a secondary rate limit',
        response: { headers: { 'retry-after': '7' } }
      },
      7000
    ],
    ['403 secondary rate limit without headers: one minute', { status: 403, message: 'secondary rate limit' }, 60_000],
    [
      '403 primary limit exhausted: until the reset',
      {
        status: 403,
        response: { headers: { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(now / 1000 + 5) } }
      },
      6000
    ],
    ['403 permission denied: no retry', { status: 403, message: 'Resource not accessible by integration' }, undefined],
    [
      'GraphQL 200 RATE_LIMITED (primary limit): until the reset',
      {
        status: 200,
        response: {
          data: { errors: [{ type: 'RATE_LIMITED', message: 'API rate limit exceeded for user ID 1.' }] },
          headers: { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(now / 1000 + 5) }
        }
      },
      6000
    ],
    [
      'GraphQL 200 RATE_LIMIT with Retry-After',
      {
        status: 200,
        response: { data: { errors: [{ type: 'RATE_LIMIT', message: 'limit' }] }, headers: { 'retry-after': '2' } }
      },
      2000
    ],
    [
      'GraphQL 200 secondary rate limit without headers: one minute',
      { status: 200, response: { data: { errors: [{ message: 'You have exceeded a secondary rate limit.' }] } } },
      60_000
    ],
    [
      'GraphQL 200 with other errors: no retry',
      { status: 200, response: { data: { errors: [{ type: 'STALE_DATA', message: 'Expected branch' }] } } },
      undefined
    ],
    ['500: left to plugin-retry', { status: 500 }, undefined]
  ])('%s', (_, failure, wait) => {
    expect(rateLimitWait(failure, now)).toBe(wait)
  })
})

describe('CONFLICT_RETRY', () => {
  it.each<[number, number, number, number]>([
    [1, 500, 1, 1000],
    [3, 500, 1, 4000],
    [1, 10, 1, 200], // at least a 100 ms slot
    [9, 2000, 1, 30_000], // capped
    [5, 2000, 0, 0] // full jitter reaches zero
  ])('attempt %i, slot %i ms, random %f → %i ms', (attempt, slot, random, wait) => {
    expect(backoffMs(CONFLICT_RETRY, attempt, slot, () => random)).toBe(wait)
  })
})

describe('proposalBranch', () => {
  it.each([
    ['registry.local:5000/team/api', 'deploy/main/team-api'],
    ['nginx', 'deploy/main/nginx'],
    ['ghcr.io/acme/web', 'deploy/main/acme-web']
  ])('%s → %s', (image, branch) => {
    expect(proposalBranch('main', parseImageRepository(image))).toBe(branch)
  })
})

describe('forbiddenMessage', () => {
  it.each<[string, Parameters<typeof forbiddenMessage>[3], string, string]>([
    [
      'a write keeps the reason and names the permission',
      'pull-requests',
      'Resource not accessible by integration',
      'env-token may not act in acme/env: it needs pull-requests: write (GitHub: "Resource not accessible by integration")'
    ],
    ['a read', undefined, 'Nope', 'env-token cannot read acme/env (403: "Nope")'],
    [
      'SAML',
      'contents',
      'Resource protected by organization SAML enforcement.',
      'env-token is not authorized for the SAML single sign-on of acme: authorize the token for the organization (GitHub: "Resource protected by organization SAML enforcement.")'
    ]
  ])('%s', (_, scope, reason, message) => {
    expect(forbiddenMessage('env-token', 'acme/env', 'act', scope, reason)).toBe(message)
  })

  it('Actions may not open pull requests: names the setting', () => {
    expect(
      forbiddenMessage(
        'env-token',
        'acme/env',
        'open pull requests',
        'pull-requests',
        'GitHub Actions is not permitted to create or approve pull requests.'
      )
    ).toContain('enable "Allow GitHub Actions to create and approve pull requests"')
  })
})

describe('isLostRefRace', () => {
  it.each<[number, string, boolean]>([
    [422, 'Update is not a fast forward', true],
    [422, 'Reference cannot be updated', true],
    [422, 'Reference update failed', true],
    [409, 'Reference update failed: too much contention', true],
    [422, 'Object does not exist', false],
    [422, 'Reference does not exist', false],
    [500, 'Reference cannot be updated', false]
  ])('%d %s → %s', (status, reason, lost) => {
    expect(isLostRefRace(status, reason)).toBe(lost)
  })
})
