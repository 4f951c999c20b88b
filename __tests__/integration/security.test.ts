// Hostile and bad inputs against the CLI (dist/cli.js) on the test bed, as an attacker with
// write access to the env repo, or a careless workflow author, would try them. Every case
// asserts: exit 1, a message naming the input or the refused object, no secret in anything
// captured, nothing left in the temp dir, no commit, nothing applied.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { kubeconfigSecrets } from '../../src/config/kubeconfig.js'
import { buildImage, createRepo, gitLog, kubectl, testbedEnv, uniqueName } from '../../test/helpers/testbed.js'
import { cliArgs, runCli, type CliRun } from '../../test/helpers/cli.js'

const env = testbedEnv()
const id = uniqueName('sec').toLowerCase()
const namespace = `${id}-web`
const otherNamespace = `${id}-other`
// Never created: the Namespace object the env repo tries to add.
const newNamespace = `${id}-new`
const repo = `security/${id}`
const image = `${env.registry}/security/app`
const REGISTRY_PASSWORD = 'regpass-canary-5f3e9a1c'
const BUILD_ARG_SECRET = 'buildarg-canary-77c1d0e4'
const kubeconfigText = readFileSync(env.kubeconfig ?? '', 'utf8')
const SECRETS = [env.githubToken, REGISTRY_PASSWORD, BUILD_ARG_SECRET, ...kubeconfigSecrets(kubeconfigText)]

// Named after its folder: several env paths at once must not define one Deployment twice.
const deployment = (name: string, ns?: string): string => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}${ns ? `\n  namespace: ${ns}` : ''}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: web
          image: ${image}:old
`
const kustomization = (extra: string): string => `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - deploy.yaml
${extra}
`

// The hostile env repo: one folder per trick, each with the Deployment whose image line is the
// only thing the "change" edits.
const HOSTILE: Record<string, string> = {
  'apps/ok/deploy.yaml': deployment('web'),
  'apps/crb/deploy.yaml': deployment('web-crb'),
  'apps/crb/crb.yaml': `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: ${id}-pwn}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects: [{kind: ServiceAccount, name: default, namespace: ${namespace}}]
`,
  'apps/kube-system/deploy.yaml': deployment('web-kube-system'),
  'apps/kube-system/cm.yaml': `apiVersion: v1
kind: ConfigMap
metadata: {name: ${id}-evil, namespace: kube-system}
data: {a: b}
`,
  'apps/webhook/deploy.yaml': deployment('web-webhook'),
  'apps/webhook/webhook.yaml': `apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata: {name: ${id}-hook}
webhooks:
  - name: hook.${id}.example.com
    clientConfig: {url: 'https://hook.example.com/mutate'}
    rules: [{operations: [CREATE], apiGroups: [''], apiVersions: [v1], resources: [pods]}]
    sideEffects: None
    admissionReviewVersions: [v1]
    failurePolicy: Ignore
    namespaceSelector: {matchLabels: {never: ${id}}}
