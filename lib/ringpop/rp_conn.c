/* TChannel connections of the ringpop driver: a listener, one outgoing
 * connection per peer (init handshake, calls queued until init res),
 * frame splitting, call reassembly, timeouts. Bad frames close the
 * connection (TChannel has no resync point) and are counted. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <event2/buffer.h>
#include "ringpop/rp_impl.h"
#include "swimring/error.h"

static const struct sr_tch_kv call_headers[] = {{"as", "raw"}, {"cn", "ringpop"}};

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
    if (f->type == SR_TCH_INIT_REQ && !c->outgoing) {
        struct sr_buf b;
        sr_buf_create(&b, 0);
        if (sr_tch_init_encode(&b, true, f->id, c->rp->self, "swimring-testpop") == 0)
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
            if (call->code == 0)
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
        if (sr_tch_init_encode(&b, false, 0, c->rp->self, "swimring-testpop") == 0)
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

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int len,
                      void *ud)
{
    (void)l, (void)sa, (void)len;
    struct sr_ringpop *rp = ud;
    if (conn_new(rp, fd, false) == NULL)
        evutil_closesocket(fd);
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
    rp_on_call_failed(k);
    event_free(k->timer);
    free(k);
}

int rp_call(struct sr_ringpop *rp, const char *peer, const char *endpoint, const char *body,
            enum rp_kind kind, uint64_t seq, const char *target)
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
    snprintf(k->peer, sizeof(k->peer), "%s", peer);
    snprintf(k->target, sizeof(k->target), "%s", target ? target : "");
    struct sr_tch_call_out o = {
        .id = k->id, .ttl_ms = RP_CALL_TIMEOUT_MS, .service = "ringpop", .headers = call_headers,
        .nheaders = 2, .csum_type = SR_TCH_CSUM_CRC32C,
        .arg = {endpoint, "", body ? body : ""},
        .arg_len = {strlen(endpoint), 0, body ? strlen(body) : 0},
    };
    struct sr_buf b;
    sr_buf_create(&b, 0);
    int rc = sr_tch_call_encode(&b, &o);
    if (rc == 0) {
        conn_write(c, &b);
        k->timer = evtimer_new(rp->base, on_call_timeout, k);
        struct timeval tv = {RP_CALL_TIMEOUT_MS / 1000, (RP_CALL_TIMEOUT_MS % 1000) * 1000};
        if (k->timer)
            evtimer_add(k->timer, &tv);
        k->next = rp->calls;
        rp->calls = k;
        rp->stats.calls_out++;
    } else {
        free(k);
    }
    sr_buf_destroy(&b);
    return rc;
}

void rp_respond(struct rp_conn *c, uint32_t id, uint8_t code, const char *body)
{
    static const struct sr_tch_kv res_headers[] = {{"as", "raw"}};
    struct sr_tch_call_out o = {
        .is_res = true, .id = id, .code = code, .headers = res_headers, .nheaders = 1,
        .csum_type = SR_TCH_CSUM_CRC32C, .arg = {"", "", body ? body : ""},
        .arg_len = {0, 0, body ? strlen(body) : 0},
    };
    struct sr_buf b;
    sr_buf_create(&b, 0);
    if (sr_tch_call_encode(&b, &o) == 0)
        bufferevent_write(c->bev, b.data, b.len);
    sr_buf_destroy(&b);
}

void rp_respond_json(struct rp_conn *c, uint32_t id, json_t *body)
{
    char *s = body ? json_dumps(body, JSON_COMPACT) : NULL;
    rp_respond(c, id, s ? 0 : 1, s ? s : "{}");
    free(s);
    json_decref(body);
}
