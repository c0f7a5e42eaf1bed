/* services/presence on 3 ringd processes (ringd --services presence), all
 * through HTTP: heartbeat/get/delete via every node, multi-session
 * aggregation, batchGet of 1,000 users over all owners, bad input (4xx
 * naming the problem, counted in /metrics), a TTL expiry giving exactly one
 * offline event, and a watch on node A following users owned by B and C in
 * order, also after the owner of one is kill -9ed. */
#include <criterion/criterion.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "swimring/testkit.h"

#define NODES 3
#define RINGD SR_BINARY_DIR "/tools/ringd/ringd"
#define SLACK_MS 3000 /* sanitizer builds on 2 shared cores */

static struct sr_tk_cluster cluster;
static void kill_all(void) { sr_tk_destroy(&cluster); }

static void start_cluster(void)
{
    static const char *const extra[] = {"--services", "presence", "--log-level", "warn", NULL};
    sr_tk_init(&cluster, RINGD, "local");
    cluster.extra = extra;
    cr_assert_eq(sr_tk_start(&cluster, NODES, sr_time_mono_us() + 30 * SR_US_PER_S), 0,
                 "cluster did not converge (logs in %s)", cluster.logdir);
}

/* One HTTP/1.0 request (the answer ends when the server closes, so its
 * size is not capped); the status, the JSON body to *out. */
static int req(size_t node, const char *method, const char *path, const char *body, json_t **out)
{
    size_t blen = body ? strlen(body) : 0, cap = 1 << 20, len = 0;
    char *buf = malloc(cap + 1), head[512];
    int fd = sr_tk_connect(cluster.nodes[node].http);
    cr_assert_not_null(buf);
    cr_assert_geq(fd, 0);
    int n = snprintf(head, sizeof head, "%s %s HTTP/1.0\r\nHost: x\r\nContent-Length: %zu\r\n\r\n",
                     method, path, blen);
    cr_assert_eq(write(fd, head, (size_t)n), n);
    cr_assert_eq(write(fd, body ? body : "", blen), (ssize_t)blen);
    ssize_t r;
    while (len < cap && (r = read(fd, buf + len, cap - len)) > 0)
        len += (size_t)r;
    close(fd);
    buf[len] = '\0';
    int st = strncmp(buf, "HTTP/1.", 7) == 0 ? atoi(buf + 9) : -1;
    char *b = strstr(buf, "\r\n\r\n");
    if (out)
        *out = b ? json_loads(b + 4, 0, NULL) : NULL;
    free(buf);
    return st;
}

static const char *jstr(json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }

/* The node index owning `user` (by node 0's ring). */
static size_t owner_of(const char *user)
{
    char path[192];
    snprintf(path, sizeof path, "/admin/lookup?key=%s", user);
    json_t *lk = sr_tk_http(cluster.nodes[0].http, "GET", path);
    const char *owner = jstr(lk, "owner");
    cr_assert_not_null(owner, "lookup %s", user);
    size_t i = 0;
    while (i < NODES && strcmp(cluster.nodes[i].gossip, owner) != 0)
        i++;
    json_decref(lk);
    cr_assert_lt(i, NODES);
    return i;
}

/* A user name owned by node `want`. */
static void user_owned_by(size_t want, const char *prefix, char *out, size_t outlen)
{
    for (int k = 0; k < 1000; k++) {
        snprintf(out, outlen, "%s-%d", prefix, k);
        if (owner_of(out) == want)
            return;
    }
    cr_assert_fail("no user owned by node %zu", want);
}

static long metric(size_t node, const char *line_prefix)
{
    struct sr_tk_conn c;
    size_t cap = 1 << 20, len = 0;
    char *buf = malloc(cap);
    sr_tk_conn_init(&c, cluster.nodes[node].http);
    int st = sr_tk_conn_request(&c, "GET", "/metrics", NULL, 0, buf, cap, &len);
    sr_tk_conn_close(&c);
    cr_assert_eq(st, 200);
    char want[256];
    snprintf(want, sizeof want, "\n%s", line_prefix);
    const char *p = strstr(buf, want);
    long v = p ? strtol(p + strlen(want), NULL, 10) : -1;
    free(buf);
    return v;
}

