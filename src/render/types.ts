// What rendering reads and produces; shared by the stages that render (gitops check, kube apply).

/** One file of the environment repository, exactly as it is stored at a commit. */
export interface EnvFile {
  path: string
  content: string
}

/** A Kubernetes object as read from a manifest: loosely typed on purpose, sent as is. */
export interface KubeObject {
  apiVersion: string
  kind: string
  metadata: { name: string; namespace?: string; annotations?: Record<string, string>; [key: string]: unknown }
  [key: string]: unknown
}

/**
 * One object or kustomize reference the apply policy refuses: why, and the input that would allow
 * it. A refused kustomization is never rendered: the rendering reports it (see policyRender).
 */
export interface Refusal {
  /** `ClusterRoleBinding ops-admin` or `apps/web/kustomization.yaml`. */
  subject: string
  source?: string
  reasons: string[]
  allowWith: string[]
}

export type HookPhase = 'pre' | 'post'

/** A Helm hook: when it runs around the main apply. */
export interface HookInfo {
  phase: HookPhase
  /** `helm.sh/hook-weight`: lower runs first. */
  weight: number
  /** `helm.sh/hook-delete-policy`; Helm's default is before-hook-creation. */
  deletePolicies: string[]
}

/** `Deployment app/web`, or `Namespace app` for cluster-scoped objects. */
export function describeObject(object: { kind: string; namespace?: string; name: string }): string {
  return object.namespace ? `${object.kind} ${object.namespace}/${object.name}` : `${object.kind} ${object.name}`
}
