/* Handle-or-forward inside the node.
 *
 * A request for key K (from HTTP, or sr_node_call) becomes a `struct
 * node_call`. Each try looks K up on this node's ring: if this node owns it
 * the endpoint's handler runs here; otherwise the request goes over RPC to
 * the owner with hops + 1. The receiver checks again with its own ring and,
 * when the rings disagree, forwards once more (up to forward.max_hops), then
 * answers SR_ENOTOWNER.
 *
 * Retries (the entry node only, up to forward.max_tries, never past the
 * deadline):
 *   SR_EUNREACH (surely not delivered)   wait for the ring to change, retry
 *   SR_ECONNLOST (maybe delivered)       short pause, idempotent endpoints only
 *   SR_ENOTOWNER, SR_EBUSY from a peer   short pause (or a ring change)
 *   SR_ETIMEDOUT                         none: the deadline has passed
 * A call's callback runs exactly once: with the handler's answer, a final
 * error, SR_ETIMEDOUT at the deadline, or SR_ECANCELED when the node goes.
 * An idempotent read may also be answered by a backup request to a replica
 * (node_backup.c) when the owner is slow. */
#include <stdlib.h>
#include <string.h>
#include <event2/event.h>
#include "swimring/error.h"
#include "node_fwd.h"
#include "node_ringpop.h"
#include "node_state.h"

#define PAUSE_MS 20u           /* first pause after busy / not-owner */

/* ---- the endpoint registry ------------------------------------------------ */

int node_fwd_add(struct sr_node *node, const struct sr_service_def *svc,
                 const struct sr_endpoint_def *ep)
{
    if (node->nep == NODE_ENDPOINTS_MAX)
        return SR_EFULL;
    struct node_ep *e = &node->ep[node->nep];
    e->svc = svc;
    e->def = ep;
    e->max_body = node->cfg.limits.max_body;
    e->rate_per_s = node->cfg.limits.rate_per_s;
    e->burst = node->cfg.limits.burst;
    e->max_inflight = node->cfg.limits.max_inflight;
    node->nep++;
    return 0;
}

const struct node_ep *node_fwd_find(const struct sr_node *node, const char *service, size_t slen,
                                    const char *endpoint, size_t elen)
{
    for (size_t i = 0; i < node->nep; i++) {
        const struct node_ep *e = &node->ep[i];
        if (strlen(e->svc->name) == slen && memcmp(e->svc->name, service, slen) == 0 &&
            strlen(e->def->name) == elen && memcmp(e->def->name, endpoint, elen) == 0)
            return e;
    }
    return NULL;
}

/* ---- calls ----------------------------------------------------------------- */

static void call_unlink(struct node_call *c)
{
    struct sr_node *node = c->node;
    if (c->prev)
        c->prev->next = c->next;
    else if (node->calls == c)
        node->calls = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->prev = c->next = NULL;
}

static void call_free(struct node_call *c)
{
    /* ev and ev_deadline live in c's own allocation (fwd_call_start) */
    event_del(c->ev);
    event_del(c->ev_deadline);
    if (c->ev_backup)
        event_free(c->ev_backup);
    free(c);
}

void node_call_release(struct node_call *c)
{
    if (c->completed && !c->rpc_pending && !c->bk_pending)
        call_free(c);
}

/* Complete a call: exactly once, then it is gone. */
void node_call_done(struct node_call *c, int status, const uint8_t *body, size_t len,
                    const char *served_by)
{
    struct sr_node *node = c->node;
    struct sr_node_result r = {status, body, len, served_by};
    call_unlink(c);
    c->completed = true;
    c->origin = NULL; /* the callback answers (and frees) it */
    evtimer_del(c->ev);
    evtimer_del(c->ev_deadline);
    if (c->local) { /* the handler's late answer is dropped */
        c->local->call = NULL;
        c->local = NULL;
    }
    node_backup_stop(c);
    node_ringpop_call_done(c);
    node_fwd_count(node, c, status);
    if (c->cb)
        c->cb(c->ud, &r);
    /* An RPC still out owns the memory until its callback runs (cancel
     * makes that soon). */
    if (c->rpc_pending)
        (void)sr_rpc_cancel(node->rpc, c->rpc_id);
    node_call_release(c);
}

