/* Backup requests for idempotent reads ("hedged requests").
 *
 * A read (SR_ENDPOINT_IDEMPOTENT, not SR_ENDPOINT_WRITE, not
 * SR_ENDPOINT_NO_BACKUP) of a service with replicas >= 2 that the entry
 * node forwards to the key's owner and that has no answer after the backup
 * delay is sent a second time, to one other member of lookup_n(key,
 * replicas), flagged SR_RPC_REPLICA_READ: that member answers from its own
 * copy instead of forwarding to the owner. If the entry node is itself in
 * the replica set, its own copy answers (no RPC). The first success wins;
 * the other request is cancelled (a late answer is dropped as late).
 *
 *   entry --forward--> owner  (slow)
 *     |   ... delay ...
 *     +--replica read--> replica (answers from its copy) --> the answer
 *
 * Only a success (status 0) from the replica wins: a replica that lacks the
 * key or fails cannot beat the owner, whose answer (or the deadline) then
 * completes the call. At most one backup per call, only at the entry node
 * (hops 0), never once the deadline has passed, none when
 * state.backup_reads is false.
 *
 * The delay is state.backup_after_ms, or when that is 0 the p95 of the
 * owner's recent answers for the endpoint (struct node_lat_est: buckets
 * 2^(1/3) apart, halved every NODE_LAT_WINDOW samples), kept within
 * [NODE_BACKUP_FLOOR_US, NODE_BACKUP_CEIL_US]; before
 * NODE_BACKUP_MIN_SAMPLES answers it is NODE_BACKUP_COLD_US. A read the
 * backup won adds no sample (the owner's time is unknown), so a stalled
 * owner does not drag the delay up to its stall. */
#include <stdio.h>
#include <string.h>
#include <event2/event.h>
#include "swimring/error.h"
#include "node_fwd.h"
#include "node_state.h"

/* ---- the latency estimate --------------------------------------------------- */

uint32_t node_lat_bound_us(unsigned bucket)
{
    static const uint32_t third[3] = {1000, 1260, 1587}; /* 2^(j/3), x 1000 */
    if (bucket >= NODE_LAT_BUCKETS)
        bucket = NODE_LAT_BUCKETS - 1;
    return (uint32_t)(((uint64_t)100 << (bucket / 3)) * third[bucket % 3] / 1000);
}

void node_lat_add(struct node_lat_est *e, uint32_t us)
{
    unsigned b = 0;
    while (b < NODE_LAT_BUCKETS - 1 && us > node_lat_bound_us(b))
        b++;
    e->count[b]++;
    if (++e->total < NODE_LAT_WINDOW)
        return;
    e->total = 0; /* fade: halve every bucket */
    for (unsigned i = 0; i < NODE_LAT_BUCKETS; i++)
        e->total += e->count[i] /= 2;
}

uint32_t node_lat_quantile_us(const struct node_lat_est *e, uint32_t permille)
{
    if (e->total == 0)
        return 0;
    uint64_t want = ((uint64_t)e->total * permille + 999) / 1000, seen = 0;
    for (unsigned b = 0; b < NODE_LAT_BUCKETS; b++)
        if ((seen += e->count[b]) >= want && seen > 0)
            return node_lat_bound_us(b);
    return node_lat_bound_us(NODE_LAT_BUCKETS - 1);
}

/* ---- policy ------------------------------------------------------------------ */

bool node_backup_ep_ok(const struct sr_node *node, const struct node_ep *ep)
{
    uint32_t f = ep->def->flags;
    return (f & SR_ENDPOINT_IDEMPOTENT) && !(f & (SR_ENDPOINT_WRITE | SR_ENDPOINT_NO_BACKUP)) &&
           ep->svc->state && node_state_replicas(node, ep->svc) >= 2;
}

sr_time_us node_backup_delay_us(const struct sr_node *node, const struct node_ep *ep)
{
    if (node->cfg.state.backup_after_ms)
        return (sr_time_us)node->cfg.state.backup_after_ms * SR_US_PER_MS;
    if (ep->owner_lat.total < NODE_BACKUP_MIN_SAMPLES)
        return NODE_BACKUP_COLD_US;
    uint32_t p95 = node_lat_quantile_us(&ep->owner_lat, 950);
    return p95 < NODE_BACKUP_FLOOR_US ? NODE_BACKUP_FLOOR_US
           : p95 > NODE_BACKUP_CEIL_US ? NODE_BACKUP_CEIL_US
                                       : p95;
}

void node_backup_sample(struct sr_node *node, const struct node_ep *ep, sr_time_us us)
{
    struct node_ep *e = &node->ep[ep - node->ep];
    if (node_backup_ep_ok(node, e))
        node_lat_add(&e->owner_lat, us > UINT32_MAX ? UINT32_MAX : (uint32_t)us);
}

/* ---- the entry node ---------------------------------------------------------------- */

static void backup_fire(evutil_socket_t fd, short what, void *arg);

static void timer_at(struct node_call *c, sr_time_us due)
{
    sr_time_us now = sr_time_mono_us(), us = due > now ? due - now : 0;
    struct timeval tv = {(time_t)(us / SR_US_PER_S), (suseconds_t)(us % SR_US_PER_S)};
    c->bk_due = due;
    evtimer_add(c->ev_backup, &tv);
}

