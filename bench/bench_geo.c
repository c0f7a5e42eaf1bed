/* bench_geo: services/geo (ringd --services geo) against redis-server's
 * GEO commands on 127.0.0.1, side by side in the same run (issue 9).
 *
 * For each data set (dense: N objects uniform in a 15 x 14.5 km box around
 * San Francisco; sparse: N in a 1.5 x 1.5 degree box):
 *   - load N objects into both (Redis: pipelined GEOADD; geo: HTTP PUTs);
 *     memory per object = RSS growth / N (Redis also: used_memory growth);
 *   - nearest-50 within 1 km: Redis GEOSEARCH FROMLONLAT BYRADIUS 1000 m ASC
 *     COUNT 50, geo GET /v1/geo/nearby?radius_m=1000&limit=50; queries/s and
 *     p99 over C closed-loop keep-alive connections for S seconds;
 *   - position updates: Redis GEOADD of one member, geo PUT; updates/s, p99.
 *
 *   bench_geo [--objects N] [--nodes 1|3] [--conns C] [--seconds S]
 *             [--sets dense,sparse] [--replicas R] [--redis PATH] [--ringd PATH]
 *             [--figures nearby,updates] [--floor C[,C...]] [--rounds R]
 * Defaults: 1,000,000 objects, 1 node, 4 connections, 5 s, both sets, both
 * figures, no floor. --floor 4,16,64 adds, per connection count, updates/s
 * of Redis GEOADD, of the same PUT answered by a null HTTP server
 * (bench_nullhttp.h: the ceiling of any HTTP front here), by a null evhttp
 * server (what libevent's HTTP alone costs) and by ringd,
 * R rounds (default 3) interleaved, and the medians.
 * Prints a table and BENCH {json} lines. Needs redis-server (scripts/deps.sh
 * --bench); build Release for meaningful numbers. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include "swimring/testkit.h"
#include "bench_nullhttp.h"
#include "bench_redis.h"

#define CONNS_MAX 64
#define LAT_MAX (1u << 22)

struct box {
    const char *name;
    double lat0, lat1, lng0, lng1;
};

/* SF: 14.5 km north-south, 15 km east-west around (37.77, -122.44). */
static const struct box boxes[] = {
    {"dense", 37.7048, 37.8352, -122.5252, -122.3548},
    {"sparse", 36.5, 38.0, -122.0, -120.5},
};

struct opts {
    size_t objects, conns;
    unsigned nodes, seconds;
    const char *sets, *redis, *ringd;
    const char *replicas;      /* --replicas for ringd (NULL: its default, 2) */
    const char *floor;         /* --floor C,C,...: update floor figures at these conns */
    bool nearby;               /* the nearby figures (--figures updates: off) */
    unsigned rounds;           /* --rounds of the floor figures (median reported) */
};

static struct opts opt = {1000000, 4, 1, 5, "dense,sparse", "redis-server",
                          SR_BINARY_DIR "/tools/ringd/ringd", NULL, NULL, true, 3};

/* ---- helpers ------------------------------------------------------------------------ */

static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static double urand(uint64_t *s, double lo, double hi)
{
    return lo + (hi - lo) * ((double)(rng_next(s) >> 11) / 9007199254740992.0);
}

static long rss_kib(pid_t pid)
{
    char path[64], line[256];
    long kib = -1;
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "VmRSS:", 6) == 0)
            kib = strtol(line + 6, NULL, 10);
    if (f)
        fclose(f);
    return kib;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* ---- a minimal RESP client ------------------------------------------------------------ */

struct redis {
    int fd;
    char buf[1 << 16];
    size_t len, pos;
};

static int rd_fill(struct redis *r)
{
    if (r->pos == r->len)
        r->pos = r->len = 0;
    if (r->len == sizeof r->buf) {
        memmove(r->buf, r->buf + r->pos, r->len - r->pos);
        r->len -= r->pos;
        r->pos = 0;
    }
    ssize_t n = recv(r->fd, r->buf + r->len, sizeof r->buf - r->len, 0);
    if (n <= 0)
        return -1;
    r->len += (size_t)n;
    return 0;
}

