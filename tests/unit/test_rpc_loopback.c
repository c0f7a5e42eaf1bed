/* sr_rpc over real TCP on 127.0.0.1, client and server in one process on
 * one event_base: round trips, pipelining with out-of-order answers,
 * deadlines (both bounds), late responses, the busy limit, argument errors
 * cancellation at teardown, and cancel frames: a request its caller gave
 * up (cancelled, or past its deadline) has its answer not sent. Every wait
 * is bounded. */
#include "test_rpc_util.h"
#include "forward/conn.h"
#include "forward/rpc_impl.h"

Test(rpc_loopback, round_trip_carries_every_field)
{
    struct env e;
    env_init(&e, NULL, NULL);
    struct held h = {.n = 0};
    cr_assert_eq(sr_rpc_handle(e.srv, "test", "hold", hold_handler, &h), 0);
    sr_rpc_set_checksum(e.srv, 0xabcdef12345ULL);
    sr_rpc_set_checksum(e.cli, 0x5eed);
    uint32_t v = 4242;
    struct sr_rpc_call_args a = args_for("hold", &v, sizeof(v), 5000);
    a.key = "user:1";
    a.key_len = 6;
    a.hops = 1;
    a.flags = SR_RPC_IDEMPOTENT;
    struct outcome o = {0};
    uint64_t id = 0;
    cr_assert_eq(sr_rpc_call(e.cli, e.addr, &a, record, &o, &id), 0);
    cr_expect_eq(o.calls, 0, "the callback never runs inside sr_rpc_call");
    WAIT_UNTIL(&e, 3000, h.n == 1);
    cr_assert_eq(h.n, 1);
    cr_expect_eq(h.bodies[0], 4242);
    cr_assert_eq(sr_rpc_respond(h.replies[0], 0, "pong", 4), 0);
    WAIT_UNTIL(&e, 3000, o.calls == 1);
    cr_assert_eq(o.calls, 1);
    cr_expect_eq(o.status, 0);
    cr_expect(o.remote && o.maybe);
    cr_expect_eq(o.id, id);
    cr_expect_eq(o.checksum, 0xabcdef12345ULL);
    cr_expect(o.body_len == 4 && memcmp(o.body, "pong", 4) == 0);
    struct sr_rpc_stats cs, ss;
    sr_rpc_stats_get(e.cli, &cs);
    sr_rpc_stats_get(e.srv, &ss);
    cr_expect_eq(cs.requests_sent, 1);
    cr_expect_eq(cs.responses_received, 1);
    cr_expect_eq(cs.connects, 1);
    cr_expect_eq(ss.accepted, 1);
    cr_expect_eq(ss.requests_received, 1);
    cr_expect_eq(ss.responses_sent, 1);
    cr_expect_eq(cs.bytes_sent, ss.bytes_received);
    cr_expect_eq(ss.bytes_sent, cs.bytes_received);
    cr_expect_eq(sr_rpc_pending(e.cli, e.addr), 0);
    env_fini(&e);
}

/* Checks the request view inside the handler. */
static void inspect_handler(void *ud, struct sr_rpc_reply *reply, const struct sr_rpc_request *r)
{
    int *ok = ud;
    *ok = r->service_len == 4 && memcmp(r->service, "test", 4) == 0 && r->endpoint_len == 7 &&
          memcmp(r->endpoint, "inspect", 7) == 0 && r->key_len == 6 &&
          memcmp(r->key, "user:1", 6) == 0 && r->hops == 3 && r->flags == SR_RPC_IDEMPOTENT &&
          r->checksum == 0x5eed && r->deadline_ms > 0 && r->deadline_ms <= 700 &&
          strncmp(r->peer, "127.0.0.1:", 10) == 0 ? 1 : -1;
    sr_rpc_respond(reply, SR_ENOTOWNER, NULL, 0);
}

