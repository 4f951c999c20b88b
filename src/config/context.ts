import { execFileSync } from 'node:child_process'

/** Where and for what this run happens: the source repository, commit and workflow run. */
export interface RunContext {
  /** `owner/name` of the source repository, when known. */
  repository?: string
  sha?: string
  serverUrl: string
  apiUrl: string
  runUrl?: string
  workspace: string
}

/** From the GitHub Actions environment, else from the git checkout in the working directory. */
export function runContext(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): RunContext {
  const serverUrl = env.GITHUB_SERVER_URL || 'https://github.com'
  const apiUrl = env.GITHUB_API_URL || 'https://api.github.com'
  const workspace = env.GITHUB_WORKSPACE || cwd
  let repository = env.GITHUB_REPOSITORY || undefined
  let sha = env.GITHUB_SHA || undefined
  if (!sha) sha = git(['rev-parse', 'HEAD'], workspace)
  if (!repository) repository = repositoryFromRemote(git(['remote', 'get-url', 'origin'], workspace))
  const runUrl =
    env.GITHUB_RUN_ID && env.GITHUB_REPOSITORY
      ? `${serverUrl}/${env.GITHUB_REPOSITORY}/actions/runs/${env.GITHUB_RUN_ID}${
          env.GITHUB_RUN_ATTEMPT ? `/attempts/${env.GITHUB_RUN_ATTEMPT}` : ''
        }`
      : undefined
  return { repository, sha, serverUrl, apiUrl, runUrl, workspace }
}

function git(args: string[], cwd: string): string | undefined {
  try {
    return execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() || undefined
  } catch {
    return undefined
  }
}

/** `owner/name` from an https or ssh remote URL. */
export function repositoryFromRemote(url: string | undefined): string | undefined {
  const match = url ? /[/:]([^/:]+\/[^/]+?)(?:\.git)?\/?$/.exec(url) : null
  return match?.[1]
}