`,
  'apps/namespace/deploy.yaml': deployment('web-namespace'),
  'apps/namespace/ns.yaml': `apiVersion: v1\nkind: Namespace\nmetadata: {name: ${newNamespace}}\n`,
  'apps/priorityclass/deploy.yaml': deployment('web-priorityclass'),
  'apps/priorityclass/pc.yaml': `apiVersion: scheduling.k8s.io/v1\nkind: PriorityClass\nmetadata: {name: ${id}-top}\nvalue: 1000000000\n`,
  'apps/clusterrole/deploy.yaml': deployment('web-clusterrole'),
  'apps/clusterrole/cr.yaml': `apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: ${id}-all}\nrules: [{apiGroups: ['*'], resources: ['*'], verbs: ['*']}]\n`,
  'apps/storageclass/deploy.yaml': deployment('web-storageclass'),
  'apps/storageclass/sc.yaml': `apiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata: {name: ${id}-sc}\nprovisioner: example.com/none\n`,
  'apps/other-ns/deploy.yaml': deployment('web-other-ns', otherNamespace),
  'apps/secret/deploy.yaml': deployment('web-secret'),
  'apps/secret/secret.yaml': `apiVersion: v1\nkind: Secret\nmetadata: {name: ${id}-s}\nstringData: {token: not-a-real-one}\n`,
  'apps/escape/deploy.yaml': deployment('web-escape'),
  'apps/escape/kustomization.yaml': kustomization('  - ../../../../../../../../etc/kubernetes'),
  'apps/escape-generator/deploy.yaml': deployment('web-escape-generator'),
  'apps/escape-generator/kustomization.yaml': kustomization(
    'configMapGenerator:\n  - name: loot\n    files: [passwd=../../../../../../../../etc/passwd]'
  ),
  'apps/file-url/deploy.yaml': deployment('web-file-url'),
  'apps/file-url/kustomization.yaml': kustomization('  - file:///etc/kubernetes'),
  'apps/remote/deploy.yaml': deployment('web-remote'),
  'apps/remote/kustomization.yaml': kustomization('  - https://github.com/evil/k8s//base?ref=v1'),
  'apps/remote-git/deploy.yaml': deployment('web-remote-git'),
  'apps/remote-git/kustomization.yaml': kustomization('  - git@github.com:evil/k8s.git//base')
}

interface Run extends CliRun {
  tempLeft: string[]
}

/** `base` with the flags `args` names replaced by those in `args` (a repeated flag adds a line). */
function withArgs(base: string[], args: string[]): string[] {
  const replaced = new Set(args.filter(arg => arg.startsWith('--')))
  const kept: string[] = []
  for (let i = 0; i < base.length; i += 2) {
    if (!replaced.has(base[i])) kept.push(base[i], base[i + 1])
  }
  return [...kept, ...args]
}

/** The CLI with secrets in INPUT_* variables (as the README says; the env token: runCli), in its own RUNNER_TEMP. */
async function cli(args: string[], extraEnv: Record<string, string> = {}): Promise<Run> {
  const temp = mkdtempSync(path.join(os.tmpdir(), 'security-test-'))
  try {
    const run = await runCli(args, { RUNNER_TEMP: temp, TMPDIR: temp, INPUT_KUBECONFIG: kubeconfigText, ...extraEnv })
    return { ...run, tempLeft: readdirSync(temp) }
  } finally {
    rmSync(temp, { recursive: true, force: true })
  }
}

const base = (envPath: string): string[] =>
  cliArgs(env, { image, tag: 'v1', envRepo: repo, envPath, namespace, timeout: '60s' })

async function exists(args: string[]): Promise<boolean> {
  const result = await kubectl(['get', ...args, '-o', 'name'])
  if (result.code !== 0 && !/NotFound|not found/.test(result.stderr)) throw new Error(result.stderr)
  return result.code === 0
}

/** Flags replacing or extending the base, the message expected, and the object that must not exist. */
type Case = [name: string, args: string[], message: RegExp, absent?: string[], extraEnv?: Record<string, string>]

const refused = (subject: string): RegExp =>
  new RegExp(`the apply policy refused \\d+ item\\(s\\); nothing was committed or applied:[\\s\\S]*${subject}`)

const CASES: Case[] = [
  // Inputs: refused before anything is read or written.
  ['env-repo reaching another API path', ['--env-repo', '../user'], /input "env-repo": "..\/user" is not owner\/name/],
  ['env-repo of dots', ['--env-repo', 'security/..'], /input "env-repo": "security\/.." is not owner\/name/],
  ['env-repo with three parts', ['--env-repo', 'a/b/c'], /input "env-repo": "a\/b\/c" is not owner\/name/],
  ['env-repo with a space', ['--env-repo', 'acme/env name'], /input "env-repo".* is not owner\/name/],
  [
    'github-api-url with credentials',
    ['--github-api-url', env.githubApiUrl.replace('://', `://x:${REGISTRY_PASSWORD}@`)],
    /input "github-api-url": must not carry user:password@ credentials/
  ],
  ['github-api-url not http', ['--github-api-url', 'file:///etc/passwd'], /input "github-api-url".* is not an http/],
  ['timeout that overflows timers', ['--timeout', '597h'], /input "timeout": "597h" is longer than 24h/],
  ['timeout just above a day', ['--timeout', '1441m'], /input "timeout": "1441m" is longer than 24h/],
  [
    'commit-message above 64 KiB',
    ['--commit-message', 'x'.repeat(65 * 1024)],
    /input "commit-message": is larger than 64 KiB/
  ],
  [
    'build-args above 64 KiB, a secret inside',
    [],
    /input "build-args": is larger than 64 KiB/,
    [],
    { 'INPUT_BUILD-ARGS': `TOKEN=${BUILD_ARG_SECRET}\n${'A=b\n'.repeat(17 * 1024)}` }
  ],
  ['env-path leaving the repo', ['--env-path', '../../etc'], /input "env-path": "..\/..\/etc" must be a path relative/],
  ['env-path absolute', ['--env-path', '/etc'], /input "env-path": "\/etc" must be a path relative/],
  ['namespace not a name', ['--namespace', 'Kube_System'], /input "namespace": "Kube_System" is not a valid namespace/],
  [
    'allowed-namespaces not a name',
    ['--allowed-namespaces', 'a b'],
    /input "allowed-namespaces": "a b" is not a namespace/
  ],
  ['allowed-kinds not a kind', ['--allowed-kinds', 'rbac/Cluster Role'], /input "allowed-kinds": .* is not a kind/],
  ['denied-kinds not a kind', ['--denied-kinds', 'a/b/C'], /input "denied-kinds": "a\/b\/C" is not a kind/],
  [
    'allow-cluster-scoped not a boolean',
    ['--allow-cluster-scoped', 'yes'],
    /input "allow-cluster-scoped": "yes" is not a boolean/
  ],
  ['kustomize-remote not a boolean', ['--kustomize-remote', 'on'], /input "kustomize-remote": "on" is not a boolean/],
  ['kube-as with a control character', ['--kube-as', 'admin\tx'], /input "kube-as": .* must be 1 to 256 printable/],
  ['kube-as-groups without kube-as', ['--kube-as-groups', 'system:masters'], /input "kube-as-groups": needs kube-as/],
  ['field-manager with spaces', ['--field-manager', 'a b'], /input "field-manager": "a b" must be 1 to 128/],
  ['image with a path trick', ['--image', '../../etc/passwd'], /input "image": .* is not a valid image repository/],
  ['tag with a slash', ['--tag', 'v1/../../x'], /input "tag": .* is not a valid tag/],
  [
    'registry-password without a user',
    [],
    /input "registry-username": is required with registry-password/,
    [],
    { 'INPUT_REGISTRY-PASSWORD': REGISTRY_PASSWORD }
  ],
  [
    'environment-url not http',
    ['--environment-url', 'javascript:alert(1)'],
    /input "environment-url".* is not an http/
  ],
  [
    'kubeconfig that is not YAML, a token inside',
    [],
    /input "kubeconfig": is neither kubeconfig YAML nor base64 of it/,
    [],
    { INPUT_KUBECONFIG: `users:\n- user: {token: ${env.githubToken}\n  bad: [` }
  ],
  [
    'kubeconfig with a context that is not there',
    ['--kube-context', 'prod'],
    /kube-context "prod" is not in the kubeconfig/
  ],
  // The env repo: every trick refused by the apply policy before the dry run and the commit.
  [
    'ClusterRoleBinding to cluster-admin',
    ['--env-path', 'apps/crb'],
    refused(`ClusterRoleBinding ${id}-pwn`),
    [`clusterrolebinding/${id}-pwn`]
  ],
  [
    'ConfigMap in kube-system',
    ['--env-path', 'apps/kube-system'],
    refused(`ConfigMap kube-system/${id}-evil .*allowed-namespaces: kube-system`),
    ['-n', 'kube-system', `configmap/${id}-evil`]
  ],
  [
    'mutating webhook',
    ['--env-path', 'apps/webhook'],
    refused(`MutatingWebhookConfiguration ${id}-hook`),
    [`mutatingwebhookconfiguration/${id}-hook`]
  ],
  [
    'another Namespace',
    ['--env-path', 'apps/namespace'],
    refused(`Namespace ${newNamespace}`),
    [`namespace/${newNamespace}`]
  ],
  [
    'PriorityClass',
    ['--env-path', 'apps/priorityclass'],
    refused(`PriorityClass ${id}-top`),
    [`priorityclass/${id}-top`]
  ],
  ['ClusterRole', ['--env-path', 'apps/clusterrole'], refused(`ClusterRole ${id}-all`), [`clusterrole/${id}-all`]],
  ['StorageClass', ['--env-path', 'apps/storageclass'], refused(`StorageClass ${id}-sc`), [`storageclass/${id}-sc`]],
  [
    'Deployment in another namespace',
    ['--env-path', 'apps/other-ns'],
    refused(`Deployment ${otherNamespace}/web-other-ns`),
    []
  ],
  [
    'a denied kind',
    ['--env-path', 'apps/secret', '--denied-kinds', 'core/Secret'],
    refused(`Secret ${namespace}/${id}-s .*: kind core/Secret is denied`),
    ['-n', namespace, `secret/${id}-s`]
  ],
  [
    'kustomize base leaving the repo',
    ['--env-path', 'apps/escape'],
    refused('apps/escape/kustomization.yaml: resources ".*" leaves the env repository')
  ],
  [
    'kustomize generator reading /etc/passwd',
    ['--env-path', 'apps/escape-generator'],
    refused('configMapGenerator ".*etc/passwd" leaves the env repository')
  ],
  [
    'kustomize file: URL, even with kustomize-remote',
    ['--env-path', 'apps/file-url', '--kustomize-remote', 'true'],
    refused(`reads the runner's disk`)
  ],
  [
    'kustomize remote base',
    ['--env-path', 'apps/remote'],
    refused('resources "https://github.com/evil/k8s//base\\?ref=v1" is remote; allow with kustomize-remote: true')
  ],
  ['kustomize git base', ['--env-path', 'apps/remote-git'], refused('"git@github.com:evil/k8s.git//base" is remote')],
  ['ClusterRoleBinding in a dry run', ['--env-path', 'apps/crb', '--dry-run'], refused(`ClusterRoleBinding ${id}-pwn`)],
  [
    'ClusterRoleBinding in pull-request mode',
    ['--env-path', 'apps/crb', '--commit-mode', 'pull-request'],
    refused(`ClusterRoleBinding ${id}-pwn`)
  ],
  [
    'every trick at once, each listed',
    ['--env-path', 'apps/crb', '--env-path', 'apps/webhook', '--env-path', 'apps/kube-system'],
    refused(
      `ClusterRoleBinding ${id}-pwn[\\s\\S]*ConfigMap kube-system/${id}-evil[\\s\\S]*MutatingWebhookConfiguration ${id}-hook`
    )
  ],
  // The apiserver refuses what an impersonated identity may not do (refused elsewhere).
  [
    'an impersonated service account outside its namespace',
    [
      '--env-path',
      'apps/ok',
      '--namespace',
      otherNamespace,
      '--kube-as',
      `system:serviceaccount:${namespace}:deployer`
    ],
    new RegExp(
      `Deployment ${otherNamespace}/web: .*forbidden: User "system:serviceaccount:${namespace}:deployer" cannot`
    )
  ]
]

