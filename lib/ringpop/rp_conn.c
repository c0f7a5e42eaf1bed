/* TChannel connections of the ringpop driver: a listener, one outgoing
 * connection per peer (init handshake, calls queued until init res),
 * frame splitting, call reassembly, timeouts. Bad frames close the
 * connection (TChannel has no resync point) and are counted. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>
#include <event2/buffer.h>
#include "ringpop/rp_impl.h"
#include "swimring/error.h"

static const struct sr_tch_kv call_headers[] = {{"as", "raw"}, {"cn", "ringpop"}};

#define SNIFF_BYTES 5
#define SNIFF_TIMEOUT_MS 10000
#define SNIFF_RETRY_MS 5

static const char *process_name(const struct sr_ringpop *rp)
{
    return rp->cfg.process_name ? rp->cfg.process_name : "swimring-testpop";
}

static int parse_hostport(const char *hp, struct sockaddr_in *sa)
{
    char host[SR_SWIM_ADDR_MAX];
    const char *colon = strrchr(hp, ':');
    if (colon == NULL || (size_t)(colon - hp) >= sizeof(host))
        return SR_EINVAL;
    memcpy(host, hp, (size_t)(colon - hp));
    host[colon - hp] = '\0';
    long port = strtol(colon + 1, NULL, 10);
    memset(sa, 0, sizeof(*sa));
    sa->sin_family = AF_INET;
    sa->sin_port = htons((uint16_t)port);
    if (port <= 0 || port > 65535 || inet_pton(AF_INET, host, &sa->sin_addr) != 1)
        return SR_EINVAL;
    return 0;
}

static void call_free(struct sr_ringpop *rp, struct rp_call *k)
{
    for (struct rp_call **p = &rp->calls; *p; p = &(*p)->next)
        if (*p == k) {
            *p = k->next;
            break;
        }
    if (k->timer)
        event_free(k->timer);
    free(k);
}

static void conn_free(struct rp_conn *c)
{
    struct sr_ringpop *rp = c->rp;
    for (struct rp_conn **p = &rp->conns; *p; p = &(*p)->next)
        if (*p == c) {
            *p = c->next;
            break;
        }
    /* calls on this connection fail now; callbacks may add new calls */
    for (;;) {
        struct rp_call *k = rp->calls;
        while (k && k->conn != c)
            k = k->next;
        if (k == NULL)
            break;
        k->conn = NULL;
        for (struct rp_call **p = &rp->calls; *p; p = &(*p)->next)
            if (*p == k) {
                *p = k->next;
                break;
            }
        k->next = NULL;
        k->fail_status = rp->closing ? SR_ECANCELED : c->ready ? SR_ECONNLOST : SR_EUNREACH;
        rp_on_call_failed(k);
        if (k->timer)
            event_free(k->timer);
        free(k);
    }
    rp_conn_gone(rp, c);
    bufferevent_free(c->bev);
    sr_tch_asm_destroy(&c->as);
    sr_buf_destroy(&c->outq);
    free(c);
}

static void conn_write(struct rp_conn *c, const struct sr_buf *b)
{
    if (c->ready || !c->outgoing)
        bufferevent_write(c->bev, b->data, b->len);
    else
        sr_buf_append(&c->outq, b->data, b->len);
}

static void on_init(struct rp_conn *c, const struct sr_tch_frame *f)
{
    struct sr_tch_init in;
    if (sr_tch_init_decode(f, &in) != 0) {
        c->rp->stats.bad_frames++;
        return;
    }
    if (in.host_port && in.host_port_len < sizeof(c->peer) && !c->outgoing) {
        memcpy(c->peer, in.host_port, in.host_port_len);
        c->peer[in.host_port_len] = '\0';
    }
    /* who runs there decides how our node forwards to it (docs/ringpop.md) */
    c->native = in.process_name && in.process_name_len >= 8 &&
                memcmp(in.process_name, "swimring", 8) == 0;
    if (c->peer[0])
        rp_note_process(c->rp, c->peer, in.process_name, in.process_name ? in.process_name_len : 0);
    if (f->type == SR_TCH_INIT_REQ && !c->outgoing) {
        struct sr_buf b;
        sr_buf_create(&b, 0);
        if (sr_tch_init_encode(&b, true, f->id, c->rp->self, process_name(c->rp)) == 0)
            bufferevent_write(c->bev, b.data, b.len);
        sr_buf_destroy(&b);
        c->ready = true;
    } else if (f->type == SR_TCH_INIT_RES && c->outgoing && !c->ready) {
        c->ready = true;
        if (c->outq.len)
            bufferevent_write(c->bev, c->outq.data, c->outq.len);
        sr_buf_reset(&c->outq);
    }
}

