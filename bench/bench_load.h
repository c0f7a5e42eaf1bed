/* A closed-loop HTTP/1.1 load generator for the benchmarks: C keep-alive
 * connections, each sending its next request as soon as the last answer is
 * in, for a fixed time; latencies into a caller's array, then sorted. */
#ifndef SWIMRING_BENCH_LOAD_H
#define SWIMRING_BENCH_LOAD_H

#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "swimring/testkit.h"

#define LOAD_CONC_MAX 64
#define LOAD_LAT_MAX 4000000

struct load_run {
    double rps, p50_us, p99_us;
    uint64_t n, errors;
};

/* What to send: method on /v1/kv/<keys[i]> with `body` (NULL: none). */
struct load_spec {
    const char *method;
    char (*keys)[32];
    int nkeys;
    const char *body;
    size_t body_len;
};

struct load_conn {
    int fd;
    size_t got;
    char in[4096];
    sr_time_us t0;
};

static int load_cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* 1: a whole 2xx answer is in; -1: a whole other answer; 0: not yet. */
static int load_answer(struct load_conn *c)
{
    char *end = memmem(c->in, c->got, "\r\n\r\n", 4);
    if (!end)
        return 0;
    const char *cl = strcasestr(c->in, "\r\ncontent-length:");
    size_t body = cl ? (size_t)strtol(cl + 17, NULL, 10) : 0;
    if (c->got < (size_t)(end + 4 - c->in) + body)
        return 0;
    return c->in[9] == '2' ? 1 : -1;
}

static void load_send(struct load_conn *c, const struct load_spec *s, uint64_t *seq)
{
    char req[1024];
    int key = (int)((*seq)++ % (uint64_t)s->nkeys);
    size_t blen = s->body && s->body_len < 512 ? s->body_len : 0;
    int n = snprintf(req, sizeof req,
                     "%s /v1/kv/%s HTTP/1.1\r\nHost: b\r\nContent-Length: %zu\r\n\r\n",
                     s->method, s->keys[key], blen);
    memcpy(req + n, s->body ? s->body : "", blen); /* one write: no Nagle stall */
    c->got = 0;
    c->t0 = sr_time_mono_us();
    if (write(c->fd, req, (size_t)n + blen) != (ssize_t)((size_t)n + blen))
        c->got = SIZE_MAX;
}

/* One closed-loop run of `conc` connections for `secs` seconds (or until
 * `max` requests were answered, if max > 0). */
static struct load_run load_http(const char *http, const struct load_spec *s, int conc,
                                 double secs, uint64_t max, uint32_t *lat)
{
    struct load_conn c[LOAD_CONC_MAX];
    struct pollfd pfd[LOAD_CONC_MAX];
    struct load_run r = {0};
    uint64_t seq = 0;
    for (int i = 0; i < conc; i++) {
        c[i].fd = sr_tk_connect(http);
        load_send(&c[i], s, &seq);
    }
    sr_time_us start = sr_time_mono_us(), end = start + (sr_time_us)(secs * 1e6);
    while (sr_time_mono_us() < end && (max == 0 || r.n + r.errors < max)) {
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
                load_send(&c[i], s, &seq);
                continue;
            }
            c[i].got += (size_t)got;
            int done = load_answer(&c[i]);
            if (done == 0)
                continue;
            if (done < 0)
                r.errors++;
            else if (r.n < LOAD_LAT_MAX)
                lat[r.n++] = (uint32_t)(sr_time_mono_us() - c[i].t0);
            load_send(&c[i], s, &seq);
        }
    }
    double took = (double)(sr_time_mono_us() - start) / 1e6;
    for (int i = 0; i < conc; i++)
        close(c[i].fd);
    qsort(lat, r.n, sizeof(*lat), load_cmp_u32);
    r.rps = (double)r.n / took;
    r.p50_us = r.n ? lat[r.n / 2] : 0;
    r.p99_us = r.n ? lat[r.n * 99 / 100] : 0;
    return r;
}

/* Every running node has `want` members on its ring. */
static bool load_ring_is(struct sr_tk_cluster *h, void *ud)
{
    size_t want = *(const size_t *)ud;
    for (size_t i = 0; i < h->n; i++) {
        if (h->nodes[i].pid <= 0)
            continue;
        json_t *j = sr_tk_http(h->nodes[i].http, "GET", "/admin/status");
        json_t *m = json_object_get(json_object_get(j, "ring"), "members");
        bool ok = json_is_integer(m) && (size_t)json_integer_value(m) == want;
        json_decref(j);
        if (!ok)
            return false;
    }
    return true;
}

#endif
