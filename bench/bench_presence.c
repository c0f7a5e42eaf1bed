/* bench_presence: services/presence side by side with redis-server.
 *
 *   1. memory per online user: 1,000,000 single-session users in the store
 *      (glibc heap in use and mmapped blocks before/after, so malloc's own
 *      overhead and the table and heap arrays count);
 *   2. heartbeats/s and p50/p99 over HTTP keep-alive (CONNS connections,
 *      random users out of a million, ttl 30 s) on 1 ringd and on 3 (each
 *      connection to one node, so two thirds are forwarded), against
 *      redis-benchmark's `SET key value EX 30` with the same connection
 *      count on the same machine in the same run, plus Redis's bytes per
 *      key after it;
 *   3. batchGet of 1,000 users (over all 3 owners) latency.
 * Build Release (ASan changes every figure). Environment: PRESENCE_SECONDS
 * (default 5) per load run, PRESENCE_CONNS (default 32). */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "presence_store.h"
#include "swimring/testkit.h"
#include "bench_redis.h"
#include "swimring/time.h"

#define RINGD SR_BINARY_DIR "/tools/ringd/ringd"
#define USERS 1000000
#define MAXC 256

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static uint64_t pct(uint64_t *v, size_t n, double p)
{
    if (!n)
        return 0;
    qsort(v, n, sizeof *v, cmp_u64);
    size_t i = (size_t)(p * (double)(n - 1));
    return v[i];
}

/* ---- 1. memory ------------------------------------------------------------------------ */

static double store_bytes_per_user(size_t meta_len)
{
    char meta[256] = "{\"g\":\"";
    while (strlen(meta) + 2 < meta_len)
        strcat(meta, "x");
    strcat(meta, "\"}");
    size_t ml = meta_len ? strlen(meta) : 0;
    malloc_trim(0);
    /* large blocks (the table, the heap array) are mmapped: count them too */
    struct mallinfo2 m0 = mallinfo2();
    size_t before = m0.uordblks + m0.hblkhd;
    struct ps_store *st = ps_store_new(3660ull * SR_US_PER_S, NULL, NULL);
    char user[16];
    for (int i = 0; i < USERS; i++) {
        snprintf(user, sizeof user, "u%07d", i);
        struct ps_rec r = {"sess-001", 8, (uint64_t)i + 1, 100 * SR_US_PER_S + (uint64_t)i,
                           PS_ONLINE, meta, ml};
        if (ps_store_apply(st, user, 8, &r, 1) != 1) {
            fprintf(stderr, "apply failed\n");
            exit(1);
        }
    }
    struct mallinfo2 m1 = mallinfo2();
    size_t after = m1.uordblks + m1.hblkhd;
    ps_store_delete(st);
    return (double)(after - before) / USERS - (double)ml;
}

/* ---- 2. HTTP heartbeat load -------------------------------------------------------------- */

struct hconn {
    int fd;
    char in[4096];
    size_t have;
    uint64_t t0;
};

static void hb_send(struct hconn *c, unsigned *seed)
{
    char rq[256], body[] = "{\"status\":\"online\",\"ttl_s\":30}";
    int n = snprintf(rq, sizeof rq,
                     "PUT /v1/presence/u%07d/sessions/s1 HTTP/1.1\r\nHost: b\r\n"
                     "Content-Length: %zu\r\n\r\n%s",
                     rand_r(seed) % USERS, strlen(body), body);
    c->t0 = sr_time_mono_us();
    c->have = 0;
    if (write(c->fd, rq, (size_t)n) != n) {
        perror("write");
        exit(1);
    }
}

/* A whole answer in c->in? Returns its status or 0 for not yet. */
static int hb_done(struct hconn *c)
{
    c->in[c->have] = '\0';
    char *end = strstr(c->in, "\r\n\r\n");
    if (!end)
        return 0;
    const char *cl = strcasestr(c->in, "\r\ncontent-length:");
    size_t len = cl ? strtoul(cl + 17, NULL, 10) : 0;
    if (c->have < (size_t)(end + 4 - c->in) + len)
        return 0;
    return atoi(c->in + 9);
}

struct load_result {
    double rps;
    uint64_t p50, p99;
    size_t errors;
};

