/* Properties of the S2 module beyond the reference vectors: the Hilbert
 * tables, tokens against hostile input, the cell hierarchy, neighbours,
 * geometry, distances and the covering's contract. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "s2/s2_hilbert_table.h"
#include "swimring/error.h"
#include "swimring/s2.h"

/* A fixed-seed generator so failures replay (xorshift64*). */
static uint64_t rng_next(uint64_t *s) {
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ULL;
}

static double rng_uniform(uint64_t *s, double lo, double hi) {
    return lo + (hi - lo) * ((double)(rng_next(s) >> 11) / 9007199254740992.0);
}

/* ---- Hilbert tables ----------------------------------------------------- */

/* S2's one-level tables, from which the 4-level tables are built. */
static const int pos_to_ij[4][4] = {{0, 1, 3, 2}, {0, 2, 3, 1}, {3, 2, 0, 1}, {3, 1, 0, 2}};
static const int pos_to_orientation[4] = {1, 0, 0, 3};

/* Walks 4 levels of the curve one level at a time from (i, j) = 0. */
static void walk(int depth, int i, int j, int orig, int pos, int orientation, int *seen) {
    if (depth == 4) {
        int ij = (i << 4) + j;
        cr_assert_eq(sr_s2_lookup_pos[(ij << 2) + orig], (pos << 2) + orientation);
        cr_assert_eq(sr_s2_lookup_ij[(pos << 2) + orig], (ij << 2) + orientation);
        (*seen)++;
        return;
    }
    for (int k = 0; k < 4; k++) {
        int r = pos_to_ij[orientation][k];
        walk(depth + 1, (i << 1) + (r >> 1), (j << 1) + (r & 1), orig, (pos << 2) + k,
             orientation ^ pos_to_orientation[k], seen);
    }
}

Test(s2_cell, hilbert_tables_match_one_level_walk) {
    int seen = 0;
    for (int o = 0; o < 4; o++) walk(0, 0, 0, o, 0, o, &seen);
    cr_assert_eq(seen, 1024);
}

/* ---- ids and hierarchy ---------------------------------------------------- */

Test(s2_cell, face_ij_round_trip_and_hierarchy) {
    uint64_t s = 42;
    for (int n = 0; n < 20000; n++) {
        int face = (int)(rng_next(&s) % 6);
        int i = (int)(rng_next(&s) % SR_S2_MAX_SIZE), j = (int)(rng_next(&s) % SR_S2_MAX_SIZE);
        uint64_t leaf = sr_s2_cell_from_face_ij(face, i, j);
        cr_assert(sr_s2_cell_is_valid(leaf));
        cr_assert_eq(sr_s2_cell_level(leaf), 30);
        int fi, fj;
        cr_assert_eq(sr_s2_cell_to_face_ij(leaf, &fi, &fj, NULL), face);
        cr_assert_eq(fi, i);
        cr_assert_eq(fj, j);
        int level = (int)(rng_next(&s) % 30);
        uint64_t p = sr_s2_cell_parent(leaf, level);
        cr_assert_eq(sr_s2_cell_level(p), level);
        cr_assert_eq(sr_s2_cell_face(p), face);
        cr_assert(sr_s2_cell_range_min(p) <= leaf && leaf <= sr_s2_cell_range_max(p));
        /* Exactly one child holds the leaf. */
        int holders = 0;
        for (int k = 0; k < 4; k++) {
            uint64_t c = sr_s2_cell_child(p, k);
            cr_assert_eq(sr_s2_cell_parent(c, level), p);
            cr_assert_eq(sr_s2_cell_level(c), level + 1);
            holders += sr_s2_cell_range_min(c) <= leaf && leaf <= sr_s2_cell_range_max(c);
        }
        cr_assert_eq(holders, 1);
    }
}

