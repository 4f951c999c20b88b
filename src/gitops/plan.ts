// Edits over all descriptor files of one commit: forward (deploy an image) and semantic revert.
import { familiarName, type ImageRepository } from '../image/reference.js'
import { unifiedDiff } from './diff.js'
import { MissingDigestError } from './errors.js'
import { chartFolders, isEditable } from './files.js'
import { mentionLines } from './locate.js'
import { editFile, repositorySpelling, sameValue, valueOf, type FileEdit, type WriteTarget } from './edit.js'
import { type EnvFile, type ImageEdit, type ReferenceChange } from './types.js'

export interface FilesEdit {
  /** Every file, edited or not. */
  files: EnvFile[]
  /** Only the files whose text changed. */
  changed: EnvFile[]
  changes: ReferenceChange[]
  /** Locations of the repository found, changed or not. */
  matched: number
  diff: string
  /** Per file read: the image repositories it names, or why it was skipped (and the lines naming the image then). */
  inventory: Array<{ path: string; repositories: string[]; skipped?: string; mentions?: number[]; template?: boolean }>
  /** Places of the image left alone, each naming its file. */
  warnings: string[]
}

/** What an edit writes, per pin: tag, digest or both (`version` is the tag in every case). */
export function targetOf(edit: ImageEdit): WriteTarget {
  const withTag = edit.pin !== 'digest'
  const withDigest = edit.pin !== 'tag'
  if (withDigest && !edit.digest) throw new MissingDigestError(edit.pin)
  return { tag: withTag ? edit.tag : undefined, digest: withDigest ? edit.digest : undefined, version: edit.tag }
}

/** Every location of the repository is made to hold the edit's reference. */
export function forwardEdit(edit: ImageEdit): FileEdit {
  const target = targetOf(edit)
  return { repository: edit.repository, image: edit.image, targetFor: () => target }
}

/**
 * The locations `changes` touched get their previous reference back, but only where they still
 * hold the value that was written: a later change by someone else is never undone.
 */
export function revertEdit(repository: ImageRepository, changes: ReferenceChange[]): (path: string) => FileEdit {
  return path => {
    const byLocation = new Map(changes.filter(c => c.path === path).map(c => [c.location, c]))
    const image = (changes[0] && repositorySpelling(changes[0].next)) ?? familiarName(repository)
    return {
      repository,
      image,
      targetFor: ({ key, current }) => {
        const change = byLocation.get(key)
        const written = change && valueOf(change.next)
        const previous = change && valueOf(change.previous)
        if (!change || !written || !previous || !sameValue(current, written)) return undefined
        return { ...previous, version: previous.tag ?? '' }
      },
      restore: key => byLocation.get(key)?.lines
    }
  }
}

/**
 * Reverts `changes` (made by commit `ours`, child of `parent`) on the `current` files. A file
 * still exactly as our commit left it gets the parent's bytes back; a file changed since gets
 * the semantic revert, which leaves every line someone else changed alone.
 */
export function revertFiles(
  current: EnvFile[],
  ours: EnvFile[],
  parent: EnvFile[],
  repository: ImageRepository,
  changes: ReferenceChange[]
): FilesEdit {
  const written = new Map(ours.map(file => [file.path, file.content]))
  const before = new Map(parent.map(file => [file.path, file.content]))
  return editFiles(current, revertEdit(repository, changes), file =>
    written.get(file.path) === file.content ? before.get(file.path) : undefined
  )
}

/**
 * Applies a file edit to every file. `exactText` may give the whole text a changed file should
 * have instead (a revert restoring the parent's bytes). `survey` reads every file, also those
 * that cannot name the image, for the inventory of the no-match message.
 */
export function editFiles(
  files: EnvFile[],
  editFor: (path: string) => FileEdit,
  exactText: (file: EnvFile) => string | undefined = () => undefined,
  survey = false
): FilesEdit {
  const result: FilesEdit = { files: [], changed: [], changes: [], matched: 0, diff: '', inventory: [], warnings: [] }
  const charts = chartFolders(files.map(file => file.path))
  for (const file of files) {
    if (!isEditable(file.path, charts)) {
      result.files.push(file)
      // named in the no-match message when it hard-codes the image
      const mentions = mentionLines(file.content, editFor(file.path).repository)
      if (mentions.length > 0) {
        result.inventory.push({
          path: file.path,
          repositories: [],
          skipped: 'a Helm chart file',
          mentions,
          template: true
        })
      }
      continue
    }
    const edited = editFile(file.content, file.path, editFor(file.path), survey)
    const text = edited.changes.length > 0 ? (exactText(file) ?? edited.text) : edited.text
    const after = { path: file.path, content: text }
    result.files.push(after)
    if (text !== file.content) {
      result.changed.push(after)
      result.diff += unifiedDiff(file.path, file.content, text)
    }
    result.changes.push(...edited.changes)
    result.matched += edited.matched
    result.inventory.push({
      path: file.path,
      repositories: edited.repositories,
      skipped: edited.skipped,
      mentions: edited.mentions
    })
    result.warnings.push(...edited.warnings)
  }
  return result
}

/** The "nothing to edit" error: what was read and which images it names. */
export function noMatchMessage(image: string, where: string, inventory: FilesEdit['inventory']): string {
  const lines = inventory.map(({ path, repositories, skipped, mentions }) => {
    const names = skipped ?? (repositories.length > 0 ? repositories.join(', ') : 'no images')
    const named =
      skipped && mentions && mentions.length > 0
        ? `; names ${image} on line ${mentions.join(', ')}: a Helm template is never edited, put the image in values.yaml (repository + tag) or mark the line`
        : ''
    return `  ${path}: ${names}${named}`
  })
  return [
    `no reference to ${image} found under env-path in ${where}.`,
    lines.length > 0
      ? 'Files read and the image repositories they name:'
      : 'No descriptor files (.yaml, .yml, Kustomization) there.',
    ...lines,
    `Reference the image in a manifest, a kustomization "images:" entry, Helm values (repository + tag), or mark a line with "# gitops-push-deploy: image".`
  ].join('\n')
}