Test(rpc_loopback, handler_sees_the_request_and_errors_travel_back)
{
    struct env e;
    env_init(&e, NULL, NULL);
    int ok = 0;
    cr_assert_eq(sr_rpc_handle(e.srv, "test", "inspect", inspect_handler, &ok), 0);
    sr_rpc_set_checksum(e.cli, 0x5eed);
    struct sr_rpc_call_args a = args_for("inspect", NULL, 0, 700);
    a.key = "user:1";
    a.key_len = 6;
    a.hops = 3;
    a.flags = SR_RPC_IDEMPOTENT;
    struct outcome o = {0}, nf = {0};
    cr_assert_eq(sr_rpc_call(e.cli, e.addr, &a, record, &o, NULL), 0);
    struct sr_rpc_call_args b = args_for("nowhere", NULL, 0, 700);
    cr_assert_eq(sr_rpc_call(e.cli, e.addr, &b, record, &nf, NULL), 0);
    WAIT_UNTIL(&e, 3000, o.calls == 1 && nf.calls == 1);
    cr_expect_eq(ok, 1, "handler saw the fields");
    cr_expect_eq(o.status, SR_ENOTOWNER);
    cr_expect(o.remote);
    cr_expect_eq(nf.status, SR_ENOTFOUND, "no handler: %s", sr_err_name(nf.status));
    cr_expect(nf.remote);
    struct sr_rpc_stats ss;
    sr_rpc_stats_get(e.srv, &ss);
    cr_expect_eq(ss.unknown_endpoint, 1);
    env_fini(&e);
}

static void catch_all(void *ud, struct sr_rpc_reply *reply, const struct sr_rpc_request *r)
{
    (void)ud;
    sr_rpc_respond(reply, 0, r->endpoint, r->endpoint_len);
}

Test(rpc_loopback, catch_all_and_ping)
{
    struct env e;
    env_init(&e, NULL, NULL);
    cr_assert_eq(sr_rpc_handle(e.srv, NULL, NULL, catch_all, NULL), 0);
    cr_expect_eq(sr_rpc_handle(e.srv, NULL, NULL, catch_all, NULL), SR_EEXIST);
    cr_assert_eq(sr_rpc_handle(e.srv, "test", "echo", echo_handler, NULL), 0);
    cr_expect_eq(sr_rpc_handle(e.srv, "test", "echo", echo_handler, NULL), SR_EEXIST);
    struct outcome o = {0}, p = {0}, q = {0};
    struct sr_rpc_call_args a = args_for("anything", NULL, 0, 1000);
    cr_assert_eq(sr_rpc_call(e.cli, e.addr, &a, record, &o, NULL), 0);
    struct sr_rpc_call_args b = args_for("echo", "x", 1, 1000);
    cr_assert_eq(sr_rpc_call(e.cli, e.addr, &b, record, &q, NULL), 0);
    cr_assert_eq(sr_rpc_ping(e.cli, e.addr, 1000, record, &p), 0);
    WAIT_UNTIL(&e, 3000, o.calls == 1 && p.calls == 1 && q.calls == 1);
    cr_expect(o.status == 0 && o.body_len == 8 && memcmp(o.body, "anything", 8) == 0);
    cr_expect(q.status == 0 && q.body_len == 1 && o.body[0] == 'a' && q.body[0] == 'x');
    cr_expect(p.status == 0 && p.remote);
    env_fini(&e);
}

static int total_calls(const struct outcome *o, int n)
{
    int t = 0;
    for (int i = 0; i < n; i++)
        t += o[i].calls;
    return t;
}

/* 1,000 requests in flight on one connection, answered in reverse order. */
struct piped {
    struct outcome o[1000];
    uint32_t sent[1000];
};

