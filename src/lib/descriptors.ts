// Which files of the environment repository are descriptors. The one rule for what the gitops
// stage reads and edits under an env-path folder and what the kube stage applies.

const MANIFEST_EXTENSIONS = ['.yaml', '.yml', '.json']
const KUSTOMIZATION_FILES = ['kustomization.yaml', 'kustomization.yml', 'Kustomization']

function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1)
}

/** A kustomization: rendered with kustomize, never applied as it is. */
export function isKustomizationFile(path: string): boolean {
  return KUSTOMIZATION_FILES.includes(baseName(path))
}

/** Kubernetes objects in YAML or JSON. */
export function isManifestFile(path: string): boolean {
  const name = baseName(path)
  const dot = name.lastIndexOf('.')
  return dot > 0 && MANIFEST_EXTENSIONS.includes(name.slice(dot).toLowerCase())
}

/** Read and edited under a folder; applied unless kustomize owns it. */
export function isDescriptorFile(path: string): boolean {
  return isManifestFile(path) || isKustomizationFile(path)
}
