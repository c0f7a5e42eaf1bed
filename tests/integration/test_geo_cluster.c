/* services/geo on 3 ringd processes: nearby equals a brute-force scan for
 * 500 random queries (dense and sparse areas, radii 100 m..5 km, the
 * antimeridian, a pole); an object crossing cells leaves no ghost; TTL
 * expiry; out-of-order updates; bad input -> 400 naming the field. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "swimring/s2.h"
#include "swimring/testkit.h"

#define NODES 3
#define RINGD SR_BINARY_DIR "/tools/ringd/ringd"
#define QUERIES 500
#define SLACK_MS 3000 /* sanitizer builds on 2 shared cores */

static struct sr_tk_cluster cluster;
static struct sr_tk_conn conn[NODES];
static void kill_all(void)
{
    for (size_t i = 0; i < NODES; i++)
        sr_tk_conn_close(&conn[i]);
    sr_tk_destroy(&cluster);
}

static void start(void)
{
    static const char *const extra[] = {"--services", "geo", "--log-level", "warn", NULL};
    sr_tk_init(&cluster, RINGD, "local");
    cluster.extra = extra;
    cr_assert_eq(sr_tk_start(&cluster, NODES, sr_time_mono_us() + 30 * SR_US_PER_S), 0,
                 "cluster did not converge (logs in %s)", cluster.logdir);
    for (size_t i = 0; i < NODES; i++)
        sr_tk_conn_init(&conn[i], cluster.nodes[i].http);
}

static char body[1 << 20];

/* One request to node i; the JSON answer (or NULL) and the status. */
static json_t *req(size_t i, const char *method, const char *path, const char *in, int *status)
{
    size_t len;
    int st = sr_tk_conn_request(&conn[i % NODES], method, path, in, in ? strlen(in) : 0, body,
                                sizeof body, &len);
    if (status)
        *status = st;
    cr_assert_lt(len, sizeof body);
    return len ? json_loads(body, 0, NULL) : NULL;
}

static void put(size_t node, const char *id, double lat, double lng, const char *extra)
{
    char path[128], in[256];
    int st;
    snprintf(path, sizeof path, "/v1/geo/objects/%s", id);
    snprintf(in, sizeof in, "{\"lat\":%.17g,\"lng\":%.17g%s}", lat, lng, extra ? extra : "");
    json_t *j = req(node, "PUT", path, in, &st);
    cr_assert_eq(st, 200, "PUT %s: %d %s", id, st, body);
    json_decref(j);
}

struct obj {
    char id[24];
    double lat, lng;
};

static struct obj objs[6000];
static size_t nobjs;

static double urand(double lo, double hi) { return lo + (hi - lo) * (rand() / (double)RAND_MAX); }

static void load(size_t n, double lat0, double lat1, double lng0, double lng1)
{
    for (size_t k = 0; k < n; k++) {
        struct obj *o = &objs[nobjs];
        snprintf(o->id, sizeof o->id, "o%u", (unsigned)nobjs);
        o->lat = urand(lat0, lat1);
        o->lng = urand(lng0, lng1);
        put(nobjs, o->id, o->lat, o->lng, ",\"ttl_s\":3600");
        nobjs++;
    }
}

struct hit {
    double d;
    const char *id;
};

static int hit_cmp(const void *a, const void *b)
{
    const struct hit *x = a, *y = b;
    if (x->d != y->d)
        return x->d < y->d ? -1 : 1;
    return strcmp(x->id, y->id);
}

static json_t *nearby(size_t node, double lat, double lng, double r, size_t limit, int *st)
{
    char path[256];
    snprintf(path, sizeof path, "/v1/geo/nearby?lat=%.17g&lng=%.17g&radius_m=%.17g&limit=%zu",
             lat, lng, r, limit);
    return req(node, "GET", path, NULL, st);
}

static size_t nonempty, compared;

static void check_query(int q, double lat, double lng)
{
    static struct hit want[6000];
    double r = exp(urand(log(100), log(5000)));
    size_t limit = 1 + (size_t)(rand() % 100), nw = 0;
    int st;
    json_t *j = nearby((size_t)q, lat, lng, r, limit, &st);
    cr_assert_eq(st, 200, "query %d: %d %s", q, st, body);
    for (size_t i = 0; i < nobjs; i++) {
        double d = sr_s2_distance_m(lat, lng, objs[i].lat, objs[i].lng);
        if (d <= r)
            want[nw++] = (struct hit){d, objs[i].id};
    }
    qsort(want, nw, sizeof want[0], hit_cmp);
    nw = nw < limit ? nw : limit;
    json_t *res = json_object_get(j, "results");
    cr_assert_eq(json_array_size(res), nw, "query %d (%.6f, %.6f, %.0f m, limit %zu): %zu, want %zu",
                 q, lat, lng, r, limit, json_array_size(res), nw);
    nonempty += nw > 0;
    compared += nw;
    for (size_t i = 0; i < nw; i++) {
        json_t *h = json_array_get(res, i);
        cr_assert_str_eq(json_string_value(json_object_get(h, "id")), want[i].id,
                         "query %d result %zu", q, i);
        /* distances are answered with 6 decimals (micrometres) */
        cr_assert_leq(fabs(json_real_value(json_object_get(h, "dist_m")) - want[i].d), 1e-6,
                      "query %d result %zu: distance", q, i);
    }
    json_decref(j);
}

