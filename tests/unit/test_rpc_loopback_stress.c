/* A seeded random workload against the callback contract: calls with random
 * deadlines, answers late, out of order, with errors or not at all, local
 * disconnects, cancels, and the server dying and coming back on the same
 * port. At
 * the end every call's callback must have run exactly once, and teardown
 * must leave nothing behind (sanitizers, loop event count).
 * SWIMRING_SEED=<n> replays a run; the seed is printed on failure. */
#include "test_rpc_util.h"

#define MAX_CALLS 20000
#define MAX_HELD 4096

struct stress {
    struct env *e;
    uint64_t rng;
    char addr[SR_RPC_ADDR_MAX];
    struct outcome *o;          /* MAX_CALLS */
    uint64_t *ids;              /* MAX_CALLS */
    int cancels;
    int ncalls;
    int refused;                /* sr_rpc_call errors (EFULL): no callback */
    struct sr_rpc_reply *held[MAX_HELD];
    int nheld;
    int restarts, disconnects, steps;
    bool issuing;
};

static uint64_t next(struct stress *s)
{
    uint64_t x = s->rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    s->rng = x;
    return x;
}

static uint32_t below(struct stress *s, uint32_t n) { return (uint32_t)(next(s) % n); }

static void stress_handler(void *ud, struct sr_rpc_reply *reply, const struct sr_rpc_request *r)
{
    struct stress *s = ud;
    (void)r;
    uint32_t pick = below(s, 10);
    if (pick < 3 || s->nheld == MAX_HELD) {
        sr_rpc_respond(reply, pick == 0 ? SR_ENOTOWNER : 0, "ok", 2);
        return;
    }
    s->held[s->nheld++] = reply;
}

static void answer_some(struct stress *s, int n)
{
    while (n-- > 0 && s->nheld > 0) {
        int i = (int)below(s, (uint32_t)s->nheld);
        struct sr_rpc_reply *r = s->held[i];
        s->held[i] = s->held[--s->nheld];
        sr_rpc_respond(r, 0, NULL, 0);
    }
}

static void start_server(struct stress *s)
{
    struct sr_rpc_cfg cfg = sr_rpc_cfg_default_lan();
    cfg.max_inflight = 64;
    s->e->srv = env_server(s->e, &cfg, s->addr[0] ? s->addr : "127.0.0.1:0");
    snprintf(s->addr, sizeof(s->addr), "%s", s->e->addr);
    cr_assert_eq(sr_rpc_handle(s->e->srv, "test", "s", stress_handler, s), 0);
}

static void issue_calls(struct stress *s)
{
    int n = (int)below(s, 24);
    for (int i = 0; i < n && s->ncalls < MAX_CALLS; i++) {
        struct sr_rpc_call_args a = args_for("s", NULL, 0, 5 + below(s, 200));
        if (sr_rpc_call(s->e->cli, s->addr, &a, record, &s->o[s->ncalls], &s->ids[s->ncalls]) == 0)
            s->ncalls++;
        else
            s->refused++;
    }
}

/* One step of chaos, every millisecond. */
static void step(evutil_socket_t fd, short what, void *arg)
{
    struct stress *s = arg;
    (void)fd;
    (void)what;
    if (s->issuing)
        issue_calls(s);
    answer_some(s, (int)below(s, 6));
    if (s->ncalls > 0 && below(s, 4) == 0) {
        /* Cancel one of the recent calls, done or not. */
        int back = (int)below(s, 64);
        int i = s->ncalls - 1 - (back < s->ncalls ? back : 0);
        if (sr_rpc_cancel(s->e->cli, s->ids[i]) == 0)
            s->cancels++;
    }
    uint32_t dice = below(s, 1000);
    s->steps++;
    if (dice < 20) {
        sr_rpc_disconnect(s->e->cli, s->addr);
        s->disconnects++;
    } else if (dice < 40 && s->e->srv != NULL) {
        sr_rpc_delete(s->e->srv);  /* held replies stay valid */
        s->e->srv = NULL;
    } else if (s->e->srv == NULL && dice < 300) {
        start_server(s);
        s->restarts++;
    }
}

