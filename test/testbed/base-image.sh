#!/usr/bin/env bash
# Pushes a one-layer linux/amd64 image holding Debian's static busybox (/bin/busybox plus a
# link for every applet, so /bin/sh exists) to a registry, without any builder: test
# Dockerfiles start FROM it and can RUN steps with no Docker Hub. The layer is reproducible
# (sorted, mtime 0, root-owned, gzip -n), so the same busybox gives the same digest.
#   base-image.sh <host:port/repository:tag>     prints the manifest digest last
set -euo pipefail
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

[ $# = 1 ] || die "usage: base-image.sh <host:port/repository:tag>"
ref="$1"
host="${ref%%/*}"
rest="${ref#*/}"
repo="${rest%:*}"
tag="${rest##*:}"
[ "$host" != "$ref" ] && [ "$repo" != "$rest" ] || die "reference must be host:port/repository:tag, got '$ref'"
busybox=/bin/busybox
[ -x "$busybox" ] || die "busybox-static is not installed: run npm run testbed:up"
ldd "$busybox" >/dev/null 2>&1 && die "$busybox is dynamically linked; install busybox-static"

work="$(mktemp -d "${TMPDIR:-/tmp}/testbed-base.XXXXXX")"
trap 'rm -rf "$work"' EXIT
root="$work/root"
mkdir -p "$root/bin" "$root/tmp" "$root/etc"
cp "$busybox" "$root/bin/busybox"
for applet in $("$busybox" --list); do
  [ "$applet" = busybox ] || ln -s busybox "$root/bin/$applet"
done
chmod 1777 "$root/tmp"
tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -cf "$work/layer.tar" -C "$root" .
gzip -n -9 <"$work/layer.tar" >"$work/layer.tar.gz"
diff_id="sha256:$(sha256sum <"$work/layer.tar" | cut -d' ' -f1)"
layer="sha256:$(sha256sum <"$work/layer.tar.gz" | cut -d' ' -f1)"
layer_size="$(stat -c %s "$work/layer.tar.gz")"
# awk reads all of busybox's help: `head -n1` could close the pipe first, and under pipefail
# busybox's SIGPIPE (exit 141) failed the test bed's start now and then
version="$("$busybox" 2>&1 | awk 'NR == 1 { print $1, $2 }')"
printf '{"architecture":"amd64","os":"linux","created":"1970-01-01T00:00:00Z","config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"Cmd":["sh"]},"rootfs":{"type":"layers","diff_ids":["%s"]},"history":[{"created":"1970-01-01T00:00:00Z","created_by":"test/testbed/base-image.sh: %s"}]}' \
  "$diff_id" "$version" >"$work/config.json"
config="sha256:$(sha256sum <"$work/config.json" | cut -d' ' -f1)"
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"%s","size":%s}]}' \
  "$config" "$(stat -c %s "$work/config.json")" "$layer" "$layer_size" >"$work/manifest.json"

# Credentials only for the htpasswd registry, from the environment (up.sh runs this before .testbed/env exists).
auth=()
if [ "$host" = "${REGISTRY_AUTH:-}" ]; then auth=(-u "$TESTBED_REGISTRY_USER:$TESTBED_REGISTRY_PASSWORD"); fi
base="http://$host/v2/$repo"
push_blob() { # DIGEST FILE
  [ "$(http_code "${auth[@]}" -I "$base/blobs/$1")" = 200 ] && return 0
  local location
  location="$(curl -fsS "${auth[@]}" -X POST -D - -o /dev/null "$base/blobs/uploads/" | tr -d '\r' |
    sed -n 's/^[Ll]ocation: //p')"
  [ -n "$location" ] || die "registry $host refused a blob upload for $repo"
  case "$location" in /*) location="http://$host$location" ;; esac
  case "$location" in *\?*) location="$location&digest=$1" ;; *) location="$location?digest=$1" ;; esac
  curl -fsS "${auth[@]}" -X PUT -H 'Content-Type: application/octet-stream' --data-binary "@$2" "$location" >/dev/null ||
    die "pushing blob $1 to $host/$repo failed"
}
push_blob "$layer" "$work/layer.tar.gz"
push_blob "$config" "$work/config.json"
digest="$(curl -fsS "${auth[@]}" -X PUT -D - -o /dev/null -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' \
  --data-binary "@$work/manifest.json" "$base/manifests/$tag" | tr -d '\r' | sed -n 's/^[Dd]ocker-[Cc]ontent-[Dd]igest: //p')"
[[ "$digest" == sha256:* ]] || die "registry $host did not accept the manifest of $ref"
echo "$digest"
