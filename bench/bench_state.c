/* bench_state: what keeping state safe costs and how fast it moves.
 *
 * 1. Write latency: three clusters of 3 kvd processes, replicas=1,
 *    replicas=2 ack=1 and replicas=2 ack=2, side by side; closed-loop PUTs
 *    (64-byte values) to node 0 for keys node 0 owns, at 1 and 32
 *    connections, in ROUNDS turns per cluster; requests/s and p50/p99
 *    (medians over the rounds) and each against replicas=1 (medians of
 *    the per-round ratios).
 * 2. Handoff: 2 kvd processes with replicas=1 hold KEYS records (100-byte
 *    values); a third joins and takes its share, then leaves gracefully
 *    (POST /admin/leave: the SIGTERM handoff, but the process stays to be
 *    asked) and hands it back. Records/s from the senders' counters
 *    (records_out / handoff_busy_us), and the wall time to settled.
 *
 *   bench_state [KVD_PATH] [SECONDS] [KEYS]   (default: this build's kvd, 5 s, 200000) */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "swimring/testkit.h"
#include "bench_load.h"

#define OWNED 512

static const char *kvd;
static const char *extra[] = {"--log-level", "warn", "--replicas", NULL, "--ack-replicas", NULL,
                              NULL};

static int start(struct sr_tk_cluster *h, size_t n, const char *r, const char *a)
{
    extra[3] = r;
    extra[5] = a;
    sr_tk_init(h, kvd, "local");
    h->extra = extra;
    for (size_t i = 0; i < n; i++)
        if (sr_tk_spawn(h, i ? h->nodes[0].gossip : NULL) < 0)
            return -1;
    return sr_tk_wait(h, sr_time_mono_us() + 30 * SR_US_PER_S, load_ring_is, &n) ? 0 : -1;
}

/* OWNED keys that node 0 owns. */
static int owned_keys(struct sr_tk_cluster *h, char keys[][32])
{
    int n = 0;
    char path[96];
    for (int k = 0; n < OWNED && k < 100 * OWNED; k++) {
        snprintf(path, sizeof path, "/admin/lookup?key=w-%d", k);
        json_t *j = sr_tk_http(h->nodes[0].http, "GET", path);
        if (json_is_true(json_object_get(j, "local")))
            snprintf(keys[n++], 32, "w-%d", k);
        json_decref(j);
    }
    return n == OWNED ? 0 : -1;
}

static void bench_line(const char *name, double v, const char *unit, int conc)
{
    printf("BENCH {\"name\":\"%s\",\"value\":%.3f,\"unit\":\"%s\",\"conc\":%d}\n", name, v, unit,
           conc);
}

#define CFGS 3
#define ROUNDS 5

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(*v), cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* The three clusters run side by side (idle ones cost only gossip) and
 * take turns, ROUNDS short runs each in rotating order, so load from
 * elsewhere on the machine hits every configuration alike; a figure is
 * the median over the rounds, a ratio the median of the per-round ratios
 * (each run next in time to its r1 run). */
