// Helm charts as deploy units: which charts an env path holds (pure), and rendering them with
// `helm template` (the binary on PATH, as Argo CD does). Hooks are classified here and run by
// the applier around the main apply.
import { execFile } from 'node:child_process'
import path from 'node:path'
import { parseDocument } from 'yaml'
import { type EnvFile, type KubeObject } from './types.js'
import { type HookInfo, type HookPhase } from '../render/types.js'
import { findOnPath, type Renderer, type Rendering, parseManifest } from '../render/manifests.js'
import { makeTempDir, removeTempDir, writeTempFile } from '../lib/temp-files.js'

/** A file that names a chart to deploy (from a registry, or a local chart with extra values). */
export const CHART_FILE_NAMES = ['helm-chart.yaml', 'helm-chart.yml']
const CHART_FIELDS = ['chart', 'repoURL', 'version', 'releaseName', 'namespace', 'valuesFiles', 'values'] as const

/** One `helm template` to run. */
export interface ChartRelease {
  /** `apps/web/helm-chart.yaml`, or `apps/web/Chart.yaml` for a local chart deployed as it is. */
  source: string
  /** Env-repo folder of a local chart. */
  local?: string
  /** A chart from a registry: `oci://host/repo/chart`, or a chart name with `repoURL` (https). */
  remote?: { chart: string; repoURL?: string; version?: string }
  releaseName: string
  /** `--namespace`; the applier's default namespace when unset. */
  namespace?: string
  /** Env-repo paths of values files, in order (after the chart's own values.yaml). */
  valuesFiles: string[]
  /** Inline values from the chart file, applied last. */
  values?: Record<string, unknown>
}

export interface ChartPlan {
  releases: ChartRelease[]
  /** Files that belong to a chart (read by helm, never applied as manifests). */
  owned: Set<string>
  problems: string[]
}

const dirOf = (file: string): string => path.posix.dirname(file)
const inside = (file: string, dir: string): boolean => dir === '.' || file.startsWith(`${dir}/`)

/** `Chart.yaml` folders that are not sub-charts of another chart of the set. */
export function chartRoots(files: EnvFile[]): string[] {
  const dirs = files.filter(f => path.posix.basename(f.path) === 'Chart.yaml').map(f => dirOf(f.path))
  return dirs.filter(dir => !dirs.some(other => other !== dir && inside(dir, other))).sort()
}

export function isChartFile(filePath: string): boolean {
  return CHART_FILE_NAMES.includes(path.posix.basename(filePath))
}

/**
 * The charts of an env path. A chart file deploys the chart it names (a local folder relative to
 * it, or one from a registry) with its values files; a local chart no chart file names is
 * deployed as it is. The release name is the chart file's `releaseName`, else `releaseName`
 * (the input), else the name of the chart file's folder (of the chart's, without a chart file).
 */
export function chartPlan(files: EnvFile[], releaseName?: string): ChartPlan {
  const roots = chartRoots(files)
  const paths = new Set(files.map(f => f.path))
  const owned = new Set(files.filter(f => roots.some(root => inside(f.path, root))).map(f => f.path))
  const releases: ChartRelease[] = []
  const problems: string[] = []
  const used = new Set<string>()
  const folderName = (dir: string): string => (dir === '.' ? '' : path.posix.basename(dir))

  for (const file of files.filter(f => isChartFile(f.path))) {
    owned.add(file.path)
    const parsed = parseChartFile(file)
    if ('problems' in parsed) {
      problems.push(...parsed.problems)
      continue
    }
    const spec = parsed.spec
    const dir = dirOf(file.path)
    const release: ChartRelease = {
      source: file.path,
      releaseName: spec.releaseName ?? releaseName ?? folderName(dir),
      namespace: spec.namespace,
      valuesFiles: [],
      values: spec.values
    }
    if (isRemote(spec)) {
      release.remote = { chart: spec.chart, repoURL: spec.repoURL, version: spec.version }
    } else {
      const local = path.posix.normalize(path.posix.join(dir, spec.chart))
      if (!roots.includes(local)) {
        problems.push(`${file.path}: chart "${spec.chart}" is no chart folder (with Chart.yaml) under env-path`)
        continue
      }
      release.local = local
      used.add(local)
      if (!release.releaseName) release.releaseName = folderName(local)
    }
    for (const values of spec.valuesFiles) {
      const valuesPath = path.posix.normalize(path.posix.join(dir, values))
      if (!paths.has(valuesPath)) problems.push(`${file.path}: values file "${values}" not found under env-path`)
      owned.add(valuesPath)
      release.valuesFiles.push(valuesPath)
    }
    if (!release.releaseName) problems.push(`${file.path}: no releaseName (the chart file is at the repository root)`)
    releases.push(release)
  }
  for (const root of roots.filter(root => !used.has(root))) {
    const name = releaseName ?? folderName(root)
    const source = root === '.' ? 'Chart.yaml' : `${root}/Chart.yaml`
    if (!name) problems.push(`${source}: no release name (the chart is at the repository root); set release-name`)
    releases.push({ source, local: root, releaseName: name, valuesFiles: [] })
  }
  return { releases, owned, problems }
}

