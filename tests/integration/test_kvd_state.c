/* State that survives (issue 7), with examples/kvd as real processes on
 * 127.0.0.1:
 *   - replicas=2, ack_replicas=2: 50,000 keys, then kill -9 one node (while
 *     5,000 keys are being rewritten), wait until it is declared faulty and
 *     the survivors re-replicated, kill -9 another: every acknowledged key
 *     reads back with its last acknowledged value;
 *   - 3 nodes join a loaded 5-node cluster, then 2 leave gracefully
 *     (SIGTERM): no key lost, and the /admin/state counters show every key
 *     held by exactly its replica set;
 *   - an append retried 5 times with one Idempotency-Key changes the value
 *     once, also after its owner was killed (the replica learned the id);
 *   - a GET whose owner is SIGSTOPped is answered by a backup read: by the
 *     key's replica (counted on both), or by the entry node's own copy;
 *     an append to the stopped owner is not backed up.
 * With virtual nodes every pair of members shares some replica sets, so
 * "non-adjacent" victims do not exist on this ring: the second kill always
 * hits keys whose other copy was on the first victim. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "swimring/testkit.h"

#define KVD SR_BINARY_DIR "/examples/kvd/kvd"

static struct sr_tk_cluster cluster;
static void kill_all(void) { sr_tk_destroy(&cluster); }

static long jget(json_t *o, const char *a, const char *b)
{
    json_t *v = json_object_get(o, a);
    if (b)
        v = json_object_get(v, b);
    return json_is_integer(v) ? (long)json_integer_value(v) : -1;
}

static void start(size_t n, const char *replicas, const char *acks)
{
    /* The longest request-id window: a machine booted less than a day ago
     * has a monotonic clock younger than it (a wrapped cut once forgot
     * every id on fresh machines). */
    static const char *extra[] = {"--log-level", "warn", "--set", "state.idem_window_ms=86400000",
                                  "--replicas", NULL, "--ack-replicas", NULL, NULL};
    extra[5] = replicas;
    extra[7] = acks;
    sr_tk_init(&cluster, KVD, "local");
    cluster.extra = extra;
    cr_assert_eq(sr_tk_start(&cluster, n, sr_time_mono_us() + 30 * SR_US_PER_S), 0,
                 "cluster did not converge (logs in %s)", cluster.logdir);
}

/* A PUT retried (same value) until acknowledged or out of tries. */
static bool put(struct sr_tk_conn *c, const char *key, const char *val)
{
    char path[96], out[256];
    size_t outlen;
    snprintf(path, sizeof path, "/v1/kv/%s", key);
    for (int t = 0; t < 20; t++) {
        int st = sr_tk_conn_request(c, "PUT", path, val, strlen(val), out, sizeof out, &outlen);
        if (st >= 200 && st < 300)
            return true;
        usleep(100000);
    }
    return false;
}

static int get(struct sr_tk_conn *c, const char *key, char *out, size_t cap)
{
    char path[96];
    size_t outlen;
    snprintf(path, sizeof path, "/v1/kv/%s", key);
    return sr_tk_conn_request(c, "GET", path, NULL, 0, out, cap, &outlen);
}

/* Handoff is done everywhere: nothing queued or in flight, no pass due. */
static bool quiet(struct sr_tk_cluster *h, void *ud)
{
    (void)ud;
    for (size_t i = 0; i < h->n; i++) {
        if (h->nodes[i].pid <= 0)
            continue;
        json_t *j = sr_tk_http(h->nodes[i].http, "GET", "/admin/state");
        bool ok = j && jget(j, "pending", NULL) == 0 &&
                  json_is_false(json_object_get(j, "pass_scheduled"));
        json_decref(j);
        if (!ok)
            return false;
    }
    return true;
}

struct faulty_of {
    const char *addr;
};

/* Every running node says `addr` is faulty. */
static bool declared_faulty(struct sr_tk_cluster *h, void *ud)
{
    const char *addr = ud;
    char st[32];
    for (size_t i = 0; i < h->n; i++) {
        if (h->nodes[i].pid <= 0)
            continue;
        sr_tk_status_of(h, i, addr, st, sizeof st);
        if (strcmp(st, "faulty") != 0 && strcmp(st, "") != 0)
            return false;
    }
    return true;
}

