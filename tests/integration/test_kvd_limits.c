/* Protection at the HTTP front, on real kvd processes: per-client rate
 * limit (429 + Retry-After), body limit (413), per-endpoint in-flight limit
 * (503), and kill switches in each mode, set on one node and in force on
 * every other node within 5 s. */
#include <criterion/criterion.h>
#include <signal.h>
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

static void start(size_t n, const char *const *extra)
{
    sr_tk_init(&cluster, KVD, "local");
    cluster.extra = extra;
    cr_assert_eq(sr_tk_start(&cluster, n, sr_time_mono_us() + 30 * SR_US_PER_S), 0,
                 "no convergence (logs in %s)", cluster.logdir);
}

/* A metric's value in node i's /metrics text, or -1. */
static long metric(size_t i, const char *line_prefix)
{
    struct sr_tk_conn c;
    static char out[262144];
    size_t len;
    sr_tk_conn_init(&c, cluster.nodes[i].http);
    int st = sr_tk_conn_request(&c, "GET", "/metrics", NULL, 0, out, sizeof out, &len);
    sr_tk_conn_close(&c);
    if (st != 200)
        return -1;
    const char *p = strstr(out, line_prefix);
    return p ? strtol(p + strlen(line_prefix), NULL, 10) : -1;
}

Test(kvd_limits, rate_limit_429_with_retry_after_per_client, .timeout = 60, .fini = kill_all)
{
    static const char *const extra[] = {"--log-level", "warn", "--set", "limits.rate_per_s=2",
                                        "--set", "limits.burst=5", NULL};
    start(1, extra);
    struct sr_tk_conn a, b;
    char out[512];
    sr_tk_conn_init(&a, cluster.nodes[0].http);
    sr_tk_conn_init(&b, cluster.nodes[0].http);
    a.headers = "X-Client-Id: alice\r\n";
    b.headers = "X-Client-Id: bob\r\n";
    int ok = 0, limited = 0;
    for (int i = 0; i < 10; i++) {
        int st = sr_tk_conn_request(&a, "PUT", "/v1/kv/r", "x", 1, out, sizeof out, NULL);
        if (st == 429) {
            limited++;
            cr_assert(strcasestr(a.head, "\r\nRetry-After: ") != NULL, "no Retry-After: %s", a.head);
            cr_assert(strstr(out, "\"error\"") != NULL, "JSON error body: %s", out);
        } else {
            cr_assert_eq(st / 100, 2, "status %d", st);
            ok++;
        }
    }
    /* burst 5, refill 2/s: 5 or 6 pass in a fast burst of 10 */
    cr_expect(ok >= 5 && ok <= 6, "%d admitted", ok);
    cr_expect_eq(ok + limited, 10);
    cr_expect_eq(sr_tk_conn_request(&b, "PUT", "/v1/kv/r", "y", 1, out, sizeof out, NULL) / 100,
                 2, "another client has its own bucket");
    cr_expect_eq(metric(0, "swimring_refused_total{service=\"kv\",endpoint=\"put\",reason=\"rate\"} "),
                 limited);
    sr_tk_conn_close(&a);
    sr_tk_conn_close(&b);
}

Test(kvd_limits, body_limit_413, .timeout = 60, .fini = kill_all)
{
    static const char *const extra[] = {"--log-level", "warn", "--set", "limits.max_body=1024",
                                        NULL};
    start(1, extra);
    struct sr_tk_conn c;
    static char big[4096], out[512];
    memset(big, 'b', sizeof big);
    sr_tk_conn_init(&c, cluster.nodes[0].http);
    cr_expect_eq(sr_tk_conn_request(&c, "PUT", "/v1/kv/k", big, 1024, out, sizeof out, NULL), 204);
    cr_expect_eq(sr_tk_conn_request(&c, "PUT", "/v1/kv/k", big, 1025, out, sizeof out, NULL), 413);
    cr_expect(strstr(out, "SR_ETOOBIG") != NULL, "%s", out);
    sr_tk_conn_close(&c);
    /* far over the limit: refused before the body is even buffered */
    sr_tk_conn_init(&c, cluster.nodes[0].http);
    static char huge[200000];
    memset(huge, 'h', sizeof huge);
    int st = sr_tk_conn_request(&c, "PUT", "/v1/kv/k", huge, sizeof huge, out, sizeof out, NULL);
    cr_expect(st == 413 || st == -1, "giant body: %d", st); /* -1: closed while we still wrote */
    sr_tk_conn_close(&c);
    cr_expect_eq(metric(0, "swimring_refused_total{service=\"kv\",endpoint=\"put\",reason=\"body\"} "), 1);
}