/* One line without CRLF into out. */
static int rd_line(struct redis *r, char *out, size_t cap)
{
    for (;;) {
        char *nl = memchr(r->buf + r->pos, '\n', r->len - r->pos);
        if (nl) {
            size_t n = (size_t)(nl - (r->buf + r->pos));
            size_t c = n && nl[-1] == '\r' ? n - 1 : n;
            if (c >= cap)
                c = cap - 1;
            memcpy(out, r->buf + r->pos, c);
            out[c] = '\0';
            r->pos += n + 1;
            return 0;
        }
        if (rd_fill(r) < 0)
            return -1;
    }
}

/* Read one reply; a bulk string's text (truncated) into text if not NULL.
 * -1 on an error reply or a lost connection. */
static int rd_reply(struct redis *r, char *text, size_t cap)
{
    char line[128];
    if (rd_line(r, line, sizeof line) < 0)
        return -1;
    long n = strtol(line + 1, NULL, 10);
    switch (line[0]) {
    case '+': case ':': return 0;
    case '-': fprintf(stderr, "redis: %s\n", line); return -1;
    case '*':
        for (long i = 0; i < n; i++)
            if (rd_reply(r, NULL, 0) < 0)
                return -1;
        return 0;
    case '$':
        if (n < 0)
            return 0;
        while (r->len - r->pos < (size_t)n + 2)
            if (rd_fill(r) < 0)
                return -1;
        if (text) {
            size_t c = (size_t)n < cap - 1 ? (size_t)n : cap - 1;
            memcpy(text, r->buf + r->pos, c);
            text[c] = '\0';
        }
        r->pos += (size_t)n + 2;
        return 0;
    default: return -1;
    }
}

/* Append a command (argv) in RESP to b. */
static size_t rd_cmd(char *b, size_t cap, int argc, const char **argv)
{
    size_t w = (size_t)snprintf(b, cap, "*%d\r\n", argc);
    for (int i = 0; i < argc && w < cap; i++)
        w += (size_t)snprintf(b + w, cap - w, "$%zu\r\n%s\r\n", strlen(argv[i]), argv[i]);
    return w;
}

static int send_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
        if (k <= 0)
            return -1;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

static int redis_connect(struct redis *r, int port)
{
    char hp[32];
    snprintf(hp, sizeof hp, "127.0.0.1:%d", port);
    r->len = r->pos = 0;
    return (r->fd = sr_tk_connect(hp)) < 0 ? -1 : 0;
}

static long redis_used_memory(struct redis *r)
{
    static char info[8192];
    const char *argv[] = {"INFO", "memory"};
    char cmd[64];
    size_t n = rd_cmd(cmd, sizeof cmd, 2, argv);
    if (send_all(r->fd, cmd, n) < 0 || rd_reply(r, info, sizeof info) < 0)
        return -1;
    const char *m = strstr(info, "used_memory:");
    return m ? strtol(m + 12, NULL, 10) : -1;
}


/* ---- closed-loop workers ------------------------------------------------------------------ */

enum kind {
    Q_REDIS_SEARCH, Q_GEO_NEARBY, U_REDIS_ADD, U_GEO_PUT, L_GEO_PUT, U_NULL_PUT, U_EVHTTP_PUT
};

struct shared {
    enum kind kind;
    const struct box *box;
    int redis_port;
    const char *http[3];
    unsigned nhttp;
    const char *null_http;     /* U_NULL_PUT: the null server (bench_nullhttp.h) */
    const char *evhttp_http;   /* U_EVHTTP_PUT: its evhttp variant */
    pid_t redis_pid, null_pid, evhttp_pid, geo_pid; /* whose CPU a figure reports (geo: node 0) */
    sr_time_us until;
    size_t objects;
    size_t load_next;          /* L_GEO_PUT: next object to load */
    pthread_mutex_t mu;
    const double *pts;         /* lat, lng pairs of the loaded objects */
};

