// The safety net: render what would be deployed before and after an edit and compare. An
// edit is accepted only when the rendered objects differ in image fields alone, every image
// of the repository moved off its old reference, and every image the edit touched is valid.
import { parseAllDocuments } from 'yaml'
import { renderFiles, type Manifest, type RenderFiles, type Rendering } from '../render/manifests.js'
import { isKustomizationFile } from '../lib/descriptors.js'
import { ProblemsError } from '../lib/problems.js'
import { tryParseReference, splitAlias } from './locate.js'
import { holds, valueOf, type WriteTarget } from './edit.js'
import { sameRepository, type ImageReference, type ImageRepository } from '../image/reference.js'
import { NoReferenceError } from './errors.js'
import { type EnvFile, type ImageEdit } from './types.js'
import { editFiles, forwardEdit, noMatchMessage, targetOf, type FilesEdit } from './plan.js'

/** The edited files would not deploy what the edit says: every problem names its file or object. */
export class RenderCheckError extends ProblemsError {
  constructor(problems: string[]) {
    super(
      problems,
      `the edit does not render as intended, nothing committed:\n${problems.map(p => `  ${p}`).join('\n')}`
    )
  }
}

export interface RenderCheck {
  /** Objects rendered from the edited files. */
  objects: number
  /** What could not be rendered before the edit either: not checked. */
  unchecked: string[]
}

// keys that hold a tag or digest apart from the repository (kustomize images, Helm values in
// a HelmRelease, markers): a change there is an image change when it writes the edit's value
const PART_KEYS = new Set(['newTag', 'tag', 'imageTag', 'digest'])

/**
 * The forward edit of the env files, proven by rendering: what the action (in memory, at the
 * env repo's head) and the `edit` command (on a checkout) both run. Throws when the image is not
 * referenced, or RenderCheckError; `warn` hears what was left alone or not checked.
 */
export async function provenEdit(
  files: EnvFile[],
  edit: ImageEdit,
  where: string,
  render: RenderFiles,
  warn: (message: string) => void
): Promise<FilesEdit> {
  const edited = editFiles(files, () => forwardEdit(edit))
  for (const { path, skipped, template } of edited.inventory) {
    if (skipped && !template) warn(`${path}: skipped, ${skipped}`)
  }
  for (const warning of edited.warnings) warn(warning)
  if (edited.matched === 0) {
    const survey = editFiles(files, () => forwardEdit(edit), undefined, true)
    throw new NoReferenceError(noMatchMessage(edit.image, where, survey.inventory))
  }
  if (edited.changed.length > 0) {
    const check = await checkEdit(files, edited.files, edit.repository, targetOf(edit), render)
    for (const problem of check.unchecked)
      warn(`render check: not checked, it did not render before either: ${problem}`)
  }
  return edited
}

/**
 * Renders `before` and `after` (the edited files) and compares; throws RenderCheckError.
 * Files or roots that do not render before the edit either are reported as unchecked.
 */
export async function checkEdit(
  before: EnvFile[],
  after: EnvFile[],
  repository: ImageRepository,
  target: WriteTarget,
  render: RenderFiles = renderFiles
): Promise<RenderCheck> {
  const [old, next] = await Promise.all([render(before), render(after)])
  const problems = compareRenderings(old, next, deployedAs(after, repository), target)
  if (problems.length > 0) throw new RenderCheckError(problems)
  return { objects: next.manifests.length, unchecked: old.problems }
}

/** The check itself, pure: what is wrong with `after` given `before`. */
export function compareRenderings(
  before: Rendering,
  after: Rendering,
  repository: ImageRepository | ImageRepository[],
  target: WriteTarget
): string[] {
  const repositories = Array.isArray(repository) ? repository : [repository]
  const ours = (ref: ImageReference | undefined): boolean =>
    ref !== undefined && repositories.some(r => sameRepository(ref, r))
  const known = new Set(before.problems)
  const problems = after.problems.filter(p => !known.has(p)).map(p => `no longer renders: ${p}`)
  // a root or file that did not render before (`newTag: 1.10` is refused by kustomize) has nothing to compare with
  const broken = new Set(before.problems.map(p => origin(p.slice(0, p.indexOf(': ')))))
  const old = new Map(before.manifests.map(m => [identity(m), m]))
  const seen = new Set<string>()
  for (const manifest of after.manifests) {
    const id = identity(manifest)
    seen.add(id)
    const where = `${manifest.source}: ${manifest.object.kind} ${manifest.object.metadata.name}`
    const previous = old.get(id)
    if (!previous && broken.has(origin(manifest.source))) continue
    if (!previous) {
      problems.push(`${where}: not rendered before the edit`)
      continue
    }
    compareValues(previous.object, manifest.object, [], (path, was, now) => {
      const key = path[path.length - 1]
      const field = path.join('.')
      if (key === 'image' && typeof now === 'string') {
        const ref = tryParseReference(now)
        if (!ref) problems.push(`${where}: ${field} is not a valid image reference: ${JSON.stringify(now)}`)
        else if (!imageChange(was, now, ours))
          problems.push(`${where}: ${field} changed from ${show(was)} to ${show(now)}, another image`)
        return
      }
      if (!partChange(key, was, now, ours, target)) {
        problems.push(`${where}: ${field} changed from ${show(was)} to ${show(now)}, which is not an image field`)
      }
    })
    for (const [field, value] of imageFields(manifest.object)) {
      const ref = tryParseReference(value)
      if (!ref || !ours(ref)) continue
      const current = { tag: ref.tag, digest: ref.digest }
      if (
        String(valueAt(previous.object, field)) === String(valueAt(manifest.object, field)) &&
        !holds(current, target)
      ) {
        problems.push(`${where}: ${field.join('.')} still holds the old reference ${value}`)
      }
    }
  }
  for (const [id, manifest] of old) {
    if (!seen.has(id)) {
      problems.push(`${manifest.source}: ${manifest.object.kind} ${manifest.object.metadata.name}: no longer rendered`)
    }
  }
  return problems
}

