import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { promisify } from 'node:util'
import { parseAllDocuments, type Tags } from 'yaml'
import which from 'which'
import { type EnvFile, type HookInfo, type KubeObject, type Refusal } from './types.js'
import { mapLimit } from '../lib/concurrency.js'
import { makeTempDir, removeTempDir } from '../lib/temp-files.js'
import { isKustomizationFile, isManifestFile, kustomizationFieldValues } from '../lib/descriptors.js'
import { ProblemsError } from '../lib/problems.js'

/** An object from the env repo and where it was read. */
export interface Manifest {
  object: KubeObject
  /** `apps/web/deploy.yaml (document 2)`, `kustomize build apps/web` or `helm template web apps/web`. */
  source: string
  /** Namespace for it when it names none (a Helm release's namespace); else the default one. */
  namespace?: string
  /** A Helm hook, run around the main apply instead of with it. */
  hook?: HookInfo
}

/** Every file or document that could not be read, each naming its source. */
export class ManifestError extends ProblemsError {}

// kubectl reads YAML 1.1 (octal 0644 file modes, yes/no booleans) but keeps timestamps and
// sexagesimal-looking values (12:30) as strings.
const customTags = (tags: Tags): Tags =>
  tags.filter(tag =>
    typeof tag === 'string'
      ? !['timestamp', 'intTime', 'floatTime'].includes(tag)
      : tag.tag !== 'tag:yaml.org,2002:timestamp' && tag.format !== 'TIME'
  )

/** Every object of one YAML or JSON file: multi-document, empty documents skipped, Lists expanded. */
export function parseManifest(source: string, content: string): { manifests: Manifest[]; problems: string[] } {
  const manifests: Manifest[] = []
  const problems: string[] = []
  const documents = parseAllDocuments(content, { version: '1.1', customTags, uniqueKeys: true })
  for (const [index, document] of (Array.isArray(documents) ? documents : [documents]).entries()) {
    const where = `${source} (document ${index + 1})`
    if (document.errors.length > 0) {
      problems.push(`${where}: ${document.errors[0].message.split('\n')[0]}`)
      continue
    }
    const value: unknown = document.toJS({ maxAliasCount: 1000 })
    if (value === null || value === undefined) continue
    const items = isList(value) ? value.items : [value]
    for (const [itemIndex, item] of items.entries()) {
      const at = isList(value) ? `${where} item ${itemIndex + 1}` : where
      const problem = objectProblem(item)
      if (problem) problems.push(`${at}: ${problem}`)
      else manifests.push({ object: item as KubeObject, source: at })
    }
  }
  return { manifests, problems }
}

function isList(value: unknown): value is { kind: string; items: unknown[] } {
  const v = value as { kind?: unknown; items?: unknown }
  return typeof v === 'object' && typeof v.kind === 'string' && v.kind.endsWith('List') && Array.isArray(v.items)
}

function objectProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return 'is not a Kubernetes object (a mapping)'
  const v = value as { apiVersion?: unknown; kind?: unknown; metadata?: { name?: unknown; namespace?: unknown } }
  if (typeof v.apiVersion !== 'string' || !v.apiVersion) return 'has no apiVersion'
  if (typeof v.kind !== 'string' || !v.kind) return 'has no kind'
  if (typeof v.metadata?.name !== 'string' || !v.metadata.name) {
    return `${v.kind} has no metadata.name (generateName cannot be applied)`
  }
  if (v.metadata.namespace !== undefined && typeof v.metadata.namespace !== 'string') {
    return `${v.kind} ${v.metadata.name}: metadata.namespace is not a string`
  }
  return undefined
}

/**
 * Which kustomizations to build and which files kustomize reads. Roots are kustomization
 * directories no other kustomization refers to (overlays, not their bases); a file inside a
 * kustomization directory, or named by one, belongs to kustomize and is not applied directly.
 */