static int completed(const struct stress *s)
{
    int t = 0;
    for (int i = 0; i < s->ncalls; i++)
        t += s->o[i].calls;
    return t;
}

Test(rpc_stress, every_call_completes_exactly_once)
{
    const char *env = getenv("SWIMRING_SEED");
    uint64_t seed = env != NULL ? strtoull(env, NULL, 0) : 0x5eed0001ULL;
    struct sr_rpc_cfg ccfg = sr_rpc_cfg_default_lan();
    ccfg.max_pending = 256;
    ccfg.backoff_min_ms = 5;
    ccfg.backoff_max_ms = 50;
    struct env e;
    env_base(&e);
    int err = 0;
    e.cli = sr_rpc_new(e.base, &ccfg, e.log, &err);
    static struct stress s;
    memset(&s, 0, sizeof(s));
    s.e = &e;
    s.rng = seed | 1;
    s.o = calloc(MAX_CALLS, sizeof(*s.o));
    s.ids = calloc(MAX_CALLS, sizeof(*s.ids));
    s.issuing = true;
    start_server(&s);
    struct event *tick = event_new(e.base, -1, EV_PERSIST, step, &s);
    struct timeval ms = {0, 1000};
    event_add(tick, &ms);
    run_for(&e, 2000);
    s.issuing = false;
    /* Drain: answer everything still held, let every deadline (< 205 ms) pass. */
    WAIT_UNTIL(&e, 3000, (answer_some(&s, MAX_HELD), completed(&s) == s.ncalls));
    event_free(tick);
    cr_assert_eq(completed(&s), s.ncalls, "seed %#llx: %d of %d calls completed",
                 (unsigned long long)seed, completed(&s), s.ncalls);
    int by[32] = {0};
    for (int i = 0; i < s.ncalls; i++) {
        cr_assert_eq(s.o[i].calls, 1, "seed %#llx: call %d ran %d times",
                     (unsigned long long)seed, i, s.o[i].calls);
        by[-s.o[i].status < 32 ? -s.o[i].status : 0]++;
        /* The delivery flag agrees with the status. */
        if (s.o[i].remote || s.o[i].status == SR_ECONNLOST)
            cr_assert(s.o[i].maybe, "call %d: %s but not maybe_delivered", i,
                      sr_err_name(s.o[i].status));
        if (s.o[i].status == SR_EUNREACH)
            cr_assert(!s.o[i].maybe, "call %d: EUNREACH but maybe_delivered", i);
    }
    cr_expect_gt(s.ncalls, 1000, "seed %#llx: the workload ran", (unsigned long long)seed);
    cr_expect_eq(by[-SR_ECANCELED], s.cancels, "seed %#llx: one SR_ECANCELED per accepted cancel",
                 (unsigned long long)seed);
    cr_expect_gt(s.restarts, 0, "seed %#llx: the server restarted", (unsigned long long)seed);
    cr_expect_gt(s.disconnects, 0, "seed %#llx: connections were dropped", (unsigned long long)seed);
    cr_log_info("seed %#llx: %d calls (%d refused), ok %d, timedout %d, connlost %d, "
                "unreach %d, busy %d, notowner %d, canceled %d (%d asked), %d restarts, "
                "%d disconnects, %d steps",
                (unsigned long long)seed, s.ncalls, s.refused, by[0], by[-SR_ETIMEDOUT],
                by[-SR_ECONNLOST], by[-SR_EUNREACH], by[-SR_EBUSY], by[-SR_ENOTOWNER],
                by[-SR_ECANCELED], s.cancels, s.restarts, s.disconnects, s.steps);
    answer_some(&s, MAX_HELD);
    free(s.o);
    free(s.ids);
    env_fini(&e);
}
