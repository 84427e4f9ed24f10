#!/usr/bin/env bash
# deploy/ static checks for CI (.ci/run): Dockerfile, Compose schema, helm lint and template,
# systemd-analyze verify (scripts/check-deploy.ts --static).
#
#   bash scripts/ci-deploy-checks.sh build   # build helm if missing (long: Kubernetes client libraries)
#   bash scripts/ci-deploy-checks.sh check   # run the checks (needs helm)
#
# helm is built from the Go module proxy into the user's cache, not the clone, so a fresh clone on
# the same machine reuses it. On a cold machine the build takes many minutes of CPU, so .ci/run
# starts it in the background at the lowest priority while the tests run, then waits for it.
set -euo pipefail
cd "$(dirname "$0")/.."
helm_bin="${XDG_CACHE_HOME:-$HOME/.cache}/tributary/bin"
case "${1:-check}" in
  build)
    if [ ! -x "$helm_bin/helm" ] && ! command -v helm >/dev/null 2>&1; then
      echo "building helm v3.22.0 from the Go module proxy into $helm_bin"
      mkdir -p "$helm_bin"
      GOBIN="$helm_bin.partial" go install helm.sh/helm/v3/cmd/helm@v3.22.0
      mv "$helm_bin.partial/helm" "$helm_bin/helm"
    fi
    ;;
  check)
    export PATH="$helm_bin:$PATH"
    echo "deploy/: Dockerfile, Compose schema, helm lint and template, systemd-analyze verify"
    TRIBUTARY_REQUIRE_HELM=1 node --import tsx scripts/check-deploy.ts --static
    ;;
  *) echo "usage: $0 build|check" >&2; exit 2 ;;
esac
