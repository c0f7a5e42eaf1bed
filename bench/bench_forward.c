/* bench_forward: what forwarding costs. Two kvd processes on 127.0.0.1;
 * every request goes over HTTP to node A, for keys A owns ("local") or keys
 * B owns ("forwarded": A relays it over RPC to B and relays the answer).
 * Closed loop with C keep-alive connections for a fixed time; prints
 * requests/s and p50/p99 latency for each, and their ratios.
 *
 * --tls: a second pair of kvd with mutual TLS between them (certificates
 * made with the openssl CLI into a temporary directory) runs beside the
 * plain pair; per concurrency, TLS_ROUNDS rounds alternate plain and TLS
 * forwarded GETs of SECONDS each, and the medians say what TLS costs (on a
 * shared machine the load drifts; alternating keeps both sides under the
 * same drift).
 *
 *   bench_forward [--tls] [KVD_PATH] [SECONDS]   (default: this build's kvd, 5 s) */
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
#include "bench_load.h"
#include "tls_certs.h"

#define KEYS 512
#define TLS_ROUNDS 5

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

static void report(const char *what, int conc, const struct load_run *r)
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

/* Two kvd joined and holding the keys; 0 or -1 (then h is destroyed). */
static int pair_start(struct sr_tk_cluster *h, const char *kvd, const char *const *extra,
                      char local[][32], char remote[][32])
{
    size_t two = 2;
    sr_tk_init(h, kvd, "local");
    h->extra = extra;
    if (sr_tk_spawn(h, NULL) < 0 || sr_tk_spawn(h, h->nodes[0].gossip) < 0 ||
        !sr_tk_wait(h, sr_time_mono_us() + 20 * SR_US_PER_S, load_ring_is, &two) ||
        prepare_keys(h, local, remote) < 0) {
        fprintf(stderr, "bench_forward: cluster did not come up (%s, logs in %s)\n", kvd, h->logdir);
        sr_tk_destroy(h);
        return -1;
    }
    return 0;
}

/* The TLS pair's flags: one CA, one node certificate both use. */
static int tls_flags(struct tls_pki *k, char buf[4][320], const char *argv[16])
{
    if (tls_pki_init(k) < 0 || tls_pki_ca(k, "ca") < 0 || tls_pki_leaf(k, "ca", "node", "-days 2") < 0)
        return -1;
    snprintf(buf[0], 320, "tls.cert_file=%s", tls_pki_path(k, "node", "pem"));
    snprintf(buf[1], 320, "tls.key_file=%s", tls_pki_path(k, "node", "key"));
    snprintf(buf[2], 320, "tls.ca_file=%s", tls_pki_path(k, "ca", "pem"));
    const char *f[] = {"--log-level", "warn", "--set", "tls.enabled=true", "--set", buf[0],
                       "--set", buf[1], "--set", buf[2], NULL};
    memcpy(argv, f, sizeof f);
    return 0;
}

static void report_tls(int conc, const struct load_run *plain, const struct load_run *tls);

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The median of each figure over the rounds. */
static struct load_run median(const struct load_run *r, int n)
{
    double v[3][TLS_ROUNDS];
    struct load_run m = {0};
    for (int i = 0; i < n; i++) {
        v[0][i] = r[i].rps;
        v[1][i] = r[i].p50_us;
        v[2][i] = r[i].p99_us;
        m.errors += r[i].errors;
        m.n += r[i].n;
    }
    for (int k = 0; k < 3; k++)
        qsort(v[k], (size_t)n, sizeof(double), cmp_double);
    m.rps = v[0][n / 2];
    m.p50_us = v[1][n / 2];
    m.p99_us = v[2][n / 2];
    return m;
}

