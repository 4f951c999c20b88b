// Temporary files that may hold credentials (registry auth, exec-plugin kubeconfig copies) or
// env-repo content (kustomize renders). One home for how they are made and removed: a 0700
// directory per use, files 0600, each directory registered until removed, and whatever is
// still registered removed when the process exits or is stopped by SIGINT/SIGTERM.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'

const live = new Set<string>()
let hooked = false

/** Where temp dirs go: the runner's per-job RUNNER_TEMP (cleaned by the runner too), else the OS temp dir. */
export function tempRoot(env: NodeJS.ProcessEnv = process.env): string {
  return env.RUNNER_TEMP || os.tmpdir()
}

/** A new 0700 directory `gitops-push-deploy-<purpose>-XXXXXX`, registered for removal. */
export function makeTempDir(purpose: string, env: NodeJS.ProcessEnv = process.env): string {
  hookProcess()
  const dir = mkdtempSync(path.join(tempRoot(env), `gitops-push-deploy-${purpose}-`))
  // mkdtemp already uses 0700, but a umask cannot widen it and a chmod states the intent.
  chmodSync(dir, 0o700)
  live.add(dir)
  return dir
}

/** Writes `content` to `dir/name` as 0600 (chmod too: mode only applies when the file is new). */
export function writeTempFile(dir: string, name: string, content: string): string {
  const file = path.join(dir, name)
  writeFileSync(file, content, { mode: 0o600 })
  chmodSync(file, 0o600)
  return file
}

/** Removes one registered directory and everything in it; removing twice is harmless. */
export function removeTempDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true })
  live.delete(dir)
}

/** Runs `fn` with a fresh temp dir, removed however `fn` ends. */
export async function withTempDir<T>(purpose: string, fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = makeTempDir(purpose)
  try {
    return await fn(dir)
  } finally {
    removeTempDir(dir)
  }
}

/** Removes every temp dir still registered (exit, signals, cancellation). Synchronous on purpose. */
export function removeAll(): void {
  for (const dir of [...live]) {
    try {
      removeTempDir(dir)
    } catch {
      // best effort at exit: one stubborn directory must not keep the others
    }
  }
}

/** The directories still registered (tests assert that none is left). */
export function liveTempDirs(): string[] {
  return [...live]
}

function hookProcess(): void {
  if (hooked) return
  hooked = true
  // 'exit' also runs after an uncaught exception or process.exit().
  process.on('exit', removeAll)
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    const onSignal = (): void => {
      // Another handler (cancellation: roll back, then exit) owns the exit and may still need an
      // exec-plugin kubeconfig; the 'exit' hook removes everything after it.
      if (process.listenerCount(signal) > 1) return
      removeAll()
      process.removeListener(signal, onSignal)
      process.kill(process.pid, signal)
    }
    process.on(signal, onSignal)
  }
}