/* Keys node 0 forwards to node 1 (node 1 owns them). */
static void keys_owned_by(size_t owner, char keys[][32], int n)
{
    int found = 0;
    for (int k = 0; found < n && k < 1000; k++) {
        char path[64];
        snprintf(path, sizeof path, "/admin/lookup?key=slow-%d", k);
        json_t *j = sr_tk_http(cluster.nodes[0].http, "GET", path);
        const char *o = json_string_value(json_object_get(j, "owner"));
        if (o && strcmp(o, cluster.nodes[owner].gossip) == 0)
            snprintf(keys[found++], 32, "slow-%d", k);
        json_decref(j);
    }
    cr_assert_eq(found, n);
}

Test(kvd_limits, inflight_limit_503_while_the_owner_is_stopped, .timeout = 60, .fini = kill_all)
{
    static const char *const extra[] = {"--log-level", "warn", "--set", "limits.max_inflight=2",
                                        NULL};
    start(2, extra);
    char keys[2][32], local[1][32], path[64], out[512];
    keys_owned_by(1, keys, 2);
    keys_owned_by(0, local, 1);
    cr_assert_eq(sr_tk_signal(&cluster, 1, SIGSTOP), 0); /* its answers stop coming */
    /* two requests that will wait for the stopped owner ... */
    int fd[2];
    for (int i = 0; i < 2; i++) {
        fd[i] = sr_tk_connect(cluster.nodes[0].http);
        cr_assert_geq(fd[i], 0);
        int n = snprintf(out, sizeof out,
                         "GET /v1/kv/%s HTTP/1.1\r\nHost: x\r\nX-Timeout-Ms: 4000\r\n\r\n", keys[i]);
        cr_assert_eq(write(fd[i], out, (size_t)n), n);
    }
    /* ... so a third one, once both are admitted, is refused at once */
    struct sr_tk_conn c;
    sr_tk_conn_init(&c, cluster.nodes[0].http);
    snprintf(path, sizeof path, "/v1/kv/%s", local[0]); /* owned here: never waits */
    int st = -1;
    sr_time_us deadline = sr_time_mono_us() + 2 * SR_US_PER_S;
    while (sr_time_mono_us() < deadline &&
           (st = sr_tk_conn_request(&c, "GET", path, NULL, 0, out, sizeof out, NULL)) != 503)
        usleep(10000);
    cr_expect_eq(st, 503, "third request: %d %s", st, out);
    cr_expect(strcasestr(c.head, "\r\nRetry-After: ") != NULL, "%s", c.head);
    cr_expect(strstr(out, "max_inflight") != NULL, "%s", out);
    cr_assert_eq(sr_tk_signal(&cluster, 1, SIGCONT), 0);
    for (int i = 0; i < 2; i++)
        close(fd[i]);
    sr_tk_conn_close(&c);
    cr_expect_geq(metric(0, "swimring_refused_total{service=\"kv\",endpoint=\"get\",reason=\"inflight\"} "), 1);
}

struct ks_want { size_t node; const char *mode; };
static bool ks_in_force(struct sr_tk_cluster *h, void *ud)
{
    struct ks_want *w = ud;
    json_t *j = sr_tk_http(h->nodes[w->node].http, "GET", "/admin/killswitches");
    size_t i;
    json_t *e;
    bool ok = false;
    json_array_foreach(json_object_get(j, "killswitches"), i, e) {
        const char *ep = json_string_value(json_object_get(e, "endpoint"));
        const char *mode = json_string_value(json_object_get(e, "mode"));
        if (ep && mode && strcmp(ep, "put") == 0 && strcmp(mode, w->mode) == 0)
            ok = true;
    }
    json_decref(j);
    return ok;
}

