import { execFile } from 'node:child_process'
import { accessSync, constants, mkdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { promisify } from 'node:util'
import { parseAllDocuments, type Tags } from 'yaml'
import { chartPlan, type HelmOptions, type HelmRunner, hookOf, type HookInfo, renderCharts } from './helm.js'
import { type EnvFile, type KubeObject } from './types.js'
import { makeTempDir, removeTempDir } from '../lib/temp-files.js'
import { kustomizeRefusals, PolicyError } from './policy.js'

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
export class ManifestError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('\n'))
    this.name = 'ManifestError'
  }
}

const MANIFEST_EXTENSIONS = ['.yaml', '.yml', '.json']
const KUSTOMIZATION_FILES = ['kustomization.yaml', 'kustomization.yml', 'Kustomization']

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

export function isKustomization(filePath: string): boolean {
  return KUSTOMIZATION_FILES.includes(path.posix.basename(filePath))
}

/**
 * Which kustomizations to build and which files kustomize reads. Roots are kustomization
 * directories no other kustomization refers to (overlays, not their bases); a file inside a
 * kustomization directory, or named by one, belongs to kustomize and is not applied directly.
 */
export function kustomizePlan(files: EnvFile[]): { roots: string[]; owned: Set<string> } {
  const kustomizations = files.filter(f => isKustomization(f.path))
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
      .flatMap(key => (Array.isArray(value?.[key]) ? (value[key] as unknown[]) : []))
      .filter((entry): entry is string => typeof entry === 'string')
      .map(entry => entry.replace(/\/+$/, ''))
  } catch {
    // kustomize itself reports a broken kustomization
    return []
  }
}

/** Renders one kustomization directory (below `workdir`) to YAML. */
export type KustomizeRenderer = (workdir: string, root: string) => Promise<string>

export interface RenderOptions {
  kustomize?: KustomizeRenderer
  /** Kustomizations may refer to remote bases (the apply policy's `kustomize-remote`). */
  kustomizeRemote?: boolean
  /** How charts are rendered; the namespace defaults to `default`. */
  helm?: Partial<HelmOptions> & { releaseName?: string; run?: HelmRunner }
}

/**
 * All objects of the env files. Plain manifests are parsed as they are; kustomizations are
 * rendered with `kustomize build` or `kubectl kustomize` (once every reference they make stays in
 * the env repo; remote ones only with `kustomizeRemote`), Helm charts with `helm template`, both
 * from a temporary copy of the files.
 */
export async function readManifests(files: EnvFile[], options: RenderOptions = {}): Promise<Manifest[]> {
  const refused = kustomizeRefusals(files, options.kustomizeRemote ?? false, isKustomization)
  if (refused.length > 0) throw new PolicyError(refused)
  const manifests: Manifest[] = []
  const problems: string[] = []
  const kustomize = kustomizePlan(files)
  const charts = chartPlan(files, options.helm?.releaseName)
  problems.push(...charts.problems)
  for (const file of files) {
    if (kustomize.owned.has(file.path) || charts.owned.has(file.path) || isKustomization(file.path)) continue
    if (!MANIFEST_EXTENSIONS.includes(path.posix.extname(file.path).toLowerCase())) continue
    const parsed = parseManifest(file.path, file.content)
    manifests.push(...parsed.manifests)
    problems.push(...parsed.problems)
  }
  if (kustomize.roots.length > 0 || charts.releases.length > 0) {
    const workdir = makeTempDir('render')
    try {
      writeFiles(workdir, files)
      const render = options.kustomize ?? kustomizeBuild
      for (const root of kustomize.roots) {
        let rendered: string
        try {
          rendered = await render(workdir, root)
        } catch (error) {
          problems.push(`kustomize build ${root}: ${(error as Error).message}`)
          continue
        }
        const parsed = parseManifest(`kustomize build ${root}`, rendered)
        manifests.push(...parsed.manifests)
        problems.push(...parsed.problems)
      }
      const { releaseName: _, run, ...helm } = options.helm ?? {}
      const rendered = await renderCharts(charts.releases, files, workdir, { namespace: 'default', ...helm }, run)
      for (const result of rendered) {
        const where = `helm template ${result.release.releaseName} ${result.release.source}`
        if ('error' in result) {
          problems.push(`${where}: ${result.error}`)
          continue
        }
        const parsed = parseManifest(where, result.yaml)
        problems.push(...parsed.problems)
        for (const manifest of parsed.manifests) {
          const hook = hookOf(manifest.object)
          if (hook === 'skip') continue
          manifests.push({ ...manifest, namespace: result.release.namespace ?? helm.namespace, hook })
        }
      }
    } finally {
      removeTempDir(workdir)
    }
  }
  if (problems.length > 0) throw new ManifestError(problems)
  return manifests
}

function writeFiles(workdir: string, files: EnvFile[]): void {
  for (const file of files) {
    const relative = path.posix.normalize(file.path)
    if (relative.startsWith('../') || path.posix.isAbsolute(relative)) {
      throw new ManifestError([`${file.path}: path leaves the env repository`])
    }
    const target = path.join(workdir, relative)
    mkdirSync(path.dirname(target), { recursive: true })
    writeFileSync(target, file.content)
  }
}

/** The first of `names` that is an executable on PATH. */
export function findOnPath(names: string[], pathVariable = process.env.PATH ?? ''): string | undefined {
  for (const name of names) {
    for (const dir of pathVariable.split(path.delimiter).filter(Boolean)) {
      const candidate = path.join(dir, name)
      try {
        accessSync(candidate, constants.X_OK)
        return candidate
      } catch {
        // not here
      }
    }
  }
  return undefined
}

const execFileAsync = promisify(execFile)

async function kustomizeBuild(workdir: string, root: string): Promise<string> {
  const binary = findOnPath(['kustomize', 'kubectl'])
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