uint32_t node_call_left_ms(const struct node_call *c)
{
    sr_time_us now = sr_time_mono_us();
    return now >= c->deadline ? 0 : (uint32_t)((c->deadline - now + 999) / 1000);
}

static void call_try(struct node_call *c);

static void call_on_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct node_call *c = arg;
    c->waiting_ring = false;
    call_try(c);
}

static void call_on_deadline(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    node_call_done(arg, SR_ETIMEDOUT, NULL, 0, NULL);
}

/* Wait before the next try: until the ring changes (ring = true) or a short
 * pause, never past the deadline. Gives up when out of tries or time. */
void node_call_retry(struct node_call *c, int why, bool ring)
{
    struct sr_node *node = c->node;
    uint32_t left = node_call_left_ms(c);
    if (c->tries >= c->max_tries || left == 0) {
        node_call_done(c, why, NULL, 0, NULL);
        return;
    }
    node->fst.retries++;
    uint32_t ms = ring ? left : PAUSE_MS << (c->tries - 1);
    ms = ms < left ? ms : left;
    c->waiting_ring = ring;
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    evtimer_add(c->ev, &tv);
}

static void call_rpc_done(void *ud, const struct sr_rpc_result *res)
{
    struct node_call *c = ud;
    c->rpc_pending = false;
    if (c->completed) { /* completed meanwhile (deadline, backup, node deleted) */
        node_call_release(c);
        return;
    }
    int st = res->status;
    if (res->remote && st != SR_ENOTOWNER && st != SR_EBUSY) {
        node_backup_sample(c->node, c->ep, sr_time_mono_us() - c->try_at);
        node_call_done(c, st, res->body, res->body_len, c->target);
        return;
    }
    bool idem = (c->ep->def->flags & SR_ENDPOINT_IDEMPOTENT) != 0;
    if (res->remote) /* not owner, or busy: the peer did not run it */
        node_call_retry(c, st, false);
    else if (st == SR_EUNREACH)
        node_call_retry(c, st, true);   /* the owner is gone: wait for the ring */
    else if (st == SR_ECONNLOST && idem)
        node_call_retry(c, st, false);  /* redial after a pause; a dead owner then says unreachable */
    else
        node_call_done(c, st, NULL, 0, NULL); /* timed out, or maybe ran and not idempotent */
}

static void call_forward(struct node_call *c, const char *owner)
{
    struct sr_node *node = c->node;
    struct sr_rpc_call_args a = {
        .service = c->ep->svc->name, .endpoint = c->ep->def->name, .key = c->key,
        .key_len = c->key_len, .body = c->body, .body_len = c->body_len,
        .timeout_ms = node_call_left_ms(c), .hops = c->hops + 1,
        .flags = (c->ep->def->flags & SR_ENDPOINT_IDEMPOTENT) ? SR_RPC_IDEMPOTENT : 0,
        .rid = c->rid_len ? c->rid : NULL, .rid_len = c->rid_len};
    if (node_ringpop_forward(c, owner))
        return; /* a ringpop member: /proxy/req */
    snprintf(c->target, sizeof(c->target), "%s", owner);
    c->forwarded = true;
    int rc = sr_rpc_call(node->rpc, owner, &a, call_rpc_done, c, &c->rpc_id);
    if (rc == 0) {
        c->rpc_pending = true;
        return;
    }
    if (rc == SR_EFULL) /* too much queued to that peer: shed */
        node_call_retry(c, SR_EBUSY, false);
    else
        node_call_done(c, rc, NULL, 0, NULL);
}

static void call_local(struct node_call *c)
{
    struct sr_node *node = c->node;
    struct sr_node_request q = {c->ep->svc->name, c->ep->def->name, c->key, c->key_len, c->body,
                                c->body_len, node_call_left_ms(c), c->hops > 0,
                                c->rid_len ? c->rid : NULL, c->rid_len};
    struct sr_node_reply *r = node_reply_new(node, c->ep, &q);
    if (!r) {
        node_call_done(c, SR_ENOMEM, NULL, 0, NULL);
        return;
    }
    r->call = c;
    c->local = r;
    node_serve(node, c->ep, r, &q);
}

