/* Handoff: state follows the ring.
 *
 * After a ring change (and a quiet state.rebalance_delay_ms, so a burst of
 * changes gives one pass) every node walks the keys it holds and compares
 * each key's replica set on the ring it planned against last time (O) with
 * the ring now (N):
 *   - we are in N: push the key to the members of N that were not in O
 *     (newcomers: a joined node, or the next one after a death);
 *   - we are not in N: push it to the newcomers of N (to all of N if we
 *     were not in O either: a stray copy), and drop our copy once every
 *     push was acknowledged and the ring still agrees.
 * Pushes go per (service, peer) queue in batches of state.batch_bytes, at
 * most state.batch_window in flight per peer (backpressure); a failed
 * batch is retried with backoff while the peer is on the ring, else the
 * next pass plans again. The periodic anti-entropy timer also runs a pass,
 * which catches copies left behind by failures.
 *
 * A graceful leave hands everything to the ring without us before the
 * node says goodbye: every key to its whole new replica set, and a key
 * written meanwhile again, until the queues are empty or
 * state.leave_timeout_ms passes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/event.h>
#include "swimring/error.h"
#include "node_state.h"

#define HO_TIMEOUT_MS 10000u
#define HO_MAX_FAILURES 8u
#define HO_RETRY_MS 100u
#define HO_KEY_MAX 4096u        /* longer keys are not tracked for dropping */

struct ho_key {
    struct ho_key *next;
    bool drop;                  /* drop our copy once every push is acked */
    size_t len;
    uint8_t key[];
};

struct node_ho_queue {
    struct node_ho_queue *next;
    struct sr_node *node;
    const struct sr_service_def *svc;
    uint8_t si;
    char peer[SR_SWIM_ADDR_MAX];
    struct ho_key *head, *tail;
    size_t n;
    uint32_t inflight, failures;
    struct event *ev_retry;
};

struct ho_batch {
    struct node_ho_queue *q;
    struct ho_key *keys;        /* what it carried, in order */
};

static void pump(struct node_ho_queue *q);
static void leave_check(struct sr_node *node);

/* ---- queues ---------------------------------------------------------------- */

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    pump(arg);
}

static struct node_ho_queue *queue_get(struct sr_node *node, const struct sr_service_def *svc,
                                       const char *peer)
{
    struct node_state *s = node->state;
    for (struct node_ho_queue *q = s->queues; q; q = q->next)
        if (q->svc == svc && strcmp(q->peer, peer) == 0)
            return q;
    struct node_ho_queue *q = calloc(1, sizeof(*q));
    if (!q || !(q->ev_retry = evtimer_new(node->base, on_retry, q))) {
        free(q);
        return NULL;
    }
    q->node = node;
    q->svc = svc;
    q->si = (uint8_t)node_state_svc_index(node, svc);
    snprintf(q->peer, sizeof(q->peer), "%s", peer);
    q->next = s->queues;
    s->queues = q;
    return q;
}

static void push_tail(struct node_ho_queue *q, struct ho_key *k)
{
    k->next = NULL;
    if (q->tail)
        q->tail->next = k;
    else
        q->head = k;
    q->tail = k;
    q->n++;
}

static struct ho_key *pop_head(struct node_ho_queue *q)
{
    struct ho_key *k = q->head;
    if (k && !(q->head = k->next))
        q->tail = NULL;
    q->n -= k != NULL;
    return k;
}

/* Put a failed batch's keys back in front, in their order. */
static void push_front(struct node_ho_queue *q, struct ho_key *list)
{
    struct ho_key *last = list;
    size_t n = 0;
    for (struct ho_key *k = list; k; k = k->next, n++)
        last = k;
    if (!list)
        return;
    last->next = q->head;
    if (!q->head)
        q->tail = last;
    q->head = list;
    q->n += n;
}

static int enqueue(struct sr_node *node, const struct sr_service_def *svc, const char *peer,
                   const void *key, size_t len, bool drop)
{
    struct node_ho_queue *q = queue_get(node, svc, peer);
    struct ho_key *k = q ? malloc(sizeof(*k) + len) : NULL;
    if (!k)
        return SR_ENOMEM;
    k->drop = drop;
    memcpy(k->key, key, k->len = len);
    if (!node->state->busy_since)
        node->state->busy_since = sr_time_mono_us();
    push_tail(q, k);
    node->state->st.keys_planned++;
    return 0;
}

/* ---- the drop bookkeeping ----------------------------------------------- */

static size_t leave_key(uint8_t *out, uint8_t si, const void *key, size_t len)
{
    out[0] = si;
    memcpy(out + 1, key, len);
    return len + 1;
}