beforeAll(async () => {
  await buildImage(`${image}:v1`)
  await createRepo(repo, HOSTILE)
  for (const ns of [namespace, otherNamespace]) expect((await kubectl(['create', 'namespace', ns])).code).toBe(0)
  // A service account that may do anything in its own namespace and nothing elsewhere.
  const rbac = `apiVersion: v1
kind: ServiceAccount
metadata: {name: deployer, namespace: ${namespace}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: deployer, namespace: ${namespace}}
rules: [{apiGroups: ['*'], resources: ['*'], verbs: ['*']}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: deployer, namespace: ${namespace}}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: deployer}
subjects: [{kind: ServiceAccount, name: deployer, namespace: ${namespace}}]
`
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'security-rbac-')), 'rbac.yaml')
  writeFileSync(file, rbac)
  const applied = await kubectl(['apply', '-f', file])
  expect(applied.stderr).toBe('')
})

afterAll(async () => {
  await kubectl(['delete', 'namespace', namespace, otherNamespace, '--wait=false'])
})

describe('security: hostile and bad inputs', () => {
  it(`has at least 40 cases (${CASES.length})`, () => {
    expect(CASES.length).toBeGreaterThanOrEqual(40)
  })

  it.each(CASES)('%s', async (_name, args, message, absent = [], extraEnv = {}) => {
    const before = await gitLog(repo, 'main')
    const run = await cli(withArgs(base('apps/ok'), args), extraEnv)
    const captured = `${run.stdout}\n${run.stderr}`
    expect(captured).toMatch(message)
    expect(run.code).toBe(1)
    for (const secret of SECRETS) expect(captured.includes(secret)).toBe(false)
    expect(run.tempLeft).toEqual([])
    expect(await gitLog(repo, 'main')).toEqual(before)
    expect(await exists(['-n', namespace, 'deployment/web'])).toBe(false)
    if (absent.length > 0) expect(await exists(absent)).toBe(false)
  })
})

