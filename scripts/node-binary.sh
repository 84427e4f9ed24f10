#!/usr/bin/env bash
# Prints the path of a Node.js binary of the given major version (22, 24…), installed on first
# use from the npm registry's node-linux-<arch> package into .local/node/<major>/ (these machines
# ship Node 20 and reach no download site but the package registries).
# Usage: scripts/node-binary.sh <major>
set -euo pipefail
cd "$(dirname "$0")/.."
major="${1:?usage: scripts/node-binary.sh <major>}"
case "$(uname -m)" in x86_64) arch=x64 ;; aarch64) arch=arm64 ;; *) echo "unsupported architecture $(uname -m)" >&2; exit 1 ;; esac
dir=".local/node/$major"
bin="$dir/node_modules/node-linux-$arch/bin/node"
if [ ! -x "$bin" ]; then
  echo "[node] installing node-linux-$arch@$major from the npm registry into $dir" >&2
  mkdir -p "$dir"
  npm install --prefix "$dir" --no-save --no-audit --no-fund --loglevel=error "node-linux-$arch@$major" >/dev/null
fi
echo "$PWD/$bin"
