#!/usr/bin/env bash
# Builds a Go command from a published module into a content-addressed cache and
# installs it into the test bed's bin directory (.testbed/bin, first on PATH in
# .testbed/env). Prints the absolute path of the cached binary as the last line
# on stdout; progress goes to stderr. Nothing is compiled when the binary for
# this module version, package, flags and Go toolchain is already cached.
#
#   gotool.sh NAME MODULE@VERSION [PACKAGE] [LDFLAGS]
#     NAME     file name of the binary in .testbed/bin (e.g. buildkitd)
#     PACKAGE  main package inside the module, relative (default "."; e.g. ./cmd/buildkitd)
#     LDFLAGS  extra -ldflags (e.g. -X module/version.Version=v1.2.3)
#
# The build runs inside the downloaded module's own folder (not `go install
# module@version`) so the module's replace and exclude directives apply: BuildKit's
# go.mod has exclude directives that `go install` refuses.
set -euo pipefail
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

[ $# -ge 2 ] || die "usage: gotool.sh NAME MODULE@VERSION [PACKAGE] [LDFLAGS]"
name="$1" modver="$2" pkg="${3:-.}" ldflags="${4:-}"
case "$modver" in *@v*) ;; *) die "gotool.sh: '$modver' is not MODULE@VERSION" ;; esac
command -v go >/dev/null 2>&1 || die "go not found in PATH (needed to build $name)"

# Key: what decides the binary. Bump RECIPE when the go build command below changes (not for
# comment edits: a new key means minutes of compiling for everyone).
RECIPE=1
key="$(
  {
    printf '%s\n' "$RECIPE" "$name" "$modver" "$pkg" "$ldflags"
    go env GOVERSION GOOS GOARCH
  } | sha256sum | cut -c1-20
)"
cache_root="${XDG_CACHE_HOME:-$HOME/.cache}/gitops-push-deploy/tools"
out_dir="$cache_root/$name-$key"
bin="$out_dir/$name"

install_bin() {
  mkdir -p "$TB/bin"
  ln -sfn "$bin" "$TB/bin/$name"
  touch "$out_dir" 2>/dev/null || true # marks it as in use for the pruning below
  echo "$bin"
}

if [ -x "$bin" ]; then
  install_bin
  exit 0
fi

mkdir -p "$out_dir"
# Two test beds (or CI jobs) asking for the same tool wait for one build.
exec 8>"$out_dir/.lock"
flock -w 3600 8 || die "timed out waiting for another build of $name"
if [ -x "$bin" ]; then
  install_bin
  exit 0
fi

log "building $name from $modver ($pkg); a cold Go cache takes minutes on 2 cores"
start=$(date +%s)
# -mod=mod and GOFLAGS from the caller's environment would let go rewrite the module's read-only go.mod.
export GOFLAGS=-mod=readonly
dir="$(go mod download -json "$modver" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')"
[ -n "$dir" ] && [ -d "$dir" ] || die "go mod download $modver did not report a module folder"
tmp="$(mktemp "$out_dir/.build.XXXXXX")"
trap 'rm -f "$tmp"' EXIT
(cd "$dir" && CGO_ENABLED=0 nice -n 10 go build -trimpath -buildvcs=false -ldflags "-s -w $ldflags" -o "$tmp" "$pkg") >&2 ||
  die "go build of $name ($modver $pkg) failed"
chmod 0755 "$tmp"
mv -f "$tmp" "$bin"
trap - EXIT
# Drop tool builds not used for three days (other checkouts may use other keys).
find "$cache_root" -mindepth 1 -maxdepth 1 -type d -mtime +3 ! -path "$out_dir" -exec rm -rf {} + 2>/dev/null || true
log "built $name in $(($(date +%s) - start))s: $bin ($(du -h "$bin" | cut -f1))"
install_bin
