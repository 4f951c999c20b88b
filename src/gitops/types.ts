// The stage's data, shared by the pure planning code and the GitHub-backed repository.
import { type Pin } from '../config/config.js'
import { type ImageRepository } from '../image/reference.js'
import { type LocationChange } from './edit.js'

export interface EnvFile {
  path: string
  content: string
}

export interface ImageEdit {
  repository: ImageRepository
  /** The `image` input's spelling, written into whole-reference locations. */
  image: string
  tag: string
  /** `sha256:…`; may be empty only with pin `tag`. */
  digest: string
  pin: Pin
}

/** One reference changed: where, and what it was before and after. */
export type ReferenceChange = LocationChange

export interface EnvPlan {
  branch: string
  baseSha: string
  /** All descriptor files under env-path at baseSha, before the edit (Git's state before this run). */
  baseFiles: EnvFile[]
  /** All descriptor files under env-path, after the edit. */
  files: EnvFile[]
  changes: ReferenceChange[]
  /** First old reference, '' if none. */
  previousImage: string
  /** Unified diff of the edit. */
  diff: string
}

export interface EnvCommit {
  sha: string
  /** html url of the commit. */
  url: string
  parentSha: string
  /** Descriptor files at `sha`. */
  files: EnvFile[]
  changes: ReferenceChange[]
  previousImage: string
}

export interface PullRequestResult {
  url: string
  number: number
  branch: string
  sha: string
}