struct worker {
    struct shared *sh;
    unsigned idx;
    uint64_t n, errors;
    uint32_t *lat_us;
    size_t nlat;
};

static void one_query_point(uint64_t *s, const struct box *b, double *lat, double *lng)
{
    /* Centres 1 km inside the box, so every circle is full of objects. */
    double dlat = 0.009, dlng = 0.009 / cos(b->lat0 * M_PI / 180);
    *lat = urand(s, b->lat0 + dlat, b->lat1 - dlat);
    *lng = urand(s, b->lng0 + dlng, b->lng1 - dlng);
}

static int geo_request(struct sr_tk_conn *c, const char *method, const char *path,
                       const char *body)
{
    static __thread char out[1 << 17];
    size_t len;
    return sr_tk_conn_request(c, method, path, body, body ? strlen(body) : 0, out, sizeof out,
                              &len);
}

static void *work(void *arg)
{
    struct worker *w = arg;
    struct shared *sh = w->sh;
    uint64_t seed = 0x9e3779b97f4a7c15ull * (w->idx + 1) + (uint64_t)sh->kind;
    struct redis *r = NULL;
    struct sr_tk_conn conn;
    char path[256], body[160], cmd[512], a[4][32];
    sr_tk_conn_init(&conn, sh->kind == U_NULL_PUT     ? sh->null_http
                           : sh->kind == U_EVHTTP_PUT ? sh->evhttp_http
                                                      : sh->http[w->idx % sh->nhttp]);
    if (sh->kind == Q_REDIS_SEARCH || sh->kind == U_REDIS_ADD) {
        r = malloc(sizeof(*r));
        if (!r || redis_connect(r, sh->redis_port) < 0) {
            w->errors++;
            free(r);
            return NULL;
        }
    }
    for (;;) {
        double lat, lng;
        size_t id = 0;
        if (sh->kind == L_GEO_PUT) {
            pthread_mutex_lock(&sh->mu);
            id = sh->load_next++;
            pthread_mutex_unlock(&sh->mu);
            if (id >= sh->objects)
                break;
            lat = sh->pts[2 * id];
            lng = sh->pts[2 * id + 1];
        } else {
            if (sr_time_mono_us() >= sh->until)
                break;
            if (sh->kind == U_REDIS_ADD || sh->kind == U_GEO_PUT || sh->kind == U_NULL_PUT ||
                sh->kind == U_EVHTTP_PUT) {
                id = (size_t)(rng_next(&seed) % sh->objects);
                lat = urand(&seed, sh->box->lat0, sh->box->lat1);
                lng = urand(&seed, sh->box->lng0, sh->box->lng1);
            } else {
                one_query_point(&seed, sh->box, &lat, &lng);
            }
        }
        sr_time_us t0 = sr_time_mono_us();
        int ok = 0;
        switch (sh->kind) {
        case Q_REDIS_SEARCH: {
            snprintf(a[0], 32, "%.7f", lng);
            snprintf(a[1], 32, "%.7f", lat);
            const char *argv[] = {"GEOSEARCH", "g", "FROMLONLAT", a[0], a[1], "BYRADIUS", "1000",
                                  "m", "ASC", "COUNT", "50"};
            size_t n = rd_cmd(cmd, sizeof cmd, 11, argv);
            ok = send_all(r->fd, cmd, n) == 0 && rd_reply(r, NULL, 0) == 0;
            break;
        }
        case U_REDIS_ADD: {
            snprintf(a[0], 32, "%.7f", lng);
            snprintf(a[1], 32, "%.7f", lat);
            snprintf(a[2], 32, "o%zu", id);
            const char *argv[] = {"GEOADD", "g", a[0], a[1], a[2]};
            size_t n = rd_cmd(cmd, sizeof cmd, 5, argv);
            ok = send_all(r->fd, cmd, n) == 0 && rd_reply(r, NULL, 0) == 0;
            break;
        }
        case Q_GEO_NEARBY:
            snprintf(path, sizeof path,
                     "/v1/geo/nearby?lat=%.7f&lng=%.7f&radius_m=1000&limit=50", lat, lng);
            ok = geo_request(&conn, "GET", path, NULL) == 200;
            break;
        case U_GEO_PUT:
        case U_NULL_PUT: /* the same request to the null servers */
        case U_EVHTTP_PUT:
        case L_GEO_PUT:
            snprintf(path, sizeof path, "/v1/geo/objects/o%zu", id);
            snprintf(body, sizeof body, "{\"lat\":%.7f,\"lng\":%.7f,\"ttl_s\":86400}", lat, lng);
            ok = geo_request(&conn, "PUT", path, body) == 200;
            break;
        }
        uint32_t us = (uint32_t)(sr_time_mono_us() - t0);
        if (!ok) {
            w->errors++;
            if (w->errors > 1000)
                break;
            continue;
        }
        w->n++;
        if (w->lat_us && w->nlat < LAT_MAX)
            w->lat_us[w->nlat++] = us;
    }
    sr_tk_conn_close(&conn);
    if (r) {
        close(r->fd);
        free(r);
    }
    return NULL;
}

