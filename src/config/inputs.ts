// The one schema of the public interface. action.yml, the CLI flags, INPUT_* variables,
// --help and the README tables all follow this list (a test keeps them in step).

export interface InputSpec {
  name: string
  description: string
  /** Literal default applied when the input is empty. */
  default?: string
  /** How the default reads in docs when it is computed (`${{ github.token }}`, first 7 chars of sha). */
  defaultText?: string
  required?: boolean
  /** Masked in logs; never printed. The CLI also reads it from a file (`--<name>-file`). */
  secret?: boolean
  /** Boolean inputs accept a bare CLI flag (`--dry-run`). */
  boolean?: boolean
}

export interface OutputSpec {
  name: string
  description: string
}

const INPUT_LIST = [
  {
    name: 'mode',
    default: 'deploy',
    description:
      '`deploy`: build, commit and apply an image. `reconcile`: build and commit nothing (no `image` needed); apply env-path at the head of env-branch, wait, prune, report drift.'
  },
  {
    name: 'image',
    description:
      'Image repository without tag, e.g. `ghcr.io/acme/web`, `registry.local:5000/team/api`. Required in mode `deploy`; not used in mode `reconcile`.'
  },
  {
    name: 'tag',
    defaultText: 'first 7 chars of the source commit sha',
    description: 'Tag to build and push, or to deploy.'
  },
  {
    name: 'build',
    default: 'true',
    boolean: true,
    description: 'Build and push; `false` deploys an image that must already exist in the registry.'
  },
  { name: 'context', default: '.', description: 'Build context.' },
  {
    name: 'dockerfile',
    defaultText: '`<context>/Dockerfile`',
    description: 'Path of the Dockerfile, relative to the workspace.'
  },
  { name: 'build-args', description: 'Build arguments, one `KEY=VALUE` per line.' },
  { name: 'target', description: 'Build stage to stop at.' },
  { name: 'platforms', description: 'Target platforms, comma or newline separated, e.g. `linux/amd64,linux/arm64`.' },
  {
    name: 'labels',
    description: 'Extra image labels, one `KEY=VALUE` per line (OCI source, revision and created labels are added).'
  },
  { name: 'builder', default: 'auto', description: 'Image builder: `auto`, `docker`, `buildah` or `podman`.' },
  { name: 'registry-username', description: 'Registry user name.' },
  { name: 'registry-password', secret: true, description: 'Registry password or token (secret).' },
  {
    name: 'registry-insecure',
    default: 'false',
    boolean: true,
    description: 'Allow plain HTTP or self-signed TLS for the registry.'
  },
  { name: 'env-repo', required: true, description: '`owner/name` of the environment repository.' },
  {
    name: 'env-branch',
    defaultText: "the repo's default branch",
    description: 'Branch of the environment repository.'
  },
  {
    name: 'env-path',
    required: true,
    description: "Files or directories in the env repo (newline separated) holding this deployment's descriptors."
  },
  {
    name: 'env-token',
    required: true,
    secret: true,
    description: 'Token with contents:write on env-repo (secret).'
  },
  { name: 'commit-mode', default: 'push', description: '`push` or `pull-request`.' },
  {
    name: 'commit-message',
    defaultText: '`deploy {image}:{tag}` plus a body with old → new, source repo@sha and run URL',
    description: 'Commit message; placeholders `{image} {tag} {digest} {reference} {previous} {sha} {repo} {run_url}`.'
  },
  {
    name: 'pin',
    default: 'tag+digest',
    description: 'How the reference is written: `tag`, `digest` or `tag+digest` (`repo:tag@sha256:…`).'
  },
  {
    name: 'kubeconfig',
    secret: true,
    description: 'Kubeconfig YAML, or base64 of it (secret); required unless apply is false.'
  },
  { name: 'kube-context', defaultText: "the kubeconfig's current context", description: 'Kubeconfig context to use.' },
  {
    name: 'namespace',
    description:
      'Namespace for objects that name none; objects naming another namespace are refused (see allowed-namespaces).'
  },
  {
    name: 'allowed-namespaces',
    description:
      'Other namespaces objects may name (and Namespace objects may be), one per line, `*` globs; with no `namespace`, the only ones allowed when set.'
  },
  {
    name: 'allow-cluster-scoped',
    default: 'false',
    boolean: true,
    description:
      'Allow every cluster-scoped kind (ClusterRole, ClusterRoleBinding, webhook configurations, …); Namespaces and CRDs are always allowed.'
  },
  {
    name: 'allowed-kinds',
    description:
      'Cluster-scoped kinds to allow, one `group/Kind` or `Kind` per line, `*` globs (e.g. `rbac.authorization.k8s.io/ClusterRole`).'
  },
  {
    name: 'denied-kinds',
    description:
      'Kinds refused whatever else allows them, one `group/Kind` or `Kind` per line, `*` globs (`core/Secret` or `/Secret` for the core group).'
  },
  {
    name: 'kustomize-remote',
    default: 'false',
    boolean: true,
    description:
      'Allow kustomize resources, bases and components from remote URLs or git; paths leaving the env repo are always refused.'
  },
  {
    name: 'kube-as',
    description:
      'User to impersonate on every apiserver request (`Impersonate-User`), e.g. `system:serviceaccount:web:deployer`; the kubeconfig then only needs impersonate rights.'
  },
  { name: 'kube-as-groups', description: 'Groups to impersonate (`Impersonate-Group`), one per line; needs kube-as.' },
  {
    name: 'apply',
    default: 'true',
    boolean: true,
    description: '`false`: commit only, leave applying to an in-cluster operator.'
  },
  {
    name: 'timeout',
    default: '5m',
    description:
      'Time budget for the whole deployment: waiting for the deploy lock, applying and the rollout together (e.g. 90s, 5m, 1h).'
  },
  {
    name: 'rollback-timeout',
    defaultText: 'the `timeout`',
    description: 'Time budget of the rollback after a failed rollout: re-applying the previous state and its rollout.'
  },
  {
    name: 'prune',
    default: 'true',
    boolean: true,
    description:
      'After a successful rollout delete the objects this env-path deployed before that Git no longer has (kubectl ApplySet inventory); objects annotated `gitops-push-deploy/prune: disabled` are kept.'
  },
  {
    name: 'drift',
    default: 'warn',
    description:
      'Before applying, compare the cluster with Git: `warn` reports drift then applies (which repairs it), `fail` stops before committing or applying (status `drifted`), `ignore` skips the report.'
  },
  {
    name: 'failures-allowed',
    default: '1',
    description:
      'Restarts a new pod may have before its crash loop fails the deploy (`0`: the first crash fails it). ' +
      'An object overrides it with the annotation `gitops-push-deploy/failures-allowed`.'
  },
  {
    name: 'rollback',
    default: 'true',
    boolean: true,
    description: 'On a failed rollout restore the previous revision in the cluster and in the env repo.'
  },
  { name: 'field-manager', default: 'gitops-push-deploy', description: 'Server-side apply field manager.' },
  {
    name: 'helm-release-name',
    defaultText: "the chart's folder name",
    description:
      "Release name for Helm charts under env-path (`helm template <release>`); a chart file's `releaseName` wins."
  },
  {
    name: 'dry-run',
    default: 'false',
    boolean: true,
    description: 'Plan only: print the env-repo diff and the server-side dry-run result; commit and apply nothing.'
  },
  {
    name: 'environment',
    description: 'GitHub Deployment environment name; no Deployment is recorded when empty.'
  },
  { name: 'environment-url', description: 'URL shown on the GitHub Deployment.' },
  {
    name: 'production-environment',
    boolean: true,
    defaultText: '`true` for `production` and `prod`, else `false`',
    description: 'Whether the GitHub Deployment is for a production environment.'
  },
  {
    name: 'github-token',
    default: '${{ github.token }}',
    secret: true,
    description: 'Token for the source repository (Deployments API).'
  },
  {
    name: 'github-api-url',
    default: '${{ github.api_url }}',
    description: 'GitHub API base URL (GitHub Enterprise Server, or a local emulator).'
  }
] as const satisfies readonly InputSpec[]

