// The env-repo commit messages of a run: the `commit-message` template with its placeholders (or
// the default), and the revert after a failed rollout.

export interface CommitMessageValues {
  image: string
  tag: string
  digest: string
  /** The reference written. */
  reference: string
  /** The reference the env repo held before, '' when unknown. */
  previous: string
  /** Source commit sha and `owner/name`, and the workflow run URL ('' outside Actions). */
  sha: string
  repo: string
  run_url: string
}

const PLACEHOLDER = /\{(image|tag|digest|reference|previous|sha|repo|run_url)\}/g

/** Fills `{image} {tag} {digest} {reference} {previous} {sha} {repo} {run_url}`; other braces stay as written. */
export function renderCommitMessage(template: string | undefined, values: CommitMessageValues): string {
  if (template) return template.replace(PLACEHOLDER, (_, name: keyof CommitMessageValues) => values[name])
  const body = [
    values.previous ? `${values.previous} → ${values.reference}` : `→ ${values.reference}`,
    values.repo || values.sha ? `Source: ${[values.repo, values.sha].filter(Boolean).join('@')}` : '',
    values.run_url ? `Run: ${values.run_url}` : ''
  ].filter(Boolean)
  return `deploy ${values.image}:${values.tag}\n\n${body.join('\n')}\n`
}

/** The message of the commit that puts back what a failed deploy changed. */
export function revertCommitMessage(
  reference: string | undefined,
  commit: { sha: string; previousImage: string },
  runUrl?: string
): string {
  return `revert ${reference}: rollout failed\n\nRestores ${commit.previousImage} (reverts ${commit.sha}).${
    runUrl ? `\nRun: ${runUrl}` : ''
  }`
}