static struct rp_call *find_call(struct sr_ringpop *rp, struct rp_conn *c, uint32_t id)
{
    for (struct rp_call *k = rp->calls; k; k = k->next)
        if (k->conn == c && k->id == id)
            return k;
    return NULL;
}

static void on_call_frame(struct rp_conn *c, const struct sr_tch_frame *f)
{
    struct sr_ringpop *rp = c->rp;
    struct sr_tch_call *call = NULL;
    int rc = sr_tch_asm_feed(&c->as, f, &call);
    if (rc != 0) {
        rp->stats.bad_frames++;
        SR_DEBUG(rp->log, "ringpop.bad_frame", "peer=%s err=%s", c->peer, sr_err_name(rc));
        if (f->type == SR_TCH_CALL_REQ) {
            struct sr_buf b;
            sr_buf_create(&b, 0);
            if (sr_tch_error_encode(&b, f->id, SR_TCH_ERR_BAD_REQUEST, sr_err_name(rc)) == 0)
                bufferevent_write(c->bev, b.data, b.len);
            sr_buf_destroy(&b);
        }
        return;
    }
    if (call == NULL)
        return;
    if (!call->is_res) {
        rp->stats.calls_in++;
        rp_on_request(c, call);
    } else {
        struct rp_call *k = find_call(rp, c, call->id);
        if (k != NULL) {
            for (struct rp_call **p = &rp->calls; *p; p = &(*p)->next)
                if (*p == k) {
                    *p = k->next;
                    break;
                }
            k->next = NULL;
            if (k->kind == RP_K_PROXY)
                rp_proxy_on_response(k, call); /* not ok carries the error body */
            else if (call->code == 0)
                rp_on_response(k, call);
            else
                rp_on_call_failed(k);
            if (k->timer)
                event_free(k->timer);
            free(k);
        }
    }
    sr_tch_call_free(call);
}

static void on_error_frame(struct rp_conn *c, const struct sr_tch_frame *f)
{
    struct rp_call *k = find_call(c->rp, c, f->id);
    c->rp->stats.call_errors++;
    if (k == NULL)
        return;
    for (struct rp_call **p = &c->rp->calls; *p; p = &(*p)->next)
        if (*p == k) {
            *p = k->next;
            break;
        }
    k->next = NULL;
    k->fail_status = SR_EPROTO;
    rp_on_call_failed(k);
    if (k->timer)
        event_free(k->timer);
    free(k);
}

/* Returns false if the connection must close. */
static bool on_frame(struct rp_conn *c, const struct sr_tch_frame *f)
{
    c->rp->stats.frames_in++;
    switch (f->type) {
    case SR_TCH_INIT_REQ:
    case SR_TCH_INIT_RES:
        on_init(c, f);
        return c->ready;
    case SR_TCH_CALL_REQ:
    case SR_TCH_CALL_RES:
    case SR_TCH_CALL_REQ_CONT:
    case SR_TCH_CALL_RES_CONT:
        on_call_frame(c, f);
        return true;
    case SR_TCH_PING_REQ: {
        struct sr_buf b;
        sr_buf_create(&b, 0);
        if (sr_tch_empty_encode(&b, SR_TCH_PING_RES, f->id) == 0)
            bufferevent_write(c->bev, b.data, b.len);
        sr_buf_destroy(&b);
        return true;
    }
    case SR_TCH_ERROR:
        on_error_frame(c, f);
        return f->id != SR_TCH_ID_PROTOCOL;
    default:
        return true; /* ping res, cancel, claim: nothing to do */
    }
}

