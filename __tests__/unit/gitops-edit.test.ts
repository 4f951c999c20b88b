import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from '@jest/globals'
import { parseImageRepository } from '../../src/image/reference.js'
import { type Pin } from '../../src/config/config.js'
import {
  editFile,
  holds,
  repositorySpelling,
  valueOf,
  type FileEdit,
  type LineBlock,
  type WriteTarget
} from '../../src/gitops/edit.js'
import { editFiles, forwardEdit, noMatchMessage, revertEdit, revertFiles, targetOf } from '../../src/gitops/plan.js'
import { type EnvFile } from '../../src/gitops/types.js'
import { MissingDigestError, UneditableError } from '../../src/gitops/errors.js'

const FIXTURES = path.join(import.meta.dirname, '../fixtures/gitops')
const NEW = 'sha256:11507a0e2f5e69d5dfa40a62a1bd7b6ee57e6bcd85c67c9b8431b36fff21c437'
const OLD = 'sha256:cba06b5736faf67e54b07b561eae94395e774c517a7d910a54369e1263ccfbd4'

interface CaseEdit {
  image: string
  tag: string
  digest: string
  pin: Pin
  changes: number
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter(entry => entry.isFile())
    .map(entry => path.relative(dir, path.join(entry.parentPath, entry.name)))
    .sort()
}

function editOf(spec: Omit<CaseEdit, 'changes'>) {
  return { ...spec, repository: parseImageRepository(spec.image) }
}

/**
 * 1-based numbers of the lines of `after` that are not in a longest common subsequence
 * with `before`: the changed and added lines, also when a key was added (kustomize newTag).
 */
function changedLinesOf(before: string[], after: string[]): number[] {
  const common = before.map(() => new Array<number>(after.length + 1).fill(0))
  common.push(new Array<number>(after.length + 1).fill(0))
  for (let i = before.length - 1; i >= 0; i--) {
    for (let j = after.length - 1; j >= 0; j--) {
      common[i][j] = before[i] === after[j] ? common[i + 1][j + 1] + 1 : Math.max(common[i + 1][j], common[i][j + 1])
    }
  }
  const changed: number[] = []
  let i = 0
  let j = 0
  while (j < after.length) {
    if (i < before.length && before[i] === after[j]) {
      i++
      j++
    } else if (i < before.length && common[i + 1][j] >= common[i][j + 1]) i++
    else changed.push(++j)
  }
  return changed
}

const cases = readdirSync(FIXTURES, { withFileTypes: true })
  .filter(entry => entry.isDirectory())
  .map(entry => entry.name)

describe('golden corpus: byte-exact edits', () => {
  it('has cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(12)
  })

  it.each(cases)('%s', name => {
    const dir = path.join(FIXTURES, name)
    const spec = JSON.parse(readFileSync(path.join(dir, 'edit.json'), 'utf8')) as CaseEdit
    const inputs = filesUnder(path.join(dir, 'input'))
    expect(filesUnder(path.join(dir, 'expected'))).toEqual(inputs)
    const files = inputs.map(p => ({ path: p, content: readFileSync(path.join(dir, 'input', p), 'utf8') }))
    const result = editFiles(files, () => forwardEdit(editOf(spec)))

    for (const file of result.files) {
      expect(file.content).toBe(readFileSync(path.join(dir, 'expected', file.path), 'utf8'))
    }
    expect(result.changes).toHaveLength(spec.changes)
    // every changed line is reported, and nothing else changed
    for (const file of files) {
      const before = file.content.split('\n')
      const after = result.files.find(f => f.path === file.path)!.content.split('\n')
      const changedLines = changedLinesOf(before, after)
      const reported = result.changes.filter(c => c.path === file.path).map(c => c.line)
      // a change starts on its line; Helm's tag and digest are two lines of one change
      expect(changedLines.filter(line => !reported.includes(line - 1) || reported.includes(line))).toEqual(reported)
    }
  })
})