/** The name of an input: a typo (`get('kubeconfg')`) fails to compile. */
export type InputName = (typeof INPUT_LIST)[number]['name']

export const INPUTS: ReadonlyArray<InputSpec & { name: InputName }> = INPUT_LIST

const OUTPUT_LIST = [
  {
    name: 'status',
    description:
      '`deployed`, `committed` (apply is false: commit made, applying left to an operator), `unchanged`, `reconciled` (Git already current, the cluster was brought back to it; every successful `reconcile` run), `drifted` (drift found with `drift: fail`, nothing committed or applied), `proposed` (pull request opened or updated), `planned` (dry run), `rolled-back`, `failed` or `cancelled` (the workflow was cancelled: tracking stopped, the cluster left as it was).'
  },
  { name: 'image', description: 'The reference as written into the env repo.' },
  { name: 'digest', description: '`sha256:…`' },
  { name: 'previous-image', description: 'The reference the env repo held before this run.' },
  { name: 'env-commit', description: 'Sha of the env-repo commit this run made (empty when none).' },
  { name: 'env-commit-url', description: 'URL of that commit.' },
  {
    name: 'revert-commit',
    description: 'Sha of the env-repo commit that restored the previous reference after a rollback.'
  },
  { name: 'pull-request-url', description: 'Pull-request mode: URL of the pull request.' },
  {
    name: 'resources',
    description: 'JSON array of `{kind, namespace, name, status, message}` for every object applied.'
  },
  { name: 'rollout-seconds', description: 'Seconds spent waiting on the rollout.' },
  {
    name: 'drift',
    description:
      'JSON array of `{kind, namespace, name, state, fields, managers}`: how the cluster differed from Git before this run (`state` is `missing`, `changed` or `extra`; `fields` the changed fields Git sets; `managers` the other field managers owning them).'
  },
  { name: 'deployment-id', description: 'GitHub Deployment id, when environment is set.' }
] as const satisfies readonly OutputSpec[]

export type OutputName = (typeof OUTPUT_LIST)[number]['name']

export const OUTPUTS: ReadonlyArray<OutputSpec & { name: OutputName }> = OUTPUT_LIST

/** The environment variable GitHub sets for an input (`INPUT_ENV-REPO`). */
export function inputEnvName(name: string): string {
  return `INPUT_${name.replace(/ /g, '_').toUpperCase()}`
}
