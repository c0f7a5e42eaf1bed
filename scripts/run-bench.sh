#!/usr/bin/env bash
# Runs every benchmark of a Release build directory; each prints a human table
# and one "BENCH {json}" line per figure. All BENCH lines are also collected in
# DIR/bench.jsonl. BENCH_FILTER=regex limits which ones run.
set -uo pipefail
dir=$1
root=$(cd "$(dirname "$0")/.." && pwd)
out=$dir/bench.jsonl
: > "$out"
fail=0
run() {
  echo "=== $1"
  if ! "${@:2}" | tee -a "$dir/bench.log" | tee /dev/stderr | grep '^BENCH ' | sed 's/^BENCH //' >> "$out"; then
    fail=1
  fi
}
filter=${BENCH_FILTER:-.}
for exe in "$dir"/bench/bench_*; do
  [ -x "$exe" ] || continue
  name=$(basename "$exe")
  [[ $name =~ $filter ]] || continue
  run "$name" "$exe"
done
for script in "$root"/bench/*; do
  [ -x "$script" ] && [ -f "$script" ] || continue
  name=$(basename "$script")
  [[ $name =~ $filter ]] || continue
  run "$name" "$script" "$dir"
done
echo "bench: $(wc -l < "$out") figures in $out"
exit $fail
