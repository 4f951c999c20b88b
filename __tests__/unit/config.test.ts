import { describe, expect, it } from '@jest/globals'
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import {
  clusterGiven,
  ConfigError,
  decodeKubeconfig,
  INPUTS,
  kubeconfigSecrets,
  parseConfig,
  secretValues,
  type KubeConfigInput,
  type RawInputs,
  type RunContext
} from '../../src/config/index.js'

const workspace = mkdtempSync(path.join(tmpdir(), 'config-test-'))
writeFileSync(path.join(workspace, 'Dockerfile'), 'FROM scratch\n')
mkdirSync(path.join(workspace, 'app'))
writeFileSync(path.join(workspace, 'app', 'Containerfile'), 'FROM scratch\n')

const KEY_BODY = 'MHcCAQEEIG1MrEzmvl3M9sEpDYmVa0bljTHJYHhn'
const KUBECONFIG = `apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {server: 'https://127.0.0.1:6443', certificate-authority-data: Q0FEQVRB}
users:
- name: u
  user: {token: sekret-token-value, client-key-data: ${Buffer.from(`-----BEGIN KEY-----\n${KEY_BODY}\n-----END KEY-----\n`).toString('base64')}}
contexts:
- name: ctx
  context: {cluster: c, user: u}
current-context: ctx
`

const CA_PEM = '-----BEGIN CERTIFICATE-----\nMIIBdummy\n-----END CERTIFICATE-----\n'
/** kube-auth github-oidc instead of the kubeconfig. */
const oidc: RawInputs = { kubeconfig: '', 'kube-auth': 'github-oidc', 'kube-server': 'https://k:6443' }

const context: RunContext = {
  repository: 'acme/app',
  sha: '0123456789abcdef0123456789abcdef01234567',
  serverUrl: 'https://github.com',
  apiUrl: 'https://api.github.com',
  runUrl: 'https://github.com/acme/app/actions/runs/1',
  workspace
}

const minimal: RawInputs = {
  image: 'registry.local:5000/team/api',
  'env-repo': 'acme/env',
  'env-path': 'apps/api',
  'env-token': 'ghp_secret',
  kubeconfig: KUBECONFIG
}

function parse(overrides: RawInputs) {
  return parseConfig({ ...minimal, ...overrides }, context)
}

function problemsOf(overrides: RawInputs): string[] {
  try {
    parse(overrides)
  } catch (error) {
    if (error instanceof ConfigError) return error.problems
    throw error
  }
  return []
}

describe('parseConfig defaults', () => {
  // Read inside each test: a parse that throws fails the tests, not the suite's collection.
  it.each<[string, (c: ReturnType<typeof parse>) => unknown, unknown]>([
    ['tag', c => c.tag, '0123456'],
    ['build', c => c.build.enabled, true],
    ['context', c => c.build.context, workspace],
    ['dockerfile', c => c.build.dockerfile, path.join(workspace, 'Dockerfile')],
    ['build-args', c => c.build.buildArgs, []],
    ['target', c => c.build.target, undefined],
    ['platforms', c => c.build.platforms, []],
    ['labels', c => c.build.labels, []],
    ['builder', c => c.build.builder, 'auto'],
    ['registry-insecure', c => c.registry.insecure, false],
    ['env-branch', c => c.env.branch, undefined],
    ['commit-mode', c => c.env.commitMode, 'push'],
    ['commit-message', c => c.env.commitMessage, undefined],
    ['pin', c => c.env.pin, 'tag+digest'],
    ['kube-context', c => c.kube.context, undefined],
    ['namespace', c => c.kube.namespace, undefined],
    ['apply', c => c.kube.apply, true],
    ['timeout', c => c.kube.timeoutMs, 300_000],
    ['failures-allowed', c => c.kube.failuresAllowed, 1],
    ['rollback', c => c.kube.rollback, true],
    ['field-manager', c => c.kube.fieldManager, 'gitops-push-deploy'],
    ['dry-run', c => c.dryRun, false],
    ['environment', c => c.environment, undefined],
    ['github-token', c => c.githubToken, undefined],
    ['github-api-url', c => c.githubApiUrl, 'https://api.github.com']
  ])('%s', (_name, read, expected) => {
    expect(read(parse({}))).toEqual(expected)
  })

  it('every input has a description and is covered above', () => {
    for (const spec of INPUTS) expect(spec.description.length).toBeGreaterThan(5)
  })
})