Test(rpc_loopback, pipelined_1000_answered_in_reverse)
{
    struct env e;
    env_init(&e, NULL, NULL);
    static struct held h;
    static struct piped pp;
    memset(&h, 0, sizeof(h));
    memset(&pp, 0, sizeof(pp));
    cr_assert_eq(sr_rpc_handle(e.srv, "test", "hold", hold_handler, &h), 0);
    for (uint32_t i = 0; i < 1000; i++) {
        pp.sent[i] = i * 7 + 1;
        struct sr_rpc_call_args a = args_for("hold", &pp.sent[i], sizeof(uint32_t), 10000);
        cr_assert_eq(sr_rpc_call(e.cli, e.addr, &a, record, &pp.o[i], NULL), 0);
    }
    cr_expect_eq(sr_rpc_pending(e.cli, e.addr), 1000);
    WAIT_UNTIL(&e, 5000, h.n == 1000);
    cr_assert_eq(h.n, 1000);
    for (int i = 999; i >= 0; i--) {
        uint32_t v = h.bodies[i] + 1000000;
        cr_assert_eq(sr_rpc_respond(h.replies[i], 0, &v, sizeof(v)), 0);
    }
    WAIT_UNTIL(&e, 5000, total_calls(pp.o, 1000) == 1000);
    for (int i = 0; i < 1000; i++) {
        cr_assert_eq(pp.o[i].calls, 1, "call %d ran %d times", i, pp.o[i].calls);
        cr_assert_eq(pp.o[i].status, 0);
        uint32_t v;
        memcpy(&v, pp.o[i].body, sizeof(v));
        cr_assert_eq(v, pp.sent[i] + 1000000, "call %d got another call's answer", i);
    }
    /* Answered last-first: the first call completes last. */
    cr_expect_geq(pp.o[0].at, pp.o[999].at);
    struct sr_rpc_stats cs, ss;
    sr_rpc_stats_get(e.cli, &cs);
    sr_rpc_stats_get(e.srv, &ss);
    cr_expect_eq(cs.connects, 1, "one pooled connection");
    cr_expect_eq(ss.accepted, 1);
    cr_expect_eq(cs.responses_received, 1000);
    env_fini(&e);
}

Test(rpc_loopback, deadline_expires_once_and_late_response_is_counted)
{
    struct env e;
    env_init(&e, NULL, NULL);
    struct held h = {.n = 0};
    cr_assert_eq(sr_rpc_handle(e.srv, "test", "hold", hold_handler, &h), 0);
    const uint32_t timeout_ms = 80;
    struct outcome o = {0};
    struct sr_rpc_call_args a = args_for("hold", NULL, 0, timeout_ms);
    sr_time_us t0 = sr_time_mono_us();
    cr_assert_eq(sr_rpc_call(e.cli, e.addr, &a, record, &o, NULL), 0);
    WAIT_UNTIL(&e, 3000, o.calls == 1);
    cr_assert_eq(o.calls, 1);
    cr_expect_eq(o.status, SR_ETIMEDOUT);
    cr_expect(!o.remote);
    cr_expect(o.maybe, "written before it timed out");
    sr_time_us took = o.at - t0;
    cr_expect_geq(took, (sr_time_us)timeout_ms * SR_US_PER_MS, "fired early: %llu us",
                  (unsigned long long)took);
    cr_expect_lt(took, (sr_time_us)(timeout_ms + 500) * SR_US_PER_MS, "fired late: %llu us",
                 (unsigned long long)took);
    /* The server got it (deadline 80 ms) and answers late. */
    WAIT_UNTIL(&e, 3000, h.n == 1);
    cr_assert_eq(h.n, 1);
    cr_assert_eq(sr_rpc_respond(h.replies[0], 0, "late", 4), 0);
    struct sr_rpc_stats cs;
    WAIT_UNTIL(&e, 3000, (sr_rpc_stats_get(e.cli, &cs), cs.late_responses == 1));
    cr_expect_eq(cs.late_responses, 1);
    cr_expect_eq(cs.timeouts, 1);
    cr_expect_eq(o.calls, 1, "exactly once");
    /* The connection survived: another call works. */
    struct outcome o2 = {0};
    cr_assert_eq(sr_rpc_handle(e.srv, "test", "echo", echo_handler, NULL), 0);
    struct sr_rpc_call_args b = args_for("echo", "x", 1, 1000);
    cr_assert_eq(sr_rpc_call(e.cli, e.addr, &b, record, &o2, NULL), 0);
    WAIT_UNTIL(&e, 3000, o2.calls == 1);
    cr_expect_eq(o2.status, 0);
    cr_expect_eq(cs.connects, 1);
    env_fini(&e);
}