/* ---- SSE client ---------------------------------------------------------------------- */

struct sse {
    int fd;
    json_t *queued;             /* change events read, not yet expected */
    char buf[1 << 16];
    size_t len;
};

static void sse_open(struct sse *s, size_t node, const char *users)
{
    char rq[512];
    s->len = 0;
    s->buf[0] = '\0';
    s->queued = json_array();
    s->fd = sr_tk_connect(cluster.nodes[node].http);
    cr_assert_geq(s->fd, 0);
    int n = snprintf(rq, sizeof rq, "GET /v1/presence:watch?users=%s HTTP/1.0\r\nHost: x\r\n\r\n",
                     users);
    cr_assert_eq(write(s->fd, rq, (size_t)n), n);
}

/* The next event before `deadline` ("event" name to ev, data parsed), or
 * NULL. Skips the HTTP head and comment lines. */
static json_t *sse_next(struct sse *s, sr_time_us deadline, char *ev, size_t evlen)
{
    for (;;) {
        char *end;
        bool head = strncmp(s->buf, "HTTP/", 5) == 0;
        while ((end = strstr(s->buf, head ? "\r\n\r\n" : "\n\n"))) {
            size_t blk = (size_t)(end - s->buf) + (head ? 4 : 2);
            head = false;
            char block[1 << 15];
            memcpy(block, s->buf, blk < sizeof block ? blk : sizeof block - 1);
            block[blk < sizeof block ? blk : sizeof block - 1] = '\0';
            memmove(s->buf, s->buf + blk, s->len - blk + 1);
            s->len -= blk;
            char *e = strstr(block, "event: "), *d = strstr(block, "data: ");
            if (strncmp(block, "HTTP/", 5) == 0 || !e || !d)
                continue; /* the head, a keepalive comment */
            snprintf(ev, evlen, "%.*s", (int)strcspn(e + 7, "\n"), e + 7);
            d[6 + strcspn(d + 6, "\n")] = '\0';
            return json_loads(d + 6, 0, NULL);
        }
        sr_time_us now = sr_time_mono_us();
        if (now >= deadline)
            return NULL;
        struct pollfd pfd = {s->fd, POLLIN, 0};
        if (poll(&pfd, 1, (int)((deadline - now) / 1000) + 1) <= 0)
            continue;
        ssize_t r = read(s->fd, s->buf + s->len, sizeof s->buf - 1 - s->len);
        if (r <= 0)
            return NULL;
        s->len += (size_t)r;
        s->buf[s->len] = '\0';
    }
}

/* The next change event of `user` (events of other users stay queued for
 * their own turn): it must be of `type` (and session status `status` if
 * not NULL), because each user's events come in order. NULL at the
 * deadline. */
static json_t *expect_event(struct sse *s, const char *user, const char *type, const char *status,
                            uint32_t within_ms)
{
    sr_time_us deadline = sr_time_mono_us() + (within_ms + SLACK_MS) * SR_US_PER_MS;
    char ev[32];
    json_t *j = NULL;
    for (size_t i = 0; i < json_array_size(s->queued) && !j; i++)
        if (strcmp(jstr(json_array_get(s->queued, i), "user"), user) == 0) {
            j = json_incref(json_array_get(s->queued, i));
            json_array_remove(s->queued, i);
        }
    while (!j && (j = sse_next(s, deadline, ev, sizeof ev))) {
        bool change = strcmp(ev, "change") == 0;
        if (change && strcmp(jstr(j, "user"), user) == 0)
            break;
        if (change)
            json_array_append(s->queued, j);
        json_decref(j);
        j = NULL;
    }
    if (j) {
        char *dump = json_dumps(j, JSON_COMPACT);
        cr_assert_str_eq(jstr(j, "type"), type, "%s: got %s", user, dump);
        if (status)
            cr_assert_str_eq(jstr(j, "status"), status, "%s: got %s", user, dump);
        free(dump);
    }
    return j;
}

