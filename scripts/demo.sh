#!/usr/bin/env bash
# Local demo with what exists today: starts a 5-node ringd cluster on
# 127.0.0.1, waits until every node sees all five alive, shows one node's
# view, kill -9s a node and shows the survivors marking it faulty.
# (ringctl cluster and the services arrive with later issues.)
set -euo pipefail
build=${1:-build/release}
ringd=$build/tools/ringd/ringd
dir=${DEMO_DIR:-demo-cluster}
mkdir -p "$dir"
pids=()
for i in 0 1 2 3 4; do
  seeds=""
  [ "$i" -gt 0 ] && seeds="--seeds 127.0.0.1:17000"
  # shellcheck disable=SC2086
  "$ringd" --listen 127.0.0.1:$((17000 + i)) --http 127.0.0.1:$((18000 + i)) \
    --name "node$i" --profile local $seeds > "$dir/node$i.log" 2>&1 &
  pids+=($!)
done
echo "${pids[*]}" > "$dir/pids"
members() { curl -fsS "http://127.0.0.1:$((18000 + $1))/admin/members" 2>/dev/null || true; }
count() { members "$1" | grep -o "\"status\": *\"$2\"" | wc -l; }
wait_for() { # node status n
  for _ in $(seq 1 100); do
    [ "$(count "$1" "$2")" -ge "$3" ] && return 0
    sleep 0.1
  done
  echo "demo: node$1 did not see $3 $2 members in 10 s" >&2; return 1
}
for i in 0 1 2 3 4; do wait_for "$i" alive 5; done
echo "== all 5 nodes see 5 alive members; node0's view:"
members 0; echo
echo "== kill -9 node4 (pid ${pids[4]})"
kill -9 "${pids[4]}"
for i in 0 1 2 3; do wait_for "$i" faulty 1; done
echo "== every survivor marks node4 faulty; node0's view:"
members 0; echo
echo "The cluster keeps running. Try: curl http://127.0.0.1:18001/admin/members"
echo "Stop it with: kill ${pids[*]:0:4}"