interface ChartSpec {
  chart: string
  repoURL?: string
  version?: string
  releaseName?: string
  namespace?: string
  valuesFiles: string[]
  values?: Record<string, unknown>
}

function isRemote(spec: ChartSpec): boolean {
  return spec.repoURL !== undefined || spec.chart.startsWith('oci://')
}

/** Reads and checks a chart file; every problem names the file and the field. */
export function parseChartFile(file: EnvFile): { spec: ChartSpec } | { problems: string[] } {
  const document = parseDocument(file.content, { uniqueKeys: true })
  if (document.errors.length > 0) return { problems: [`${file.path}: ${document.errors[0].message.split('\n')[0]}`] }
  const value = document.toJS() as unknown
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { problems: [`${file.path}: is not a mapping (chart, repoURL, version, releaseName, …)`] }
  }
  const raw = value as Record<string, unknown>
  const problems: string[] = []
  const field = (name: string, problem: string): void => {
    problems.push(`${file.path}: ${name} ${problem}`)
  }
  for (const key of Object.keys(raw)) {
    if (!(CHART_FIELDS as readonly string[]).includes(key))
      field(key, `is not a chart file field (${CHART_FIELDS.join(', ')})`)
  }
  const text = (name: string): string | undefined => {
    const v = raw[name]
    if (v === undefined || v === null) return undefined
    if (typeof v === 'number') return String(v)
    if (typeof v !== 'string' || !v) {
      field(name, 'must be a non-empty string')
      return undefined
    }
    return v
  }
  const spec: ChartSpec = {
    chart: text('chart') ?? '',
    repoURL: text('repoURL'),
    version: text('version'),
    releaseName: text('releaseName'),
    namespace: text('namespace'),
    valuesFiles: []
  }
  if (!spec.chart && raw.chart === undefined)
    field('chart', 'is required (a registry chart name, oci:// reference or local folder)')
  if (spec.repoURL && !/^(oci|https?):\/\//.test(spec.repoURL))
    field('repoURL', 'must start with oci://, https:// or http://')
  if (spec.repoURL && spec.chart.includes('://')) field('chart', 'must be a chart name when repoURL is set')
  if (spec.chart.startsWith('oci://') || spec.repoURL) {
    if (!spec.version) field('version', 'is required for a chart from a registry (a deploy must be reproducible)')
  } else if (spec.version) field('version', 'applies only to a chart from a registry (repoURL or oci://)')
  const valuesFiles = raw.valuesFiles ?? []
  if (!Array.isArray(valuesFiles) || valuesFiles.some(v => typeof v !== 'string' || !v))
    field('valuesFiles', 'must be a list of file paths (relative to the chart file)')
  else spec.valuesFiles = valuesFiles as string[]
  if (raw.values !== undefined && raw.values !== null) {
    if (typeof raw.values !== 'object' || Array.isArray(raw.values)) field('values', 'must be a mapping')
    else spec.values = raw.values as Record<string, unknown>
  }
  return problems.length > 0 ? { problems } : { spec }
}

