#!/usr/bin/env bash
# Create or reset a repository in the GitHub API emulator from a folder's files:
# one initial commit on main, authored by "testbed".
#   test/testbed/repo.sh owner/name <folder>
set -euo pipefail
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

[ $# -eq 2 ] || die "usage: repo.sh owner/name <folder>"
full="$1"
case "$full" in */*) ;; *) die "repository must be owner/name, got '$full'" ;; esac
owner="${full%%/*}"
name="${full#*/}"
# resolve the folder relative to the caller's directory (npm run sets INIT_CWD to it)
folder="$2"
case "$folder" in /*) ;; *) folder="${INIT_CWD:-$PWD}/$folder" ;; esac
[ -d "$folder" ] || die "no such folder: $folder"
folder="$(cd "$folder" && pwd)"
load_env

body="{\"owner\":$(json_str "$owner"),\"name\":$(json_str "$name"),\"dir\":$(json_str "$folder")}"
out="$(curl -sS -m 60 -w '\n%{http_code}' -X POST -H 'content-type: application/json' \
  --data-binary "$body" "$GITHUB_API_URL/_testbed/repos")"
code="${out##*$'\n'}"
resp="${out%$'\n'*}"
[ "$code" = 201 ] || die "creating $full failed ($code): $resp"
echo "$resp"
