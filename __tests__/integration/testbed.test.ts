// Acceptance test of the local test bed itself: the cluster (real apiserver and controllers,
// simulated kubelet), the GitHub API emulator over real git, the registries and buildah.
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals'
import { AppsV1Api, CoreV1Api, KubeConfig, type V1Deployment, type V1ReplicaSet } from '@kubernetes/client-node'
import {
  addToken,
  buildImage,
  clearExtraTokens,
  clearFaults,
  clearRequests,
  createRepo,
  emulatorRequests,
  gitLog,
  githubRequest,
  injectFaults,
  kubectl,
  pendingFaults,
  registerRepo,
  registryDigest,
  setLatency,
  testbedEnv,
  uniqueName,
  waitFor
} from '../../test/helpers/testbed.js'

const env = testbedEnv()

interface RefBody {
  ref: string
  object: { sha: string; type: string }
}
interface CommitBody {
  sha: string
  tree: { sha: string }
  parents: Array<{ sha: string }>
  message: string
}
interface ErrorBody {
  message: string
  documentation_url: string
}

/** Make a commit on top of `parent` changing one file, through the emulated git data API. */
async function commitOn(repo: string, parent: string, file: string, content: string, message: string): Promise<string> {
  const parentCommit = await githubRequest<CommitBody>('GET', `/repos/${repo}/git/commits/${parent}`)
  expect(parentCommit.status).toBe(200)
  const tree = await githubRequest<{ sha: string }>('POST', `/repos/${repo}/git/trees`, {
    body: { base_tree: parentCommit.body.tree.sha, tree: [{ path: file, mode: '100644', type: 'blob', content }] }
  })
  expect(tree.status).toBe(201)
  const commit = await githubRequest<CommitBody>('POST', `/repos/${repo}/git/commits`, {
    body: { message, tree: tree.body.sha, parents: [parent] }
  })
  expect(commit.status).toBe(201)
  return commit.body.sha
}

