/* The cost of gossip encryption (issue 10).
 *
 * 1. Per core: seal + open of N datagrams of typical sizes (a bare ping,
 *    a ping with a few updates, a full 1400-byte datagram), beside the
 *    CRC-32C every native datagram already pays, on one thread; and the
 *    same with cold caches (32 MiB touched before each one), which is what
 *    an idle node that wakes a few times a second pays.
 * 2. Whole daemons: two 10-node ringd clusters on 127.0.0.1 started side
 *    by side, one with a gossip key and one without, their CPU time
 *    (/proc/PID/schedstat, ns) over the same idle window. Side by side so
 *    the machine's load hits both alike; the ratio is the figure.
 *
 * Prints a table, then BENCH lines (CONVENTIONS item 16):
 *   BENCH {"name":"gossip_crypto.seal_open_per_s","value":...,"unit":"dg/s","bytes":N}
 *   BENCH {"name":"ringd.idle_cpu_s","value":...,"key":true|false,"nodes":10}
 *   BENCH {"name":"gossip_crypto.idle_cpu_ratio","value":...}
 * Env: BENCH_GC_SECONDS (idle window, default 60), BENCH_GC_NODES (10),
 * BENCH_GC_PROFILE (lan), BENCH_GC_MICRO_ONLY=1 skips part 2. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "swim/wire.h"
#include "swimring/gossip_crypto.h"
#include "swimring/testkit.h"
#include "swimring/time.h"

#define RINGD SR_BINARY_DIR "/tools/ringd/ringd"

static double now_s(void) { return (double)sr_time_mono_us() / 1e6; }

static void sleep_s(double s)
{
    sr_time_us end = sr_time_mono_us() + (sr_time_us)(s * 1e6);
    while (sr_time_mono_us() < end)
        usleep(100000);
}

/* Seal and open `n` bytes as often as fits in ~1 s; datagrams/s. */
static double seal_open_rate(struct sr_gossip *g, size_t n)
{
    static uint8_t in[1400], sealed[1400 + SR_GOSSIP_OVERHEAD];
    for (size_t i = 0; i < n; i++)
        in[i] = (uint8_t)(i * 7);
    uint64_t ms = sr_time_wall_us() / SR_US_PER_MS, done = 0;
    double t0 = now_s(), t;
    do {
        for (int k = 0; k < 1000; k++) {
            const uint8_t *p;
            size_t pl;
            int sl = sr_gossip_seal(g, ms, in, n, sealed, sizeof sealed);
            if (sl < 0 || sr_gossip_open(g, ms, sealed, (size_t)sl, &p, &pl) != SR_GOSSIP_OK)
                abort();
        }
        done += 1000;
        t = now_s() - t0;
    } while (t < 1.0);
    return (double)done / t;
}

static double crc_rate(size_t n)
{
    static uint8_t in[1400];
    uint64_t done = 0;
    uint32_t acc = 0;
    double t0 = now_s(), t;
    do {
        for (int k = 0; k < 10000; k++)
            acc += sr_swim_crc32c(0, in, n);
        done += 10000;
        t = now_s() - t0;
    } while (t < 1.0);
    if (acc == 42)
        printf(" "); /* keep the loop */
    return (double)done / t;
}

static int cmp_us(const void *a, const void *b)
{
    sr_time_us x = *(const sr_time_us *)a, y = *(const sr_time_us *)b;
    return x < y ? -1 : x > y;
}

/* Median time of one seal + open after evicting the caches. */
static double cold_us(struct sr_gossip *g, size_t n)
{
    enum { RUNS = 101 };
    static uint8_t in[1400], sealed[1400 + SR_GOSSIP_OVERHEAD];
    static sr_time_us t[RUNS];
    size_t big = (size_t)32 << 20;
    volatile uint8_t *junk = malloc(big);
    if (!junk)
        abort();
    for (size_t j = 0; j < big; j += 64)
        junk[j] = 1;
    for (int r = 0; r < RUNS; r++) {
        for (size_t j = 0; j < big; j += 64)
            junk[j]++;
        const uint8_t *p;
        size_t pl;
        sr_time_us a = sr_time_mono_us();
        int sl = sr_gossip_seal(g, 1, in, n, sealed, sizeof sealed);
        if (sl < 0 || sr_gossip_open(g, 1, sealed, (size_t)sl, &p, &pl) != SR_GOSSIP_OK)
            abort();
        t[r] = sr_time_mono_us() - a;
    }
    free((void *)junk);
    qsort(t, RUNS, sizeof t[0], cmp_us);
    return (double)t[RUNS / 2];
}

