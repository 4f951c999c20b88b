// A local checkout as the edit stage sees an env repo: its tree, its files, writes in place.
import { lstatSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { type TreeFile } from './files.js'
import { type EnvFile } from './types.js'

/** Every file and folder under `dir` (repo-relative, `/`-separated), without `.git`. */
export function localTree(dir: string): TreeFile[] {
  const tree: TreeFile[] = []
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    const relative = path.relative(dir, path.join(entry.parentPath, entry.name)).split(path.sep).join('/')
    if (relative === '.git' || relative.startsWith('.git/')) continue
    const mode = entry.isSymbolicLink() ? '120000' : '100644'
    if (entry.isFile() || entry.isSymbolicLink()) tree.push({ path: relative, mode, type: 'blob', sha: '' })
    else if (entry.isDirectory()) tree.push({ path: relative, mode: '040000', type: 'tree', sha: '' })
  }
  return tree
}

/** The files as text; a file that is not UTF-8 is left out with a warning, so it is never rewritten. */
export function readLocalFiles(dir: string, entries: TreeFile[], warn: (message: string) => void): EnvFile[] {
  const files: EnvFile[] = []
  for (const entry of entries) {
    const bytes = readFileSync(path.join(dir, entry.path))
    try {
      files.push({
        path: entry.path,
        content: new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes)
      })
    } catch {
      warn(`${entry.path}: skipped, not UTF-8`)
    }
  }
  return files
}

/** Writes the files in place, keeping each file's mode. */
export function writeLocalFiles(dir: string, files: EnvFile[]): void {
  for (const file of files) {
    const target = path.join(dir, file.path)
    writeFileSync(target, file.content, { mode: lstatSync(target).mode })
  }
}