describe('security: the hostile env repo, each trick allowed by its input', () => {
  // A dry run: the policy let it through and the apiserver accepted it; nothing is applied.
  it.each<[string, string, string[], RegExp]>([
    [
      'ClusterRoleBinding',
      'apps/crb',
      ['--allowed-kinds', 'rbac.authorization.k8s.io/ClusterRoleBinding'],
      new RegExp(`plan: create +ClusterRoleBinding ${id}-pwn`)
    ],
    [
      'ConfigMap in kube-system',
      'apps/kube-system',
      ['--allowed-namespaces', 'kube-system'],
      new RegExp(`plan: create +ConfigMap kube-system/${id}-evil`)
    ],
    [
      'webhook',
      'apps/webhook',
      ['--allow-cluster-scoped', 'true'],
      new RegExp(`plan: create +MutatingWebhookConfiguration ${id}-hook`)
    ],
    [
      'another Namespace',
      'apps/namespace',
      ['--allowed-namespaces', `${id}-*`],
      new RegExp(`plan: create +Namespace ${newNamespace}`)
    ]
  ])('%s', async (_name, envPath, allow, plan) => {
    const run = await cli(withArgs(base(envPath), ['--dry-run', ...allow]))
    expect(run.stderr).not.toMatch(/apply policy refused/)
    expect(run.stderr).toMatch(plan)
    expect(run.stderr).toMatch(/plan: create +Deployment .*\/web-/)
    expect(run.stdout).toMatch(/^status=planned$/m)
    expect(run.code).toBe(0)
    expect(run.tempLeft).toEqual([])
  })

  it('a remote base is allowed by kustomize-remote (then kustomize itself fetches it: no network here)', async () => {
    const run = await cli(withArgs(base('apps/remote'), ['--dry-run', '--kustomize-remote', 'true']))
    expect(run.stderr).not.toMatch(/apply policy refused/)
    expect(run.stderr).toMatch(/kustomize build apps\/remote:/)
    expect(run.code).toBe(1)
    expect(run.tempLeft).toEqual([])
  })

  it('a base leaving the env repo has no input that allows it', async () => {
    const run = await cli([
      ...base('apps/escape'),
      '--dry-run',
      '--kustomize-remote',
      'true',
      '--allow-cluster-scoped',
      'true'
    ])
    expect(run.stderr).toMatch(/leaves the env repository/)
    expect(run.code).toBe(1)
  })
})

describe('impersonation on the test bed', () => {
  it('a service account allowed only its namespace deploys there, every request as that account', async () => {
    const run = await cli(withArgs(base('apps/ok'), ['--kube-as', `system:serviceaccount:${namespace}:deployer`]))
    expect(run.stdout).toMatch(/^status=deployed$/m)
    expect(run.code).toBe(0)
    const managed = await kubectl([
      'get',
      '-n',
      namespace,
      'deployment/web',
      '-o',
      'jsonpath={.metadata.managedFields[*].manager}'
    ])
    expect(managed.stdout).toContain('gitops-push-deploy')
    expect(run.tempLeft).toEqual([])
    for (const secret of SECRETS) expect(`${run.stdout}${run.stderr}`.includes(secret)).toBe(false)
  })
})
