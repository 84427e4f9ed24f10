#!/usr/bin/env bash
# Resolves Apache Kafka Connect's jars (pinned in pom.xml) into
# $TRIBUTARY_CACHE/kafka-connect-<version>/lib, once; later runs only print that directory.
# Idempotent and safe to run concurrently (flock). Prints the lib directory on stdout.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
POM="$HERE/pom.xml"
VERSION="$(sed -n 's:.*<connect\.version>\(.*\)</connect\.version>.*:\1:p' "$POM")"
CACHE="${TRIBUTARY_CACHE:-$HOME/.cache/tributary}"
HOME_DIR="$CACHE/kafka-connect-$VERSION"
LIB="$HOME_DIR/lib"
MARKER="$HOME_DIR/.complete"
SUM="$(sha256sum "$POM" | cut -d' ' -f1)"
mkdir -p "$HOME_DIR"
exec 9>"$HOME_DIR.lock"
command -v flock >/dev/null && flock -w 600 9
if [[ ! -f $MARKER || "$(cat "$MARKER")" != "$SUM" ]]; then
  command -v mvn >/dev/null || { echo "jars.sh: Maven (mvn) is needed to resolve Kafka Connect $VERSION" >&2; exit 1; }
  echo "jars.sh: resolving Apache Kafka Connect $VERSION from Maven Central into $LIB" >&2
  rm -rf "$LIB"
  mvn -q -B -f "$POM" dependency:copy-dependencies -DoutputDirectory="$LIB" -DincludeScope=runtime >&2
  echo "$SUM" >"$MARKER"
fi
echo "$LIB"
