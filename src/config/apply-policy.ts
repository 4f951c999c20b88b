// The apply policy's inputs, as config validates them; the kube stage enforces the policy
// (src/kube/policy.ts).

export interface ApplyPolicy {
  /** The `namespace` input: objects naming another namespace are refused. */
  namespace?: string
  /** `allowed-namespaces`: further namespaces (globs). */
  allowedNamespaces: string[]
  /** `allow-cluster-scoped`. */
  allowClusterScoped: boolean
  /** `allowed-kinds`: cluster-scoped kinds let through (`group/Kind` or `Kind`, globs). */
  allowedKinds: string[]
  /** `denied-kinds`: refused whatever else allows them. */
  deniedKinds: string[]
  /** `kustomize-remote`. */
  kustomizeRemote: boolean
}

/** `group/Kind` or `Kind`, `*` globs. */
export const KIND_PATTERN = /^(?:[a-z0-9.*-]*\/)?[A-Za-z0-9*]+$/
/** A namespace name, `*` globs. */
export const NAMESPACE_PATTERN = /^[a-z0-9*](?:[-a-z0-9*]*[a-z0-9*])?$/