/* One push of a dropping key finished (ok or not). */
static void drop_settle(struct sr_node *node, const struct sr_service_def *svc, uint8_t si,
                        const struct ho_key *k, bool ok)
{
    struct node_state *s = node->state;
    uint8_t lk[HO_KEY_MAX + 1];
    if (k->len > HO_KEY_MAX)
        return;
    struct node_kent *e = node_kmap_get(&s->leaving, lk, leave_key(lk, si, k->key, k->len));
    if (!e)
        return;
    if (ok && --e->val > 0)
        return;
    node_kmap_del(&s->leaving, e);
    if (!ok || s->leave_phase)
        return; /* the next pass plans it again */
    const char *set[NODE_REPLICAS_MAX];
    size_t n = node_state_set(node->ring, k->key, k->len, node_state_replicas(node, svc), set);
    if (n > 0 && !node_state_in(set, n, node->self)) { /* still not ours: let it go */
        svc->state->drop(svc->ud, k->key, k->len);
        s->st.keys_dropped++;
    }
}

/* ---- batches --------------------------------------------------------------- */

static void free_keys(struct ho_key *k)
{
    while (k) {
        struct ho_key *n = k->next;
        free(k);
        k = n;
    }
}

/* Account for a finished batch: drops, retries, or giving up. */
static void batch_settle(struct ho_batch *b, const struct sr_rpc_result *res)
{
    struct node_ho_queue *q = b->q;
    struct sr_node *node = q->node;
    struct node_state *s = node->state;
    bool ok = res->remote && res->status == 0;
    q->inflight--;
    s->inflight_batches--;
    if (ok) {
        q->failures = 0;
        for (struct ho_key *k = b->keys; k; k = k->next)
            if (k->drop)
                drop_settle(node, q->svc, q->si, k, true);
        free_keys(b->keys);
    } else if (res->status != SR_ECANCELED && sr_ring_has(node->ring, q->peer) &&
               q->failures < HO_MAX_FAILURES) {
        s->st.batches_failed++;
        push_front(q, b->keys); /* same peer, after a pause */
        uint32_t ms = HO_RETRY_MS << q->failures++;
        struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
        evtimer_add(q->ev_retry, &tv);
    } else {
        s->st.batches_failed += res->status != SR_ECANCELED;
        SR_WARN(node->log, "handoff.gave_up", "peer=%s service=%s status=%s", q->peer,
                q->svc->name, sr_err_name(res->status));
        for (struct ho_key *k = b->keys; k; k = k->next)
            if (k->drop)
                drop_settle(node, q->svc, q->si, k, false);
        free_keys(b->keys);
        q->failures = 0;
    }
    free(b);
}

/* Handoff throughput = records_out / handoff_busy_us. */
static void busy_check(struct sr_node *node)
{
    struct node_state *s = node->state;
    if (s->busy_since && node_handoff_pending(node) == 0) {
        s->st.handoff_busy_us += sr_time_mono_us() - s->busy_since;
        s->busy_since = 0;
    }
}

static void batch_done(void *ud, const struct sr_rpc_result *res)
{
    struct ho_batch *b = ud;
    struct node_ho_queue *q = b->q;
    batch_settle(b, res);
    busy_check(q->node);
    if (res->status != SR_ECANCELED) {
        pump(q);
        leave_check(q->node);
    }
}

/* Fill one batch from the queue head; the keys it took go to *taken. */
static int batch_fill(struct node_ho_queue *q, struct sr_buf *buf, struct ho_key **taken,
                      uint64_t *records)
{
    struct sr_node *node = q->node;
    struct sr_mp_writer w;
    sr_mp_writer_init(&w, buf);
    node_batch_begin(&w, q->svc->name, NULL, 0, NULL, 0);
    struct ho_key **tail = taken;
    *taken = NULL;
    while (q->head && buf->len < node->cfg.state.batch_bytes) {
        struct ho_key *k = pop_head(q);
        int rc = node_batch_export(buf, q->svc, k->key, k->len);
        if (rc == SR_ETOOBIG && *taken) { /* full: this key starts the next batch */
            k->next = NULL;
            push_front(q, k);
            break;
        }
        if (rc < 0) { /* cannot be sent at all: say so and move on */
            SR_WARN(node->log, "handoff.key_skipped", "service=%s peer=%s error=%s",
                    q->svc->name, q->peer, sr_err_name(rc));
            if (k->drop)
                drop_settle(node, q->svc, q->si, k, false);
            free(k);
            continue;
        }
        *records += (uint64_t)rc;
        k->next = NULL;
        *tail = k;
        tail = &k->next;
    }
    return *taken ? 0 : SR_ENOTFOUND;
}