Test(s2_cell, validity) {
    cr_assert_not(sr_s2_cell_is_valid(0));
    cr_assert_not(sr_s2_cell_is_valid(6ULL << 61 | 1ULL << 60)); /* face 6 */
    cr_assert_not(sr_s2_cell_is_valid(2));                     /* odd level bit */
    for (int f = 0; f < 6; f++) {
        uint64_t face_cell = ((uint64_t)f << 61) | (1ULL << 60);
        cr_assert(sr_s2_cell_is_valid(face_cell));
        cr_assert_eq(sr_s2_cell_level(face_cell), 0);
        cr_assert_eq(sr_s2_cell_from_latlng(0, 0, 0), 1ULL << 60);
    }
}

/* ---- tokens --------------------------------------------------------------- */

Test(s2_cell, token_round_trip) {
    uint64_t s = 7;
    for (int n = 0; n < 20000; n++) {
        uint64_t id = sr_s2_cell_from_latlng(rng_uniform(&s, -90, 90), rng_uniform(&s, -180, 180),
                                             (int)(rng_next(&s) % 31));
        char tok[SR_S2_TOKEN_MAX];
        size_t len = sr_s2_cell_to_token(id, tok);
        cr_assert_eq(len, strlen(tok));
        cr_assert_neq(tok[len - 1], '0');
        uint64_t back = 0;
        cr_assert_eq(sr_s2_cell_from_token(tok, len, &back), 0);
        cr_assert_eq(back, id);
    }
}

Test(s2_cell, token_known_and_hostile) {
    char tok[SR_S2_TOKEN_MAX];
    cr_assert_eq(sr_s2_cell_to_token(0, tok), 1);
    cr_assert_str_eq(tok, "X");
    uint64_t id = 0;
    /* San Francisco's level-12 cell from the reference covering. */
    cr_assert_eq(sr_s2_cell_from_token("8085867", 7, &id), 0);
    cr_assert_eq(id, 9260956024351752192ULL);
    cr_assert_eq(sr_s2_cell_from_token("8085867ZZZ", 7, &id), 0); /* len bounds the read */
    cr_assert_eq(sr_s2_cell_from_token("808586B", 7, &id), 0);    /* upper case */
    cr_assert_eq(id, 9260956299229659136ULL);
    const char *bad[] = {"", "X", "0", "g", "80858 67", "-8085867", "1234567890abcdef1",
                         "c", /* face 6 */ "8085868", /* even last digit: bad level */
                         "0000000000000002"};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++)
        cr_assert_eq(sr_s2_cell_from_token(bad[k], strlen(bad[k]), &id), SR_EINVAL, "%s", bad[k]);
    cr_assert_eq(sr_s2_cell_from_token(NULL, 3, &id), SR_EINVAL);
    char nul[3] = {'8', '\0', '5'};
    cr_assert_eq(sr_s2_cell_from_token(nul, 3, &id), SR_EINVAL);
}

/* ---- neighbours and geometry --------------------------------------------- */

Test(s2_cell, edge_neighbors_are_mutual) {
    uint64_t s = 99;
    for (int n = 0; n < 5000; n++) {
        int level = 1 + (int)(rng_next(&s) % 30);
        uint64_t id = sr_s2_cell_from_latlng(rng_uniform(&s, -90, 90), rng_uniform(&s, -180, 180), level);
        uint64_t nb[4];
        sr_s2_cell_edge_neighbors(id, nb);
        for (int k = 0; k < 4; k++) {
            cr_assert_eq(sr_s2_cell_level(nb[k]), level);
            cr_assert_neq(nb[k], id);
            uint64_t back[4];
            sr_s2_cell_edge_neighbors(nb[k], back);
            int found = 0;
            for (int m = 0; m < 4; m++) found += back[m] == id;
            cr_assert_eq(found, 1, "neighbour %d of level %d not mutual", k, level);
        }
    }
}

Test(s2_cell, face_cell_neighbors) {
    /* Face 0's neighbours: down = face 5, right = 1, up = 2, left = 4. */
    uint64_t nb[4];
    sr_s2_cell_edge_neighbors(1ULL << 60, nb);
    cr_assert_eq(sr_s2_cell_face(nb[0]), 5);
    cr_assert_eq(sr_s2_cell_face(nb[1]), 1);
    cr_assert_eq(sr_s2_cell_face(nb[2]), 2);
    cr_assert_eq(sr_s2_cell_face(nb[3]), 4);
}

