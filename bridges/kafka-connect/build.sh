#!/usr/bin/env bash
# Builds the Kafka Connect bridge with Maven unless a build of exactly these sources is cached,
# and prints the cache directory (holding tributary-kafka-connect-bridge.jar and lib/*.jar).
#
#   bash bridges/kafka-connect/build.sh            # build if needed, print the directory
#   bash bridges/kafka-connect/build.sh --check    # print it if cached, else exit 1
#
# The cache key is a hash of pom.xml, src/ and the protos the bridge is generated from, so a
# change to any of them builds anew; the cache lives in $TRIBUTARY_CACHE (default
# ~/.cache/tributary), like the Kafka jars of deploy/local. Maven's output goes to stderr:
# stdout carries only the directory (the launcher's stdout is the plugin handshake).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cache="${TRIBUTARY_CACHE:-$HOME/.cache/tributary}"

hash="$(cd "$root" && find bridges/kafka-connect/pom.xml bridges/kafka-connect/src proto/tributary/connector proto/grpc/health -type f -print0 |
  LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16)"
out="$cache/kafka-connect-bridge-$hash"

if [[ -f $out/.complete ]]; then
  echo "$out"
  exit 0
fi
if [[ ${1:-} == --check ]]; then
  echo "the Kafka Connect bridge is not built for these sources; run: bash bridges/kafka-connect/build.sh" >&2
  exit 1
fi

mkdir -p "$cache"
exec 9>"$cache/kafka-connect-bridge.lock"
flock -w 900 9 || { echo "could not lock $cache/kafka-connect-bridge.lock" >&2; exit 1; }
if [[ ! -f $out/.complete ]]; then
  command -v mvn >/dev/null || { echo "building the Kafka Connect bridge needs Maven (apt-get install maven)" >&2; exit 1; }
  started=$(date +%s)
  echo "[bridge] building the Kafka Connect bridge ($hash) with Maven..." >&2
  # Build in a scratch copy so parallel worktrees and a dirty target/ cannot interfere.
  work="$(mktemp -d "$cache/kafka-connect-bridge-build.XXXXXX")"
  trap 'rm -rf "$work"' EXIT
  mkdir -p "$work/bridges/kafka-connect" "$work/proto"
  cp -r "$here/pom.xml" "$here/src" "$work/bridges/kafka-connect/"
  cp -r "$root/proto/tributary" "$root/proto/grpc" "$work/proto/"
  mvn -B -q -Dstyle.color=never -f "$work/bridges/kafka-connect/pom.xml" package >&2
  rm -rf "$out.tmp"
  mkdir -p "$out.tmp"
  cp "$work/bridges/kafka-connect/target/tributary-kafka-connect-bridge.jar" "$out.tmp/"
  cp -r "$work/bridges/kafka-connect/target/lib" "$out.tmp/lib"
  touch "$out.tmp/.complete"
  rm -rf "$out"
  mv "$out.tmp" "$out"
  echo "[bridge] built in $(( $(date +%s) - started )) s: $out" >&2
fi
echo "$out"