describe('semantic revert', () => {
  const image = 'registry.local:5000/team/api'
  const edit = editOf({ image, tag: '1.10', digest: NEW, pin: 'tag+digest' })

  const corpus = (name: string) => {
    const dir = path.join(FIXTURES, name)
    const spec = JSON.parse(readFileSync(path.join(dir, 'edit.json'), 'utf8')) as CaseEdit
    const files = filesUnder(path.join(dir, 'input')).map(p => ({
      path: p,
      content: readFileSync(path.join(dir, 'input', p), 'utf8')
    }))
    return { spec, files, forward: editFiles(files, () => forwardEdit(editOf(spec))) }
  }
  const valuesOf = (files: EnvFile[], spec: CaseEdit) =>
    editFiles(files, () => ({
      repository: parseImageRepository(spec.image),
      image: spec.image,
      targetFor: ({ key, current }) => {
        seen.push([key, current])
        return undefined
      }
    })) && seen.splice(0)
  const seen: Array<[string, unknown]> = []

  it.each(cases)('%s: a file as our commit left it gets the parent bytes back', name => {
    const { spec, files, forward } = corpus(name)
    const reverted = revertFiles(forward.files, forward.files, files, parseImageRepository(spec.image), forward.changes)
    expect(reverted.files).toEqual(files)
    expect(reverted.changes).toHaveLength(spec.changes)
  })

  it.each(cases)('%s: the semantic revert alone gives back the original bytes', name => {
    const { spec, files, forward } = corpus(name)
    const reverted = editFiles(forward.files, revertEdit(parseImageRepository(spec.image), forward.changes))
    expect(reverted.files).toEqual(files)
  })

  it.each(cases)('%s: a file changed since gets every reference value back', name => {
    const { spec, files, forward } = corpus(name)
    const touched = forward.files.map(f => ({ ...f, content: `# touched\n${f.content}` }))
    const reverted = revertFiles(touched, forward.files, files, parseImageRepository(spec.image), forward.changes)
    expect(reverted.changes).toHaveLength(spec.changes)
    expect(valuesOf(reverted.files, spec)).toEqual(valuesOf(files, spec))
  })

  it('leaves a location someone changed after us', () => {
    const source = `a:\n  image: ${image}:1.9\nb:\n  image: ${image}:1.9\n`
    const forward = editFile(source, 'x.yaml', forwardEdit(edit))
    expect(forward.changes).toHaveLength(2)
    const later = forward.text.replace(`b:\n  image: ${image}:1.10@${NEW}`, `b:\n  image: ${image}:2.0`)
    const reverted = editFile(later, 'x.yaml', revertEdit(edit.repository, forward.changes)('x.yaml'))
    expect(reverted.text).toBe(`a:\n  image: ${image}:1.9\nb:\n  image: ${image}:2.0\n`)
    expect(reverted.changes.map(c => [c.line, c.previous, c.next])).toEqual([
      [2, `${image}:1.10@${NEW}`, `${image}:1.9`]
    ])
  })

  const OTHER = `sha256:${'c'.repeat(64)}`
  it.each([
    ['the tag alone changed later', `${image}:1.11@${NEW}`],
    ['the digest alone changed later', `${image}:1.10@${OTHER}`],
    ['the digest dropped later', `${image}:1.10`],
    ['the tag dropped later', `${image}@${NEW}`]
  ])('leaves a location alone when %s', (_name, laterReference) => {
    const source = `a:\n  image: ${image}:1.9\nb:\n  image: ${image}:1.9\n`
    const forward = editFile(source, 'x.yaml', forwardEdit(edit))
    const later = forward.text.replace(`b:\n  image: ${image}:1.10@${NEW}`, `b:\n  image: ${laterReference}`)
    expect(later).not.toBe(forward.text)
    const reverted = editFile(later, 'x.yaml', revertEdit(edit.repository, forward.changes)('x.yaml'))
    expect(reverted.text).toBe(`a:\n  image: ${image}:1.9\nb:\n  image: ${laterReference}\n`)
    expect(reverted.changes.map(c => c.line)).toEqual([2])
  })

  it('finds the location again after lines were added above it', () => {
    const source = `spec:\n  image: ${image}:1.9\n`
    const forward = editFile(source, 'x.yaml', forwardEdit(edit))
    const later = `# a comment someone added\n# and another\n${forward.text}`
    const reverted = editFile(later, 'x.yaml', revertEdit(edit.repository, forward.changes)('x.yaml'))
    expect(reverted.text).toBe(`# a comment someone added\n# and another\n${source}`)
  })
})