static void heartbeat(size_t via, const char *user, const char *sid, const char *body)
{
    char path[256];
    json_t *out = NULL;
    snprintf(path, sizeof path, "/v1/presence/%s/sessions/%s", user, sid);
    int st = req(via, "PUT", path, body, &out);
    cr_assert_eq(st, 200, "PUT %s via %zu: %d", path, via, st);
    json_decref(out);
}

/* ---- tests ----------------------------------------------------------------------------- */

Test(presence_cluster, round_trips_aggregation_batch_get_and_bad_input, .timeout = 240,
     .fini = kill_all)
{
    start_cluster();
    json_t *j;
    char path[128], user[32];
    /* heartbeat via each node, read via each node, delete via each node */
    for (size_t via = 0; via < NODES; via++) {
        snprintf(user, sizeof user, "rt-%zu", via);
        heartbeat(via, user, "xbox", "{\"status\":\"in_game\",\"meta\":{\"game\":\"halo\"}}");
        for (size_t r = 0; r < NODES; r++) {
            snprintf(path, sizeof path, "/v1/presence/%s", user);
            cr_assert_eq(req(r, "GET", path, NULL, &j), 200);
            cr_assert_str_eq(jstr(j, "status"), "in_game", "%s via %zu", user, r);
            cr_assert_str_eq(jstr(json_object_get(json_array_get(json_object_get(j, "sessions"), 0),
                                                  "meta"), "game"), "halo");
            json_decref(j);
        }
        snprintf(path, sizeof path, "/v1/presence/%s/sessions/xbox", user);
        cr_assert_eq(req((via + 1) % NODES, "DELETE", path, NULL, NULL), 200);
        cr_assert_eq(req((via + 2) % NODES, "DELETE", path, NULL, NULL), 404, "gone already");
        snprintf(path, sizeof path, "/v1/presence/%s", user);
        cr_assert_eq(req((via + 2) % NODES, "GET", path, NULL, &j), 200);
        cr_assert_str_eq(jstr(j, "status"), "offline");
        cr_assert_eq(json_array_size(json_object_get(j, "sessions")), 0u);
        json_decref(j);
    }
    /* several sessions: the most present wins (in_game > online > busy > away > offline) */
    heartbeat(0, "multi", "phone", "{\"status\":\"away\"}");
    heartbeat(1, "multi", "pc", "{\"status\":\"busy\"}");
    cr_assert_eq(req(2, "GET", "/v1/presence/multi", NULL, &j), 200);
    cr_assert_str_eq(jstr(j, "status"), "busy");
    json_decref(j);
    heartbeat(2, "multi", "xbox", "{\"status\":\"online\"}");
    cr_assert_eq(req(0, "GET", "/v1/presence/multi", NULL, &j), 200);
    cr_assert_str_eq(jstr(j, "status"), "online");
    cr_assert_eq(json_array_size(json_object_get(j, "sessions")), 3u);
    json_decref(j);
    cr_assert_eq(req(1, "DELETE", "/v1/presence/multi/sessions/xbox", NULL, NULL), 200);
    cr_assert_eq(req(0, "GET", "/v1/presence/multi", NULL, &j), 200);
    cr_assert_str_eq(jstr(j, "status"), "busy");
    json_decref(j);

    /* batchGet of 1,000 users spread over every owner; even ones online */
    struct sr_tk_conn conn[NODES];
    char body[64], out[4096];
    size_t outlen;
    int owners[NODES] = {0};
    for (size_t i = 0; i < NODES; i++)
        sr_tk_conn_init(&conn[i], cluster.nodes[i].http);
    for (int k = 0; k < 1000; k += 2) {
        snprintf(path, sizeof path, "/v1/presence/bg-%d/sessions/s", k);
        int n = snprintf(body, sizeof body, "{\"status\":\"online\",\"meta\":{\"k\":%d}}", k);
        int st = sr_tk_conn_request(&conn[k % NODES], "PUT", path, body, (size_t)n, out,
                                    sizeof out, &outlen);
        cr_assert_eq(st, 200, "PUT %s: %d %s", path, st, out);
    }
    for (size_t i = 0; i < NODES; i++)
        sr_tk_conn_close(&conn[i]);
    json_t *users = json_array();
    for (int k = 0; k < 1000; k++) {
        snprintf(user, sizeof user, "bg-%d", k);
        json_array_append_new(users, json_string(user));
        if (k % 10 == 0)
            owners[owner_of(user)]++;
    }
    for (size_t i = 0; i < NODES; i++)
        cr_assert_gt(owners[i], 0, "node %zu owns none of the sampled users", i);
    json_t *rq = json_pack("{s:o}", "users", users);
    char *rqs = json_dumps(rq, JSON_COMPACT);
    sr_time_us t0 = sr_time_mono_us();
    int st = req(1, "POST", "/v1/presence:batchGet", rqs, &j);
    cr_assert_eq(st, 200, "batchGet: %d", st);
    cr_log_info("batchGet of 1,000 users: %.1f ms", (double)(sr_time_mono_us() - t0) / 1000);
    json_t *views = json_object_get(j, "users");
    cr_assert_eq(json_array_size(views), 1000u);
    cr_assert(json_is_false(json_object_get(j, "partial")));
    for (int k = 0; k < 1000; k++) {
        json_t *v = json_array_get(views, (size_t)k);
        snprintf(user, sizeof user, "bg-%d", k);
        cr_assert_str_eq(jstr(v, "user"), user, "request order");
        cr_assert_str_eq(jstr(v, "status"), k % 2 ? "offline" : "online", "%s", user);
    }
    json_decref(j);
    json_decref(rq);
    free(rqs);

    /* bad input: a 4xx naming the problem, counted */
    static const struct {
        const char *method, *path, *body, *problem;
        int code;
    } bad[] = {
        {"PUT", "/v1/presence/u/sessions/s", "{\"status\":\"sleeping\"}", "unknown_status", 400},
        {"PUT", "/v1/presence/u/sessions/s", "{\"status\":", "bad_json", 400},
        {"PUT", "/v1/presence/u/sessions/s", "{\"ttl_s\":0}", "ttl_out_of_range", 400},
        {"PUT", "/v1/presence/u/sessions/s", "{\"ttl_s\":86401}", "ttl_out_of_range", 400},
        {"PUT", "/v1/presence/u/sessions/s", "{\"meta\":[1]}", "meta_not_object", 400},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_assert_eq(req(2, bad[i].method, bad[i].path, bad[i].body, &j), bad[i].code, "%s",
                     bad[i].body);
        cr_assert_str_eq(jstr(j, "problem"), bad[i].problem);
        cr_assert_not_null(jstr(j, "message"));
        json_decref(j);
    }
    char meta[1200] = "{\"meta\":{\"blob\":\"";
    memset(meta + strlen(meta), 'x', 600);
    strcat(meta, "\"}}");
    cr_assert_eq(req(2, "PUT", "/v1/presence/u/sessions/s", meta, &j), 413);
    cr_assert_str_eq(jstr(j, "problem"), "meta_too_big");
    json_decref(j);
    users = json_array();
    for (int k = 0; k < 1001; k++)
        json_array_append_new(users, json_sprintf("u%d", k));
    rq = json_pack("{s:o}", "users", users);
    rqs = json_dumps(rq, JSON_COMPACT);
    cr_assert_eq(req(2, "POST", "/v1/presence:batchGet", rqs, &j), 400);
    cr_assert_str_eq(jstr(j, "problem"), "too_many_users");
    cr_assert(strstr(jstr(j, "message"), "1001") != NULL, "%s", jstr(j, "message"));
    json_decref(j);
    json_decref(rq);
    free(rqs);
    cr_assert_eq(metric(2, "presence_bad_requests_total{problem=\"unknown_status\"} "), 1);
    cr_assert_eq(metric(2, "presence_bad_requests_total{problem=\"bad_json\"} "), 1);
    cr_assert_eq(metric(2, "presence_bad_requests_total{problem=\"ttl_out_of_range\"} "), 2);
    cr_assert_eq(metric(2, "presence_bad_requests_total{problem=\"meta_too_big\"} "), 1);
    cr_assert_eq(metric(2, "presence_bad_requests_total{problem=\"too_many_users\"} "), 1);
    cr_assert_eq(metric(0, "presence_bad_requests_total{problem=\"meta_too_big\"} "), 0,
                 "counted where it arrived");
}

