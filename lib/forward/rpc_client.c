/* Client side: one pooled connection per peer, pipelined calls matched by
 * id, deadlines, reconnect with exponential backoff, and the
 * "may have been delivered" bookkeeping.
 *
 * A call is either pending (its encoded frame waits in the call while the
 * peer connects) or sent (its frame was appended to the bufferevent's
 * output). For sent calls we remember the stream offset just past the frame;
 * when the connection dies, everything below `out_total - bytes still in the
 * output buffer` went to the socket, so a call whose frame ends there may
 * have been delivered (SR_ECONNLOST) and one beyond surely was not: the peer
 * only acts on whole frames (SR_EUNREACH). For TLS "went to the socket"
 * means "went to openssl", which errs on the safe side (ECONNLOST). */
#include "forward/rpc_impl.h"

#include <stdlib.h>
#include <string.h>
#include <event2/buffer.h>
#include "swimring/error.h"
#include "swimring/log.h"

static void peer_timer_cb(evutil_socket_t fd, short what, void *arg);
static void peer_read_cb(struct bufferevent *bev, void *arg);
static void peer_event_cb(struct bufferevent *bev, short what, void *arg);

int sr_rpc_client_init(struct sr_rpc *rpc)
{
    if (sr_rpc_htab_create(&rpc->calls, 256) < 0)
        return SR_ENOMEM;
    if (sr_rpc_htab_create(&rpc->peers, 16) < 0) {
        sr_rpc_htab_destroy(&rpc->calls);
        return SR_ENOMEM;
    }
    return 0;
}

static struct rpc_peer *peer_find(const struct sr_rpc *rpc, const char *addr)
{
    uint64_t h = sr_rpc_htab_fnv1a(addr);
    for (struct sr_rpc_htab_node *n = sr_rpc_htab_first(&rpc->peers, h); n != NULL;
         n = sr_rpc_htab_next(n)) {
        struct rpc_peer *p = (struct rpc_peer *)n;
        if (strcmp(p->addr, addr) == 0)
            return p;
    }
    return NULL;
}

static int peer_get(struct sr_rpc *rpc, const char *addr, struct rpc_peer **out)
{
    struct rpc_peer *p = peer_find(rpc, addr);
    if (p != NULL) {
        *out = p;
        return 0;
    }
    struct sockaddr_storage sa;
    int salen;
    if (sr_rpc_parse_addr(addr, &sa, &salen) < 0)
        return SR_EINVAL;
    p = calloc(1, sizeof(*p));
    if (p == NULL)
        return SR_ENOMEM;
    p->rpc = rpc;
    snprintf(p->addr, sizeof(p->addr), "%s", addr);
    p->sa = sa;
    p->salen = salen;
    TAILQ_INIT(&p->pending);
    TAILQ_INIT(&p->sent);
    evtimer_assign(&p->timer, rpc->base, peer_timer_cb, p);
    p->hnode.hash = sr_rpc_htab_fnv1a(addr);
    sr_rpc_htab_insert(&rpc->peers, &p->hnode);
    *out = p;
    return 0;
}

static struct rpc_call *call_find(const struct sr_rpc *rpc, uint64_t id)
{
    uint64_t h = sr_rpc_htab_mix64(id);
    for (struct sr_rpc_htab_node *n = sr_rpc_htab_first(&rpc->calls, h); n != NULL;
         n = sr_rpc_htab_next(n)) {
        struct rpc_call *c = (struct rpc_call *)n;
        if (c->id == id)
            return c;
    }
    return NULL;
}

/* Bytes of the current connection's stream that left the output buffer. */
static uint64_t peer_drained(const struct rpc_peer *p)
{
    if (p->bev == NULL)
        return 0;
    return p->out_total - evbuffer_get_length(bufferevent_get_output(p->bev));
}

