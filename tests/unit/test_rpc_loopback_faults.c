/* sr_rpc on loopback when things break: the server goes away mid-flight
 * (every call learns whether it may have been delivered), it comes back
 * (reconnect with backoff), and hostile bytes arrive (oversize frames,
 * garbage): the connection is closed, counted, and the server keeps serving
 * everyone else. Every wait is bounded. */
#include "test_rpc_util.h"
#include "forward/frame.h"

#include <netinet/in.h>
#include <sys/socket.h>

static int total_calls(const struct outcome *o, int n)
{
    int t = 0;
    for (int i = 0; i < n; i++)
        t += o[i].calls;
    return t;
}

Test(rpc_faults, server_closed_mid_flight_fails_written_calls_connlost)
{
    struct env e;
    env_init(&e, NULL, NULL);
    struct held h = {.n = 0};
    cr_assert_eq(sr_rpc_handle(e.srv, "test", "hold", hold_handler, &h), 0);
    struct outcome o[50] = {{0}};
    for (int i = 0; i < 50; i++) {
        struct sr_rpc_call_args a = args_for("hold", NULL, 0, 10000);
        cr_assert_eq(sr_rpc_call(e.cli, e.addr, &a, record, &o[i], NULL), 0);
    }
    WAIT_UNTIL(&e, 3000, h.n == 50);
    cr_assert_eq(h.n, 50);
    sr_time_us t0 = sr_time_mono_us();
    sr_rpc_delete(e.srv);  /* the server "dies": its sockets close */
    e.srv = NULL;
    WAIT_UNTIL(&e, 3000, total_calls(o, 50) == 50);
    cr_assert_eq(total_calls(o, 50), 50, "every call completes, none hangs");
    for (int i = 0; i < 50; i++) {
        cr_expect_eq(o[i].calls, 1);
        cr_expect_eq(o[i].status, SR_ECONNLOST, "call %d: %s", i, sr_err_name(o[i].status));
        cr_expect(o[i].maybe && !o[i].remote);
        cr_expect_lt(o[i].at - t0, 1000 * SR_US_PER_MS, "learned at once, not at the deadline");
    }
    struct sr_rpc_stats cs;
    sr_rpc_stats_get(e.cli, &cs);
    cr_expect_eq(cs.conn_lost, 50);
    for (int i = 0; i < 50; i++)
        sr_rpc_respond(h.replies[i], 0, NULL, 0);
    env_fini(&e);
}

/* A peer that accepts but never reads: the client's frames pile up in the
 * kernel and then in its own output buffer. When the peer resets the
 * connection, calls whose frame reached the socket get SR_ECONNLOST and the
 * rest, which surely were not delivered, SR_EUNREACH, in stream order. */