static int put_ks(size_t node, const char *json)
{
    struct sr_tk_conn c;
    char out[1024];
    sr_tk_conn_init(&c, cluster.nodes[node].http);
    int st = sr_tk_conn_request(&c, "PUT", "/admin/killswitches", json, strlen(json), out,
                                     sizeof out, NULL);
    sr_tk_conn_close(&c);
    return st;
}

Test(kvd_limits, kill_switch_modes_spread_from_a_to_e, .timeout = 90, .fini = kill_all)
{
    static const char *const extra[] = {"--log-level", "warn", NULL};
    start(5, extra);
    char out[512], logpath[96];
    struct sr_tk_conn e;
    sr_tk_conn_init(&e, cluster.nodes[4].http);
    /* bad bodies are refused with the reason */
    cr_expect_eq(put_ks(0, "{\"service\":\"kv\",\"endpoint\":\"put\",\"mode\":\"explode\"}"), 400);
    cr_expect_eq(put_ks(0, "{\"service\":\"kv\",\"endpoint\":\"nope\",\"mode\":\"drop\"}"), 400);
    cr_expect_eq(put_ks(0, "not json"), 400);

    /* reject, set on A: in force on E within 5 s */
    sr_time_us t0 = sr_time_mono_us();
    cr_assert_eq(put_ks(0, "{\"service\":\"kv\",\"endpoint\":\"put\",\"mode\":\"reject\"}"), 200);
    struct ks_want w = {4, "reject"};
    cr_assert(sr_tk_wait(&cluster, t0 + 5 * SR_US_PER_S, ks_in_force, &w),
              "reject not in force on E within 5 s");
    cr_log_info("kill switch set on A in force on E after %.0f ms",
                (double)(sr_time_mono_us() - t0) / 1000.0);
    cr_expect_eq(sr_tk_conn_request(&e, "PUT", "/v1/kv/ks1", "v", 1, out, sizeof out, NULL), 503);
    cr_expect(strcasestr(e.head, "\r\nRetry-After: ") != NULL);
    cr_expect_eq(sr_tk_conn_request(&e, "GET", "/v1/kv/ks1", NULL, 0, out, sizeof out, NULL),
                 404, "other endpoints keep working");

    /* drop: success, data discarded */
    cr_assert_eq(put_ks(1, "{\"service\":\"kv\",\"endpoint\":\"put\",\"mode\":\"drop\"}"), 200);
    w.mode = "drop";
    cr_assert(sr_tk_wait(&cluster, sr_time_mono_us() + 5 * SR_US_PER_S, ks_in_force, &w));
    cr_expect_eq(sr_tk_conn_request(&e, "PUT", "/v1/kv/ks2", "v", 1, out, sizeof out, NULL), 200);
    cr_expect_eq(sr_tk_conn_request(&e, "GET", "/v1/kv/ks2", NULL, 0, out, sizeof out, NULL), 404);

    /* log: accepted (202) and appended to the file */
    snprintf(logpath, sizeof logpath, "/tmp/sr-ks-%d.log", (int)getpid());
    unlink(logpath);
    char body[256];
    snprintf(body, sizeof body, "{\"service\":\"kv\",\"endpoint\":\"put\",\"mode\":\"log\",\"file\":\"%s\"}", logpath);
    cr_assert_eq(put_ks(2, body), 200);
    w.mode = "log";
    cr_assert(sr_tk_wait(&cluster, sr_time_mono_us() + 5 * SR_US_PER_S, ks_in_force, &w));
    cr_expect_eq(sr_tk_conn_request(&e, "PUT", "/v1/kv/ks3", "logged-value", 12, out, sizeof out, NULL), 202);
    FILE *f = fopen(logpath, "r");
    cr_assert_not_null(f, "no kill switch log at %s", logpath);
    char line[512] = "";
    cr_expect_not_null(fgets(line, sizeof line, f));
    fclose(f);
    cr_expect(strstr(line, "key=ks3") && strstr(line, "body=\"logged-value\""), "%s", line);
    unlink(logpath);

    /* off: normal again everywhere */
    cr_assert_eq(put_ks(3, "{\"service\":\"kv\",\"endpoint\":\"put\",\"mode\":\"off\"}"), 200);
    w.mode = "off";
    cr_assert(sr_tk_wait(&cluster, sr_time_mono_us() + 5 * SR_US_PER_S, ks_in_force, &w));
    cr_expect_eq(sr_tk_conn_request(&e, "PUT", "/v1/kv/ks4", "v", 1, out, sizeof out, NULL) / 100, 2);
    cr_expect_eq(sr_tk_conn_request(&e, "GET", "/v1/kv/ks4", NULL, 0, out, sizeof out, NULL), 200);
    sr_tk_conn_close(&e);
}

