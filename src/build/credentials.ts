// Registry credentials in docker config.json / containers auth.json files: read for the
// digest lookup when no registry-username was given (a login step ran before us), and
// copied into the temporary auth file the builders log into.
import { readFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { DOCKER_HUB } from '../image/reference.js'
import { type RegistryCredentials } from './registry.js'

interface AuthConfig {
  auths?: Record<string, { auth?: string; username?: string; password?: string }>
  credHelpers?: Record<string, string>
  credsStore?: string
  [key: string]: unknown
}

/** `https://index.docker.io/v1/` → `docker.io`, `https://ghcr.io` → `ghcr.io`. */
export function registryKey(key: string): string {
  const host = key.replace(/^[a-z]+:\/\//i, '').replace(/\/.*$/, '')
  return host === 'index.docker.io' || host === 'registry-1.docker.io' ? DOCKER_HUB : host.toLowerCase()
}

/** Credentials stored inline (`auth` or `username`/`password`) for a registry; helpers are not run. */
export function storedCredentials(config: unknown, domain: string): RegistryCredentials | undefined {
  const auths = (config as AuthConfig | undefined)?.auths ?? {}
  const wanted = domain.toLowerCase()
  for (const [key, entry] of Object.entries(auths)) {
    if (registryKey(key) !== wanted || !entry) continue
    if (entry.auth) {
      const decoded = Buffer.from(entry.auth, 'base64').toString('utf8')
      const colon = decoded.indexOf(':')
      if (colon > 0) return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) }
    }
    if (entry.username && entry.password) return { username: entry.username, password: entry.password }
  }
  return undefined
}

/**
 * The user's config minus anything for `domain` and minus `credsStore` (a login would write
 * into the user's credential store), so the builder logs in to a file we own and delete.
 */
export function seedAuthConfig(config: unknown, domain: string): AuthConfig {
  const source = config && typeof config === 'object' ? (config as AuthConfig) : {}
  const seeded: AuthConfig = { ...source, auths: {} }
  delete seeded.credsStore
  for (const [key, entry] of Object.entries(source.auths ?? {})) {
    if (registryKey(key) !== domain.toLowerCase()) seeded.auths![key] = entry
  }
  if (source.credHelpers) {
    seeded.credHelpers = Object.fromEntries(
      Object.entries(source.credHelpers).filter(([key]) => registryKey(key) !== domain.toLowerCase())
    )
  }
  return seeded
}

/** Auth files the container tools and docker read, in their order of precedence. */
export function authFilePaths(env: NodeJS.ProcessEnv, home = os.homedir()): string[] {
  const paths: string[] = []
  if (env.REGISTRY_AUTH_FILE) paths.push(env.REGISTRY_AUTH_FILE)
  if (env.XDG_RUNTIME_DIR) paths.push(path.join(env.XDG_RUNTIME_DIR, 'containers', 'auth.json'))
  paths.push(path.join(env.DOCKER_CONFIG || path.join(home, '.docker'), 'config.json'))
  return paths
}

export function readJsonFile(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as unknown
  } catch {
    return undefined
  }
}

/** The first stored credentials for `domain` in the user's auth files. */
export function credentialsFromAuthFiles(domain: string, env: NodeJS.ProcessEnv): RegistryCredentials | undefined {
  for (const file of authFilePaths(env)) {
    const found = storedCredentials(readJsonFile(file), domain)
    if (found) return found
  }
  return undefined
}