describe('forward edit details', () => {
  const image = 'registry.local:5000/team/api'
  const run = (source: string, pin: Pin, file = 'f.yaml', tag = '1.10', survey = false) =>
    editFile(source, file, forwardEdit(editOf({ image, tag, digest: NEW, pin })), survey)

  it.each<[string, Pin, string, string]>([
    [
      'pin tag drops an old kustomize digest',
      'tag',
      `images:\n- name: ${image}\n  newTag: a\n  digest: ${OLD}\n`,
      `images:\n- name: ${image}\n  newTag: "1.10"\n`
    ],
    [
      'pin digest adds the digest after newName',
      'digest',
      `images:\n- name: app\n  newName: ${image}\n`,
      `images:\n- name: app\n  newName: ${image}\n  digest: ${NEW}\n`
    ],
    [
      'a flow entry gets a new key inside the braces',
      'tag',
      `images: [{name: ${image}}]\n`,
      `images: [{name: ${image}, newTag: "1.10"}]\n`
    ],
    [
      'a kustomization without final newline',
      'tag',
      `images:\n- name: ${image}`,
      `images:\n- name: ${image}\n  newTag: "1.10"`
    ],
    [
      'pin tag empties a Helm digest',
      'tag',
      `repository: ${image}\ntag: "1.9"\ndigest: ${OLD}\n`,
      `repository: ${image}\ntag: "1.10"\ndigest: ""\n`
    ]
  ])('%s', (_, pin, source, expected) => {
    expect(run(source, pin, 'kustomization.yaml').text).toBe(expected)
  })

  it('keeps other Kustomization keys untouched in a plain manifest file name', () => {
    // `images:` only means kustomize in a kustomization file
    const source = `images:\n- name: ${image}\n  newTag: a\n`
    expect(run(source, 'tag').matched).toBe(0)
  })

  it('does not parse a file that cannot name the image', () => {
    const result = run('image: {{ .Values.image }}\n  bad: [\n', 'tag')
    expect(result).toEqual({
      text: 'image: {{ .Values.image }}\n  bad: [\n',
      changes: [],
      matched: 0,
      repositories: [],
      mentions: [],
      warnings: []
    })
  })

  it('skips a file that is not YAML and says why', () => {
    const result = run('image: {{ .Values.image }}\n  bad: [\n', 'tag', 'f.yaml', '1.10', true)
    expect(result.skipped).toMatch(/^not YAML/)
    expect(result.text).toBe('image: {{ .Values.image }}\n  bad: [\n')
  })

  it('lists the repositories it saw', () => {
    const result = run(
      'a:\n  image: nginx:1\nb:\n  repository: quay.io/x/y\n  tag: "1"\n',
      'tag',
      'f.yaml',
      '1.10',
      true
    )
    expect(result.repositories).toEqual(['docker.io/library/nginx', 'quay.io/x/y'])
    expect(noMatchMessage(image, 'o/r@main', [{ path: 'f.yaml', repositories: result.repositories }])).toContain(
      'f.yaml: docker.io/library/nginx, quay.io/x/y'
    )
  })

  it('a block scalar reference is shown without its line break', () => {
    const result = run(`image: |\n  ${image}:1.9\n`, 'tag')
    expect(result.changes.map(c => [c.previous, c.next])).toEqual([[`${image}:1.9`, `${image}:1.10`]])
  })

  it('leaves ${…} placeholders alone in every form, with a warning naming the file and line', () => {
    const source = [
      `a:\n  image: ${image}:\${TAG}`,
      `b:\n  image: \${REGISTRY}/team/api:1.9`,
      `c:\n  repository: ${image}\n  tag: \${TAG}`,
      `d: \${TAG} # gitops-push-deploy: tag`,
      ''
    ].join('\n')
    const result = run(source, 'tag')
    expect(result.text).toBe(source)
    expect(result.matched).toBe(0)
    expect(result.warnings.map(w => w.slice(0, w.indexOf(':', 'f.yaml'.length + 1)))).toEqual([
      'f.yaml:2',
      'f.yaml:4',
      'f.yaml:7',
      'f.yaml:8'
    ])
  })

  it('an aliased newTag is replaced by the new tag; the anchor stays', () => {
    const source = `images:\n- name: other\n  newTag: &v "1.9"\n- name: ${image}\n  newTag: *v\n`
    expect(run(source, 'tag', 'kustomization.yaml').text).toBe(
      `images:\n- name: other\n  newTag: &v "1.9"\n- name: ${image}\n  newTag: "1.10"\n`
    )
  })

  it('the no-match message points at a Helm template that hard-codes the image', () => {
    const template = `spec:\n  containers:\n  - image: "${image}:{{ .Values.tag }}"\n    {{- if .Values.x }}\n`
    const result = run(template, 'tag', 'templates/deployment.yaml')
    expect(result.skipped).toMatch(/^not YAML/)
    expect(result.mentions).toEqual([3])
    const message = noMatchMessage(image, 'o/r@main', [
      { path: 'templates/deployment.yaml', repositories: [], skipped: result.skipped, mentions: result.mentions }
    ])
    expect(message).toContain(`names ${image} on line 3: a Helm template is never edited`)
  })

  it('a tag marker stays when the pin has no tag', () => {
    const source = 'version: "1.9" # gitops-push-deploy: tag\n'
    expect(run(source, 'digest').text).toBe(source)
  })
})