static void on_read(struct bufferevent *bev, void *ud)
{
    struct rp_conn *c = ud;
    struct evbuffer *in = bufferevent_get_input(bev);
    for (int budget = 0; budget < 1024; budget++) {
        size_t avail = evbuffer_get_length(in);
        if (avail < 2)
            return;
        uint8_t hdr[2];
        evbuffer_copyout(in, hdr, 2);
        size_t size = (size_t)hdr[0] << 8 | hdr[1];
        if (size < SR_TCH_HEADER) {
            c->rp->stats.bad_frames++;
            conn_free(c);
            return;
        }
        if (avail < size)
            return;
        const uint8_t *p = evbuffer_pullup(in, (ssize_t)size);
        struct sr_tch_frame f;
        if (p == NULL || sr_tch_frame_split(p, size, &f) != (int)size) {
            conn_free(c);
            return;
        }
        bool keep = on_frame(c, &f);
        evbuffer_drain(in, size);
        if (!keep) {
            conn_free(c);
            return;
        }
    }
}

static void on_event(struct bufferevent *bev, short what, void *ud)
{
    struct rp_conn *c = ud;
    (void)bev;
    if (what & BEV_EVENT_CONNECTED) {
        struct sr_buf b;
        sr_buf_create(&b, 0);
        if (sr_tch_init_encode(&b, false, 0, c->rp->self, process_name(c->rp)) == 0)
            bufferevent_write(c->bev, b.data, b.len);
        sr_buf_destroy(&b);
        return;
    }
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT))
        conn_free(c);
}

static struct rp_conn *conn_new(struct sr_ringpop *rp, evutil_socket_t fd, bool outgoing)
{
    struct rp_conn *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    c->rp = rp;
    c->outgoing = outgoing;
    c->bev = bufferevent_socket_new(rp->base, fd, BEV_OPT_CLOSE_ON_FREE);
    if (c->bev == NULL) {
        free(c);
        return NULL;
    }
    sr_tch_asm_init(&c->as, RP_ARG_LIMIT);
    sr_buf_create(&c->outq, RP_ARG_LIMIT);
    bufferevent_setcb(c->bev, on_read, NULL, on_event, c);
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
    c->next = rp->conns;
    rp->conns = c;
    return c;
}

/* ---- one port for TChannel and the node's own RPC -------------------------
 * Both clients speak first. The first 5 bytes decide:
 *   TChannel init req: size:2, type 0x01, reserved 0x00, id:4 (ids are
 *                      small: the top byte is not 0x8X)
 *   our RPC frame:     length:4, then a msgpack fixmap (0x80..0x8f)
 *   TLS (our RPC):     0x16 0x03 ... (a handshake record)
 * so: TChannel iff b[2] == 0x01 && b[3] == 0 && (b[4] & 0xf0) != 0x80 and
 * not 0x16 0x03; anything else goes to the adopter. */
bool rp_sniff_is_tchannel(const uint8_t *b)
{
    if (b[0] == 0x16 && b[1] == 0x03)
        return false;
    return b[2] == SR_TCH_INIT_REQ && b[3] == 0 && (b[4] & 0xf0) != 0x80;
}

static void sniff_free(struct rp_sniff *s, bool close_fd)
{
    struct sr_ringpop *rp = s->rp;
    for (struct rp_sniff **p = &rp->sniffs; *p; p = &(*p)->next)
        if (*p == s) {
            *p = s->next;
            break;
        }
    if (s->ev)
        event_free(s->ev);
    if (close_fd)
        evutil_closesocket(s->fd);
    free(s);
}

static void sniff_wait(struct rp_sniff *s, uint32_t ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    event_add(s->ev, &tv);
}

