/* bench_forward: what forwarding costs. Two kvd processes on 127.0.0.1;
 * every request goes over HTTP to node A, for keys A owns ("local") or keys
 * B owns ("forwarded": A relays it over RPC to B and relays the answer).
 * Closed loop with C keep-alive connections for a fixed time; prints
 * requests/s and p50/p99 latency for each, and their ratios.
 *
 *   bench_forward [KVD_PATH] [SECONDS]     (default: this build's kvd, 5 s) */
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "swimring/testkit.h"

#define CONC_MAX 64
#define KEYS 512
#define LAT_MAX 4000000

struct run {
    double rps, p50_us, p99_us;
    uint64_t n, errors;
};

struct lconn {
    int fd;
    size_t got;
    char in[4096];
    sr_time_us t0;
    int key;
};

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static int answer_complete(struct lconn *c)
{
    char *end = memmem(c->in, c->got, "\r\n\r\n", 4);
    if (!end)
        return 0;
    const char *cl = strcasestr(c->in, "\r\ncontent-length:");
    size_t body = cl ? (size_t)strtol(cl + 17, NULL, 10) : 0;
    if (c->got < (size_t)(end + 4 - c->in) + body)
        return 0;
    return strncmp(c->in + 9, "200", 3) == 0 ? 1 : -1;
}

static void send_get(struct lconn *c, char keys[][32], int nkeys, uint64_t *seq)
{
    char req[128];
    c->key = (int)((*seq)++ % (uint64_t)nkeys);
    int n = snprintf(req, sizeof req, "GET /v1/kv/%s HTTP/1.1\r\nHost: b\r\n\r\n", keys[c->key]);
    c->got = 0;
    c->t0 = sr_time_mono_us();
    if (write(c->fd, req, (size_t)n) != n)
        c->got = SIZE_MAX;
}

/* One closed-loop run of `conc` connections for `secs` seconds. */
static struct run load(const char *http, char keys[][32], int nkeys, int conc, double secs,
                       uint32_t *lat)
{
    struct lconn c[CONC_MAX];
    struct pollfd pfd[CONC_MAX];
    struct run r = {0};
    uint64_t seq = 0;
    for (int i = 0; i < conc; i++) {
        c[i].fd = sr_tk_connect(http);
        send_get(&c[i], keys, nkeys, &seq);
    }
    sr_time_us start = sr_time_mono_us(), end = start + (sr_time_us)(secs * 1e6);
    while (sr_time_mono_us() < end) {
        for (int i = 0; i < conc; i++)
            pfd[i] = (struct pollfd){c[i].fd, POLLIN, 0};
        if (poll(pfd, (nfds_t)conc, 100) <= 0)
            continue;
        for (int i = 0; i < conc; i++) {
            if (!(pfd[i].revents & POLLIN))
                continue;
            ssize_t got = read(c[i].fd, c[i].in + c[i].got, sizeof(c[i].in) - 1 - c[i].got);
            if (got <= 0) {
                r.errors++;
                close(c[i].fd);
                c[i].fd = sr_tk_connect(http);
                send_get(&c[i], keys, nkeys, &seq);
                continue;
            }
            c[i].got += (size_t)got;
            int done = answer_complete(&c[i]);
            if (done == 0)
                continue;
            if (done < 0)
                r.errors++;
            else if (r.n < LAT_MAX)
                lat[r.n++] = (uint32_t)(sr_time_mono_us() - c[i].t0);
            send_get(&c[i], keys, nkeys, &seq);
        }
    }
    double took = (double)(sr_time_mono_us() - start) / 1e6;
    for (int i = 0; i < conc; i++)
        close(c[i].fd);
    qsort(lat, r.n, sizeof(*lat), cmp_u32);
    r.rps = (double)r.n / took;
    r.p50_us = r.n ? lat[r.n / 2] : 0;
    r.p99_us = r.n ? lat[r.n * 99 / 100] : 0;
    return r;
}

static bool two_on_ring(struct sr_tk_cluster *h, void *ud)
{
    (void)ud;
    for (size_t i = 0; i < h->n; i++) {
        json_t *j = sr_tk_http(h->nodes[i].http, "GET", "/admin/status");
        json_t *m = json_object_get(json_object_get(j, "ring"), "members");
        bool ok = json_is_integer(m) && json_integer_value(m) == 2;
        json_decref(j);
        if (!ok)
            return false;
    }
    return true;
}

