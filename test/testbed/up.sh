#!/usr/bin/env bash
# Bring up the local test bed (idempotent): two OCI registries (anonymous and htpasswd),
# the GitHub REST API emulator over bare git repositories, and the control plane
# (real apiserver + simulated kubelet). Writes .testbed/env for tests and scripts.
#
#   TESTBED_SKIP_CLUSTER=1   bring up everything but the control plane
#   TESTBED_SKIP_ACT=1       do not build the workflow engine (act) for npm run test:workflows
#   TESTBED_REGISTRY_PORT, TESTBED_REGISTRY_AUTH_PORT, TESTBED_GITHUB_PORT, TESTBED_OIDC_PORT   preferred ports
#   TESTBED_PORT_CLAIMS      where test beds claim their ports (default $TMPDIR/gitops-push-deploy-testbed-ports)
#   TESTBED_CLUSTER_TIMEOUT  seconds to wait for the cluster's kubeconfig (default 300)
set -eEuo pipefail
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"
# A command failing under set -e otherwise ends the script without a word (seen once as exit 141).
trap 'printf "[testbed] ERROR: exit %s at up.sh line %s: %s\n" "$?" "$LINENO" "$BASH_COMMAND" >&2' ERR

T0=$(date +%s%N)
mkdir -p "$TB"
cd "$TESTBED_ROOT"

# One up.sh at a time (jest's global setup and a developer's terminal may race).
exec 9>"$TB/up.lock"
if ! flock -n 9; then
  log "another testbed:up is running; waiting for it"
  flock -w 3600 9 || die "timed out waiting for the other testbed:up"
fi

# ------------------------------------------------------------------ Debian packages
need_pkgs=()
for pair in docker-registry:/usr/bin/docker-registry buildah:/usr/bin/buildah apache2-utils:/usr/bin/htpasswd \
  git:/usr/bin/git curl:/usr/bin/curl uidmap:/usr/bin/newuidmap kubernetes-client:/usr/bin/kubectl \
  podman:/usr/bin/podman runc:/usr/sbin/runc; do
  [ -x "${pair#*:}" ] || need_pkgs+=("${pair%%:*}")
done
# The Docker CLI (client only: Debian's policy-rc.d keeps its daemon from starting); buildx talks to buildkitd.
command -v docker >/dev/null || need_pkgs+=(docker.io)
# A static busybox for TESTBED_BASE_IMAGE (the dynamic `busybox` package would not run in an empty image).
dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q 'ok installed' || need_pkgs+=(busybox-static)
if [ "${#need_pkgs[@]}" -gt 0 ]; then
  [ "$(id -u)" = 0 ] || die "missing packages ${need_pkgs[*]}: install them (apt-get install ${need_pkgs[*]}) or run as root"
  log "installing ${need_pkgs[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt_log="$TB/apt.log"
  if ! apt-get install -y -q --no-install-recommends "${need_pkgs[@]}" >"$apt_log" 2>&1; then
    apt-get update -q >>"$apt_log" 2>&1 || true
    apt-get install -y -q --no-install-recommends "${need_pkgs[@]}" >>"$apt_log" 2>&1 ||
      {
        tail -20 "$apt_log" >&2
        die "apt-get install ${need_pkgs[*]} failed (see $apt_log)"
      }
  fi
fi
NODE="$(testbed_node)"

# ------------------------------------------------------------------ secrets (stable per test bed)
if [ ! -s "$TB/secrets" ]; then
  rnd() { od -An -tx1 -N"$1" /dev/urandom | tr -d ' \n'; }
  umask 077
  cat >"$TB/secrets.tmp" <<EOF
TESTBED_GITHUB_TOKEN=ghs_$(rnd 18)
TESTBED_GITHUB_READONLY_TOKEN=ghs_$(rnd 18)
TESTBED_REGISTRY_USER=testbed
TESTBED_REGISTRY_PASSWORD=$(rnd 16)
TESTBED_REGISTRY_HTTP_SECRET=$(rnd 16)
EOF
  mv "$TB/secrets.tmp" "$TB/secrets"
  umask 022
fi
# shellcheck disable=SC1091
. "$TB/secrets"

