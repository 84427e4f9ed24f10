#!/usr/bin/env bash
# Release checks for CI (.ci/run), after `npm ci`; none needs Kafka or etcd (the ones that do
# are test/integration/release.test.ts, run by `npm test`):
# - every dependency's engines.node against the Node versions we claim (scripts/check-engines.mjs):
#   the Node running CI (22, see .ci/run) and Node 24;
# - the unit tests on Node 24, and on the machine's own Node when it is another one (Node 20 on
#   these machines: outside package.json's range since the Kafka client's dependencies need 22.19,
#   but kept passing for users who have not upgraded yet). Node binaries come from the npm
#   registry's node-linux-<arch> packages (scripts/node-binary.sh), kept in .local/node/.
# The deploy/ static checks (helm lint/template among them) are scripts/ci-deploy-checks.sh, run
# after the tests because building helm on a fresh machine takes many minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)
log() { printf '[release %4ss] %s\n' "$(( $(date +%s) - started ))" "$*"; }

node24=$(bash scripts/node-binary.sh 24)
log "engines: every dependency's engines.node (runtime: package.json's range; dev: $(node --version) $("$node24" --version))"
node scripts/check-engines.mjs --node "$("$node24" --version)"

unit_nodes=("$node24")
system_node="${TRIBUTARY_SYSTEM_NODE:-}"
if [ -n "$system_node" ] && [ "$("$system_node" --version)" != "$(node --version)" ]; then unit_nodes+=("$system_node"); fi
for bin in "${unit_nodes[@]}"; do
  log "unit tests on Node $("$bin" --version)"
  "$bin" scripts/test.mjs unit
done

log "done"
