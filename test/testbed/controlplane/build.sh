#!/usr/bin/env bash
# Builds testbed-controlplane into a content-addressed cache directory and
# prints the absolute path of the binary as the last line on stdout.
# Progress goes to stderr. The build is skipped when the binary for the
# current sources already exists.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

log() { echo "[testbed-controlplane build] $*" >&2; }

command -v go >/dev/null 2>&1 || { log "go not found in PATH"; exit 1; }

# Key: go.mod, go.sum, this script (flags) and every .go file of this folder.
key="$(
  {
    sha256sum go.mod go.sum build.sh
    find . -type f -name '*.go' -print0 | LC_ALL=C sort -z | xargs -0 sha256sum
    go env GOVERSION GOOS GOARCH
  } | sha256sum | cut -c1-20
)"
out_dir="${XDG_CACHE_HOME:-$HOME/.cache}/gitops-push-deploy/testbed/$key"
bin="$out_dir/testbed-controlplane"

if [[ -x "$bin" ]]; then
  touch "$out_dir" 2>/dev/null || true # marks it as in use for the pruning below
  log "up to date: $bin"
  echo "$bin"
  exit 0
fi

k8s_version="$(awk '$1 == "k8s.io/kubernetes" && $2 ~ /^v/ { print $2; exit }' go.mod)"
major="$(echo "${k8s_version#v}" | cut -d. -f1)"
minor="$(echo "${k8s_version#v}" | cut -d. -f2)"
pkg=k8s.io/component-base/version
ldflags="-s -w -X $pkg.gitVersion=$k8s_version -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"

mkdir -p "$out_dir"
tmp="$(mktemp "$out_dir/.build.XXXXXX")"
trap 'rm -f "$tmp"' EXIT

log "building (Kubernetes $k8s_version, key $key); an empty Go build cache means ~9 minutes on 2 cores, a warm one ~30s"
start=$(date +%s)
# -mod=mod: go.sum is committed; tolerate a GOFLAGS=-mod=vendor environment.
CGO_ENABLED=0 nice -n 10 go build -mod=mod -trimpath -buildvcs=false -ldflags "$ldflags" -o "$tmp" . >&2
chmod 0755 "$tmp"
mv -f "$tmp" "$bin"
trap - EXIT
# Drop builds not used for three days (other checkouts may use other keys).
find "$(dirname "$out_dir")" -mindepth 1 -maxdepth 1 -type d -mtime +3 ! -path "$out_dir" -exec rm -rf {} + 2>/dev/null || true
log "built in $(( $(date +%s) - start ))s: $bin ($(du -h "$bin" | cut -f1))"
echo "$bin"