Test(rpc_faults, lost_connection_tells_written_from_queued)
{
    struct sr_rpc_cfg ccfg = sr_rpc_cfg_default_lan();
    ccfg.max_frame = 1u << 20;
    ccfg.max_outbuf = 64u << 20;
    struct env e;
    env_base(&e);
    int err = 0;
    e.cli = sr_rpc_new(e.base, &ccfg, e.log, &err);
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int small = 64 * 1024;
    setsockopt(lfd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
    cr_assert_eq(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    cr_assert_eq(listen(lfd, 4), 0);
    socklen_t slen = sizeof(sa);
    getsockname(lfd, (struct sockaddr *)&sa, &slen);
    char addr[32];
    snprintf(addr, sizeof(addr), "127.0.0.1:%u", ntohs(sa.sin_port));

    enum { N = 64, BODY = 256 * 1024 };  /* 16 MiB: far more than socket buffers */
    static uint8_t body[BODY];
    static struct outcome o[N];
    memset(o, 0, sizeof(o));
    for (int i = 0; i < N; i++) {
        struct sr_rpc_call_args a = args_for("hold", body, sizeof(body), 20000);
        cr_assert_eq(sr_rpc_call(e.cli, addr, &a, record, &o[i], NULL), 0);
    }
    /* Let the client push until the socket is full (its output stops moving). */
    run_for(&e, 300);
    int fd = accept(lfd, NULL, NULL);
    cr_assert_geq(fd, 0);
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    close(fd);  /* RST */
    WAIT_UNTIL(&e, 3000, total_calls(o, N) == N);
    cr_assert_eq(total_calls(o, N), N);
    int lost = 0, unsent = 0;
    for (int i = 0; i < N; i++) {
        cr_expect_eq(o[i].calls, 1);
        if (o[i].status == SR_ECONNLOST) {
            cr_expect_eq(unsent, 0, "call %d: a written call after an unwritten one", i);
            cr_expect(o[i].maybe);
            lost++;
        } else {
            cr_expect_eq(o[i].status, SR_EUNREACH, "call %d: %s", i, sr_err_name(o[i].status));
            cr_expect(!o[i].maybe);
            unsent++;
        }
    }
    cr_expect_gt(lost, 0, "some frames reached the socket");
    cr_expect_gt(unsent, 0, "some frames were still queued");
    struct sr_rpc_stats cs;
    sr_rpc_stats_get(e.cli, &cs);
    cr_expect_eq(cs.conn_lost, (uint64_t)lost);
    cr_expect_eq(cs.not_sent, (uint64_t)unsent);
    close(lfd);
    env_fini(&e);
}

Test(rpc_faults, refused_connect_is_unreach_and_backs_off_exponentially)
{
    struct sr_rpc_cfg ccfg = sr_rpc_cfg_default_lan();
    ccfg.backoff_min_ms = 40;
    ccfg.backoff_max_ms = 1000;
    struct env e;
    env_init(&e, NULL, &ccfg);
    /* A port nobody listens on: bound but not listening, and kept bound
     * for the whole test so no other process (nor our own connect, as its
     * source port) can take it meanwhile. Connects to it are refused. */
    int hold = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t slen = sizeof(sa);
    cr_assert_eq(bind(hold, (struct sockaddr *)&sa, sizeof(sa)), 0);
    getsockname(hold, (struct sockaddr *)&sa, &slen);
    char dead[SR_RPC_ADDR_MAX];
    snprintf(dead, sizeof(dead), "127.0.0.1:%u", ntohs(sa.sin_port));
    sr_time_us took[4];
    sr_time_us prev = sr_time_mono_us();
    for (int i = 0; i < 4; i++) {
        struct outcome o = {0};
        struct sr_rpc_call_args a = args_for("echo", NULL, 0, 5000);
        cr_assert_eq(sr_rpc_call(e.cli, dead, &a, record, &o, NULL), 0);
        WAIT_UNTIL(&e, 3000, o.calls == 1);
        cr_assert_eq(o.calls, 1);
        cr_expect_eq(o.status, SR_EUNREACH, "%s", sr_err_name(o.status));
        cr_expect(!o.maybe);
        /* From the previous failure (its callback) to this one. */
        took[i] = o.at - prev;
        prev = o.at;
    }
    /* Attempt i waits for backoff(i) = 40 ms * 2^(i-1) +-25% after the
     * previous failure. We time callbacks, which run just after a failure is
     * recorded, but a loaded machine may delay one callback more than the
     * next, hence 10 ms of slack below. */
    cr_expect_lt(took[0], 200 * SR_US_PER_MS, "first attempt is immediate");
    for (int i = 1; i < 4; i++) {
        sr_time_us lo = (sr_time_us)(40u << (i - 1)) * 3 / 4 * SR_US_PER_MS - 10 * SR_US_PER_MS;
        sr_time_us hi = (sr_time_us)(40u << (i - 1)) * 5 / 4 * SR_US_PER_MS + 200 * SR_US_PER_MS;
        cr_expect(took[i] >= lo && took[i] <= hi, "attempt %d took %llu us, want %llu..%llu", i,
                  (unsigned long long)took[i], (unsigned long long)lo, (unsigned long long)hi);
    }
    struct sr_rpc_stats cs;
    sr_rpc_stats_get(e.cli, &cs);
    cr_expect_eq(cs.connect_failures, 4);
    cr_expect_eq(cs.not_sent, 4);
    close(hold);
    env_fini(&e);
}

Test(rpc_faults, reconnects_after_the_server_comes_back)
{
    struct env e;
    env_init(&e, NULL, NULL);
    cr_assert_eq(sr_rpc_handle(e.srv, "test", "echo", echo_handler, NULL), 0);
    char addr[SR_RPC_ADDR_MAX];
    snprintf(addr, sizeof(addr), "%s", e.addr);
    struct outcome a1 = {0};
    struct sr_rpc_call_args a = args_for("echo", "1", 1, 2000);
    cr_assert_eq(sr_rpc_call(e.cli, addr, &a, record, &a1, NULL), 0);
    WAIT_UNTIL(&e, 3000, a1.calls == 1);
    cr_expect_eq(a1.status, 0);

    sr_rpc_delete(e.srv);
    e.srv = NULL;
    struct outcome a2 = {0};
    cr_assert_eq(sr_rpc_call(e.cli, addr, &a, record, &a2, NULL), 0);
    WAIT_UNTIL(&e, 3000, a2.calls == 1);
    cr_assert_eq(a2.calls, 1);
    cr_expect(a2.status == SR_EUNREACH || a2.status == SR_ECONNLOST, "%s", sr_err_name(a2.status));

    /* Same port again (the listener uses SO_REUSEADDR). */
    e.srv = env_server(&e, NULL, addr);
    cr_assert_eq(sr_rpc_handle(e.srv, "test", "echo", echo_handler, NULL), 0);
    struct outcome a3 = {0};
    cr_assert_eq(sr_rpc_call(e.cli, addr, &a, record, &a3, NULL), 0);
    WAIT_UNTIL(&e, 5000, a3.calls == 1);
    cr_assert_eq(a3.calls, 1);
    cr_expect_eq(a3.status, 0, "%s", sr_err_name(a3.status));
    struct sr_rpc_stats cs;
    sr_rpc_stats_get(e.cli, &cs);
    cr_expect_eq(cs.connects, 2);
    cr_expect_eq(cs.reconnects, 1);
    env_fini(&e);
}

/* Hostile bytes from a raw socket: the server closes that connection, counts
 * it, and still serves a well-behaved client. */
static void hostile(const void *bytes, size_t len, bool oversize)
{
    struct sr_rpc_cfg scfg = sr_rpc_cfg_default_lan();
    scfg.max_frame = 4096;
    struct env e;
    env_init(&e, &scfg, NULL);
    cr_assert_eq(sr_rpc_handle(e.srv, "test", "echo", echo_handler, NULL), 0);
    int fd = raw_connect(e.addr);
    cr_assert_eq(send(fd, bytes, len, 0), (ssize_t)len);
    struct sr_rpc_stats ss;
    WAIT_UNTIL(&e, 3000, (sr_rpc_stats_get(e.srv, &ss), ss.frame_errors == 1) && raw_closed(fd));
    cr_expect_eq(ss.frame_errors, 1);
    cr_expect_eq(ss.oversize_frames, oversize ? 1 : 0);
    cr_expect(raw_closed(fd), "the server closed the hostile connection");
    close(fd);
    struct outcome o = {0};
    struct sr_rpc_call_args a = args_for("echo", "ok", 2, 2000);
    cr_assert_eq(sr_rpc_call(e.cli, e.addr, &a, record, &o, NULL), 0);
    WAIT_UNTIL(&e, 3000, o.calls == 1);
    cr_expect_eq(o.status, 0);
    env_fini(&e);
}

Test(rpc_faults, oversize_frame_closes_and_counts)
{
    const uint8_t h[] = {0x00, 0x00, 0x10, 0x01, 0x80};  /* 4097 > 4096 */
    hostile(h, sizeof(h), true);
}

Test(rpc_faults, garbage_http_closes_and_counts)
{
    const char g[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    hostile(g, sizeof(g) - 1, true);
}

Test(rpc_faults, invalid_msgpack_closes_and_counts)
{
    const uint8_t g[] = {0x00, 0x00, 0x00, 0x03, 0xc1, 0xc1, 0xc1};
    hostile(g, sizeof(g), false);
}

Test(rpc_faults, zero_length_frame_closes_and_counts)
{
    const uint8_t g[] = {0x00, 0x00, 0x00, 0x00};
    hostile(g, sizeof(g), false);
}

Test(rpc_faults, response_frame_sent_to_server_closes)
{
    /* A well-formed frame of the wrong kind: {0: 2 (response), 1: 1}. */
    const uint8_t g[] = {0x00, 0x00, 0x00, 0x05, 0x82, 0x00, 0x02, 0x01, 0x01};
    hostile(g, sizeof(g), false);
}

/* Handler: answer with a body larger than the client accepts. */
static void big_handler(void *ud, struct sr_rpc_reply *reply, const struct sr_rpc_request *req)
{
    (void)ud;
    (void)req;
    static uint8_t big[8000];
    sr_rpc_respond(reply, 0, big, sizeof(big));
}

Test(rpc_faults, oversize_response_closes_client_connection)
{
    struct sr_rpc_cfg ccfg = sr_rpc_cfg_default_lan();
    ccfg.max_frame = 4096;
    struct env e;
    env_init(&e, NULL, &ccfg);
    cr_assert_eq(sr_rpc_handle(e.srv, "test", "big", big_handler, NULL), 0);
    struct outcome o = {0};
    struct sr_rpc_call_args a = args_for("big", NULL, 0, 2000);
    cr_assert_eq(sr_rpc_call(e.cli, e.addr, &a, record, &o, NULL), 0);
    WAIT_UNTIL(&e, 3000, o.calls == 1);
    cr_assert_eq(o.calls, 1);
    cr_expect_eq(o.status, SR_ECONNLOST, "%s", sr_err_name(o.status));
    cr_expect(o.maybe);
    struct sr_rpc_stats cs;
    sr_rpc_stats_get(e.cli, &cs);
    cr_expect_eq(cs.oversize_frames, 1);
    cr_expect_eq(cs.frame_errors, 1);
    env_fini(&e);
}

/* A server whose answer does not fit its own frame limit sends SR_ETOOBIG. */
Test(rpc_faults, oversize_answer_becomes_etoobig)
{
    struct sr_rpc_cfg scfg = sr_rpc_cfg_default_lan();
    scfg.max_frame = 4096;
    struct env e;
    env_init(&e, &scfg, NULL);
    cr_assert_eq(sr_rpc_handle(e.srv, "test", "big", big_handler, NULL), 0);
    struct outcome o = {0};
    struct sr_rpc_call_args a = args_for("big", NULL, 0, 2000);
    cr_assert_eq(sr_rpc_call(e.cli, e.addr, &a, record, &o, NULL), 0);
    WAIT_UNTIL(&e, 3000, o.calls == 1);
    cr_expect_eq(o.status, SR_ETOOBIG);
    cr_expect(o.remote);
    env_fini(&e);
}

/* Send what the socket takes without blocking; true once all is sent. */
static bool pump(int fd, const struct sr_buf *b, size_t *off)
{
    while (*off < b->len) {
        ssize_t n = send(fd, b->data + *off, b->len - *off, MSG_DONTWAIT);
        if (n <= 0)
            return false;
        *off += (size_t)n;
    }
    return true;
}

static size_t drain(int fd)
{
    static uint8_t sink[65536];
    size_t total = 0;
    ssize_t n;
    while ((n = recv(fd, sink, sizeof(sink), MSG_DONTWAIT)) > 0)
        total += (size_t)n;
    return total;
}

/* The most a TCP send buffer may grow to here (tcp_wmem's third field):
 * kernels and images differ (4 MiB by default, 16 MiB or more on some). */
static size_t tcp_wmem_max(void)
{
    unsigned long lo, def, max = 0;
    FILE *f = fopen("/proc/sys/net/ipv4/tcp_wmem", "r");
    if (f) {
        if (fscanf(f, "%lu %lu %lu", &lo, &def, &max) != 3)
            max = 0;
        fclose(f);
    }
    return max ? (size_t)max : 4u << 20;
}

/* A client that sends but does not read: the server stops reading it once
 * max_outbuf bytes of answers wait, and resumes when they drain. */
Test(rpc_faults, server_stops_reading_a_client_that_does_not_read)
{
    struct sr_rpc_cfg scfg = sr_rpc_cfg_default_lan();
    scfg.max_outbuf = 256 * 1024;
    struct env e;
    env_init(&e, &scfg, NULL);
    cr_assert_eq(sr_rpc_handle(e.srv, "test", "echo", echo_handler, NULL), 0);
    /* Keep the kernel from absorbing the answers for us: a small receive
     * buffer here, set before connecting so the window starts small. */
    int small = 64 * 1024;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_geq(fd, 0);
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
    int rcv = 0;
    socklen_t rl = sizeof(rcv);
    getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, &rl);
    /* Answers that cannot all wait anywhere: twice what the server's send
     * buffer at its largest, our receive buffer and the server's own output
     * can hold together. */
    enum { BODY = 64 * 1024 };
    size_t room = tcp_wmem_max() + (size_t)rcv + scfg.max_outbuf + BODY;
    uint32_t n = (uint32_t)(2 * room / BODY + 1);
    static uint8_t body[BODY];
    struct sr_buf reqs;
    sr_buf_create(&reqs, 0);
    size_t expect = 0;
    for (uint32_t i = 0; i < n; i++) {
        struct sr_rpc_frame f = {.kind = SR_RPC_KIND_REQUEST, .id = i + 1, .deadline_ms = 60000,
                                 .service = "test", .service_len = 4, .endpoint = "echo",
                                 .endpoint_len = 4, .body = body, .body_len = BODY};
        cr_assert_eq(sr_rpc_frame_encode(&reqs, &f, 1u << 20, NULL), 0);
        struct sr_buf one;
        sr_buf_create(&one, 0);
        struct sr_rpc_frame r = {.kind = SR_RPC_KIND_RESPONSE, .id = i + 1, .body = body,
                                 .body_len = BODY};
        cr_assert_eq(sr_rpc_frame_encode(&one, &r, 1u << 20, NULL), 0);
        expect += one.len;
        sr_buf_destroy(&one);
    }
    const char *colon = strrchr(e.addr, ':');
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(colon + 1)),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0, "connect: %s",
                 strerror(errno));
    size_t off = 0;
    sr_time_us until = sr_time_mono_us() + 1000 * SR_US_PER_MS;
    while (sr_time_mono_us() < until) {
        pump(fd, &reqs, &off);
        event_base_loop(e.base, EVLOOP_ONCE);
    }
    struct sr_rpc_stats ss;
    sr_rpc_stats_get(e.srv, &ss);
    cr_expect_lt(ss.requests_received, n, "the server paused (%llu of %u handled)",
                 (unsigned long long)ss.requests_received, n);
    /* The wait is long for valgrind, which moves these bytes 50x slower. */
    size_t got = 0;
    WAIT_UNTIL(&e, 60000, (pump(fd, &reqs, &off), got += drain(fd), got == expect));
    sr_rpc_stats_get(e.srv, &ss);
    cr_expect_eq(ss.requests_received, n);
    cr_expect_eq(got, expect, "every answer arrives once the client reads");
    cr_expect_eq(ss.frame_errors, 0);
    close(fd);
    sr_buf_destroy(&reqs);
    env_fini(&e);
}