struct result {
    double rate, p50_us, p99_us;
    uint64_t n, errors;
    double server_cpu_us, client_cpu_us; /* CPU per answered request (user + system) */
};

/* CPU time (user + system) of a process so far, from /proc (-1: unknown). */
static double proc_cpu_us(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f)
        fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')'); /* the name may hold spaces */
    unsigned long ut, st;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
        return -1;
    return (double)(ut + st) * 1e6 / (double)sysconf(_SC_CLK_TCK);
}

static struct result run_loop(struct shared *sh, size_t conns, unsigned seconds, bool latency)
{
    pthread_t t[CONNS_MAX];
    struct worker w[CONNS_MAX];
    pid_t server = sh->kind == U_REDIS_ADD || sh->kind == Q_REDIS_SEARCH ? sh->redis_pid
                   : sh->kind == U_NULL_PUT                             ? sh->null_pid
                   : sh->kind == U_EVHTTP_PUT                           ? sh->evhttp_pid
                                                                        : sh->geo_pid;
    double scpu0 = server > 0 ? proc_cpu_us(server) : -1, ccpu0 = proc_cpu_us(getpid());
    sr_time_us t0 = sr_time_mono_us();
    sh->until = t0 + (sr_time_us)seconds * SR_US_PER_S;
    for (size_t i = 0; i < conns; i++) {
        w[i] = (struct worker){sh, (unsigned)i, 0, 0, latency ? malloc(LAT_MAX * 4) : NULL, 0};
        pthread_create(&t[i], NULL, work, &w[i]);
    }
    struct result res = {0};
    size_t total = 0;
    for (size_t i = 0; i < conns; i++) {
        pthread_join(t[i], NULL);
        res.n += w[i].n;
        res.errors += w[i].errors;
        total += w[i].nlat;
    }
    double secs = (double)(sr_time_mono_us() - t0) / 1e6;
    res.rate = (double)res.n / secs;
    double scpu1 = server > 0 ? proc_cpu_us(server) : -1, ccpu1 = proc_cpu_us(getpid());
    res.server_cpu_us = scpu0 >= 0 && scpu1 >= 0 && res.n ? (scpu1 - scpu0) / (double)res.n : -1;
    res.client_cpu_us = ccpu0 >= 0 && ccpu1 >= 0 && res.n ? (ccpu1 - ccpu0) / (double)res.n : -1;
    if (latency && total) {
        uint32_t *all = malloc(total * 4);
        size_t k = 0;
        for (size_t i = 0; i < conns; i++) {
            memcpy(all + k, w[i].lat_us, w[i].nlat * 4);
            k += w[i].nlat;
        }
        qsort(all, total, 4, cmp_u32);
        res.p50_us = all[total / 2];
        res.p99_us = all[(size_t)((double)total * 0.99)];
        free(all);
    }
    for (size_t i = 0; i < conns; i++)
        free(w[i].lat_us);
    return res;
}

