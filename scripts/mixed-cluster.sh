#!/usr/bin/env bash
# Mixed cluster checks (tools/testpop/mixed-cluster.js; docs/ringpop.md):
#   1. 3 swimring testpop + 3 ringpop-node (main.js) processes;
#   2. 3 ringd with node.wire ringpop and the echo service + 3 ringpop-node
#      applications (tools/testpop/rpnode-app.js) with handleOrProxy: the
#      same checks plus the ringd's node rings and HTTP routing both ways.
#   scripts/mixed-cluster.sh [BUILD_DIR] [WORK_DIR]
# Installs ringpop-node (npm package "ringpop") with tchannel and commander
# into WORK_DIR (default /tmp/swimring-ringpop-node) on first use, with the
# same Node 20 stand-ins as compat-test.sh, then runs the check.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-build/compat}
work=${2:-/tmp/swimring-ringpop-node}
bin=$root/$build/tools/testpop/testpop
ringd=$root/$build/tools/ringd/ringd
[ -x "$bin" ] || { echo "mixed-cluster: $bin not built" >&2; exit 2; }
[ -x "$ringd" ] || { echo "mixed-cluster: $ringd not built" >&2; exit 2; }
command -v node >/dev/null || { echo "mixed-cluster: node not found" >&2; exit 2; }
if [ ! -f "$work/node_modules/ringpop/main.js" ]; then
  mkdir -p "$work"
  cat > "$work/package.json" <<JSON
{
  "name": "swimring-mixed-cluster",
  "private": true,
  "dependencies": {"ringpop": "^10.21.0", "tchannel": "^3.9.0", "commander": "^2.6.0"},
  "overrides": {
    "metrics": "file:$root/tools/testpop/npm-metrics",
    "sse4_crc32": "file:$root/tools/testpop/npm-sse4_crc32"
  }
}
JSON
  (cd "$work" && npm install --no-audit --no-fund) || { echo "mixed-cluster: npm install failed" >&2; exit 2; }
fi
echo "mixed-cluster: testpop + ringpop-node"
NODE_PATH=$work/node_modules node "$root/tools/testpop/mixed-cluster.js" \
  --testpop="$bin" --ringpop-node="$work/node_modules/ringpop" || rc=1
echo "mixed-cluster: ringd (node.wire ringpop) + ringpop-node applications"
NODE_PATH=$work/node_modules node "$root/tools/testpop/mixed-cluster.js" \
  --ringd="$ringd" --app="$root/tools/testpop/rpnode-app.js" \
  --ringpop-node="$work/node_modules/ringpop" || rc=1
exit ${rc:-0}