/** The file or root an object or problem comes from: `kustomize build prod (document 2)` → `kustomize build prod`. */
function origin(source: string): string {
  return source.replace(/ \(document \d+\).*$/, '')
}

function identity(manifest: Manifest): string {
  const { apiVersion, kind, metadata } = manifest.object
  return `${origin(manifest.source)}|${apiVersion}|${kind}|${metadata.namespace ?? ''}|${metadata.name}`
}

function show(value: unknown): string {
  return value === undefined ? 'nothing' : JSON.stringify(value)
}

/** Both sides name the repository (`image`, an Argo CD `alias=repo:tag`). */
function imageChange(was: unknown, now: string, ours: (ref: ImageReference | undefined) => boolean): boolean {
  const ref = (text: unknown) => (typeof text === 'string' ? tryParseReference(splitAlias(text).reference) : undefined)
  return ours(ref(was)) && ours(ref(now))
}

/** The repository and what kustomizations rename it to (`images[].newName`, a mirror): what it renders as. */
export function deployedAs(files: EnvFile[], repository: ImageRepository): ImageRepository[] {
  const found = [repository]
  for (const file of files.filter(f => isKustomizationFile(f.path))) {
    const images = (parseAllDocuments(file.content) as unknown as Array<{ toJS(): unknown }>)[0]?.toJS() as
      { images?: Array<{ name?: unknown; newName?: unknown }> } | undefined
    for (const entry of Array.isArray(images?.images) ? images.images : []) {
      const name = typeof entry?.name === 'string' ? tryParseReference(entry.name) : undefined
      const newName = typeof entry?.newName === 'string' ? tryParseReference(entry.newName) : undefined
      if (name && newName && sameRepository(name, repository)) found.push(newName)
    }
  }
  return found
}

/**
 * A value the edit writes (its tag, digest, `tag@digest`, a reference of the repository), or a
 * stale tag or digest dropped: what a kustomize entry, Helm values or a marked line may show.
 */
function partChange(
  key: string | number | undefined,
  was: unknown,
  now: unknown,
  ours: (ref: ImageReference | undefined) => boolean,
  target: WriteTarget
): boolean {
  if (typeof now === 'string' && imageChange(was, now, ours)) return true
  const written = [target.tag, target.digest, target.version, target.digest && `${target.version}@${target.digest}`]
  if (typeof now === 'string' && written.includes(now)) return true
  if (typeof key !== 'string' || !PART_KEYS.has(key)) return false
  if (now === undefined || now === '' || now === null) return true
  const value = typeof now === 'string' ? valueOf(`x:${now}`) : undefined
  return value !== undefined && holds(value, target)
}

type Path = Array<string | number>

/** Calls `differ` for every leaf (or whole subtree present on one side only) that differs. */
function compareValues(a: unknown, b: unknown, path: Path, differ: (path: Path, was: unknown, now: unknown) => void) {
  if (a === b) return
  if (Array.isArray(a) && Array.isArray(b) && a.length === b.length) {
    a.forEach((item, i) => compareValues(item, b[i], [...path, i], differ))
    return
  }
  if (isObject(a) && isObject(b)) {
    for (const key of new Set([...Object.keys(a), ...Object.keys(b)]))
      compareValues(a[key], b[key], [...path, key], differ)
    return
  }
  differ(path, a, b)
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

// Helm values (in a HelmRelease, an Argo CD Application): repository-like and tag-like keys side by side
const VALUES_REPOSITORY_KEYS = ['repository', 'image']
const VALUES_TAG_KEYS = ['tag', 'imageTag']

/**
 * Every image reference an object holds, with its path: `image` strings (not Flux
 * ImageRepository.spec.image, a repository only), and Helm values maps as `repository:tag`
 * at the tag's path, so a tag an overlay patches apart from its repository is seen too.
 */
function imageFields(object: Record<string, unknown>): Array<[Path, string]> {
  const found: Array<[Path, string]> = []
  const repositoryOnly = object.kind === 'ImageRepository'
  const walk = (value: unknown, path: Path): void => {
    if (Array.isArray(value)) value.forEach((item, i) => walk(item, [...path, i]))
    else if (isObject(value)) {
      const repositoryKey = VALUES_REPOSITORY_KEYS.find(k => typeof value[k] === 'string')
      const tagKey = VALUES_TAG_KEYS.find(k => typeof value[k] === 'string' || typeof value[k] === 'number')
      if (repositoryKey && tagKey && value[tagKey] !== '') {
        const registry = typeof value.registry === 'string' && value.registry ? `${value.registry}/` : ''
        found.push([[...path, tagKey], `${registry}${value[repositoryKey] as string}:${String(value[tagKey])}`])
      }
      for (const [key, item] of Object.entries(value)) {
        if (key === 'image' && typeof item === 'string' && !(repositoryOnly && path.join('.') === 'spec')) {
          if (!(repositoryKey === 'image' && tagKey)) found.push([[...path, key], item])
        } else walk(item, [...path, key])
      }
    }
  }
  walk(object, [])
  return found
}

function valueAt(object: unknown, path: Path): unknown {
  let value = object
  for (const key of path) value = isObject(value) || Array.isArray(value) ? (value as never)[key] : undefined
  return value
}