/* ---- one data set ------------------------------------------------------------------------- */

static void bench_line(const char *set, const char *what, const char *sys, double v,
                       const char *unit)
{
    printf("BENCH {\"name\":\"geo.%s.%s.%s\",\"value\":%.1f,\"unit\":\"%s\",\"nodes\":%u,"
           "\"objects\":%zu}\n",
           set, what, sys, v, unit, opt.nodes, opt.objects);
}

/* The update floor: for each connection count in --floor, Redis GEOADD,
 * the same PUT against the null HTTP server (the most any HTTP front could
 * do here), against the null evhttp server and against ringd, one after
 * the other, with the load average of the machine (other work shares its
 * cores) beside each figure; all of that --rounds times, interleaved, and
 * the medians at the end. */
#define FLOOR_CONNS_MAX 8
#define FLOOR_ROUNDS_MAX 9

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(const double *v, size_t n)
{
    double t[FLOOR_ROUNDS_MAX];
    memcpy(t, v, n * sizeof(*t));
    qsort(t, n, sizeof(*t), cmp_double);
    return n % 2 ? t[n / 2] : (t[n / 2 - 1] + t[n / 2]) / 2;
}

static size_t floor_conns(size_t *out)
{
    size_t n = 0;
    for (const char *p = opt.floor; *p && n < FLOOR_CONNS_MAX;) {
        char *end;
        size_t c = strtoul(p, &end, 10);
        if (end == p || c == 0 || c > CONNS_MAX) {
            fprintf(stderr, "bench_geo: --floor wants counts 1..%d, comma-separated\n", CONNS_MAX);
            break;
        }
        out[n++] = c;
        p = *end == ',' ? end + 1 : end;
    }
    return n;
}

#define FLOOR_SYS 4

