#!/usr/bin/env bash
# Lays out a Kafka Connect plugin directory (Kafka Connect's plugin.path layout: one directory
# per connector holding its jars) from Maven Central artifacts and their runtime dependencies.
#
#   bash bridges/kafka-connect/install-plugin.sh <dir> <groupId:artifactId:version>...
#
# Idempotent: a directory already installed from the same coordinates is left as it is. The
# Kafka Connect API and Kafka clients are left out (the bridge provides them, as a Kafka Connect
# worker does).
set -euo pipefail
[[ $# -ge 2 ]] || { echo "usage: $0 <dir> <groupId:artifactId:version>..." >&2; exit 2; }
dir=$1
shift
want="$*"
if [[ -f $dir/.installed ]] && [[ "$(cat "$dir/.installed")" == "$want" ]]; then
  echo "$dir"
  exit 0
fi
command -v mvn >/dev/null || { echo "installing a Kafka Connect plugin needs Maven (apt-get install maven)" >&2; exit 1; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
{
  echo '<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>'
  echo '<groupId>dev.tributary</groupId><artifactId>kafka-connect-plugin</artifactId><version>0</version><packaging>pom</packaging><dependencies>'
  for coords in "$@"; do
    IFS=: read -r g a v <<<"$coords"
    [[ -n $g && -n $a && -n $v ]] || { echo "not groupId:artifactId:version: $coords" >&2; exit 2; }
    echo "<dependency><groupId>$g</groupId><artifactId>$a</artifactId><version>$v</version></dependency>"
  done
  echo '</dependencies></project>'
} >"$work/pom.xml"
rm -rf "$dir.tmp"
mkdir -p "$dir.tmp"
mvn -B -q -Dstyle.color=never -f "$work/pom.xml" dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$(cd "$dir.tmp" && pwd)" \
  -DexcludeArtifactIds=connect-api,kafka-clients,slf4j-api,slf4j-simple,slf4j-reload4j,log4j-slf4j-impl,log4j-slf4j2-impl >&2
echo "$want" >"$dir.tmp/.installed"
rm -rf "$dir"
mv "$dir.tmp" "$dir"
echo "$dir"
