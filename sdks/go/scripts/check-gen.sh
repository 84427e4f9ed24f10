#!/usr/bin/env bash
# Fails when sdks/go/gen is not what `npx buf generate --template buf.gen.go.yaml` produces from
# proto/ (a .proto changed without regenerating, or generated code was edited by hand).
set -euo pipefail
cd "$(dirname "$0")/../../.."
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
npx buf generate --template buf.gen.go.yaml --output "$out"
if ! diff -r "$out/sdks/go/gen" sdks/go/gen; then
  echo 'sdks/go/gen is stale: run `npx buf generate --template buf.gen.go.yaml` and commit the result.' >&2
  exit 1
fi
echo 'sdks/go/gen is up to date with proto/'
