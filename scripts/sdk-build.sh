#!/usr/bin/env bash
# Builds what the Python and Go SDKs, their examples and the plugin conformance suite need, with
# caches so a second run takes seconds:
#   - a venv with requirements-dev.txt and tributary_sdk installed from sdks/python (reinstalled
#     only when sdks/python or the connector proto changed);
#   - protoc-gen-go and protoc-gen-go-grpc (for the Go freshness check);
#   - the Go example sink binary (go's own build cache makes an unchanged rebuild ~1 s).
# Prints `NAME=value` lines (TRIBUTARY_SDK_PYTHON, TRIBUTARY_SDK_GO_SQLITE_SINK, TRIBUTARY_SDK_BIN)
# on stdout; everything else goes to stderr.
# Cache folder: $TRIBUTARY_SDK_CACHE, default ~/.cache/tributary/sdk.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cache=${TRIBUTARY_SDK_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tributary/sdk}
venv=$cache/venv
bin=$cache/bin
mkdir -p "$cache" "$bin"
exec 3>&1 1>&2

reqs=$root/sdks/python/requirements-dev.txt
reqs_hash=$(sha256sum "$reqs" | cut -c1-16)
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$venv/.reqs" 2>/dev/null)" != "$reqs_hash" ]; then
  echo "sdk-build: creating the Python venv in $venv"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check -r "$reqs"
  echo "$reqs_hash" > "$venv/.reqs"
fi

sdk_hash=$(cd "$root" && { git ls-files -co --exclude-standard sdks/python proto/tributary/connector | grep -v '/_gen/' | sort | xargs sha256sum; } | sha256sum | cut -c1-16)
# The in-tree build also leaves the stubs in sdks/python/src (for mypy): redo it in a fresh clone.
if [ "$(cat "$venv/.sdk" 2>/dev/null)" != "$sdk_hash" ] || [ ! -d "$root/sdks/python/src/tributary_sdk/_gen" ]; then
  echo "sdk-build: installing tributary_sdk from sdks/python"
  # Build requirements (setuptools, grpcio-tools) are in the venv already: no isolated build env.
  "$venv/bin/pip" install -q --disable-pip-version-check --no-build-isolation --force-reinstall --no-deps "$root/sdks/python"
  echo "$sdk_hash" > "$venv/.sdk"
fi

if [ ! -x "$bin/protoc-gen-go" ] || [ ! -x "$bin/protoc-gen-go-grpc" ]; then
  echo "sdk-build: installing protoc-gen-go and protoc-gen-go-grpc into $bin"
  GOBIN=$bin go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
  GOBIN=$bin go install google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.6.2
fi

(cd "$root/examples/go-sqlite-sink" && go build -o "$bin/sqlite-sink" .)

echo "TRIBUTARY_SDK_PYTHON=$venv/bin/python" >&3
echo "TRIBUTARY_SDK_GO_SQLITE_SINK=$bin/sqlite-sink" >&3
echo "TRIBUTARY_SDK_BIN=$bin" >&3
