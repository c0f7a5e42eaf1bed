/* /admin/faults on real processes: a partition made by drop sets is seen
 * as faulty on both sides and heals when cleared; a delay slows exactly the
 * requests forwarded to that member; the endpoint is off unless enabled. */
#include <criterion/criterion.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "swimring/testkit.h"

#define KVD SR_BINARY_DIR "/examples/kvd/kvd"

static struct sr_tk_cluster cluster;
static void kill_all(void) { sr_tk_destroy(&cluster); }

static int post(size_t i, const char *path, const char *json, char *out, size_t cap)
{
    struct sr_tk_conn c;
    sr_tk_conn_init(&c, cluster.nodes[i].http);
    int st = sr_tk_conn_request(&c, "POST", path, json, strlen(json), out, cap, NULL);
    sr_tk_conn_close(&c);
    return st;
}

/* Node i sees `alive` members alive. */
struct view { size_t node; long alive; };
static long alive_seen(size_t i)
{
    json_t *j = sr_tk_http(cluster.nodes[i].http, "GET", "/admin/status");
    json_t *v = json_object_get(json_object_get(j, "members"), "alive");
    long n = json_is_integer(v) ? (long)json_integer_value(v) : -1;
    json_decref(j);
    return n;
}
static bool views(struct sr_tk_cluster *h, void *ud)
{
    const long *want = ud;
    for (size_t i = 0; i < h->n; i++)
        if (alive_seen(i) != want[i])
            return false;
    return true;
}

static void start(size_t n, const char *const *extra)
{
    sr_tk_init(&cluster, KVD, "local");
    cluster.extra = extra;
    cr_assert_eq(sr_tk_start(&cluster, n, sr_time_mono_us() + 30 * SR_US_PER_S), 0,
                 "no convergence (logs in %s)", cluster.logdir);
}

Test(kvd_faults, partition_then_heal, .timeout = 120, .fini = kill_all)
{
    static const char *const extra[] = {"--log-level", "warn", "--set", "admin.faults=true", NULL};
    char body[256], out[1024];
    start(3, extra);
    /* {0,1} | {2} */
    snprintf(body, sizeof body, "{\"drop\":[\"%s\"]}", cluster.nodes[2].gossip);
    cr_assert_eq(post(0, "/admin/faults", body, out, sizeof out), 200, "%s", out);
    cr_assert_eq(post(1, "/admin/faults", body, out, sizeof out), 200, "%s", out);
    snprintf(body, sizeof body, "{\"drop\":[\"%s\",\"%s\"]}", cluster.nodes[0].gossip,
             cluster.nodes[1].gossip);
    cr_assert_eq(post(2, "/admin/faults", body, out, sizeof out), 200, "%s", out);
    long split[3] = {2, 2, 1};
    sr_time_us t0 = sr_time_mono_us();
    cr_assert(sr_tk_wait(&cluster, t0 + 30 * SR_US_PER_S, views, split),
              "the sides did not see each other faulty");
    cr_log_info("partition seen after %.0f ms", (double)(sr_time_mono_us() - t0) / 1000.0);
    for (size_t i = 0; i < 3; i++)
        cr_assert_eq(post(i, "/admin/faults", "{}", out, sizeof out), 200);
    long whole[3] = {3, 3, 3};
    t0 = sr_time_mono_us();
    cr_assert(sr_tk_wait(&cluster, t0 + 30 * SR_US_PER_S, views, whole),
              "no reconvergence after the heal");
    cr_log_info("healed after %.0f ms", (double)(sr_time_mono_us() - t0) / 1000.0);
}

static double timed_get(struct sr_tk_conn *c, const char *key)
{
    char path[64], out[256];
    snprintf(path, sizeof path, "/v1/kv/%s", key);
    sr_time_us t = sr_time_mono_us();
    int st = sr_tk_conn_request(c, "GET", path, NULL, 0, out, sizeof out, NULL);
    cr_assert_eq(st, 404, "GET %s: %d", key, st);
    return (double)(sr_time_mono_us() - t) / 1000.0;
}