Test(presence_cluster, ttl_expiry_emits_exactly_one_offline_event, .timeout = 120,
     .fini = kill_all)
{
    start_cluster();
    char user[32];
    user_owned_by(1, "exp", user, sizeof user);
    struct sse s;
    char ev[32];
    sse_open(&s, 0, user);
    json_t *snap = sse_next(&s, sr_time_mono_us() + (2000 + SLACK_MS) * SR_US_PER_MS, ev, sizeof ev);
    cr_assert_not_null(snap);
    cr_assert_str_eq(ev, "snapshot");
    json_decref(snap);
    char path[128];
    json_t *j;
    snprintf(path, sizeof path, "/v1/presence/%s/sessions/s1", user);
    cr_assert_eq(req(2, "PUT", path, "{\"status\":\"online\",\"ttl_s\":2}", &j), 200);
    json_int_t expires = json_integer_value(
        json_object_get(json_array_get(json_object_get(j, "sessions"), 0), "expires"));
    json_decref(j);
    json_decref(expect_event(&s, user, "online", "online", 1000));
    json_t *off = expect_event(&s, user, "offline", "offline", 2000);
    for (size_t i = 0; !off && i < NODES; i++)
        cr_log_info("node %zu: polls %ld parked %ld subs %ld events %ld watches %ld", i,
                    metric(i, "presence_ops_total{op=\"poll\"} "),
                    metric(i, "presence_watch_polls_parked_total "),
                    metric(i, "presence_watch_subscriptions "),
                    metric(i, "presence_watch_events_total "), metric(i, "presence_watches "));
    cr_assert_not_null(off, "no offline event");
    cr_assert_str_eq(jstr(off, "reason"), "expired");
    cr_assert_geq(json_integer_value(json_object_get(off, "ts")), expires, "not before its ttl");
    json_decref(off);
    /* and never again: nothing more for this user within two more ttls */
    sr_time_us until = sr_time_mono_us() + 4 * SR_US_PER_S;
    while ((j = sse_next(&s, until, ev, sizeof ev))) {
        cr_assert(strcmp(ev, "change") != 0, "a second event: %s", json_dumps(j, 0));
        json_decref(j);
    }
    cr_assert_eq(req(0, "GET", path, NULL, NULL), 405);
    snprintf(path, sizeof path, "/v1/presence/%s", user);
    cr_assert_eq(req(0, "GET", path, NULL, &j), 200);
    cr_assert_str_eq(jstr(j, "status"), "offline");
    json_decref(j);
    /* the client goes away: node 0 drops the stream */
    cr_assert_eq(metric(0, "presence_watches "), 1);
    close(s.fd);
    json_decref(s.queued);
    sr_time_us gone = sr_time_mono_us() + (1000 + SLACK_MS) * SR_US_PER_MS;
    while (metric(0, "presence_watches ") != 0 && sr_time_mono_us() < gone)
        usleep(20000);
    cr_assert_eq(metric(0, "presence_watches "), 0, "the stream outlived its client");
}

