// `gitops-push-deploy edit`: the action's in-memory edit and render check on a local checkout,
// offline. Writes in place (or, with --check, only says whether it would), the unified diff to
// stdout and the change list to stderr (--json: the change list as JSON on stdout).
import { parseArgs } from 'node:util'
import {
  ImageReferenceError,
  isValidDigest,
  isValidTag,
  parseImageRepository,
  type ImageRepository
} from './image/reference.js'
import { type Pin } from './config/config.js'
import { descriptorFiles } from './gitops/files.js'
import { localTree, readLocalFiles, writeLocalFiles } from './gitops/local.js'
import { provenEdit } from './gitops/verify.js'
import { ProblemsError } from './lib/problems.js'
import { helmRenderer } from './kube/helm.js'
import { kustomizeRenderer, renderFiles, renderOnce } from './render/manifests.js'

export const EDIT_HELP = `Usage: gitops-push-deploy edit --image REPO --tag TAG [--digest sha256:…] [--pin tag|digest|tag+digest]
                              --env-path PATH [--env-path PATH…] [--dir DIR] [--check] [--json]

Writes the image into the env-repo checkout at DIR (default .), the same edit the action makes,
proven the same way: the files under the env paths are rendered before and after (plain
manifests parsed, kustomizations built with kustomize or kubectl kustomize, Helm charts with helm
template) and the edit is refused when anything but image fields would change. No network.

  --image     Image repository without tag (required).
  --tag       Tag to write (required).
  --digest    Digest to write (sha256:…); needed by --pin digest and tag+digest.
  --pin       tag, digest or tag+digest (default: tag+digest with --digest, else tag).
  --env-path  File or folder under DIR holding the descriptors; repeat for more (required).
  --dir       The env-repo checkout (default: .).
  --check     Write nothing; exit 1 when the edit would change a file.
  --json      Print the change list as JSON on stdout instead of the diff.

Exit status 0 when done (or nothing to change), 1 on a bad flag, when the image is not
referenced, when the render check fails, or with --check when files would change.
`

interface EditArgs {
  repository: ImageRepository
  image: string
  tag: string
  digest: string
  pin: Pin
  envPaths: string[]
  dir: string
  check: boolean
  json: boolean
}

/** Bad flags: each problem names its flag. */
class UsageError extends ProblemsError {}

function parseEditArgs(argv: string[]): EditArgs | 'help' {
  let values
  try {
    ;({ values } = parseArgs({
      args: argv,
      options: {
        image: { type: 'string' },
        tag: { type: 'string' },
        digest: { type: 'string' },
        pin: { type: 'string' },
        'env-path': { type: 'string', multiple: true },
        dir: { type: 'string', default: '.' },
        check: { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false }
      },
      strict: true
    }))
  } catch (error) {
    throw new UsageError([(error as Error).message])
  }
  if (values.help) return 'help'
  const problems: string[] = []
  let repository: ImageRepository = { domain: '', path: '' }
  const image = values.image?.trim() ?? ''
  if (!image) problems.push('--image is required')
  else {
    try {
      repository = parseImageRepository(image)
    } catch (error) {
      if (!(error instanceof ImageReferenceError)) throw error
      problems.push(`--image "${image}" is not a valid image repository: it ${error.message}`)
    }
  }
  const tag = values.tag?.trim() ?? ''
  if (!tag) problems.push('--tag is required')
  else if (!isValidTag(tag)) problems.push(`--tag "${tag}" is not a valid tag`)
  const digest = values.digest?.trim() ?? ''
  if (digest && !isValidDigest(digest)) problems.push(`--digest "${digest}" is not a digest (sha256:<64 hex>)`)
  const pin = (values.pin ?? (digest ? 'tag+digest' : 'tag')) as Pin
  if (!['tag', 'digest', 'tag+digest'].includes(pin))
    problems.push(`--pin "${pin}" must be one of tag, digest, tag+digest`)
  else if (pin !== 'tag' && !digest) problems.push(`--pin ${pin} needs --digest`)
  const envPaths = (values['env-path'] ?? []).map(p => p.trim().replace(/^\.\//, '').replace(/\/+$/, '') || '.')
  if (envPaths.length === 0) problems.push('--env-path is required')
  for (const p of envPaths) {
    if (p.startsWith('/') || p.split('/').includes('..')) {
      problems.push(`--env-path "${p}" must be a path relative to --dir, without ..`)
    }
  }
  if (problems.length > 0) throw new UsageError(problems)
  return { repository, image, tag, digest, pin, envPaths, dir: values.dir, check: values.check, json: values.json }
}

export interface EditOutput {
  stdout: (text: string) => void
  stderr: (text: string) => void
}

/** Runs the command; returns the exit status. */
export async function runEdit(
  argv: string[],
  output: EditOutput = { stdout: t => process.stdout.write(t), stderr: t => process.stderr.write(t) }
): Promise<number> {
  let args
  try {
    args = parseEditArgs(argv)
  } catch (error) {
    if (!(error instanceof UsageError)) throw error
    for (const problem of error.problems) output.stderr(`error: ${problem}\n`)
    return 1
  }
  if (args === 'help') {
    output.stdout(EDIT_HELP)
    return 0
  }
  const warnings: string[] = []
  const warn = (message: string): void => {
    warnings.push(message)
    output.stderr(`warning: ${message}\n`)
  }
  try {
    const entries = descriptorFiles(localTree(args.dir), args.envPaths, args.dir)
    const files = readLocalFiles(args.dir, entries, warn)
    // the renderers the action uses; charts render into `default`, as the check only compares
    const render = renderOnce(files =>
      renderFiles(files, [kustomizeRenderer(), helmRenderer({ namespace: 'default' })])
    )
    const edited = await provenEdit(files, args, args.dir, render, warn)
    const changes = edited.changes.map(({ path, line, previous, next }) => ({ path, line, previous, next }))
    if (args.json) {
      output.stdout(`${JSON.stringify({ changed: edited.changed.map(f => f.path), changes, warnings }, null, 2)}\n`)
    } else {
      output.stdout(edited.diff)
    }
    for (const change of changes) output.stderr(`${change.path}:${change.line}: ${change.previous} → ${change.next}\n`)
    if (edited.changed.length === 0) {
      output.stderr(`${args.dir} already holds ${args.image}:${args.tag}: nothing to change\n`)
      return 0
    }
    if (args.check) {
      output.stderr(`${edited.changed.length} file(s) would change (--check: nothing written)\n`)
      return 1
    }
    writeLocalFiles(args.dir, edited.changed)
    output.stderr(`${edited.changed.length} file(s) written\n`)
    return 0
  } catch (error) {
    for (const line of (error as Error).message.split('\n')) output.stderr(`error: ${line}\n`)
    return 1
  }
}