/* Bytes waiting to go to this peer: queued frames and the output buffer. */
static uint64_t peer_unsent(const struct rpc_peer *p)
{
    uint64_t n = p->pending_bytes;
    if (p->bev != NULL)
        n += evbuffer_get_length(bufferevent_get_output(p->bev));
    return n;
}

static bool call_maybe_delivered(const struct rpc_call *c, uint64_t drained)
{
    return c->sent && c->end <= drained;
}

/* Take the call out of every structure, free it, then run its callback:
 * the callback may start new calls, even to the same peer. The call must
 * already be off its peer list. */
static void call_complete(struct rpc_call *c, struct sr_rpc_result *res)
{
    struct sr_rpc *rpc = c->peer->rpc;
    sr_rpc_htab_remove(&rpc->calls, &c->hnode);
    c->peer->outstanding--;
    evtimer_del(&c->timer);
    sr_rpc_done_f cb = c->cb;
    void *ud = c->ud;
    res->id = c->id;
    if (c->frame != NULL)
        c->peer->pending_bytes -= c->frame_len;
    free(c->frame);
    free(c);
    cb(ud, res);
}

static void call_unlink(struct rpc_call *c)
{
    if (c->sent)
        TAILQ_REMOVE(&c->peer->sent, c, link);
    else
        TAILQ_REMOVE(&c->peer->pending, c, link);
}

static void call_fail(struct rpc_call *c, int status, bool maybe_delivered)
{
    struct sr_rpc *rpc = c->peer->rpc;
    if (c->canceled)
        status = SR_ECANCELED;  /* the caller gave up first */
    if (status == SR_ECONNLOST)
        rpc->stats.conn_lost++;
    else if (status == SR_EUNREACH)
        rpc->stats.not_sent++;
    struct sr_rpc_result res = {.status = status, .maybe_delivered = maybe_delivered};
    call_complete(c, &res);
}

static struct timeval tv_from_us(sr_time_us us)
{
    return (struct timeval){.tv_sec = (time_t)(us / SR_US_PER_S),
                            .tv_usec = (suseconds_t)(us % SR_US_PER_S)};
}

/* Tell the peer we gave up on a call it has (or will have: the frame may
 * still be in our output buffer), so it sends no answer. Best effort: on
 * failure the answer just comes back and is dropped as late. */
static void peer_send_cancel(struct rpc_peer *p, uint64_t id)
{
    struct sr_rpc *rpc = p->rpc;
    if (p->state != PEER_CONNECTED || p->bev == NULL)
        return;
    struct sr_rpc_frame f = {.kind = SR_RPC_KIND_CANCEL, .id = id};
    if (sr_rpc_encode(rpc, &f, NULL) < 0 ||
        bufferevent_write(p->bev, rpc->scratch.data, rpc->scratch.len) < 0)
        return;
    p->out_total += rpc->scratch.len;
    rpc->stats.bytes_sent += rpc->scratch.len;
    rpc->stats.cancels_sent++;
}

static void call_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    struct rpc_call *c = arg;
    if (c->canceled) {  /* sr_rpc_cancel armed a zero timeout */
        bool maybe = call_maybe_delivered(c, peer_drained(c->peer));
        if (!c->unlinked)
            call_unlink(c);
        struct sr_rpc_result res = {.status = SR_ECANCELED, .maybe_delivered = maybe};
        call_complete(c, &res);
        return;
    }
    /* A base without EVENT_BASE_FLAG_PRECISE_TIMER runs timers on the
     * coarse clock and may wake a few ms early: never time out early. */
    sr_time_us now = sr_time_mono_us();
    if (now < c->deadline) {
        struct timeval tv = tv_from_us(c->deadline - now);
        evtimer_add(&c->timer, &tv);
        return;
    }
    c->peer->rpc->stats.timeouts++;
    bool maybe = call_maybe_delivered(c, peer_drained(c->peer));
    if (c->sent)
        peer_send_cancel(c->peer, c->id);
    call_unlink(c);
    call_fail(c, SR_ETIMEDOUT, maybe);
}