Test(rpc_loopback, inflight_limit_answers_busy_never_hangs)
{
    struct sr_rpc_cfg scfg = sr_rpc_cfg_default_lan();
    scfg.max_inflight = 4;
    struct env e;
    env_init(&e, &scfg, NULL);
    struct held h = {.n = 0};
    cr_assert_eq(sr_rpc_handle(e.srv, "test", "hold", hold_handler, &h), 0);
    struct outcome o[10] = {{0}};
    for (int i = 0; i < 10; i++) {
        struct sr_rpc_call_args a = args_for("hold", NULL, 0, 5000);
        cr_assert_eq(sr_rpc_call(e.cli, e.addr, &a, record, &o[i], NULL), 0);
    }
    WAIT_UNTIL(&e, 3000, total_calls(o, 10) == 6);
    cr_assert_eq(total_calls(o, 10), 6, "the 6 over the limit are answered at once");
    cr_expect_eq(h.n, 4);
    for (int i = 4; i < 10; i++) {
        cr_expect_eq(o[i].status, SR_EBUSY, "call %d: %s", i, sr_err_name(o[i].status));
        cr_expect(o[i].remote);
    }
    struct sr_rpc_stats ss;
    sr_rpc_stats_get(e.srv, &ss);
    cr_expect_eq(ss.busy, 6);
    for (int i = 0; i < 4; i++)
        sr_rpc_respond(h.replies[i], 0, NULL, 0);
    WAIT_UNTIL(&e, 3000, total_calls(o, 10) == 10);
    for (int i = 0; i < 4; i++)
        cr_expect(o[i].calls == 1 && o[i].status == 0);
    /* Capacity is back. */
    struct outcome again = {0};
    struct sr_rpc_call_args a = args_for("hold", NULL, 0, 5000);
    cr_assert_eq(sr_rpc_call(e.cli, e.addr, &a, record, &again, NULL), 0);
    WAIT_UNTIL(&e, 3000, h.n == 5);
    cr_assert_eq(h.n, 5);
    sr_rpc_respond(h.replies[4], 0, NULL, 0);
    WAIT_UNTIL(&e, 3000, again.calls == 1);
    cr_expect_eq(again.status, 0);
    env_fini(&e);
}

Test(rpc_loopback, call_errors_never_run_the_callback)
{
    struct sr_rpc_cfg ccfg = sr_rpc_cfg_default_lan();
    ccfg.max_pending = 2;
    ccfg.max_frame = 1024;
    struct env e;
    env_init(&e, NULL, &ccfg);
    struct outcome o = {0};
    struct sr_rpc_call_args a = args_for("echo", NULL, 0, 1000);
    cr_expect_eq(sr_rpc_call(e.cli, "not an address", &a, record, &o, NULL), SR_EINVAL);
    cr_expect_eq(sr_rpc_call(e.cli, "example.com:80", &a, record, &o, NULL), SR_EINVAL);
    a.timeout_ms = 0;
    cr_expect_eq(sr_rpc_call(e.cli, e.addr, &a, record, &o, NULL), SR_EINVAL);
    static uint8_t big[2048];
    a = args_for("echo", big, sizeof(big), 1000);
    cr_expect_eq(sr_rpc_call(e.cli, e.addr, &a, record, &o, NULL), SR_ETOOBIG);
    a = args_for("echo", NULL, 0, 1000);
    cr_expect_eq(sr_rpc_call(e.cli, e.addr, &a, NULL, NULL, NULL), SR_EINVAL);
    struct outcome p[2] = {{0}};
    cr_assert_eq(sr_rpc_call(e.cli, e.addr, &a, record, &p[0], NULL), 0);
    cr_assert_eq(sr_rpc_call(e.cli, e.addr, &a, record, &p[1], NULL), 0);
    cr_expect_eq(sr_rpc_call(e.cli, e.addr, &a, record, &o, NULL), SR_EFULL);
    WAIT_UNTIL(&e, 3000, p[0].calls == 1 && p[1].calls == 1);
    cr_expect_eq(p[0].status, SR_ENOTFOUND);
    run_for(&e, 20);
    cr_expect_eq(o.calls, 0, "refused calls never call back");
    env_fini(&e);
}