Test(geo_cluster, nearby_equals_brute_force, .timeout = 280, .fini = kill_all)
{
    start();
    srand(4242);
    load(2500, 37.708, 37.838, -122.515, -122.345); /* dense: San Francisco */
    load(1000, 36.0, 37.5, -120.0, -118.5);         /* sparse: 1.5 x 1.5 degrees */
    load(400, -0.05, 0.05, 179.95, 180);            /* both sides of the antimeridian */
    load(400, -0.05, 0.05, -180, -179.95);
    load(600, 89.95, 90, -180, 180);                /* around the north pole */
    for (int q = 0; q < QUERIES; q++) {
        switch (q % 5) {
        case 0: case 1: check_query(q, urand(37.70, 37.85), urand(-122.52, -122.34)); break;
        case 2: check_query(q, urand(36.0, 37.5), urand(-120.0, -118.5)); break;
        case 3: check_query(q, urand(-0.05, 0.05), q % 2 ? urand(179.97, 180) : urand(-180, -179.97));
            break;
        default: check_query(q, urand(89.96, 90), urand(-180, 180)); break;
        }
    }
    cr_assert_gt(nonempty, QUERIES / 2, "the queries must mostly find something");
    cr_assert_gt(compared, 5000u, "%zu results compared", compared);
    /* The queries spread over the owners: more than one answered. */
    json_t *j = nearby(0, 37.77, -122.42, 5000, 10, NULL);
    cr_assert_gt(json_integer_value(json_object_get(j, "owners")), 1);
    json_decref(j);
}

static bool listed(json_t *j, const char *id)
{
    json_t *res = json_object_get(j, "results");
    for (size_t i = 0; i < json_array_size(res); i++)
        if (strcmp(json_string_value(json_object_get(json_array_get(res, i), "id")), id) == 0)
            return true;
    return false;
}

Test(geo_cluster, crossing_cells_leaves_no_ghost, .timeout = 120, .fini = kill_all)
{
    start();
    srand(77);
    double lat = 37.77, lng = -122.42;
    put(0, "mover", lat, lng, NULL);
    for (int step = 0; step < 40; step++) {
        /* 2..6 km away: another level-12 cell, often another owner. */
        double nlat = lat + urand(0.02, 0.05) * (rand() % 2 ? 1 : -1);
        double nlng = lng + urand(0.02, 0.05) * (rand() % 2 ? 1 : -1);
        cr_assert_neq(sr_s2_cell_from_latlng(lat, lng, 12), sr_s2_cell_from_latlng(nlat, nlng, 12));
        put((size_t)step, "mover", nlat, nlng, NULL);
        int st;
        for (size_t n = 0; n < NODES; n++) {
            json_t *old = nearby(n, lat, lng, 50, 10, &st);
            cr_assert_eq(st, 200);
            cr_assert_not(listed(old, "mover"), "step %d: a ghost at the old place (node %zu)",
                          step, n);
            json_decref(old);
            json_t *now = nearby(n, nlat, nlng, 50, 10, &st);
            cr_assert(listed(now, "mover"), "step %d: not at the new place (node %zu)", step, n);
            json_decref(now);
        }
        json_t *g = req((size_t)step, "GET", "/v1/geo/objects/mover", NULL, &st);
        cr_assert_eq(st, 200);
        cr_assert_eq(json_real_value(json_object_get(g, "lat")), nlat);
        json_decref(g);
        lat = nlat;
        lng = nlng;
    }
}

Test(geo_cluster, ttl_expiry_and_out_of_order_updates, .timeout = 120, .fini = kill_all)
{
    start();
    int st;
    put(0, "brief", 48.85, 2.35, ",\"ttl_s\":1");
    json_t *j = nearby(1, 48.85, 2.35, 100, 10, &st);
    cr_assert(listed(j, "brief"));
    json_decref(j);
    sr_time_us t0 = sr_time_mono_us(), deadline = t0 + (1000 + SLACK_MS) * SR_US_PER_MS;
    bool gone = false;
    while (!gone && sr_time_mono_us() < deadline) {
        j = nearby(2, 48.85, 2.35, 100, 10, &st);
        gone = !listed(j, "brief");
        json_decref(j);
    }
    cr_assert(gone, "still listed after its TTL");
    cr_assert_geq(sr_time_mono_us() - t0, 900 * SR_US_PER_MS, "gone before its TTL");
    json_decref(req(0, "GET", "/v1/geo/objects/brief", NULL, &st));
    cr_assert_eq(st, 404);

    /* Out of order: ts 2000 first, then a late ts 1000 elsewhere. */
    put(0, "late", 40.0, -74.0, ",\"ts\":2000");
    j = req(1, "PUT", "/v1/geo/objects/late", "{\"lat\":41.0,\"lng\":-75.0,\"ts\":1000}", &st);
    cr_assert_eq(st, 200);
    cr_assert(json_is_false(json_object_get(j, "applied")));
    json_decref(j);
    j = req(2, "GET", "/v1/geo/objects/late", NULL, &st);
    cr_assert_eq(json_real_value(json_object_get(j, "lat")), 40.0);
    json_decref(j);
    j = nearby(0, 41.0, -75.0, 1000, 10, &st);
    cr_assert_not(listed(j, "late"), "the older update must not be visible");
    json_decref(j);
    /* A newer one wins; then a delete; then nothing. */
    put(1, "late", 41.0, -75.0, ",\"ts\":3000");
    j = nearby(2, 41.0, -75.0, 1000, 10, &st);
    cr_assert(listed(j, "late"));
    json_decref(j);
    json_decref(req(0, "DELETE", "/v1/geo/objects/late", NULL, &st));
    cr_assert_eq(st, 200);
    j = nearby(1, 41.0, -75.0, 1000, 10, &st);
    cr_assert_not(listed(j, "late"));
    json_decref(j);
}

