#!/usr/bin/env bash
# tools/ringd/order/gen.sh: regenerate tools/ringd/order/ringd.order, the
# symbol order lld lays a static ringd out by (SWIMRING_STATIC_DAEMONS).
#
#   tools/ringd/order/gen.sh BUILD_DIR     (a static build: -DSWIMRING_STATIC_DAEMONS=ON)
#
# Why: the kernel maps a file's pages around each page fault (fault-around,
# 64 KiB), so a static ringd whose few hundred KiB of code that runs are
# spread over 3.5 MiB of text has nearly all of it resident. Laying every
# symbol a membership node touches side by side keeps the cold rest
# (libcrypto, unused libc, services' code a node without them never calls)
# off its RSS. The order is only a layout: a stale list costs memory, never
# correctness.
#
# How: link an unstripped copy (with a link map), start a 20-node cluster
# of it, and run one more node joining it, polled on /admin/members like
# bench/membership, twice: under callgrind (every function it executes,
# dumped once when the event loop starts and once when it ends, so start-up
# and steady state are told apart) and under lackey (every data address it
# reads or writes, mapped to data symbols). IFUNC resolvers, run at start-up
# by the static libc, are added by name, and the variants this CPU picks
# (valgrind emulates another CPU: avx2 where this one runs evex) are read
# from the resolved slots of a running node (needs root; else valgrind's).
# layout.py then orders cold code first and the steady state last, beside
# .iplt/.init/.fini (see there why). extra.txt: symbols seen natively.
set -eu
BUILD=$(cd "${1:?usage: gen.sh BUILD_DIR}" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=$HERE/ringd.order
N=${N:-20}
SECS=${SECS:-40}
WORK=$(mktemp -d /tmp/ringd-order.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done; [ -n "${KEEP:-}" ] || rm -rf "$WORK"; }
trap cleanup EXIT
command -v valgrind >/dev/null || { echo "gen.sh: needs valgrind" >&2; exit 1; }

# An unstripped twin of ringd from the same objects and link line.
LINK=$BUILD/tools/ringd/CMakeFiles/ringd.dir/link.txt
[ -f "$LINK" ] || { echo "gen.sh: $LINK missing (build ringd first)" >&2; exit 1; }
(cd "$BUILD/tools/ringd" &&
    sed "s# -s # -Wl,-Map=$WORK/ringd.map #; s#-o ringd #-o $WORK/ringd #" "$LINK" | sh) 2>/dev/null
BIN=$WORK/ringd

BASE=$(( 25000 + ($$ % 100) * 50 ))   # below the ephemeral range (32768+)
for ((i = 0; i < N; i++)); do
    "$BIN" --listen 127.0.0.1:$((BASE + i)) --http 127.0.0.1:$((BASE + 5000 + i)) --name o$i \
        --profile lan --log-level error $( ((i > 0)) && echo --seeds 127.0.0.1:$BASE) >/dev/null 2>&1 &
    PIDS+=($!)
done

probe() { # tool args...: one more node under valgrind, polled, stopped with SIGTERM
    local port=$((BASE + N)) pid
    valgrind "$@" "$BIN" --listen 127.0.0.1:$port --http 127.0.0.1:$((port + 5000)) --name probe \
        --profile lan --log-level error --seeds 127.0.0.1:$BASE >/dev/null 2>"$WORK/vg.log" &
    pid=$!
    PIDS+=($pid)
    for ((t = 0; t < SECS; t++)); do
        sleep 1
        curl -s -m 5 "http://127.0.0.1:$((port + 5000))/admin/members" >/dev/null || true
    done
    kill -TERM $pid 2>/dev/null || true # (a probe that could not start is gone)
    for ((t = 0; t < 30 && $(kill -0 $pid 2>/dev/null && echo 1 || echo 0); t++)); do sleep 1; done
    kill -9 $pid 2>/dev/null || true
    wait $pid 2>/dev/null || true
}

# 1. functions executed: cg.out.1 up to the loop, cg.out.2 the loop, cg.out
#    the exit (left cold: a running node never gets there)
probe --tool=callgrind --callgrind-out-file="$WORK/cg.out" --dump-before=sr_node_run \
    --dump-after=sr_node_run
fns() { sed -n 's/^c\{0,1\}fn=([0-9]*) \(.*\)$/\1/p' "$@" | sed "s/'[0-9]*\$//" |
    grep -v -e '^(below main)' -e '^0x' | sort -u; }
fns "$WORK/cg.out.1" > "$WORK/startup.txt"
fns "$WORK/cg.out.2" > "$WORK/steady.txt"

# 2. data touched: lackey prints every access; the data symbols read or
#    written are named from nm (a python filter: mawk has no hex input).
nm -n -S "$BIN" | awk '$3 ~ /[rRdDbB]/ && NF == 4 {print $1, $2, $4}' > "$WORK/data.syms"
cat > "$WORK/datasyms.py" <<'PY'
import bisect, sys
syms = sorted((int(a, 16), int(s, 16), n) for a, s, n in (l.split() for l in open(sys.argv[1])))
starts = [x[0] for x in syms]
lo, hi = syms[0][0], syms[-1][0] + syms[-1][1]
seen, hit = set(), set()
for line in sys.stdin:
    p = line.split()
    if len(p) != 2 or p[0] not in ("L", "S", "M"):
        continue
    a = int(p[1].split(",")[0], 16)
    if a < lo or a >= hi or (a >> 4) in seen:
        continue
    seen.add(a >> 4)
    i = bisect.bisect_right(starts, a) - 1
    if i >= 0 and a < syms[i][0] + max(syms[i][1], 1):
        hit.add(syms[i][2])
print("\n".join(sorted(hit)))
PY
probe --tool=lackey --trace-mem=yes --log-fd=9 9> >(python3 "$WORK/datasyms.py" "$WORK/data.syms" > "$WORK/data.txt")
sleep 2 # the filter finishes after valgrind closes its end

# 3. IFUNC resolvers (the static libc runs them all before main), and the
#    variants they picked here: the IRELATIVE slots of a running node
nm "$BIN" | awk '$2 == "i" || $3 ~ /_ifunc$/ {print $3}' | sort -u > "$WORK/ifunc.txt"
nm -n -S "$BIN" > "$WORK/nm.txt"
readelf -rW "$BIN" | awk '/IRELATIV/ {print $1}' > "$WORK/irel.txt"
python3 - "${PIDS[0]}" "$WORK/nm.txt" "$WORK/irel.txt" > "$WORK/picks.txt" <<'PY' ||
import bisect, struct, sys
fns = sorted((int(a, 16), n) for a, s, t, n in
             (l.split() for l in open(sys.argv[2]) if len(l.split()) == 4) if t in "tTWi")
starts = [a for a, _ in fns]
with open("/proc/%s/mem" % sys.argv[1], "rb") as mem:
    for line in open(sys.argv[3]):
        mem.seek(int(line, 16))
        addr = struct.unpack("<Q", mem.read(8))[0]
        i = bisect.bisect_right(starts, addr) - 1
        print("\n".join(n for a, n in fns if a == fns[i][0]))
PY
    { echo "gen.sh: cannot read a node's IFUNC slots (not root?): valgrind's variants kept" >&2; : > "$WORK/picks.txt"; }

python3 "$HERE/layout.py" "$WORK/ringd.map" "$WORK/nm.txt" "$WORK/startup.txt" "$WORK/steady.txt" \
    "$WORK/picks.txt" "$WORK/ifunc.txt" "$HERE/extra.txt" "$WORK/data.txt" > "$OUT"
echo "gen.sh: $(wc -l < "$OUT") symbols -> $OUT"