static sr_time_us backoff_us(struct sr_rpc *rpc, uint32_t failures)
{
    uint64_t ms = rpc->cfg.backoff_min_ms;
    for (uint32_t i = 1; i < failures && ms < rpc->cfg.backoff_max_ms; i++)
        ms *= 2;
    if (ms > rpc->cfg.backoff_max_ms)
        ms = rpc->cfg.backoff_max_ms;
    /* +-25% jitter so the peers of a restarted node do not reconnect in step. */
    double f = 0.75 + 0.5 * sr_rpc_rand01(rpc);
    return (sr_time_us)((double)ms * f * (double)SR_US_PER_MS);
}

/* Fail every call of a dead connection (or failed connect) and reset the
 * peer to IDLE first, so callbacks that call again start afresh. */
static void peer_fail(struct rpc_peer *p, const char *reason)
{
    struct sr_rpc *rpc = p->rpc;
    bool connect_failed = p->state != PEER_CONNECTED && !p->close_requested;
    p->close_requested = false;
    uint64_t drained = peer_drained(p);
    struct rpc_call_list sent, pending;
    TAILQ_INIT(&sent);
    TAILQ_INIT(&pending);
    TAILQ_CONCAT(&sent, &p->sent, link);
    TAILQ_CONCAT(&pending, &p->pending, link);
    if (p->bev != NULL)
        bufferevent_free(p->bev);
    p->bev = NULL;
    p->out_total = 0;
    evtimer_del(&p->timer);
    p->state = PEER_IDLE;
    sr_time_us now = sr_time_mono_us();
    if (connect_failed) {
        p->failures++;
        rpc->stats.connect_failures++;
        p->retry_at = now + backoff_us(rpc, p->failures);
    } else if (p->retry_at < now) {
        p->retry_at = now;
    }
    SR_INFO(rpc->log, connect_failed ? "rpc.connect_failed" : "rpc.conn_lost",
            "peer=%s reason=\"%s\" calls=%u failures=%u", p->addr, reason, p->outstanding,
            p->failures);
    struct rpc_call *c;
    while ((c = TAILQ_FIRST(&sent)) != NULL) {
        TAILQ_REMOVE(&sent, c, link);
        bool maybe = call_maybe_delivered(c, drained);
        call_fail(c, maybe ? SR_ECONNLOST : SR_EUNREACH, maybe);
    }
    while ((c = TAILQ_FIRST(&pending)) != NULL) {
        TAILQ_REMOVE(&pending, c, link);
        call_fail(c, SR_EUNREACH, false);
    }
}

/* A failure found while the caller is still inside sr_rpc_call: report it
 * from the loop, so no callback runs inside the call. */
static void peer_fail_later(struct rpc_peer *p)
{
    if (p->bev != NULL)
        bufferevent_free(p->bev);
    p->bev = NULL;
    p->state = PEER_FAILING;
    struct timeval zero = {0, 0};
    evtimer_add(&p->timer, &zero);
}

static void peer_write(struct rpc_peer *p, struct rpc_call *c, const uint8_t *frame, size_t len)
{
    /* Output growth is bounded by max_outbuf (checked by the caller). */
    if (bufferevent_write(p->bev, frame, len) < 0) {
        /* Out of memory: the call stays unsent and ends SR_EUNREACH or by
         * its deadline. */
        TAILQ_INSERT_TAIL(&p->pending, c, link);
        return;
    }
    p->out_total += len;
    p->rpc->stats.bytes_sent += len;
    c->sent = true;
    c->end = p->out_total;
    TAILQ_INSERT_TAIL(&p->sent, c, link);
}

/* Remaining time of a call in ms, rounded up, for the wire. */
static uint32_t remaining_ms(const struct rpc_call *c, sr_time_us now)
{
    if (c->deadline <= now)
        return 0;
    uint64_t ms = (c->deadline - now + SR_US_PER_MS - 1) / SR_US_PER_MS;
    return ms > UINT32_MAX ? UINT32_MAX : (uint32_t)ms;
}

