/* Shared pieces of the RPC loopback suites: one event_base per test, a
 * server and a client sr_rpc on 127.0.0.1, bounded waits, recording
 * callbacks, and a raw socket for hostile bytes. Header-only, static. */
#ifndef SR_TEST_RPC_UTIL_H
#define SR_TEST_RPC_UTIL_H

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <event2/event.h>
#include "swimring/error.h"
#include "swimring/log.h"
#include "swimring/rpc.h"
#include "swimring/time.h"

struct env {
    struct event_base *base;
    struct event *tick;      /* wakes the loop so waits can check the clock */
    int base_events;         /* events libevent itself keeps on a new base */
    struct sr_log *log;
    struct sr_rpc *srv;
    struct sr_rpc *cli;
    char addr[SR_RPC_ADDR_MAX];
};

static inline void tick_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
}

/* Run the loop until `cond` holds or `ms` pass; the caller asserts `cond`. */
#define WAIT_UNTIL(e, ms, cond)                                                \
    do {                                                                       \
        sr_time_us dl_ = sr_time_mono_us() + (sr_time_us)(ms) * SR_US_PER_MS;  \
        while (!(cond) && sr_time_mono_us() < dl_)                             \
            event_base_loop((e)->base, EVLOOP_ONCE);                           \
    } while (0)

/* Run the loop for `ms` whatever happens (to prove something does not). */
static inline void run_for(struct env *e, uint32_t ms)
{
    sr_time_us dl = sr_time_mono_us() + (sr_time_us)ms * SR_US_PER_MS;
    while (sr_time_mono_us() < dl)
        event_base_loop(e->base, EVLOOP_ONCE);
}

static inline void env_base(struct env *e)
{
    memset(e, 0, sizeof(*e));
    e->base = event_base_new();
    cr_assert_not_null(e->base);
    e->base_events = event_base_get_num_events(e->base, EVENT_BASE_COUNT_ADDED);
    e->tick = event_new(e->base, -1, EV_PERSIST, tick_cb, NULL);
    struct timeval tv = {0, 2000};
    event_add(e->tick, &tv);
    int err = 0;
    e->log = sr_log_new(SR_LOG_WARN, NULL, "test", &err);
    cr_assert_not_null(e->log);
}

static inline struct sr_rpc *env_server(struct env *e, const struct sr_rpc_cfg *cfg, const char *addr)
{
    int err = 0;
    struct sr_rpc *s = sr_rpc_new(e->base, cfg, e->log, &err);
    cr_assert_not_null(s, "sr_rpc_new: %s", sr_strerror(err));
    cr_assert_eq(sr_rpc_listen(s, addr), 0);
    cr_assert_eq(sr_rpc_listen_addr(s, e->addr, sizeof(e->addr)), 0);
    return s;
}

static inline void env_init(struct env *e, const struct sr_rpc_cfg *scfg, const struct sr_rpc_cfg *ccfg)
{
    env_base(e);
    e->srv = env_server(e, scfg, "127.0.0.1:0");
    int err = 0;
    e->cli = sr_rpc_new(e->base, ccfg, e->log, &err);
    cr_assert_not_null(e->cli);
}

/* Tear everything down and prove the loop has nothing left registered. */
static inline void env_fini(struct env *e)
{
    sr_rpc_delete(e->cli);
    sr_rpc_delete(e->srv);
    event_free(e->tick);
    /* libevent finalises freed bufferevents from the loop: let it. */
    event_base_loop(e->base, EVLOOP_NONBLOCK);
    int left = event_base_get_num_events(e->base, EVENT_BASE_COUNT_ADDED | EVENT_BASE_COUNT_ACTIVE);
    if (left != e->base_events) event_base_dump_events(e->base, stderr);
    cr_expect_eq(left, e->base_events, "%d events left on the loop after teardown (new base: %d)",
                 left, e->base_events);
    event_base_free(e->base);
    sr_log_delete(e->log);
}

/* One call's outcome, filled by `record`. */
struct outcome {
    int calls;              /* times the callback ran: must end at 1 */
    int status;
    bool remote;
    bool maybe;
    uint64_t id;
    uint64_t checksum;
    sr_time_us at;
    size_t body_len;
    uint8_t body[64];
};

static inline void record(void *ud, const struct sr_rpc_result *r)
{
    struct outcome *o = ud;
    o->calls++;
    o->status = r->status;
    o->remote = r->remote;
    o->maybe = r->maybe_delivered;
    o->id = r->id;
    o->checksum = r->checksum;
    o->at = sr_time_mono_us();
    o->body_len = r->body_len;
    if (r->body_len > 0)
        memcpy(o->body, r->body, r->body_len < sizeof(o->body) ? r->body_len : sizeof(o->body));
}

static inline struct sr_rpc_call_args args_for(const char *endpoint, const void *body, size_t len,
                                        uint32_t timeout_ms)
{
    return (struct sr_rpc_call_args){.service = "test", .endpoint = endpoint, .body = body,
                                     .body_len = len, .timeout_ms = timeout_ms};
}

/* Handler: answer at once with the request's body. */
static inline void echo_handler(void *ud, struct sr_rpc_reply *reply, const struct sr_rpc_request *req)
{
    (void)ud;
    cr_assert_eq(sr_rpc_respond(reply, 0, req->body, req->body_len), 0);
}

/* Handler: keep the reply handles for the test to answer later. */
struct held {
    struct sr_rpc_reply *replies[2048];
    uint32_t bodies[2048];
    int n;
};

static inline void hold_handler(void *ud, struct sr_rpc_reply *reply, const struct sr_rpc_request *req)
{
    struct held *h = ud;
    cr_assert_lt(h->n, 2048);
    uint32_t v = 0;
    if (req->body_len == sizeof(v))
        memcpy(&v, req->body, sizeof(v));
    h->bodies[h->n] = v;
    h->replies[h->n++] = reply;
}

/* A blocking client socket connected to addr "127.0.0.1:port". */
static inline int raw_connect(const char *addr)
{
    const char *colon = strrchr(addr, ':');
    cr_assert_not_null(colon);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(colon + 1)),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_geq(fd, 0);
    cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0, "connect: %s", strerror(errno));
    return fd;
}

/* True once the peer closed the socket (EOF or reset). Non-blocking peek. */
static inline bool raw_closed(int fd)
{
    char c;
    ssize_t n = recv(fd, &c, 1, MSG_DONTWAIT | MSG_PEEK);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}

#endif