describe('targetOf', () => {
  const base = { repository: parseImageRepository('nginx'), image: 'nginx', tag: '1.27', digest: NEW }
  it.each<[Pin, string | undefined, string | undefined]>([
    ['tag', '1.27', undefined],
    ['digest', undefined, NEW],
    ['tag+digest', '1.27', NEW]
  ])('pin %s writes tag %s and digest %s', (pin, tag, digest) => {
    expect(targetOf({ ...base, pin })).toEqual({ tag, digest, version: '1.27' })
  })

  it('refuses a digest pin without a digest', () => {
    expect(() => targetOf({ ...base, digest: '', pin: 'digest' })).toThrow(MissingDigestError)
    expect(() => targetOf({ ...base, digest: '', pin: 'tag+digest' })).toThrow(
      'pin "tag+digest" needs the image digest, which is unknown'
    )
  })
})

describe('holds: is a location already deploying the target?', () => {
  const D1 = `sha256:${'1'.repeat(64)}`
  const D2 = `sha256:${'2'.repeat(64)}`
  it.each([
    // pin tag
    ['same tag', { tag: 'v1' }, { tag: 'v1' }, true],
    ['other tag', { tag: 'v1' }, { tag: 'v2' }, false],
    ['tag target, location pinned by digest too', { tag: 'v1', digest: D1 }, { tag: 'v1' }, false],
    // pin digest: any tag (or none) with the same digest deploys it
    ['digest target, same digest no tag', { digest: D1 }, { digest: D1 }, true],
    ['digest target, same digest under a tag', { tag: 'v1', digest: D1 }, { digest: D1 }, true],
    ['digest target, other digest', { tag: 'v1', digest: D2 }, { digest: D1 }, false],
    ['digest target, tag only', { tag: 'v1' }, { digest: D1 }, false],
    // pin tag+digest: both must match; the same digest under a new tag is not current
    ['tag+digest, both same', { tag: 'v1', digest: D1 }, { tag: 'v1', digest: D1 }, true],
    ['tag+digest, same digest new tag', { tag: 'v1', digest: D1 }, { tag: 'v2', digest: D1 }, false],
    ['tag+digest, same tag new digest', { tag: 'v1', digest: D1 }, { tag: 'v1', digest: D2 }, false],
    ['tag+digest, digest only there', { digest: D1 }, { tag: 'v1', digest: D1 }, false],
    ['empty location, tag target', {}, { tag: 'v1' }, false],
    // a revert to an empty value: a tagged location does not hold it
    ['empty target, tagged location', { tag: 'v1' }, {}, false]
  ])('%s', (_name, current, target, expected) => {
    expect(holds(current, target)).toBe(expected)
  })

  it('writes the new tag when tag+digest keeps the digest (a retag of the same image)', () => {
    const image = 'registry.local:5000/team/api'
    const source = `image: ${image}:1.9@${D1}\n`
    const result = editFile(
      source,
      'f.yaml',
      forwardEdit(editOf({ image, tag: '1.10', digest: D1, pin: 'tag+digest' }))
    )
    expect(result.text).toBe(`image: ${image}:1.10@${D1}\n`)
  })
})