describe('parseConfig valid values', () => {
  it.each<[string, RawInputs, (c: ReturnType<typeof parse>) => unknown, unknown]>([
    ['image repository parsed', {}, c => c.repository, { domain: 'registry.local:5000', path: 'team/api' }],
    ['docker hub short name', { image: 'nginx' }, c => c.repository, { domain: 'docker.io', path: 'library/nginx' }],
    ['explicit tag', { tag: 'v1.10' }, c => c.tag, 'v1.10'],
    ['mode deploy by default', {}, c => c.mode, 'deploy'],
    ['prune and drift warn by default', {}, c => [c.kube.prune, c.kube.drift], [true, 'warn']],
    ['prune off, drift fail', { prune: 'false', drift: 'fail' }, c => [c.kube.prune, c.kube.drift], [false, 'fail']],
    [
      'reconcile needs no image, tag or build',
      { mode: 'reconcile', image: '', context: 'missing' },
      c => [c.mode, c.image, c.build.enabled],
      ['reconcile', '', false]
    ],
    ['build false skips Dockerfile check', { build: 'false', context: 'missing' }, c => c.build.enabled, false],
    [
      'dockerfile relative to the workspace',
      { context: 'app', dockerfile: 'app/Containerfile' },
      c => c.build.dockerfile,
      path.join(workspace, 'app', 'Containerfile')
    ],
    [
      'build-args pairs keep = in values',
      { 'build-args': 'A=1\nB=x=y\n' },
      c => c.build.buildArgs,
      [
        ['A', '1'],
        ['B', 'x=y']
      ]
    ],
    [
      'platforms comma and newline',
      { platforms: 'linux/amd64, linux/arm64/v8\nlinux/arm/v7' },
      c => c.build.platforms,
      ['linux/amd64', 'linux/arm64/v8', 'linux/arm/v7']
    ],
    ['labels', { labels: 'org.example/team=web' }, c => c.build.labels, [['org.example/team', 'web']]],
    ['builder buildah', { builder: 'buildah' }, c => c.build.builder, 'buildah'],
    [
      'registry credentials',
      { 'registry-username': 'u', 'registry-password': 'p' },
      c => c.registry,
      { username: 'u', password: 'p', insecure: false }
    ],
    ['boolean True', { 'registry-insecure': 'True' }, c => c.registry.insecure, true],
    ['env-repo split', {}, c => [c.env.owner, c.env.repo], ['acme', 'env']],
    [
      'env-path lines, ./ and trailing / dropped',
      { 'env-path': './apps/api/\nbase.yaml\n' },
      c => c.env.paths,
      ['apps/api', 'base.yaml']
    ],
    ['commit-mode pull-request', { 'commit-mode': 'pull-request' }, c => c.env.commitMode, 'pull-request'],
    ['pin digest', { pin: 'digest' }, c => c.env.pin, 'digest'],
    [
      'kubeconfig base64',
      { kubeconfig: Buffer.from(KUBECONFIG).toString('base64') },
      c => c.kube.kubeconfig,
      KUBECONFIG
    ],
    ['apply false needs no kubeconfig', { apply: 'false', kubeconfig: '' }, c => c.kube.apply, false],
    ['target', { target: 'runtime' }, c => c.build.target, 'runtime'],
    ['no target', {}, c => c.build.target, undefined],
    ['env-branch', { 'env-branch': 'release' }, c => c.env.branch, 'release'],
    ['commit-message', { 'commit-message': 'deploy {image}' }, c => c.env.commitMessage, 'deploy {image}'],
    ['kube-context', { 'kube-context': 'prod' }, c => c.kube.context, 'prod'],
    ['github-token', { 'github-token': 'ghs_other' }, c => c.githubToken, 'ghs_other'],
    ['values trimmed', { tag: '  v3  ', 'env-branch': ' main \n' }, c => [c.tag, c.env.branch], ['v3', 'main']],
    [
      'list inputs skip # comment lines and blank lines',
      { 'env-path': '# the web app\napps/web\n\n  # staging later\napps/api' },
      c => c.env.paths,
      ['apps/web', 'apps/api']
    ],
    ['env-path . is the repo root', { 'env-path': './' }, c => c.env.paths, ['.']],
    [
      'github-oidc: server, CA from base64, default audience, no kubeconfig',
      { ...oidc, 'kube-server': 'https://k:6443/', 'kube-ca': Buffer.from(CA_PEM).toString('base64') },
      c => [c.kube.auth, c.kube.server, c.kube.caPem, c.kube.audience, c.kube.kubeconfig],
      ['github-oidc', 'https://k:6443', CA_PEM, 'kubernetes', undefined]
    ],
    [
      'github-oidc: audience',
      { ...oidc, 'kube-audience': 'https://k8s.acme' },
      c => c.kube.audience,
      'https://k8s.acme'
    ],
    ['timeout 90s', { timeout: '90s' }, c => c.kube.timeoutMs, 90_000],
    ['rollback-timeout defaults to timeout', { timeout: '90s' }, c => c.kube.rollbackTimeoutMs, 90_000],
    ['rollback-timeout 2m', { timeout: '90s', 'rollback-timeout': '2m' }, c => c.kube.rollbackTimeoutMs, 120_000],
    ['failures-allowed 0 keeps the first crash fatal', { 'failures-allowed': '0' }, c => c.kube.failuresAllowed, 0],
    ['namespace', { namespace: 'team-a' }, c => c.kube.namespace, 'team-a'],
    ['dry-run', { 'dry-run': 'true' }, c => c.dryRun, true],
    [
      'api url trailing slash',
      { 'github-api-url': 'http://127.0.0.1:8787/' },
      c => c.githubApiUrl,
      'http://127.0.0.1:8787'
    ],
    [
      'environment',
      { environment: 'staging', 'environment-url': 'https://staging.example.com' },
      c => [c.environment, c.environmentUrl],
      ['staging', 'https://staging.example.com']
    ]
  ])('%s', (_name, overrides, pick, expected) => {
    expect(pick(parse(overrides))).toEqual(expected)
  })
})