Test(rpc_loopback, delete_cancels_every_pending_call_once)
{
    struct env e;
    env_init(&e, NULL, NULL);
    struct held h = {.n = 0};
    cr_assert_eq(sr_rpc_handle(e.srv, "test", "hold", hold_handler, &h), 0);
    struct outcome o[20] = {{0}};
    for (int i = 0; i < 20; i++) {
        struct sr_rpc_call_args a = args_for("hold", NULL, 0, 5000);
        cr_assert_eq(sr_rpc_call(e.cli, e.addr, &a, record, &o[i], NULL), 0);
    }
    /* And some still queued behind a connect to a second (silent) peer. */
    struct outcome q = {0};
    struct sr_rpc_call_args a = args_for("hold", NULL, 0, 5000);
    cr_assert_eq(sr_rpc_call(e.cli, "127.0.0.1:9", &a, record, &q, NULL), 0);
    WAIT_UNTIL(&e, 3000, h.n == 20);
    cr_assert_eq(h.n, 20);
    sr_rpc_delete(e.cli);
    e.cli = NULL;
    for (int i = 0; i < 20; i++) {
        cr_expect_eq(o[i].calls, 1);
        cr_expect_eq(o[i].status, SR_ECANCELED);
        cr_expect(o[i].maybe);
    }
    cr_expect_eq(q.calls, 1);
    /* Replies outlive the server object: answering after delete is fine. */
    sr_rpc_delete(e.srv);
    e.srv = NULL;
    for (int i = 0; i < 20; i++)
        cr_expect_eq(sr_rpc_respond(h.replies[i], 0, "z", 1), 0);
    env_fini(&e);
}

Test(rpc_loopback, disconnect_fails_calls_from_the_loop_then_redials)
{
    struct env e;
    env_init(&e, NULL, NULL);
    struct held h = {.n = 0};
    cr_assert_eq(sr_rpc_handle(e.srv, "test", "hold", hold_handler, &h), 0);
    cr_expect_eq(sr_rpc_disconnect(e.cli, e.addr), SR_ENOTFOUND);
    struct outcome o[5] = {{0}};
    for (int i = 0; i < 5; i++) {
        struct sr_rpc_call_args a = args_for("hold", NULL, 0, 5000);
        cr_assert_eq(sr_rpc_call(e.cli, e.addr, &a, record, &o[i], NULL), 0);
    }
    WAIT_UNTIL(&e, 3000, h.n == 5);
    cr_assert_eq(h.n, 5);
    cr_assert_eq(sr_rpc_disconnect(e.cli, e.addr), 0);
    cr_expect_eq(total_calls(o, 5), 0, "not inside sr_rpc_disconnect");
    WAIT_UNTIL(&e, 3000, total_calls(o, 5) == 5);
    for (int i = 0; i < 5; i++) {
        cr_expect_eq(o[i].calls, 1);
        cr_expect_eq(o[i].status, SR_ECONNLOST, "%s", sr_err_name(o[i].status));
    }
    for (int i = 0; i < 5; i++)
        sr_rpc_respond(h.replies[i], 0, NULL, 0);
    cr_assert_eq(sr_rpc_handle(e.srv, "test", "echo", echo_handler, NULL), 0);
    struct outcome again = {0};
    struct sr_rpc_call_args a = args_for("echo", "y", 1, 3000);
    cr_assert_eq(sr_rpc_call(e.cli, e.addr, &a, record, &again, NULL), 0);
    WAIT_UNTIL(&e, 3000, again.calls == 1);
    cr_expect_eq(again.status, 0, "%s", sr_err_name(again.status));
    struct sr_rpc_stats cs;
    sr_rpc_stats_get(e.cli, &cs);
    cr_expect_eq(cs.connects, 2);
    cr_expect_eq(cs.reconnects, 1);
    cr_expect_eq(cs.connect_failures, 0, "a local close is not a failure");
    env_fini(&e);
}

