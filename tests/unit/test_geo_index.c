/* services/geo's index: LWW records, tombstones, expiry by heap, top-k
 * nearest equal to a brute-force scan, filters, cell keys. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "swimring/error.h"
#include "swimring/s2.h"
#include "geo_index.h"

#define NOW 1000000000000000ull /* a wall clock in microseconds */
#define SEC 1000000ull

static struct geo_rec rec(const char *id, double lat, double lng, uint64_t ts, uint64_t expires)
{
    return (struct geo_rec){sr_s2_cell_from_latlng(lat, lng, GEO_CELL_LEVEL), id, strlen(id), lat,
                            lng, ts, expires, false, NULL, 0};
}

static struct geo_rec tomb(const char *id, uint64_t cell, uint64_t ts, uint64_t expires)
{
    return (struct geo_rec){cell, id, strlen(id), 0, 0, ts, expires, true, NULL, 0};
}

Test(geo_index, lww_keeps_the_newest)
{
    struct geo_index *ix = geo_index_new(true);
    struct geo_rec a = rec("car", 37.77, -122.42, 200, NOW + 30 * SEC);
    struct geo_rec old = rec("car", 37.7701, -122.4201, 100, NOW + 30 * SEC);
    cr_assert_eq(geo_index_apply(ix, &a, NOW), 1);
    cr_assert_eq(old.cellid, a.cellid);
    cr_assert_eq(geo_index_apply(ix, &old, NOW), 0, "an older record must not win");
    const struct geo_obj *o = geo_index_get(ix, a.cellid, "car", 3);
    cr_assert(o && o->ts == 200 && o->lat == 37.77);
    cr_assert_eq(geo_index_apply(ix, &a, NOW), 0, "the same record again changes nothing");
    struct geo_rec newer = rec("car", 37.7702, -122.4202, 300, NOW + 30 * SEC);
    cr_assert_eq(geo_index_apply(ix, &newer, NOW), 1);
    cr_assert_eq(geo_index_get(ix, a.cellid, "car", 3)->lat, 37.7702);
    cr_assert_eq(geo_index_count(ix), 1);
    geo_index_free(ix);
}

Test(geo_index, tombstone_blocks_a_late_older_put)
{
    struct geo_index *ix = geo_index_new(true);
    struct geo_rec a = rec("car", 10, 10, 100, NOW + 30 * SEC);
    cr_assert_eq(geo_index_apply(ix, &a, NOW), 1);
    struct geo_rec t = tomb("car", a.cellid, 200, NOW + 60 * SEC);
    cr_assert_eq(geo_index_apply(ix, &t, NOW), 1);
    cr_assert_eq(geo_index_count(ix), 0);
    cr_assert_eq(geo_index_entries(ix), 1);
    cr_assert_eq(geo_index_apply(ix, &a, NOW), 0, "the late put stays dead (no ghost)");
    struct geo_hit h[4];
    cr_assert_eq(geo_index_nearby(ix, &a.cellid, 1, 10, 10, 1000, 4, NULL, NOW, h), 0);
    /* A tombstone for a cell never seen also blocks the late put. */
    struct geo_rec b = rec("bike", 20, 20, 100, NOW + 30 * SEC);
    struct geo_rec tb = tomb("bike", b.cellid, 150, NOW + 60 * SEC);
    cr_assert_eq(geo_index_apply(ix, &tb, NOW), 1);
    cr_assert_eq(geo_index_apply(ix, &b, NOW), 0);
    geo_index_free(ix);
}

Test(geo_index, bad_records_are_refused)
{
    struct geo_index *ix = geo_index_new(true);
    struct geo_rec a = rec("car", 10, 10, 100, NOW + SEC);
    a.cellid = sr_s2_cell_from_latlng(11, 11, GEO_CELL_LEVEL);
    cr_assert_eq(geo_index_apply(ix, &a, NOW), SR_EINVAL, "position outside the named cell");
    a = rec("car", 10, 10, 100, NOW + SEC);
    a.lat = NAN;
    cr_assert_eq(geo_index_apply(ix, &a, NOW), SR_EINVAL);
    a = rec("", 10, 10, 100, NOW + SEC);
    cr_assert_eq(geo_index_apply(ix, &a, NOW), SR_EINVAL);
    a = rec("car", 10, 10, 100, NOW + SEC);
    a.cellid = sr_s2_cell_from_latlng(10, 10, 13);
    cr_assert_eq(geo_index_apply(ix, &a, NOW), SR_EINVAL, "not a level-12 cell");
    cr_assert_eq(geo_index_entries(ix), 0);
    geo_index_free(ix);
}