describe('parseConfig invalid values name the input', () => {
  it.each<[RawInputs, RegExp]>([
    [{ image: '' }, /^input "image": is required$/],
    [{ image: 'Registry.local/UPPER' }, /^input "image": "Registry.local\/UPPER" is not a valid image repository/],
    [{ image: 'nginx:1.25' }, /^input "image": .*must not contain a tag/],
    [{ tag: 'bad tag!' }, /^input "tag": "bad tag!" is not a valid tag/],
    [{ build: 'yes' }, /^input "build": "yes" is not a boolean/],
    [{ context: 'nope' }, /^input "context": "nope" is not a directory/],
    [{ dockerfile: 'Missingfile' }, /^input "dockerfile": "Missingfile" does not exist/],
    [{ 'build-args': 'A=1\nnot a pair' }, /^input "build-args": line 2 "not a pair" is not KEY=VALUE$/],
    [{ labels: '=x' }, /^input "labels": line 1 "=x" is not KEY=VALUE$/],
    [{ platforms: 'amd64' }, /^input "platforms": "amd64" is not a platform/],
    [{ builder: 'kaniko' }, /^input "builder": "kaniko" must be one of auto, docker, buildah, podman$/],
    [{ 'registry-password': 'p' }, /^input "registry-username": is required with registry-password$/],
    [{ 'env-repo': 'acme' }, /^input "env-repo": "acme" is not owner\/name of GitHub's characters/],
    [{ 'env-repo': 'a/b/c' }, /^input "env-repo": "a\/b\/c" is not owner\/name/],
    [{ 'env-repo': '../user' }, /^input "env-repo": "..\/user" is not owner\/name/],
    [{ 'env-repo': 'acme/..' }, /^input "env-repo": "acme\/.." is not owner\/name/],
    [{ 'env-repo': 'ac.me/env' }, /^input "env-repo": "ac.me\/env" is not owner\/name/],
    [{ 'env-repo': '-acme/env' }, /^input "env-repo": "-acme\/env" is not owner\/name/],
    [{ timeout: '25h' }, /^input "timeout": "25h" is longer than 24h$/],
    [{ timeout: '597h' }, /^input "timeout": "597h" is longer than 24h$/],
    [{ 'rollback-timeout': 'soon' }, /^input "rollback-timeout": "soon" is not a duration/],
    [{ 'rollback-timeout': '25h' }, /^input "rollback-timeout": "25h" is longer than 24h$/],
    [
      { 'github-api-url': 'https://user:hunter22@ghe.example.com/api/v3' },
      /^input "github-api-url": must not carry user:password@ credentials/
    ],
    [{ 'allowed-namespaces': 'Kube_System' }, /^input "allowed-namespaces": "Kube_System" is not a namespace name/],
    [{ 'allowed-kinds': 'rbac/Cluster Role' }, /^input "allowed-kinds": "rbac\/Cluster Role" is not a kind/],
    [{ 'denied-kinds': 'a/b/C' }, /^input "denied-kinds": "a\/b\/C" is not a kind/],
    [{ 'allow-cluster-scoped': 'yes' }, /^input "allow-cluster-scoped": "yes" is not a boolean/],
    [{ 'kustomize-remote': 'on' }, /^input "kustomize-remote": "on" is not a boolean/],
    [{ 'kube-as-groups': 'devs' }, /^input "kube-as-groups": needs kube-as$/],
    [{ 'kube-as': 'a\u0000b' }, /^input "kube-as": "a\\u0000b" must be 1 to 256 printable characters$/],
    [{ 'env-path': '' }, /^input "env-path": is required$/],
    [{ 'env-path': '../secrets' }, /^input "env-path": "..\/secrets" must be a path relative/],
    [{ 'env-path': '/etc/apps' }, /^input "env-path": "\/etc\/apps" must be a path relative/],
    [{ 'env-path': 'apps/../../x' }, /^input "env-path": "apps\/..\/..\/x" must be a path relative/],
    [{ 'registry-username': 'u' }, /^input "registry-password": is required with registry-username$/],
    [{ image: 'x ghcr.io/a/b' }, /^input "image": /],
    [{ 'commit-mode': 'xpush' }, /^input "commit-mode": "xpush" must be one of push, pull-request$/],
    [{ 'commit-mode': 'pushx' }, /^input "commit-mode": "pushx" must be one of push, pull-request$/],
    [{ pin: 'tag+digestx' }, /^input "pin": "tag\+digestx" must be one of tag, digest, tag\+digest$/],
    [{ 'env-token': '' }, /^input "env-token": is required$/],
    [{ 'commit-mode': 'merge' }, /^input "commit-mode": "merge" must be one of push, pull-request$/],
    [{ pin: 'sha' }, /^input "pin": "sha" must be one of tag, digest, tag\+digest$/],
    [{ kubeconfig: '' }, /^input "kubeconfig": is required unless apply is false or kube-auth is github-oidc$/],
    [
      { 'kube-auth': 'github-oidc', 'kube-server': 'https://k:6443' },
      /^input "kube-auth": "github-oidc" excludes the kubeconfig input: give one of them$/
    ],
    [{ 'kube-auth': 'token' }, /^input "kube-auth": "token" must be one of kubeconfig, github-oidc$/],
    [{ kubeconfig: '', 'kube-auth': 'github-oidc' }, /^input "kube-server": is required with kube-auth github-oidc$/],
    [{ ...oidc, 'kube-server': 'http://k:6443' }, /^input "kube-server": "http:\/\/k:6443" is not an https:\/\/ URL$/],
    [{ ...oidc, 'kube-ca': 'bm90IGEgY2VydA==' }, /^input "kube-ca": is neither a PEM certificate nor base64 of one$/],
    [
      { 'kube-server': 'https://k:6443' },
      /^input "kube-server": "https:\/\/k:6443" is used only with kube-auth github-oidc$/
    ],
    [{ kubeconfig: 'not: a kubeconfig' }, /^input "kubeconfig": is neither kubeconfig YAML nor base64 of it$/],
    [{ timeout: '5x' }, /^input "timeout": "5x" is not a duration \(examples: 90s, 5m, 1h\)$/],
    [{ 'failures-allowed': '-1' }, /^input "failures-allowed": "-1" must be a whole number from 0 to 9999$/],
    [{ rollback: 'maybe' }, /^input "rollback": "maybe" is not a boolean/],
    [{ mode: 'sync' }, /^input "mode": "sync" must be one of deploy, reconcile$/],
    [{ drift: 'error' }, /^input "drift": "error" must be one of warn, fail, ignore$/],
    [{ prune: 'sometimes' }, /^input "prune": "sometimes" is not a boolean/],
    [{ mode: 'reconcile', kubeconfig: '' }, /^input "kubeconfig": is required in mode reconcile$/],
    [{ mode: 'reconcile', apply: 'false' }, /^input "apply": "false" cannot be false in mode reconcile/],
    [{ 'field-manager': 'has space' }, /^input "field-manager": "has space" must be 1 to 128 printable/],
    [{ namespace: 'Team_A' }, /^input "namespace": "Team_A" is not a valid namespace name$/],
    [{ 'dry-run': '1' }, /^input "dry-run": "1" is not a boolean/],
    [{ 'environment-url': 'staging' }, /^input "environment-url": "staging" is not an http\(s\) URL$/],
    [{ 'github-api-url': 'ftp://x' }, /^input "github-api-url": "ftp:\/\/x" is not an http\(s\) URL$/]
  ])('%j', (overrides, expected) => {
    const problems = problemsOf(overrides)
    expect(problems).toHaveLength(1)
    expect(problems[0]).toMatch(expected)
  })

  it('collects every problem at once', () => {
    expect(problemsOf({ image: '', 'env-repo': '', timeout: 'x' })).toHaveLength(3)
  })

  it('tag is required without a source sha', () => {
    expect(() => parseConfig(minimal, { ...context, sha: undefined })).toThrow(/input "tag": is required when/)
  })

  // Apart from the table: a title holding the 64 KiB value would be 64 KiB long. The input then
  // reads as empty, so it raises no problem about another input (registry-password without a
  // registry-username would).
  it.each(['commit-message', 'registry-password'])('an input over 64 KiB is named by its size alone: %s', name => {
    expect(problemsOf({ [name]: 'x'.repeat(64 * 1024 + 1) })).toEqual([
      `input "${name}": is larger than 64 KiB (65536 bytes)`
    ])
  })

  it('never echoes a secret input value', () => {
    // Both secret inputs are reported (the test reaches them), each without its value.
    const problems = problemsOf({ kubeconfig: 'not: a kubeconfig', 'registry-password': 'hunter22' })
    expect(problems).toEqual([
      'input "registry-username": is required with registry-password',
      'input "kubeconfig": is neither kubeconfig YAML nor base64 of it'
    ])
  })

  it('never echoes an oversized secret, though oversized inputs are named', () => {
    const secret = `s3cr3t-${'x'.repeat(64 * 1024)}`
    const problems = problemsOf({ 'registry-username': 'u', 'registry-password': secret })
    expect(problems).toEqual(['input "registry-password": is larger than 64 KiB (65536 bytes)'])
  })
})

describe('secrets', () => {
  it('lists secret inputs and the credentials inside the kubeconfig', () => {
    const secrets = secretValues({ ...minimal, 'registry-password': 'hunter22', 'github-token': 'ghs_x' })
    expect(secrets).toEqual(expect.arrayContaining(['ghp_secret', 'hunter22', 'ghs_x', 'sekret-token-value', KEY_BODY]))
    expect(secrets).not.toContain('registry.local:5000/team/api')
    // the kubeconfig's structure stays readable in logs
    expect(secrets).not.toContain(KUBECONFIG)
    expect(secrets.some(secret => secret.includes('current-context'))).toBe(false)
  })

  it('finds kubeconfig credentials in base64 input too, and masks the one-line input whole', () => {
    const base64 = Buffer.from(KUBECONFIG).toString('base64')
    const secrets = kubeconfigSecrets(`  ${base64}  `)
    expect(secrets).toContain('sekret-token-value')
    expect(secrets).toContain(base64)
  })

  it('masks every string under users[].user and proxy-URL credentials, not the structure', () => {
    const config = `apiVersion: v1
clusters:
- name: c
  cluster: {server: 'https://k8s.example.com', proxy-url: 'http://proxyuser:proxy-pass-123@proxy:3128'}
users:
- name: oidc
  user:
    auth-provider:
      name: oidc
      config: {id-token: eyJhbGciOiJSUzI1NiJ9.payload.sig, refresh-token: refresh-abc-123, client-secret: cs-987654, idp-issuer-url: 'https://issuer.example.com'}
- name: exec
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: aws-iam-authenticator
      args: [token, -i, cluster-name]
      env: [{name: AWS_SECRET_ACCESS_KEY, value: wJalrXUtnFEMI-K7MDENG}]
contexts:
- name: ctx
  context: {cluster: c, user: oidc}
current-context: ctx
`
    const secrets = kubeconfigSecrets(config)
    for (const value of [
      'eyJhbGciOiJSUzI1NiJ9.payload.sig',
      'refresh-abc-123',
      'cs-987654',
      'wJalrXUtnFEMI-K7MDENG',
      'proxy-pass-123',
      'http://proxyuser:proxy-pass-123@proxy:3128'
    ])
      expect(secrets).toContain(value)
    for (const value of ['client.authentication.k8s.io/v1', 'aws-iam-authenticator', 'AWS_SECRET_ACCESS_KEY', 'oidc'])
      expect(secrets).not.toContain(value)
  })

  it('parses the apply policy and impersonation inputs', () => {
    const config = parse({
      namespace: 'web',
      'allowed-namespaces': 'web-*\nshared',
      'allow-cluster-scoped': 'true',
      'allowed-kinds': 'rbac.authorization.k8s.io/ClusterRole',
      'denied-kinds': 'core/Secret',
      'kustomize-remote': 'true',
      'kube-as': 'system:serviceaccount:web:deployer',
      'kube-as-groups': 'devs\nops'
    })
    expect(config.kube.policy).toEqual({
      namespace: 'web',
      allowedNamespaces: ['web-*', 'shared'],
      allowClusterScoped: true,
      allowedKinds: ['rbac.authorization.k8s.io/ClusterRole'],
      deniedKinds: ['core/Secret'],
      kustomizeRemote: true
    })
    expect(config.kube.impersonate).toEqual({ user: 'system:serviceaccount:web:deployer', groups: ['devs', 'ops'] })
  })

  it('never echoes an input larger than 64 KiB', () => {
    const huge = 'ghp_' + 'z'.repeat(70 * 1024)
    const problems = problemsOf({ 'commit-message': huge, image: huge })
    expect(problems.join('\n')).not.toContain('zzzz')
  })

  it('rejects base64 of something else', () => {
    expect(decodeKubeconfig(Buffer.from('hello: world').toString('base64'))).toBeUndefined()
  })
})

describe('parseConfig patterns are anchored and bounded', () => {
  const x = (n: number) => 'x'.repeat(n)
  it.each<[string, RawInputs]>([
    ['platform with a variant', { platforms: 'linux/arm64/v8' }],
    ['platform arch with an underscore', { platforms: 'linux/x86_64' }],
    ['owner of 39 characters', { 'env-repo': `a${x(38)}/env` }],
    ['owner with _ and -', { 'env-repo': 'a_b-c/env' }],
    ['repository of 100 characters', { 'env-repo': `acme/${x(100)}` }],
    ['repository of three dots', { 'env-repo': 'acme/...' }],
    ['repository starting with a dot', { 'env-repo': 'acme/.github' }],
    ['build-arg keys with _ . -', { 'build-args': '_A.b-c=1' }],
    ['label keys with . / -', { labels: '0rg.example/a-b_c=1' }],
    ['kube-as of 256 characters', { 'kube-as': x(256) }],
    ['kube-as with spaces', { 'kube-as': 'Jane Doe' }],
    ['field-manager of 128 characters', { 'field-manager': x(128) }],
    ['failures-allowed 9999', { 'failures-allowed': '9999' }],
    ['a one-letter namespace', { namespace: 'a' }],
    ['helm-release-name of 53 characters', { 'helm-release-name': x(53) }],
    ['helm-release-name with dots', { 'helm-release-name': 'web.v1-2' }],
    ['kube-server with a path', { ...oidc, 'kube-server': 'https://k:6443/base' }]
  ])('accepts %s', (_name, overrides) => {
    expect(problemsOf(overrides)).toEqual([])
  })

  it.each<[RawInputs, string]>([
    [
      { platforms: 'Linux/amd64' },
      'input "platforms": "Linux/amd64" is not a platform (os/arch[/variant], e.g. linux/amd64)'
    ],
    [
      { platforms: 'linux/amd64/v8/x' },
      'input "platforms": "linux/amd64/v8/x" is not a platform (os/arch[/variant], e.g. linux/amd64)'
    ],
    [{ platforms: 'linux/' }, 'input "platforms": "linux/" is not a platform (os/arch[/variant], e.g. linux/amd64)'],
    [
      { 'env-repo': `a${x(39)}/env` },
      `input "env-repo": "a${x(39)}/env" is not owner/name of GitHub's characters (letters, digits, - _ and . in the name)`
    ],
    [
      { 'env-repo': `acme/${x(101)}` },
      `input "env-repo": "acme/${x(101)}" is not owner/name of GitHub's characters (letters, digits, - _ and . in the name)`
    ],
    [
      { 'env-repo': 'acme/.' },
      'input "env-repo": "acme/." is not owner/name of GitHub\'s characters (letters, digits, - _ and . in the name)'
    ],
    [
      { 'env-repo': 'acme/en v' },
      'input "env-repo": "acme/en v" is not owner/name of GitHub\'s characters (letters, digits, - _ and . in the name)'
    ],
    [
      { 'env-repo': 'acme/' },
      'input "env-repo": "acme/" is not owner/name of GitHub\'s characters (letters, digits, - _ and . in the name)'
    ],
    [{ 'build-args': '1A=x' }, 'input "build-args": line 1 "1A=x" is not KEY=VALUE'],
    [{ 'build-args': 'A B=x' }, 'input "build-args": line 1 "A B=x" is not KEY=VALUE'],
    [{ labels: '-a=x' }, 'input "labels": line 1 "-a=x" is not KEY=VALUE'],
    [{ labels: 'a b=x' }, 'input "labels": line 1 "a b=x" is not KEY=VALUE'],
    [{ 'kube-as': x(257) }, `input "kube-as": "${x(257)}" must be 1 to 256 printable characters`],
    [
      { 'kube-as': 'u', 'kube-as-groups': `ok\n${x(257)}` },
      `input "kube-as-groups": "${x(257)}" must be 1 to 256 printable characters`
    ],
    [
      { 'kube-as': 'u', 'kube-as-groups': 'a\u0007' },
      'input "kube-as-groups": "a\\u0007" must be 1 to 256 printable characters'
    ],
    [{ 'field-manager': x(129) }, `input "field-manager": "${x(129)}" must be 1 to 128 printable characters`],
    [{ 'failures-allowed': '10000' }, 'input "failures-allowed": "10000" must be a whole number from 0 to 9999'],
    [{ 'failures-allowed': '1a' }, 'input "failures-allowed": "1a" must be a whole number from 0 to 9999'],
    [{ 'failures-allowed': 'a1' }, 'input "failures-allowed": "a1" must be a whole number from 0 to 9999'],
    [{ namespace: '-web' }, 'input "namespace": "-web" is not a valid namespace name'],
    [{ namespace: 'web-' }, 'input "namespace": "web-" is not a valid namespace name'],
    [
      { 'helm-release-name': x(54) },
      `input "helm-release-name": "${x(54)}" is not a valid Helm release name (lowercase DNS name, at most 53 characters)`
    ],
    [
      { 'helm-release-name': 'web..v1' },
      'input "helm-release-name": "web..v1" is not a valid Helm release name (lowercase DNS name, at most 53 characters)'
    ],
    [
      { 'helm-release-name': 'Web' },
      'input "helm-release-name": "Web" is not a valid Helm release name (lowercase DNS name, at most 53 characters)'
    ],
    [
      { 'helm-release-name': 'web-' },
      'input "helm-release-name": "web-" is not a valid Helm release name (lowercase DNS name, at most 53 characters)'
    ],
    [{ ...oidc, 'kube-server': 'https:///k' }, 'input "kube-server": "https:///k" is not an https:// URL'],
    [{ ...oidc, 'kube-server': 'xhttps://k' }, 'input "kube-server": "xhttps://k" is not an https:// URL'],
    [
      { 'allowed-namespaces': 'web\nkube_system' },
      'input "allowed-namespaces": "kube_system" is not a namespace name or glob'
    ]
  ])('%j', (overrides, problem) => {
    expect(problemsOf(overrides)).toEqual([problem])
  })

  it.each<[string, boolean]>([
    ['production', true],
    ['Prod', true],
    ['preprod', false],
    ['production-eu', false],
    ['staging', false]
  ])('environment %s is production: %s', (environment, production) => {
    expect(parse({ environment }).productionEnvironment).toBe(production)
  })

  it('production-environment overrides the name', () => {
    expect(parse({ environment: 'prod', 'production-environment': 'false' }).productionEnvironment).toBe(false)
    expect(parse({ environment: 'qa', 'production-environment': 'true' }).productionEnvironment).toBe(true)
  })
})

describe('parseConfig edge cases', () => {
  it.each<[string, RawInputs, (c: ReturnType<typeof parse>) => unknown, unknown]>([
    ['boolean TRUE', { 'registry-insecure': 'TRUE' }, c => c.registry.insecure, true],
    ['boolean False', { prune: 'False' }, c => c.kube.prune, false],
    ['boolean FALSE', { prune: 'FALSE' }, c => c.kube.prune, false],
    ['a build-arg key is trimmed, its value kept', { 'build-args': 'A = 1' }, c => c.build.buildArgs, [['A', ' 1']]],
    ['env-path: every trailing slash dropped', { 'env-path': 'apps/api//' }, c => c.env.paths, ['apps/api']],
    [
      'reconcile with an image',
      { mode: 'reconcile', image: 'nginx' },
      c => [c.image, c.repository],
      ['nginx', { domain: 'docker.io', path: 'library/nginx' }]
    ],
    ['reconcile without an image', { mode: 'reconcile', image: '' }, c => c.repository, { domain: '', path: '' }],
    [
      'pull-request mode needs no cluster',
      { 'commit-mode': 'pull-request', kubeconfig: '' },
      c => c.kube.kubeconfig,
      undefined
    ],
    ['timeout of exactly 24h', { timeout: '24h' }, c => c.kube.timeoutMs, 86_400_000],
    ['rollback-timeout of exactly 24h', { 'rollback-timeout': '24h' }, c => c.kube.rollbackTimeoutMs, 86_400_000],
    [
      'kube-server: every trailing slash dropped',
      { ...oidc, 'kube-server': 'https://k:6443//' },
      c => c.kube.server,
      'https://k:6443'
    ],
    ['no kube-server with a kubeconfig', {}, c => c.kube.server, undefined],
    ['no impersonation without kube-as', {}, c => c.kube.impersonate, undefined],
    [
      'one-letter labels in a Helm release name',
      { 'helm-release-name': 'a.b-c.d' },
      c => c.kube.helmReleaseName,
      'a.b-c.d'
    ],
    [
      'github-api-url: every trailing slash dropped',
      { 'github-api-url': 'http://127.0.0.1:8787//' },
      c => c.githubApiUrl,
      'http://127.0.0.1:8787'
    ],
    [
      'a commit-message of exactly 64 KiB',
      { 'commit-message': 'x'.repeat(64 * 1024) },
      c => c.env.commitMessage?.length,
      64 * 1024
    ],
    [
      'a kubeconfig larger than 64 KiB (a CA bundle) is no problem',
      { kubeconfig: `${KUBECONFIG}# ${'x'.repeat(70 * 1024)}\n` },
      c => c.kube.kubeconfig?.startsWith(KUBECONFIG),
      true
    ]
  ])('%s', (_name, overrides, pick, expected) => {
    expect(pick(parse(overrides))).toEqual(expected)
  })

  it.each<[RawInputs, string]>([
    [{ 'kube-ca': CA_PEM }, 'input "kube-ca": is used only with kube-auth github-oidc'],
    [
      { 'github-api-url': 'https://token@ghe.example.com/api/v3' },
      'input "github-api-url": must not carry user:password@ credentials (use env-token and github-token)'
    ],
    [
      { 'github-api-url': 'https://:pw@ghe.example.com/api/v3' },
      'input "github-api-url": must not carry user:password@ credentials (use env-token and github-token)'
    ]
  ])('%j', (overrides, problem) => {
    expect(problemsOf(overrides)).toEqual([problem])
  })

  it('reconcile needs no tag when the source sha is unknown', () => {
    expect(parseConfig({ ...minimal, mode: 'reconcile' }, { ...context, sha: undefined }).tag).toBe('')
  })

  it('secretValues: none given, none listed; values trimmed', () => {
    expect(secretValues({})).toEqual([])
    expect(secretValues({ 'registry-password': '  pw-1  ' })).toEqual(['pw-1'])
  })

  it.each<[string, Partial<KubeConfigInput>, boolean]>([
    ['a kubeconfig', { auth: 'kubeconfig', kubeconfig: 'apiVersion: v1' }, true],
    ['no kubeconfig', { auth: 'kubeconfig' }, false],
    ['github-oidc with a server', { auth: 'github-oidc', server: 'https://k' }, true],
    ['github-oidc without a server, a kubeconfig aside', { auth: 'github-oidc', kubeconfig: 'apiVersion: v1' }, false],
    ['a server without github-oidc', { auth: 'kubeconfig', server: 'https://k' }, false]
  ])('clusterGiven: %s', (_name, kube, given) => {
    expect(clusterGiven(kube as KubeConfigInput)).toBe(given)
  })
})