static size_t first_running(const struct sr_tk_cluster *h, size_t from)
{
    for (size_t i = 0; i < h->n; i++)
        if (h->nodes[(from + i) % h->n].pid > 0)
            return (from + i) % h->n;
    return 0;
}

/* ---- two kill -9s, replicas 2, ack 2 ---------------------------------------- */

#define KEYS 50000
#define REWRITE 5000

Test(kvd_state, acked_writes_survive_two_kills, .timeout = 400, .fini = kill_all)
{
    start(5, "2", "2");
    struct sr_tk_conn c[5];
    static unsigned char version[KEYS], tried[KEYS];
    char key[32], val[64];
    for (size_t i = 0; i < 5; i++)
        sr_tk_conn_init(&c[i], cluster.nodes[i].http);
    for (int k = 0; k < KEYS; k++) {
        snprintf(key, sizeof key, "k%d", k);
        snprintf(val, sizeof val, "v1-%d", k);
        cr_assert(put(&c[k % 5], key, val), "PUT %s never acknowledged", key);
        version[k] = tried[k] = 1;
    }
    /* kill -9 node 1; meanwhile rewrite keys through node 0 */
    size_t x = 1, y = 3;
    sr_tk_conn_close(&c[x]);
    cr_assert_eq(sr_tk_signal(&cluster, x, SIGKILL), 0);
    cr_assert_eq(sr_tk_reap(&cluster, x, sr_time_mono_us() + 5 * SR_US_PER_S), 128 + SIGKILL);
    int acked = 0;
    for (int k = 0; k < REWRITE; k++) {
        snprintf(key, sizeof key, "k%d", k);
        snprintf(val, sizeof val, "v2-%d", k);
        tried[k] = 2;
        if (put(&c[0], key, val)) {
            version[k] = 2;
            acked++;
        }
    }
    cr_log_info("rewrites acknowledged during the first kill: %d of %d", acked, REWRITE);
    cr_assert_gt(acked, REWRITE / 2);
    cr_assert(sr_tk_wait(&cluster, sr_time_mono_us() + 30 * SR_US_PER_S, declared_faulty,
                         cluster.nodes[x].gossip), "node %zu not declared faulty", x);
    cr_assert(sr_tk_wait(&cluster, sr_time_mono_us() + 60 * SR_US_PER_S, quiet, NULL),
              "handoff did not finish after the first kill");
    sr_tk_conn_close(&c[y]);
    cr_assert_eq(sr_tk_signal(&cluster, y, SIGKILL), 0);
    cr_assert_eq(sr_tk_reap(&cluster, y, sr_time_mono_us() + 5 * SR_US_PER_S), 128 + SIGKILL);
    cr_assert(sr_tk_wait(&cluster, sr_time_mono_us() + 30 * SR_US_PER_S, declared_faulty,
                         cluster.nodes[y].gossip), "node %zu not declared faulty", y);
    /* every key, through the survivors */
    char out[256];
    int lost = 0;
    for (int k = 0; k < KEYS; k++) {
        size_t via = first_running(&cluster, (size_t)k);
        snprintf(key, sizeof key, "k%d", k);
        int st = get(&c[via], key, out, sizeof out);
        char want[64], alt[64];
        snprintf(want, sizeof want, "v%d-%d", version[k], k);
        snprintf(alt, sizeof alt, "v%d-%d", tried[k], k); /* unacknowledged: may have landed */
        if (st != 200 || (strcmp(out, want) != 0 && strcmp(out, alt) != 0)) {
            if (lost++ < 10)
                cr_log_error("%s: %d '%s', want '%s'", key, st, out, want);
        }
    }
    for (size_t i = 0; i < 5; i++)
        sr_tk_conn_close(&c[i]);
    cr_assert_eq(lost, 0, "%d of %d acknowledged keys lost or wrong", lost, KEYS);
}

/* ---- grow by 3, shrink by 2 gracefully ------------------------------------------- */

#define GKEYS 20000