static void peer_flush_pending(struct rpc_peer *p)
{
    sr_time_us now = sr_time_mono_us();
    struct rpc_call *c;
    while (p->state == PEER_CONNECTED && (c = TAILQ_FIRST(&p->pending)) != NULL) {
        TAILQ_REMOVE(&p->pending, c, link);
        if (c->frame == NULL) {
            /* Could not be written before (no memory): give up on it. */
            call_fail(c, SR_EUNREACH, false);
            continue;
        }
        /* The deadline on the wire is what is left now, not at call time. */
        if (c->deadline_off != 0)
            sr_rpc_frame_patch_deadline(c->frame + c->deadline_off, remaining_ms(c, now));
        uint8_t *frame = c->frame;
        size_t len = c->frame_len;
        c->frame = NULL;
        p->pending_bytes -= len;
        peer_write(p, c, frame, len);
        free(frame);
    }
}

static void peer_start_connect(struct rpc_peer *p)
{
    struct sr_rpc *rpc = p->rpc;
    p->bev = sr_conn_new_client(&rpc->transport, rpc->base);
    if (p->bev == NULL) {
        peer_fail_later(p);
        return;
    }
    sr_rpc_tune_bev(p->bev);
    p->out_total = 0;
    p->state = PEER_CONNECTING;
    /* Callbacks before connect: libevent drops events of a bufferevent that
     * has none, and an immediate refusal arrives as a deferred event. */
    bufferevent_setcb(p->bev, peer_read_cb, NULL, peer_event_cb, p);
    /* For a connecting socket libevent applies the write timeout to the
     * connect, the read one to a TLS handshake waiting for the peer;
     * both cleared once connected. */
    struct timeval tv = tv_from_us((sr_time_us)rpc->cfg.connect_timeout_ms * SR_US_PER_MS);
    bufferevent_set_timeouts(p->bev, &tv, &tv);
    if (sr_conn_connect(&rpc->transport, p->bev, (const struct sockaddr *)&p->sa, p->salen) < 0) {
        peer_fail_later(p);
        return;
    }
    bufferevent_enable(p->bev, EV_READ | EV_WRITE);
}

/* Make an idle peer with queued calls work towards a connection. */
static void peer_kick(struct rpc_peer *p)
{
    if (p->state != PEER_IDLE)
        return;
    sr_time_us now = sr_time_mono_us();
    if (p->retry_at > now) {
        p->state = PEER_BACKOFF;
        struct timeval tv = tv_from_us(p->retry_at - now);
        evtimer_add(&p->timer, &tv);
        return;
    }
    peer_start_connect(p);
}

static void peer_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    struct rpc_peer *p = arg;
    if (p->close_requested) {
        peer_fail(p, "closed locally");
    } else if (p->state == PEER_FAILING) {
        peer_fail(p, "connect failed at once");
    } else if (p->state == PEER_BACKOFF) {
        sr_time_us now = sr_time_mono_us();
        if (now < p->retry_at) {  /* coarse timer woke us early */
            struct timeval tv = tv_from_us(p->retry_at - now);
            evtimer_add(&p->timer, &tv);
            return;
        }
        p->state = PEER_IDLE;
        /* Every queued call may have timed out meanwhile: then stay idle. */
        if (p->outstanding > 0)
            peer_start_connect(p);
    }
}

/* The peer is known to take our frames: count it, send what waited. */
static void peer_on_established(struct rpc_peer *p)
{
    struct sr_rpc *rpc = p->rpc;
    p->state = PEER_CONNECTED;
    p->failures = 0;
    p->retry_at = 0;
    rpc->stats.connects++;
    if (p->was_connected)
        rpc->stats.reconnects++;
    p->was_connected = true;
    bufferevent_set_timeouts(p->bev, NULL, NULL);
    SR_DEBUG(rpc->log, "rpc.connected", "peer=%s transport=%s", p->addr,
             rpc->transport.ops->name);
    peer_flush_pending(p);
}