describe('GitHub API emulator over real git', () => {
  const repo = `testbed/${uniqueName('emu')}`
  let initial: string

  beforeAll(async () => {
    const created = await createRepo(repo, {
      'README.md': '# environment\n',
      'apps/web/deployment.yaml': 'image: registry/web:v1\n'
    })
    initial = created.sha
  })

  afterEach(async () => {
    await clearFaults()
    await setLatency(0)
    await clearExtraTokens()
  })

  it('serves the repository with GitHub shapes, JSON and rate-limit headers', async () => {
    const res = await githubRequest<Record<string, unknown>>('GET', `/repos/${repo}`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^application\/json/)
    for (const h of ['x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset', 'x-ratelimit-used']) {
      expect(res.headers.get(h)).toMatch(/^\d+$/)
    }
    expect(res.body).toMatchObject({
      full_name: repo,
      default_branch: 'main',
      permissions: { admin: true, push: true, pull: true }
    })
    expect(String(res.body.html_url)).toContain(repo)
    const ref = await githubRequest<RefBody>('GET', `/repos/${repo}/git/ref/heads/main`)
    expect(ref.body).toMatchObject({ ref: 'refs/heads/main', object: { sha: initial, type: 'commit' } })
    const file = await githubRequest<{ type: string; content: string; sha: string }>(
      'GET',
      `/repos/${repo}/contents/apps/web/deployment.yaml?ref=main`
    )
    expect(file.status).toBe(200)
    expect(file.body.type).toBe('file')
    expect(Buffer.from(file.body.content, 'base64').toString()).toBe('image: registry/web:v1\n')
  })

  it('lets exactly one of two concurrent ref updates from the same parent win (compare-and-swap in git)', async () => {
    const [a, b] = await Promise.all([
      commitOn(repo, initial, 'apps/web/deployment.yaml', 'image: registry/web:a\n', 'deploy a'),
      commitOn(repo, initial, 'apps/web/deployment.yaml', 'image: registry/web:b\n', 'deploy b')
    ])
    const results = await Promise.all(
      [a, b].map(sha =>
        githubRequest<RefBody | ErrorBody>('PATCH', `/repos/${repo}/git/refs/heads/main`, {
          body: { sha, force: false }
        })
      )
    )
    expect(results.map(r => r.status).sort()).toEqual([200, 422])
    const loser = results.find(r => r.status === 422)!
    expect((loser.body as ErrorBody).message).toBe('Update is not a fast forward')
    const winner = (results.find(r => r.status === 200)!.body as RefBody).object.sha
    expect([a, b]).toContain(winner)

    const log = await gitLog(repo, 'main')
    expect(log.map(c => c.sha)).toEqual([winner, initial])
    expect(log[0].parents).toEqual([initial])
    expect(log[0].subject).toBe(winner === a ? 'deploy a' : 'deploy b')
    expect(log[0].authorName).toBe('github-actions[bot]')
    expect(log[1]).toMatchObject({ authorName: 'testbed', subject: 'Initial commit' })

    // a forced update may move the branch anywhere; a stale fast-forward may not
    const loserSha = winner === a ? b : a
    const stale = await githubRequest('PATCH', `/repos/${repo}/git/refs/heads/main`, { body: { sha: loserSha } })
    expect(stale.status).toBe(422)
    const forced = await githubRequest<RefBody>('PATCH', `/repos/${repo}/git/refs/heads/main`, {
      body: { sha: loserSha, force: true }
    })
    expect(forced.status).toBe(200)
    expect((await gitLog(repo, 'main'))[0].sha).toBe(loserSha)
  })

  it('opens and merges a pull request into a real merge commit', async () => {
    const head = (await githubRequest<RefBody>('GET', `/repos/${repo}/git/ref/heads/main`)).body.object.sha
    const feature = await commitOn(repo, head, 'apps/web/deployment.yaml', 'image: registry/web:pr\n', 'bump web')
    const branch = await githubRequest('POST', `/repos/${repo}/git/refs`, {
      body: { ref: 'refs/heads/deploy/web', sha: feature }
    })
    expect(branch.status).toBe(201)
    const again = await githubRequest<ErrorBody>('POST', `/repos/${repo}/git/refs`, {
      body: { ref: 'refs/heads/deploy/web', sha: feature }
    })
    expect(again.status).toBe(422)
    expect(again.body.message).toBe('Reference already exists')

    const owner = repo.split('/')[0]
    const pr = await githubRequest<{
      number: number
      html_url: string
      state: string
      head: { ref: string; sha: string }
    }>('POST', `/repos/${repo}/pulls`, {
      body: { title: 'Deploy web', head: 'deploy/web', base: 'main', body: 'by the test bed' }
    })
    expect(pr.status).toBe(201)
    expect(pr.body).toMatchObject({ state: 'open', head: { ref: 'deploy/web', sha: feature } })
    expect(pr.body.html_url).toContain(`/pull/${pr.body.number}`)
    const listed = await githubRequest<unknown[]>('GET', `/repos/${repo}/pulls?head=${owner}:deploy/web&state=open`)
    expect(listed.body).toHaveLength(1)

    const merged = await githubRequest<{ merged: boolean; sha: string }>(
      'PUT',
      `/repos/${repo}/pulls/${pr.body.number}/merge`,
      { body: { merge_method: 'merge', sha: feature } }
    )
    expect(merged.status).toBe(200)
    expect(merged.body.merged).toBe(true)
    const log = await gitLog(repo, 'main')
    expect(log[0].sha).toBe(merged.body.sha)
    expect(log[0].parents).toEqual([head, feature])
    const closed = await githubRequest<{ state: string; merged: boolean }>(
      'GET',
      `/repos/${repo}/pulls/${pr.body.number}`
    )
    expect(closed.body).toMatchObject({ state: 'closed', merged: true })
  })

  it('records deployments and their statuses', async () => {
    const dep = await githubRequest<{ id: number; sha: string; environment: string }>(
      'POST',
      `/repos/${repo}/deployments`,
      { body: { ref: 'main', environment: 'staging', auto_merge: false, required_contexts: [] } }
    )
    expect(dep.status).toBe(201)
    expect(dep.body.environment).toBe('staging')
    const st = await githubRequest('POST', `/repos/${repo}/deployments/${dep.body.id}/statuses`, {
      body: { state: 'success', log_url: 'https://ci.example/run/1', environment_url: 'https://web.example' }
    })
    expect(st.status).toBe(201)
    const list = await githubRequest<Array<{ state: string; log_url: string; environment_url: string }>>(
      'GET',
      `/repos/${repo}/deployments/${dep.body.id}/statuses`
    )
    expect(list.body[0]).toMatchObject({
      state: 'success',
      log_url: 'https://ci.example/run/1',
      environment_url: 'https://web.example'
    })

    // an application repository registered without git storage takes deployments too
    const app = `testbed/${uniqueName('app')}`
    expect((await githubRequest('GET', `/repos/${app}`)).status).toBe(404)
    await registerRepo(app)
    const sha = '0123456789abcdef0123456789abcdef01234567'
    const appDep = await githubRequest<{ id: number; sha: string }>('POST', `/repos/${app}/deployments`, {
      body: { ref: sha, environment: 'production', auto_merge: false, required_contexts: [] }
    })
    expect(appDep.status).toBe(201)
    expect(appDep.body.sha).toBe(sha)
    expect((await githubRequest('GET', `/repos/${app}/git/ref/heads/main`)).status).toBe(409)
  })

  it('answers 401, 403 and 404 like GitHub', async () => {
    const none = await githubRequest<ErrorBody>('GET', `/repos/${repo}`, { token: null })
    expect(none.status).toBe(401)
    const bad = await githubRequest<ErrorBody>('GET', `/repos/${repo}`, { token: 'ghs_not_a_token' })
    expect(bad.status).toBe(401)
    expect(bad.body.message).toBe('Bad credentials')
    expect(bad.body.documentation_url).toMatch(/^https:\/\/docs\.github\.com\//)

    const read = await githubRequest<{ permissions: Record<string, boolean> }>('GET', `/repos/${repo}`, {
      token: env.githubReadonlyToken
    })
    expect(read.status).toBe(200)
    expect(read.body.permissions).toMatchObject({ pull: true, push: false, admin: false })
    const write = await githubRequest<ErrorBody>('POST', `/repos/${repo}/git/refs`, {
      token: env.githubReadonlyToken,
      body: { ref: 'refs/heads/nope', sha: initial }
    })
    expect(write.status).toBe(403)
    expect(write.body.message).toBe('Resource not accessible by integration')

    for (const p of [
      `/repos/${repo}-missing`,
      `/repos/${repo}/git/ref/heads/no-such-branch`,
      `/repos/${repo}/branches/no-such-branch`,
      `/repos/${repo}/contents/no/such/file`
    ]) {
      const r = await githubRequest<ErrorBody>('GET', p)
      expect([p, r.status]).toEqual([p, 404])
    }
    const missing = await githubRequest<ErrorBody>('GET', `/repos/${repo}-missing`)
    expect(missing.body.message).toBe('Not Found')

    // a token that cannot see the repository gets 404, not 403
    const other = uniqueName('tok')
    await addToken(other, { 'someone-else/*': 'write' })
    const hidden = await githubRequest<ErrorBody>('GET', `/repos/${repo}`, { token: other })
    expect(hidden.status).toBe(404)
  })

  it('injects 5xx faults on matching requests and logs every request', async () => {
    await clearRequests()
    const before = await emulatorRequests()
    const since = before.length ? before[before.length - 1].id : 0
    await injectFaults({
      count: 2,
      kind: '5xx',
      status: 503,
      match: { method: 'GET', pathRegex: `^/repos/${repo}/git/ref/` }
    })
    const other = await githubRequest('GET', `/repos/${repo}`)
    expect(other.status).toBe(200) // does not match
    const statuses = []
    for (let i = 0; i < 3; i++) statuses.push((await githubRequest('GET', `/repos/${repo}/git/ref/heads/main`)).status)
    expect(statuses).toEqual([503, 503, 200])
    expect(await pendingFaults()).toHaveLength(0)
    // only this test's requests (another test run may share the emulator)
    const log = (await emulatorRequests(since)).filter(r => r.path.startsWith(`/repos/${repo}`))
    expect(log.map(r => [r.method, r.path, r.status])).toEqual([
      ['GET', `/repos/${repo}`, 200],
      ['GET', `/repos/${repo}/git/ref/heads/main`, 503],
      ['GET', `/repos/${repo}/git/ref/heads/main`, 503],
      ['GET', `/repos/${repo}/git/ref/heads/main`, 200]
    ])
    expect(log[1].fault).toBe('5xx')
    expect(Date.parse(log[0].time)).not.toBeNaN()
  })

  it('injects primary and secondary rate limits with Retry-After, and latency', async () => {
    await injectFaults([
      { count: 1, kind: '429', retryAfter: 2, match: { pathRegex: `^/repos/${repo}$` } },
      { count: 1, kind: 'secondary-rate-limit', retryAfter: 3, match: { pathRegex: `^/repos/${repo}$` } }
    ])
    const primary = await githubRequest<ErrorBody>('GET', `/repos/${repo}`)
    expect(primary.status).toBe(429)
    expect(primary.headers.get('retry-after')).toBe('2')
    expect(primary.headers.get('x-ratelimit-remaining')).toBe('0')
    const secondary = await githubRequest<ErrorBody>('GET', `/repos/${repo}`)
    expect(secondary.status).toBe(403)
    expect(secondary.headers.get('retry-after')).toBe('3')
    expect(secondary.body.message).toMatch(/^You have exceeded a secondary rate limit/)
    expect((await githubRequest('GET', `/repos/${repo}`)).status).toBe(200)

    await setLatency(300)
    const t0 = Date.now()
    expect((await githubRequest('GET', `/repos/${repo}`)).status).toBe(200)
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290)
  })
})

