/* The UDP driver on real loopback sockets, in one process: three drivers on
 * one event_base converge (all alive, equal checksums); teardown leaves no
 * event behind. */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>
#include <event2/event.h>
#include "swimring/error.h"
#include "swimring/swim_udp.h"

#define NDRV 3

struct ctx {
    struct event_base *base;
    struct sr_swim_udp *u[NDRV];
    struct event *poll;
    sr_time_us deadline;
    int converged;
    unsigned events;
};

/* A loopback port the kernel says is free for both TCP and UDP now. */
static int free_port(void)
{
    for (int tries = 0; tries < 100; tries++) {
        struct sockaddr_in sa = {.sin_family = AF_INET};
        socklen_t sl = sizeof(sa);
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        int t = socket(AF_INET, SOCK_STREAM, 0), u = socket(AF_INET, SOCK_DGRAM, 0);
        int ok = bind(t, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
                 getsockname(t, (struct sockaddr *)&sa, &sl) == 0 &&
                 bind(u, (struct sockaddr *)&sa, sizeof(sa)) == 0;
        close(t);
        close(u);
        if (ok)
            return ntohs(sa.sin_port);
    }
    return -1;
}

static bool converged(struct ctx *c)
{
    for (int i = 0; i < NDRV; i++) {
        struct sr_swim *s = sr_swim_udp_core(c->u[i]);
        if (sr_swim_count(s, SR_SWIM_ALIVE) != NDRV ||
            sr_swim_checksum(s) != sr_swim_checksum(sr_swim_udp_core(c->u[0])))
            return false;
    }
    return true;
}

static void on_poll(evutil_socket_t fd, short what, void *arg)
{
    struct ctx *c = arg;
    (void)fd;
    (void)what;
    if (converged(c)) {
        c->converged = 1;
        event_base_loopbreak(c->base);
    } else if (sr_time_mono_us() >= c->deadline) {
        event_base_loopbreak(c->base);
    }
}

static void on_event(void *ud, const struct sr_swim_event *ev)
{
    (void)ev;
    ((struct ctx *)ud)->events++;
}

Test(swim_udp, three_drivers_converge_on_loopback, .timeout = 60)
{
    struct ctx c = {0};
    struct sr_swim_cfg cfg;
    char addr[NDRV][32];
    int err = 0;
    sr_swim_cfg_default_local(&cfg);
    struct sr_log *log = sr_log_new(SR_LOG_WARN, NULL, "udp-test", &err);
    c.base = event_base_new();
    cr_assert_not_null(c.base);
    for (int i = 0; i < NDRV; i++) {
        snprintf(addr[i], sizeof(addr[i]), "127.0.0.1:%d", free_port());
        char name[8];
        snprintf(name, sizeof(name), "d%d", i);
        c.u[i] = sr_swim_udp_new(c.base, &cfg, addr[i], name, log, &err);
        cr_assert_not_null(c.u[i], "driver %d: %s", i, sr_strerror(err));
        sr_swim_udp_set_event_cb(c.u[i], on_event, &c);
        cr_assert_eq(sr_swim_start(sr_swim_udp_core(c.u[i])), 0);
    }
    for (int i = 1; i < NDRV; i++) {
        const char *seed = addr[0];
        cr_assert_eq(sr_swim_join(sr_swim_udp_core(c.u[i]), &seed, 1), 0);
    }
    /* Joining is one round trip plus a full sync; 50 periods is ample. */
    c.deadline = sr_time_mono_us() + 50ULL * cfg.period_ms * SR_US_PER_MS;
    struct timeval tv = {0, 20000};
    c.poll = event_new(c.base, -1, EV_PERSIST, on_poll, &c);
    event_add(c.poll, &tv);
    event_base_dispatch(c.base);
    cr_expect(c.converged, "drivers did not converge");
    cr_expect_gt(c.events, 0);

    event_free(c.poll);
    for (int i = 0; i < NDRV; i++)
        sr_swim_udp_delete(c.u[i]);
    /* A sync connection freed mid-exchange is finalised by libevent on the
     * loop's next turn; after that no event may survive the drivers. */
    event_base_loop(c.base, EVLOOP_NONBLOCK);
    cr_expect_eq(event_base_get_num_events(c.base, EVENT_BASE_COUNT_ADDED), 0);
    event_base_free(c.base);
    sr_log_delete(log);
}

Test(swim_udp, rejects_bad_listen_address)
{
    struct sr_swim_cfg cfg;
    int err = 0;
    sr_swim_cfg_default_local(&cfg);
    struct event_base *base = event_base_new();
    struct sr_log *log = sr_log_new(SR_LOG_OFF, NULL, NULL, &err);
    cr_assert_null(sr_swim_udp_new(base, &cfg, "not-an-address", "x", log, &err));
    cr_assert_eq(err, SR_EINVAL);
    cr_assert_null(sr_swim_udp_new(base, &cfg, "127.0.0.1:", "x", log, &err));
    event_base_free(base);
    sr_log_delete(log);
}