/** How `helm template` reaches chart registries. */
export interface HelmOptions {
  /** Namespace for releases whose chart file names none. */
  namespace: string
  /** Login for OCI charts on this registry host (the registry-* inputs). */
  registry?: { host: string; username: string; password: string }
  /** Plain HTTP to OCI registries (registry-insecure). */
  plainHttp?: boolean
}

/** Runs helm with args in a folder; `input` goes to stdin. Resolves with stdout. */
export type HelmRunner = (
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv; input?: string }
) => Promise<string>

/** The `helm template` arguments for one release; `chartPath` is the local chart's folder on disk. */
export function templateArgs(
  release: ChartRelease,
  options: HelmOptions,
  files: { chartPath?: string; valuesPaths: string[] }
): string[] {
  const args = ['template', release.releaseName]
  if (release.remote) {
    const { chart, repoURL, version } = release.remote
    if (repoURL?.startsWith('oci://')) args.push(`${repoURL.replace(/\/+$/, '')}/${chart}`)
    else args.push(chart, ...(repoURL ? ['--repo', repoURL] : []))
    if (version) args.push('--version', version)
    if (options.plainHttp && (repoURL ?? chart).startsWith('oci://')) args.push('--plain-http')
  } else {
    args.push(files.chartPath ?? '.')
  }
  args.push('--namespace', release.namespace ?? options.namespace, '--include-crds', '--skip-tests')
  for (const values of files.valuesPaths) args.push('--values', values)
  return args
}

/** `oci://host/repo` → host. */
export function ociHost(release: ChartRelease): string | undefined {
  const ref = release.remote && (release.remote.repoURL ?? release.remote.chart)
  const match = ref ? /^oci:\/\/([^/]+)/.exec(ref) : null
  return match?.[1]
}

/** What one chart rendered to: YAML text and the release's namespace. */
export interface RenderedChart {
  release: ChartRelease
  yaml: string
}

/**
 * Renders every release with helm, from the env files written to `workdir`. Helm's own state
 * (registry login, repository cache) lives in a private folder removed afterwards, so no
 * credential is left behind and the user's helm configuration is not used.
 */
export async function renderCharts(
  releases: ChartRelease[],
  files: EnvFile[],
  workdir: string,
  options: HelmOptions,
  run: HelmRunner = runHelm
): Promise<Array<RenderedChart | { release: ChartRelease; error: string }>> {
  const home = makeTempDir('helm')
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HELM_CONFIG_HOME: path.join(home, 'config'),
    HELM_CACHE_HOME: path.join(home, 'cache'),
    HELM_DATA_HOME: path.join(home, 'data'),
    HELM_REGISTRY_CONFIG: path.join(home, 'registry.json'),
    HELM_REPOSITORY_CONFIG: path.join(home, 'repositories.yaml')
  }
  const results: Array<RenderedChart | { release: ChartRelease; error: string }> = []
  const loggedIn = new Set<string>()
  try {
    for (const [index, release] of releases.entries()) {
      try {
        const host = ociHost(release)
        if (host && options.registry?.host === host && !loggedIn.has(host)) {
          const login = ['registry', 'login', host, '--username', options.registry.username, '--password-stdin']
          if (options.plainHttp) login.push('--plain-http')
          await run(login, { cwd: workdir, env, input: options.registry.password })
          loggedIn.add(host)
        }
        const chartPath = release.local && path.join(workdir, release.local)
        if (chartPath && release.local && missingDependencies(files, release.local).length > 0) {
          await run(['dependency', 'build', chartPath], { cwd: workdir, env })
        }
        const valuesPaths = release.valuesFiles.map(file => path.join(workdir, file))
        if (release.values) {
          valuesPaths.push(writeTempFile(home, `values-${index}.json`, JSON.stringify(release.values)))
        }
        const yaml = await run(templateArgs(release, options, { chartPath, valuesPaths }), { cwd: workdir, env })
        results.push({ release, yaml })
      } catch (error) {
        results.push({ release, error: (error as Error).message })
      }
    }
  } finally {
    removeTempDir(home)
  }
  return results
}