/* Records what the handler saw as the caller's remaining time. */
static void deadline_handler(void *ud, struct sr_rpc_reply *reply, const struct sr_rpc_request *r)
{
    *(uint32_t *)ud = r->deadline_ms;
    sr_rpc_respond(reply, 0, NULL, 0);
}

/* A call that waits in backoff goes out with the time it has left then,
 * not the timeout it was made with. */
Test(rpc_faults, deadline_sent_is_what_is_left_when_written)
{
    struct sr_rpc_cfg ccfg = sr_rpc_cfg_default_lan();
    ccfg.backoff_min_ms = 300;
    struct env e;
    env_init(&e, NULL, &ccfg);
    char addr[SR_RPC_ADDR_MAX];
    snprintf(addr, sizeof(addr), "%s", e.addr);
    sr_rpc_delete(e.srv);
    e.srv = NULL;
    struct outcome o = {0};
    struct sr_rpc_call_args a = args_for("deadline", NULL, 0, 1000);
    cr_assert_eq(sr_rpc_call(e.cli, addr, &a, record, &o, NULL), 0);
    WAIT_UNTIL(&e, 3000, o.calls == 1);
    cr_assert_eq(o.status, SR_EUNREACH);   /* now backing off 225..375 ms */
    e.srv = env_server(&e, NULL, addr);
    uint32_t seen = 0;
    cr_assert_eq(sr_rpc_handle(e.srv, "test", "deadline", deadline_handler, &seen), 0);
    struct outcome o2 = {0};
    sr_time_us t0 = sr_time_mono_us();
    cr_assert_eq(sr_rpc_call(e.cli, addr, &a, record, &o2, NULL), 0);
    WAIT_UNTIL(&e, 3000, o2.calls == 1);
    cr_assert_eq(o2.status, 0, "%s", sr_err_name(o2.status));
    sr_time_us waited_ms = (o2.at - t0) / SR_US_PER_MS;
    cr_expect_gt(seen, 0);
    /* Both bounds: the time spent in backoff (>= 225 ms) is gone from what
     * was sent, and no more than the whole wait until the answer is. */
    cr_expect_leq(seen, 1000 - 200, "at least the minimum backoff is gone (%u)", seen);
    cr_expect_geq(seen + waited_ms + 1, 1000, "sent %u ms left, answered after %llu ms", seen,
                  (unsigned long long)waited_ms);
    env_fini(&e);
}