/* The transport is up. If it says so (TLS 1.3), first a ping with id 0
 * (no call has it) whose pong proves the server accepted us: until then a
 * failure is a failed connect, and no call was written. */
static void peer_on_connected(struct rpc_peer *p)
{
    struct sr_rpc *rpc = p->rpc;
    if (!sr_conn_confirm_first(&rpc->transport, p->bev)) {
        peer_on_established(p);
        return;
    }
    struct sr_rpc_frame f = {.kind = SR_RPC_KIND_PING, .id = 0};
    if (sr_rpc_encode(rpc, &f, NULL) < 0 ||
        bufferevent_write(p->bev, rpc->scratch.data, rpc->scratch.len) < 0) {
        peer_fail(p, "out of memory confirming the connection");
        return;
    }
    p->out_total += rpc->scratch.len;
    rpc->stats.bytes_sent += rpc->scratch.len;
    p->state = PEER_CONFIRMING; /* the connect timeouts stay armed */
}

static void peer_event_cb(struct bufferevent *bev, short what, void *arg)
{
    struct rpc_peer *p = arg;
    if (what & BEV_EVENT_CONNECTED) {
        peer_on_connected(p);
        return;
    }
    char err[192];
    const char *reason = (what & BEV_EVENT_TIMEOUT) ? "connect timed out"
                         : (what & BEV_EVENT_EOF) ? "closed by peer"
                         : sr_conn_last_error(&p->rpc->transport, bev, err, sizeof(err));
    peer_fail(p, reason);
}

/* One response or pong. Returns 0, or an error that closes the connection. */
static int peer_on_frame(struct rpc_peer *p, const uint8_t *payload, uint32_t len)
{
    struct sr_rpc *rpc = p->rpc;
    struct sr_rpc_frame f;
    int rc = sr_rpc_decode(rpc, payload, len, p->addr, &f);
    if (rc < 0)
        return rc;
    if (f.kind != SR_RPC_KIND_RESPONSE && f.kind != SR_RPC_KIND_PONG) {
        rpc->stats.frame_errors++;
        SR_WARN(rpc->log, "rpc.frame_error", "peer=%s reason=\"unexpected %s on a client connection\" action=close",
                p->addr, sr_rpc_kind_name(f.kind));
        return SR_EPROTO;
    }
    if (f.kind == SR_RPC_KIND_PONG && f.id == 0 && p->state == PEER_CONFIRMING) {
        peer_on_established(p);
        return 0;
    }
    struct rpc_call *c = call_find(rpc, f.id);
    if (c == NULL || c->peer != p || !c->sent || c->canceled) {
        /* Timed out already (or never ours): the caller has its answer. */
        rpc->stats.late_responses++;
        return 0;
    }
    rpc->stats.responses_received++;
    call_unlink(c);
    struct sr_rpc_result res = {.status = f.status, .remote = true, .maybe_delivered = true,
                                .checksum = f.checksum, .body = f.body, .body_len = f.body_len};
    call_complete(c, &res);
    return 0;
}

static void peer_read_cb(struct bufferevent *bev, void *arg)
{
    struct rpc_peer *p = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    for (;;) {
        const uint8_t *payload;
        uint32_t len;
        int rc = sr_rpc_next_frame(p->rpc, in, p->addr, &payload, &len);
        if (rc == 0)
            return;
        if (rc > 0)
            rc = peer_on_frame(p, payload, len);
        if (rc < 0) {
            peer_fail(p, "bad frame from peer");
            return;
        }
        /* Callbacks cannot close this connection (only the loop does). */
        evbuffer_drain(in, SR_RPC_FRAME_HEADER + (size_t)len);
    }
}

