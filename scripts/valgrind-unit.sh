#!/usr/bin/env bash
# Runs every unit suite under valgrind's memcheck, following Criterion's
# worker processes; any definite or indirect leak or memory error fails.
set -uo pipefail
dir=$1
fail=0
for exe in "$dir"/tests/unit_test_*; do
  [ -x "$exe" ] || continue
  name=$(basename "$exe")
  log=$dir/valgrind-$name.log
  # Criterion's workers are followed; system programs a suite runs (the
  # openssl CLI making test certificates, /bin/sh) are not: not our code.
  if valgrind --quiet --trace-children=yes --trace-children-skip='/bin/*,/usr/bin/*' \
       --leak-check=full \
       --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect \
       --error-exitcode=99 "$exe" --jobs=1 >"$log" 2>&1; then
    echo "valgrind: $name clean"
  else
    echo "valgrind: $name FAILED (see $log)"
    fail=1
  fi
done
exit $fail
