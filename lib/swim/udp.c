/* The real SWIM driver: libevent + one UDP socket. */
#include <errno.h>
#include <stdio.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sys/random.h>
#include "swimring/error.h"
#include "swimring/time.h"
#include "udp_impl.h"

int sr_swim_udp_parse_addr(const char *text, struct sockaddr_storage *ss, socklen_t *len)
{
    char host[SR_SWIM_ADDR_MAX];
    const char *colon, *hs = text;
    size_t hl;
    if (!text || strlen(text) >= sizeof(host))
        return SR_EINVAL;
    colon = strrchr(text, ':');
    if (!colon || !colon[1])
        return SR_EINVAL;
    hl = (size_t)(colon - text);
    if (text[0] == '[') { /* IPv6 literal: strip the brackets */
        if (hl < 2 || text[hl - 1] != ']')
            return SR_EINVAL;
        hs = text + 1;
        hl -= 2;
    }
    memcpy(host, hs, hl);
    host[hl] = '\0';
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_DGRAM;
    /* Numeric only: a DNS lookup would block the loop. */
    hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
    if (getaddrinfo(host, colon + 1, &hints, &res) != 0 || !res)
        return SR_EINVAL;
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    *len = (socklen_t)res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

const struct sr_swim_udp_addr *sr_swim_udp_resolve(struct sr_swim_udp *u, const char *text)
{
    for (size_t i = 0; i < u->naddrs; i++)
        if (strcmp(u->addrs[i].text, text) == 0)
            return &u->addrs[i];
    if (strlen(text) >= SR_SWIM_ADDR_MAX)
        return NULL;
    if (u->naddrs == u->addrs_cap) {
        size_t cap = u->addrs_cap ? u->addrs_cap * 2 : 16;
        void *p = realloc(u->addrs, cap * sizeof(*u->addrs));
        if (!p)
            return NULL;
        u->addrs = p;
        u->addrs_cap = cap;
    }
    struct sr_swim_udp_addr *a = &u->addrs[u->naddrs++];
    memset(a, 0, sizeof(*a));
    strcpy(a->text, text);
    /* Cache failures too, so a bad address costs one parse, not one per send. */
    a->ok = sr_swim_udp_parse_addr(text, &a->ss, &a->len) == 0;
    return a;
}

static sr_time_us udp_now(void *ctx)
{
    (void)ctx;
    return sr_time_mono_us();
}

static uint64_t udp_random(void *ctx)
{
    struct sr_swim_udp *u = ctx;
    uint64_t s1 = u->rng[0];
    const uint64_t s0 = u->rng[1];
    u->rng[0] = s0;
    s1 ^= s1 << 23;
    u->rng[1] = s1 ^ s0 ^ (s1 >> 17) ^ (s0 >> 26);
    return u->rng[1] + s0;
}

static void udp_send(void *ctx, const char *to, const void *data, size_t len)
{
    struct sr_swim_udp *u = ctx;
    if (u->filter && u->filter(u->filter_ud, to, true)) {
        u->stats.filtered++;
        return;
    }
    const struct sr_swim_udp_addr *a = sr_swim_udp_resolve(u, to);
    if (!a || !a->ok) {
        u->stats.resolve_failed++;
        return;
    }
    if (!sr_swim_udp_gossip_out(u, &data, &len))
        return;
    if (sendto(u->fd, data, len, 0, (const struct sockaddr *)&a->ss, a->len) < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)
            u->stats.send_eagain++;
        else
            u->stats.send_errors++;
    }
}

static void udp_arm(struct sr_swim_udp *u, sr_time_us at)
{
    sr_time_us now = sr_time_mono_us();
    sr_time_us d = at > now ? at - now : 0;
    struct timeval tv = {(time_t)(d / SR_US_PER_S), (suseconds_t)(d % SR_US_PER_S)};
    evtimer_add(u->ev_timer, &tv); /* re-adding replaces the earlier deadline */
}

static void udp_schedule(void *ctx, sr_time_us at)
{
    struct sr_swim_udp *u = ctx;
    u->timer_at = at;
    udp_arm(u, at);
}

static void udp_event(void *ctx, const struct sr_swim_event *ev)
{
    struct sr_swim_udp *u = ctx;
    if (u->event_fn)
        u->event_fn(u->event_ud, ev);
}

static void udp_full_sync(void *ctx, const char *peer)
{
    struct sr_swim_udp *u = ctx;
    if (u->opts.external_sync) {
        u->stats.syncs_out++;
        u->opts.external_sync(u->opts.external_sync_ud, peer);
    } else {
        sr_swim_udp_sync_start(u, peer);
    }
}

static const struct sr_swim_vtab udp_vtab = {
    .now = udp_now, .random = udp_random, .send = udp_send, .schedule = udp_schedule,
    .event = udp_event, .full_sync = udp_full_sync,
};

static void udp_on_timer(evutil_socket_t fd, short what, void *arg)
{
    struct sr_swim_udp *u = arg;
    (void)fd;
    (void)what;
    /* libevent measures timeouts from its cached loop time, which can lag
     * the real clock by the length of the current callback, so the timer
     * may fire before `at`. The core would then find nothing due and not
     * ask again: re-arm instead of ticking early. */
    if (sr_time_mono_us() < u->timer_at) {
        udp_arm(u, u->timer_at);
        return;
    }
    sr_swim_tick(u->swim);
}

/* Called for every datagram: inet_ntop, not getnameinfo (which drags the
 * resolver's code and tables into a node's working set). A link-local
 * IPv6 peer keeps its numeric scope, which the parser accepts back. */