/* A callback that drops the connection while other answers are still being
 * read from it: every call still completes exactly once. */
struct reentry;
struct reentry_slot {
    struct reentry *re;
    struct outcome o;
};
struct reentry {
    struct env *e;
    struct reentry_slot s[48];
    struct outcome extra;   /* a call made from inside a callback */
    int seen;
};

static void disconnect_on_first(void *ud, const struct sr_rpc_result *r)
{
    struct reentry_slot *slot = ud;
    struct reentry *re = slot->re;
    record(&slot->o, r);
    if (re->seen++ == 0)
        cr_assert_eq(sr_rpc_disconnect(re->e->cli, re->e->addr), 0);
    if (re->seen == 2) {
        struct sr_rpc_call_args a = args_for("echo", "z", 1, 3000);
        cr_assert_eq(sr_rpc_call(re->e->cli, re->e->addr, &a, record, &re->extra, NULL), 0);
    }
}

static int reentry_calls(const struct reentry *re)
{
    int t = re->extra.calls;
    for (int i = 0; i < 48; i++)
        t += re->s[i].o.calls;
    return t;
}

Test(rpc_loopback, disconnect_from_inside_a_callback)
{
    struct env e;
    env_init(&e, NULL, NULL);
    cr_assert_eq(sr_rpc_handle(e.srv, "test", "echo", echo_handler, NULL), 0);
    static struct reentry re;
    memset(&re, 0, sizeof(re));
    re.e = &e;
    for (int i = 0; i < 48; i++) {
        re.s[i].re = &re;
        struct sr_rpc_call_args a = args_for("echo", "x", 1, 3000);
        cr_assert_eq(sr_rpc_call(e.cli, e.addr, &a, disconnect_on_first, &re.s[i], NULL), 0);
    }
    WAIT_UNTIL(&e, 3000, reentry_calls(&re) == 49);
    cr_assert_eq(reentry_calls(&re), 49);
    for (int i = 0; i < 48; i++) {
        cr_expect_eq(re.s[i].o.calls, 1);
        cr_expect(re.s[i].o.status == 0 || re.s[i].o.status == SR_ECONNLOST ||
                  re.s[i].o.status == SR_EUNREACH, "%d: %s", i, sr_err_name(re.s[i].o.status));
    }
    cr_expect_eq(re.extra.calls, 1);
    env_fini(&e);
}

/* The RPC code sees transports only through struct sr_conn_ops: a wrapping
 * transport (here: TCP plus counters, later TLS) slots in unchanged. */
struct counting {
    int accepted, clients, connects, freed;
};

static struct bufferevent *cnt_wrap(void *ctx, struct event_base *b, evutil_socket_t fd)
{
    ((struct counting *)ctx)->accepted++;
    return sr_conn_tcp_ops.wrap_accepted(NULL, b, fd);
}

static struct bufferevent *cnt_client(void *ctx, struct event_base *b)
{
    ((struct counting *)ctx)->clients++;
    return sr_conn_tcp_ops.new_client(NULL, b);
}

static int cnt_connect(void *ctx, struct bufferevent *bev, const struct sockaddr *sa, int len)
{
    ((struct counting *)ctx)->connects++;
    return sr_conn_tcp_ops.connect(NULL, bev, sa, len);
}

static const char *cnt_error(void *ctx, struct bufferevent *bev, char *out, size_t len)
{
    (void)ctx;
    return sr_conn_tcp_ops.last_error(NULL, bev, out, len);
}

