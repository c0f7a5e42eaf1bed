#!/usr/bin/env python3
"""tools/ringd/order/layout.py: turn gen.sh's traces into ringd.order.

lld places the sections of the listed symbols first, in list order, and
the rest after them. The kernel maps 64 KiB around each page fault of the
binary (fault-around), so what matters is which 64 KiB windows a running
node touches. The list therefore puts, in .text:

  1. every section a node never runs (cold), so they come first;
  2. the start-up sections (run before the event loop);
  3. the steady-state sections (run by the event loop: gossip, syncs,
     HTTP) last, right before .init/.fini/.iplt, which every node touches
     anyway (each IFUNC call goes through .iplt).

and the data symbols a node reads after them (they go to the start of
.rodata, beside the ELF headers the start-up reads). A stale list costs
memory, never correctness.

A name can be shared by several sections (static functions such as
read_int in three printf/scanf objects); lld would move all of them, so
shared names are left out, and a cold section is listed by a name no hot
section has.

usage: layout.py MAP NM STARTUP STEADY PICKS IFUNC EXTRA DATA > ringd.order
  MAP      lld -Map of the unstripped twin
  NM       nm -n -S of it
  STARTUP  functions callgrind saw before sr_node_run
  STEADY   functions callgrind saw while the loop ran
  PICKS    the IFUNC variants this CPU resolved (may be empty)
  IFUNC    IFUNC resolvers (run by the static libc before main)
  EXTRA    natively seen symbols valgrind misses (# comments)
  DATA     data symbols lackey saw read or written
"""
import re
import sys
from collections import Counter

LINE = re.compile(r'^\s*([0-9a-f]+)\s+([0-9a-f]+)\s+([0-9a-f]+)\s+(\d+) (\s*)(.*)$')
# multiarch variants: valgrind's CPU picks other ones than the native CPU
VARIANT = re.compile(r'_(sse2|ssse3|sse4_1|sse41|sse42|avx2|avx|evex|avx512|fma4?)(_|$)')


def words(path):
    with open(path) as f:
        return [w for line in f if not line.startswith('#') for w in line.split()]


def text_sections(path):
    """[(section, [symbols])] of .text, from lld's map: output sections at
    indent 0, input sections at 8, symbols at 16."""
    secs, out = [], None
    with open(path) as f:
        for line in f:
            m = LINE.match(line.rstrip('\n'))
            if not m:
                continue
            depth, name = len(m[5]), m[6]
            if depth == 0:
                out = name
            elif depth == 8:
                secs.append((out, name, []))
            elif depth == 16 and secs:
                secs[-1][2].append(name)
    return [(name, syms) for out, name, syms in secs if out == '.text' and syms]


def main(argv):
    if len(argv) != 9:
        sys.exit(__doc__)
    secs = text_sections(argv[1])
    kind = {}
    for line in open(argv[2]):
        p = line.split()
        if len(p) == 4:
            kind.setdefault(p[3], p[2])
    startup, steady = words(argv[3]), words(argv[4])
    picks, ifunc, extra, data = (words(a) for a in argv[5:9])

    nsec = Counter(s for _, syms in secs for s in set(syms))
    unique = lambda names: [n for n in names if nsec[n] == 1]
    is_fn = lambda n: kind.get(n, 't') in 'tTWi'
    native = lambda n: not picks or not VARIANT.search(n) or n in picks
    steady_set = set(steady)

    hot_steady = unique([n for n in steady if native(n)] + picks)
    hot_start = unique([n for n in startup if n not in steady_set and native(n)] + ifunc +
                       [n for n in extra if is_fn(n)])
    hot = set(hot_steady) | set(hot_start)
    hot_names = {s for _, syms in secs if hot & set(syms) for s in syms}
    cold = []
    for _, syms in secs:
        if not hot & set(syms):
            name = next((s for s in syms if s not in hot_names), None)
            if name:
                cold.append(name)

    seen, out = set(), []
    for n in cold + hot_start + hot_steady + data + [n for n in extra if not is_fn(n)]:
        if n not in seen:
            seen.add(n)
            out.append(n)
    print('\n'.join(out))
    sys.stderr.write('layout.py: %d cold, %d start-up, %d steady sections named; %d data\n'
                     % (len(cold), len(hot_start), len(hot_steady), len(data)))


if __name__ == '__main__':
    main(sys.argv)