void node_backup_arm(struct node_call *c)
{
    struct sr_node *node = c->node;
    if (c->bk_armed)
        return;
    c->bk_armed = true;
    if (!node->cfg.state.backup_reads || c->hops != 0 || !node_backup_ep_ok(node, c->ep))
        return;
    sr_time_us delay = node_backup_delay_us(node, c->ep), now = sr_time_mono_us();
    if (now + delay >= c->deadline)
        return; /* it would fire at or past the deadline */
    if (!(c->ev_backup = evtimer_new(node->base, backup_fire, c)))
        return; /* no memory for a timer: no backup, the owner still answers */
    timer_at(c, now + delay);
}

/* Where the backup goes: this node if it holds a copy, else the first
 * replica that is neither the owner nor where the call went, nor cut off by
 * an injected fault. NULL: nowhere. */
static const char *backup_target(const struct node_call *c)
{
    struct sr_node *node = c->node;
    const char *set[NODE_REPLICAS_MAX];
    size_t n = node_state_set(node->ring, c->key, c->key_len,
                              node_state_replicas(node, c->ep->svc), set);
    if (node_state_in(set, n, node->self))
        return node->self;
    for (size_t i = 1; i < n; i++)
        if (strcmp(set[i], c->target) != 0 && !node_fault_drop(node, set[i]))
            return set[i];
    return NULL;
}

static void backup_rpc_done(void *ud, const struct sr_rpc_result *res)
{
    struct node_call *c = ud;
    c->bk_pending = false;
    if (c->completed) { /* the owner answered first, or the deadline passed */
        node_call_release(c);
        return;
    }
    if (res->remote && res->status == 0) {
        c->node->state->st.backup_won++;
        node_call_done(c, 0, res->body, res->body_len, c->bk_target);
    }
    /* Anything else: the owner's answer (or the deadline) completes it. */
}

static void backup_remote(struct node_call *c, const char *to)
{
    struct sr_node *node = c->node;
    struct sr_rpc_call_args a = {
        .service = c->ep->svc->name, .endpoint = c->ep->def->name, .key = c->key,
        .key_len = c->key_len, .body = c->body, .body_len = c->body_len,
        .timeout_ms = node_call_left_ms(c), .hops = c->hops + 1,
        .flags = SR_RPC_IDEMPOTENT | SR_RPC_REPLICA_READ, .rid = c->rid_len ? c->rid : NULL,
        .rid_len = c->rid_len};
    snprintf(c->bk_target, sizeof(c->bk_target), "%s", to);
    if (sr_rpc_call(node->rpc, to, &a, backup_rpc_done, c, &c->bk_id) == 0) {
        c->bk_pending = true;
        node->state->st.backup_sent++;
    }
}

static void backup_local(struct node_call *c)
{
    struct sr_node *node = c->node;
    struct sr_node_request q = {c->ep->svc->name, c->ep->def->name, c->key, c->key_len, c->body,
                                c->body_len, node_call_left_ms(c), false,
                                c->rid_len ? c->rid : NULL, c->rid_len};
    struct sr_node_reply *r = node_reply_new(node, c->ep, &q);
    if (!r)
        return;
    r->call = c;
    r->backup = true;
    c->bk_local = r;
    snprintf(c->bk_target, sizeof(c->bk_target), "%s", node->self);
    node->state->st.backup_sent++;
    node_serve(node, c->ep, r, &q); /* may answer, and complete c, before it returns */
}

static void backup_fire(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct node_call *c = arg;
    struct sr_node *node = c->node;
    if (c->completed || c->local || node_call_left_ms(c) == 0)
        return; /* answered, served here after a ring change, or out of time */
    if (sr_time_mono_us() < c->bk_due) { /* a coarse-clock loop wakes a few ms early */
        timer_at(c, c->bk_due);
        return;
    }
    const char *to = backup_target(c);
    if (!to)
        return;
    if (strcmp(to, node->self) == 0) {
        backup_local(c);
        return;
    }
    uint32_t ms = node_fault_delay_ms(node, to);
    if (ms && !c->bk_delayed) { /* injected: the link to that replica is slow too */
        c->bk_delayed = true;
        timer_at(c, sr_time_mono_us() + (sr_time_us)ms * SR_US_PER_MS);
        return;
    }
    backup_remote(c, to);
}

void node_backup_stop(struct node_call *c)
{
    if (c->ev_backup)
        evtimer_del(c->ev_backup);
    if (c->bk_pending)
        (void)sr_rpc_cancel(c->node->rpc, c->bk_id);
    if (c->bk_local) { /* its late answer is dropped */
        c->bk_local->call = NULL;
        c->bk_local = NULL;
    }
}

void node_backup_local_done(struct node_call *c, int status, const uint8_t *body, size_t len)
{
    c->bk_local = NULL;
    if (status != 0)
        return; /* our copy could not answer: the owner will */
    c->node->state->st.backup_won++;
    node_call_done(c, 0, body, len, c->node->self);
}

/* ---- the replica ---------------------------------------------------------------------- */

void node_backup_serve(struct sr_node *node, const struct node_ep *ep, struct sr_rpc_reply *reply,
                       const struct sr_rpc_request *req)
{
    struct node_state_stats *st = &node->state->st;
    if (!node_backup_ep_ok(node, ep)) { /* never a write, never outside the owner */
        st->backup_refused++;
        sr_rpc_respond(reply, SR_EINVAL, NULL, 0);
        return;
    }
    const char *set[NODE_REPLICAS_MAX];
    size_t n = node_state_set(node->ring, req->key, req->key_len,
                              node_state_replicas(node, ep->svc), set);
    if (!node_state_in(set, n, node->self)) { /* our ring says we hold no copy */
        st->backup_refused++;
        sr_rpc_respond(reply, SR_ENOTOWNER, NULL, 0);
        return;
    }
    if (node_serve_rpc(node, ep, reply, req))
        st->backup_served++;
}