static void micro(void)
{
    uint8_t k[SR_GOSSIP_KEY_LEN];
    for (int i = 0; i < SR_GOSSIP_KEY_LEN; i++)
        k[i] = (uint8_t)(i * 13 + 1);
    struct sr_gossip *g = sr_gossip_new(5000, 1000);
    if (!g || sr_gossip_install(g, k, NULL) < 0)
        abort();
    const size_t sizes[] = {33, 200, 1358};
    printf("%-24s %14s %12s %14s %14s\n", "native datagram (bytes)", "seal+open/s", "us each",
           "cold us each", "crc32c/s");
    for (size_t i = 0; i < 3; i++) {
        double r = seal_open_rate(g, sizes[i]), c = crc_rate(sizes[i]), cold = cold_us(g, sizes[i]);
        printf("%-24zu %14.0f %12.2f %14.1f %14.0f\n", sizes[i], r, 1e6 / r, cold, c);
        printf("BENCH {\"name\":\"gossip_crypto.seal_open_cold_us\",\"value\":%.1f,\"unit\":\"us\","
               "\"bytes\":%zu}\n", cold, sizes[i]);
        printf("BENCH {\"name\":\"gossip_crypto.seal_open_per_s\",\"value\":%.0f,\"unit\":\"dg/s\","
               "\"bytes\":%zu}\n", r, sizes[i]);
        printf("BENCH {\"name\":\"gossip_crypto.crc32c_per_s\",\"value\":%.0f,\"unit\":\"dg/s\","
               "\"bytes\":%zu}\n", c, sizes[i]);
    }
    sr_gossip_delete(g);
}

/* ---- idle clusters ------------------------------------------------------------ */

/* CPU seconds of one process so far: /proc/PID/schedstat counts run time
 * in ns (utime/stime tick at 10 ms, too coarse for an idle node). */
