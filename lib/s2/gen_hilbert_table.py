# Generates lib/s2/s2_hilbert_table.h: S2's 4-bit Hilbert lookup tables.
SWAP, INV = 1, 2
POS_TO_IJ = [[0,1,3,2],[0,2,3,1],[3,2,0,1],[3,1,0,2]]
POS_TO_OR = [SWAP, 0, 0, INV | SWAP]
pos_t = [0]*1024; ij_t = [0]*1024
def init(level, i, j, orig, pos, o):
    if level == 4:
        ij = (i << 4) + j
        pos_t[(ij << 2) + orig] = (pos << 2) + o
        ij_t[(pos << 2) + orig] = (ij << 2) + o
        return
    level += 1; i <<= 1; j <<= 1; pos <<= 2
    r = POS_TO_IJ[o]
    for k in range(4):
        init(level, i + (r[k] >> 1), j + (r[k] & 1), orig, pos + k, o ^ POS_TO_OR[k])
for o in range(4):
    init(0, 0, 0, o, 0, o)
def emit(name, t):
    out = ["static const uint16_t %s[1024] = {" % name]
    for k in range(0, 1024, 12):
        out.append("    " + ", ".join("%d" % x for x in t[k:k+12]) + ",")
    out.append("};")
    return "\n".join(out)
print("""/* Hilbert-curve lookup tables for 4 levels (8 bits of i and j) at a time,
 * as S2 builds them at start-up. Generated, do not edit: the generator
 * walks the curve recursively from the four start orientations
 * (see tests/unit/test_s2_cell.c, which rebuilds them bit by bit and
 * compares).
 *
 * sr_s2_lookup_pos[(i4 << 6) | (j4 << 2) | orientation]
 *     = (position of the 4-level sub-cell << 2) | orientation after it
 * sr_s2_lookup_ij[(pos8 << 2) | orientation]
 *     = (i4 << 6) | (j4 << 2) | orientation after it */
#ifndef SR_S2_HILBERT_TABLE_H
#define SR_S2_HILBERT_TABLE_H

#include <stdint.h>
""")
print(emit("sr_s2_lookup_pos", pos_t)); print()
print(emit("sr_s2_lookup_ij", ij_t)); print()
print("#endif")
