/* Server side: the listener, accepted connections, dispatch to handlers,
 * asynchronous replies, the in-flight limit (SR_EBUSY, never a hang) and
 * output backpressure. */
#include "forward/rpc_impl.h"

#include <stdlib.h>
#include <string.h>
#include <event2/buffer.h>
#include "swimring/error.h"
#include "swimring/log.h"

static void sconn_read_cb(struct bufferevent *bev, void *arg);
static void sconn_write_cb(struct bufferevent *bev, void *arg);
static void sconn_event_cb(struct bufferevent *bev, short what, void *arg);

static void sconn_unref(struct rpc_sconn *sc)
{
    if (--sc->refs == 0) {
        sr_rpc_htab_destroy(&sc->replies);
        free(sc);
    }
}

/* Close the socket now; the struct lives on while replies point at it. */
static void sconn_close(struct rpc_sconn *sc, const char *reason)
{
    if (sc->bev == NULL)
        return;
    struct sr_rpc *rpc = sc->rpc;
    SR_DEBUG(rpc->log, "rpc.server_conn_closed", "peer=%s reason=\"%s\" unanswered=%u",
             sc->peer, reason, sc->inflight);
    bufferevent_free(sc->bev);
    sc->bev = NULL;
    TAILQ_REMOVE(&rpc->sconns, sc, link);
    sc->rpc = NULL;
    sconn_unref(sc);
}

/* Encode and queue one answer. A body too large for a frame becomes an
 * SR_ETOOBIG status without a body, so the caller still gets an answer. */
static int sconn_send(struct rpc_sconn *sc, uint32_t kind, uint64_t id, int status,
                      const void *body, size_t body_len)
{
    struct sr_rpc *rpc = sc->rpc;
    int ret = 0;
    if (body_len > rpc->cfg.max_frame) {
        ret = SR_ETOOBIG;
    } else {
        struct sr_rpc_frame f = {.kind = kind, .id = id, .status = status,
                                 .body = body, .body_len = (uint32_t)body_len};
        ret = sr_rpc_encode(rpc, &f, NULL);
    }
    if (ret < 0) {
        struct sr_rpc_frame f = {.kind = kind, .id = id, .status = ret};
        if (sr_rpc_encode(rpc, &f, NULL) < 0)
            return ret;
    }
    if (bufferevent_write(sc->bev, rpc->scratch.data, rpc->scratch.len) < 0)
        return SR_ENOMEM;
    rpc->stats.bytes_sent += rpc->scratch.len;
    rpc->stats.responses_sent++;
    return ret;
}

int sr_rpc_respond(struct sr_rpc_reply *reply, int status, const void *body, size_t body_len)
{
    struct rpc_sconn *sc = reply->sc;
    int rc = 0;
    if (status > 0 || (body == NULL && body_len != 0)) {
        rc = SR_EINVAL;
        status = SR_EINVAL;
        body_len = 0;
    }
    if (sc->bev != NULL && reply->canceled) {
        sc->rpc->stats.answers_canceled++;  /* the caller gave up: nobody reads it */
    } else if (sc->bev != NULL) {
        int src = sconn_send(sc, SR_RPC_KIND_RESPONSE, reply->id, status, body, body_len);
        if (rc == 0)
            rc = src;
    }
    sr_rpc_htab_remove(&sc->replies, &reply->hnode);
    sc->inflight--;
    free(reply);
    sconn_unref(sc);
    return rc;
}

bool sr_rpc_reply_canceled(const struct sr_rpc_reply *reply)
{
    return reply->canceled;
}

/* A cancel frame: mark the request's reply, if it is still unanswered (a
 * cancel that crossed its answer finds nothing). Requests are handed to
 * their handler as they are read, so there is nothing queued to drop. */
static void sconn_on_cancel(struct rpc_sconn *sc, uint64_t id)
{
    sc->rpc->stats.cancels_received++;
    uint64_t h = sr_rpc_htab_mix64(id);
    for (struct sr_rpc_htab_node *n = sr_rpc_htab_first(&sc->replies, h); n != NULL;
         n = sr_rpc_htab_next(n)) {
        struct sr_rpc_reply *r = (struct sr_rpc_reply *)n;
        if (r->id == id)
            r->canceled = true;
    }
}

static const struct rpc_handler *find_handler(const struct sr_rpc *rpc, const struct sr_rpc_frame *f)
{
    for (size_t i = 0; i < rpc->nhandlers; i++) {
        const struct rpc_handler *h = &rpc->handlers[i];
        if (strlen(h->service) == f->service_len && strlen(h->endpoint) == f->endpoint_len &&
            memcmp(h->service, f->service, f->service_len) == 0 &&
            memcmp(h->endpoint, f->endpoint, f->endpoint_len) == 0)
            return h;
    }
    return rpc->catch_all.fn != NULL ? &rpc->catch_all : NULL;
}