/* Fill `local` with keys node 0 owns and `remote` with keys node 1 owns,
 * each stored with a 64-byte value. */
static int prepare_keys(struct sr_tk_cluster *h, char local[][32], char remote[][32])
{
    int nl = 0, nr = 0;
    struct sr_tk_conn conn;
    char val[64], out[256], path[80];
    memset(val, 'v', sizeof val);
    sr_tk_conn_init(&conn, h->nodes[0].http);
    for (int k = 0; (nl < KEYS || nr < KEYS) && k < 100 * KEYS; k++) {
        char key[32];
        snprintf(key, sizeof key, "bench-%d", k);
        snprintf(path, sizeof path, "/admin/lookup?key=%s", key);
        json_t *j = sr_tk_http(h->nodes[0].http, "GET", path);
        bool mine = json_is_true(json_object_get(j, "local"));
        json_decref(j);
        if ((mine && nl >= KEYS) || (!mine && nr >= KEYS))
            continue;
        snprintf(path, sizeof path, "/v1/kv/%s", key);
        if (sr_tk_conn_request(&conn, "PUT", path, val, sizeof val, out, sizeof out, NULL) / 100 != 2)
            return -1;
        snprintf(mine ? local[nl++] : remote[nr++], 32, "%s", key);
    }
    sr_tk_conn_close(&conn);
    return nl == KEYS && nr == KEYS ? 0 : -1;
}

static void report(const char *what, int conc, const struct run *r)
{
    printf("%-10s conc=%-3d %9.0f req/s  p50 %7.1f us  p99 %7.1f us  errors %llu\n", what, conc,
           r->rps, r->p50_us, r->p99_us, (unsigned long long)r->errors);
    printf("BENCH {\"name\":\"forward.%s.rps\",\"value\":%.0f,\"unit\":\"req/s\",\"conc\":%d}\n", what,
           r->rps, conc);
    printf("BENCH {\"name\":\"forward.%s.p50\",\"value\":%.1f,\"unit\":\"us\",\"conc\":%d}\n", what,
           r->p50_us, conc);
    printf("BENCH {\"name\":\"forward.%s.p99\",\"value\":%.1f,\"unit\":\"us\",\"conc\":%d}\n", what,
           r->p99_us, conc);
}

int main(int argc, char **argv)
{
    static char local[KEYS][32], remote[KEYS][32];
    static uint32_t lat[LAT_MAX];
    static const char *const extra[] = {"--log-level", "warn", NULL};
    const char *kvd = argc > 1 ? argv[1] : SR_BINARY_DIR "/examples/kvd/kvd";
    double secs = argc > 2 ? atof(argv[2]) : 5.0;
    struct sr_tk_cluster h;
    signal(SIGPIPE, SIG_IGN);
    sr_tk_init(&h, kvd, "local");
    h.extra = extra;
    if (sr_tk_spawn(&h, NULL) < 0 || sr_tk_spawn(&h, h.nodes[0].gossip) < 0 ||
        !sr_tk_wait(&h, sr_time_mono_us() + 20 * SR_US_PER_S, two_on_ring, NULL) ||
        prepare_keys(&h, local, remote) < 0) {
        fprintf(stderr, "bench_forward: cluster did not come up (%s, logs in %s)\n", kvd, h.logdir);
        sr_tk_destroy(&h);
        return 1;
    }
    int concs[] = {1, 32};
    for (size_t i = 0; i < 2; i++) {
        struct run l = load(h.nodes[0].http, local, KEYS, concs[i], secs, lat);
        struct run f = load(h.nodes[0].http, remote, KEYS, concs[i], secs, lat);
        report("local", concs[i], &l);
        report("forwarded", concs[i], &f);
        printf("forwarding adds %.1f us at p50, keeps %.2f of local throughput (conc %d)\n",
               f.p50_us - l.p50_us, l.rps > 0 ? f.rps / l.rps : 0, concs[i]);
        printf("BENCH {\"name\":\"forward.added_p50\",\"value\":%.1f,\"unit\":\"us\",\"conc\":%d}\n",
               f.p50_us - l.p50_us, concs[i]);
        printf("BENCH {\"name\":\"forward.throughput_ratio\",\"value\":%.3f,\"unit\":\"ratio\",\"conc\":%d}\n",
               l.rps > 0 ? f.rps / l.rps : 0, concs[i]);
    }
    sr_tk_destroy(&h);
    return 0;
}