static void run_floor(struct shared *sh, const char *set)
{
    static const enum kind kinds[FLOOR_SYS] = {U_REDIS_ADD, U_NULL_PUT, U_EVHTTP_PUT, U_GEO_PUT};
    static const char *sys[FLOOR_SYS] = {"redis", "null_http", "null_evhttp", "geo"};
    double rate[FLOOR_CONNS_MAX][FLOOR_SYS][FLOOR_ROUNDS_MAX];
    double cpu[FLOOR_CONNS_MAX][FLOOR_SYS][FLOOR_ROUNDS_MAX], la[FLOOR_CONNS_MAX][FLOOR_ROUNDS_MAX];
    size_t conns[FLOOR_CONNS_MAX], nc = floor_conns(conns);
    char addr[32], eaddr[32];
    pid_t npid = nullhttp_start(addr, sizeof addr, false);
    pid_t epid = nullhttp_start(eaddr, sizeof eaddr, true);
    if (npid < 0 || epid < 0) {
        fprintf(stderr, "bench_geo: the null HTTP servers did not start\n");
        nullhttp_stop(npid);
        nullhttp_stop(epid);
        return;
    }
    sh->null_http = addr;
    sh->null_pid = npid;
    sh->evhttp_http = eaddr;
    sh->evhttp_pid = epid;
    printf("update floor (%u s each; la = 1-min load average before the row; per system: "
           "updates/s, p99 us, server CPU us per update):\n", opt.seconds);
    printf("%5s %6s %5s %24s %24s %24s %24s %7s %7s %7s\n", "round", "conns", "la", "redis GEOADD",
           "null HTTP PUT", "null evhttp PUT", "geo PUT", "null/r", "evh/r", "geo/r");
    for (unsigned round = 0; round < opt.rounds; round++) {
        for (size_t i = 0; i < nc; i++) {
            struct result r[FLOOR_SYS];
            if (getloadavg(&la[i][round], 1) != 1)
                la[i][round] = -1;
            for (int k = 0; k < FLOOR_SYS; k++) {
                sh->kind = kinds[k];
                r[k] = run_loop(sh, conns[i], opt.seconds, true);
                rate[i][k][round] = r[k].rate;
                cpu[i][k][round] = r[k].server_cpu_us;
                printf("BENCH {\"name\":\"geo.%s.floor.update_per_s.%s\",\"value\":%.1f,"
                       "\"unit\":\"1/s\",\"conns\":%zu,\"round\":%u,\"p99_us\":%.0f,"
                       "\"server_cpu_us\":%.2f,\"client_cpu_us\":%.2f,\"errors\":%llu,"
                       "\"loadavg\":%.2f}\n",
                       set, sys[k], r[k].rate, conns[i], round, r[k].p99_us, r[k].server_cpu_us,
                       r[k].client_cpu_us, (unsigned long long)r[k].errors, la[i][round]);
            }
            printf("%5u %6zu %5.1f", round, conns[i], la[i][round]);
            for (int k = 0; k < FLOOR_SYS; k++)
                printf(" %8.0f %7.0f %7.1f", r[k].rate, r[k].p99_us, r[k].server_cpu_us);
            for (int k = 1; k < FLOOR_SYS; k++)
                printf(" %7.2f", r[k].rate / r[0].rate);
            printf("\n");
            fflush(stdout);
        }
    }
    printf("medians over %u rounds (updates/s, server CPU us per update):\n", opt.rounds);
    for (size_t i = 0; i < nc; i++) {
        double m[FLOOR_SYS];
        printf("%5s %6zu %5.1f", "med", conns[i], median(la[i], opt.rounds));
        for (int k = 0; k < FLOOR_SYS; k++) {
            m[k] = median(rate[i][k], opt.rounds);
            printf(" %8.0f %15.1f", m[k], median(cpu[i][k], opt.rounds));
        }
        for (int k = 1; k < FLOOR_SYS; k++)
            printf(" %7.2f", m[k] / m[0]);
        printf("\n");
        for (int k = 0; k < FLOOR_SYS; k++)
            printf("BENCH {\"name\":\"geo.%s.floor.update_per_s.%s.median\",\"value\":%.1f,"
                   "\"unit\":\"1/s\",\"conns\":%zu,\"rounds\":%u}\n",
                   set, sys[k], m[k], conns[i], opt.rounds);
    }
    nullhttp_stop(npid);
    nullhttp_stop(epid);
    sh->null_http = sh->evhttp_http = NULL;
}

static int redis_load(struct redis *r, const double *pts, size_t n)
{
    static char cmd[1 << 20];
    const size_t per = 1000; /* members per GEOADD */
    for (size_t i = 0; i < n; i += per) {
        size_t m = n - i < per ? n - i : per, w;
        w = (size_t)snprintf(cmd, sizeof cmd, "*%zu\r\n$6\r\nGEOADD\r\n$1\r\ng\r\n", 2 + 3 * m);
        for (size_t k = i; k < i + m; k++) {
            char x[32], y[32], id[32];
            int lx = snprintf(x, sizeof x, "%.7f", pts[2 * k + 1]);
            int ly = snprintf(y, sizeof y, "%.7f", pts[2 * k]);
            int li = snprintf(id, sizeof id, "o%zu", k);
            w += (size_t)snprintf(cmd + w, sizeof cmd - w, "$%d\r\n%s\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n",
                                  lx, x, ly, y, li, id);
        }
        if (send_all(r->fd, cmd, w) < 0 || rd_reply(r, NULL, 0) < 0)
            return -1;
    }
    return 0;
}

