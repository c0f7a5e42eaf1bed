/* The UDP driver with gossip encryption, on real loopback sockets in one
 * process: keyed drivers converge and a driver with another key stays out
 * (counted as unknown_key); with big labels the datagrams the driver really
 * sends, caught by a socket that joined as a member, never exceed cfg.mtu
 * although the packer fills them close to it. */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <event2/event.h>
#include "swimring/error.h"
#include "swimring/gossip_crypto.h"
#include "swimring/swim_udp.h"
#include "swim/wire.h"
#include "swimring/testkit.h"

#define NDRV 4

static struct sr_gossip *ring_of(uint8_t fill)
{
    uint8_t k[SR_GOSSIP_KEY_LEN];
    memset(k, fill, sizeof k);
    struct sr_gossip *g = sr_gossip_new(5000, 1000);
    cr_assert_not_null(g);
    cr_assert_eq(sr_gossip_install(g, k, NULL), 0);
    return g;
}

struct ctx {
    struct event_base *base;
    struct sr_swim_udp *u[NDRV];
    struct sr_gossip *g[NDRV];
    size_t n;
    char addr[NDRV][32];
    bool (*done)(struct ctx *);
    sr_time_us deadline;
    /* the sniffer */
    int sfd;
    struct sr_gossip *sring;
    size_t caught, biggest, native_biggest;
    bool over_mtu;
};

static void on_poll(evutil_socket_t fd, short what, void *arg)
{
    struct ctx *c = arg;
    (void)fd;
    (void)what;
    if ((c->done && c->done(c)) || sr_time_mono_us() >= c->deadline)
        event_base_loopbreak(c->base);
}

static void run_until(struct ctx *c, bool (*done)(struct ctx *), sr_time_us span)
{
    c->done = done;
    c->deadline = sr_time_mono_us() + span;
    struct timeval tv = {0, 20000};
    struct event *poll = event_new(c->base, -1, EV_PERSIST, on_poll, c);
    event_add(poll, &tv);
    event_base_dispatch(c->base);
    event_free(poll);
}

static void start(struct ctx *c, const struct sr_swim_cfg *cfg, struct sr_log *log, size_t i,
                  struct sr_gossip *g)
{
    int err = 0;
    struct sr_swim_udp_opts o = {.gossip = g};
    snprintf(c->addr[i], sizeof c->addr[i], "127.0.0.1:%d", sr_tk_free_port());
    c->g[i] = g;
    c->u[i] = sr_swim_udp_new_ex(c->base, cfg, c->addr[i], c->addr[i], log, &o, &err);
    cr_assert_not_null(c->u[i], "driver %zu: %s", i, sr_strerror(err));
}

static void teardown(struct ctx *c)
{
    for (size_t i = 0; i < c->n; i++) {
        sr_swim_udp_delete(c->u[i]);
        sr_gossip_delete(c->g[i]);
    }
    event_base_loop(c->base, EVLOOP_NONBLOCK);
    cr_expect_eq(event_base_get_num_events(c->base, EVENT_BASE_COUNT_ADDED), 0);
    event_base_free(c->base);
}

static bool two_keyed_alive(struct ctx *c)
{
    return sr_swim_count(sr_swim_udp_core(c->u[0]), SR_SWIM_ALIVE) == 2 &&
           sr_swim_count(sr_swim_udp_core(c->u[1]), SR_SWIM_ALIVE) == 2 &&
           sr_gossip_stats(c->g[0])->dropped[SR_GOSSIP_UNKNOWN_KEY] > 0;
}