static void call_try(struct node_call *c)
{
    struct sr_node *node = c->node;
    if (node_call_left_ms(c) == 0) {
        node_call_done(c, SR_ETIMEDOUT, NULL, 0, NULL);
        return;
    }
    if (c->origin && sr_rpc_reply_canceled(c->origin)) {
        /* The node that asked us gave up before we passed it on: nobody
         * would read the answer, so do not start the work. */
        node_call_done(c, SR_ECANCELED, NULL, 0, NULL);
        return;
    }
    c->tries++;
    const char *owner = sr_ring_lookup(node->ring, c->key, c->key_len);
    if (!owner)
        node_call_retry(c, SR_EUNREACH, true); /* an empty ring: wait for members */
    else if (strcmp(owner, node->self) == 0)
        call_local(c);
    else if (c->hops >= node->cfg.forward.max_hops)
        node_call_done(c, SR_ENOTOWNER, NULL, 0, NULL);
    else if (node_fault_drop(node, owner))
        node_call_retry(c, SR_EUNREACH, true); /* injected: as if unreachable */
    else if (!c->delayed && node_fault_delay_ms(node, owner)) {
        uint32_t ms = node_fault_delay_ms(node, owner); /* injected delay, then this try */
        c->delayed = true;
        c->tries--;
        c->try_at = sr_time_mono_us(); /* the delay stands for a slow link: it counts */
        node_backup_arm(c);
        struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
        evtimer_add(c->ev, &tv);
    } else {
        if (!c->delayed)
            c->try_at = sr_time_mono_us();
        c->delayed = false;
        node_backup_arm(c);
        call_forward(c, owner);
    }
}

/* Wake every call waiting for a ring change. */
void node_fwd_ring_changed(struct sr_node *node)
{
    for (struct node_call *c = node->calls; c; c = c->next)
        if (c->waiting_ring) {
            c->waiting_ring = false;
            event_active(c->ev, EV_TIMEOUT, 0);
        }
}

/* node_fwd_call, giving the call (NULL and *rc on error) to a caller that
 * sets more of it before its first try, which runs from the loop. */
static struct node_call *fwd_call_start(struct sr_node *node, const struct node_ep *ep,
                                        const void *key, size_t key_len, const void *body,
                                        size_t body_len, uint32_t timeout_ms, uint32_t hops,
                                        const void *rid, size_t rid_len, sr_node_done_f cb,
                                        void *ud, int *rc)
{
    if (!node->started || node->leaving) {
        *rc = SR_ECLOSED;
        return NULL;
    }
    *rc = rid_len > SR_RPC_RID_MAX ? SR_EINVAL : SR_ENOMEM;
    if (*rc == SR_EINVAL)
        return NULL;
    /* one allocation for the call, its two timers, key and body: a call per
     * request (two for a geo update), so fewer mallocs matter */
    size_t evsz = (event_get_struct_event_size() + 15) & ~(size_t)15;
    struct node_call *c = calloc(1, sizeof(*c) + 2 * evsz + key_len + body_len + 1);
    if (!c)
        return NULL;
    c->node = node;
    c->ep = ep;
    c->ev = (struct event *)(void *)(c + 1);
    c->ev_deadline = (struct event *)(void *)((char *)(c + 1) + evsz);
    c->key = (uint8_t *)(c + 1) + 2 * evsz;
    c->body = c->key + key_len;
    memcpy(c->key, key, key_len);
    if (body_len)
        memcpy(c->body, body, body_len);
    c->key_len = key_len;
    c->body_len = body_len;
    if ((c->rid_len = rid_len) != 0)
        memcpy(c->rid, rid, rid_len);
    c->hops = hops;
    c->max_tries = hops ? 1 : node->cfg.forward.max_tries; /* only the entry node retries */
    c->cb = cb;
    c->ud = ud;
    c->timeout_ms = timeout_ms ? timeout_ms : node->cfg.forward.timeout_ms;
    c->deadline = sr_time_mono_us() + (sr_time_us)c->timeout_ms * SR_US_PER_MS;
    if (evtimer_assign(c->ev, node->base, call_on_timer, c) < 0 ||
        evtimer_assign(c->ev_deadline, node->base, call_on_deadline, c) < 0) {
        free(c); /* nothing is armed yet */
        return NULL;
    }
    uint32_t ms = node_call_left_ms(c);
    struct timeval dl = {ms / 1000, (ms % 1000) * 1000};
    evtimer_add(c->ev_deadline, &dl);
    c->next = node->calls;
    if (c->next)
        c->next->prev = c;
    node->calls = c;
    event_active(c->ev, EV_TIMEOUT, 0); /* first try from the loop, never inside the call */
    *rc = 0;
    return c;
}