static void on_sniff(evutil_socket_t fd, short what, void *ud)
{
    struct rp_sniff *s = ud;
    struct sr_ringpop *rp = s->rp;
    (void)what;
    uint8_t b[SNIFF_BYTES];
    ssize_t n = recv(fd, b, sizeof b, MSG_PEEK);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) ||
        sr_time_mono_us() >= s->deadline) {
        rp->stats.proxy.sniff_dropped++; /* closed, failed, or silent too long */
        sniff_free(s, true);
        return;
    }
    if (n < (ssize_t)sizeof b) {
        /* a partial header: poll again shortly (level-triggered EV_READ
         * would spin on bytes we leave unread) */
        event_del(s->ev);
        event_assign(s->ev, rp->base, fd, EV_TIMEOUT, on_sniff, s);
        sniff_wait(s, SNIFF_RETRY_MS);
        return;
    }
    if (rp_sniff_is_tchannel(b)) {
        rp->stats.proxy.sniffed_tchannel++;
        sniff_free(s, false);
        if (conn_new(rp, fd, false) == NULL)
            evutil_closesocket(fd);
        return;
    }
    rp->stats.proxy.sniffed_other++;
    struct sockaddr_storage sa = s->sa;
    int salen = s->salen;
    sniff_free(s, false);
    rp->cfg.adopt(rp->cfg.adopt_ud, fd, (struct sockaddr *)&sa, salen);
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int len,
                      void *ud)
{
    (void)l;
    struct sr_ringpop *rp = ud;
    if (rp->cfg.adopt == NULL) {
        if (conn_new(rp, fd, false) == NULL)
            evutil_closesocket(fd);
        return;
    }
    struct rp_sniff *s = calloc(1, sizeof(*s));
    if (s == NULL || len < 0 || (size_t)len > sizeof(s->sa)) {
        free(s);
        evutil_closesocket(fd);
        return;
    }
    s->rp = rp;
    s->fd = fd;
    memcpy(&s->sa, sa, (size_t)len);
    s->salen = len;
    s->deadline = sr_time_mono_us() + (sr_time_us)SNIFF_TIMEOUT_MS * 1000;
    s->ev = event_new(rp->base, fd, EV_READ, on_sniff, s);
    if (s->ev == NULL) {
        free(s);
        evutil_closesocket(fd);
        return;
    }
    s->next = rp->sniffs;
    rp->sniffs = s;
    sniff_wait(s, SNIFF_TIMEOUT_MS);
}

void rp_sniffs_close(struct sr_ringpop *rp)
{
    while (rp->sniffs)
        sniff_free(rp->sniffs, true);
}

int rp_listen(struct sr_ringpop *rp)
{
    struct sockaddr_in sa;
    if (parse_hostport(rp->self, &sa) != 0)
        return SR_EINVAL;
    rp->listener = evconnlistener_new_bind(rp->base, on_accept, rp,
                                           LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 64,
                                           (struct sockaddr *)&sa, sizeof(sa));
    return rp->listener ? 0 : SR_ESYS;
}

void rp_conns_close(struct sr_ringpop *rp)
{
    rp->closing = true;
    rp_sniffs_close(rp);
    while (rp->conns)
        conn_free(rp->conns);
    while (rp->calls)
        call_free(rp, rp->calls);
    if (rp->listener)
        evconnlistener_free(rp->listener);
    rp->listener = NULL;
}