static int call_check_args(const struct sr_rpc_call_args *a, uint32_t kind)
{
    if (a == NULL || a->timeout_ms == 0 || a->service == NULL || a->endpoint == NULL ||
        (a->key == NULL && a->key_len != 0) || (a->body == NULL && a->body_len != 0))
        return SR_EINVAL;
    if (strlen(a->service) > SR_RPC_NAME_MAX || strlen(a->endpoint) > SR_RPC_NAME_MAX)
        return SR_EINVAL;
    if (a->key_len > UINT32_MAX || a->body_len > UINT32_MAX)
        return SR_ETOOBIG;
    if (a->rid_len > SR_RPC_RID_MAX || (a->rid == NULL && a->rid_len != 0))
        return SR_EINVAL;
    return kind == SR_RPC_KIND_REQUEST || kind == SR_RPC_KIND_PING ? 0 : SR_EINVAL;
}

static int call_encode(struct sr_rpc *rpc, uint32_t kind, const struct sr_rpc_call_args *a,
                       size_t *deadline_off)
{
    struct sr_rpc_frame f = {
        .kind = kind, .id = rpc->next_id, .flags = a->flags, .deadline_ms = a->timeout_ms,
        .hops = a->hops, .service = a->service, .service_len = (uint32_t)strlen(a->service),
        .endpoint = a->endpoint, .endpoint_len = (uint32_t)strlen(a->endpoint),
        .key = a->key, .key_len = (uint32_t)a->key_len,
        .body = a->body, .body_len = (uint32_t)a->body_len,
        .rid = a->rid, .rid_len = (uint32_t)a->rid_len,
    };
    return sr_rpc_encode(rpc, &f, deadline_off);
}

static void call_queue(struct rpc_peer *p, struct rpc_call *c)
{
    struct sr_rpc *rpc = p->rpc;
    if (p->state == PEER_CONNECTED) {
        peer_write(p, c, rpc->scratch.data, rpc->scratch.len);
        return;
    }
    TAILQ_INSERT_TAIL(&p->pending, c, link);
    peer_kick(p);
}

int sr_rpc_call_kind(struct sr_rpc *rpc, const char *peer, uint32_t kind,
                     const struct sr_rpc_call_args *args, sr_rpc_done_f cb, void *ud,
                     uint64_t *id)
{
    if (rpc->closing)
        return SR_ECLOSED;
    int rc = call_check_args(args, kind);
    if (rc < 0 || cb == NULL)
        return rc < 0 ? rc : SR_EINVAL;
    struct rpc_peer *p;
    if ((rc = peer_get(rpc, peer, &p)) < 0)
        return rc;
    if (p->outstanding >= rpc->cfg.max_pending ||
        (p->outstanding > 0 && peer_unsent(p) >= rpc->cfg.max_outbuf))
        return SR_EFULL;
    size_t deadline_off = 0;
    if ((rc = call_encode(rpc, kind, args, &deadline_off)) < 0)
        return rc;
    struct rpc_call *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return SR_ENOMEM;
    if (p->state != PEER_CONNECTED) {
        /* Queued until connected: keep a private copy of the frame. */
        c->frame = malloc(rpc->scratch.len);
        if (c->frame == NULL) {
            free(c);
            return SR_ENOMEM;
        }
        memcpy(c->frame, rpc->scratch.data, rpc->scratch.len);
        c->frame_len = rpc->scratch.len;
        c->deadline_off = deadline_off;
        p->pending_bytes += c->frame_len;
    }
    c->peer = p;
    c->id = rpc->next_id++;
    c->cb = cb;
    c->ud = ud;
    c->deadline = sr_time_mono_us() + (sr_time_us)args->timeout_ms * SR_US_PER_MS;
    c->hnode.hash = sr_rpc_htab_mix64(c->id);
    sr_rpc_htab_insert(&rpc->calls, &c->hnode);
    evtimer_assign(&c->timer, rpc->base, call_timer_cb, c);
    struct timeval tv = tv_from_us((sr_time_us)args->timeout_ms * SR_US_PER_MS);
    evtimer_add(&c->timer, &tv);
    p->outstanding++;
    rpc->stats.requests_sent++;
    if (id != NULL)
        *id = c->id;
    call_queue(p, c);
    return 0;
}

