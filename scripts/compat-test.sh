#!/usr/bin/env bash
# ringpop-common's integration suite (test/it-tests.js) against tools/testpop.
#   scripts/compat-test.sh SUITE_DIR [BUILD_DIR] [SIZES]
# SUITE_DIR is a checkout of github.com/uber/ringpop-common (never vendored
# here). Its npm dependencies are installed on first use with two Node 20
# quirks handled: jsonschema pinned to 1.2.4, and local stand-ins (in
# tools/testpop/) for 'metrics' (gone from the registry) and 'sse4_crc32'
# (its native addon does not build on Node 20), wired in through npm
# "overrides". Runs every mandatory feature plus self-eviction, labels and
# identity, one cluster size at a time, and prints the suite's assertion
# counts per size and in total. Exits 1 if any assertion failed.
set -uo pipefail
suite=${1:?usage: compat-test.sh SUITE_DIR [BUILD_DIR] [SIZES]}
build=${2:-build/compat}
sizes=${3:-"1 2 3 4 5 6 7 10 21 25 30"}
root=$(cd "$(dirname "$0")/.." && pwd)
suite=$(cd "$suite" && pwd)
tests=$suite/test
[ -f "$tests/it-tests.js" ] || { echo "compat-test: $tests/it-tests.js not found" >&2; exit 2; }
command -v node >/dev/null || { echo "compat-test: node not found" >&2; exit 2; }

if [ ! -d "$tests/node_modules/tchannel" ]; then
  echo "compat-test: installing the suite's npm dependencies in $tests"
  (cd "$tests" && node -e '
    const fs = require("fs");
    const p = JSON.parse(fs.readFileSync("package.json"));
    p.dependencies.jsonschema = "1.2.4";
    p.overrides = Object.assign({}, p.overrides, {
      metrics: "file:" + process.argv[1] + "/tools/testpop/npm-metrics",
      sse4_crc32: "file:" + process.argv[1] + "/tools/testpop/npm-sse4_crc32",
    });
    fs.writeFileSync("package.json", JSON.stringify(p, null, 2) + "\n");
  ' "$root" && npm install --no-audit --no-fund) || { echo "compat-test: npm install failed" >&2; exit 2; }
fi

bin=$root/$build/tools/testpop/testpop
[ -x "$bin" ] || { echo "compat-test: $bin not built" >&2; exit 2; }
logdir=$root/$build/compat-logs
mkdir -p "$logdir"
total_pass=0; total_fail=0; rc=0
printf '%-6s %8s %8s %8s\n' size tests pass fail
for n in $sizes; do
  log=$logdir/size-$n.log
  (cd "$tests" && node it-tests.js -s "[$n]" --enable-feature self-eviction \
     --enable-feature labels --enable-feature identity "$bin") > "$log" 2>&1
  t=$(sed -n 's/^# tests *//p' "$log" | tail -1); p=$(sed -n 's/^# pass *//p' "$log" | tail -1)
  f=$(sed -n 's/^# fail *//p' "$log" | tail -1)
  t=${t:-0}; p=${p:-0}; f=${f:-0}
  printf '%-6s %8s %8s %8s\n' "$n" "$t" "$p" "$f"
  total_pass=$((total_pass + p)); total_fail=$((total_fail + f))
  [ "$f" = 0 ] && [ "$t" != 0 ] || rc=1
done
printf '%-6s %8s %8s %8s\n' total $((total_pass + total_fail)) $total_pass $total_fail
echo "compat-test: logs in $logdir (the partition-healing tests pin their own sizes 1, 3 and 4 and run in every size's pass)"
exit $rc