static struct load_result hb_load(struct sr_tk_cluster *h, size_t nodes, int conns, double seconds)
{
    struct hconn c[MAXC];
    struct pollfd pfd[MAXC];
    size_t cap = 1 << 22, n = 0, errors = 0;
    uint64_t *lat = malloc(cap * sizeof *lat);
    unsigned seed = 42;
    for (int i = 0; i < conns; i++) {
        c[i].fd = sr_tk_connect(h->nodes[(size_t)i % nodes].http);
        if (c[i].fd < 0) {
            fprintf(stderr, "connect failed\n");
            exit(1);
        }
        pfd[i] = (struct pollfd){c[i].fd, POLLIN, 0};
        hb_send(&c[i], &seed);
    }
    uint64_t start = sr_time_mono_us(), stop = start + (uint64_t)(seconds * 1e6);
    while (sr_time_mono_us() < stop) {
        if (poll(pfd, (nfds_t)conns, 100) <= 0)
            continue;
        for (int i = 0; i < conns; i++) {
            if (!(pfd[i].revents & POLLIN))
                continue;
            ssize_t r = read(c[i].fd, c[i].in + c[i].have, sizeof c[i].in - 1 - c[i].have);
            if (r <= 0) {
                fprintf(stderr, "connection lost\n");
                exit(1);
            }
            c[i].have += (size_t)r;
            int st = hb_done(&c[i]);
            if (!st)
                continue;
            errors += st != 200;
            if (n < cap)
                lat[n++] = sr_time_mono_us() - c[i].t0;
            hb_send(&c[i], &seed);
        }
    }
    double took = (double)(sr_time_mono_us() - start) / 1e6;
    for (int i = 0; i < conns; i++)
        close(c[i].fd);
    struct load_result res = {(double)n / took, 0, 0, errors};
    res.p50 = pct(lat, n, 0.50);
    res.p99 = pct(lat, n, 0.99);
    free(lat);
    return res;
}

/* ---- 3. batchGet latency ------------------------------------------------------------------- */

static void batch_get_latency(struct sr_tk_cluster *h, uint64_t *p50, uint64_t *p99)
{
    enum { RUNS = 50 };
    size_t len = 0, cap = 1 << 16;
    char *body = malloc(cap), *out = malloc(1 << 20);
    uint64_t lat[RUNS];
    len += (size_t)snprintf(body + len, cap - len, "{\"users\":[");
    for (int k = 0; k < 1000; k++)
        len += (size_t)snprintf(body + len, cap - len, "%s\"u%07d\"", k ? "," : "", k * 997 % USERS);
    len += (size_t)snprintf(body + len, cap - len, "]}");
    for (int r = 0; r < RUNS; r++) {
        int fd = sr_tk_connect(h->nodes[(size_t)r % h->n].http);
        char head[160];
        int n = snprintf(head, sizeof head,
                         "POST /v1/presence:batchGet HTTP/1.0\r\nContent-Length: %zu\r\n\r\n", len);
        uint64_t t0 = sr_time_mono_us();
        if (fd < 0 || write(fd, head, (size_t)n) != n || write(fd, body, len) != (ssize_t)len) {
            fprintf(stderr, "batchGet write failed\n");
            exit(1);
        }
        size_t have = 0;
        ssize_t got;
        while ((got = read(fd, out + have, (1 << 20) - 1 - have)) > 0)
            have += (size_t)got;
        lat[r] = sr_time_mono_us() - t0;
        close(fd);
        out[have] = '\0';
        if (strncmp(out, "HTTP/1.1 200", 12) != 0 && strncmp(out, "HTTP/1.0 200", 12) != 0) {
            fprintf(stderr, "batchGet: %.60s\n", out);
            exit(1);
        }
    }
    *p50 = pct(lat, RUNS, 0.5);
    *p99 = pct(lat, RUNS, 0.99);
    free(body);
    free(out);
}

/* ---- redis ------------------------------------------------------------------------------------ */


/* redis-benchmark --csv: "test","rps","avg","min","p50","p95","p99","max" */
static int redis_bench(int port, int conns, long requests, struct load_result *res)
{
    char cmd[256], line[512];
    snprintf(cmd, sizeof cmd,
             "redis-benchmark -h 127.0.0.1 -p %d -c %d -n %ld -r %d --csv "
             "SET key:__rand_int__ value EX 30 2>/dev/null",
             port, conns, requests, USERS);
    FILE *f = popen(cmd, "r");
    int ok = -1;
    while (f && fgets(line, sizeof line, f)) {
        double rps, avg, mn, p50, p95, p99;
        char *q = strstr(line, "\",\"");
        if (q && sscanf(q + 3, "%lf\",\"%lf\",\"%lf\",\"%lf\",\"%lf\",\"%lf", &rps, &avg, &mn, &p50,
                        &p95, &p99) == 6) {
            *res = (struct load_result){rps, (uint64_t)(p50 * 1000), (uint64_t)(p99 * 1000), 0};
            ok = 0;
        }
    }
    if (f)
        pclose(f);
    return ok;
}