Test(kvd_faults, delay_slows_only_requests_to_that_member, .timeout = 60, .fini = kill_all)
{
    static const char *const extra[] = {"--log-level", "warn", "--set", "admin.faults=true", NULL};
    char body[256], out[1024], mine[32] = "", theirs[32] = "";
    start(2, extra);
    for (int k = 0; k < 200 && (!mine[0] || !theirs[0]); k++) {
        char path[64];
        snprintf(path, sizeof path, "/admin/lookup?key=d-%d", k);
        json_t *j = sr_tk_http(cluster.nodes[0].http, "GET", path);
        bool local = json_is_true(json_object_get(j, "local"));
        snprintf(local ? mine : theirs, 32, "d-%d", k);
        json_decref(j);
    }
    snprintf(body, sizeof body, "{\"delay_ms\":{\"%s\":300}}", cluster.nodes[1].gossip);
    cr_assert_eq(post(0, "/admin/faults", body, out, sizeof out), 200, "%s", out);
    struct sr_tk_conn c;
    sr_tk_conn_init(&c, cluster.nodes[0].http);
    double slow = timed_get(&c, theirs), fast = timed_get(&c, mine);
    cr_log_info("forwarded with 300 ms delay: %.1f ms; local: %.1f ms", slow, fast);
    /* libevent measures timers from its cached loop time: a few ms early */
    cr_expect_geq(slow, 290.0);
    cr_expect_lt(fast, 300.0);
    sr_tk_conn_close(&c);
}

Test(kvd_faults, off_unless_enabled_and_bad_bodies_refused, .timeout = 60, .fini = kill_all)
{
    static const char *const extra[] = {"--log-level", "warn", NULL};
    char out[1024];
    sr_tk_init(&cluster, KVD, "local");
    cluster.extra = extra;
    cluster.no_faults = true;
    cr_assert_geq(sr_tk_spawn(&cluster, NULL), 0);
    long one[1] = {1};
    cr_assert(sr_tk_wait(&cluster, sr_time_mono_us() + 30 * SR_US_PER_S, views, one));
    cr_expect_eq(post(0, "/admin/faults", "{}", out, sizeof out), 403);
    cr_expect(strstr(out, "admin.faults") != NULL, "%s", out);
    sr_tk_destroy(&cluster);
    static const char *const on[] = {"--log-level", "warn", "--set", "admin.faults=true", NULL};
    start(1, on);
    cr_expect_eq(post(0, "/admin/faults", "{\"drop\":\"x\"}", out, sizeof out), 400);
    cr_expect_eq(post(0, "/admin/faults", "{\"drop\":[\"nocolon\"]}", out, sizeof out), 400);
    cr_expect_eq(post(0, "/admin/faults", "{\"delay_ms\":{\"a:1\":-5}}", out, sizeof out), 400);
    cr_expect_eq(post(0, "/admin/faults", "{\"bogus\":1}", out, sizeof out), 400);
    cr_expect_eq(post(0, "/admin/faults", "[", out, sizeof out), 400);
}

Test(kvd_faults, admin_token_required_when_configured, .timeout = 60, .fini = kill_all)
{
    static const char *const extra[] = {"--log-level", "warn", "--set", "admin.token=s3cret",
                                        NULL};
    char out[1024];
    sr_tk_init(&cluster, KVD, "local");
    cluster.extra = extra;
    cluster.no_faults = true;
    cr_assert_geq(sr_tk_spawn(&cluster, NULL), 0);
    struct sr_tk_conn c;
    sr_tk_conn_init(&c, cluster.nodes[0].http);
    int st = -1;
    sr_time_us end = sr_time_mono_us() + 10 * SR_US_PER_S;
    while (sr_time_mono_us() < end &&
           (st = sr_tk_conn_request(&c, "GET", "/admin/status", NULL, 0, out, sizeof out, NULL)) < 0)
        usleep(50000);
    cr_expect_eq(st, 401, "no token: %d %s", st, out);
    cr_expect(strcasestr(c.head, "\r\nWWW-Authenticate: Bearer") != NULL, "%s", c.head);
    c.headers = "Authorization: Bearer wrong\r\n";
    cr_expect_eq(sr_tk_conn_request(&c, "GET", "/admin/status", NULL, 0, out, sizeof out, NULL), 401);
    c.headers = "Authorization: Bearer s3cret\r\n";
    cr_expect_eq(sr_tk_conn_request(&c, "GET", "/admin/status", NULL, 0, out, sizeof out, NULL), 200);
    cr_expect_eq(sr_tk_conn_request(&c, "GET", "/metrics", NULL, 0, out, sizeof out, NULL), 200);
    c.headers = NULL;
    cr_expect_eq(sr_tk_conn_request(&c, "GET", "/metrics", NULL, 0, out, sizeof out, NULL), 401);
    /* the service API itself needs no token */
    cr_expect_eq(sr_tk_conn_request(&c, "PUT", "/v1/kv/x", "v", 1, out, sizeof out, NULL), 204);
    sr_tk_conn_close(&c);
}
