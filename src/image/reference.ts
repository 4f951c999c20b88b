// Image references, parsed and normalised in one place: build pushes them, the registry
// resolves them, the env-repo editor matches and writes them.
// Grammar follows distribution/reference: [domain/]path[:tag][@digest].

export const DOCKER_HUB = 'docker.io'

export interface ImageRepository {
  /** Registry host, with port when given (`localhost:5000`), `docker.io` for Docker Hub. */
  domain: string
  /** Repository path inside the registry (`library/nginx`, `team/api`). */
  path: string
}

export interface ImageReference extends ImageRepository {
  tag?: string
  digest?: string
}

const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/
const NAME_MAX = 255
const TAG = /^[\w][\w.-]{0,127}$/
const DIGEST = /^sha256:[a-f0-9]{64}$|^sha512:[a-f0-9]{128}$/
const DOMAIN =
  /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?$|^\[[0-9a-fA-F:]+\](?::[0-9]+)?$/

export class ImageReferenceError extends Error {}

export function isValidTag(tag: string): boolean {
  return TAG.test(tag)
}

export function isValidDigest(digest: string): boolean {
  return DIGEST.test(digest)
}

/** Parses any reference form; throws ImageReferenceError saying what is wrong. */
export function parseImageReference(input: string): ImageReference {
  const text = input.trim()
  if (text === '') throw new ImageReferenceError('is empty')
  if (/\s/.test(text)) throw new ImageReferenceError('contains white space')

  let rest = text
  let digest: string | undefined
  const at = rest.indexOf('@')
  if (at >= 0) {
    digest = rest.slice(at + 1)
    rest = rest.slice(0, at)
    if (!isValidDigest(digest)) throw new ImageReferenceError(`has an invalid digest "${digest}"`)
  }

  let tag: string | undefined
  const lastSlash = rest.lastIndexOf('/')
  const lastColon = rest.lastIndexOf(':')
  if (lastColon > lastSlash) {
    tag = rest.slice(lastColon + 1)
    rest = rest.slice(0, lastColon)
    if (!isValidTag(tag)) throw new ImageReferenceError(`has an invalid tag "${tag}"`)
  }

  return { ...parseRepository(rest), tag, digest }
}

/** Parses a repository without tag or digest (the `image` input). */
export function parseImageRepository(input: string): ImageRepository {
  if (input.includes('@')) throw new ImageReferenceError('must not contain a digest (give the repository only)')
  const ref = parseImageReference(input)
  if (ref.tag !== undefined) throw new ImageReferenceError('must not contain a tag (use the "tag" input)')
  return { domain: ref.domain, path: ref.path }
}

function parseRepository(name: string): ImageRepository {
  if (name === '') throw new ImageReferenceError('has no repository name')
  const slash = name.indexOf('/')
  let domain = DOCKER_HUB
  let path = name
  if (slash >= 0) {
    const first = name.slice(0, slash)
    // as distribution: an IPv6 literal (`[::1]`) always holds a colon
    if (first.includes('.') || first.includes(':') || first === 'localhost') {
      domain = first
      path = name.slice(slash + 1)
    }
  }
  if (!DOMAIN.test(domain)) throw new ImageReferenceError(`has an invalid registry "${domain}"`)
  if (domain === 'index.docker.io' || domain === 'registry-1.docker.io') domain = DOCKER_HUB
  if (path === '') throw new ImageReferenceError('has no repository path')
  for (const component of path.split('/')) {
    if (!PATH_COMPONENT.test(component)) {
      throw new ImageReferenceError(
        `has an invalid path component "${component}" (lowercase letters, digits and . _ - separators)`
      )
    }
  }
  if (domain === DOCKER_HUB && !path.includes('/')) path = `library/${path}`
  if (name.length > NAME_MAX) {
    throw new ImageReferenceError(`has a name longer than ${NAME_MAX} characters`)
  }
  return { domain, path }
}

/** Fully qualified name, `docker.io/library/nginx`. */
export function repositoryName(repo: ImageRepository): string {
  return `${repo.domain}/${repo.path}`
}

/** Same repository, whatever the spelling (`nginx` and `docker.io/library/nginx`). */
export function sameRepository(a: ImageRepository, b: ImageRepository): boolean {
  return a.domain.toLowerCase() === b.domain.toLowerCase() && a.path === b.path
}

/** The reference as a string; the repository keeps the form the user gave where possible. */
export function formatReference(repository: string, tag?: string, digest?: string): string {
  return `${repository}${tag ? `:${tag}` : ''}${digest ? `@${digest}` : ''}`
}

/** Short form as written by users: drops `docker.io/` and `library/`. */
export function familiarName(repo: ImageRepository): string {
  if (repo.domain !== DOCKER_HUB) return repositoryName(repo)
  // Only official images drop `library/`: `library/a/b` keeps it, as docker does.
  const official = /^library\/[^/]+$/.test(repo.path)
  return official ? repo.path.slice('library/'.length) : repo.path
}