struct counts {
    long keys, owned, replica, stray;
    size_t members;
};

/* Sum of /admin/state over the running nodes: owned + replica copies and
 * copies held outside the key's replica set. */
static bool state_counts(struct sr_tk_cluster *h, struct counts *c)
{
    memset(c, 0, sizeof(*c));
    for (size_t i = 0; i < h->n; i++) {
        if (h->nodes[i].pid <= 0)
            continue;
        json_t *j = sr_tk_http(h->nodes[i].http, "GET", "/admin/state");
        json_t *kv = json_object_get(json_object_get(j, "services"), "kv");
        if (!kv) {
            json_decref(j);
            return false;
        }
        c->owned += jget(kv, "owned", NULL);
        c->replica += jget(kv, "replica", NULL);
        c->stray += jget(kv, "stray", NULL);
        json_decref(j);
    }
    return true;
}

/* Handoff finished and the copies are exactly where the ring says: no
 * stray copy anywhere, GKEYS owned and GKEYS replica copies in all. Since
 * a node holds a key at most once and a held key is always in its
 * 2-member replica set (no strays), 2 x GKEYS copies mean every key is on
 * both members of its set. */
static bool placed(struct sr_tk_cluster *h, void *ud)
{
    struct counts *c = ud;
    return sr_tk_converged(h) && quiet(h, NULL) && state_counts(h, c) && c->stray == 0 &&
           c->owned == GKEYS && c->replica == GKEYS;
}

static void read_all(size_t from)
{
    struct sr_tk_conn conn;
    char key[32], want[64], out[256];
    sr_tk_conn_init(&conn, cluster.nodes[first_running(&cluster, from)].http);
    for (int k = 0; k < GKEYS; k++) {
        snprintf(key, sizeof key, "g%d", k);
        snprintf(want, sizeof want, "val-%d", k);
        int st = get(&conn, key, out, sizeof out);
        cr_assert(st == 200 && strcmp(out, want) == 0, "%s: %d '%s'", key, st, out);
    }
    sr_tk_conn_close(&conn);
}

Test(kvd_state, join_three_then_leave_two, .timeout = 400, .fini = kill_all)
{
    start(5, "2", "2");
    struct sr_tk_conn conn;
    char key[32], val[64];
    sr_tk_conn_init(&conn, cluster.nodes[0].http);
    for (int k = 0; k < GKEYS; k++) {
        snprintf(key, sizeof key, "g%d", k);
        snprintf(val, sizeof val, "val-%d", k);
        cr_assert(put(&conn, key, val), "PUT %s", key);
    }
    sr_tk_conn_close(&conn);
    struct counts c;
    cr_assert(sr_tk_wait(&cluster, sr_time_mono_us() + 30 * SR_US_PER_S, placed, &c),
              "before: owned %ld replica %ld stray %ld", c.owned, c.replica, c.stray);
    for (int i = 0; i < 3; i++)
        cr_assert_geq(sr_tk_spawn(&cluster, cluster.nodes[0].gossip), 0);
    cr_assert(sr_tk_wait(&cluster, sr_time_mono_us() + 60 * SR_US_PER_S, placed, &c),
              "after 3 joined: owned %ld replica %ld stray %ld", c.owned, c.replica, c.stray);
    for (size_t i = 5; i < 8; i++) { /* the newcomers got their share */
        json_t *j = sr_tk_http(cluster.nodes[i].http, "GET", "/admin/state");
        long held = jget(json_object_get(json_object_get(j, "services"), "kv"), "owned", NULL);
        cr_assert_gt(held, GKEYS / 8 / 3, "new node %zu owns %ld keys", i, held);
        json_decref(j);
    }
    read_all(6);
    /* two leave gracefully: one old, one new */
    size_t leave[2] = {2, 6};
    for (int i = 0; i < 2; i++)
        cr_assert_eq(sr_tk_signal(&cluster, leave[i], SIGTERM), 0);
    for (int i = 0; i < 2; i++)
        cr_assert_eq(sr_tk_reap(&cluster, leave[i], sr_time_mono_us() + 40 * SR_US_PER_S), 0,
                     "node %zu did not exit after handing off", leave[i]);
    cr_assert(sr_tk_wait(&cluster, sr_time_mono_us() + 60 * SR_US_PER_S, placed, &c),
              "after 2 left: owned %ld replica %ld stray %ld", c.owned, c.replica, c.stray);
    read_all(0);
}

