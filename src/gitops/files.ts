// Which files of the env repo the stage reads: descriptor files under the env paths.

export interface TreeFile {
  path: string
  mode: string
  type: 'blob' | 'tree' | 'commit'
  sha: string
}

const DESCRIPTOR = /(?:\.ya?ml|(?:^|\/)Kustomization)$/

/**
 * The blobs to read for `envPaths` (files or folders, recursive; `.` is the whole repo): YAML
 * files and `Kustomization` under folders, and any file named directly. Throws naming every
 * env path that does not exist.
 */
export function descriptorFiles(tree: TreeFile[], envPaths: string[], where: string): TreeFile[] {
  const missing: string[] = []
  const chosen = new Map<string, TreeFile>()
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
      if (entry.type !== 'blob' || entry.mode === '120000' || !DESCRIPTOR.test(entry.path)) continue
      // Workflow files are edited only when named: changing them needs another permission.
      if (entry.path.startsWith('.github/') && !envPath.startsWith('.github')) continue
      if (whole || entry.path.startsWith(`${envPath}/`)) chosen.set(entry.path, entry)
    }
  }
  if (missing.length > 0) {
    throw new Error(`env-path ${missing.map(p => `"${p}"`).join(', ')} not found in ${where}`)
  }
  return [...chosen.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
}
