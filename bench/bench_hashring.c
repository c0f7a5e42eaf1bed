/* Hash ring benchmarks (single core):
 *   - lookups/s and lookup_n(3)/s, 100 members x 100 points, keys "key-123456";
 *   - time to add and to remove one member in a ring of 1,000 members
 *     (with a "ring changed" callback registered, as the node layer will,
 *     so the moved-range diff is included; and without);
 *   - memory per point;
 *   - max/min ownership ratio across 100 members for R = 50, 100, 200.
 *
 * Side by side with ringpop-node: if SWIMRING_RINGPOP_NODE_PATH names a
 * node_modules directory holding `ringpop` and `farmhash`, the same figures
 * are measured on ringpop-node's HashRing (with farmhash.fingerprint32, the
 * placement of the vectors) and printed as anchor and ratio lines. Without
 * it the anchors are the figures quoted in the issue, marked "quoted":true.
 *
 * SWIMRING_BENCH_SECONDS (default 1) sets the time per throughput figure. */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "swimring/hashring.h"

#define NKEYS (1u << 20)
#define KEYLEN 10 /* "key-123456" */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void bench_line(const char *name, double value, const char *unit,
                       const char *extra)
{
    printf("BENCH {\"name\":\"%s\",\"value\":%.6g,\"unit\":\"%s\"%s%s}\n", name,
           value, unit, extra ? "," : "", extra ? extra : "");
}

static struct sr_ring *make_ring(uint32_t points, int members)
{
    struct sr_ring_cfg cfg;
    sr_ring_cfg_default(&cfg);
    cfg.points_per_member = points;
    struct sr_ring *ring = sr_ring_new(&cfg, NULL);
    struct sr_ring_change *c = calloc((size_t)members, sizeof(*c));
    char (*addr)[32] = calloc((size_t)members, 32);
    if (ring == NULL || c == NULL || addr == NULL) {
        fprintf(stderr, "bench_hashring: out of memory\n");
        exit(1);
    }
    for (int i = 0; i < members; i++) {
        snprintf(addr[i], 32, "10.%d.%d.%d:3000", i >> 16 & 255, i >> 8 & 255,
                 i & 255);
        c[i] = (struct sr_ring_change){.op = SR_RING_ADD, .address = addr[i]};
    }
    if (sr_ring_apply(ring, c, (size_t)members) != members) {
        fprintf(stderr, "bench_hashring: building the ring failed\n");
        exit(1);
    }
    free(c);
    free(addr);
    return ring;
}

static char *make_keys(void)
{
    char *keys = malloc((size_t)NKEYS * KEYLEN + 1);
    if (keys == NULL)
        exit(1);
    uint64_t s = 0x9e3779b97f4a7c15u;
    for (uint32_t i = 0; i < NKEYS; i++) {
        s = s * 6364136223846793005u + 1442695040888963407u;
        char tmp[KEYLEN + 1];
        snprintf(tmp, sizeof tmp, "key-%06u", (unsigned)((s >> 33) % 1000000));
        memcpy(keys + (size_t)i * KEYLEN, tmp, KEYLEN);
    }
    return keys;
}

/* Throughput of lookup (n == 0) or lookup_n(n) over the key array. */
static double lookups_per_s(const struct sr_ring *ring, const char *keys,
                            size_t n, double seconds)
{
    const char *out[8];
    uintptr_t sink = 0;
    uint64_t ops = 0;
    double t0 = now_s(), t;
    do {
        for (uint32_t i = 0; i < NKEYS; i++) {
            const char *k = keys + (size_t)i * KEYLEN;
            if (n == 0)
                sink += (uintptr_t)sr_ring_lookup(ring, k, KEYLEN);
            else
                sink += sr_ring_lookup_n(ring, k, KEYLEN, out, n) +
                        (uintptr_t)out[n - 1];
        }
        ops += NKEYS;
        t = now_s();
    } while (t - t0 < seconds);
    if (sink == 42)
        puts("");
    return (double)ops / (t - t0);
}

static void count_ranges(void *ctx, const struct sr_ring *ring,
                         const struct sr_ring_range *r, size_t n)
{
    *(size_t *)ctx += n;
}

struct churn {
    double add_ms, remove_ms; /* mean per operation */
    double ranges;            /* mean moved ranges per change */
};

/* Add and remove one member in a ring of 1,000 members, many times. */
static struct churn churn_1000(bool with_cb)
{
    struct sr_ring *ring = make_ring(SR_RING_POINTS_DEFAULT, 1000);
    size_t nranges = 0;
    if (with_cb)
        sr_ring_set_changed_cb(ring, count_ranges, &nranges);
    enum { ROUNDS = 200 };
    double add = 0, rem = 0;
    for (int i = 0; i < ROUNDS; i++) {
        char a[32];
        snprintf(a, sizeof a, "172.16.%d.%d:3000", i / 250, i % 250);
        double t0 = now_s();
        int rc1 = sr_ring_add(ring, a, 0);
        double t1 = now_s();
        int rc2 = sr_ring_remove(ring, a);
        double t2 = now_s();
        if (rc1 != 1 || rc2 != 1) {
            fprintf(stderr, "bench_hashring: churn failed\n");
            exit(1);
        }
        add += t1 - t0;
        rem += t2 - t1;
    }
    sr_ring_delete(ring);
    return (struct churn){add * 1e3 / ROUNDS, rem * 1e3 / ROUNDS,
                          (double)nranges / (2.0 * ROUNDS)};
}

