// Which files of the env repo the stage reads: descriptor files under the env paths.
import { isDescriptorFile } from '../lib/descriptors.js'
import { EnvPathNotFoundError } from './errors.js'

export interface TreeFile {
  path: string
  mode: string
  type: 'blob' | 'tree' | 'commit'
  sha: string
}

/** Folders holding a Helm chart (with their trailing slash): every file there is read. */
export function chartFolders(paths: string[]): string[] {
  return paths.filter(path => /(?:^|\/)Chart\.yaml$/.test(path)).map(path => path.slice(0, path.lastIndexOf('/') + 1))
}

/**
 * The blobs to read for `envPaths` (files or folders, recursive; `.` is the whole repo):
 * descriptor files under folders, every file of a Helm chart folder, and any file named
 * directly. Throws naming every env path that does not exist.
 */
export function descriptorFiles(tree: TreeFile[], envPaths: string[], where: string): TreeFile[] {
  const missing: string[] = []
  const chosen = new Map<string, TreeFile>()
  const charts = chartFolders(tree.filter(entry => entry.type === 'blob').map(entry => entry.path))
  const wanted = (path: string): boolean => isDescriptorFile(path) || charts.some(dir => path.startsWith(dir))
  for (const envPath of envPaths) {
    const whole = envPath === '.' || envPath === ''
    const exact = tree.find(entry => entry.path === envPath)
    if (exact?.type === 'blob') {
      chosen.set(exact.path, exact)
      continue
    }
    if (!whole && exact?.type !== 'tree') {
      missing.push(envPath)
      continue
    }
    for (const entry of tree) {
      // 120000 is a symlink: its blob is a path, not a file
      if (entry.type !== 'blob' || entry.mode === '120000' || !wanted(entry.path)) continue
      // Workflow files are edited only when named: changing them needs another permission.
      if (entry.path.startsWith('.github/') && !envPath.startsWith('.github')) continue
      if (whole || entry.path.startsWith(`${envPath}/`)) chosen.set(entry.path, entry)
    }
  }
  if (missing.length > 0) {
    throw new EnvPathNotFoundError(missing, where)
  }
  return [...chosen.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
}

/**
 * Whether the edit stage looks for images in a file: any file read, except a chart's templates
 * (Go templates, rendered by helm) and its other non-YAML files (helpers, NOTES.txt, .helmignore).
 */
export function isEditable(path: string, charts: string[]): boolean {
  return !charts.some(dir => path.startsWith(dir) && (path.startsWith(`${dir}templates/`) || !isDescriptorFile(path)))
}