describe('edit details the corpus does not reach', () => {
  const image = 'registry.local:5000/team/api'
  const repository = parseImageRepository(image)
  const forward = (source: string, pin: Pin, file = 'kustomization.yaml') =>
    editFile(source, file, forwardEdit(editOf({ image, tag: '1.10', digest: NEW, pin })))
  /** An edit writing `target` everywhere, restoring `block` where it is found. */
  const fixed = (target: WriteTarget, block?: LineBlock): FileEdit => ({
    repository,
    image,
    targetFor: () => target,
    restore: () => block
  })

  it.each<[string, Pin, string, string]>([
    [
      'tagSuffix next to newTag: newTag is still written',
      'tag',
      `images:\n- name: ${image}\n  newTag: a\n  tagSuffix: -s\n`,
      `images:\n- name: ${image}\n  newTag: "1.10"\n  tagSuffix: -s\n`
    ],
    [
      'a new digest goes after newTag',
      'tag+digest',
      `images:\n- name: ${image}\n  newTag: a\n  tagSuffix: -s\n`,
      `images:\n- name: ${image}\n  newTag: "1.10"\n  digest: ${NEW}\n  tagSuffix: -s\n`
    ],
    [
      'a new newTag goes after name',
      'tag+digest',
      `images:\n- name: ${image}\n  digest: ${OLD}\n`,
      `images:\n- name: ${image}\n  newTag: "1.10"\n  digest: ${NEW}\n`
    ],
    [
      'a dropped digest first in a flow entry takes its comma along',
      'tag',
      `images: [{digest: ${OLD}, name: ${image}, newTag: a}]\n`,
      `images: [{name: ${image}, newTag: "1.10"}]\n`
    ],
    [
      'a dropped digest that starts a list item is emptied (the dash stays)',
      'tag',
      `images:\n- digest: ${OLD}\n  name: ${image}\n  newTag: a\n`,
      `images:\n- digest: ""\n  name: ${image}\n  newTag: "1.10"\n`
    ],
    [
      'a dropped digest on the last line without final newline',
      'tag',
      `images:\n- name: ${image}\n  newTag: a\n  digest: ${OLD}`,
      `images:\n- name: ${image}\n  newTag: "1.10"`
    ],
    [
      'the same with CRLF line breaks',
      'tag',
      `images:\r\n- name: ${image}\r\n  newTag: a\r\n  digest: ${OLD}`,
      `images:\r\n- name: ${image}\r\n  newTag: "1.10"`
    ],
    [
      'a new newTag and digest go after newName, in that order',
      'tag+digest',
      `images:\n- name: app\n  newName: ${image}\n`,
      `images:\n- name: app\n  newName: ${image}\n  newTag: "1.10"\n  digest: ${NEW}\n`
    ],
    [
      'an entry naming only the image gets newTag and digest after its name',
      'tag+digest',
      `images:\n- name: ${image}\n- name: other\n`,
      `images:\n- name: ${image}\n  newTag: "1.10"\n  digest: ${NEW}\n- name: other\n`
    ],
    [
      'pin digest drops newTag and adds the digest after name',
      'digest',
      `images:\n- name: ${image}\n  newTag: a\n`,
      `images:\n- name: ${image}\n  digest: ${NEW}\n`
    ],
    [
      // a block scalar ends at the next line's start: the key goes on the line after its content
      'a new digest after a block scalar newTag stays in its entry',
      'tag+digest',
      `images:\n- name: ${image}\n  newTag: |-\n    a\n- name: other\n`,
      `images:\n- name: ${image}\n  newTag: |-\n    1.10\n  digest: ${NEW}\n- name: other\n`
    ],
    [
      'a dropped block scalar digest takes only its own lines',
      'tag',
      `images:\n- name: ${image}\n  newTag: a\n  digest: |-\n    ${OLD}\n  tagSuffix: -s\n`,
      `images:\n- name: ${image}\n  newTag: "1.10"\n  tagSuffix: -s\n`
    ],
    [
      'a Helm tag holding only a digest',
      'tag+digest',
      `repository: ${image}\ntag: "@${OLD}"\n`,
      `repository: ${image}\ntag: "1.10@${NEW}"\n`
    ]
  ])('%s', (_name, pin, source, expected) => {
    expect(forward(source, pin).text).toBe(expected)
  })

  it('a Helm tag holding only a digest reads as that digest', () => {
    const result = forward(`repository: ${image}\ntag: "@${OLD}"\n`, 'tag+digest', 'values.yaml')
    expect(result.changes.map(c => c.previous)).toEqual([`${image}@${OLD}`])
  })

  it('a newTag already right is not touched: the change is the digest line alone', () => {
    const result = forward(`images:\n- name: ${image}\n  newTag: "1.10"\n  digest: ${OLD}\n`, 'tag+digest')
    expect(result.changes.map(c => [c.line, c.lines])).toEqual([
      [4, { before: `  digest: ${OLD}\n`, after: `  digest: ${NEW}\n` }]
    ])
  })

  it('a Helm tag already right is not touched: the change is the digest line alone', () => {
    const result = forward(`repository: ${image}\ntag: "1.10"\ndigest: ${OLD}\n`, 'tag+digest', 'values.yaml')
    expect(result.changes.map(c => [c.line, c.lines])).toEqual([
      [3, { before: `digest: ${OLD}\n`, after: `digest: ${NEW}\n` }]
    ])
  })

  it('refuses a newTag that is not a scalar, naming it', () => {
    expect(() => forward(`images:\n- name: ${image}\n  newTag: [a]\n`, 'tag')).toThrow(
      '"newTag" at offset 47 is not a scalar'
    )
  })

  it('reports the whole lines a change replaced, a removed line included', () => {
    const result = forward(`images:\n- name: ${image}\n  newTag: a\n  digest: ${OLD}\n  newName: x\n`, 'tag')
    expect(result.changes.map(c => c.lines)).toEqual([
      { before: `  newTag: a\n  digest: ${OLD}\n`, after: '  newTag: "1.10"\n' }
    ])
  })

  it('reports the last line without final newline', () => {
    const result = forward(`image: ${image}:1.9`, 'tag', 'f.yaml')
    expect(result.changes.map(c => c.lines)).toEqual([{ before: `image: ${image}:1.9`, after: `image: ${image}:1.10` }])
  })

  it('a file that cannot name the image is not parsed unless surveyed', () => {
    expect(
      editFile('a: [\n', 'f.yaml', forwardEdit(editOf({ image, tag: '1', digest: NEW, pin: 'tag' }))).skipped
    ).toBe(undefined)
  })

  it.each([
    ['tag', 'version: "1.9" # gitops-push-deploy: tag\n', 'version: "" # gitops-push-deploy: tag\n'],
    ['digest', `digest: "${OLD}" # gitops-push-deploy: digest\n`, 'digest: "" # gitops-push-deploy: digest\n']
  ])('a %s marker is emptied for a target without one (a revert to empty)', (_kind, source, expected) => {
    expect(editFile(source, 'f.yaml', fixed({ version: '' })).text).toBe(expected)
  })

  it('a digest marker already at the digest is left alone', () => {
    const source = `digest: ${NEW} # gitops-push-deploy: digest\n`
    expect(editFile(source, 'f.yaml', fixed({ digest: NEW, version: '1' })).changes).toEqual([])
  })

  describe('restoring lines (a revert)', () => {
    const after = `  image: ${image}:1.10\n`
    // a comment the forward write would not produce: restored lines, not a rewrite
    const before = `  image: ${image}:1.9 # as it was\n`
    it('puts the lines back where they stand as whole lines, reporting them', () => {
      const source = `a:\n${after}`
      const result = editFile(source, 'f.yaml', fixed({ tag: '1.9', version: '1.9' }, { before, after }))
      expect(result.text).toBe(`a:\n${before}`)
      expect(result.changes.map(c => [c.line, c.lines])).toEqual([[2, { before: after, after: before }]])
    })

    it('nothing to restore: the target is written', () => {
      const result = editFile(`a:\n${after}`, 'f.yaml', fixed({ tag: '1.8', version: '1.8' }))
      expect(result.text).toBe(`a:\n  image: ${image}:1.8\n`)
    })

    it.each([
      ['at the start of the file', after, before],
      ['at the end of a file without final newline', `a:\n${after.trimEnd()}`, `a:\n${before.trimEnd()}`]
    ])('restores lines %s', (_name, source, expected) => {
      const block = source.endsWith('\n') ? { before, after } : { before: before.trimEnd(), after: after.trimEnd() }
      expect(editFile(source, 'f.yaml', fixed({ tag: '1.9', version: '1.9' }, block)).text).toBe(expected)
    })

    it('of two matches as near, the first is restored', () => {
      const mark = { before: '# pinned 1.9\n', after: '# pinned 1.10\n' }
      const source = `${mark.after}a:\n  image: ${image}:2.0\n# x\n${mark.after}`
      expect(editFile(source, 'f.yaml', fixed({ tag: '2.0', version: '2.0' }, mark)).text).toBe(
        `${mark.before}a:\n  image: ${image}:2.0\n# x\n${mark.after}`
      )
    })

    it('a last line found with more text after it is no place to restore', () => {
      // lines of a file without final newline, and someone added a comment to that line since
      const block = { before: before.trimEnd(), after: after.trimEnd() }
      const source = `a:\n${block.after} # later\n`
      const result = editFile(source, 'f.yaml', fixed({ tag: '1.9', version: '1.9' }, block))
      expect(result.text).toBe(`a:\n  image: ${image}:1.9 # later\n`)
    })

    it('lines two locations would restore are restored once; the other location is written', () => {
      const mark = { before: '# pinned 1.9\n', after: '# pinned 1.10\n' }
      const source = `a:\n  image: ${image}:1.8\n${mark.after}b:\n  image: ${image}:1.8\n`
      const result = editFile(source, 'f.yaml', fixed({ tag: '2.0', version: '2.0' }, mark))
      expect(result.text).toBe(`a:\n  image: ${image}:1.8\n${mark.before}b:\n  image: ${image}:2.0\n`)
      expect(result.changes.map(c => [c.location, c.line])).toEqual([
        ['0:a/image', 3],
        ['0:b/image', 5]
      ])
    })

    it.each([
      [
        'before',
        `# pinned 1.10\na:\n  image: ${image}:1.8\nb:\n  image: ${image}:2.0\n`,
        `# pinned 1.9\na:\n  image: ${image}:2.0\nb:\n  image: ${image}:2.0\n`,
        'f.yaml'
      ],
      [
        // the removed digest line starts where the restored lines end
        'right before',
        `images:\n- name: ${image}\n  newTag: "2.0"\n# pinned 1.10\n  digest: ${OLD}\n- name: ${image}\n  newTag: "2.0"\n`,
        `images:\n- name: ${image}\n  newTag: "2.0"\n# pinned 1.9\n- name: ${image}\n  newTag: "2.0"\n`,
        'kustomization.yaml'
      ]
    ])('lines are restored %s an earlier location’s edit', (_name, source, expected, file) => {
      const mark = { before: '# pinned 1.9\n', after: '# pinned 1.10\n' }
      // only the second location has lines to restore; the first is written
      const edit: FileEdit = {
        ...fixed({ tag: '2.0', version: '2.0' }),
        restore: key => (key === '0:b/image' || key === '0:images/1' ? mark : undefined)
      }
      const result = editFile(source, file, edit)
      expect(result.text).toBe(expected)
      expect(result.changes).toHaveLength(2)
    })

    it('restored lines that another location then writes are refused, naming the file', () => {
      // the first location's lines are found on the second one's line (its own line has a comment since)
      const source = `a:\n${after.trimEnd()} # note\nb:\n${after}`
      const refuse = () => editFile(source, 'f.yaml', fixed({ tag: '2.0', version: '2.0' }, { before, after }))
      expect(refuse).toThrow(UneditableError)
      expect(refuse).toThrow(
        expect.objectContaining({
          message: expect.stringMatching(/^f\.yaml: overlapping edits at offset \d+$/),
          cause: expect.objectContaining({ message: expect.stringMatching(/^overlapping edits at offset \d+$/) })
        })
      )
    })

    it('lines restored where the target cannot be written show the value as it is', () => {
      const mark = { before: '# pinned 1.9\n', after: '# pinned 1.10\n' }
      const source = `images:\n- name: ${image}\n  newTag: [a]\n${mark.after}`
      const result = editFile(source, 'kustomization.yaml', fixed({ tag: '1.9', version: '1.9' }, mark))
      expect(result.text).toBe(`images:\n- name: ${image}\n  newTag: [a]\n${mark.before}`)
      expect(result.changes.map(c => [c.previous, c.next])).toEqual([[image, image]])
    })

    it('text inside a line is no place to restore', () => {
      const source = `# was:${after}a:\n  image: ${image}:2.0\n`
      const result = editFile(source, 'f.yaml', fixed({ tag: '2.0', version: '2.0' }, { before, after }))
      expect(result.text).toBe(source)
    })

    it('the nearest whole-line match is restored, up to 50 lines away', () => {
      const mark = { before: '# pinned 1.9\n', after: '# pinned 1.10\n' }
      const edit = fixed({ tag: '2.0', version: '2.0' }, mark)
      const filler = (n: number) => '# x\n'.repeat(n)
      const location = `a:\n  image: ${image}:2.0\n`
      // the location is on line 5: line 6 is nearer than line 1
      expect(editFile(`${mark.after}${filler(2)}${location}${mark.after}`, 'f.yaml', edit).text).toBe(
        `${mark.after}${filler(2)}${location}${mark.before}`
      )
      expect(editFile(`${location}${filler(49)}${mark.after}`, 'f.yaml', edit).text).toBe(
        `${location}${filler(49)}${mark.before}`
      )
      const tooFar = `${location}${filler(50)}${mark.after}`
      expect(editFile(tooFar, 'f.yaml', edit).text).toBe(tooFar)
    })
  })
})

describe('valueOf and repositorySpelling', () => {
  it.each([
    [`a/b:1@${NEW}`, { tag: '1', digest: NEW }, 'a/b'],
    ['docker.io/library/nginx:1.25', { tag: '1.25', digest: undefined }, 'docker.io/library/nginx'],
    ['Not A Reference', undefined, undefined]
  ])('%s', (text, value, spelling) => {
    expect(valueOf(text)).toEqual(value)
    expect(repositorySpelling(text)).toBe(spelling)
  })
})