# ------------------------------------------------------------------ ports
# Remembered across restarts; a preferred port taken by something that is not ours moves to a free one.
# Test beds of several worktrees start at once, and a part listens only later: each port chosen is
# claimed (a file naming this test bed) under one machine-wide lock, so no other test bed picks a
# port that is chosen but not yet bound. A claim lapses when its test bed's directory is gone.
PORT_CLAIMS="${TESTBED_PORT_CLAIMS:-${TMPDIR:-/tmp}/gitops-push-deploy-testbed-ports}"
mkdir -p "$PORT_CLAIMS"
exec 8>"$PORT_CLAIMS/.lock"
flock -w 120 8 || die "another test bed held $PORT_CLAIMS/.lock for 2 minutes"
[ -f "$TB/ports" ] && . "$TB/ports"
claimed_by_other() { # PORT
  local owner
  owner="$(cat "$PORT_CLAIMS/$1" 2>/dev/null)" || return 1
  [ "$owner" != "$TB" ] && [ -d "$owner" ]
}
pick_port() { # NAME PREFERRED MARKER
  local name="$1" port="$2" marker="$3"
  if ! is_alive "$name" "$marker"; then
    while port_busy "$port" || claimed_by_other "$port"; do
      log "port $port (wanted for $name) is in use or claimed by another test bed; trying $((port + 1))"
      port=$((port + 1))
    done
  fi
  echo "$TB" >"$PORT_CLAIMS/$port"
  echo "$port"
}
REGISTRY_PORT=$(pick_port registry-anon "${TESTBED_REGISTRY_PORT:-${REGISTRY_PORT:-5001}}" "$TB/registry-anon.yml")
REGISTRY_AUTH_PORT=$(pick_port registry-auth "${TESTBED_REGISTRY_AUTH_PORT:-${REGISTRY_AUTH_PORT:-5002}}" "$TB/registry-auth.yml")
[ "$REGISTRY_AUTH_PORT" != "$REGISTRY_PORT" ] || REGISTRY_AUTH_PORT=$(pick_port registry-auth $((REGISTRY_PORT + 1)) "$TB/registry-auth.yml")
GITHUB_PORT=$(pick_port github-emulator "${TESTBED_GITHUB_PORT:-${GITHUB_PORT:-8787}}" "github-emulator/main.ts")
oidc_pref="${TESTBED_OIDC_PORT:-${OIDC_PORT:-$((GITHUB_PORT + 1))}}"
# Above the API port, so the search for a free one cannot land on it before the emulator listens.
[ "$oidc_pref" -gt "$GITHUB_PORT" ] || oidc_pref=$((GITHUB_PORT + 1))
# Ours only when our emulator serves the issuer on exactly that port.
OIDC_PORT=$(pick_port github-emulator "$oidc_pref" "--oidc-port $oidc_pref ")
printf 'REGISTRY_PORT=%s\nREGISTRY_AUTH_PORT=%s\nGITHUB_PORT=%s\nOIDC_PORT=%s\n' "$REGISTRY_PORT" "$REGISTRY_AUTH_PORT" "$GITHUB_PORT" \
  "$OIDC_PORT" >"$TB/ports"
# Claims of ports this test bed no longer uses are given back.
for claim in "$PORT_CLAIMS"/*; do
  case " $REGISTRY_PORT $REGISTRY_AUTH_PORT $GITHUB_PORT $OIDC_PORT " in *" ${claim##*/} "*) continue ;; esac
  [ "$(cat "$claim" 2>/dev/null)" != "$TB" ] || rm -f "$claim"
done
exec 8>&-

# start NAME CMD...: start a part in its own session, logging to .testbed/NAME.log
start() {
  local name="$1"
  shift
  log "starting $name"
  echo "=== $(date -Is) $*" >>"$TB/$name.log"
  setsid "$@" >>"$TB/$name.log" 2>&1 </dev/null 9>&- &
  echo $! >"$TB/$name.pid"
}

wait_for() { # NAME TIMEOUT MARKER CHECK...
  local name="$1" timeout="$2" marker="$3" i
  shift 3
  for ((i = 0; i < timeout * 5; i++)); do
    if "$@"; then return 0; fi
    if ! is_alive "$name" "$marker"; then
      tail -30 "$TB/$name.log" >&2 || true
      die "$name exited during startup (log: $TB/$name.log)"
    fi
    sleep 0.2
  done
  tail -30 "$TB/$name.log" >&2 || true
  die "$name not healthy after ${timeout}s (log: $TB/$name.log)"
}