Test(geo_index, expiry_pops_only_what_is_due)
{
    struct geo_index *ix = geo_index_new(true);
    char id[16];
    for (int i = 0; i < 1000; i++) {
        snprintf(id, sizeof id, "o%d", i);
        struct geo_rec r = rec(id, 40 + i * 1e-4, -74, 1, NOW + (uint64_t)(1 + i % 10) * SEC);
        cr_assert_eq(geo_index_apply(ix, &r, NOW), 1);
    }
    cr_assert_eq(geo_index_next_expiry(ix), NOW + SEC);
    cr_assert_eq(geo_index_expire(ix, NOW + SEC - 1), 0);
    cr_assert_eq(geo_index_expire(ix, NOW + 5 * SEC), 500);
    cr_assert_eq(geo_index_count(ix), 500);
    cr_assert_eq(geo_index_next_expiry(ix), NOW + 6 * SEC);
    /* A refresh moves an entry's expiry (and its heap position). */
    struct geo_rec r = rec("o9", 40 + 9 * 1e-4, -74, 2, NOW + 100 * SEC);
    cr_assert_eq(geo_index_apply(ix, &r, NOW), 1);
    cr_assert_eq(geo_index_expire(ix, NOW + 99 * SEC), 499);
    cr_assert_eq(geo_index_count(ix), 1);
    cr_assert_not_null(geo_index_get(ix, r.cellid, "o9", 2));
    /* Queries never return what is past its expiry, timer or not. */
    struct geo_hit h[2];
    cr_assert_eq(geo_index_nearby(ix, &r.cellid, 1, r.lat, r.lng, 10, 2, NULL, NOW + 100 * SEC, h),
                 0);
    cr_assert_eq(geo_index_nearby(ix, &r.cellid, 1, r.lat, r.lng, 10, 2, NULL, NOW, h), 1);
    /* A record already over is not stored. */
    struct geo_rec dead = rec("late", 40, -74, 5, NOW - 1);
    cr_assert_eq(geo_index_apply(ix, &dead, NOW), 0);
    cr_assert_null(geo_index_get(ix, dead.cellid, "late", 4));
    geo_index_free(ix);
}

/* ---- nearest vs brute force ------------------------------------------------------ */

struct pt {
    char id[16];
    double lat, lng;
};

static int cmp_hit(const void *a, const void *b)
{
    const struct geo_hit *x = a, *y = b;
    if (x->dist_m != y->dist_m)
        return x->dist_m < y->dist_m ? -1 : 1;
    return strcmp(x->obj->id, y->obj->id);
}

static double urand(double lo, double hi) { return lo + (hi - lo) * (rand() / (double)RAND_MAX); }

static void check_queries(struct geo_index *ix, const struct pt *p, size_t n, int queries,
                          double lat0, double lat1, double lng0, double lng1)
{
    uint64_t *cells = malloc(8192 * sizeof(*cells));
    struct geo_hit *got = malloc(n * sizeof(*got)), *want = malloc(n * sizeof(*want));
    for (int q = 0; q < queries; q++) {
        double lat = urand(lat0, lat1), lng = urand(lng0, lng1);
        double radius = exp(urand(log(100), log(5000)));
        size_t limit = 1 + (size_t)(rand() % 60);
        sr_s2_cap cap = sr_s2_cap_from_latlng_m(lat, lng, radius);
        int nc = sr_s2_cap_cover(&cap, GEO_CELL_LEVEL, cells, 8192);
        cr_assert_gt(nc, 0);
        size_t ng = geo_index_nearby(ix, cells, (size_t)nc, lat, lng, radius, limit, NULL, NOW, got);
        size_t nw = 0;
        for (size_t i = 0; i < n; i++) {
            double d = sr_s2_distance_m(lat, lng, p[i].lat, p[i].lng);
            if (d <= radius)
                want[nw++] = (struct geo_hit){geo_index_get(ix, sr_s2_cell_from_latlng(
                                                                    p[i].lat, p[i].lng, 12),
                                                                p[i].id, strlen(p[i].id)),
                                              d};
        }
        qsort(want, nw, sizeof(*want), cmp_hit);
        if (nw > limit)
            nw = limit;
        cr_assert_eq(ng, nw, "query %d (%f, %f, %f m, limit %zu): %zu found, %zu expected", q, lat,
                     lng, radius, limit, ng, nw);
        for (size_t i = 0; i < nw; i++)
            cr_assert(got[i].obj == want[i].obj && got[i].dist_m == want[i].dist_m,
                      "query %d: result %zu differs", q, i);
    }
    free(cells);
    free(got);
    free(want);
}

static void fill(struct geo_index *ix, struct pt *p, size_t n, double lat0, double lat1,
                 double lng0, double lng1)
{
    for (size_t i = 0; i < n; i++) {
        snprintf(p[i].id, sizeof p[i].id, "p%u", (unsigned)(i % 100000000u));
        p[i].lat = urand(lat0, lat1);
        p[i].lng = urand(lng0, lng1);
        struct geo_rec r = rec(p[i].id, p[i].lat, p[i].lng, 1, NOW + 60 * SEC);
        cr_assert_eq(geo_index_apply(ix, &r, NOW), 1);
    }
}