static int run_set(const struct box *b)
{
    uint64_t seed = 42;
    double *pts = malloc(opt.objects * 2 * sizeof(double));
    for (size_t i = 0; i < opt.objects; i++) {
        pts[2 * i] = urand(&seed, b->lat0, b->lat1);
        pts[2 * i + 1] = urand(&seed, b->lng0, b->lng1);
    }
    /* redis-server */
    int rport = sr_tk_free_port();
    pid_t rpid = bench_redis_start(opt.redis, rport);
    struct redis *r = malloc(sizeof(*r));
    if (rpid < 0 || redis_connect(r, rport) < 0) {
        fprintf(stderr, "bench_geo: %s did not start (scripts/deps.sh --bench installs it)\n",
                opt.redis);
        if (rpid > 0) {
            kill(rpid, SIGKILL);
            waitpid(rpid, NULL, 0);
        }
        free(r);
        free(pts);
        return -1;
    }
    long rss0 = rss_kib(rpid), mem0 = redis_used_memory(r);
    sr_time_us t0 = sr_time_mono_us();
    if (redis_load(r, pts, opt.objects) < 0) {
        fprintf(stderr, "bench_geo: loading redis failed\n");
        return -1;
    }
    double rload = (double)(sr_time_mono_us() - t0) / 1e6;
    long rss1 = rss_kib(rpid), mem1 = redis_used_memory(r);
    close(r->fd);
    free(r);
    /* ringd --services geo */
    const char *extra[] = {"--services", "geo", "--log-level", "warn", NULL, NULL, NULL};
    if (opt.replicas) {
        extra[4] = "--replicas";
        extra[5] = opt.replicas;
    }
    struct sr_tk_cluster c;
    sr_tk_init(&c, opt.ringd, "local");
    c.extra = extra;
    c.no_faults = true;
    if (sr_tk_start(&c, opt.nodes, sr_time_mono_us() + 60 * SR_US_PER_S) < 0) {
        fprintf(stderr, "bench_geo: cluster did not start (logs in %s)\n", c.logdir);
        return -1;
    }
    long grss0 = 0, grss1 = 0;
    for (size_t i = 0; i < c.n; i++)
        grss0 += rss_kib(c.nodes[i].pid);
    struct shared sh = {.box = b, .redis_port = rport, .objects = opt.objects, .pts = pts,
                        .redis_pid = rpid, .geo_pid = c.n == 1 ? c.nodes[0].pid : 0};
    pthread_mutex_init(&sh.mu, NULL);
    sh.nhttp = (unsigned)c.n;
    for (size_t i = 0; i < c.n; i++)
        sh.http[i] = c.nodes[i].http;
    sh.kind = L_GEO_PUT;
    t0 = sr_time_mono_us();
    struct result load = run_loop(&sh, opt.conns, 3600, false);
    double gload = (double)(sr_time_mono_us() - t0) / 1e6;
    for (size_t i = 0; i < c.n; i++)
        grss1 += rss_kib(c.nodes[i].pid);
    double r_obj = (double)(rss1 - rss0) * 1024 / (double)opt.objects;
    double r_used = (double)(mem1 - mem0) / (double)opt.objects;
    double g_obj = (double)(grss1 - grss0) * 1024 / (double)opt.objects;
    printf("\n== %s: %zu objects, ringd x%u (replicas %s), %zu connections, %u s per figure ==\n",
           b->name, opt.objects, opt.nodes, opt.replicas ? opt.replicas : "default", opt.conns,
           opt.seconds);
    printf("load: redis %.1f s (pipelined GEOADD x1000), geo %.1f s (%.0f PUT/s, %llu errors)\n",
           rload, gload, (double)load.n / gload, (unsigned long long)load.errors);
    printf("%-28s %12s %12s %8s\n", "figure", "geo", "redis", "ratio");
    printf("%-28s %12.0f %12.0f %8.2f   (redis used_memory: %.0f)\n", "memory per object (B)",
           g_obj, r_obj, g_obj / r_obj, r_used);
    bench_line(b->name, "bytes_per_object", "geo", g_obj, "B");
    bench_line(b->name, "bytes_per_object", "redis", r_obj, "B");
    const struct {
        const char *label, *key;
        enum kind g, rk;
    } figs[] = {{"nearest-50 in 1 km", "nearby", Q_GEO_NEARBY, Q_REDIS_SEARCH},
                {"position updates", "update", U_GEO_PUT, U_REDIS_ADD}};
    for (size_t f = opt.nearby ? 0 : 1; f < 2; f++) {
        sh.kind = figs[f].rk;
        struct result rr = run_loop(&sh, opt.conns, opt.seconds, true);
        sh.kind = figs[f].g;
        struct result gr = run_loop(&sh, opt.conns, opt.seconds, true);
        printf("%-28s %12.0f %12.0f %8.2f\n", figs[f].label, gr.rate, rr.rate, gr.rate / rr.rate);
        printf("%-28s %12.0f %12.0f %8.2f   (errors geo %llu, redis %llu)\n", "  p99 (us)",
               gr.p99_us, rr.p99_us, gr.p99_us / rr.p99_us, (unsigned long long)gr.errors,
               (unsigned long long)rr.errors);
        if (gr.server_cpu_us >= 0)
            printf("%-28s %12.1f %12.1f %8.2f   (client CPU per op: %.1f, %.1f)\n",
                   "  server CPU per op (us)", gr.server_cpu_us, rr.server_cpu_us,
                   gr.server_cpu_us / rr.server_cpu_us, gr.client_cpu_us, rr.client_cpu_us);
        char k[64];
        snprintf(k, sizeof k, "%s_per_s", figs[f].key);
        bench_line(b->name, k, "geo", gr.rate, "1/s");
        bench_line(b->name, k, "redis", rr.rate, "1/s");
        snprintf(k, sizeof k, "%s_p99", figs[f].key);
        bench_line(b->name, k, "geo", gr.p99_us, "us");
        bench_line(b->name, k, "redis", rr.p99_us, "us");
    }
    if (opt.floor)
        run_floor(&sh, b->name);
    fflush(stdout);
    sr_tk_destroy(&c);
    kill(rpid, SIGKILL);
    waitpid(rpid, NULL, 0);
    pthread_mutex_destroy(&sh.mu);
    free(pts);
    return 0;
}