Test(s2_cell, center_and_vertices) {
    uint64_t s = 5;
    for (int n = 0; n < 5000; n++) {
        int level = (int)(rng_next(&s) % 31);
        double lat = rng_uniform(&s, -90, 90), lng = rng_uniform(&s, -180, 180);
        uint64_t id = sr_s2_cell_from_latlng(lat, lng, level);
        sr_s2_point c = sr_s2_cell_center(id);
        cr_assert_float_eq(c.x * c.x + c.y * c.y + c.z * c.z, 1.0, 1e-15);
        cr_assert_eq(sr_s2_cell_parent(sr_s2_cell_from_point(c), level), id);
        double lat_lo, lat_hi, lng_lo, lng_hi;
        sr_s2_cell_bound_latlng(id, &lat_lo, &lat_hi, &lng_lo, &lng_hi);
        cr_assert(lat >= lat_lo && lat <= lat_hi, "lat %.17g not in [%.17g, %.17g] L%d", lat,
                  lat_lo, lat_hi, level);
        bool in_lng = lng_lo <= lng_hi ? (lng >= lng_lo && lng <= lng_hi)
                                       : (lng >= lng_lo || lng <= lng_hi);
        cr_assert(in_lng, "lng %.17g not in [%.17g, %.17g] L%d", lng, lng_lo, lng_hi, level);
        sr_s2_latlng v[4];
        sr_s2_cell_vertices_latlng(id, v);
        for (int k = 0; k < 4; k++) cr_assert(v[k].lat >= lat_lo && v[k].lat <= lat_hi);
    }
}

/* ---- distances ------------------------------------------------------------- */

Test(s2_cell, distance) {
    double r = SR_S2_EARTH_RADIUS_M;
    cr_assert_float_eq(sr_s2_distance_m(0, 0, 0, 180), M_PI * r, 1e-6);
    cr_assert_float_eq(sr_s2_distance_m(90, 0, -90, 0), M_PI * r, 1e-6);
    cr_assert_float_eq(sr_s2_distance_m(0, 0, 0, 90), M_PI / 2 * r, 1e-6);
    /* Across the antimeridian: 2e-5 degrees of longitude at 10 N, ~2.19 m. */
    cr_assert_float_eq(sr_s2_distance_m(10, 179.99999, 10, -179.99999),
                       2e-5 * M_PI / 180 * r * cos(10 * M_PI / 180), 1e-6);
    cr_assert_float_eq(sr_s2_distance_m(37.7749, -122.4194, 37.7749, -122.4194), 0.0, 1e-12);
    /* One micro-degree of latitude: about 11 cm, no cancellation. */
    cr_assert_float_eq(sr_s2_distance_m(45, 7, 45.000001, 7), 1e-6 * M_PI / 180 * r, 1e-9);
    /* Agrees with the angle between the points. */
    uint64_t s = 3;
    for (int n = 0; n < 1000; n++) {
        double a = rng_uniform(&s, -90, 90), b = rng_uniform(&s, -180, 180);
        double c = rng_uniform(&s, -90, 90), d = rng_uniform(&s, -180, 180);
        double m = sr_s2_distance_m(a, b, c, d);
        double ang = sr_s2_point_angle_rad(sr_s2_point_from_latlng(a, b), sr_s2_point_from_latlng(c, d));
        cr_assert_float_eq(m, ang * r, 1e-6);
    }
}

/* ---- caps and coverings --------------------------------------------------- */

