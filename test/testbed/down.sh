#!/usr/bin/env bash
# Stop what test/testbed/up.sh started (by the pids it recorded). Keeps registries' storage,
# git repositories, secrets and build caches, so the next up.sh is warm.
set -euo pipefail
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

[ -d "$TB" ] || exit 0
for name in controlplane buildkitd github-emulator registry-auth registry-anon; do
  stop_pid "$name"
done
rm -f "$TB/env"
log "test bed stopped"