/* ---- one request id, five tries --------------------------------------------------- */

static int append(const char *http, const char *rid)
{
    struct sr_tk_conn c;
    int st;
    char hdr[128], out[256];
    size_t outlen;
    sr_tk_conn_init(&c, http);
    if (rid) {
        snprintf(hdr, sizeof hdr, "Idempotency-Key: %s\r\n", rid);
        c.headers = hdr;
    }
    st = sr_tk_conn_request(&c, "POST", "/v1/kv/counter/append", "x", 1, out, sizeof out, &outlen);
    sr_tk_conn_close(&c);
    if (st != 204)
        cr_log_warn("append via %s (id %s): %d %s", http, rid ? rid : "-", st, out);
    return st;
}

static void expect_value(const char *http, const char *want)
{
    struct sr_tk_conn c;
    char out[256];
    sr_tk_conn_init(&c, http);
    int st = get(&c, "counter", out, sizeof out);
    sr_tk_conn_close(&c);
    cr_assert(st == 200 && strcmp(out, want) == 0, "counter: %d '%s', want '%s'", st, out, want);
}

Test(kvd_state, retried_write_applies_once, .timeout = 120, .fini = kill_all)
{
    start(3, "2", "2");
    for (int t = 0; t < 5; t++) /* through every node in turn */
        cr_assert_eq(append(cluster.nodes[t % 3].http, "req-1"), 204, "try %d", t);
    expect_value(cluster.nodes[1].http, "x");
    for (int t = 0; t < 3; t++) /* the control: without an id each one counts */
        cr_assert_eq(append(cluster.nodes[t % 3].http, NULL), 204);
    expect_value(cluster.nodes[2].http, "xxxx");
    /* the owner dies; its replica owns the key now and knows req-1 */
    json_t *lk = sr_tk_http(cluster.nodes[0].http, "GET", "/admin/lookup?key=counter");
    const char *owner = json_string_value(json_object_get(lk, "owner"));
    cr_assert_not_null(owner);
    size_t o = 0;
    while (o < 3 && strcmp(cluster.nodes[o].gossip, owner) != 0)
        o++;
    json_decref(lk);
    cr_assert_lt(o, 3);
    cr_assert_eq(sr_tk_signal(&cluster, o, SIGKILL), 0);
    cr_assert_eq(sr_tk_reap(&cluster, o, sr_time_mono_us() + 5 * SR_US_PER_S), 128 + SIGKILL);
    cr_assert(sr_tk_wait(&cluster, sr_time_mono_us() + 30 * SR_US_PER_S, declared_faulty,
                         cluster.nodes[o].gossip));
    size_t other = (o + 1) % 3;
    cr_assert_eq(append(cluster.nodes[other].http, "req-1"), 204);
    expect_value(cluster.nodes[other].http, "xxxx");
    cr_assert_eq(append(cluster.nodes[other].http, "req-2"), 204);
    expect_value(cluster.nodes[other].http, "xxxxx");
    json_t *st = sr_tk_http(cluster.nodes[other].http, "GET", "/admin/state");
    cr_log_info("idem_replayed on node %zu: %ld", other,
                jget(json_object_get(st, "counters"), "idem_replayed", NULL));
    json_decref(st);
}

/* ---- a backup read while the owner is SIGSTOPped ------------------------------------ */

/* Index of the node whose gossip address is `addr`, or h->n. */
static size_t node_at(const struct sr_tk_cluster *h, const char *addr)
{
    size_t i = 0;
    while (i < h->n && strcmp(h->nodes[i].gossip, addr) != 0)
        i++;
    return i;
}

/* A key node 0 sees with replica set {owner, replica} where node 0 is
 * (as_replica) or is not the replica; owner != node 0. */
