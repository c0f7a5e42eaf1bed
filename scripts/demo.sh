#!/usr/bin/env bash
# make demo: a 5-node local cluster of examples/kvd (the sample services
# come with later issues), shown with ringctl: status, ring, checksums; then
# a kill -9 and the ring healing around it. The cluster keeps running.
set -euo pipefail
build=${1:-build/release}
ringctl=$build/tools/ringctl/ringctl
kvd=$build/examples/kvd/kvd
dir=${DEMO_DIR:-demo-cluster}
"$ringctl" cluster down --dir "$dir" >/dev/null 2>&1 || true
echo "== ringctl cluster up 5 (kvd on 127.0.0.1:17000-17004, HTTP 18000-18004)"
"$ringctl" cluster up 5 --daemon "$kvd" --base-port 17000 --dir "$dir"
node=127.0.0.1:18000
for i in $(seq 0 4); do curl -fsS -X PUT --data-binary "value-$i" "http://$node/v1/kv/key-$i" >/dev/null; done
echo; echo "== ringctl status --node $node"; "$ringctl" status --node "$node"
echo; echo "== ringctl ring";                "$ringctl" ring --node "$node"
echo; echo "== ringctl checksums";           "$ringctl" checksums --node "$node"
echo; echo "== kill -9 node 4";              "$ringctl" cluster kill 4 --dir "$dir"
for _ in $(seq 1 100); do
  "$ringctl" checksums --node "$node" >/dev/null 2>&1 &&
    [ "$("$ringctl" status --node "$node" --json | grep -c '"faulty": 1')" -ge 1 ] && break
  sleep 0.1
done
echo "== the ring without node 4";       "$ringctl" ring --node "$node"
echo; "$ringctl" checksums --node "$node" || true
cat <<TXT

The cluster keeps running (logs in $dir). Try:
  curl -X PUT --data-binary hello http://127.0.0.1:18001/v1/kv/greeting
  curl -i http://127.0.0.1:18002/v1/kv/greeting          # any node answers
  $ringctl lookup --node $node greeting
  $ringctl cluster restart 4 --dir $dir
  $ringctl top --node $node
Stop it with: $ringctl cluster down --dir $dir
TXT
