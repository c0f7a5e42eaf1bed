/* libFuzzer target for the S2 token parser (tokens arrive from clients and
 * operators: ringctl, HTTP paths). Any byte string must either be refused
 * or yield a valid cell whose token parses back to the same id; a valid
 * cell then goes through the id decoders (level, parent, neighbours,
 * centre, vertices, a small covering) which must not misbehave on it.
 * Build: cmake -DSWIMRING_FUZZ=ON -DCMAKE_C_COMPILER=clang; seeds live in
 * tests/fuzz/seeds/fuzz_s2_token/. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "swimring/s2.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void exercise(uint64_t id) {
    int level = sr_s2_cell_level(id);
    if (sr_s2_cell_parent(id, level) != id) abort();
    for (int l = 0; l < level; l++)
        if (sr_s2_cell_level(sr_s2_cell_parent(id, l)) != l) abort();
    uint64_t nb[4];
    sr_s2_cell_edge_neighbors(id, nb);
    for (int k = 0; k < 4; k++)
        if (!sr_s2_cell_is_valid(nb[k]) || sr_s2_cell_level(nb[k]) != level) abort();
    sr_s2_point c = sr_s2_cell_center(id);
    if (sr_s2_cell_parent(sr_s2_cell_from_point(c), level) != id) abort();
    sr_s2_point v[4];
    sr_s2_cell_vertices(id, v);
    /* A cap of 1e-10 rad (0.6 mm, under a leaf cell's size) around the
     * cell's centre: the covering at the cell's level must hold the cell. */
    sr_s2_cap cap = sr_s2_cap_from_point_rad(c, 1e-10);
    uint64_t out[64];
    int n = sr_s2_cap_cover(&cap, level, out, 64);
    int found = 0;
    for (int k = 0; k < n; k++) found |= out[k] == id;
    if (n <= 0 || !found) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    uint64_t id = 0;
    if (sr_s2_cell_from_token((const char *)data, size, &id) != 0) return 0;
    if (!sr_s2_cell_is_valid(id)) abort();
    char tok[SR_S2_TOKEN_MAX];
    size_t len = sr_s2_cell_to_token(id, tok);
    uint64_t back = 0;
    if (len > size || sr_s2_cell_from_token(tok, len, &back) != 0 || back != id) abort();
    exercise(id);
    return 0;
}
