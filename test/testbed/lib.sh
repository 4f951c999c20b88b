# Shared helpers for the test bed scripts (sourced, not run).
# shellcheck shell=bash

TESTBED_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
TB="${TESTBED_DIR:-$TESTBED_ROOT/.testbed}"
TB_SCRIPTS="$TESTBED_ROOT/test/testbed"

log() { printf '[testbed] %s\n' "$*" >&2; }
die() {
  printf '[testbed] ERROR: %s\n' "$*" >&2
  exit 1
}

# Node 24 from the project's devDependency (strips TypeScript types natively).
testbed_node() {
  if [ -x "$TESTBED_ROOT/node_modules/.bin/node" ]; then
    echo "$TESTBED_ROOT/node_modules/.bin/node"
  elif command -v node >/dev/null && node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 24 ? 0 : 1)'; then
    command -v node
  else
    die "Node 24 not found: run npm ci in $TESTBED_ROOT"
  fi
}

# is_alive NAME MARKER: pid file exists, the process lives and its command line contains MARKER
is_alive() {
  local pidfile="$TB/$1.pid" pid
  [ -f "$pidfile" ] || return 1
  pid="$(cat "$pidfile" 2>/dev/null)"
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  # Not a pipe: grep -q may exit before tr has written, and under pipefail tr's SIGPIPE (141)
  # would make a live process look dead.
  local cmdline
  cmdline="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" || return 1
  [[ "$cmdline" == *"$2"* ]]
}

# port_busy PORT: something accepts connections on 127.0.0.1:PORT
port_busy() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

http_code() {
  curl -s -o /dev/null -m 5 -w '%{http_code}' "$@" 2>/dev/null || true
}

# stop_pid NAME: stop what a pid file names (its whole process group: up.sh starts each part with setsid)
stop_pid() {
  local name="$1" pidfile="$TB/$1.pid" pid i
  [ -f "$pidfile" ] || return 0
  pid="$(cat "$pidfile" 2>/dev/null)"
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    log "stopping $name (pid $pid)"
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.2
    done
    if kill -0 "$pid" 2>/dev/null; then
      log "$name did not stop in 10s: SIGKILL"
      kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  rm -f "$pidfile"
}

json_str() {
  local s="$1"
  s="${s//\\/\\\\}"
  s="${s//\"/\\\"}"
  s="${s//$'\n'/\\n}"
  s="${s//$'\t'/\\t}"
  printf '"%s"' "$s"
}

load_env() {
  [ -f "$TB/env" ] || die "$TB/env not found: run npm run testbed:up first"
  # shellcheck disable=SC1091
  . "$TB/env"
}
