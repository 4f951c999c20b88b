// What stopped the gitops stage, one class per cause, so callers and tests tell them apart
// without reading messages. Every message names the input to fix (env-repo, env-branch, env-token…).
export class GitOpsError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = new.target.name
  }
}

/** env-repo does not exist, or env-token cannot see it (GitHub answers 404 for both). */
export class EnvRepoNotFoundError extends GitOpsError {
  constructor(
    readonly repo: string,
    options?: ErrorOptions
  ) {
    super(`env-repo ${repo} not found, or env-token cannot see it (404)`, options)
  }
}

/** env-repo has no commit yet, so nothing to edit. */
export class EnvRepoEmptyError extends GitOpsError {
  constructor(
    readonly repo: string,
    options?: ErrorOptions
  ) {
    super(`env-repo ${repo} is empty: push a first commit holding the descriptors under env-path`, options)
  }
}

/** env-branch does not exist, or was deleted while the run committed. */
export class EnvBranchNotFoundError extends GitOpsError {
  constructor(
    readonly repo: string,
    readonly branch: string,
    deleted = false
  ) {
    super(deleted ? `env-branch "${branch}" was deleted from ${repo}` : `env-branch "${branch}" not found in ${repo}`)
  }
}

/** An env-path names nothing in the tree read. */
export class EnvPathNotFoundError extends GitOpsError {
  constructor(
    readonly paths: string[],
    where: string
  ) {
    super(`env-path ${paths.map(p => `"${p}"`).join(', ')} not found in ${where}`)
  }
}

/** A ruleset or branch protection keeps a direct push to env-branch out. */
export class BranchRuleError extends GitOpsError {
  constructor(
    readonly repo: string,
    readonly branch: string,
    /** e.g. `requires pull requests (ruleset)` */
    readonly rules: string[]
  ) {
    super(
      `env-branch "${branch}" of ${repo} ${rules.join(', ')}: a push-mode run cannot commit to it; use commit-mode: pull-request`
    )
  }
}

/** env-token was refused: not valid (401), or without the permission the call needs (403). */
export class EnvTokenError extends GitOpsError {
  constructor(
    readonly status: 401 | 403,
    message: string,
    options?: ErrorOptions
  ) {
    super(message, options)
  }
}

/** Every attempt to commit lost the race: env-branch moved each time. */
export class EditConflictError extends GitOpsError {
  constructor(
    readonly repo: string,
    readonly branch: string,
    readonly attempts: number
  ) {
    super(`${repo}@${branch} kept moving: gave up after ${attempts} attempts to commit`)
  }
}

/** The image is not referenced under env-path; the message lists what was read. */
export class NoReferenceError extends GitOpsError {}

/** A reference that cannot be rewritten in place (a block scalar, overlapping edits, a key that is no scalar). */
export class UneditableError extends GitOpsError {}

/** The pin asks for a digest the run does not know. */
export class MissingDigestError extends GitOpsError {
  constructor(readonly pin: string) {
    super(`pin "${pin}" needs the image digest, which is unknown`)
  }
}

/** Pull-request mode: the env branch already holds the image, so there is nothing to propose. */
export class NothingToProposeError extends GitOpsError {}

/** Pull-request mode: GitHub neither opened a pull request nor shows one open. */
export class PullRequestError extends GitOpsError {}
