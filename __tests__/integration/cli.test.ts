// The CLI (dist/cli.js) as a user runs it outside Actions: the acceptance runs of the
// build stage and the env-repo stage.
import { describe, expect, it } from '@jest/globals'
import path from 'node:path'
import {
  buildImage,
  createRepo,
  gitDir,
  gitLog,
  registryDigest,
  testbedEnv,
  uniqueName
} from '../../test/helpers/testbed.js'
import { cliArgs, runCli, type CliFlags, type CliRun } from '../../test/helpers/cli.js'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'

const env = testbedEnv()

/** A run with the test bed's builders: buildx's remote builder, podman's and buildah's storage and isolation. */
function cli(flags: CliFlags): Promise<CliRun> {
  return runCli(
    cliArgs(env, flags),
    pick(process.env, ['DOCKER_CONFIG', 'BUILDX_BUILDER', 'CONTAINERS_STORAGE_CONF', 'BUILDAH_ISOLATION'])
  )
}

function pick(from: NodeJS.ProcessEnv, names: string[]): Record<string, string> {
  return Object.fromEntries(names.flatMap(name => (from[name] ? [[name, from[name]]] : [])))
}

describe('gitops-push-deploy CLI', () => {
  // A Dockerfile with a RUN step, FROM the test bed's busybox (no Docker Hub).
  const buildContext = mkdtempSync(path.join(tmpdir(), 'cli-build-'))
  writeFileSync(
    path.join(buildContext, 'Dockerfile'),
    `FROM ${env.baseImage}\nRUN echo "built $(date)" > /built.txt && cat /built.txt\n`
  )

  it.each(['docker', 'podman', 'buildah'])(
    '--build true with %s prints the digest the registry serves',
    async builder => {
      const repo = `cli/${uniqueName('build')}`
      await createRepo(repo, {
        'apps/pod.yaml': `kind: Pod\nspec:\n  containers:\n    - image: ${env.registry}/demo/app:old\n`
      })
      const tag = uniqueName('v1')
      const run = await cli({
        image: `${env.registry}/demo/app`,
        tag,
        build: true,
        envRepo: repo,
        envPath: 'apps',
        extra: ['--context', buildContext, '--builder', builder, '--apply', 'false']
      })
      expect({ status: run.outputs.status, stderr: run.stderr }).toMatchObject({ status: 'committed' })
      expect(run.outputs.digest).toMatch(/^sha256:[0-9a-f]{64}$/)
      expect(run.outputs.digest).toBe(await registryDigest(`${env.registry}/demo/app:${tag}`))
      expect(run.code).toBe(0)
    }
  )

  it('--build false --apply false makes exactly one commit that changes only the image references', async () => {
    const repo = `cli/${uniqueName('env')}`
    const manifest = [
      '# web front end',
      'apiVersion: apps/v1',
      'kind: Deployment',
      'metadata: {name: web}',
      'spec:',
      '  template:',
      '    spec:',
      '      containers:',
      '        - name: web',
      `          image: "${env.registry}/demo/cli:old" # keep me`,
      '        - name: sidecar',
      '          image: docker.io/library/nginx:1.25',
      ''
    ].join('\n')
    await createRepo(repo, { 'apps/web.yaml': manifest, 'README.md': 'env\n' })
    const tag = uniqueName('v2')
    const digest = await buildImage(`${env.registry}/demo/cli:${tag}`)
    const before = await gitLog(repo, 'main')

    const run = await cli({
      image: `${env.registry}/demo/cli`,
      tag,
      envRepo: repo,
      envPath: 'apps',
      extra: ['--apply', 'false']
    })
    expect(run.outputs.status).toBe('committed')
    expect(run.code).toBe(0)
    expect(run.outputs['previous-image']).toBe(`${env.registry}/demo/cli:old`)
    const after = await gitLog(repo, 'main')
    expect(after).toHaveLength(before.length + 1)
    expect(after[0].sha).toBe(run.outputs['env-commit'])
    const diff = execFileSync('git', ['--git-dir', gitDir(repo), 'diff', '-U0', `${after[0].sha}^`, after[0].sha], {
      encoding: 'utf8'
    })
    const changed = diff.split('\n').filter(line => /^[-+][^-+]/.test(line))
    expect(changed).toEqual([
      `-          image: "${env.registry}/demo/cli:old" # keep me`,
      `+          image: "${env.registry}/demo/cli:${tag}@${digest}" # keep me`
    ])
    expect(run.stderr.trim()).not.toBe('')
    expect(run.stderr).not.toContain(env.githubToken)
    expect(run.stderr).not.toContain('on the command line is visible')
  })
})