static void cnt_free(void *ctx) { ((struct counting *)ctx)->freed++; }

static const struct sr_conn_ops counting_ops = {
    .name = "counting-tcp", .wrap_accepted = cnt_wrap, .new_client = cnt_client,
    .connect = cnt_connect, .last_error = cnt_error, .ctx_free = cnt_free,
};

Test(rpc_loopback, transport_is_an_ops_table)
{
    struct env e;
    env_base(&e);
    struct counting sc = {0}, cc = {0};
    int err = 0;
    e.srv = sr_rpc_new(e.base, NULL, e.log, &err);
    e.cli = sr_rpc_new(e.base, NULL, e.log, &err);
    cr_assert_eq(sr_rpc_use_transport(e.srv, &counting_ops, &sc), 0);
    cr_assert_eq(sr_rpc_use_transport(e.cli, &counting_ops, &cc), 0);
    cr_assert_eq(sr_rpc_listen(e.srv, "127.0.0.1:0"), 0);
    cr_expect_eq(sr_rpc_use_transport(e.srv, &counting_ops, &sc), SR_EINVAL, "too late");
    cr_assert_eq(sr_rpc_listen_addr(e.srv, e.addr, sizeof(e.addr)), 0);
    cr_assert_eq(sr_rpc_handle(e.srv, "test", "echo", echo_handler, NULL), 0);
    struct outcome o = {0};
    struct sr_rpc_call_args a = args_for("echo", "t", 1, 3000);
    cr_assert_eq(sr_rpc_call(e.cli, e.addr, &a, record, &o, NULL), 0);
    WAIT_UNTIL(&e, 3000, o.calls == 1);
    cr_expect_eq(o.status, 0);
    cr_expect(sc.accepted == 1 && cc.clients == 1 && cc.connects == 1);
    env_fini(&e);
    cr_expect(sc.freed == 1 && cc.freed == 1, "the RPC object owns the transport context");
}

Test(rpc_loopback, cancel_completes_from_the_loop_and_drops_the_answer)
{
    struct env e;
    env_init(&e, NULL, NULL);
    struct held h = {.n = 0};
    cr_assert_eq(sr_rpc_handle(e.srv, "test", "hold", hold_handler, &h), 0);
    struct outcome o = {0}, q = {0};
    uint64_t id = 0, qid = 0;
    struct sr_rpc_call_args a = args_for("hold", NULL, 0, 5000);
    cr_assert_eq(sr_rpc_call(e.cli, e.addr, &a, record, &o, &id), 0);
    /* Canceled while still queued behind the connect: surely not delivered. */
    cr_assert_eq(sr_rpc_call(e.cli, e.addr, &a, record, &q, &qid), 0);
    cr_assert_eq(sr_rpc_cancel(e.cli, qid), 0);
    cr_expect_eq(sr_rpc_cancel(e.cli, qid), SR_ENOTFOUND, "already on its way");
    cr_expect_eq(q.calls, 0, "not inside sr_rpc_cancel");
    WAIT_UNTIL(&e, 3000, q.calls == 1 && h.n == 1);
    cr_expect_eq(q.status, SR_ECANCELED);
    cr_expect(!q.maybe);
    cr_assert_eq(h.n, 1, "only the first call reached the server (%d, q.calls %d)", h.n, q.calls);
    /* Canceled after delivery: the answer that follows is late. */
    cr_assert_eq(sr_rpc_cancel(e.cli, id), 0);
    sr_rpc_respond(h.replies[0], 0, "late", 4);
    struct sr_rpc_stats cs;
    WAIT_UNTIL(&e, 3000, (sr_rpc_stats_get(e.cli, &cs), o.calls == 1 && cs.late_responses == 1));
    cr_expect_eq(o.calls, 1);
    cr_expect_eq(o.status, SR_ECANCELED);
    cr_expect(o.maybe);
    cr_expect_eq(cs.late_responses, 1);
    cr_expect_eq(sr_rpc_cancel(e.cli, id), SR_ENOTFOUND);
    run_for(&e, 20);
    cr_expect_eq(o.calls, 1, "exactly once");
    env_fini(&e);
}