Test(swim_udp_gossip, keyed_drivers_converge_a_stranger_stays_out, .timeout = 60)
{
    struct ctx c = {.n = 3, .sfd = -1};
    struct sr_swim_cfg cfg;
    int err = 0;
    sr_swim_cfg_default_local(&cfg);
    struct sr_log *log = sr_log_new(SR_LOG_OFF, NULL, NULL, &err);
    c.base = event_base_new();
    start(&c, &cfg, log, 0, ring_of(0x11));
    start(&c, &cfg, log, 1, ring_of(0x11));
    start(&c, &cfg, log, 2, ring_of(0x22));
    for (size_t i = 0; i < 3; i++)
        cr_assert_eq(sr_swim_start(sr_swim_udp_core(c.u[i])), 0);
    const char *seed = c.addr[0];
    cr_assert_eq(sr_swim_join(sr_swim_udp_core(c.u[1]), &seed, 1), 0);
    cr_assert_eq(sr_swim_join(sr_swim_udp_core(c.u[2]), &seed, 1), 0);
    run_until(&c, two_keyed_alive, 50ULL * cfg.period_ms * SR_US_PER_MS);
    cr_assert(two_keyed_alive(&c), "keyed drivers did not converge");
    /* 20 more periods: the stranger is still alone, and nobody knows it */
    run_until(&c, NULL, 20ULL * cfg.period_ms * SR_US_PER_MS);
    cr_expect_eq(sr_swim_size(sr_swim_udp_core(c.u[2])), 1);
    struct sr_swim_member_info mi;
    cr_expect_neq(sr_swim_member(sr_swim_udp_core(c.u[0]), c.addr[2], &mi), 0);
    cr_expect_eq(sr_gossip_stats(c.g[2])->opened, 0);
    cr_expect_gt(sr_gossip_stats(c.g[0])->opened, 0);
    cr_expect_eq(sr_gossip_stats(c.g[0])->dropped[SR_GOSSIP_AUTH], 0);
    teardown(&c);
    sr_log_delete(log);
}

/* ---- MTU ----------------------------------------------------------------------- */

static void on_sniff(evutil_socket_t fd, short what, void *arg)
{
    struct ctx *c = arg;
    uint8_t buf[65536];
    (void)what;
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0)
        return;
    const uint8_t *plain;
    size_t plen;
    c->caught++;
    c->biggest = (size_t)n > c->biggest ? (size_t)n : c->biggest;
    if ((size_t)n > 1400)
        c->over_mtu = true;
    if (sr_gossip_open(c->sring, sr_time_wall_us() / 1000, buf, (size_t)n, &plain, &plen) ==
        SR_GOSSIP_OK)
        c->native_biggest = plen > c->native_biggest ? plen : c->native_biggest;
}

/* A sealed join ping from the sniffer: it becomes a member the drivers
 * gossip to. */