static void key_placed(bool as_replica, char *key, size_t len, size_t *owner, size_t *replica)
{
    char path[96];
    for (int k = 0; k < 10000; k++) {
        snprintf(key, len, "b%d", k);
        snprintf(path, sizeof path, "/admin/lookup?key=%s&n=2", key);
        json_t *j = sr_tk_http(cluster.nodes[0].http, "GET", path);
        json_t *set = json_object_get(j, "replicas");
        if (json_array_size(set) == 2) {
            *owner = node_at(&cluster, json_string_value(json_array_get(set, 0)));
            *replica = node_at(&cluster, json_string_value(json_array_get(set, 1)));
        }
        json_decref(j);
        if (*owner != 0 && *owner < cluster.n && *replica < cluster.n &&
            (*replica == 0) == as_replica)
            return;
    }
    cr_assert_fail("no key placed so");
}

static long counter_of(size_t i, const char *name)
{
    json_t *j = sr_tk_http(cluster.nodes[i].http, "GET", "/admin/state");
    long v = jget(json_object_get(j, "counters"), name, NULL);
    json_decref(j);
    return v;
}

/* One GET through node 0: status, body, who served it, how long it took. */
static int timed_get(struct sr_tk_conn *c, const char *key, char *out, size_t cap, char *by,
                     size_t bylen, double *ms)
{
    sr_time_us t0 = sr_time_mono_us();
    int st = get(c, key, out, cap);
    *ms = (double)(sr_time_mono_us() - t0) / 1e3;
    const char *h = strcasestr(c->head, "\r\nX-Served-By: ");
    snprintf(by, bylen, "%.*s", h ? (int)strcspn(h + 15, "\r\n") : 0, h ? h + 15 : "");
    return st;
}

