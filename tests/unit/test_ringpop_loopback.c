/* The ringpop driver on real TCP sockets on 127.0.0.1, in one process:
 * two nodes join through each other, agree on every lookup, survive hostile
 * bytes on their port, and detect a stopped peer within the bounds the
 * config gives (refused ping -> suspect at once -> faulty after suspect_ms). */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <event2/event.h>
#include "swimring/ringpop.h"
#include "swimring/time.h"

static void free_addr(char *out, size_t n)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof(sa);
    cr_assert(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
    cr_assert(getsockname(fd, (struct sockaddr *)&sa, &sl) == 0);
    snprintf(out, n, "127.0.0.1:%u", ntohs(sa.sin_port));
    close(fd);
}

static void nop(evutil_socket_t fd, short w, void *a) { (void)fd, (void)w, (void)a; }

/* Run the loop until cond or ms pass (a 10 ms ticker wakes it). */
#define WAIT_UNTIL(base, ms, cond)                                               \
    do {                                                                         \
        sr_time_us end_ = sr_time_mono_us() + (sr_time_us)(ms) * 1000;           \
        while (!(cond) && sr_time_mono_us() < end_)                              \
            event_base_loop((base), EVLOOP_ONCE);                                \
    } while (0)

static int status(struct sr_ringpop *rp, const char *addr)
{
    struct sr_swim_member_info m;
    return sr_swim_member(sr_ringpop_swim(rp), addr, &m) == 0 ? (int)m.status : -1;
}

struct pair {
    struct event_base *base;
    struct event *tick;
    char a[64], b[64];
    struct sr_ringpop *ra, *rb;
};

static struct sr_ringpop *node(struct pair *p, const char *self, uint32_t suspect_ms)
{
    const char *hosts[] = {p->a, p->b};
    struct sr_ringpop_cfg cfg;
    sr_ringpop_cfg_default(&cfg);
    cfg.listen = self;
    cfg.hosts = hosts;
    cfg.nhosts = 2;
    cfg.suspect_ms = suspect_ms;
    cfg.faulty_ms = 60000;
    int err = 0;
    struct sr_ringpop *rp = sr_ringpop_new(p->base, &cfg, NULL, &err);
    cr_assert_not_null(rp, "err %d", err);
    return rp;
}

static void pair_up(struct pair *p)
{
    memset(p, 0, sizeof(*p));
    p->base = event_base_new();
    p->tick = event_new(p->base, -1, EV_PERSIST, nop, NULL);
    struct timeval tv = {0, 10000};
    event_add(p->tick, &tv);
    free_addr(p->a, sizeof(p->a));
    free_addr(p->b, sizeof(p->b));
    p->ra = node(p, p->a, 1000);
    p->rb = node(p, p->b, 1000);
    WAIT_UNTIL(p->base, 10000, status(p->ra, p->b) == SR_SWIM_ALIVE && status(p->rb, p->a) == SR_SWIM_ALIVE);
    cr_assert_eq(status(p->ra, p->b), SR_SWIM_ALIVE, "A never saw B");
    cr_assert_eq(status(p->rb, p->a), SR_SWIM_ALIVE, "B never saw A");
}

static void pair_down(struct pair *p)
{
    sr_ringpop_delete(p->ra);
    sr_ringpop_delete(p->rb);
    event_free(p->tick);
    event_base_free(p->base);
}

Test(ringpop_loopback, join_and_agree_on_lookups)
{
    struct pair p;
    pair_up(&p);
    int differ = 0, to_a = 0;
    for (int i = 0; i < 1000; i++) {
        char key[32];
        int n = snprintf(key, sizeof(key), "key-%d", i);
        const char *x = sr_ringpop_lookup(p.ra, key, (size_t)n);
        const char *y = sr_ringpop_lookup(p.rb, key, (size_t)n);
        cr_assert(x && y);
        differ += strcmp(x, y) != 0;
        to_a += strcmp(x, p.a) == 0;
    }
    cr_expect_eq(differ, 0);
    cr_expect(to_a > 300 && to_a < 700, "%d of 1000 keys on A", to_a);
    pair_down(&p);
}

Test(ringpop_loopback, hostile_bytes_close_only_that_connection)
{
    struct pair p;
    pair_up(&p);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    sa.sin_port = htons((uint16_t)atoi(strrchr(p.a, ':') + 1));
    cr_assert(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
    /* a frame whose size field says 3 bytes: below the 16-byte header */
    const uint8_t junk[] = {0x00, 0x03, 0x01, 0x00, 0xff, 0xff, 0xff, 0xff};
    cr_assert(write(fd, junk, sizeof(junk)) == (ssize_t)sizeof(junk));
    char buf[64];
    ssize_t got = 1;
    sr_time_us end = sr_time_mono_us() + 5000000;
    struct timeval tv = {0, 20000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    while (got != 0 && sr_time_mono_us() < end) {
        event_base_loop(p.base, EVLOOP_NONBLOCK);
        got = read(fd, buf, sizeof(buf));
    }
    cr_expect_eq(got, 0, "the node kept a connection that sent garbage");
    close(fd);
    /* the cluster is unaffected */
    WAIT_UNTIL(p.base, 500, false);
    cr_expect_eq(status(p.ra, p.b), SR_SWIM_ALIVE);
    cr_expect_eq(status(p.rb, p.a), SR_SWIM_ALIVE);
    pair_down(&p);
}

Test(ringpop_loopback, stopped_peer_is_suspected_then_faulty)
{
    struct pair p;
    pair_up(&p);
    sr_ringpop_delete(p.rb);
    p.rb = NULL;
    sr_time_us t0 = sr_time_mono_us();
    /* refused connection: suspected within a probe pass (2 members: one
     * period of 200 ms, plus slack), faulty suspect_ms (1 s) later */
    WAIT_UNTIL(p.base, 3000, status(p.ra, p.b) != SR_SWIM_ALIVE);
    sr_time_us t1 = sr_time_mono_us();
    cr_assert_eq(status(p.ra, p.b), SR_SWIM_SUSPECT, "not suspected within 3 s");
    WAIT_UNTIL(p.base, 3000, status(p.ra, p.b) == SR_SWIM_FAULTY);
    sr_time_us t2 = sr_time_mono_us();
    cr_expect_eq(status(p.ra, p.b), SR_SWIM_FAULTY);
    cr_expect_geq(t2 - t1, 900000u, "faulty %llu us after suspect, before suspect_ms",
                  (unsigned long long)(t2 - t1));
    cr_expect_lt(t1 - t0, 3000000u);
    cr_expect_eq(sr_ringpop_lookup(p.ra, "x", 1) != NULL, true);
    cr_expect_str_eq(sr_ringpop_lookup(p.ra, "x", 1), p.a, "a faulty member still owns keys");
    sr_ringpop_delete(p.ra);
    event_free(p.tick);
    event_base_free(p.base);
}