# ------------------------------------------------------------------ registries
registry_healthy() { # PORT EXPECTED_CODE
  [ "$(http_code "http://127.0.0.1:$1/v2/")" = "$2" ]
}

write_registry_config() { # NAME PORT [auth]
  local name="$1" port="$2" auth="${3:-}"
  mkdir -p "$TB/$name"
  {
    echo "version: 0.1"
    echo "log:"
    echo "  level: info"
    echo "  formatter: text"
    echo "storage:"
    echo "  filesystem:"
    echo "    rootdirectory: $TB/$name"
    echo "  delete:"
    echo "    enabled: true"
    echo "  maintenance:"
    echo "    uploadpurging:"
    echo "      enabled: false"
    echo "http:"
    echo "  addr: 127.0.0.1:$port"
    echo "  secret: $TESTBED_REGISTRY_HTTP_SECRET"
    echo "  headers:"
    echo "    X-Content-Type-Options: [nosniff]"
    if [ -n "$auth" ]; then
      echo "auth:"
      echo "  htpasswd:"
      echo "    realm: testbed-registry"
      echo "    path: $TB/registry-auth.htpasswd"
    fi
  } >"$TB/$name.yml.tmp"
  if ! cmp -s "$TB/$name.yml.tmp" "$TB/$name.yml"; then
    mv "$TB/$name.yml.tmp" "$TB/$name.yml"
    return 0 # changed
  fi
  rm -f "$TB/$name.yml.tmp"
  return 1
}

if ! [ -s "$TB/registry-auth.htpasswd" ] ||
  ! htpasswd -vb "$TB/registry-auth.htpasswd" "$TESTBED_REGISTRY_USER" "$TESTBED_REGISTRY_PASSWORD" >/dev/null 2>&1; then
  htpasswd -Bbn "$TESTBED_REGISTRY_USER" "$TESTBED_REGISTRY_PASSWORD" >"$TB/registry-auth.htpasswd"
  stop_pid registry-auth
fi

for spec in "registry-anon:$REGISTRY_PORT:200:" "registry-auth:$REGISTRY_AUTH_PORT:401:auth"; do
  IFS=: read -r name port code auth <<<"$spec"
  if write_registry_config "$name" "$port" "$auth"; then stop_pid "$name"; fi
  if is_alive "$name" "$TB/$name.yml" && registry_healthy "$port" "$code"; then
    continue
  fi
  stop_pid "$name"
  start "$name" /usr/bin/docker-registry serve "$TB/$name.yml"
done

# ------------------------------------------------------------------ GitHub API emulator
GIT_ROOT="$TB/git"
mkdir -p "$GIT_ROOT"
cat >"$TB/github-emulator.json.tmp" <<EOF
{
  "tokens": [
    { "token": "$TESTBED_GITHUB_TOKEN", "login": "github-actions[bot]", "name": "github-actions[bot]",
      "email": "41898282+github-actions[bot]@users.noreply.github.com", "repos": { "*": "admin" } },
    { "token": "$TESTBED_GITHUB_READONLY_TOKEN", "login": "testbed-reader", "repos": { "*": "read" } }
  ],
  "repos": [],
  "rateLimit": 100000
}
EOF
if ! cmp -s "$TB/github-emulator.json.tmp" "$TB/github-emulator.json"; then
  mv "$TB/github-emulator.json.tmp" "$TB/github-emulator.json" # the emulator re-reads it on change
else
  rm -f "$TB/github-emulator.json.tmp"
fi
# GitHub's OIDC issuer (served by the emulator over HTTPS): the test bed's CA, the issuer's TLS
# certificate for 127.0.0.1 and the RS256 signing key, made once and kept.
PKI="$TB/pki"
if [ ! -s "$PKI/oidc-signing.key" ]; then
  mkdir -p "$PKI"
  (
    cd "$PKI"
    umask 077
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=testbed CA" -keyout ca.key -out ca.crt 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout oidc-tls.key -out oidc-tls.csr 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >oidc-tls.ext
    openssl x509 -req -in oidc-tls.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 -extfile oidc-tls.ext \
      -out oidc-tls.crt 2>/dev/null
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out oidc-signing.key.tmp 2>/dev/null
    mv oidc-signing.key.tmp oidc-signing.key
    rm -f oidc-tls.csr oidc-tls.ext
  ) || die "creating the test bed's CA and OIDC keys with openssl failed"
fi
OIDC_ISSUER="https://127.0.0.1:$OIDC_PORT"
# /_testbed/openapi: an emulator started before the OpenAPI check existed is restarted.
emulator_healthy() {
  [ "$(http_code "http://127.0.0.1:$GITHUB_PORT/_testbed/health")" = 200 ] &&
    [ "$(http_code "http://127.0.0.1:$GITHUB_PORT/_testbed/openapi?since=999999999")" = 200 ] &&
    [ "$(http_code --cacert "$PKI/ca.crt" "$OIDC_ISSUER/.well-known/openid-configuration")" = 200 ]
}
if ! { is_alive github-emulator "github-emulator/main.ts" && emulator_healthy; }; then
  stop_pid github-emulator
  start github-emulator "$NODE" "$TB_SCRIPTS/github-emulator/main.ts" --port "$GITHUB_PORT" \
    --git-root "$GIT_ROOT" --config "$TB/github-emulator.json" --oidc-port "$OIDC_PORT" \
    --oidc-tls-cert "$PKI/oidc-tls.crt" --oidc-tls-key "$PKI/oidc-tls.key" --oidc-signing-key "$PKI/oidc-signing.key"
fi
# The cluster trusts that issuer like the README's AuthenticationConfiguration trusts GitHub's.
{
  echo "apiVersion: apiserver.config.k8s.io/v1"
  echo "kind: AuthenticationConfiguration"
  echo "jwt:"
  echo "  - issuer:"
  echo "      url: $OIDC_ISSUER"
  echo "      audiences: [kubernetes]"
  echo "      certificateAuthority: |"
  sed 's/^/        /' "$PKI/ca.crt"
  echo "    claimMappings:"
  echo "      username:"
  echo "        claim: sub"
  echo "        prefix: 'github:'"
  echo "      groups:"
  echo "        expression: >-"
  echo "          ['github:repo:' + claims.repository] +"
  echo "          (has(claims.environment) ? ['github:env:' + claims.repository + ':' + claims.environment] : [])"
} >"$TB/authentication-config.yaml.tmp"
if ! cmp -s "$TB/authentication-config.yaml.tmp" "$TB/authentication-config.yaml"; then
  mv "$TB/authentication-config.yaml.tmp" "$TB/authentication-config.yaml"
  stop_pid controlplane # its apiserver must trust the issuer on the new port
else
  rm -f "$TB/authentication-config.yaml.tmp"
fi

# ------------------------------------------------------------------ control plane
KUBECONFIG_FILE="$TB/kubeconfig"
cluster_healthy() {
  [ -s "$KUBECONFIG_FILE" ] &&
    [ "$(kubectl --kubeconfig "$KUBECONFIG_FILE" --request-timeout=5s get --raw=/readyz 2>/dev/null)" = ok ]
}
if [ "${TESTBED_SKIP_CLUSTER:-0}" != 1 ]; then
  command -v kubectl >/dev/null || die "kubectl not found (the test bed checks the cluster with it)"
  CP_MARKER="--state-dir $TB/controlplane"
  if is_alive controlplane "$CP_MARKER" && cluster_healthy; then
    :
  else
    stop_pid controlplane
    BUILD="$TB_SCRIPTS/controlplane/build.sh"
    [ -f "$BUILD" ] || die "the control plane's build script $BUILD does not exist yet (it is being written); set TESTBED_SKIP_CLUSTER=1 to bring up the rest of the test bed"
    log "building the control plane (bash test/testbed/controlplane/build.sh; 20+ min when the Go cache is cold)"
    build_out="$TB/controlplane-build.out"
    if ! bash "$BUILD" >"$build_out"; then
      tail -20 "$build_out" >&2 || true
      die "control plane build failed"
    fi
    CP_BIN="$(tail -n1 "$build_out")"
    [ -x "$CP_BIN" ] || die "control plane build did not print an executable as its last line (got: '$CP_BIN')"
    rm -f "$KUBECONFIG_FILE"
    start controlplane "$CP_BIN" --state-dir "$TB/controlplane" --kubeconfig "$KUBECONFIG_FILE" \
      --authentication-config "$TB/authentication-config.yaml" --registry-auth "127.0.0.1:$REGISTRY_AUTH_PORT=$TESTBED_REGISTRY_USER:$TESTBED_REGISTRY_PASSWORD"
  fi
fi

# ------------------------------------------------------------------ Go tools (.testbed/bin)
# Built from the Go module proxy into the content-addressed cache while the control plane starts.
# helm: chart rendering (Helm env paths) and `helm push` of the test chart.
HELM_VERSION=v3.21.4
gotool() { # NAME MODULE@VERSION PACKAGE [LDFLAGS]
  local out="$TB/gotool-$1.out"
  if ! bash "$TB_SCRIPTS/gotool.sh" "$@" >"$out"; then
    tail -20 "$out" >&2 || true
    die "building $1 failed"
  fi
}
gotool helm "helm.sh/helm/v3@$HELM_VERSION" ./cmd/helm "-X helm.sh/helm/v3/internal/version.version=$HELM_VERSION \
-X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=36"
# nektos/act runs the README's workflows in npm run test:workflows (TESTBED_SKIP_ACT=1 leaves it out).
[ "${TESTBED_SKIP_ACT:-0}" = 1 ] || gotool act github.com/nektos/act@v0.2.89 . "-X main.version=0.2.89"
# buildkitd + docker buildx: every builder runs for real on the test bed, without a Docker daemon.
BUILDKIT_VERSION=v0.34.2
BUILDX_VERSION=v0.38.2
gotool buildkitd "github.com/moby/buildkit@$BUILDKIT_VERSION" ./cmd/buildkitd \
  "-X github.com/moby/buildkit/version.Version=$BUILDKIT_VERSION"
gotool docker-buildx "github.com/docker/buildx@$BUILDX_VERSION" ./cmd/buildx \
  "-X github.com/docker/buildx/version.Version=$BUILDX_VERSION -X github.com/docker/buildx/version.Package=github.com/docker/buildx"
BUILDKIT_SOCK="$TB/buildkitd.sock"
BUILDKIT_MARKER="--root $TB/buildkit"
if ! is_alive buildkitd "$BUILDKIT_MARKER"; then
  stop_pid buildkitd
  rm -f "$BUILDKIT_SOCK"
  # Host networking: RUN steps reach the loopback registries; the containerd worker needs a containerd.
  start buildkitd "$TB/bin/buildkitd" --root "$TB/buildkit" --addr "unix://$BUILDKIT_SOCK" \
    --oci-worker-net host --containerd-worker=false
fi
# DOCKER_CONFIG for tests: the buildx plugin and a `remote` builder on that socket, no Docker daemon.
DOCKER_CONFIG_DIR="$TB/docker"
mkdir -p "$DOCKER_CONFIG_DIR/cli-plugins"
ln -sfn "$TB/bin/docker-buildx" "$DOCKER_CONFIG_DIR/cli-plugins/docker-buildx"
[ -s "$DOCKER_CONFIG_DIR/config.json" ] || echo '{}' >"$DOCKER_CONFIG_DIR/config.json"
if ! grep -qF "unix://$BUILDKIT_SOCK" "$DOCKER_CONFIG_DIR/buildx/instances/testbed" 2>/dev/null; then
  DOCKER_CONFIG="$DOCKER_CONFIG_DIR" docker buildx rm testbed >/dev/null 2>&1 || true
  DOCKER_CONFIG="$DOCKER_CONFIG_DIR" docker buildx create --name testbed --driver remote "unix://$BUILDKIT_SOCK" >/dev/null
fi
# podman: its own vfs storage (apart from the machine's and other test beds'); chroot isolation in a container.
mkdir -p "$TB/containers"
printf '[storage]\ndriver = "vfs"\ngraphroot = "%s"\nrunroot = "%s"\n' "$TB/containers/storage" "$TB/containers/run" \
  >"$TB/containers/storage.conf"

# ------------------------------------------------------------------ wait for health
wait_for registry-anon 30 "$TB/registry-anon.yml" registry_healthy "$REGISTRY_PORT" 200
wait_for registry-auth 30 "$TB/registry-auth.yml" registry_healthy "$REGISTRY_AUTH_PORT" 401
wait_for github-emulator 30 "github-emulator/main.ts" emulator_healthy
buildx_healthy() { DOCKER_CONFIG="$DOCKER_CONFIG_DIR" docker buildx inspect --bootstrap testbed >/dev/null 2>&1; }
wait_for buildkitd 60 "$BUILDKIT_MARKER" buildx_healthy
# Test Dockerfiles start FROM this (static busybox, so RUN works without Docker Hub).
BASE_IMAGE="127.0.0.1:$REGISTRY_PORT/testbed/busybox:$(dpkg-query -W -f='${Version}' busybox-static | sed 's/^[0-9]*://; s/[^A-Za-z0-9_.-]/_/g')"
REGISTRY="127.0.0.1:$REGISTRY_PORT" bash "$TB_SCRIPTS/base-image.sh" "$BASE_IMAGE" >/dev/null
OIDC_NAMESPACE=oidc-apps
if [ "${TESTBED_SKIP_CLUSTER:-0}" != 1 ]; then
  wait_for controlplane "${TESTBED_CLUSTER_TIMEOUT:-300}" "$CP_MARKER" cluster_healthy
  # Keyless access: acme/app's production environment may deploy to one namespace, nothing else.
  kubectl --kubeconfig "$KUBECONFIG_FILE" apply -f "$TB_SCRIPTS/oidc-rbac.yaml" >"$TB/oidc-rbac.log" 2>&1 ||
    die "applying $TB_SCRIPTS/oidc-rbac.yaml failed (see $TB/oidc-rbac.log)"
  kubectl --kubeconfig "$KUBECONFIG_FILE" config view --raw --minify -o jsonpath='{.clusters[0].cluster.certificate-authority-data}' |
    base64 -d >"$TB/kube-ca.crt"
  KUBE_SERVER="$(kubectl --kubeconfig "$KUBECONFIG_FILE" config view --minify -o jsonpath='{.clusters[0].cluster.server}')"
fi
# A runner of acme/app, environment production (the emulator keeps runners in memory: registered each time).
OIDC_RUNNER="$(curl -fsS -X POST -H 'content-type: application/json' \
  -d '{"repository":"acme/app","environment":"production","ref":"refs/heads/main"}' \
  "http://127.0.0.1:$GITHUB_PORT/_testbed/oidc/runners")" || die "registering the OIDC runner with the emulator failed"
OIDC_REQUEST_URL="$(printf '%s' "$OIDC_RUNNER" | sed -n 's/.*"url":"\([^"]*\)".*/\1/p')"
OIDC_REQUEST_TOKEN="$(printf '%s' "$OIDC_RUNNER" | sed -n 's/.*"token":"\([^"]*\)".*/\1/p')"

# ------------------------------------------------------------------ env for tests and scripts
{
  echo "# written by test/testbed/up.sh"
  if [ "${TESTBED_SKIP_CLUSTER:-0}" != 1 ]; then
    echo "export KUBECONFIG='$KUBECONFIG_FILE'"
  else
    echo "export TESTBED_SKIP_CLUSTER=1"
  fi
  echo "export GITHUB_API_URL='http://127.0.0.1:$GITHUB_PORT'"
  echo "export TESTBED_GITHUB_TOKEN='$TESTBED_GITHUB_TOKEN'"
  echo "export TESTBED_GITHUB_READONLY_TOKEN='$TESTBED_GITHUB_READONLY_TOKEN'"
  echo "export REGISTRY='127.0.0.1:$REGISTRY_PORT'"
  echo "export REGISTRY_AUTH='127.0.0.1:$REGISTRY_AUTH_PORT'"
  echo "export TESTBED_REGISTRY_USER='$TESTBED_REGISTRY_USER'"
  echo "export TESTBED_REGISTRY_PASSWORD='$TESTBED_REGISTRY_PASSWORD'"
  echo "export TESTBED_GIT_ROOT='$GIT_ROOT'"
  if [ "${TESTBED_SKIP_CLUSTER:-0}" != 1 ]; then
    echo "export TESTBED_KUBE_SERVER='$KUBE_SERVER'"
    echo "export TESTBED_KUBE_CA='$TB/kube-ca.crt'"
  fi
  echo "export TESTBED_OIDC_ISSUER='$OIDC_ISSUER'"
  echo "export TESTBED_OIDC_REQUEST_URL='$OIDC_REQUEST_URL'"
  echo "export TESTBED_OIDC_REQUEST_TOKEN='$OIDC_REQUEST_TOKEN'"
  echo "export TESTBED_OIDC_NAMESPACE='$OIDC_NAMESPACE'"
  # Go tools built by gotool.sh (buildkitd, buildx, act, helm, …) come before the system's.
  echo "export PATH=\"$TB/bin:\$PATH\""
  echo "export DOCKER_CONFIG='$DOCKER_CONFIG_DIR'"
  echo "export BUILDX_BUILDER='testbed'"
  echo "export TESTBED_BUILDKIT_HOST='unix://$BUILDKIT_SOCK'"
  echo "export CONTAINERS_STORAGE_CONF='$TB/containers/storage.conf'"
  echo "export BUILDAH_ISOLATION='chroot'"
  echo "export TESTBED_BASE_IMAGE='$BASE_IMAGE'"
} >"$TB/env.tmp"
mv "$TB/env.tmp" "$TB/env"

T1=$(date +%s%N)
log "env written to $TB/env"
echo "testbed up in $(awk "BEGIN { printf \"%.1f\", ($T1 - $T0) / 1e9 }")s"