/* Refusals the transport answers itself; 0 if the request may go on. */
static int request_refusal(struct rpc_sconn *sc, const struct sr_rpc_frame *f)
{
    struct sr_rpc *rpc = sc->rpc;
    if (sc->inflight >= rpc->cfg.max_inflight) {
        rpc->stats.busy++;
        return SR_EBUSY;
    }
    if (f->deadline_ms == 0)
        return SR_ETIMEDOUT;  /* expired before it arrived */
    if (find_handler(rpc, f) == NULL) {
        rpc->stats.unknown_endpoint++;
        return SR_ENOTFOUND;
    }
    return 0;
}

static void dispatch_request(struct rpc_sconn *sc, const struct sr_rpc_frame *f)
{
    struct sr_rpc *rpc = sc->rpc;
    int refusal = request_refusal(sc, f);
    if (refusal < 0) {
        sconn_send(sc, SR_RPC_KIND_RESPONSE, f->id, refusal, NULL, 0);
        return;
    }
    struct sr_rpc_reply *reply = calloc(1, sizeof(*reply));
    if (reply == NULL) {
        sconn_send(sc, SR_RPC_KIND_RESPONSE, f->id, SR_ENOMEM, NULL, 0);
        return;
    }
    reply->sc = sc;
    reply->id = f->id;
    reply->hnode.hash = sr_rpc_htab_mix64(f->id);
    sr_rpc_htab_insert(&sc->replies, &reply->hnode);
    sc->refs++;
    sc->inflight++;
    rpc->stats.requests_received++;
    const struct rpc_handler *h = find_handler(rpc, f);
    struct sr_rpc_request req = {
        .id = f->id, .service = f->service, .service_len = f->service_len,
        .endpoint = f->endpoint, .endpoint_len = f->endpoint_len,
        .key = f->key, .key_len = f->key_len, .body = f->body, .body_len = f->body_len,
        .deadline_ms = f->deadline_ms, .hops = f->hops, .flags = f->flags,
        .checksum = f->checksum, .peer = sc->peer, .rid = f->rid, .rid_len = f->rid_len,
    };
    h->fn(h->ud, reply, &req);
}

/* One frame from a client. 0, or an error that closes the connection. */
static int sconn_on_frame(struct rpc_sconn *sc, const uint8_t *payload, uint32_t len)
{
    struct sr_rpc *rpc = sc->rpc;
    struct sr_rpc_frame f;
    int rc = sr_rpc_decode(rpc, payload, len, sc->peer, &f);
    if (rc < 0)
        return rc;
    switch (f.kind) {
    case SR_RPC_KIND_REQUEST:
        dispatch_request(sc, &f);
        return 0;
    case SR_RPC_KIND_PING:
        sconn_send(sc, SR_RPC_KIND_PONG, f.id, 0, NULL, 0);
        return 0;
    case SR_RPC_KIND_CANCEL:
        sconn_on_cancel(sc, f.id);
        return 0;
    default:
        rpc->stats.frame_errors++;
        SR_WARN(rpc->log, "rpc.frame_error",
                "peer=%s reason=\"unexpected %s on a server connection\" action=close",
                sc->peer, sr_rpc_kind_name(f.kind));
        return SR_EPROTO;
    }
}

static bool sconn_output_full(const struct rpc_sconn *sc)
{
    return evbuffer_get_length(bufferevent_get_output(sc->bev)) > sc->rpc->cfg.max_outbuf;
}

/* Handle the whole frames buffered on the connection, unless its unsent
 * answers pile up (a client that writes but does not read): then stop
 * reading until the output drains (sconn_write_cb). */
static void sconn_process(struct rpc_sconn *sc)
{
    struct evbuffer *in = bufferevent_get_input(sc->bev);
    while (sc->bev != NULL) {
        if (sconn_output_full(sc)) {
            sc->paused = true;
            bufferevent_disable(sc->bev, EV_READ);
            return;
        }
        const uint8_t *payload;
        uint32_t len;
        int rc = sr_rpc_next_frame(sc->rpc, in, sc->peer, &payload, &len);
        if (rc == 0)
            return;
        if (rc > 0)
            rc = sconn_on_frame(sc, payload, len);
        if (rc < 0) {
            sconn_close(sc, "bad frame");
            return;
        }
        evbuffer_drain(in, SR_RPC_FRAME_HEADER + (size_t)len);
    }
}

static void sconn_read_cb(struct bufferevent *bev, void *arg)
{
    (void)bev;
    sconn_process(arg);
}