/* Forwarded GETs, plain and TLS pairs in alternation; medians reported. */
static void compare_tls(struct sr_tk_cluster *h, struct sr_tk_cluster *th, char remote[][32],
                        char tremote[][32], int conc, double secs, uint32_t *lat)
{
    struct load_run pr[TLS_ROUNDS], tr[TLS_ROUNDS];
    struct load_spec ps = {"GET", remote, KEYS, NULL, 0}, ts = {"GET", tremote, KEYS, NULL, 0};
    for (int r = 0; r < TLS_ROUNDS; r++) {
        pr[r] = load_http(h->nodes[0].http, &ps, conc, secs, 0, lat);
        tr[r] = load_http(th->nodes[0].http, &ts, conc, secs, 0, lat);
        printf("  round %d conc=%-3d plain %7.0f req/s p50 %6.1f p99 %7.1f | tls %7.0f req/s p50 "
               "%6.1f p99 %7.1f us\n", r + 1, conc, pr[r].rps, pr[r].p50_us, pr[r].p99_us,
               tr[r].rps, tr[r].p50_us, tr[r].p99_us);
    }
    struct load_run p = median(pr, TLS_ROUNDS), t = median(tr, TLS_ROUNDS);
    report("forwarded_plain_median", conc, &p);
    report_tls(conc, &p, &t);
}

static void report_tls(int conc, const struct load_run *plain, const struct load_run *tls)
{
    report("forwarded_tls_median", conc, tls);
    printf("TLS keeps %.2f of plain forwarded throughput, adds %.1f us at p50, %.1f us at p99 "
           "(medians of %d alternated rounds, conc %d)\n",
           plain->rps > 0 ? tls->rps / plain->rps : 0, tls->p50_us - plain->p50_us,
           tls->p99_us - plain->p99_us, TLS_ROUNDS, conc);
    printf("BENCH {\"name\":\"forward.tls.throughput_ratio\",\"value\":%.3f,\"unit\":\"ratio\","
           "\"conc\":%d}\n", plain->rps > 0 ? tls->rps / plain->rps : 0, conc);
    printf("BENCH {\"name\":\"forward.tls.added_p50\",\"value\":%.1f,\"unit\":\"us\",\"conc\":%d}\n",
           tls->p50_us - plain->p50_us, conc);
}

int main(int argc, char **argv)
{
    static char local[KEYS][32], remote[KEYS][32], tlocal[KEYS][32], tremote[KEYS][32];
    static uint32_t lat[LOAD_LAT_MAX];
    static const char *const extra[] = {"--log-level", "warn", NULL};
    bool tls = argc > 1 && strcmp(argv[1], "--tls") == 0;
    int a = tls ? 2 : 1;
    const char *kvd = argc > a ? argv[a] : SR_BINARY_DIR "/examples/kvd/kvd";
    double secs = argc > a + 1 ? atof(argv[a + 1]) : 5.0;
    struct sr_tk_cluster h, th;
    struct tls_pki pki = {0};
    char tbuf[4][320];
    const char *textra[16];
    signal(SIGPIPE, SIG_IGN);
    if (pair_start(&h, kvd, extra, local, remote) < 0)
        return 1;
    if (tls && (tls_flags(&pki, tbuf, textra) < 0 || pair_start(&th, kvd, textra, tlocal, tremote) < 0)) {
        fprintf(stderr, "bench_forward: no TLS pair (certificates in %s)\n", pki.dir);
        sr_tk_destroy(&h);
        tls_pki_destroy(&pki);
        return 1;
    }
    int concs[] = {1, 32};
    for (size_t i = 0; i < 2; i++) {
        struct load_spec ls = {"GET", local, KEYS, NULL, 0}, fs = {"GET", remote, KEYS, NULL, 0};
        struct load_run l = load_http(h.nodes[0].http, &ls, concs[i], secs, 0, lat);
        struct load_run f = load_http(h.nodes[0].http, &fs, concs[i], secs, 0, lat);
        report("local", concs[i], &l);
        report("forwarded", concs[i], &f);
        printf("forwarding adds %.1f us at p50, keeps %.2f of local throughput (conc %d)\n",
               f.p50_us - l.p50_us, l.rps > 0 ? f.rps / l.rps : 0, concs[i]);
        printf("BENCH {\"name\":\"forward.added_p50\",\"value\":%.1f,\"unit\":\"us\",\"conc\":%d}\n",
               f.p50_us - l.p50_us, concs[i]);
        printf("BENCH {\"name\":\"forward.throughput_ratio\",\"value\":%.3f,\"unit\":\"ratio\",\"conc\":%d}\n",
               l.rps > 0 ? f.rps / l.rps : 0, concs[i]);
        if (tls)
            compare_tls(&h, &th, remote, tremote, concs[i], secs, lat);
    }
    sr_tk_destroy(&h);
    if (tls) {
        sr_tk_destroy(&th);
        tls_pki_destroy(&pki);
    }
    return 0;
}