static double cpu_of(pid_t pid)
{
    char path[64];
    unsigned long long ns = 0;
    snprintf(path, sizeof path, "/proc/%d/schedstat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    int ok = fscanf(f, "%llu", &ns) == 1;
    fclose(f);
    return ok ? (double)ns / 1e9 : -1;
}

static double cluster_cpu(const struct sr_tk_cluster *c)
{
    double s = 0;
    for (size_t i = 0; i < c->n; i++)
        s += cpu_of(c->nodes[i].pid);
    return s;
}

static uint64_t cluster_stat(const struct sr_tk_cluster *c, const char *key)
{
    uint64_t s = 0;
    for (size_t i = 0; i < c->n; i++) {
        json_t *j = sr_tk_http(c->nodes[i].http, "GET", "/admin/stats");
        s += (uint64_t)json_integer_value(json_object_get(j, key));
        json_decref(j);
    }
    return s;
}

static int idle(void)
{
    const char *e = getenv("BENCH_GC_SECONDS");
    double secs = e ? atof(e) : 60;
    size_t nodes = getenv("BENCH_GC_NODES") ? (size_t)atoi(getenv("BENCH_GC_NODES")) : 10;
    const char *profile = getenv("BENCH_GC_PROFILE") ? getenv("BENCH_GC_PROFILE") : "lan";
    char keyfile[64];
    snprintf(keyfile, sizeof keyfile, "/tmp/sr-bench-gk-%d", (int)getpid());
    FILE *f = fopen(keyfile, "w");
    if (!f)
        return 1;
    fprintf(f, "3f1c2a3b4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8\n");
    fclose(f);
    static struct sr_tk_cluster plain, sealed;
    const char *extra[] = {"--gossip-key-file", keyfile, NULL};
    sr_tk_init(&plain, RINGD, profile);
    sr_tk_init(&sealed, RINGD, profile);
    sealed.extra = extra;
    plain.no_faults = sealed.no_faults = true;
    /* interleave the spawns so both clusters age alike */
    int rc = 0;
    for (size_t i = 0; i < nodes && rc == 0; i++) {
        rc |= sr_tk_spawn(&plain, i ? plain.nodes[0].gossip : NULL) < 0;
        rc |= sr_tk_spawn(&sealed, i ? sealed.nodes[0].gossip : NULL) < 0;
    }
    sr_time_us deadline = sr_time_mono_us() + 120 * SR_US_PER_S;
    if (rc || !sr_tk_wait_converged(&plain, deadline) || !sr_tk_wait_converged(&sealed, deadline)) {
        fprintf(stderr, "bench_gossip_crypto: clusters did not converge\n");
        sr_tk_destroy(&plain);
        sr_tk_destroy(&sealed);
        unlink(keyfile);
        return 1;
    }
    sleep_s(2); /* joins and their full syncs settle before the window */
    double p0 = cluster_cpu(&plain), s0 = cluster_cpu(&sealed);
    uint64_t pk0 = cluster_stat(&plain, "packets_out"), sk0 = cluster_stat(&sealed, "packets_out");
    sleep_s(secs);
    double p1 = cluster_cpu(&plain), s1 = cluster_cpu(&sealed);
    uint64_t pk1 = cluster_stat(&plain, "packets_out"), sk1 = cluster_stat(&sealed, "packets_out");
    uint64_t sealed_n = cluster_stat(&sealed, "gossip_sealed"),
             opened_n = cluster_stat(&sealed, "gossip_opened");
    double pc = (p1 - p0) / (double)nodes, sc = (s1 - s0) / (double)nodes;
    printf("\n%zu-node clusters, %s profile, %.0f s idle window, side by side\n", nodes, profile,
           secs);
    double pd = (double)(pk1 - pk0) / secs / (double)nodes, sd = (double)(sk1 - sk0) / secs / (double)nodes;
    printf("%-12s %18s %18s %16s\n", "cluster", "CPU ms per node", "datagrams/s/node", "CPU us/datagram");
    printf("%-12s %18.2f %18.1f %16.1f\n", "plain", pc * 1e3, pd, pd > 0 ? pc * 1e6 / (pd * secs) : 0);
    printf("%-12s %18.2f %18.1f %16.1f\n", "encrypted", sc * 1e3, sd, sd > 0 ? sc * 1e6 / (sd * secs) : 0);
    printf("ratio encrypted/plain CPU: %.3f (sealed %llu, opened %llu in total)\n",
           pc > 0 ? sc / pc : 0, (unsigned long long)sealed_n, (unsigned long long)opened_n);
    printf("BENCH {\"name\":\"ringd.idle_cpu_s\",\"value\":%.5f,\"unit\":\"s\",\"key\":false,"
           "\"nodes\":%zu,\"window_s\":%.0f,\"profile\":\"%s\"}\n", pc, nodes, secs, profile);
    printf("BENCH {\"name\":\"ringd.idle_cpu_s\",\"value\":%.5f,\"unit\":\"s\",\"key\":true,"
           "\"nodes\":%zu,\"window_s\":%.0f,\"profile\":\"%s\"}\n", sc, nodes, secs, profile);
    printf("BENCH {\"name\":\"gossip_crypto.idle_cpu_ratio\",\"value\":%.3f,\"unit\":\"ratio\"}\n",
           pc > 0 ? sc / pc : 0);
    sr_tk_destroy(&plain);
    sr_tk_destroy(&sealed);
    unlink(keyfile);
    return 0;
}

int main(void)
{
    micro();
    if (getenv("BENCH_GC_MICRO_ONLY"))
        return 0;
    return idle();
}