static void sconn_write_cb(struct bufferevent *bev, void *arg)
{
    struct rpc_sconn *sc = arg;
    (void)bev;
    /* Called when the output is empty (low watermark 0). */
    if (sc->paused) {
        sc->paused = false;
        bufferevent_enable(sc->bev, EV_READ);
        sconn_process(sc);
    }
}

static void sconn_event_cb(struct bufferevent *bev, short what, void *arg)
{
    struct rpc_sconn *sc = arg;
    if (what & BEV_EVENT_CONNECTED) {
        /* TLS handshake done: frames may come; its timeout is over. */
        bufferevent_set_timeouts(bev, NULL, NULL);
        return;
    }
    char err[192];
    const char *reason = (what & BEV_EVENT_TIMEOUT) ? "handshake timed out"
                         : (what & BEV_EVENT_EOF) ? "closed by peer"
                         : sr_conn_last_error(&sc->rpc->transport, bev, err, sizeof(err));
    sconn_close(sc, reason);
}

static void accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
                      int salen, void *arg)
{
    struct sr_rpc *rpc = arg;
    (void)l;
    (void)salen;
    struct rpc_sconn *sc = calloc(1, sizeof(*sc));
    if (sc == NULL || sr_rpc_htab_create(&sc->replies, 16) < 0) {
        free(sc);
        evutil_closesocket(fd);
        return;
    }
    sc->bev = sr_conn_wrap_accepted(&rpc->transport, rpc->base, fd);
    if (sc->bev == NULL) {
        sr_rpc_htab_destroy(&sc->replies);
        free(sc);
        return;
    }
    sr_rpc_tune_bev(sc->bev);
    sc->rpc = rpc;
    sc->refs = 1;
    sr_rpc_format_addr(sa, sc->peer, sizeof(sc->peer));
    TAILQ_INSERT_TAIL(&rpc->sconns, sc, link);
    rpc->stats.accepted++;
    bufferevent_setcb(sc->bev, sconn_read_cb, sconn_write_cb, sconn_event_cb, sc);
    bufferevent_enable(sc->bev, EV_READ | EV_WRITE);
}

static void accept_error_cb(struct evconnlistener *l, void *arg)
{
    struct sr_rpc *rpc = arg;
    (void)l;
    int e = EVUTIL_SOCKET_ERROR();
    /* EMFILE and friends: libevent keeps listening; say why accepts fail. */
    SR_WARN(rpc->log, "rpc.accept_error", "addr=%s error=\"%s\"", rpc->listen_addr,
            evutil_socket_error_to_string(e));
}

int sr_rpc_adopt(struct sr_rpc *rpc, int fd, const struct sockaddr *sa, int salen)
{
    if (rpc == NULL || fd < 0 || sa == NULL)
        return SR_EINVAL;
    accept_cb(NULL, fd, (struct sockaddr *)sa, salen, rpc);
    return 0;
}

int sr_rpc_server_listen(struct sr_rpc *rpc, const char *addr)
{
    if (rpc->listener != NULL)
        return SR_EEXIST;
    struct sockaddr_storage sa;
    int salen;
    if (sr_rpc_parse_addr(addr, &sa, &salen) < 0)
        return SR_EINVAL;
    /* REUSEABLE: a restarted node binds its port again at once. */
    rpc->listener = evconnlistener_new_bind(
        rpc->base, accept_cb, rpc,
        LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC, -1,
        (struct sockaddr *)&sa, salen);
    if (rpc->listener == NULL) {
        SR_WARN(rpc->log, "rpc.listen_failed", "addr=%s error=\"%s\"", addr,
                evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
        return SR_ESYS;
    }
    evconnlistener_set_error_cb(rpc->listener, accept_error_cb);
    struct sockaddr_storage bound;
    socklen_t blen = sizeof(bound);
    evutil_socket_t fd = evconnlistener_get_fd(rpc->listener);
    if (getsockname(fd, (struct sockaddr *)&bound, &blen) == 0)
        sr_rpc_format_addr((struct sockaddr *)&bound, rpc->listen_addr, sizeof(rpc->listen_addr));
    else
        snprintf(rpc->listen_addr, sizeof(rpc->listen_addr), "%s", addr);
    SR_INFO(rpc->log, "rpc.listening", "addr=%s transport=%s", rpc->listen_addr,
            rpc->transport.ops->name);
    return 0;
}

void sr_rpc_server_shutdown(struct sr_rpc *rpc)
{
    if (rpc->listener != NULL)
        evconnlistener_free(rpc->listener);
    rpc->listener = NULL;
    struct rpc_sconn *sc;
    while ((sc = TAILQ_FIRST(&rpc->sconns)) != NULL)
        sconn_close(sc, "shutdown");
}