static void pump(struct node_ho_queue *q)
{
    struct sr_node *node = q->node;
    struct node_state *s = node->state;
    if (evtimer_pending(q->ev_retry, NULL) || !node->rpc)
        return;
    while (q->head && q->inflight < node->cfg.state.batch_window &&
           !evtimer_pending(q->ev_retry, NULL)) {
        struct sr_buf buf;
        sr_buf_create(&buf, node->cfg.forward.max_frame - 1024);
        struct ho_batch *b = calloc(1, sizeof(*b));
        uint64_t records = 0;
        if (!b || batch_fill(q, &buf, &b->keys, &records) < 0) {
            free(b);
            sr_buf_destroy(&buf);
            continue; /* every key in reach was skipped; loop re-checks head */
        }
        b->q = q;
        struct sr_rpc_call_args a = {.service = NODE_STATE_SERVICE, .endpoint = "merge",
                                     .body = buf.data, .body_len = buf.len,
                                     .timeout_ms = HO_TIMEOUT_MS};
        int rc = node_fault_drop(node, q->peer) ? SR_EUNREACH
                                                : sr_rpc_call(node->rpc, q->peer, &a, batch_done,
                                                              b, NULL);
        sr_buf_destroy(&buf);
        q->inflight++;
        s->inflight_batches++;
        if (rc < 0) { /* not sent: a failure, settled here (no recursion) */
            struct sr_rpc_result res = {.status = rc};
            batch_settle(b, &res);
            continue;
        }
        s->st.batches_out++;
        s->st.records_out += records;
    }
}

static void pump_all(struct sr_node *node)
{
    for (struct node_ho_queue *q = node->state->queues; q; q = q->next)
        pump(q);
    busy_check(node);
}

size_t node_handoff_pending(const struct sr_node *node)
{
    size_t n = 0;
    for (struct node_ho_queue *q = node->state->queues; q; q = q->next)
        n += q->n + q->inflight;
    return n;
}

/* ---- passes ------------------------------------------------------------------- */

struct plan {
    struct sr_node *node;
    const struct sr_service_def *svc;
    uint8_t si;
    uint32_t replicas;
    const struct sr_ring *old;  /* NULL: no plan yet */
};

static void plan_leaving(struct plan *p, const void *key, size_t len, const char **set, size_t n,
                         const char **old, size_t on)
{
    struct sr_node *node = p->node;
    struct node_state *s = node->state;
    uint8_t lk[HO_KEY_MAX + 1];
    if (len > HO_KEY_MAX || n == 0)
        return;
    bool created;
    struct node_kent *e = node_kmap_put(&s->leaving, lk, leave_key(lk, p->si, key, len), &created);
    if (!e || !created)
        return; /* out of memory, or already on its way */
    bool stray = !p->old || !node_state_in(old, on, node->self);
    for (size_t i = 0; i < n; i++)
        if (stray || !node_state_in(old, on, set[i]))
            e->val += enqueue(node, p->svc, set[i], key, len, true) == 0;
    if (e->val == 0) /* nobody new: give it to the whole set */
        for (size_t i = 0; i < n; i++)
            e->val += enqueue(node, p->svc, set[i], key, len, true) == 0;
    if (e->val == 0)
        node_kmap_del(&s->leaving, e);
}

static int plan_key(void *arg, const void *key, size_t len)
{
    struct plan *p = arg;
    struct sr_node *node = p->node;
    const char *set[NODE_REPLICAS_MAX], *old[NODE_REPLICAS_MAX];
    size_t n = node_state_set(node->ring, key, len, p->replicas, set);
    size_t on = p->old ? node_state_set(p->old, key, len, p->replicas, old) : 0;
    if (!node_state_in(set, n, node->self)) {
        plan_leaving(p, key, len, set, n, old, on);
        return 0;
    }
    if (!p->old)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (strcmp(set[i], node->self) != 0 && !node_state_in(old, on, set[i]))
            (void)enqueue(node, p->svc, set[i], key, len, false);
    return 0;
}

void node_handoff_pass(struct sr_node *node)
{
    struct node_state *s = node->state;
    if (s->leave_phase || !node->started || sr_ring_member_count(node->ring) == 0)
        return;
    /* Without a stateful service there is nothing to plan, and the ring
     * snapshot (a second ring, ~200 KiB at 100 members) would be waste. */
    if (!node_state_stateful(node))
        return;
    s->st.passes++;
    size_t before = s->st.keys_planned;
    for (size_t i = 0; i < node->nsvc; i++) {
        const struct sr_service_def *svc = node->svc[i];
        if (!svc->state)
            continue;
        struct plan p = {node, svc, (uint8_t)i, node_state_replicas(node, svc), s->snap};
        svc->state->keys(svc->ud, plan_key, &p);
    }
    struct sr_ring *snap = node_ring_copy(node->ring, node->cfg.ring.points_per_member, NULL);
    if (snap) { /* without a copy the next pass plans against the older one */
        sr_ring_delete(s->snap);
        s->snap = snap;
    }
    if (s->st.keys_planned > before)
        SR_INFO(node->log, "handoff.pass", "planned=%llu members=%zu",
                (unsigned long long)(s->st.keys_planned - before), sr_ring_member_count(node->ring));
    pump_all(node);
}

