#!/usr/bin/env bash
# Runs every ctest suite of a build directory, keeps the full log, and prints
# each suite's Criterion summary line and ctest's own summary. Exits non-zero
# if any suite fails (sanitizer reports fail their suite).
set -uo pipefail
dir=$1; shift
log=$dir/ctest.log
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
(cd "$dir" && ctest --output-on-failure -V "$@") > "$log" 2>&1
rc=$?
grep -E '^[0-9]+: .*(Synthesis|\[FAIL\]|ERROR: AddressSanitizer|runtime error)|Test +#[0-9]+:|tests passed|tests failed|The following tests FAILED|\*\*\*Failed|^\s+[0-9]+ - ' "$log" \
  | sed -E 's/\x1b\[[0-9;]*m//g'
if [ $rc -ne 0 ]; then
  echo "run-tests: FAILED (full log: $log)"
fi
exit $rc
