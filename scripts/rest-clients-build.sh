#!/usr/bin/env bash
# Builds the cached venv with the foreign Kafka Connect REST clients the REST integration test
# drives (test/fixtures/rest/foreign-clients/requirements.txt, pinned), recreated only when that
# file changes, so a second run takes milliseconds. Prints TRIBUTARY_REST_CLIENT_PYTHON=<python> on
# stdout; everything else goes to stderr.
# Cache folder: $TRIBUTARY_REST_CLIENT_CACHE, default ~/.cache/tributary/rest-clients.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cache=${TRIBUTARY_REST_CLIENT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tributary/rest-clients}
venv=$cache/venv
exec 3>&1 1>&2

reqs=$root/test/fixtures/rest/foreign-clients/requirements.txt
reqs_hash=$(sha256sum "$reqs" | cut -c1-16)
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$venv/.reqs" 2>/dev/null)" != "$reqs_hash" ]; then
  echo "rest-clients-build: creating the venv in $venv"
  rm -rf "$venv"
  mkdir -p "$cache"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check -r "$reqs"
  echo "$reqs_hash" > "$venv/.reqs"
fi
echo "TRIBUTARY_REST_CLIENT_PYTHON=$venv/bin/python" >&3
