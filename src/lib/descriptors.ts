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

/**
 * Whether a kustomization's key is the field `name` as kustomize reads it. Kustomize decodes a
 * kustomization with Go's encoding/json, which matches names under Unicode case folding:
 * `RESOURCES:` and `reſources:` are both read as `resources` (seen with kustomize v5.5, and in its
 * own inline-patch example, which writes `patchesJSON6902`). This folds a little more than Go
 * (`ı` as `i`), which can only make a check read a field kustomize would not.
 */
export function isKustomizationField(key: unknown, name: string): boolean {
  return typeof key === 'string' && foldCase(key) === foldCase(name)
}

function foldCase(text: string): string {
  // upper first: `ſ` and `K` (Kelvin) reach `s` and `k` only that way
  return text.toUpperCase().toLowerCase()
}

/** The values of every key of `object` that kustomize reads as the field `name`. */
export function kustomizationFieldValues(object: unknown, name: string): unknown[] {
  if (!object || typeof object !== 'object' || Array.isArray(object)) return []
  return Object.entries(object)
    .filter(([key]) => isKustomizationField(key, name))
    .map(([, value]) => value)
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