static double ownership_ratio(uint32_t points, int members)
{
    struct sr_ring *ring = make_ring(points, members);
    struct sr_ring_owner_stat *st = calloc((size_t)members, sizeof(*st));
    sr_ring_stats(ring, st, (size_t)members);
    double lo = 1, hi = 0;
    for (int i = 0; i < members; i++) {
        lo = fmin(lo, st[i].fraction);
        hi = fmax(hi, st[i].fraction);
    }
    free(st);
    sr_ring_delete(ring);
    return hi / lo;
}

/* ---- ringpop-node side by side ---------------------------------------- */

struct anchor {
    bool measured;
    double lookup, lookup_n3, add_ms, remove_ms;
};

/* Our own driver for ringpop-node's HashRing (lib/ring), same workload. */
static const char ringpop_js[] =
    "const fh = require('farmhash');\n"
    "const HashRing = require('ringpop/lib/ring');\n"
    "const secs = +process.argv[2];\n"
    "function ring(n) {\n"
    "  const r = new HashRing({hashFunc: fh.fingerprint32});\n"
    "  const s = [];\n"
    "  for (let i = 0; i < n; i++)\n"
    "    s.push('10.' + (i >> 16 & 255) + '.' + (i >> 8 & 255) + '.' + (i & 255) + ':3000');\n"
    "  r.addRemoveServers(s, []);\n"
    "  return r;\n"
    "}\n"
    "const keys = [];\n"
    "for (let i = 0; i < 1 << 16; i++)\n"
    "  keys.push('key-' + String(Math.floor(Math.random() * 1e6)).padStart(6, '0'));\n"
    "function rate(f) {\n"
    "  let ops = 0, sink = 0; const t0 = process.hrtime.bigint(); let t;\n"
    "  do { for (const k of keys) sink += f(k).length; ops += keys.length;\n"
    "       t = process.hrtime.bigint(); } while (Number(t - t0) < secs * 1e9);\n"
    "  return ops / (Number(t - t0) / 1e9);\n"
    "}\n"
    "const r = ring(100);\n"
    "rate(k => r.lookup(k));\n" /* warm up the JIT */
    "console.log('lookup ' + rate(k => r.lookup(k)));\n"
    "console.log('lookup_n3 ' + rate(k => r.lookupN(k, 3)));\n"
    "const big = ring(1000); let add = 0, rem = 0;\n"
    "for (let i = 0; i < 200; i++) {\n"
    "  const a = '172.16.' + Math.floor(i / 250) + '.' + (i % 250) + ':3000';\n"
    "  const t0 = process.hrtime.bigint(); big.addServer(a);\n"
    "  const t1 = process.hrtime.bigint(); big.removeServer(a);\n"
    "  const t2 = process.hrtime.bigint();\n"
    "  add += Number(t1 - t0); rem += Number(t2 - t1);\n"
    "}\n"
    "console.log('add_ms ' + add / 200 / 1e6);\n"
    "console.log('remove_ms ' + rem / 200 / 1e6);\n";

static void parse_anchor_line(struct anchor *a, const char *line)
{
    char name[32];
    double v;
    if (sscanf(line, "%31s %lf", name, &v) != 2)
        return;
    if (strcmp(name, "lookup") == 0)
        a->lookup = v;
    else if (strcmp(name, "lookup_n3") == 0)
        a->lookup_n3 = v;
    else if (strcmp(name, "add_ms") == 0)
        a->add_ms = v;
    else if (strcmp(name, "remove_ms") == 0)
        a->remove_ms = v;
}

static struct anchor measure_ringpop(double seconds)
{
    /* Figures quoted in the issue, used when ringpop-node is not at hand. */
    struct anchor a = {false, 1.8e6, 0.2e6, NAN, NAN};
    const char *path = getenv("SWIMRING_RINGPOP_NODE_PATH");
    if (path == NULL || *path == '\0')
        return a;
    char js[] = "/tmp/sr_bench_ringpop_XXXXXX.js";
    int fd = mkstemps(js, 3);
    if (fd < 0)
        return a;
    FILE *f = fdopen(fd, "w");
    fputs(ringpop_js, f);
    fclose(f);
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "NODE_PATH='%s' node '%s' %g 2>&1", path, js,
             seconds);
    FILE *p = popen(cmd, "r");
    struct anchor m = {true, NAN, NAN, NAN, NAN};
    char line[512];
    while (p && fgets(line, sizeof line, p))
        parse_anchor_line(&m, line);
    int status = p ? pclose(p) : -1;
    unlink(js);
    if (status != 0 || isnan(m.lookup) || isnan(m.lookup_n3)) {
        fprintf(stderr, "bench_hashring: ringpop-node run failed; using quoted figures\n");
        return a;
    }
    return m;
}