static int write_latency(double secs, uint32_t *lat)
{
    static char keys[CFGS][OWNED][32];
    static const char *cfg[CFGS][3] = {{"1", "1", "r1"}, {"2", "1", "r2a1"}, {"2", "2", "r2a2"}};
    static const int concs[] = {1, 32};
    static struct sr_tk_cluster h[CFGS];
    char val[64];
    int rc = 0;
    memset(val, 'v', sizeof val);
    for (size_t c = 0; c < CFGS && rc == 0; c++)
        if (start(&h[c], 3, cfg[c][0], cfg[c][1]) < 0 || owned_keys(&h[c], keys[c]) < 0) {
            fprintf(stderr, "bench_state: cluster did not come up (logs in %s)\n", h[c].logdir);
            rc = -1;
        }
    for (size_t i = 0; i < 2 && rc == 0; i++) {
        double rps[CFGS][ROUNDS], p50[CFGS][ROUNDS], p99[CFGS][ROUNDS], ratio[CFGS][ROUNDS];
        double dp50[CFGS][ROUNDS];
        uint64_t errors[CFGS] = {0};
        for (int k = 0; k < ROUNDS; k++)
            for (size_t j = 0; j < CFGS; j++) {
                size_t c = (j + (size_t)k) % CFGS;
                struct load_spec s = {"PUT", keys[c], OWNED, val, sizeof val};
                struct load_run r = load_http(h[c].nodes[0].http, &s, concs[i], secs / ROUNDS, 0, lat);
                rps[c][k] = r.rps;
                p50[c][k] = r.p50_us;
                p99[c][k] = r.p99_us;
                errors[c] += r.errors;
            }
        for (size_t c = 0; c < CFGS; c++)
            for (int k = 0; k < ROUNDS; k++) {
                ratio[c][k] = rps[c][k] / rps[0][k];
                dp50[c][k] = p50[c][k] - p50[0][k];
            }
        for (size_t c = 0; c < CFGS; c++) {
            char name[64];
            double mr = median(rps[c], ROUNDS), m50 = median(p50[c], ROUNDS),
                   m99 = median(p99[c], ROUNDS);
            printf("write %-5s conc=%-3d %9.0f req/s  p50 %7.1f us  p99 %7.1f us  errors %llu\n", cfg[c][2],
                   concs[i], mr, m50, m99, (unsigned long long)errors[c]);
            snprintf(name, sizeof name, "state.write.%s.rps", cfg[c][2]);
            bench_line(name, mr, "req/s", concs[i]);
            snprintf(name, sizeof name, "state.write.%s.p50", cfg[c][2]);
            bench_line(name, m50, "us", concs[i]);
            snprintf(name, sizeof name, "state.write.%s.p99", cfg[c][2]);
            bench_line(name, m99, "us", concs[i]);
            if (c == 0)
                continue;
            double q = median(ratio[c], ROUNDS), d = median(dp50[c], ROUNDS);
            printf("write %-5s conc=%-3d vs r1: %.2fx throughput, p50 %+.1f us (medians of %d "
                   "rounds)\n", cfg[c][2], concs[i], q, d, ROUNDS);
            snprintf(name, sizeof name, "state.write.%s.ratio", cfg[c][2]);
            bench_line(name, q, "x r1 req/s", concs[i]);
        }
        if (errors[0] + errors[1] + errors[2])
            rc = -1;
    }
    for (size_t c = 0; c < CFGS; c++)
        sr_tk_destroy(&h[c]);
    return rc;
}

/* ---- handoff ------------------------------------------------------------------ */

struct moved {
    long records_out, records_in, busy_us;
};

static long counter(json_t *j, const char *name)
{
    json_t *v = json_object_get(json_object_get(j, "counters"), name);
    return json_is_integer(v) ? (long)json_integer_value(v) : 0;
}

/* Sum the senders' counters; busy time is the longest of them. */
static void moved_of(struct sr_tk_cluster *h, size_t n, struct moved *m)
{
    memset(m, 0, sizeof(*m));
    for (size_t i = 0; i < n; i++) {
        if (h->nodes[i].pid <= 0)
            continue;
        json_t *j = sr_tk_http(h->nodes[i].http, "GET", "/admin/state");
        m->records_out += counter(j, "records_out");
        m->records_in += counter(j, "records_in");
        long b = counter(j, "handoff_busy_us");
        m->busy_us = b > m->busy_us ? b : m->busy_us;
        json_decref(j);
    }
}

/* One node's counters. */
static void moved_of_node(struct sr_tk_cluster *h, size_t i, struct moved *m)
{
    json_t *j = sr_tk_http(h->nodes[i].http, "GET", "/admin/state");
    m->records_out = counter(j, "records_out");
    m->records_in = counter(j, "records_in");
    m->busy_us = counter(j, "handoff_busy_us");
    json_decref(j);
}

struct settled {
    size_t members;
};

/* The ring has `members` everywhere and no handoff is due or under way. */
static bool settled(struct sr_tk_cluster *h, void *ud)
{
    struct settled *s = ud;
    if (!load_ring_is(h, &s->members))
        return false;
    for (size_t i = 0; i < h->n; i++) {
        if (h->nodes[i].pid <= 0)
            continue;
        json_t *j = sr_tk_http(h->nodes[i].http, "GET", "/admin/state");
        json_t *p = json_object_get(j, "pending");
        bool ok = json_is_integer(p) && json_integer_value(p) == 0 &&
                  json_is_false(json_object_get(j, "pass_scheduled"));
        json_decref(j);
        if (!ok)
            return false;
    }
    return true;
}

/* After /admin/leave of node 2: the others see `members` and are quiet, and
 * the leaver has nothing pending (it keeps answering admin). */
static bool left_settled(struct sr_tk_cluster *h, void *ud)
{
    struct settled *s = ud;
    for (size_t i = 0; i < 3; i++) {
        json_t *st = sr_tk_http(h->nodes[i].http, "GET", "/admin/status");
        json_t *j = sr_tk_http(h->nodes[i].http, "GET", "/admin/state");
        json_t *m = json_object_get(json_object_get(st, "ring"), "members");
        json_t *p = json_object_get(j, "pending");
        bool ok = json_is_integer(p) && json_integer_value(p) == 0 &&
                  (i == 2 || (json_is_integer(m) && (size_t)json_integer_value(m) == s->members &&
                              json_is_false(json_object_get(j, "pass_scheduled"))));
        json_decref(st);
        json_decref(j);
        if (!ok)
            return false;
    }
    return true;
}

