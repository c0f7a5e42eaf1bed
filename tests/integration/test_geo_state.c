/* services/geo state hooks on ringd (unit = cell, plus the id directory):
 * a node joining takes its cells over (handoff) and a kill -9 loses no
 * object (replicas 2, the default): nearby stays equal to a brute-force
 * scan, and moves after the ring changed still leave no ghost. */
#include <criterion/criterion.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "swimring/s2.h"
#include "swimring/testkit.h"

#define RINGD SR_BINARY_DIR "/tools/ringd/ringd"
#define OBJECTS 800
#define WAIT_S 40 /* handoff waits state.rebalance_delay_ms; sanitizer builds are slow */

static struct sr_tk_cluster cluster;
static void kill_all(void) { sr_tk_destroy(&cluster); }

struct obj {
    char id[16];
    double lat, lng;
};
static struct obj objs[OBJECTS];
static char body[1 << 20];

static size_t running_node(size_t k)
{
    for (size_t i = 0; i < cluster.n; i++) {
        size_t n = (k + i) % cluster.n;
        if (cluster.nodes[n].pid > 0)
            return n;
    }
    return 0;
}

static int http(size_t node, const char *method, const char *path, const char *in, json_t **out)
{
    struct sr_tk_conn c;
    size_t len;
    sr_tk_conn_init(&c, cluster.nodes[running_node(node)].http);
    int st = sr_tk_conn_request(&c, method, path, in, in ? strlen(in) : 0, body, sizeof body, &len);
    sr_tk_conn_close(&c);
    if (out)
        *out = st > 0 && len < sizeof body ? json_loads(body, 0, NULL) : NULL;
    return st;
}

static void put(size_t node, const struct obj *o)
{
    char path[64], in[128];
    snprintf(path, sizeof path, "/v1/geo/objects/%s", o->id);
    snprintf(in, sizeof in, "{\"lat\":%.17g,\"lng\":%.17g,\"ttl_s\":3600}", o->lat, o->lng);
    cr_assert_eq(http(node, "PUT", path, in, NULL), 200, "PUT %s: %s", o->id, body);
}

/* Every object is found where it is, by every running node, and nowhere else. */
static bool all_found(struct sr_tk_cluster *h, void *ud)
{
    (void)h;
    (void)ud;
    for (size_t k = 0; k < OBJECTS; k += 7) {
        char path[160];
        json_t *j;
        snprintf(path, sizeof path, "/v1/geo/nearby?lat=%.17g&lng=%.17g&radius_m=300&limit=100",
                 objs[k].lat, objs[k].lng);
        if (http(k, "GET", path, NULL, &j) != 200) {
            json_decref(j);
            return false;
        }
        size_t want = 0, got = json_array_size(json_object_get(j, "results"));
        for (size_t i = 0; i < OBJECTS; i++)
            want += sr_s2_distance_m(objs[k].lat, objs[k].lng, objs[i].lat, objs[i].lng) <= 300;
        json_decref(j);
        if (got != want)
            return false;
    }
    return true;
}

Test(geo_state, join_and_kill_lose_nothing_and_leave_no_ghost, .timeout = 240, .fini = kill_all)
{
    static const char *const extra[] = {"--services", "geo", "--log-level", "warn", NULL};
    sr_tk_init(&cluster, RINGD, "local");
    cluster.extra = extra;
    cr_assert_eq(sr_tk_start(&cluster, 3, sr_time_mono_us() + 30 * SR_US_PER_S), 0);
    srand(99);
    for (size_t i = 0; i < OBJECTS; i++) {
        snprintf(objs[i].id, sizeof objs[i].id, "s%u", (unsigned)i);
        objs[i].lat = 51.45 + 0.1 * rand() / RAND_MAX; /* London, ~11 x 7 km */
        objs[i].lng = -0.2 + 0.1 * rand() / RAND_MAX;
        put(i, &objs[i]);
    }
    cr_assert(all_found(&cluster, NULL));

    /* A fourth node joins: it takes over cells and ids. */
    cr_assert_geq(sr_tk_spawn(&cluster, cluster.nodes[0].gossip), 0);
    cr_assert(sr_tk_wait_converged(&cluster, sr_time_mono_us() + 30 * SR_US_PER_S));
    cr_assert(sr_tk_wait(&cluster, sr_time_mono_us() + WAIT_S * SR_US_PER_S, all_found, NULL),
              "objects missing after a join (logs in %s)", cluster.logdir);
    json_t *s;
    cr_assert_eq(http(3, "GET", "/v1/geo/stats", NULL, &s), 200);
    cr_assert_gt(json_integer_value(json_object_get(s, "objects")), 0, "the new node holds cells");
    json_decref(s);

    /* Move a third of them (the new node owns some ids and cells now). */
    for (size_t i = 0; i < OBJECTS; i += 3) {
        objs[i].lat += 0.03;
        put(i, &objs[i]);
    }
    cr_assert(all_found(&cluster, NULL), "a ghost or a loss after moves");

    /* kill -9 one of the first three: replicas answer for its cells. */
    cr_assert_eq(sr_tk_signal(&cluster, 1, SIGKILL), 0);
    sr_tk_reap(&cluster, 1, sr_time_mono_us() + 5 * SR_US_PER_S);
    cr_assert(sr_tk_wait_converged(&cluster, sr_time_mono_us() + 30 * SR_US_PER_S));
    cr_assert(sr_tk_wait(&cluster, sr_time_mono_us() + WAIT_S * SR_US_PER_S, all_found, NULL),
              "objects lost with a node (logs in %s)", cluster.logdir);
    /* and moves still leave no ghost */
    for (size_t i = 1; i < OBJECTS; i += 3) {
        objs[i].lng += 0.03;
        put(i, &objs[i]);
    }
    cr_assert(all_found(&cluster, NULL), "a ghost or a loss after moves past the kill");
}