Test(s2_cover, contract) {
    uint64_t out[64];
    sr_s2_cap cap = sr_s2_cap_from_latlng_m(37.7749, -122.4194, 1000);
    int n = sr_s2_cap_cover(&cap, 12, out, 64);
    cr_assert_gt(n, 0);
    for (int k = 1; k < n; k++) cr_assert_lt(out[k - 1], out[k]);
    cr_assert_eq(sr_s2_cap_cover(&cap, 12, out, (size_t)n - 1 + (n == 1)), n == 1 ? 1 : SR_EFULL);
    cr_assert_eq(sr_s2_cap_cover(&cap, 31, out, 64), SR_EINVAL);
    cr_assert_eq(sr_s2_cap_cover(&cap, -1, out, 64), SR_EINVAL);
    sr_s2_cap empty = sr_s2_cap_from_latlng_m(0, 0, -1);
    cr_assert_eq(sr_s2_cap_cover(&empty, 12, out, 64), SR_EINVAL);
    sr_s2_cap nan_cap = sr_s2_cap_from_latlng_m(0, 0, NAN);
    cr_assert_eq(sr_s2_cap_cover(&nan_cap, 12, out, 64), SR_EINVAL);
    /* Radius 0: just the centre's cell. */
    sr_s2_cap point = sr_s2_cap_from_latlng_m(37.7749, -122.4194, 0);
    cr_assert_eq(sr_s2_cap_cover(&point, 12, out, 64), 1);
    cr_assert_eq(out[0], sr_s2_cell_from_latlng(37.7749, -122.4194, 12));
    /* A huge cap stops at max_cells instead of walking the globe. */
    sr_s2_cap world = sr_s2_cap_from_latlng_m(0, 0, 2e7);
    cr_assert_eq(sr_s2_cap_cover(&world, 12, out, 64), SR_EFULL);
    /* The whole sphere at level 0: all six faces. */
    cr_assert_eq(sr_s2_cap_cover(&world, 0, out, 64), 6);
}

static bool contains_id(const uint64_t *ids, int n, uint64_t id) {
    for (int k = 0; k < n; k++)
        if (ids[k] == id) return true;
    return false;
}

/* Every kept cell intersects, every edge neighbour left out does not, and
 * every random point within the radius lies in a kept cell. */
Test(s2_cover, complete_and_exact) {
    uint64_t s = 11;
    static uint64_t out[8192];
    for (int n = 0; n < 300; n++) {
        double lat = rng_uniform(&s, -90, 90), lng = rng_uniform(&s, -180, 180);
        if (n % 10 == 0) lat = n % 20 ? 90 : -90; /* the poles */
        if (n % 10 == 1) lng = 180;               /* the antimeridian */
        double radius = rng_uniform(&s, 1, 20000);
        int level = 10 + (int)(rng_next(&s) % 5);
        sr_s2_cap cap = sr_s2_cap_from_latlng_m(lat, lng, radius);
        int cnt = sr_s2_cap_cover(&cap, level, out, 8192);
        cr_assert_gt(cnt, 0);
        for (int k = 0; k < cnt; k++) {
            cr_assert(sr_s2_cap_intersects_cell(&cap, out[k]));
            uint64_t nb[4];
            sr_s2_cell_edge_neighbors(out[k], nb);
            for (int m = 0; m < 4; m++)
                cr_assert_eq(contains_id(out, cnt, nb[m]), sr_s2_cap_intersects_cell(&cap, nb[m]));
        }
        for (int q = 0; q < 50; q++) {
            /* A point at a random bearing and distance within the radius. */
            double d = radius * sqrt(rng_uniform(&s, 0, 1)) / SR_S2_EARTH_RADIUS_M;
            double brg = rng_uniform(&s, 0, 2 * M_PI);
            double p1 = lat * M_PI / 180, l1 = lng * M_PI / 180;
            double p2 = asin(sin(p1) * cos(d) + cos(p1) * sin(d) * cos(brg));
            double l2 = l1 + atan2(sin(brg) * sin(d) * cos(p1), cos(d) - sin(p1) * sin(p2));
            uint64_t c = sr_s2_cell_from_latlng(p2 * 180 / M_PI, l2 * 180 / M_PI, level);
            cr_assert(contains_id(out, cnt, c), "point %d of cap %d (%.6f, %.6f, %.1f m) not covered", q, n, lat,
                      lng, radius);
        }
    }
}