struct lim_want { size_t node; long rate; };
static bool limit_in_force(struct sr_tk_cluster *h, void *ud)
{
    struct lim_want *w = ud;
    json_t *j = sr_tk_http(h->nodes[w->node].http, "GET", "/admin/limits");
    size_t i;
    json_t *e;
    bool ok = false;
    json_array_foreach(json_object_get(j, "limits"), i, e)
        if (!strcmp(json_string_value(json_object_get(e, "endpoint")), "get"))
            ok = json_integer_value(json_object_get(e, "rate_per_s")) == w->rate;
    json_decref(j);
    return ok;
}

Test(kvd_limits, limits_changed_at_run_time_reach_every_node, .timeout = 60, .fini = kill_all)
{
    static const char *const extra[] = {"--log-level", "warn", NULL};
    start(3, extra);
    char out[1024];
    struct sr_tk_conn a, c;
    sr_tk_conn_init(&a, cluster.nodes[0].http);
    const char *bad[] = {"{\"service\":\"kv\",\"endpoint\":\"get\",\"rate\":1}",
                         "{\"service\":\"kv\",\"endpoint\":\"get\",\"burst\":-1}",
                         "{\"service\":\"kv\",\"endpoint\":\"nope\"}", "[]"};
    for (size_t i = 0; i < 4; i++)
        cr_expect_eq(sr_tk_conn_request(&a, "PUT", "/admin/limits", bad[i], strlen(bad[i]), out,
                                        sizeof out, NULL), 400, "%s -> %s", bad[i], out);
    const char *set = "{\"service\":\"kv\",\"endpoint\":\"get\",\"rate_per_s\":1,\"burst\":1}";
    sr_time_us t0 = sr_time_mono_us();
    cr_assert_eq(sr_tk_conn_request(&a, "PUT", "/admin/limits", set, strlen(set), out, sizeof out,
                                    NULL), 200, "%s", out);
    struct lim_want w = {2, 1};
    cr_assert(sr_tk_wait(&cluster, t0 + 5 * SR_US_PER_S, limit_in_force, &w),
              "the limit set on node 0 is not in force on node 2 within 5 s");
    cr_log_info("limit in force on node 2 after %.0f ms", (double)(sr_time_mono_us() - t0) / 1000.0);
    sr_tk_conn_init(&c, cluster.nodes[2].http);
    c.headers = "X-Client-Id: carol\r\n";
    cr_expect_eq(sr_tk_conn_request(&c, "GET", "/v1/kv/l", NULL, 0, out, sizeof out, NULL), 404);
    cr_expect_eq(sr_tk_conn_request(&c, "GET", "/v1/kv/l", NULL, 0, out, sizeof out, NULL), 429);
    cr_expect_eq(sr_tk_conn_request(&c, "PUT", "/v1/kv/l", "v", 1, out, sizeof out, NULL), 204,
                 "other endpoints keep their limits");
    const char *unset = "{\"service\":\"kv\",\"endpoint\":\"get\",\"rate_per_s\":0}";
    cr_assert_eq(sr_tk_conn_request(&a, "PUT", "/admin/limits", unset, strlen(unset), out,
                                    sizeof out, NULL), 200);
    w.rate = 0;
    cr_assert(sr_tk_wait(&cluster, sr_time_mono_us() + 5 * SR_US_PER_S, limit_in_force, &w));
    cr_expect_eq(sr_tk_conn_request(&c, "GET", "/v1/kv/l", NULL, 0, out, sizeof out, NULL), 200);
    sr_tk_conn_close(&a);
    sr_tk_conn_close(&c);
}