int node_fwd_call(struct sr_node *node, const struct node_ep *ep, const void *key, size_t key_len,
                  const void *body, size_t body_len, uint32_t timeout_ms, uint32_t hops,
                  const void *rid, size_t rid_len, sr_node_done_f cb, void *ud)
{
    int rc;
    fwd_call_start(node, ep, key, key_len, body, body_len, timeout_ms, hops, rid, rid_len, cb, ud,
                   &rc);
    return rc;
}

/* ---- answers -------------------------------------------------------------- */

struct sr_node_reply *node_reply_new(struct sr_node *node, const struct node_ep *ep,
                                     const struct sr_node_request *q)
{
    struct sr_node_reply *r = calloc(1, sizeof(*r) + q->key_len);
    if (!r)
        return NULL;
    r->node = node;
    r->ep = ep;
    r->deadline = sr_time_mono_us() + (sr_time_us)q->deadline_ms * SR_US_PER_MS;
    memcpy(r->key, q->key, r->key_len = q->key_len);
    if (q->rid_len && q->rid_len <= SR_RPC_RID_MAX)
        memcpy(r->rid, q->rid, r->rid_len = q->rid_len);
    sr_buf_create(&r->recs, 0);
    return r;
}

static bool is_write(const struct node_ep *ep)
{
    return (ep->def->flags & SR_ENDPOINT_WRITE) != 0 && ep->svc->state != NULL;
}

/* Run the handler, unless the request id says this write already ran. */
void node_serve(struct sr_node *node, const struct node_ep *ep, struct sr_node_reply *r,
                const struct sr_node_request *q)
{
    if (is_write(ep) && r->rid_len) {
        int status;
        const uint8_t *body;
        size_t len;
        switch (node_idem_check(node, r, &status, &body, &len)) {
        case IDEM_REPLAY:
            node_reply_finish(r, status, body, len);
            return;
        case IDEM_BUSY: /* the first copy is still running: the retry comes back */
            node_reply_finish(r, SR_EBUSY, NULL, 0);
            return;
        case IDEM_APPLIED: /* ran here, replication fell short: replicate again */
            r->applied = true;
            node_repl_start(r, NULL, 0);
            return;
        case IDEM_NEW:
            break;
        }
    }
    ep->def->handler(ep->svc->ud, r, q);
}

int sr_node_reply_record(struct sr_node_reply *r, const void *rec, size_t len)
{
    struct sr_mp_writer w;
    sr_mp_writer_init(&w, &r->recs);
    sr_mp_write_bin(&w, rec, len);
    r->has_recs = true;
    return sr_mp_writer_error(&w);
}

void sr_node_reply(struct sr_node_reply *r, int status, const void *body, size_t len)
{
    if (status == 0 && is_write(r->ep)) {
        r->applied = true;
        node_handoff_on_write(r->node, r->ep->svc, r->key, r->key_len);
        if (node_state_replicas(r->node, r->ep->svc) > 1) {
            node_repl_start(r, body, len);
            return;
        }
    }
    node_reply_finish(r, status, body, len);
}