static double redis_bytes_per_key(int port)
{
    char cmd[128], line[256];
    double used = 0, keys = 0;
    snprintf(cmd, sizeof cmd, "redis-cli -p %d info memory; redis-cli -p %d dbsize", port, port);
    FILE *f = popen(cmd, "r");
    while (f && fgets(line, sizeof line, f)) {
        if (strncmp(line, "used_memory:", 12) == 0)
            used = atof(line + 12);
        else if (line[0] >= '0' && line[0] <= '9')
            keys = atof(line);
    }
    if (f)
        pclose(f);
    return keys > 0 ? used / keys : 0;
}

/* ---- main -------------------------------------------------------------------------------------- */

static void bench_line(const char *name, double v, const char *unit, long n)
{
    printf("BENCH {\"name\":\"%s\",\"value\":%.6g,\"unit\":\"%s\",\"n\":%ld}\n", name, v, unit, n);
}

static struct load_result ringd_run(size_t nodes, int conns, double secs)
{
    static const char *const extra[] = {"--services", "presence", "--log-level", "warn", NULL};
    struct sr_tk_cluster h;
    sr_tk_init(&h, RINGD, "local");
    h.extra = extra;
    if (sr_tk_start(&h, nodes, sr_time_mono_us() + 30 * SR_US_PER_S) < 0) {
        fprintf(stderr, "cluster did not start (logs in %s)\n", h.logdir);
        exit(1);
    }
    struct load_result r = hb_load(&h, nodes, conns, secs);
    if (nodes > 1) {
        uint64_t p50, p99;
        batch_get_latency(&h, &p50, &p99);
        printf("batchGet of 1,000 users on %zu nodes: p50 %.2f ms, p99 %.2f ms\n", nodes,
               (double)p50 / 1000, (double)p99 / 1000);
        bench_line("presence.batchget_1000.p50_ms", (double)p50 / 1000, "ms", 1000);
        bench_line("presence.batchget_1000.p99_ms", (double)p99 / 1000, "ms", 1000);
    }
    sr_tk_destroy(&h);
    return r;
}

int main(void)
{
    const char *s = getenv("PRESENCE_SECONDS"), *c = getenv("PRESENCE_CONNS");
    double secs = s ? atof(s) : 5;
    int conns = c ? atoi(c) : 32;
    conns = conns < 1 ? 1 : conns > MAXC ? MAXC : conns;
    signal(SIGPIPE, SIG_IGN);

    double bpu = store_bytes_per_user(0), bpu_meta = store_bytes_per_user(64);
    printf("memory: %.1f bytes per single-session user beyond its meta (%d users, no meta); "
           "%.1f with 64 bytes of meta\n", bpu, USERS, bpu_meta);
    bench_line("presence.bytes_per_user", bpu, "B", USERS);
    bench_line("presence.bytes_per_user_meta64", bpu_meta, "B", USERS);

    struct load_result one = ringd_run(1, conns, secs), three = ringd_run(3, conns, secs);
    printf("heartbeats over HTTP keep-alive, %d connections, %.0f s each:\n", conns, secs);
    printf("  1 node : %9.0f /s  p50 %6.0f us  p99 %6.0f us  errors %zu\n", one.rps,
           (double)one.p50, (double)one.p99, one.errors);
    printf("  3 nodes: %9.0f /s  p50 %6.0f us  p99 %6.0f us  errors %zu\n", three.rps,
           (double)three.p50, (double)three.p99, three.errors);
    bench_line("presence.heartbeat_1node.rps", one.rps, "ops/s", conns);
    bench_line("presence.heartbeat_1node.p99_us", (double)one.p99, "us", conns);
    bench_line("presence.heartbeat_3nodes.rps", three.rps, "ops/s", conns);
    bench_line("presence.heartbeat_3nodes.p99_us", (double)three.p99, "us", conns);

    int port = sr_tk_free_port();
    pid_t rp = bench_redis_start("redis-server", port);
    struct load_result red = {0};
    double rbpk = 0;
    if (rp < 0 || redis_bench(port, conns, (long)(one.rps * secs) + 10000, &red) < 0) {
        printf("redis-server / redis-benchmark not available: no anchor\n");
    } else {
        rbpk = redis_bytes_per_key(port);
        printf("  redis SET EX 30: %9.0f /s  p50 %6.0f us  p99 %6.0f us  (%.0f bytes per key)\n",
               red.rps, (double)red.p50, (double)red.p99, rbpk);
        bench_line("redis.set_ex.rps", red.rps, "ops/s", conns);
        bench_line("redis.set_ex.p99_us", (double)red.p99, "us", conns);
        bench_line("redis.bytes_per_key", rbpk, "B", 0);
        printf("BENCH {\"name\":\"presence.heartbeat_1node.ratio\",\"value\":%.3f,\"unit\":"
               "\"x redis\",\"n\":%d}\n", one.rps / red.rps, conns);
    }
    if (rp > 0) {
        kill(rp, SIGKILL);
        waitpid(rp, NULL, 0);
    }
    return one.errors || three.errors ? 1 : 0;
}