/**
 * Names of the chart's Chart.yaml dependencies that are not unpacked under its charts/ folder:
 * then `helm dependency build` fetches them (by Chart.lock when there is one).
 */
export function missingDependencies(files: EnvFile[], chart: string): string[] {
  const at = (file: string): string => (chart === '.' ? file : `${chart}/${file}`)
  const manifest = files.find(f => f.path === at('Chart.yaml'))
  let dependencies: unknown
  try {
    dependencies = (parseDocument(manifest?.content ?? '').toJS() as { dependencies?: unknown } | null)?.dependencies
  } catch {
    return [] // helm reports a broken Chart.yaml itself
  }
  if (!Array.isArray(dependencies)) return []
  const present = new Set(files.map(f => f.path))
  return dependencies
    .map(d => (d as { name?: unknown }).name)
    .filter((name): name is string => typeof name === 'string' && !present.has(at(`charts/${name}/Chart.yaml`)))
}

async function runHelm(
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv; input?: string }
): Promise<string> {
  const helm = await findOnPath(['helm'])
  if (!helm) throw new Error('helm is not on PATH; install helm (v3) to deploy a Helm chart')
  return new Promise((resolve, reject) => {
    const child = execFile(
      helm,
      args,
      { cwd: options.cwd, env: options.env, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (!error) return resolve(stdout)
        reject(new Error(stderr.trim() || error.message, { cause: error }))
      }
    )
    child.stdin?.end(options.input ?? '')
  })
}

/** Helm's hook phases this tool runs, as Argo CD maps them to sync phases. */
export type { HookInfo, HookPhase } from '../render/types.js'

export const HOOK_ANNOTATION = 'helm.sh/hook'

/**
 * A rendered object's hook role: `undefined` for an ordinary object, `skip` for hooks of phases
 * this tool does not run (test, rollback, delete), else its phase, weight and delete policy.
 */
export function hookOf(object: KubeObject): HookInfo | 'skip' | undefined {
  const annotations = object.metadata.annotations ?? {}
  const hook = annotations[HOOK_ANNOTATION]
  if (hook === undefined) return undefined
  const phases = hook.split(',').map(p => p.trim())
  const phase: HookPhase | undefined = phases.some(p => p === 'pre-install' || p === 'pre-upgrade')
    ? 'pre'
    : phases.some(p => p === 'post-install' || p === 'post-upgrade')
      ? 'post'
      : undefined
  if (!phase) return 'skip'
  const weight = Number.parseInt(annotations['helm.sh/hook-weight'] ?? '0', 10)
  const policies = (annotations['helm.sh/hook-delete-policy'] ?? '')
    .split(',')
    .map(p => p.trim())
    .filter(Boolean)
  return {
    phase,
    weight: Number.isFinite(weight) ? weight : 0,
    deletePolicies: policies.length > 0 ? policies : ['before-hook-creation']
  }
}

/** Charts as a renderer: `helm template` of every release the env files hold. */
export function helmRenderer(options: Partial<HelmOptions> & { releaseName?: string; run?: HelmRunner }): Renderer {
  const { releaseName, run, ...helm } = options
  const helmOptions: HelmOptions = { namespace: 'default', ...helm }
  return {
    plan(files) {
      const charts = chartPlan(files, releaseName)
      const render = async (workdir: string): Promise<Rendering> => {
        const rendering: Rendering = { manifests: [], problems: [] }
        for (const result of await renderCharts(charts.releases, files, workdir, helmOptions, run)) {
          const where = `helm template ${result.release.releaseName} ${result.release.source}`
          if ('error' in result) {
            rendering.problems.push(`${where}: ${result.error}`)
            continue
          }
          const parsed = parseManifest(where, result.yaml)
          rendering.problems.push(...parsed.problems)
          for (const manifest of parsed.manifests) {
            const hook = hookOf(manifest.object)
            if (hook === 'skip') continue
            rendering.manifests.push({
              ...manifest,
              namespace: result.release.namespace ?? helmOptions.namespace,
              hook
            })
          }
        }
        return rendering
      }
      return { owned: charts.owned, problems: charts.problems, render: charts.releases.length > 0 ? render : undefined }
    }
  }
}