Test(geo_cluster, bad_input_names_the_field, .timeout = 60, .fini = kill_all)
{
    start();
    static const struct {
        const char *method, *path, *body, *field;
    } bad[] = {
        {"GET", "/v1/geo/nearby?lat=91&lng=0&radius_m=10", NULL, "lat"},
        {"GET", "/v1/geo/nearby?lat=-90.5&lng=0&radius_m=10", NULL, "lat"},
        {"GET", "/v1/geo/nearby?lat=nan&lng=0&radius_m=10", NULL, "lat"},
        {"GET", "/v1/geo/nearby?lng=0&radius_m=10", NULL, "lat"},
        {"GET", "/v1/geo/nearby?lat=0&lng=180.001&radius_m=10", NULL, "lng"},
        {"GET", "/v1/geo/nearby?lat=0&lng=NaN&radius_m=10", NULL, "lng"},
        {"GET", "/v1/geo/nearby?lat=0&lng=0&radius_m=0", NULL, "radius_m"},
        {"GET", "/v1/geo/nearby?lat=0&lng=0&radius_m=-5", NULL, "radius_m"},
        {"GET", "/v1/geo/nearby?lat=0&lng=0&radius_m=1e9", NULL, "radius_m"},
        {"GET", "/v1/geo/nearby?lat=0&lng=0&radius_m=10&limit=100000", NULL, "limit"},
        {"GET", "/v1/geo/nearby?lat=0&lng=0&radius_m=10&limit=2.5", NULL, "limit"},
        {"GET", "/v1/geo/nearby?lat=0&lng=0&radius_m=10&filter=seats", NULL, "filter"},
        {"PUT", "/v1/geo/objects/x", "{\"lat\":", "body"},
        {"PUT", "/v1/geo/objects/x", "[1,2]", "body"},
        {"PUT", "/v1/geo/objects/x", "{\"lat\":95,\"lng\":0}", "lat"},
        {"PUT", "/v1/geo/objects/x", "{\"lat\":\"1\",\"lng\":0}", "lat"},
        {"PUT", "/v1/geo/objects/x", "{\"lat\":1,\"lng\":-200}", "lng"},
        {"PUT", "/v1/geo/objects/x", "{\"lat\":1,\"lng\":2,\"ttl_s\":0}", "ttl_s"},
        {"PUT", "/v1/geo/objects/x", "{\"lat\":1,\"lng\":2,\"ts\":-3}", "ts"},
        {"PUT", "/v1/geo/objects/x", "{\"lat\":1,\"lng\":2,\"attrs\":5}", "attrs"},
        {"PUT", "/v1/geo/objects/%01x", "{\"lat\":1,\"lng\":2}", "id"},
        {"PUT", "/v1/geo/objects/%C0%AFx", "{\"lat\":1,\"lng\":2}", "id"}, /* overlong UTF-8 */
        {"PUT", "/v1/geo/objects/x", "{\"lat\":1,\"lng\":2,\"ttl_s\":86401}", "ttl_s"},
        {"PUT", "/v1/geo/objects/x", "{\"lat\":1e400,\"lng\":2}", "body"},
        {"PUT", "/v1/geo/objects/x", "{\"lat\":1,\"lng\":2} x", "body"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int st;
        json_t *j = req(i, bad[i].method, bad[i].path, bad[i].body, &st);
        cr_assert_eq(st, 400, "%s %s: %d %s", bad[i].method, bad[i].path, st, body);
        cr_assert_str_eq(json_string_value(json_object_get(j, "field")), bad[i].field, "%s %s",
                         bad[i].method, bad[i].path);
        json_decref(j);
    }
    /* Counted, and the nodes still serve. */
    long total = 0;
    for (size_t n = 0; n < NODES; n++) {
        int st;
        json_t *s = req(n, "GET", "/v1/geo/stats", NULL, &st);
        total += (long)json_integer_value(json_object_get(s, "bad_input"));
        json_decref(s);
    }
    cr_assert_eq(total, (long)(sizeof bad / sizeof bad[0]));
    put(0, "ok", 1, 2, NULL);
}