Test(kvd_state, backup_read_answers_while_the_owner_is_stopped, .timeout = 120, .fini = kill_all)
{
    start(3, "2", "2"); /* ack 2: every acknowledged write is on the replica too */
    char k1[32], k2[32], out[256], by[64];
    size_t o1 = 0, r1 = 0, o2 = 0, r2 = 0;
    key_placed(false, k1, sizeof k1, &o1, &r1);
    key_placed(true, k2, sizeof k2, &o2, &r2);
    struct sr_tk_conn c;
    sr_tk_conn_init(&c, cluster.nodes[0].http);
    cr_assert(put(&c, k1, "one") && put(&c, k2, "two"));
    double ms;
    for (int i = 0; i < 30; i++) /* the owners' answers: the delay's samples */
        cr_assert_eq(timed_get(&c, k1, out, sizeof out, by, sizeof by, &ms), 200);
    json_t *st = sr_tk_http(cluster.nodes[0].http, "GET", "/admin/state");
    json_t *bk = json_object_get(json_object_get(st, "backup"), "kv/get");
    long delay_us = jget(bk, "delay_us", NULL);
    cr_log_info("kv/get backup delay %ld us (p95 %ld us of %ld answers)", delay_us,
                jget(bk, "p95_us", NULL), jget(bk, "samples", NULL));
    json_decref(st);
    cr_assert_geq(delay_us, 2000);
    long sent = counter_of(0, "backup_sent"), won = counter_of(0, "backup_won");
    long served = counter_of(r1, "backup_served");

    /* the owner of k1 stops: its replica answers from its copy */
    cr_assert_eq(sr_tk_signal(&cluster, o1, SIGSTOP), 0);
    int code = timed_get(&c, k1, out, sizeof out, by, sizeof by, &ms);
    cr_log_info("k1 with its owner stopped: %d in %.1f ms from %s", code, ms, by);
    cr_expect_eq(code, 200);
    cr_expect_str_eq(out, "one");
    cr_expect_str_eq(by, cluster.nodes[r1].gossip, "served by the replica");
    cr_expect_geq(ms * 1000, (double)delay_us, "not before the delay");
    cr_expect_lt(ms, 1000, "well before the owner (which never answers while stopped)");
    cr_expect_eq(counter_of(0, "backup_sent"), sent + 1);
    cr_expect_eq(counter_of(0, "backup_won"), won + 1);
    cr_expect_eq(counter_of(r1, "backup_served"), served + 1, "the replica counts it");
    char path[96];
    snprintf(path, sizeof path, "/admin/lookup?key=%s", k1);
    json_t *lk = sr_tk_http(cluster.nodes[0].http, "GET", path);
    cr_expect_str_eq(json_string_value(json_object_get(lk, "owner")), cluster.nodes[o1].gossip,
                     "the ring still names the stopped owner: a backup, not a ring change");
    json_decref(lk);
    cr_assert_eq(sr_tk_signal(&cluster, o1, SIGCONT), 0);
    cr_assert(sr_tk_wait_converged(&cluster, sr_time_mono_us() + 30 * SR_US_PER_S));

    /* the owner of k2 stops; node 0 holds k2's other copy and answers itself.
     * An append to k2 sent just before is not idempotent: it waits for the
     * owner (SR_ECONNLOST once the owner is declared faulty, or the client's
     * 2 s receive timeout), never a backup. */
    sent = counter_of(0, "backup_sent");
    won = counter_of(0, "backup_won");
    cr_assert_eq(sr_tk_signal(&cluster, o2, SIGSTOP), 0);
    int afd = sr_tk_connect(cluster.nodes[0].http);
    cr_assert_geq(afd, 0);
    char rq[160];
    int rqlen = snprintf(rq, sizeof rq, "POST /v1/kv/%s/append HTTP/1.0\r\nContent-Length: 1\r\n\r\nx",
                         k2);
    cr_assert_eq(write(afd, rq, (size_t)rqlen), rqlen);
    code = timed_get(&c, k2, out, sizeof out, by, sizeof by, &ms);
    cr_log_info("k2 with its owner stopped: %d in %.1f ms from %s", code, ms, by);
    cr_expect_eq(code, 200);
    cr_expect_str_eq(out, "two");
    cr_expect_str_eq(by, cluster.nodes[0].gossip, "served by the entry node's own copy");
    cr_expect_lt(ms, 1000);
    cr_expect_eq(counter_of(0, "backup_sent"), sent + 1, "one backup: the read's");
    cr_expect_eq(counter_of(0, "backup_won"), won + 1);
    char ans[512] = "";
    ssize_t an = read(afd, ans, sizeof ans - 1); /* blocks up to the 2 s receive timeout */
    ans[an > 0 ? an : 0] = '\0';
    close(afd);
    cr_log_info("append with its owner stopped: %.*s", an > 0 ? (int)strcspn(ans, "\r\n") : 18,
                an > 0 ? ans : "no answer in 2 s");
    cr_expect(an <= 0 || strncmp(ans + 9, "2", 1) != 0, "append answered while its owner is stopped");
    cr_expect_eq(counter_of(0, "backup_sent"), sent + 1, "no backup for the append");
    cr_assert_eq(sr_tk_signal(&cluster, o2, SIGCONT), 0);

    /* both owners back: they answer again; the late answers were dropped */
    cr_assert(sr_tk_wait_converged(&cluster, sr_time_mono_us() + 30 * SR_US_PER_S));
    cr_expect_eq(timed_get(&c, k1, out, sizeof out, by, sizeof by, &ms), 200);
    cr_expect_str_eq(by, cluster.nodes[o1].gossip);
    long won_after = counter_of(0, "backup_won");
    cr_expect_eq(won_after, won + 1, "late answers won nothing");
    char *metrics = NULL;
    {
        int fd = sr_tk_connect(cluster.nodes[0].http);
        cr_assert_geq(fd, 0);
        const char *mq = "GET /metrics HTTP/1.0\r\n\r\n";
        cr_assert_eq(write(fd, mq, strlen(mq)), (ssize_t)strlen(mq));
        static char buf[1 << 18];
        size_t got = 0;
        ssize_t n;
        while (got < sizeof buf - 1 && (n = read(fd, buf + got, sizeof buf - 1 - got)) > 0)
            got += (size_t)n;
        buf[got] = '\0';
        close(fd);
        metrics = buf;
    }
    char line[96];
    snprintf(line, sizeof line, "swimring_backup_requests_total{event=\"won\"} %ld\n", won_after);
    cr_expect(strstr(metrics, line) != NULL, "/metrics has %s", line);
    sr_tk_conn_close(&c);
}