Test(geo_index, nearest_equals_brute_force_dense_and_sparse)
{
    srand(12345);
    static struct pt p[20000];
    struct geo_index *ix = geo_index_new(true);
    /* Dense: a San Francisco-sized box. */
    fill(ix, p, 20000, 37.70, 37.83, -122.52, -122.35);
    check_queries(ix, p, 20000, 100, 37.69, 37.84, -122.53, -122.34);
    geo_index_free(ix);
    /* Sparse, and across the antimeridian and near a pole. */
    ix = geo_index_new(true);
    fill(ix, p, 3000, -1, 1, 179.0, 180);
    fill(ix, p + 3000, 3000, -1, 1, -180, -179.0);
    fill(ix, p + 6000, 3000, 89.7, 90, -180, 180);
    check_queries(ix, p, 9000, 60, -0.2, 0.2, 179.9, 180);
    check_queries(ix, p, 9000, 60, -0.2, 0.2, -180, -179.9);
    check_queries(ix, p, 9000, 60, 89.9, 90, -180, 180);
    geo_index_free(ix);
}

static int count_one(void *arg, const struct geo_obj *o)
{
    (void)o;
    (*(int *)arg)++;
    return 0;
}

Test(geo_index, state_walks_and_drop)
{
    struct geo_index *ix = geo_index_new(true);
    struct geo_rec a = rec("a", 10, 10, 1, NOW + SEC), b = rec("b", 10.0001, 10, 1, NOW + SEC);
    struct geo_rec t = tomb("c", a.cellid, 5, NOW + SEC);
    geo_index_apply(ix, &a, NOW);
    geo_index_apply(ix, &b, NOW);
    geo_index_apply(ix, &t, NOW);
    int count = 0;
    cr_assert_eq(geo_index_cell_entries(ix, a.cellid, count_one, &count), 0);
    cr_assert_eq(count, 3, "a cell's walk includes its tombstones");
    cr_assert(geo_index_has_cell(ix, a.cellid));
    cr_assert_eq(geo_index_entries(ix), 3);
    geo_index_drop_cell(ix, a.cellid);
    cr_assert_not(geo_index_has_cell(ix, a.cellid));
    cr_assert_eq(geo_index_entries(ix), 0);
    cr_assert_eq(geo_index_next_expiry(ix), 0);
    geo_index_free(ix);
}

Test(geo_index, directory_mode_keys_by_id)
{
    struct geo_index *d = geo_index_new(false);
    struct geo_rec a = rec("car", 10, 10, 1, NOW + SEC), b = rec("car", 50, 50, 2, NOW + SEC);
    cr_assert_eq(geo_index_apply(d, &a, NOW), 1);
    cr_assert_eq(geo_index_apply(d, &b, NOW), 1);
    const struct geo_obj *o = geo_index_get(d, 0, "car", 3);
    cr_assert(o && o->cellid == b.cellid && geo_index_entries(d) == 1);
    geo_index_free(d);
}

Test(geo_filter, parse_and_match)
{
    int err = 0;
    struct geo_filter *f = geo_filter_parse("seats>=4,wheelchair=true", 24, &err);
    cr_assert_not_null(f);
    const char *yes = "{\"seats\":4,\"wheelchair\":true}", *no1 = "{\"seats\":3,\"wheelchair\":true}",
               *no2 = "{\"seats\":5}";
    cr_assert(geo_filter_match(f, yes, strlen(yes)));
    cr_assert_not(geo_filter_match(f, no1, strlen(no1)));
    cr_assert_not(geo_filter_match(f, no2, strlen(no2)));
    cr_assert_not(geo_filter_match(f, NULL, 0));
    geo_filter_free(f);
    f = geo_filter_parse("kind!=truck", 11, &err);
    cr_assert(geo_filter_match(f, "{\"kind\":\"car\"}", 14));
    cr_assert_not(geo_filter_match(f, "{\"kind\":\"truck\"}", 16));
    geo_filter_free(f);
    const char *bad[] = {"", "seats", "seats>=", ">=4", "kind>car", "a=1,", "x y=1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_assert_null(geo_filter_parse(bad[i], strlen(bad[i]), &err), "'%s' accepted", bad[i]);
        cr_assert_eq(err, SR_EINVAL);
    }
}

Test(geo_cell, key_round_trip)
{
    uint64_t c = sr_s2_cell_from_latlng(37.77, -122.42, GEO_CELL_LEVEL), back = 0;
    uint8_t k[8];
    geo_cell_key(c, k);
    cr_assert_eq(k[7], 0, "a cell key has zero bytes (never an object id)");
    cr_assert(geo_cell_from_key(k, 8, &back) && back == c);
    cr_assert_not(geo_cell_from_key(k, 7, &back));
    uint64_t leaf = sr_s2_cell_from_latlng(37.77, -122.42, 30);
    geo_cell_key(leaf, k);
    cr_assert_not(geo_cell_from_key(k, 8, &back), "only level-12 cells are keys");
}