int sr_rpc_cancel(struct sr_rpc *rpc, uint64_t id)
{
    struct rpc_call *c = call_find(rpc, id);
    if (c == NULL || c->canceled)
        return SR_ENOTFOUND;
    /* Complete from the loop through the deadline timer, never inside this
     * call: the caller may hold state its callback frees. */
    c->canceled = true;
    if (c->sent)
        peer_send_cancel(c->peer, c->id);
    if (!c->sent) {
        /* Not written yet: make sure it never is. */
        TAILQ_REMOVE(&c->peer->pending, c, link);
        c->unlinked = true;
        if (c->frame != NULL)
            c->peer->pending_bytes -= c->frame_len;
        free(c->frame);
        c->frame = NULL;
    }
    struct timeval zero = {0, 0};
    evtimer_add(&c->timer, &zero);
    return 0;
}

int sr_rpc_disconnect(struct sr_rpc *rpc, const char *peer)
{
    struct rpc_peer *p = peer_find(rpc, peer);
    if (p == NULL)
        return SR_ENOTFOUND;
    if (p->state == PEER_IDLE || p->close_requested)
        return 0;
    /* From the loop, not here: this may run inside a callback reading this
     * very connection. The timer's other uses (backoff, deferred failure)
     * end in the same peer_fail. */
    p->close_requested = true;
    struct timeval zero = {0, 0};
    evtimer_add(&p->timer, &zero);
    return 0;
}

uint32_t sr_rpc_pending(const struct sr_rpc *rpc, const char *peer)
{
    const struct rpc_peer *p = peer_find(rpc, peer);
    return p != NULL ? p->outstanding : 0;
}

/* Teardown of one peer's calls: SR_ECANCELED, with the delivery flag. */
static void peer_cancel_calls(struct rpc_peer *p)
{
    uint64_t drained = peer_drained(p);
    struct rpc_call *c;
    while ((c = TAILQ_FIRST(&p->sent)) != NULL) {
        TAILQ_REMOVE(&p->sent, c, link);
        struct sr_rpc_result res = {.status = SR_ECANCELED,
                                    .maybe_delivered = call_maybe_delivered(c, drained)};
        call_complete(c, &res);
    }
    while ((c = TAILQ_FIRST(&p->pending)) != NULL) {
        TAILQ_REMOVE(&p->pending, c, link);
        struct sr_rpc_result res = {.status = SR_ECANCELED};
        call_complete(c, &res);
    }
}

/* Teardown: every call completes SR_ECANCELED, then the peers go. */
void sr_rpc_client_shutdown(struct sr_rpc *rpc)
{
    struct sr_rpc_htab_node *n;
    for (size_t b = 0; b <= rpc->peers.mask; b++)
        for (n = rpc->peers.buckets[b]; n != NULL; n = n->next)
            peer_cancel_calls((struct rpc_peer *)n);
    /* Calls canceled while pending sit on no list, only in the table. */
    while ((n = sr_rpc_htab_any(&rpc->calls)) != NULL) {
        struct rpc_call *c = (struct rpc_call *)n;
        struct sr_rpc_result res = {.status = SR_ECANCELED};
        call_complete(c, &res);
    }
    while ((n = sr_rpc_htab_any(&rpc->peers)) != NULL) {
        struct rpc_peer *p = (struct rpc_peer *)n;
        evtimer_del(&p->timer);
        if (p->bev != NULL)
            bufferevent_free(p->bev);
        sr_rpc_htab_remove(&rpc->peers, &p->hnode);
        free(p);
    }
    sr_rpc_htab_destroy(&rpc->peers);
    sr_rpc_htab_destroy(&rpc->calls);
}