Test(rpc_faults, client_refuses_calls_past_max_outbuf_bytes)
{
    struct sr_rpc_cfg ccfg = sr_rpc_cfg_default_lan();
    ccfg.max_outbuf = 100 * 1024;
    struct env e;
    env_init(&e, NULL, &ccfg);
    cr_assert_eq(sr_rpc_handle(e.srv, "test", "echo", echo_handler, NULL), 0);
    static uint8_t body[64 * 1024];
    struct outcome o[3] = {{0}};
    struct sr_rpc_call_args a = args_for("echo", body, sizeof(body), 3000);
    cr_assert_eq(sr_rpc_call(e.cli, e.addr, &a, record, &o[0], NULL), 0);
    cr_assert_eq(sr_rpc_call(e.cli, e.addr, &a, record, &o[1], NULL), 0);
    cr_expect_eq(sr_rpc_call(e.cli, e.addr, &a, record, &o[2], NULL), SR_EFULL,
                 "128 KiB queued >= 100 KiB");
    WAIT_UNTIL(&e, 3000, o[0].calls == 1 && o[1].calls == 1);
    cr_expect(o[0].status == 0 && o[1].status == 0);
    cr_assert_eq(sr_rpc_call(e.cli, e.addr, &a, record, &o[2], NULL), 0, "room again");
    WAIT_UNTIL(&e, 3000, o[2].calls == 1);
    cr_expect_eq(o[2].status, 0);
    env_fini(&e);
}