void node_handoff_ring_changed(struct sr_node *node)
{
    struct node_state *s = node->state;
    if (!node_state_stateful(node))
        return;
    if (s->leave_phase == 1) {
        (void)node_handoff_leave(node); /* plan the leave again on the new ring */
        return;
    }
    uint32_t ms = node->cfg.state.rebalance_delay_ms;
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    evtimer_add(s->ev_pass, &tv); /* re-armed by every change: one pass per burst */
}

/* ---- graceful leave ------------------------------------------------------------ */

struct leave_plan {
    struct sr_node *node;
    const struct sr_service_def *svc;
    uint32_t replicas;
};

static int leave_key_plan(void *arg, const void *key, size_t len)
{
    struct leave_plan *p = arg;
    const char *set[NODE_REPLICAS_MAX];
    size_t n = node_state_set(p->node->state->leave_ring, key, len, p->replicas, set);
    for (size_t i = 0; i < n; i++)
        (void)enqueue(p->node, p->svc, set[i], key, len, false);
    return 0;
}

static void on_leave_timeout(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct sr_node *node = arg;
    node->state->st.leave_timeouts++;
    SR_WARN(node->log, "handoff.leave_timeout", "pending=%zu", node_handoff_pending(node));
    node->state->leave_phase = 2;
    node_leave_now(node);
}

static void leave_check(struct sr_node *node)
{
    struct node_state *s = node->state;
    if (s->leave_phase != 1 || node_handoff_pending(node) > 0)
        return;
    s->leave_phase = 2;
    evtimer_del(s->ev_leave);
    SR_INFO(node->log, "handoff.leave_done", "records=%llu",
            (unsigned long long)s->st.records_out);
    node_leave_now(node);
}

bool node_handoff_leave(struct sr_node *node)
{
    struct node_state *s = node->state;
    if (!node_state_stateful(node) || !node->started || s->leave_phase == 2)
        return false;
    struct sr_ring *ring = node_ring_copy(node->ring, node->cfg.ring.points_per_member, node->self);
    if (!ring || sr_ring_member_count(ring) == 0) { /* the last one: nobody to hand to */
        sr_ring_delete(ring);
        return false;
    }
    sr_ring_delete(s->leave_ring);
    s->leave_ring = ring;
    if (s->leave_phase == 0) {
        s->leave_phase = 1;
        s->st.leave_handoffs++;
        uint32_t ms = node->cfg.state.leave_timeout_ms;
        struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
        if (!s->ev_leave)
            s->ev_leave = evtimer_new(node->base, on_leave_timeout, node);
        if (s->ev_leave)
            evtimer_add(s->ev_leave, &tv);
    }
    evtimer_del(s->ev_pass);
    for (size_t i = 0; i < node->nsvc; i++)
        if (node->svc[i]->state) {
            struct leave_plan p = {node, node->svc[i], node_state_replicas(node, node->svc[i])};
            node->svc[i]->state->keys(node->svc[i]->ud, leave_key_plan, &p);
        }
    SR_INFO(node->log, "handoff.leaving", "keys=%zu members=%zu", node_handoff_pending(node),
            sr_ring_member_count(ring));
    pump_all(node);
    leave_check(node);
    return true;
}

void node_handoff_on_write(struct sr_node *node, const struct sr_service_def *svc,
                           const void *key, size_t len)
{
    struct node_state *s = node->state;
    if (s->leave_phase != 1 || !s->leave_ring)
        return; /* only while leaving: a key written after its push goes again */
    struct leave_plan p = {node, svc, node_state_replicas(node, svc)};
    (void)leave_key_plan(&p, key, len);
    pump_all(node);
}

void node_handoff_stop(struct sr_node *node)
{
    struct node_state *s = node->state;
    while (s->queues) {
        struct node_ho_queue *q = s->queues;
        s->queues = q->next;
        free_keys(q->head);
        event_free(q->ev_retry);
        free(q);
    }
    if (s->ev_leave)
        event_free(s->ev_leave);
    s->ev_leave = NULL;
    sr_ring_delete(s->snap);
    sr_ring_delete(s->leave_ring);
    s->snap = s->leave_ring = NULL;
}

int node_handoff_push(struct sr_node *node, const struct sr_service_def *svc, const char *peer,
                      const void *key, size_t len)
{
    return enqueue(node, svc, peer, key, len, false);
}

void node_handoff_pump_peer(struct sr_node *node, const struct sr_service_def *svc,
                            const char *peer)
{
    struct node_ho_queue *q = queue_get(node, svc, peer);
    if (q)
        pump(q);
}
