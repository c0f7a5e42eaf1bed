/* Full state sync over TCP for the UDP driver: one length-prefixed frame
 * each way per connection (see swim_udp.h). Bufferevents keep the loop
 * unblocked; every exchange has a timeout and a size cap. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include "swimring/buf.h"
#include "swimring/error.h"
#include "udp_impl.h"

struct sr_swim_udp_sync {
    struct sr_swim_udp *u;
    struct bufferevent *bev;
    struct sr_swim_udp_sync *prev, *next;
    int outgoing;   /* we connected (and sent first) */
    int replied;    /* listener side: our answer is queued; close once flushed */
};

static void sync_free(struct sr_swim_udp_sync *c)
{
    struct sr_swim_udp *u = c->u;
    if (c->prev)
        c->prev->next = c->next;
    else
        u->syncs = c->next;
    if (c->next)
        c->next->prev = c->prev;
    bufferevent_free(c->bev);
    free(c);
}

static int sync_send_state(struct sr_swim_udp_sync *c)
{
    struct sr_buf b;
    int rc;
    sr_buf_create(&b, SR_SWIM_UDP_SYNC_MAX);
    rc = sr_swim_encode_state(c->u->swim, &b);
    if (rc == 0) {
        uint32_t be = htonl((uint32_t)b.len);
        if (bufferevent_write(c->bev, &be, 4) != 0 ||
            bufferevent_write(c->bev, b.data, b.len) != 0)
            rc = SR_ENOMEM;
    }
    sr_buf_destroy(&b);
    return rc;
}

/* 1 if a whole frame was consumed and merged, 0 if more bytes are needed,
 * negative on a bad frame. */
static int sync_take_frame(struct sr_swim_udp_sync *c)
{
    struct evbuffer *in = bufferevent_get_input(c->bev);
    uint32_t be;
    if (evbuffer_get_length(in) < 4)
        return 0;
    evbuffer_copyout(in, &be, 4);
    uint32_t len = ntohl(be);
    if (len > SR_SWIM_UDP_SYNC_MAX)
        return SR_ETOOBIG;
    if (evbuffer_get_length(in) < 4 + (size_t)len)
        return 0;
    evbuffer_drain(in, 4);
    const unsigned char *p = evbuffer_pullup(in, len);
    int rc = sr_swim_merge_state(c->u->swim, p, len);
    evbuffer_drain(in, len);
    return rc == 0 ? 1 : rc;
}

static void sync_fail(struct sr_swim_udp_sync *c, const char *why)
{
    c->u->stats.sync_failed++;
    SR_DEBUG(c->u->log, "full_sync_failed", "why=%s", why);
    sync_free(c);
}

static void sync_on_read(struct bufferevent *bev, void *arg)
{
    struct sr_swim_udp_sync *c = arg;
    (void)bev;
    if (c->replied)
        return;
    int rc = sync_take_frame(c);
    if (rc < 0) {
        sync_fail(c, sr_err_name(rc));
        return;
    }
    if (rc == 0)
        return;
    if (c->outgoing) { /* got the answer: done */
        sync_free(c);
        return;
    }
    if (sync_send_state(c) != 0) {
        sync_fail(c, "encode");
        return;
    }
    c->replied = 1;
}

static void sync_on_write(struct bufferevent *bev, void *arg)
{
    struct sr_swim_udp_sync *c = arg;
    /* The listener's answer is flushed to the kernel: the exchange is over. */
    if (c->replied && evbuffer_get_length(bufferevent_get_output(bev)) == 0)
        sync_free(c);
}

static void sync_on_event(struct bufferevent *bev, short what, void *arg)
{
    struct sr_swim_udp_sync *c = arg;
    (void)bev;
    if (what & BEV_EVENT_CONNECTED)
        return;
    sync_fail(c, (what & BEV_EVENT_TIMEOUT) ? "timeout" : "closed");
}

static struct sr_swim_udp_sync *sync_new(struct sr_swim_udp *u, evutil_socket_t fd, int outgoing)
{
    struct sr_swim_udp_sync *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->bev = bufferevent_socket_new(u->base, fd, BEV_OPT_CLOSE_ON_FREE);
    if (!c->bev) {
        free(c);
        return NULL;
    }
    c->u = u;
    c->outgoing = outgoing;
    c->next = u->syncs;
    if (u->syncs)
        u->syncs->prev = c;
    u->syncs = c;
    struct timeval tv = {SR_SWIM_UDP_SYNC_TIMEOUT_MS / 1000, (SR_SWIM_UDP_SYNC_TIMEOUT_MS % 1000) * 1000};
    bufferevent_set_timeouts(c->bev, &tv, &tv);
    bufferevent_setcb(c->bev, sync_on_read, sync_on_write, sync_on_event, c);
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
    return c;
}

void sr_swim_udp_sync_start(struct sr_swim_udp *u, const char *peer)
{
    const struct sr_swim_udp_addr *a = sr_swim_udp_resolve(u, peer);
    if (!a || !a->ok) {
        u->stats.resolve_failed++;
        return;
    }
    struct sr_swim_udp_sync *c = sync_new(u, -1, 1);
    if (!c) {
        u->stats.sync_failed++;
        return;
    }
    u->stats.syncs_out++;
    if (bufferevent_socket_connect(c->bev, (const struct sockaddr *)&a->ss, (int)a->len) != 0 ||
        sync_send_state(c) != 0)
        sync_fail(c, "connect");
}

static void sync_on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
                           int salen, void *arg)
{
    struct sr_swim_udp *u = arg;
    (void)l;
    (void)sa;
    (void)salen;
    u->stats.syncs_in++;
    if (!sync_new(u, fd, 0)) {
        evutil_closesocket(fd);
        u->stats.sync_failed++;
    }
}

int sr_swim_udp_sync_listen(struct sr_swim_udp *u, const struct sockaddr *sa, socklen_t len)
{
    u->listener = evconnlistener_new_bind(u->base, sync_on_accept, u,
                                          LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE |
                                              LEV_OPT_CLOSE_ON_EXEC,
                                          64, sa, (int)len);
    return u->listener ? 0 : SR_ESYS;
}

void sr_swim_udp_sync_close_all(struct sr_swim_udp *u)
{
    while (u->syncs)
        sync_free(u->syncs);
}