static void sockaddr_text(const struct sockaddr_storage *ss, char *out, size_t outlen)
{
    char host[INET6_ADDRSTRLEN];
    int n = -1;
    if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
        unsigned port = ntohs(a->sin6_port), scope = (unsigned)a->sin6_scope_id;
        if (inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof host))
            n = scope ? snprintf(out, outlen, "[%s%%%u]:%u", host, scope, port)
                      : snprintf(out, outlen, "[%s]:%u", host, port);
    } else if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
        if (inet_ntop(AF_INET, &a->sin_addr, host, sizeof host))
            n = snprintf(out, outlen, "%s:%u", host, (unsigned)ntohs(a->sin_port));
    }
    if (n < 0 || (size_t)n >= outlen)
        snprintf(out, outlen, "?:0");
}

/* Drain a bounded burst so one flooding peer cannot starve timers. */
static void udp_on_read(evutil_socket_t fd, short what, void *arg)
{
    struct sr_swim_udp *u = arg;
    (void)what;
    for (unsigned i = 0; i < SR_SWIM_UDP_READ_BURST; i++) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        ssize_t n = recvfrom(fd, u->rbuf, sizeof(u->rbuf), MSG_TRUNC,
                             (struct sockaddr *)&ss, &sl);
        if (n < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                u->stats.recv_errors++;
            return;
        }
        if ((size_t)n > sizeof(u->rbuf)) {
            u->stats.recv_oversize++;
            continue;
        }
        char from[SR_SWIM_ADDR_MAX];
        sockaddr_text(&ss, from, sizeof(from));
        if (u->filter && u->filter(u->filter_ud, from, false)) {
            u->stats.filtered++;
            continue;
        }
        const uint8_t *dg = u->rbuf;
        size_t dlen = (size_t)n;
        if (sr_swim_udp_gossip_in(u, from, &dg, &dlen))
            sr_swim_receive(u->swim, from, dg, dlen);
    }
}

static int udp_open(struct sr_swim_udp *u, const char *listen_addr)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    if (sr_swim_udp_parse_addr(listen_addr, &ss, &sl) != 0)
        return SR_EINVAL;
    u->fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (u->fd < 0)
        return SR_ESYS;
    if (bind(u->fd, (struct sockaddr *)&ss, sl) != 0) {
        SR_ERROR(u->log, "udp_bind_failed", "addr=%s errno=%d", listen_addr, errno);
        return SR_ESYS;
    }
    u->ev_read = event_new(u->base, u->fd, EV_READ | EV_PERSIST, udp_on_read, u);
    u->ev_timer = evtimer_new(u->base, udp_on_timer, u);
    if (!u->ev_read || !u->ev_timer || event_add(u->ev_read, NULL) != 0)
        return SR_ENOMEM;
    if (u->opts.external_sync)
        return 0; /* the caller serves TCP on this address */
    return sr_swim_udp_sync_listen(u, (struct sockaddr *)&ss, sl);
}

struct sr_swim_udp *sr_swim_udp_new(struct event_base *base, const struct sr_swim_cfg *cfg,
                                    const char *listen_addr, const char *name,
                                    struct sr_log *log, int *err)
{
    return sr_swim_udp_new_ex(base, cfg, listen_addr, name, log, NULL, err);
}

struct sr_swim_udp *sr_swim_udp_new_ex(struct event_base *base, const struct sr_swim_cfg *cfg,
                                       const char *listen_addr, const char *name,
                                       struct sr_log *log, const struct sr_swim_udp_opts *opts,
                                       int *err)
{
    int e;
    struct sr_swim_udp *u = calloc(1, sizeof(*u));
    if (!u) {
        *err = SR_ENOMEM;
        return NULL;
    }
    u->base = base;
    u->log = log;
    u->fd = -1;
    if (opts)
        u->opts = *opts;
    if (getrandom(u->rng, sizeof(u->rng), 0) != (ssize_t)sizeof(u->rng))
        u->rng[0] = sr_time_wall_us() ^ ((uint64_t)getpid() << 32);
    u->rng[1] |= 1; /* xorshift state must not be all zero */
    struct sr_swim_cfg core_cfg = *cfg;
    e = sr_swim_udp_gossip_init(u, &core_cfg);
    if (e == 0)
        e = udp_open(u, listen_addr);
    if (e == 0) {
        u->swim = sr_swim_new(&core_cfg, listen_addr, name, &udp_vtab, u, log, &e);
        if (u->swim)
            SR_INFO(log, "swim_listening", "udp=%s tcp=%s name=%s", listen_addr,
                    u->opts.external_sync ? "external" : listen_addr, name);
    }
    if (e != 0) {
        sr_swim_udp_delete(u);
        *err = e;
        return NULL;
    }
    *err = 0;
    return u;
}

void sr_swim_udp_delete(struct sr_swim_udp *u)
{
    if (!u)
        return;
    sr_swim_udp_sync_close_all(u);
    if (u->listener)
        evconnlistener_free(u->listener);
    if (u->ev_read)
        event_free(u->ev_read);
    if (u->ev_timer)
        event_free(u->ev_timer);
    if (u->fd >= 0)
        close(u->fd);
    sr_swim_delete(u->swim);
    sr_swim_udp_gossip_free(u);
    free(u->addrs);
    free(u);
}

void sr_swim_udp_set_event_cb(struct sr_swim_udp *u, sr_swim_udp_event_f fn, void *ud)
{
    u->event_fn = fn;
    u->event_ud = ud;
}

void sr_swim_udp_set_filter(struct sr_swim_udp *u, sr_swim_udp_filter_f fn, void *ud)
{
    u->filter = fn;
    u->filter_ud = ud;
}

struct sr_swim *sr_swim_udp_core(struct sr_swim_udp *u)
{
    return u->swim;
}

const struct sr_swim_udp_stats *sr_swim_udp_stats(const struct sr_swim_udp *u)
{
    return &u->stats;
}
