import { type Config } from '../config/config.js'
import { githubOctokit, type Octokit } from '../lib/github-client.js'
import { type Host } from '../host/host.js'

export type DeploymentState = 'in_progress' | 'pending' | 'success' | 'failure' | 'error'

/**
 * GitHub Deployment records on the source repository. Reporting is best effort: a failure
 * to record never fails a deploy (it becomes a warning).
 */
export class DeploymentRecorder {
  private constructor(
    private readonly octokit: Octokit,
    private readonly owner: string,
    private readonly repo: string,
    private readonly config: Config,
    private readonly host: Host,
    readonly id: number
  ) {}

  /** Creates the Deployment for the source sha and marks it in progress; undefined when not wanted or not possible. */
  static async start(config: Config, host: Host, ref: string): Promise<DeploymentRecorder | undefined> {
    const environment = config.environment
    if (!environment) return undefined
    const [owner, repo] = (config.context.repository ?? '').split('/')
    if (!owner || !repo || !config.githubToken) {
      host.warning(
        'environment is set but the source repository or github-token is unknown: no GitHub Deployment recorded'
      )
      return undefined
    }
    // The env repo's client: same proxy choice, timeout, retries and rate-limit handling.
    const octokit = githubOctokit(config.githubToken, config.githubApiUrl)
    try {
      const response = await octokit.rest.repos.createDeployment({
        owner,
        repo,
        ref,
        environment,
        auto_merge: false,
        required_contexts: [],
        description: `deploy ${config.image}`,
        production_environment: config.productionEnvironment
      })
      // 202 means GitHub merged the default branch into ref instead of creating a deployment.
      if (response.status === 202 || !('id' in response.data)) {
        host.warning(
          `GitHub answered the deployment request with "${(response.data as { message?: string }).message ?? 'accepted'}": no Deployment recorded`
        )
        return undefined
      }
      const recorder = new DeploymentRecorder(octokit, owner, repo, config, host, response.data.id)
      await recorder.status('in_progress', 'deploying')
      return recorder
    } catch (error) {
      host.warning(`could not record a GitHub Deployment for ${owner}/${repo}: ${(error as Error).message}`)
      return undefined
    }
  }

  async status(state: DeploymentState, description: string): Promise<void> {
    try {
      await this.octokit.rest.repos.createDeploymentStatus({
        owner: this.owner,
        repo: this.repo,
        deployment_id: this.id,
        state,
        description: description.slice(0, 140),
        log_url: this.config.context.runUrl,
        environment_url: this.config.environmentUrl,
        auto_inactive: state === 'success'
      })
    } catch (error) {
      this.host.warning(`could not set GitHub Deployment ${this.id} to ${state}: ${(error as Error).message}`)
    }
  }
}