static struct rp_conn *conn_to(struct sr_ringpop *rp, const char *peer)
{
    for (struct rp_conn *c = rp->conns; c; c = c->next)
        if (c->outgoing && strcmp(c->peer, peer) == 0)
            return c;
    struct sockaddr_in sa;
    if (parse_hostport(peer, &sa) != 0)
        return NULL;
    struct rp_conn *c = conn_new(rp, -1, true);
    if (c == NULL)
        return NULL;
    snprintf(c->peer, sizeof(c->peer), "%s", peer);
    if (bufferevent_socket_connect(c->bev, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        conn_free(c);
        return NULL;
    }
    return c;
}

static void on_call_timeout(evutil_socket_t fd, short what, void *ud)
{
    (void)fd, (void)what;
    struct rp_call *k = ud;
    struct sr_ringpop *rp = k->rp;
    for (struct rp_call **p = &rp->calls; *p; p = &(*p)->next)
        if (*p == k) {
            *p = k->next;
            break;
        }
    k->next = NULL;
    k->fail_status = SR_ETIMEDOUT;
    rp_on_call_failed(k);
    event_free(k->timer);
    free(k);
}

int rp_call_ex(struct sr_ringpop *rp, const char *peer, const struct rp_call_args *a,
               enum rp_kind kind, uint64_t seq, const char *target, struct rp_call **out)
{
    struct rp_conn *c = conn_to(rp, peer);
    if (c == NULL)
        return SR_EUNREACH;
    struct rp_call *k = calloc(1, sizeof(*k));
    if (k == NULL)
        return SR_ENOMEM;
    k->rp = rp;
    k->conn = c;
    k->id = ++rp->next_id;
    k->kind = kind;
    k->seq = seq;
    k->fail_status = SR_EUNREACH;
    snprintf(k->peer, sizeof(k->peer), "%s", peer);
    snprintf(k->target, sizeof(k->target), "%s", target ? target : "");
    uint32_t ms = a->timeout_ms ? a->timeout_ms : RP_CALL_TIMEOUT_MS;
    struct sr_tch_call_out o = {
        .id = k->id, .ttl_ms = ms, .service = "ringpop", .headers = call_headers,
        .nheaders = 2, .csum_type = SR_TCH_CSUM_CRC32C,
        .arg = {a->endpoint, a->arg2 ? a->arg2 : "", a->arg3 ? a->arg3 : ""},
        .arg_len = {strlen(a->endpoint), a->len2, a->len3},
    };
    struct sr_buf b;
    sr_buf_create(&b, 0);
    int rc = sr_tch_call_encode(&b, &o);
    if (rc == 0) {
        conn_write(c, &b);
        k->timer = evtimer_new(rp->base, on_call_timeout, k);
        struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
        if (k->timer)
            evtimer_add(k->timer, &tv);
        k->next = rp->calls;
        rp->calls = k;
        rp->stats.calls_out++;
        if (out)
            *out = k;
    } else {
        free(k);
    }
    sr_buf_destroy(&b);
    return rc;
}

int rp_call(struct sr_ringpop *rp, const char *peer, const char *endpoint, const char *body,
            enum rp_kind kind, uint64_t seq, const char *target)
{
    struct rp_call_args a = {endpoint, "", body, 0, body ? strlen(body) : 0, 0};
    return rp_call_ex(rp, peer, &a, kind, seq, target, NULL);
}

void rp_respond_raw(struct rp_conn *c, uint32_t id, uint8_t code, const void *arg2, size_t len2,
                    const void *arg3, size_t len3)
{
    static const struct sr_tch_kv res_headers[] = {{"as", "raw"}};
    struct sr_tch_call_out o = {
        .is_res = true, .id = id, .code = code, .headers = res_headers, .nheaders = 1,
        .csum_type = SR_TCH_CSUM_CRC32C, .arg = {"", arg2 ? arg2 : "", arg3 ? arg3 : ""},
        .arg_len = {0, len2, len3},
    };
    struct sr_buf b;
    sr_buf_create(&b, 0);
    if (sr_tch_call_encode(&b, &o) == 0)
        bufferevent_write(c->bev, b.data, b.len);
    sr_buf_destroy(&b);
}

void rp_respond(struct rp_conn *c, uint32_t id, uint8_t code, const char *body)
{
    rp_respond_raw(c, id, code, "", 0, body, body ? strlen(body) : 0);
}

void rp_respond_json(struct rp_conn *c, uint32_t id, json_t *body)
{
    char *s = body ? json_dumps(body, JSON_COMPACT) : NULL;
    rp_respond(c, id, s ? 0 : 1, s ? s : "{}");
    free(s);
    json_decref(body);
}
