#!/usr/bin/env bash
# make demo: a 5-node local cluster of tools/ringd hosting both sample
# services (presence and geo), shown with ringctl (status, ring,
# checksums); presence heartbeats and geo updates and nearby queries with
# curl; then kill -9 of the node that owns user "alice", the ring healing
# around it and both services still answering (from the replicas).
#
# Bounded: every wait has a deadline (cluster up 30 s, heal 30 s, curl 5 s).
# The cluster keeps running afterwards so you can poke it (the last lines say
# how to stop it); DEMO_STOP=1 stops it at the end, and a failing step stops
# it at once. DEMO_NETNS=1 runs each node in its own network namespace
# (root only; see docs/ringctl.md).
set -euo pipefail
build=${1:-build/release}
ringctl=$build/tools/ringctl/ringctl
dir=${DEMO_DIR:-demo-cluster}
base=${DEMO_BASE_PORT:-17000}
netns=()
[ "${DEMO_NETNS:-0}" = 1 ] && netns=(--netns)

stop() { "$ringctl" cluster down --dir "$dir" || true; }
trap 'echo "demo: a step failed; stopping the cluster (logs in $dir)" >&2; stop' ERR

step() { printf '\n== %s\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

# http METHOD HOSTPORT PATH [BODY]: one request, printed with its answer;
# fails (and so stops the demo) on anything but a 2xx.
http() {
  local m=$1 hp=$2 p=$3 body=${4:-} out code
  local args=(-sS --max-time 5 -X "$m" -w '\n%{http_code}')
  [ -n "$body" ] && args+=(-H 'Content-Type: application/json' --data-binary "$body")
  out=$(curl "${args[@]}" "http://$hp$p")
  code=${out##*$'\n'}
  out=${out%$'\n'*}
  out=${out%$'\n'}
  printf '%s http://%s%s%s\n   -> %s %s\n' "$m" "$hp" "$p" "${body:+ $body}" "$code" "$out"
  [ "${code:0:1}" = 2 ]
}

# The addresses of every node, in index order, from `cluster status --json`.
field() { "$ringctl" cluster status --dir "$dir" --json | sed -n "s/^ *\"$1\": \"\(.*\)\",\{0,1\}\$/\1/p"; }

# until DESCRIPTION SECONDS COMMAND...: poll COMMAND every 0.2 s.
until_ok() {
  local what=$1 end=$((SECONDS + $2))
  shift 2
  until "$@" >/dev/null 2>&1; do
    if [ $SECONDS -ge $end ]; then echo "demo: $what did not happen in time" >&2; return 1; fi
    sleep 0.2
  done
}

stop >/dev/null 2>&1
step "ringctl cluster up 5 --services presence,geo: ringd processes, configs and logs under $dir"
run "$ringctl" cluster up 5 --services presence,geo --base-port "$base" --dir "$dir" "${netns[@]}"
mapfile -t HTTP < <(field http)
mapfile -t ADMIN < <(field admin)
mapfile -t GOSSIP < <(field gossip)
admin=${ADMIN[0]}

step "ringctl status";    run "$ringctl" status --node "$admin"
step "ringctl ring";      run "$ringctl" ring --node "$admin"
step "ringctl checksums"; run "$ringctl" checksums --node "$admin"

step "presence: heartbeats through different nodes, read back through others"
http PUT "${HTTP[0]}" /v1/presence/alice/sessions/phone '{"status":"online","ttl_s":600}'
http PUT "${HTTP[1]}" /v1/presence/alice/sessions/laptop '{"status":"away","ttl_s":600,"meta":{"app":"desktop"}}'
http PUT "${HTTP[2]}" /v1/presence/bob/sessions/console '{"status":"in_game","ttl_s":600}'
http GET "${HTTP[3]}" /v1/presence/alice
http POST "${HTTP[4]}" /v1/presence:batchGet '{"users":["alice","bob","carol"]}'

step "geo: three cars in San Francisco and one in Oakland, nearest-first queries"
http PUT "${HTTP[0]}" /v1/geo/objects/car-1 '{"lat":37.7749,"lng":-122.4194,"ttl_s":600,"attrs":{"seats":4}}'
http PUT "${HTTP[1]}" /v1/geo/objects/car-2 '{"lat":37.7790,"lng":-122.4140,"ttl_s":600,"attrs":{"seats":2}}'
http PUT "${HTTP[2]}" /v1/geo/objects/car-3 '{"lat":37.7694,"lng":-122.4862,"ttl_s":600,"attrs":{"seats":6}}'
http PUT "${HTTP[3]}" /v1/geo/objects/car-4 '{"lat":37.8044,"lng":-122.2712,"ttl_s":600,"attrs":{"seats":4}}'
http GET "${HTTP[4]}" '/v1/geo/nearby?lat=37.7750&lng=-122.4180&radius_m=8000&limit=5'
http GET "${HTTP[0]}" '/v1/geo/nearby?lat=37.7750&lng=-122.4180&radius_m=8000&limit=5&filter=seats>=4'

# The node that owns alice: its kill -9 leaves her sessions on the replica.
owner=$("$ringctl" lookup --node "$admin" alice | cut -f2)
victim=-1
for i in "${!GOSSIP[@]}"; do [ "${GOSSIP[$i]}" = "$owner" ] && victim=$i; done
[ "$victim" -ge 0 ] || { echo "demo: alice's owner $owner is not a node of $dir" >&2; false; }
on=$(((victim + 1) % 5))
admin=${ADMIN[$on]}
step "kill -9 node $victim ($owner), the owner of alice"
run "$ringctl" cluster kill "$victim" --dir "$dir"
ring_of_4() { "$ringctl" checksums --node "$admin" && "$ringctl" status --node "$admin" --json | grep -q '"members": 4'; }
t0=$SECONDS
until_ok "the ring healing to 4 members" 30 ring_of_4
echo "   (ring healed: 4 members agreeing, within $((SECONDS - t0 + 1)) s)"
step "the ring without node $victim"; run "$ringctl" ring --node "$admin"
step "ringctl checksums";             run "$ringctl" checksums --node "$admin"

step "the services still answer, with the state of the dead node (from its replicas)"
http GET "${HTTP[$on]}" /v1/presence/alice
http PUT "${HTTP[$on]}" /v1/presence/carol/sessions/tablet '{"status":"busy","ttl_s":600}'
http GET "${HTTP[$(((on + 1) % 5))]}" '/v1/geo/nearby?lat=37.7750&lng=-122.4180&radius_m=8000&limit=5'
step "ringctl cluster status"
"$ringctl" cluster status --dir "$dir" || true   # exit 1: a node is down, as it should be

trap - ERR
if [ "${DEMO_STOP:-0}" = 1 ]; then
  step "DEMO_STOP=1: ringctl cluster down"
  run "$ringctl" cluster down --dir "$dir"
  exit 0
fi
cat <<TXT

The cluster keeps running (node logs in $dir/). Try:
  curl -X PUT -d '{"status":"online"}' http://${HTTP[$on]}/v1/presence/dave/sessions/s1
  curl http://${HTTP[$(((on + 2) % 5))]}/v1/presence/dave            # any node answers
  curl 'http://${HTTP[$on]}/v1/geo/nearby?lat=37.775&lng=-122.418&radius_m=3000'
  $ringctl lookup --node $admin dave
  $ringctl cluster restart $victim --dir $dir
  $ringctl top --node $admin
Stop it with: $ringctl cluster down --dir $dir
TXT