Test(presence_cluster, watch_on_a_follows_users_of_b_and_c_across_a_kill, .timeout = 180,
     .fini = kill_all)
{
    start_cluster();
    char ub[32], uc[32], list[80];
    user_owned_by(1, "wb", ub, sizeof ub);
    user_owned_by(2, "wc", uc, sizeof uc);
    snprintf(list, sizeof list, "%s,%s", ub, uc);
    struct sse s;
    char ev[32];
    sse_open(&s, 0, list);
    for (int i = 0; i < 2; i++) {
        json_t *snap = sse_next(&s, sr_time_mono_us() + (2000 + SLACK_MS) * SR_US_PER_MS, ev,
                                sizeof ev);
        cr_assert_not_null(snap, "snapshot %d", i);
        cr_assert_str_eq(ev, "snapshot");
        json_decref(snap);
    }
    /* a sequence of changes for each, through every node */
    heartbeat(1, ub, "s1", "{\"status\":\"online\"}");
    heartbeat(2, uc, "s1", "{\"status\":\"online\",\"meta\":{\"map\":\"a\"}}");
    heartbeat(0, ub, "s1", "{\"status\":\"busy\"}");
    heartbeat(1, uc, "s1", "{\"status\":\"online\",\"meta\":{\"map\":\"b\"}}");
    heartbeat(2, ub, "s2", "{\"status\":\"away\"}");
    char path[128];
    snprintf(path, sizeof path, "/v1/presence/%s/sessions/s1", uc);
    cr_assert_eq(req(0, "DELETE", path, NULL, NULL), 200);
    json_t *e;
    cr_assert_not_null(e = expect_event(&s, ub, "online", "online", 2000));
    json_decref(e);
    cr_assert_not_null(e = expect_event(&s, uc, "online", "online", 2000));
    json_decref(e);
    cr_assert_not_null(e = expect_event(&s, ub, "status", "busy", 2000));
    json_decref(e);
    cr_assert_not_null(e = expect_event(&s, uc, "meta", "online", 2000));
    cr_assert_str_eq(jstr(json_object_get(e, "meta"), "map"), "b");
    json_decref(e);
    cr_assert_not_null(e = expect_event(&s, ub, "online", "away", 2000));
    cr_assert_str_eq(jstr(e, "aggregate"), "busy");
    json_decref(e);
    cr_assert_not_null(e = expect_event(&s, uc, "offline", "offline", 2000));
    json_decref(e);

    /* kill -9 the owner of ub; ub heartbeats again (through C): the watch on
     * A sees it from ub's new owner */
    cr_assert_eq(sr_tk_signal(&cluster, 1, SIGKILL), 0);
    sr_tk_reap(&cluster, 1, sr_time_mono_us() + 5 * SR_US_PER_S);
    cr_assert(sr_tk_wait_converged(&cluster, sr_time_mono_us() + 30 * SR_US_PER_S),
              "the survivors did not agree on the ring");
    heartbeat(2, ub, "s1", "{\"status\":\"in_game\"}");
    cr_assert_not_null(e = expect_event(&s, ub, "status", "in_game", 20000),
                       "no event after the owner was killed");
    cr_assert_str_eq(jstr(e, "aggregate"), "in_game");
    json_decref(e);
    /* s2, written before the kill, survived on ub's replica (replicas 2) */
    char upath[96];
    json_t *view;
    snprintf(upath, sizeof upath, "/v1/presence/%s", ub);
    cr_assert_eq(req(0, "GET", upath, NULL, &view), 200);
    cr_assert_eq(json_array_size(json_object_get(view, "sessions")), 2u, "%s",
                 json_dumps(view, JSON_COMPACT));
    json_decref(view);
    heartbeat(0, uc, "s9", "{\"status\":\"online\"}");
    cr_assert_not_null(e = expect_event(&s, uc, "online", "online", 5000));
    json_decref(e);
    close(s.fd);
    json_decref(s.queued);
}