static int handoff(int nkeys, uint32_t *lat)
{
    static char (*keys)[32];
    struct sr_tk_cluster h;
    char val[100];
    memset(val, 'h', sizeof val);
    if (!(keys = calloc((size_t)nkeys, 32)))
        return -1;
    for (int k = 0; k < nkeys; k++)
        snprintf(keys[k], 32, "h-%d", k);
    struct settled two = {2}, three = {3};
    if (start(&h, 2, "1", "1") < 0)
        goto fail;
    struct load_spec s = {"PUT", keys, nkeys, val, sizeof val};
    struct load_run r = load_http(h.nodes[0].http, &s, 32, 600, (uint64_t)nkeys, lat);
    /* 32 in flight: the last answers rewrite a few keys, hence PUTs >= keys */
    printf("loaded %d records (%llu PUTs) in %.1f s (%llu errors)\n", nkeys,
           (unsigned long long)r.n, (double)r.n / r.rps, (unsigned long long)r.errors);
    if (r.errors || !sr_tk_wait(&h, sr_time_mono_us() + 30 * SR_US_PER_S, settled, &two))
        goto fail;
    struct moved m0, m1, m2;
    moved_of(&h, 2, &m0);
    sr_time_us t0 = sr_time_mono_us();
    if (sr_tk_spawn(&h, h.nodes[0].gossip) < 0 ||
        !sr_tk_wait(&h, sr_time_mono_us() + 120 * SR_US_PER_S, settled, &three))
        goto fail;
    double join_s = (double)(sr_time_mono_us() - t0) / 1e6;
    moved_of(&h, 2, &m1);
    long out = m1.records_out - m0.records_out, busy = m1.busy_us - m0.busy_us;
    printf("join: %ld records to the new node; senders busy %.3f s = %.0f records/s; "
           "join to settled %.2f s wall\n", out, busy / 1e6, busy ? out / (busy / 1e6) : 0, join_s);
    bench_line("state.handoff.join.records_per_s", busy ? out / (busy / 1e6) : 0, "records/s", 0);
    /* Graceful leave through /admin/leave: the same handoff as SIGTERM, but
     * the process stays, so the leaver's own counters can be read after
     * (SIGTERM's wall time is mostly the fixed goodbye wait). */
    struct moved l0, l1;
    moved_of_node(&h, 2, &l0);
    t0 = sr_time_mono_us();
    json_t *lv = NULL;
    if (sr_tk_http_body(h.nodes[2].http, "POST", "/admin/leave", "", &lv) != 200 ||
        !sr_tk_wait(&h, sr_time_mono_us() + 120 * SR_US_PER_S, left_settled, &two)) {
        json_decref(lv);
        goto fail;
    }
    json_decref(lv);
    double leave_s = (double)(sr_time_mono_us() - t0) / 1e6;
    moved_of_node(&h, 2, &l1);
    moved_of(&h, 2, &m2);
    long lout = l1.records_out - l0.records_out, lbusy = l1.busy_us - l0.busy_us;
    long in = m2.records_in - m1.records_in;
    printf("leave: %ld records handed back (%ld merged by the others); leaver busy %.3f s = %.0f "
           "records/s; leave to settled %.2f s wall\n", lout, in, lbusy / 1e6,
           lbusy ? lout / (lbusy / 1e6) : 0, leave_s);
    bench_line("state.handoff.leave.records_per_s", lbusy ? lout / (lbusy / 1e6) : 0, "records/s",
               0);
    /* the left process still exits cleanly on SIGTERM */
    if (sr_tk_signal(&h, 2, SIGTERM) < 0 || sr_tk_reap(&h, 2, sr_time_mono_us() + 10 * SR_US_PER_S) != 0)
        goto fail;
    sr_tk_destroy(&h);
    free(keys);
    return out > 0 && in > 0 ? 0 : -1;
fail:
    fprintf(stderr, "bench_state: handoff phase failed (logs in %s)\n", h.logdir);
    sr_tk_destroy(&h);
    free(keys);
    return -1;
}

int main(int argc, char **argv)
{
    static uint32_t lat[LOAD_LAT_MAX];
    kvd = argc > 1 ? argv[1] : SR_BINARY_DIR "/examples/kvd/kvd";
    double secs = argc > 2 ? atof(argv[2]) : 5.0;
    int nkeys = argc > 3 ? atoi(argv[3]) : 200000;
    signal(SIGPIPE, SIG_IGN);
    if (write_latency(secs, lat) < 0 || handoff(nkeys, lat) < 0)
        return 1;
    return 0;
}