/* After a call is given up, a ping on the same connection: its pong comes
 * back behind any answer the server wrote before it, so once it is here,
 * an answer that was sent has arrived too. */
static void ping_barrier(struct env *e)
{
    struct outcome p = {0};
    cr_assert_eq(sr_rpc_ping(e->cli, e->addr, 3000, record, &p), 0);
    WAIT_UNTIL(e, 3000, p.calls == 1);
    cr_assert_eq(p.calls, 1);
    cr_assert_eq(p.status, 0);
}

/* A cancel frame reaches the server; the held request's answer is then not
 * sent. `timeout_ms` short: the deadline passing gives up the call;
 * otherwise sr_rpc_cancel does. */
static void cancel_reaches_the_server(uint32_t timeout_ms)
{
    struct env e;
    env_init(&e, NULL, NULL);
    struct held h = {.n = 0};
    cr_assert_eq(sr_rpc_handle(e.srv, "test", "hold", hold_handler, &h), 0);
    struct outcome o = {0};
    uint64_t id = 0;
    struct sr_rpc_call_args a = args_for("hold", NULL, 0, timeout_ms);
    cr_assert_eq(sr_rpc_call(e.cli, e.addr, &a, record, &o, &id), 0);
    WAIT_UNTIL(&e, 3000, h.n == 1);
    cr_assert_eq(h.n, 1);
    cr_expect(!sr_rpc_reply_canceled(h.replies[0]), "not before the caller gives up");
    if (timeout_ms > 1000)
        cr_assert_eq(sr_rpc_cancel(e.cli, id), 0);
    struct sr_rpc_stats cs, ss;
    WAIT_UNTIL(&e, 3000, (sr_rpc_stats_get(e.srv, &ss), o.calls == 1 && ss.cancels_received == 1));
    cr_assert_eq(o.calls, 1);
    cr_expect_eq(o.status, timeout_ms > 1000 ? SR_ECANCELED : SR_ETIMEDOUT, "%s",
                 sr_err_name(o.status));
    cr_assert_eq(ss.cancels_received, 1);
    cr_expect(sr_rpc_reply_canceled(h.replies[0]), "the handler can tell");
    cr_expect_eq(sr_rpc_respond(h.replies[0], 0, "unwanted", 8), 0);
    sr_rpc_stats_get(e.srv, &ss);
    cr_expect_eq(ss.answers_canceled, 1);
    cr_expect_eq(ss.responses_sent, 0, "the answer was not sent");
    ping_barrier(&e);
    sr_rpc_stats_get(e.cli, &cs);
    cr_expect_eq(cs.cancels_sent, 1);
    cr_expect_eq(cs.late_responses, 0, "no answer came back");
    cr_expect_eq(o.calls, 1, "exactly once");
    /* The connection is fine: the next request is answered. */
    struct outcome o2 = {0};
    cr_assert_eq(sr_rpc_call(e.cli, e.addr, &a, record, &o2, NULL), 0);
    WAIT_UNTIL(&e, 3000, h.n == 2);
    cr_assert_eq(h.n, 2);
    cr_expect(!sr_rpc_reply_canceled(h.replies[1]));
    cr_assert_eq(sr_rpc_respond(h.replies[1], 0, "ok", 2), 0);
    WAIT_UNTIL(&e, 3000, o2.calls == 1);
    cr_expect(o2.calls == 1 && o2.status == 0 && o2.body_len == 2);
    env_fini(&e);
}

Test(rpc_loopback, cancel_frame_stops_the_answer_of_a_running_request)
{
    cancel_reaches_the_server(5000);
}

Test(rpc_loopback, deadline_sends_a_cancel_frame_too)
{
    cancel_reaches_the_server(150);
}