void node_reply_finish(struct sr_node_reply *r, int status, const void *body, size_t len)
{
    if (r->tracked)
        node_idem_finish(r->node, r, status, body, len);
    if (r->rpc)
        (void)sr_rpc_respond(r->rpc, status, body, len);
    else if (r->call && r->backup) {
        node_backup_local_done(r->call, status, body, len);
    } else if (r->call) {
        r->call->local = NULL;
        node_call_done(r->call, status, body, len, r->node->self);
    }
    sr_buf_destroy(&r->recs);
    free(r);
}

/* ---- requests from peers --------------------------------------------------- */

struct relay {
    struct sr_rpc_reply *reply;
};

/* An intermediate hop's answer goes back to the node that asked us. */
static void relay_done(void *ud, const struct sr_node_result *res)
{
    struct relay *rl = ud;
    (void)sr_rpc_respond(rl->reply, res->status, res->body, res->body_len);
    free(rl);
}

bool node_serve_rpc(struct sr_node *node, const struct node_ep *ep, struct sr_rpc_reply *reply,
                    const struct sr_rpc_request *req)
{
    struct sr_node_request q = {ep->svc->name, ep->def->name, req->key, req->key_len, req->body,
                                req->body_len, req->deadline_ms, true,
                                req->rid_len ? req->rid : NULL, req->rid_len};
    struct sr_node_reply *r = node_reply_new(node, ep, &q);
    if (!r) {
        sr_rpc_respond(reply, SR_ENOMEM, NULL, 0);
        return false;
    }
    r->rpc = reply;
    node_serve(node, ep, r, &q);
    return true;
}

static void fwd_serve(void *ud, struct sr_rpc_reply *reply, const struct sr_rpc_request *req)
{
    struct sr_node *node = ud;
    const struct node_ep *ep =
        node_fwd_find(node, req->service, req->service_len, req->endpoint, req->endpoint_len);
    if (!ep) {
        sr_rpc_respond(reply, SR_ENOTFOUND, NULL, 0);
        return;
    }
    node->fst.received++;
    if (req->flags & SR_RPC_REPLICA_READ) { /* a backup read: our own copy answers */
        node_backup_serve(node, ep, reply, req);
        return;
    }
    const char *owner = sr_ring_lookup(node->ring, req->key, req->key_len);
    if (owner && strcmp(owner, node->self) != 0) {
        /* Our ring says someone else: forward once more, or give up. */
        struct relay *rl;
        if (req->hops >= node->cfg.forward.max_hops || !(rl = malloc(sizeof(*rl)))) {
            node->fst.not_owner++;
            sr_rpc_respond(reply, SR_ENOTOWNER, NULL, 0);
            return;
        }
        rl->reply = reply;
        node->fst.reforwarded++;
        int rc;
        struct node_call *c =
            fwd_call_start(node, ep, req->key, req->key_len, req->body, req->body_len,
                           req->deadline_ms, req->hops, req->rid, req->rid_len, relay_done, rl, &rc);
        if (!c) {
            free(rl);
            sr_rpc_respond(reply, SR_ENOTOWNER, NULL, 0);
            return;
        }
        c->origin = reply; /* valid until relay_done answers it */
        return;
    }
    node_serve_rpc(node, ep, reply, req);
}

int node_start_fwd(struct sr_node *node, char *msg, size_t msglen)
{
    (void)msg;
    (void)msglen;
    return sr_rpc_handle(node->rpc, NULL, NULL, fwd_serve, node);
}

void node_stop_fwd(struct sr_node *node)
{
    while (node->calls)
        node_call_done(node->calls, SR_ECANCELED, NULL, 0, NULL);
}

int sr_node_call(struct sr_node *node, const char *service, const char *endpoint, const void *key,
                 size_t key_len, const void *body, size_t body_len, uint32_t timeout_ms,
                 sr_node_done_f cb, void *ud)
{
    const struct node_ep *ep =
        node_fwd_find(node, service, strlen(service), endpoint, strlen(endpoint));
    if (!ep)
        return SR_ENOTFOUND;
    return node_fwd_call(node, ep, key, key_len, body, body_len, timeout_ms, 0, NULL, 0, cb, ud);
}