export function kustomizePlan(files: EnvFile[]): { roots: string[]; owned: Set<string> } {
  const kustomizations = files.filter(f => isKustomizationFile(f.path))
  const dirs = kustomizations.map(f => path.posix.dirname(f.path))
  const referenced = new Set<string>()
  for (const file of kustomizations) {
    const dir = path.posix.dirname(file.path)
    for (const entry of kustomizationReferences(file.content)) referenced.add(path.posix.join(dir, entry))
  }
  const inside = (file: string, dir: string): boolean => dir === '.' || file.startsWith(`${dir}/`)
  const owned = new Set(
    files.filter(f => referenced.has(f.path) || dirs.some(dir => inside(f.path, dir))).map(f => f.path)
  )
  return { roots: [...new Set(dirs.filter(dir => !referenced.has(dir)))].sort(), owned }
}

function kustomizationReferences(content: string): string[] {
  try {
    const document = parseAllDocuments(content)
    const value = (Array.isArray(document) ? document[0]?.toJS() : undefined) as Record<string, unknown> | undefined
    return ['resources', 'bases', 'components']
      .flatMap(name => kustomizationFieldValues(value, name))
      .flatMap(list => (Array.isArray(list) ? (list as unknown[]) : []))
      .filter((entry): entry is string => typeof entry === 'string')
      .map(entry => entry.replace(/\/+$/, ''))
  } catch {
    // kustomize itself reports a broken kustomization
    return []
  }
}

/** Renders one kustomization directory (below `workdir`) to YAML. */
export type KustomizeRenderer = (workdir: string, root: string) => Promise<string>

/** What a renderer found in the files: the files it reads, and how to render them. */
export interface RenderPlan {
  /** Files it reads (never parsed as manifests themselves). */
  owned: Set<string>
  /** What is wrong with its inputs, each naming its file. */
  problems: string[]
  /** Renders what it found from `workdir`, which holds a copy of the files; absent when there is nothing. */
  render?: (workdir: string) => Promise<Rendering>
}

/**
 * One way to turn part of the env files into objects. Kustomize is one; Helm charts are
 * another (src/kube/helm.ts): each owns its files, and renders them from one shared copy.
 */
export interface Renderer {
  plan(files: EnvFile[]): RenderPlan
}

/** What would be deployed from a set of files, and every file or root that could not be read. */
export interface Rendering {
  manifests: Manifest[]
  problems: string[]
  /** Kustomize references the apply policy refused (then nothing was rendered); also in `problems`. */
  refusals?: Refusal[]
}

export type RenderFiles = (files: EnvFile[]) => Promise<Rendering>

// renderer processes (kubectl) run side by side; more than this only queues on a small runner
const RENDER_PARALLELISM = 4

/** Kustomizations that no other one refers to, built with `kustomize build` or `kubectl kustomize`. */
export function kustomizeRenderer(build: KustomizeRenderer = kustomizeBuild): Renderer {
  return {
    plan(files) {
      const { roots, owned } = kustomizePlan(files)
      const render = async (workdir: string): Promise<Rendering> => {
        const parsed = await mapLimit(roots, RENDER_PARALLELISM, async root => {
          const source = `kustomize build ${root}`
          try {
            return parseManifest(source, await build(workdir, root))
          } catch (error) {
            return { manifests: [], problems: [`${source}: ${(error as Error).message}`] }
          }
        })
        return { manifests: parsed.flatMap(p => p.manifests), problems: parsed.flatMap(p => p.problems) }
      }
      return { owned, problems: [], render: roots.length > 0 ? render : undefined }
    }
  }
}

/**
 * All objects of the env files. Plain manifests are parsed as they are; what a renderer owns
 * (kustomizations, Helm charts) is rendered from one temporary copy of the files, renderers
 * side by side. Never throws for what it cannot read: that is listed in `problems`.
 */