static void anchor_lines(const char *what, double ours, double theirs,
                         bool measured, bool higher_is_better,
                         const char *unit)
{
    char name[64], extra[96];
    snprintf(name, sizeof name, "ringpop_node.%s", what);
    snprintf(extra, sizeof extra, "\"%s\":true", measured ? "measured" : "quoted");
    bench_line(name, theirs, unit, extra);
    snprintf(name, sizeof name, "hashring.%s.ratio", what);
    bench_line(name, higher_is_better ? ours / theirs : theirs / ours, "x",
               "\"vs\":\"ringpop_node\"");
}

int main(void)
{
    const char *env = getenv("SWIMRING_BENCH_SECONDS");
    double secs = env ? atof(env) : 1.0;
    if (!(secs > 0))
        secs = 1.0;

    char *keys = make_keys();
    struct sr_ring *ring = make_ring(SR_RING_POINTS_DEFAULT, 100);
    double lk = lookups_per_s(ring, keys, 0, secs);
    double lk3 = lookups_per_s(ring, keys, 3, secs);
    double mem = (double)sr_ring_memory(ring) / (double)sr_ring_point_count(ring);
    sr_ring_delete(ring);
    free(keys);
    struct churn cb = churn_1000(true), nocb = churn_1000(false);
    double ratio[3];
    const uint32_t rs[3] = {50, 100, 200};
    for (int i = 0; i < 3; i++)
        ratio[i] = ownership_ratio(rs[i], 100);
    struct anchor rp = measure_ringpop(secs);

    printf("hashring (100 members x 100 points, keys \"key-123456\", one core)\n");
    printf("  %-38s %14.0f /s\n", "lookup", lk);
    printf("  %-38s %14.0f /s\n", "lookup_n(3)", lk3);
    printf("  %-38s %14.3f ms  (%.0f moved ranges)\n",
           "add 1 member to 1000 (with callback)", cb.add_ms, cb.ranges);
    printf("  %-38s %14.3f ms\n", "remove 1 of 1001 (with callback)", cb.remove_ms);
    printf("  %-38s %14.3f ms\n", "add 1 member to 1000 (no callback)", nocb.add_ms);
    printf("  %-38s %14.3f ms\n", "remove 1 of 1001 (no callback)", nocb.remove_ms);
    printf("  %-38s %14.1f bytes\n", "memory per point (incl. double buffer)", mem);
    for (int i = 0; i < 3; i++)
        printf("  max/min ownership, 100 members, R=%-4u %14.2f\n", rs[i], ratio[i]);
    printf("ringpop-node (%s)\n", rp.measured ? "measured here" : "quoted in the issue, not measured");
    printf("  %-38s %14.0f /s  (x%.1f)\n", "lookup", rp.lookup, lk / rp.lookup);
    printf("  %-38s %14.0f /s  (x%.1f)\n", "lookupN(3)", rp.lookup_n3, lk3 / rp.lookup_n3);
    if (rp.measured) {
        printf("  %-38s %14.3f ms\n", "addServer to 1000", rp.add_ms);
        printf("  %-38s %14.3f ms\n", "removeServer from 1001", rp.remove_ms);
    }

    bench_line("hashring.lookup", lk, "ops/s", "\"members\":100,\"points\":100");
    bench_line("hashring.lookup_n3", lk3, "ops/s", "\"members\":100,\"points\":100");
    bench_line("hashring.add_member_ms", cb.add_ms, "ms", "\"members\":1000,\"callback\":true");
    bench_line("hashring.remove_member_ms", cb.remove_ms, "ms", "\"members\":1000,\"callback\":true");
    bench_line("hashring.add_member_nocb_ms", nocb.add_ms, "ms", "\"members\":1000,\"callback\":false");
    bench_line("hashring.remove_member_nocb_ms", nocb.remove_ms, "ms", "\"members\":1000,\"callback\":false");
    bench_line("hashring.bytes_per_point", mem, "bytes", NULL);
    for (int i = 0; i < 3; i++) {
        char extra[64];
        snprintf(extra, sizeof extra, "\"members\":100,\"points\":%u", rs[i]);
        bench_line("hashring.ownership_max_min", ratio[i], "x", extra);
    }
    anchor_lines("lookup", lk, rp.lookup, rp.measured, true, "ops/s");
    anchor_lines("lookup_n3", lk3, rp.lookup_n3, rp.measured, true, "ops/s");
    if (rp.measured) {
        anchor_lines("add_member_ms", cb.add_ms, rp.add_ms, true, false, "ms");
        anchor_lines("remove_member_ms", cb.remove_ms, rp.remove_ms, true, false, "ms");
    }
    return 0;
}