static void sniffer_join(struct ctx *c, const char *self, const char *to)
{
    struct sr_buf b;
    sr_buf_create(&b, 0);
    struct sr_swim_msg m = {.type = SR_SWIM_MSG_PING, .seq = 1, .flags = SR_SWIM_FLAG_JOIN};
    int off = sr_swim_wire_begin(&b, &m);
    cr_assert_geq(off, 0);
    struct sr_buf u;
    struct sr_mp_writer w;
    sr_buf_create(&u, 0);
    sr_mp_writer_init(&w, &u);
    sr_swim_wire_put_update(&w, self, "sniffer", 0, SR_SWIM_ALIVE, NULL, 0, NULL);
    sr_buf_append(&b, u.data, u.len);
    cr_assert_eq(sr_swim_wire_finish(&b, (size_t)off, 1), 0);
    uint8_t sealed[512];
    int n = sr_gossip_seal(c->sring, sr_time_wall_us() / 1000, b.data, b.len, sealed, sizeof sealed);
    cr_assert_gt(n, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_port = htons((uint16_t)atoi(strchr(to, ':') + 1));
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(sendto(c->sfd, sealed, (size_t)n, 0, (struct sockaddr *)&sa, sizeof sa), n);
    sr_buf_destroy(&u);
    sr_buf_destroy(&b);
}

/* Labels sized so that one alive update of a driver is 443 bytes: with a
 * ping's 33 fixed bytes and the sniffer's own ~30-byte record, two fit the
 * core's budget (1358) and three do not, but three would fit 1400, so a
 * driver that forgot the envelope's 42 bytes would send more than 1400. */
static void label_of(size_t drv, int l, char *k, char *v)
{
    snprintf(k, SR_SWIM_LABEL_MAX, l ? "label-key-%d-is-28-bytes-long" : "label-key-%d-is-22-long", l);
    snprintf(v, SR_SWIM_LABEL_MAX, "value-%zu-%d-is-23-long!", drv, l);
}

static size_t update_size(const char *addr, size_t drv)
{
    struct sr_swim_label labels[SR_SWIM_LABELS_MAX];
    for (int l = 0; l < SR_SWIM_LABELS_MAX; l++)
        label_of(drv, l, labels[l].key, labels[l].value);
    struct sr_buf b;
    struct sr_mp_writer w;
    sr_buf_create(&b, 0);
    sr_mp_writer_init(&w, &b);
    sr_swim_wire_put_update(&w, addr, addr, SR_SWIM_LABELS_MAX, SR_SWIM_ALIVE, labels,
                            SR_SWIM_LABELS_MAX, NULL);
    size_t n = b.len;
    sr_buf_destroy(&b);
    return n;
}

static size_t g_update; /* one driver's alive update, bytes */

static bool enough_caught(struct ctx *c)
{
    return c->caught >= 40 && c->native_biggest + g_update > 1400 - SR_GOSSIP_OVERHEAD;
}

Test(swim_udp_gossip, sealed_datagrams_never_exceed_the_mtu, .timeout = 60)
{
    struct ctx c = {.n = NDRV};
    struct sr_swim_cfg cfg;
    int err = 0;
    sr_swim_cfg_default_local(&cfg);
    cr_assert_eq(cfg.mtu, 1400);
    struct sr_log *log = sr_log_new(SR_LOG_OFF, NULL, NULL, &err);
    c.base = event_base_new();
    c.sring = ring_of(0x33);
    for (size_t i = 0; i < NDRV; i++) {
        start(&c, &cfg, log, i, ring_of(0x33));
        struct sr_swim *s = sr_swim_udp_core(c.u[i]);
        for (int l = 0; l < SR_SWIM_LABELS_MAX; l++) {
            char k[SR_SWIM_LABEL_MAX], v[SR_SWIM_LABEL_MAX];
            label_of(i, l, k, v);
            cr_assert_eq(sr_swim_set_label(s, k, v), 0);
        }
        size_t us = update_size(c.addr[i], i);
        cr_assert(2 * us + 63 <= 1400 - SR_GOSSIP_OVERHEAD && 3 * us + 33 > 1400 - SR_GOSSIP_OVERHEAD &&
                      3 * us + 63 <= 1400,
                  "update of %zu bytes does not make the test sharp", us);
        g_update = us;
        cr_assert_eq(sr_swim_start(s), 0);
    }
    for (size_t i = 1; i < NDRV; i++) {
        const char *seed = c.addr[0];
        cr_assert_eq(sr_swim_join(sr_swim_udp_core(c.u[i]), &seed, 1), 0);
    }
    /* the sniffer: a socket joined as a member right away, so it hears the
     * join news while it is pending */
    char self[32];
    int port = sr_tk_free_port();
    snprintf(self, sizeof self, "127.0.0.1:%d", port);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    c.sfd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    cr_assert_eq(bind(c.sfd, (struct sockaddr *)&sa, sizeof sa), 0);
    struct event *sniff = event_new(c.base, c.sfd, EV_READ | EV_PERSIST, on_sniff, &c);
    event_add(sniff, NULL);
    sniffer_join(&c, self, c.addr[0]);
    run_until(&c, enough_caught, 50ULL * cfg.period_ms * SR_US_PER_MS);
    cr_log_info("caught %zu datagrams, biggest %zu sealed / %zu native; one update %zu", c.caught,
                c.biggest, c.native_biggest, g_update);
    cr_expect_geq(c.caught, 40);
    cr_expect_not(c.over_mtu, "a sealed datagram of %zu bytes > mtu %u", c.biggest, cfg.mtu);
    cr_expect_leq(c.native_biggest, cfg.mtu - SR_GOSSIP_OVERHEAD);
    cr_expect_gt(c.native_biggest + g_update, cfg.mtu - SR_GOSSIP_OVERHEAD,
                 "the packer never filled a datagram (%zu)", c.native_biggest);
    event_free(sniff);
    close(c.sfd);
    sr_gossip_delete(c.sring);
    teardown(&c);
    sr_log_delete(log);
}

Test(swim_udp_gossip, mtu_too_small_for_the_envelope)
{
    struct sr_swim_cfg cfg;
    int err = 0;
    sr_swim_cfg_default_local(&cfg);
    cfg.mtu = 256 + SR_GOSSIP_OVERHEAD - 1;
    struct event_base *base = event_base_new();
    struct sr_log *log = sr_log_new(SR_LOG_OFF, NULL, NULL, &err);
    struct sr_gossip *g = ring_of(0x44);
    struct sr_swim_udp_opts o = {.gossip = g};
    char addr[32];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", sr_tk_free_port());
    cr_expect_null(sr_swim_udp_new_ex(base, &cfg, addr, "x", log, &o, &err));
    cr_expect_eq(err, SR_EINVAL);
    sr_gossip_delete(g);
    event_base_free(base);
    sr_log_delete(log);
}
