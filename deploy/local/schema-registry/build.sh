#!/usr/bin/env bash
# Builds the local schema registry (main.go: Conduit's Confluent-compatible registry, in memory)
# once per source hash into ~/.cache/tributary/schema-registry/<hash>/ and prints the binary's
# path. Needs Go; modules come from the Go module proxy, pinned by go.sum.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
hash="$(cat "$here/main.go" "$here/go.mod" "$here/go.sum" | sha256sum | cut -c1-16)"
out="${TRIBUTARY_CACHE_DIR:-$HOME/.cache/tributary}/schema-registry/$hash"
bin="$out/schema-registry"
if [[ ! -x $bin ]]; then
  command -v go >/dev/null || { echo "schema-registry: Go is needed to build it (https://go.dev/dl)" >&2; exit 1; }
  mkdir -p "$out"
  (cd "$here" && GOFLAGS=-mod=readonly go build -trimpath -o "$bin.partial" .) >&2
  mv "$bin.partial" "$bin"
fi
echo "$bin"