describe('registries and buildah', () => {
  const tag = uniqueName('v')

  it('pushes a buildah image whose reported digest is the registry Docker-Content-Digest', async () => {
    const ref = `${env.registry}/testbed/digest-check:${tag}`
    const digest = await buildImage(ref, 'ready')
    expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/)
    expect(await registryDigest(ref)).toBe(digest)
    expect(await registryDigest(`${env.registry}/testbed/digest-check@${digest}`)).toBe(digest)
    expect(await registryDigest(`${env.registry}/testbed/digest-check:absent-${tag}`)).toBeNull()
  })

  it('needs the test credentials on the htpasswd registry', async () => {
    const ref = `${env.registryAuth}/testbed/private:${tag}`
    const digest = await buildImage(ref)
    expect(await registryDigest(ref)).toBe(digest)
    const anonymous = await fetch(`http://${env.registryAuth}/v2/testbed/private/manifests/${tag}`, { method: 'HEAD' })
    expect(anonymous.status).toBe(401)
  })
})

describe('cluster', () => {
  it('is running (TESTBED_SKIP_CLUSTER must not be set for the integration tests)', () => {
    expect(env.clusterSkipped).toBe(false)
  })

  const namespace = uniqueName('testbed')
  let apps: AppsV1Api
  let core: CoreV1Api
  let goodImage: string
  let goodDigest: string

  beforeAll(async () => {
    const kc = new KubeConfig()
    kc.loadFromFile(env.kubeconfig!)
    apps = kc.makeApiClient(AppsV1Api)
    core = kc.makeApiClient(CoreV1Api)
    await core.createNamespace({ body: { metadata: { name: namespace } } })
    goodImage = `${env.registry}/testbed/web:${namespace}`
    goodDigest = await buildImage(goodImage, 'ready')
  })

  afterAll(async () => {
    await core?.deleteNamespace({ name: namespace }).catch(() => undefined)
  })

  function deployment(name: string, image: string, extra: Partial<V1Deployment['spec']> = {}): V1Deployment {
    return {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name, namespace, labels: { app: name } },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: name } },
        template: {
          metadata: { labels: { app: name } },
          spec: { containers: [{ name: 'app', image }] }
        },
        ...extra
      }
    }
  }

  async function available(name: string): Promise<V1Deployment> {
    return waitFor(`deployment ${name} available`, async () => {
      const d = await apps.readNamespacedDeployment({ name, namespace })
      const s = d.status
      return s &&
        s.observedGeneration === d.metadata?.generation &&
        s.availableReplicas === d.spec?.replicas &&
        s.updatedReplicas === d.spec?.replicas
        ? d
        : undefined
    })
  }

  async function replicaSetsOf(d: V1Deployment): Promise<V1ReplicaSet[]> {
    const list = await apps.listNamespacedReplicaSet({ namespace, labelSelector: `app=${d.metadata!.name}` })
    return list.items.filter(rs => rs.metadata?.ownerReferences?.some(o => o.uid === d.metadata?.uid))
  }

  it('rolls out a Deployment applied with @kubernetes/client-node, and kubectl agrees', async () => {
    await apps.createNamespacedDeployment({ namespace, body: deployment('web', goodImage) })
    const d = await available('web')
    expect(d.status?.availableReplicas).toBe(2)
    const rss = await replicaSetsOf(d)
    expect(rss).toHaveLength(1)
    expect(rss[0].metadata?.annotations?.['deployment.kubernetes.io/revision']).toBe('1')
    expect(rss[0].status?.readyReplicas).toBe(2)
    const pods = await core.listNamespacedPod({ namespace, labelSelector: 'app=web' })
    expect(pods.items).toHaveLength(2)
    for (const p of pods.items) expect(p.status?.containerStatuses?.[0]?.ready).toBe(true)

    const rollout = await kubectl(['rollout', 'status', 'deployment/web', '-n', namespace, '--timeout=60s'])
    expect(rollout.code).toBe(0)
    expect(rollout.stdout).toContain('successfully rolled out')
  })

  it('pulls an image built by buildah by its digest', async () => {
    expect(await registryDigest(goodImage)).toBe(goodDigest)
    const byDigest = `${env.registry}/testbed/web@${goodDigest}`
    await apps.createNamespacedDeployment({ namespace, body: deployment('pinned', byDigest, { replicas: 1 }) })
    await available('pinned')
    const pods = await core.listNamespacedPod({ namespace, labelSelector: 'app=pinned' })
    const status = pods.items[0].status?.containerStatuses?.[0]
    expect(status?.ready).toBe(true)
    expect(status?.imageID).toContain(goodDigest)
  })

  it('pulls from the htpasswd registry with the credentials the control plane was given', async () => {
    const image = `${env.registryAuth}/testbed/private-web:${namespace}`
    const digest = await buildImage(image)
    await apps.createNamespacedDeployment({ namespace, body: deployment('private', image, { replicas: 1 }) })
    await available('private')
    const pods = await core.listNamespacedPod({ namespace, labelSelector: 'app=private' })
    expect(pods.items[0].status?.containerStatuses?.[0]?.imageID).toContain(digest)
  })

  it('reports ImagePullBackOff and ProgressDeadlineExceeded for an image missing from the registry', async () => {
    const name = 'broken'
    await apps.createNamespacedDeployment({
      namespace,
      body: deployment(name, goodImage, { progressDeadlineSeconds: 10 })
    })
    await available(name)

    const missing = `${env.registry}/testbed/missing-${namespace}:absent`
    expect(await registryDigest(missing)).toBeNull()
    const current = await apps.readNamespacedDeployment({ name, namespace })
    current.spec!.template.spec!.containers[0].image = missing
    await apps.replaceNamespacedDeployment({ name, namespace, body: current })

    await waitFor(
      'a pod in ImagePullBackOff',
      async () => {
        const pods = await core.listNamespacedPod({ namespace, labelSelector: `app=${name}` })
        return pods.items.some(
          p =>
            p.spec?.containers[0].image === missing &&
            p.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'ImagePullBackOff'
        )
      },
      { timeoutMs: 60000 }
    )
    const stuck = await waitFor(
      'Progressing=False ProgressDeadlineExceeded',
      async () => {
        const d = await apps.readNamespacedDeployment({ name, namespace })
        const c = d.status?.conditions?.find(x => x.type === 'Progressing')
        return c?.status === 'False' && c.reason === 'ProgressDeadlineExceeded' ? d : undefined
      },
      { timeoutMs: 90000 }
    )

    const rss = await replicaSetsOf(stuck)
    const byRevision = new Map(rss.map(rs => [rs.metadata?.annotations?.['deployment.kubernetes.io/revision'], rs]))
    expect([...byRevision.keys()].sort()).toEqual(['1', '2'])
    expect(byRevision.get('1')!.spec?.template?.spec?.containers[0].image).toBe(goodImage)
    expect(byRevision.get('1')!.status?.readyReplicas).toBe(2) // the old revision keeps serving
    expect(byRevision.get('2')!.spec?.template?.spec?.containers[0].image).toBe(missing)
    expect(byRevision.get('2')!.status?.readyReplicas ?? 0).toBe(0)

    const rollout = await kubectl(['rollout', 'status', `deployment/${name}`, '-n', namespace, '--timeout=30s'])
    expect(rollout.code).not.toBe(0)
    expect(rollout.stderr).toContain('exceeded its progress deadline')
  })
})
