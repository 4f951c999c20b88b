#!/usr/bin/env bash
# Build a tiny FROM-scratch test image with buildah and push it; prints its digest last.
#   test/testbed/image.sh <registry/repository:tag> [behavior]
# The behavior becomes the label testbed.behavior, which the simulated kubelet acts on
# (e.g. crashloop, fail, unready). Same reference and behavior give the same digest
# unless TESTBED_IMAGE_NONCE differs.
set -euo pipefail
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

[ $# -ge 1 ] && [ $# -le 2 ] || die "usage: image.sh <repository:tag> [behavior]"
ref="$1"
behavior="${2:-}"
command -v buildah >/dev/null || die "buildah is not installed: run npm run testbed:up"
[[ "$ref" == */*:* || "$ref" == */*@* ]] || die "reference must be host:port/repository:tag, got '$ref'"
host="${ref%%/*}"
[[ "$behavior" =~ ^[A-Za-z0-9._-]*$ ]] || die "behavior must be a simple word, got '$behavior'"

load_env
creds=()
if [ "$host" = "$REGISTRY_AUTH" ]; then
  creds=(--creds "$TESTBED_REGISTRY_USER:$TESTBED_REGISTRY_PASSWORD")
fi

BUILDAH=(buildah --storage-driver vfs --root "$TB/buildah/storage" --runroot "$TB/buildah/run")
ctx="$(mktemp -d "${TMPDIR:-/tmp}/testbed-image.XXXXXX")"
trap 'rm -rf "$ctx"' EXIT
printf 'testbed image\nref=%s\nbehavior=%s\nnonce=%s\n' "$ref" "$behavior" "${TESTBED_IMAGE_NONCE:-}" >"$ctx/testbed.txt"
{
  echo "FROM scratch"
  echo "COPY testbed.txt /testbed.txt"
  [ -z "$behavior" ] || echo "LABEL testbed.behavior=$behavior"
} >"$ctx/Containerfile"

tag="localhost/testbed-build-$$-$RANDOM:latest"
"${BUILDAH[@]}" bud --isolation chroot --timestamp 0 --quiet -f "$ctx/Containerfile" -t "$tag" "$ctx" >&2
"${BUILDAH[@]}" push --tls-verify=false "${creds[@]}" --digestfile "$ctx/digest" --quiet "$tag" "docker://$ref" >&2
"${BUILDAH[@]}" rmi "$tag" >/dev/null 2>&1 || true
digest="$(cat "$ctx/digest")"
[[ "$digest" == sha256:* ]] || die "buildah push wrote no digest"
echo "$digest"
