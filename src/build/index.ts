// Stage 1: build and push the image (or find an existing one), and pin it by the digest the
// registry itself reports.
import { type Config, type Pin } from '../config/config.js'
import { type Host } from '../host/host.js'
import { formatReference } from '../image/reference.js'
import { buildAndPush } from './builder.js'
import { credentialsFromAuthFiles } from './credentials.js'
import { ManifestNotFoundError, RegistryClient, type RegistryCredentials } from './registry.js'

export interface ImageResult {
  /** The image input as the user spelled it. */
  repository: string
  tag: string
  digest: string
  /** Follows config.env.pin: repo:tag | repo@digest | repo:tag@digest. */
  reference: string
}

export function pinnedReference(repository: string, tag: string, digest: string, pin: Pin): string {
  if (pin === 'tag') return formatReference(repository, tag)
  if (pin === 'digest') return formatReference(repository, undefined, digest)
  return formatReference(repository, tag, digest)
}

/** Credentials for reading the registry: the inputs, else what an earlier login step stored. */
function readCredentials(config: Config, host: Host): RegistryCredentials | undefined {
  const { username, password } = config.registry
  if (username && password) return { username, password }
  const stored = credentialsFromAuthFiles(config.repository.domain, process.env)
  if (stored) {
    host.setSecret(stored.password)
    host.debug(`registry ${config.repository.domain}: using stored credentials of user "${stored.username}"`)
  }
  return stored
}

export async function buildAndResolve(config: Config, host: Host): Promise<ImageResult> {
  if (config.registry.password) host.setSecret(config.registry.password)
  const { image, tag, repository } = config
  const pushed = config.build.enabled ? await buildAndPush(config, host) : undefined

  const registry = new RegistryClient(repository.domain, {
    insecure: config.registry.insecure,
    credentials: readCredentials(config, host),
    onRetry: message => host.warning(message)
  })
  let digest: string
  try {
    digest = await registry.manifestDigest(repository.path, tag)
  } catch (error) {
    if (error instanceof ManifestNotFoundError) {
      const after = pushed ? ' right after the push' : ''
      throw new Error(`image ${image}:${tag} not found in ${repository.domain}${after}`, { cause: error })
    }
    throw error
  }
  if (pushed && pushed !== digest) {
    throw new Error(
      `registry ${repository.domain} reports ${digest} for ${image}:${tag}, but the builder pushed ${pushed} ` +
        '(was the tag overwritten by another push?)'
    )
  }
  if (config.build.enabled && !pushed)
    host.warning('the builder reported no digest; using the one the registry reports')
  host.info(`image ${image}:${tag} is ${digest}`)
  return { repository: image, tag, digest, reference: pinnedReference(image, tag, digest, config.env.pin) }
}