export async function renderFiles(files: EnvFile[], renderers: Renderer[] = [kustomizeRenderer()]): Promise<Rendering> {
  const manifests: Manifest[] = []
  const problems: string[] = []
  const plans = renderers.map(renderer => renderer.plan(files))
  for (const plan of plans) problems.push(...plan.problems)
  for (const file of files) {
    if (isKustomizationFile(file.path) || plans.some(plan => plan.owned.has(file.path))) continue
    if (!isManifestFile(file.path)) continue
    const parsed = parsedFile(file)
    manifests.push(...parsed.manifests)
    problems.push(...parsed.problems)
  }
  const renders = plans.flatMap(plan => (plan.render ? [plan.render] : []))
  if (renders.length === 0) return { manifests, problems }
  const workdir = makeTempDir('render')
  try {
    problems.push(...writeFiles(workdir, files))
    for (const rendered of await Promise.all(renders.map(render => render(workdir)))) {
      manifests.push(...rendered.manifests)
      problems.push(...rendered.problems)
    }
  } finally {
    removeTempDir(workdir)
  }
  return { manifests, problems }
}

// Plain manifests parsed lately, by path and content: the trees before and after an edit share
// all but the edited files. Objects are never changed in place (the applier copies them).
const parsedFiles = new Map<string, { manifests: Manifest[]; problems: string[] }>()
const PARSED_FILES_KEPT = 2000

function parsedFile(file: EnvFile): { manifests: Manifest[]; problems: string[] } {
  const key = `${file.path}\0${file.content}`
  let parsed = parsedFiles.get(key)
  if (!parsed) {
    parsed = parseManifest(file.path, file.content)
    if (parsedFiles.size >= PARSED_FILES_KEPT) parsedFiles.delete(parsedFiles.keys().next().value as string)
    parsedFiles.set(key, parsed)
  }
  return parsed
}

/** The objects of the env files; throws ManifestError listing every problem. */
export async function readManifests(files: EnvFile[], render: RenderFiles = renderFiles): Promise<Manifest[]> {
  const { manifests, problems } = await render(files)
  if (problems.length > 0) throw new ManifestError(problems)
  return manifests
}

/**
 * A renderer that renders each distinct set of files once: a run renders the tree it edits,
 * validates, applies and may roll back to, and none of those should pay for a second build.
 */
export function renderOnce(render: RenderFiles = renderFiles): RenderFiles {
  const renders = new Map<string, Promise<Rendering>>()
  return files => {
    const hash = createHash('sha256')
    for (const file of [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))) {
      hash.update(`${file.path}\0${file.content.length}\0`).update(file.content)
    }
    const key = hash.digest('hex')
    let rendering = renders.get(key)
    if (!rendering) {
      rendering = render(files)
      renders.set(key, rendering)
    }
    return rendering
  }
}

/** Writes the files below `workdir`; a path leaving it is a problem, not a file. */
function writeFiles(workdir: string, files: EnvFile[]): string[] {
  const problems: string[] = []
  for (const file of files) {
    const relative = path.posix.normalize(file.path)
    if (relative.startsWith('../') || path.posix.isAbsolute(relative)) {
      problems.push(`${file.path}: path leaves the env repository`)
      continue
    }
    const target = path.join(workdir, relative)
    mkdirSync(path.dirname(target), { recursive: true })
    writeFileSync(target, file.content)
  }
  return problems
}

/** The first of `names` that is an executable on PATH (looked up as a shell does, by `which`). */
export async function findOnPath(names: string[]): Promise<string | undefined> {
  for (const name of names) {
    const found = await which(name, { nothrow: true })
    if (found) return found
  }
  return undefined
}

const execFileAsync = promisify(execFile)

async function kustomizeBuild(workdir: string, root: string): Promise<string> {
  const binary = await findOnPath(['kustomize', 'kubectl'])
  if (!binary) {
    throw new Error('neither kustomize nor kubectl is on PATH; install one of them to deploy a kustomization')
  }
  const args = path.basename(binary) === 'kubectl' ? ['kustomize', root] : ['build', root]
  try {
    const { stdout } = await execFileAsync(binary, args, { cwd: workdir, maxBuffer: 64 * 1024 * 1024 })
    return stdout
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr?.trim()
    throw new Error(stderr || (error as Error).message, { cause: error })
  }
}