/* The state hooks at work: a fourth node joins and takes over its share of
 * the users (handoff), a node leaves gracefully and hands its share on;
 * every user stays online with its meta, and the holders of each user add up
 * to exactly its replica set. */
static long presence_keys(size_t i)
{
    json_t *j = sr_tk_http(cluster.nodes[i].http, "GET", "/admin/status");
    json_t *k = json_object_get(json_object_get(json_object_get(j, "services"), "presence"), "keys");
    long v = json_is_integer(k) ? (long)json_integer_value(k) : -1;
    json_decref(j);
    return v;
}

struct held {
    long users;
    size_t skip;        /* a node not counted (leaving), or SIZE_MAX */
};

static bool users_held_twice(struct sr_tk_cluster *h, void *ud)
{
    const struct held *w = ud;
    long total = 0;
    for (size_t i = 0; i < h->n; i++)
        if (h->nodes[i].pid > 0 && i != w->skip)
            total += presence_keys(i);
    return total == 2 * w->users; /* state.replicas 2 */
}

/* Node 3 (the newcomer) holds users and every user is held twice. */
static bool new_node_took_its_share(struct sr_tk_cluster *h, void *ud)
{
    return presence_keys(3) > 0 && users_held_twice(h, ud);
}

Test(presence_cluster, join_and_graceful_leave_hand_users_over, .timeout = 180, .fini = kill_all)
{
    start_cluster();
    long users = 300;
    struct held held = {users, SIZE_MAX};
    char path[96], body[64], user[32];
    for (long k = 0; k < users; k++) {
        snprintf(path, sizeof path, "/v1/presence/hand-%ld/sessions/s", k);
        snprintf(body, sizeof body, "{\"meta\":{\"k\":%ld},\"ttl_s\":600}", k);
        cr_assert_eq(req((size_t)k % NODES, "PUT", path, body, NULL), 200);
    }
    cr_assert(sr_tk_wait(&cluster, sr_time_mono_us() + 20 * SR_US_PER_S, users_held_twice, &held),
              "users not on exactly two nodes before the join");
    /* a watch on node 0 of users all over the ring, through the join and
     * the leave: no session may seem to vanish while users move */
    enum { WATCHED = 12 };
    char list[256] = "", ev[32];
    struct sse s;
    for (int k = 0; k < WATCHED; k++)
        snprintf(list + strlen(list), sizeof list - strlen(list), "%shand-%d", k ? "," : "", k);
    sse_open(&s, 0, list);
    for (int k = 0; k < WATCHED; k++) {
        json_t *snap = sse_next(&s, sr_time_mono_us() + (2000 + SLACK_MS) * SR_US_PER_MS, ev,
                                sizeof ev);
        cr_assert_not_null(snap, "snapshot %d", k);
        cr_assert_str_eq(ev, "snapshot");
        json_decref(snap);
    }
    int n3 = sr_tk_spawn(&cluster, cluster.nodes[0].gossip);
    cr_assert_eq(n3, 3);
    cr_assert(sr_tk_wait_converged(&cluster, sr_time_mono_us() + 30 * SR_US_PER_S));
    cr_assert(sr_tk_wait(&cluster, sr_time_mono_us() + 30 * SR_US_PER_S, new_node_took_its_share,
                         &held), "after the join: node 3 holds %ld", presence_keys(3));
    json_decref(sr_tk_http(cluster.nodes[1].http, "POST", "/admin/leave"));
    held.skip = 1; /* the others hold every user twice: the handoff is done */
    cr_assert(sr_tk_wait(&cluster, sr_time_mono_us() + 30 * SR_US_PER_S, users_held_twice, &held),
              "the leaving node did not hand its users over");
    sr_tk_signal(&cluster, 1, SIGKILL);
    sr_tk_reap(&cluster, 1, sr_time_mono_us() + 5 * SR_US_PER_S);
    cr_assert(sr_tk_wait_converged(&cluster, sr_time_mono_us() + 30 * SR_US_PER_S));
    cr_assert(sr_tk_wait(&cluster, sr_time_mono_us() + 30 * SR_US_PER_S, users_held_twice, &held),
              "after the leave");
    for (int k = 0; k < WATCHED; k++) {
        snprintf(path, sizeof path, "/v1/presence/hand-%d/sessions/s", k);
        snprintf(body, sizeof body, "{\"status\":\"busy\",\"meta\":{\"k\":%d}}", k);
        cr_assert_eq(req((size_t)k % 2 ? 0 : 3, "PUT", path, body, NULL), 200);
    }
    for (int k = 0; k < WATCHED; k++) {
        snprintf(user, sizeof user, "hand-%d", k);
        json_t *e = expect_event(&s, user, "status", "busy", 5000);
        cr_assert_not_null(e, "no event for %s after the join and the leave", user);
        json_decref(e);
    }
    close(s.fd);
    json_decref(s.queued);
    for (long k = WATCHED; k < users; k++) {
        json_t *j;
        snprintf(user, sizeof user, "/v1/presence/hand-%ld", k);
        cr_assert_eq(req(k % 2 ? 0 : 3, "GET", user, NULL, &j), 200);
        cr_assert_str_eq(jstr(j, "status"), "online", "hand-%ld", k);
        json_t *meta = json_object_get(json_array_get(json_object_get(j, "sessions"), 0), "meta");
        cr_assert_eq(json_integer_value(json_object_get(meta, "k")), k);
        json_decref(j);
    }
}
