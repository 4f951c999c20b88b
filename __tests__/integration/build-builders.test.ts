// Stage 1 with docker buildx (a `remote` builder on the test bed's buildkitd, no Docker daemon)
// and podman, for real, against the test bed's registries. Dockerfiles start FROM
// $TESTBED_BASE_IMAGE (static busybox in the test registry), so RUN steps run without Docker Hub.
import { describe, expect, it } from '@jest/globals'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { gunzipSync } from 'node:zlib'
import { detectBuilder } from '../../src/build/builder.js'
import { buildAndResolve } from '../../src/build/index.js'
import { parseConfig, type RawInputs, type RunContext } from '../../src/config/index.js'
import { RecordingHost } from '../../test/helpers/recording-host.js'
import { registryBlob, registryDigest, registryManifest, testbedEnv, uniqueName } from '../../test/helpers/testbed.js'

const env = testbedEnv()

const workspace = mkdtempSync(path.join(tmpdir(), 'build-builders-it-'))
// `app` is the target: the `broken` stage after it must not be built.
writeFileSync(
  path.join(workspace, 'Dockerfile'),
  [
    'ARG BASE',
    'FROM ${BASE} AS app',
    'ARG NOTE',
    'RUN echo "note=$NOTE" > /note.txt && test -s /note.txt',
    'FROM app AS broken',
    'RUN exit 3',
    ''
  ].join('\n')
)
// The cross-compiling pattern: RUN on the build machine's platform, one final image per target.
writeFileSync(
  path.join(workspace, 'Multi.Dockerfile'),
  [
    'ARG BASE',
    'FROM --platform=$BUILDPLATFORM ${BASE} AS build',
    'ARG TARGETPLATFORM',
    'RUN echo "built for $TARGETPLATFORM" > /platform.txt',
    'FROM scratch',
    'COPY --from=build /platform.txt /',
    ''
  ].join('\n')
)

const context: RunContext = {
  repository: 'acme/app',
  sha: '0123456789abcdef0123456789abcdef01234567',
  serverUrl: 'https://github.com',
  apiUrl: 'https://api.github.com',
  workspace
}

function config(raw: RawInputs) {
  return parseConfig(
    {
      'registry-insecure': 'true',
      'env-repo': 'acme/env',
      'env-path': 'apps/web',
      'env-token': 'unused',
      apply: 'false',
      ...raw
    },
    context
  )
}

interface Manifest {
  mediaType?: string
  config: { digest: string }
  layers: Array<{ digest: string }>
}
interface Index {
  manifests: Array<{ digest: string; platform?: { os: string; architecture: string } }>
}

/** The image manifest a digest names; in an index (buildx adds provenance), the linux/amd64 image's. */
async function imageManifest(ref: string, digest: string): Promise<Manifest> {
  const found = await registryManifest<Manifest | Index>(`${ref}@${digest}`)
  if (!('manifests' in found)) return found
  const image = found.manifests.find(m => m.platform?.os === 'linux' && m.platform.architecture === 'amd64')
  if (!image) throw new Error(`index ${digest} of ${ref} has no linux/amd64 image`)
  return registryManifest<Manifest>(`${ref}@${image.digest}`)
}

/** The image's labels and the text of its layers (gunzipped tar bytes, enough to find a file's content). */
async function imageContent(ref: string, digest: string): Promise<{ labels: Record<string, string>; text: string }> {
  const manifest = await imageManifest(ref, digest)
  const config = JSON.parse((await registryBlob(ref, manifest.config.digest)).toString()) as {
    config: { Labels?: Record<string, string> }
  }
  let text = ''
  for (const layer of manifest.layers) text += gunzipSync(await registryBlob(ref, layer.digest)).toString('latin1')
  return { labels: config.config.Labels ?? {}, text }
}

describe.each(['docker', 'podman'] as const)('builder %s, for real', builder => {
  it('builds RUN steps with build args, target and labels, and pins the registry digest', async () => {
    const host = new RecordingHost()
    const image = `${env.registry}/builders-it/${builder}`
    const tag = uniqueName('app')
    const result = await buildAndResolve(
      config({
        image,
        tag,
        builder,
        target: 'app',
        'build-args': `BASE=${env.baseImage}\nNOTE=from ${builder}`,
        labels: 'org.example.team=deploy'
      }),
      host
    )
    const digest = await registryDigest(`${image}:${tag}`)
    expect(result.digest).toBe(digest)
    // The builder's own report agreed with the registry: buildAndResolve fails on a mismatch, warns on none.
    expect(host.lines.join('\n')).not.toContain('the builder reported no digest')
    const { labels, text } = await imageContent(image, result.digest)
    expect(labels).toMatchObject({
      'org.example.team': 'deploy',
      'org.opencontainers.image.source': 'https://github.com/acme/app',
      'org.opencontainers.image.revision': context.sha
    })
    expect(text).toContain(`note=from ${builder}`)
  })

  it('builds linux/amd64 and linux/386 into one index', async () => {
    const host = new RecordingHost()
    const image = `${env.registry}/builders-it/${builder}-multi`
    const tag = uniqueName('multi')
    const result = await buildAndResolve(
      config({
        image,
        tag,
        builder,
        dockerfile: 'Multi.Dockerfile',
        platforms: 'linux/amd64,linux/386',
        'build-args': `BASE=${env.baseImage}`
      }),
      host
    )
    expect(result.digest).toBe(await registryDigest(`${image}:${tag}`))
    const index = await registryManifest<Index>(`${image}@${result.digest}`)
    const platforms = index.manifests
      .map(m => m.platform && `${m.platform.os}/${m.platform.architecture}`)
      .filter(p => p && p !== 'unknown/unknown') // buildx adds provenance attestations as unknown/unknown
    expect(platforms.sort()).toEqual(['linux/386', 'linux/amd64'])
    for (const entry of index.manifests.filter(m => m.platform?.architecture === '386')) {
      expect((await imageContent(image, entry.digest)).text).toContain('built for linux/386')
    }
  })

  it('logs in to the htpasswd registry, password never shown', async () => {
    const host = new RecordingHost()
    const image = `${env.registryAuth}/builders-it/${builder}-private`
    const tag = uniqueName('private')
    const result = await buildAndResolve(
      config({
        image,
        tag,
        builder,
        target: 'app',
        'build-args': `BASE=${env.baseImage}`,
        'registry-username': env.registryUser,
        'registry-password': env.registryPassword
      }),
      host
    )
    expect(result.digest).toBe(await registryDigest(`${image}:${tag}`))
    expect(host.lines).toContainEqual(expect.stringContaining('--password-stdin'))
    expect(host.lines.join('\n')).not.toContain(env.registryPassword)
  })
})

describe('builder auto without a Docker daemon', () => {
  it('picks docker when BUILDX_BUILDER names a builder that needs no daemon', async () => {
    expect(process.env.BUILDX_BUILDER).toBeTruthy()
    await expect(detectBuilder(new RecordingHost())).resolves.toMatchObject({
      tool: 'docker',
      state: 'usable',
      why: `buildx builder "${process.env.BUILDX_BUILDER}" (driver remote) needs no daemon`
    })
  })

  it("falls back to buildah when buildx's only builder is the daemon's", async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, DOCKER_CONFIG: mkdtempSync(path.join(tmpdir(), 'docker-config-')) }
    delete env.BUILDX_BUILDER
    await expect(detectBuilder(new RecordingHost(), env)).resolves.toMatchObject({ tool: 'buildah' })
  })
})
