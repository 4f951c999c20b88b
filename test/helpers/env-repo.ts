// What the env-repo stage's integration tests share: repositories of one owner on the test bed's
// GitHub emulator, the config a run parses for them, and the stage opened on them with short waits.
import { execFileSync } from 'node:child_process'
import { parseConfig, type RawInputs, type RunContext } from '../../src/config/index.js'
import { EnvRepository, type OpenOptions } from '../../src/gitops/index.js'
import { RecordingHost } from './recording-host.js'
import { createRepo, emulatorRequests, gitDir, setQuirks, testbedEnv, type Quirks } from './testbed.js'

export const RUN_CONTEXT: RunContext = {
  repository: 'acme/api',
  sha: '0123456789abcdef0123456789abcdef01234567',
  serverUrl: 'https://github.com',
  apiUrl: 'https://api.github.com',
  runUrl: 'https://github.com/acme/api/actions/runs/1',
  workspace: process.cwd()
}

/** A Deployment whose one container runs `image`. */
export const deployment = (image: string): string =>
  `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app\nspec:\n  template:\n    spec:\n      containers:\n      - name: app\n        image: ${image}\n`

/** The id of the emulator's last logged request (0 when none): later ones are a test's. */
export async function lastRequestId(): Promise<number> {
  const log = await emulatorRequests()
  return log.length > 0 ? log[log.length - 1].id : 0
}

export interface EnvRepos {
  /** A new repository of the owner holding `files` (one commit on `main`), with `quirks` on. */
  createRepo(files: Record<string, string>, quirks?: Quirks): Promise<string>
  /** `git` on the repository's bare storage; the output as printed. */
  git(name: string, ...args: string[]): string
  /** A push-mode run's config for the repository (no build, no apply, env-path `.`), `raw` over `inputs`. */
  configFor(name: string, raw?: RawInputs): ReturnType<typeof parseConfig>
  /** The stage opened on the repository with `fast` (and `options`) as its waits. */
  open(name: string, raw?: RawInputs, options?: OpenOptions): Promise<EnvRepository>
}

/** Repositories of `owner`; runs deploy `inputs` (image and tag at least) and wait per `fast`. */
export function envRepos(owner: string, inputs: RawInputs, fast: OpenOptions): EnvRepos {
  const bed = testbedEnv()
  let count = 0
  const configFor = (name: string, raw: RawInputs = {}) =>
    parseConfig(
      {
        build: 'false',
        apply: 'false',
        'env-repo': `${owner}/${name}`,
        'env-path': '.',
        'env-token': bed.githubToken,
        'github-api-url': bed.githubApiUrl,
        ...inputs,
        ...raw
      },
      RUN_CONTEXT
    )
  return {
    async createRepo(files, quirks) {
      const name = `env-${Date.now().toString(36)}-${++count}`
      await createRepo(`${owner}/${name}`, files)
      if (quirks) await setQuirks(`${owner}/${name}`, quirks)
      return name
    },
    git: (name, ...args) =>
      execFileSync('git', ['--git-dir', gitDir(`${owner}/${name}`), ...args], { encoding: 'utf8' }),
    configFor,
    open: (name, raw = {}, options = {}) =>
      EnvRepository.open(configFor(name, raw), new RecordingHost(), { ...fast, ...options })
  }
}