int main(int argc, char **argv)
{
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--objects") == 0)
            opt.objects = strtoul(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--nodes") == 0)
            opt.nodes = (unsigned)strtoul(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--conns") == 0)
            opt.conns = strtoul(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--seconds") == 0)
            opt.seconds = (unsigned)strtoul(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--sets") == 0)
            opt.sets = argv[i + 1];
        else if (strcmp(argv[i], "--redis") == 0)
            opt.redis = argv[i + 1];
        else if (strcmp(argv[i], "--replicas") == 0)
            opt.replicas = argv[i + 1];
        else if (strcmp(argv[i], "--ringd") == 0)
            opt.ringd = argv[i + 1];
        else if (strcmp(argv[i], "--floor") == 0)
            opt.floor = argv[i + 1];
        else if (strcmp(argv[i], "--rounds") == 0)
            opt.rounds = (unsigned)strtoul(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--figures") == 0)
            opt.nearby = strstr(argv[i + 1], "nearby") != NULL;
        else {
            fprintf(stderr, "bench_geo: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    if (opt.objects == 0 || opt.conns == 0 || opt.conns > CONNS_MAX || opt.nodes == 0 ||
        opt.nodes > 3 || opt.rounds == 0 || opt.rounds > FLOOR_ROUNDS_MAX) {
        fprintf(stderr, "bench_geo: --objects > 0, --conns 1..%d, --nodes 1..3, --rounds 1..%d\n",
                CONNS_MAX, FLOOR_ROUNDS_MAX);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    for (size_t i = 0; i < sizeof boxes / sizeof boxes[0]; i++)
        if (strstr(opt.sets, boxes[i].name) && run_set(&boxes[i]) < 0)
            return 1;
    return 0;
}
