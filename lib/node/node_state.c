/* Service state: lifecycle, the batch format, the merge handler that
 * replicas and new owners run, replica sets, and /admin/state. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <event2/event.h>
#include <jansson.h>
#include "swimring/error.h"
#include "node_fwd.h"
#include "node_state.h"

/* ---- per service ---------------------------------------------------------- */

bool node_state_stateful(const struct sr_node *node)
{
    for (size_t i = 0; i < node->nsvc; i++)
        if (node->svc[i]->state)
            return true;
    return false;
}

uint32_t node_state_replicas(const struct sr_node *node, const struct sr_service_def *svc)
{
    if (!svc->state)
        return 1;
    uint32_t n = svc->replicas ? svc->replicas : node->cfg.state.replicas;
    return n < 1 ? 1 : n > NODE_REPLICAS_MAX ? NODE_REPLICAS_MAX : n;
}

uint32_t node_state_acks(const struct sr_node *node, const struct sr_service_def *svc)
{
    uint32_t a = svc->ack_replicas ? svc->ack_replicas : node->cfg.state.ack_replicas;
    uint32_t r = node_state_replicas(node, svc);
    return a < 1 ? 1 : a > r ? r : a;
}

int node_state_svc_index(const struct sr_node *node, const struct sr_service_def *svc)
{
    for (size_t i = 0; i < node->nsvc; i++)
        if (node->svc[i] == svc)
            return (int)i;
    return -1;
}

static const struct sr_service_def *svc_by_name(const struct sr_node *node, const char *name,
                                                size_t len)
{
    for (size_t i = 0; i < node->nsvc; i++)
        if (strlen(node->svc[i]->name) == len && memcmp(node->svc[i]->name, name, len) == 0)
            return node->svc[i];
    return NULL;
}

size_t node_state_set(const struct sr_ring *ring, const void *key, size_t len, uint32_t n,
                      const char **out)
{
    return sr_ring_lookup_n(ring, key, len, out, n);
}

bool node_state_in(const char *const *set, size_t n, const char *addr)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(set[i], addr) == 0)
            return true;
    return false;
}

struct sr_ring *node_ring_copy(const struct sr_ring *ring, uint32_t points, const char *without)
{
    size_t n = sr_ring_member_count(ring);
    struct sr_ring_owner_stat *st = calloc(n ? n : 1, sizeof(*st));
    struct sr_ring_cfg cfg = {points};
    int err = 0;
    struct sr_ring *copy = st ? sr_ring_new(&cfg, &err) : NULL;
    if (copy) {
        n = sr_ring_stats(ring, st, n);
        for (size_t i = 0; i < n; i++)
            if ((!without || strcmp(st[i].address, without) != 0) &&
                sr_ring_add(copy, st[i].address, st[i].weight) < 0) {
                sr_ring_delete(copy);
                copy = NULL;
                break;
            }
    }
    free(st);
    return copy;
}

/* ---- batches ----------------------------------------------------------------- */

void node_batch_begin(struct sr_mp_writer *w, const char *svc, const void *rid, size_t rid_len,
                      const void *answer, size_t answer_len)
{
    sr_mp_write_cstr(w, svc);
    if (rid_len)
        sr_mp_write_bin(w, rid, rid_len);
    else
        sr_mp_write_nil(w);
    if (rid_len)
        sr_mp_write_bin(w, answer, answer_len);
    else
        sr_mp_write_nil(w);
}

struct emit_ctx {
    struct sr_mp_writer w;
    int records;
};

static int emit_rec(void *arg, const void *rec, size_t len)
{
    struct emit_ctx *e = arg;
    sr_mp_write_bin(&e->w, rec, len);
    e->records++;
    return sr_mp_writer_error(&e->w);
}

int node_batch_export(struct sr_buf *b, const struct sr_service_def *svc, const void *key,
                      size_t len)
{
    size_t start = b->len;
    struct emit_ctx e = {.records = 0};
    sr_mp_writer_init(&e.w, b);
    sr_mp_write_bin(&e.w, key, len);
    int rc = sr_mp_writer_error(&e.w);
    if (rc == 0)
        rc = svc->state->export_key(svc->ud, key, len, emit_rec, &e);
    sr_mp_write_nil(&e.w);
    if (rc == 0)
        rc = sr_mp_writer_error(&e.w);
    if (rc < 0) {
        b->len = start; /* too big, or the service failed it: leave the key out */
        return rc;
    }
    return e.records;
}

void node_batch_records(struct sr_mp_writer *w, const void *key, size_t len,
                        const struct sr_buf *recs)
{
    sr_mp_write_bin(w, key, len);
    if (recs->len && sr_buf_append(w->buf, recs->data, recs->len) < 0)
        w->err = SR_ENOMEM;
    sr_mp_write_nil(w);
}

/* Merge one key's records; false on a malformed batch. */
static bool merge_key(struct sr_node *node, const struct sr_service_def *svc,
                      struct sr_mp_reader *r, const uint8_t **key, uint32_t *klen)
{
    struct node_state *s = node->state;
    if (sr_mp_read_bin(r, key, klen) < 0)
        return false;
    for (;;) {
        if (sr_mp_peek(r) == SR_MP_NIL)
            return sr_mp_read_nil(r) == 0;
        const uint8_t *rec;
        uint32_t len;
        if (sr_mp_read_bin(r, &rec, &len) < 0)
            return false;
        s->st.records_in++;
        if (svc->state->merge(svc->ud, *key, *klen, rec, len) < 0)
            s->st.merge_errors++;
    }
}

static int read_opt_bin(struct sr_mp_reader *r, const uint8_t **p, uint32_t *len)
{
    *p = NULL;
    *len = 0;
    return sr_mp_peek(r) == SR_MP_NIL ? sr_mp_read_nil(r) : sr_mp_read_bin(r, p, len);
}

/* Apply a batch; SR_EPROTO (counted) when it is malformed — what came
 * before the fault is merged, which is safe: merges are idempotent. */
int node_state_apply(struct sr_node *node, const uint8_t *p, size_t len)
{
    struct node_state *s = node->state;
    struct sr_mp_reader r;
    sr_mp_reader_init(&r, p, len);
    const char *name;
    uint32_t nlen, rid_len, alen, klen = 0;
    const uint8_t *rid, *answer, *key = NULL;
    const struct sr_service_def *svc;
    if (sr_mp_read_str(&r, &name, &nlen) < 0 || read_opt_bin(&r, &rid, &rid_len) < 0 ||
        read_opt_bin(&r, &answer, &alen) < 0 || rid_len > SR_RPC_RID_MAX ||
        !(svc = svc_by_name(node, name, nlen)) || !svc->state) {
        s->st.bad_batches++;
        return SR_EPROTO;
    }
    s->st.batches_in++;
    while (sr_mp_left(&r) > 0)
        if (!merge_key(node, svc, &r, &key, &klen)) {
            s->st.bad_batches++;
            return SR_EPROTO;
        }
    if (rid_len && key)
        node_idem_learn(node, svc->name, key, klen, rid, rid_len, answer, alen);
    return 0;
}

static void on_merge(void *ud, struct sr_rpc_reply *reply, const struct sr_rpc_request *req)
{
    struct sr_node *node = ud;
    sr_rpc_respond(reply, node_state_apply(node, req->body, req->body_len), NULL, 0);
}

/* ---- lifecycle ---------------------------------------------------------------- */

static void on_pass_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    node_handoff_pass(arg);
}

static void arm_sync(struct sr_node *node)
{
    uint32_t ms = node->cfg.state.sync_interval_ms;
    if (!ms)
        return;
    ms = ms / 2 + (uint32_t)(rand() % (int)(ms / 2 + 1)); /* spread the nodes' rounds */
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    evtimer_add(node->state->ev_sync, &tv);
}

static void on_sync_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct sr_node *node = arg;
    node_handoff_pass(node);   /* stragglers: keys still held that are no longer ours */
    node_entropy_round(node);
    arm_sync(node);
}

int node_state_new(struct sr_node *node)
{
    struct node_state *s = calloc(1, sizeof(*s));
    if (!s)
        return SR_ENOMEM;
    node->state = s;
    node_kmap_init(&s->idem);
    node_kmap_init(&s->leaving);
    s->ev_pass = evtimer_new(node->base, on_pass_timer, node);
    s->ev_sync = evtimer_new(node->base, on_sync_timer, node);
    return s->ev_pass && s->ev_sync ? 0 : SR_ENOMEM;
}

int node_state_start(struct sr_node *node)
{
    int rc = sr_rpc_handle(node->rpc, NODE_STATE_SERVICE, "merge", on_merge, node);
    if (rc == 0)
        rc = node_entropy_register(node);
    if (rc == 0)
        arm_sync(node);
    return rc;
}

void node_state_delete(struct sr_node *node)
{
    struct node_state *s = node->state;
    if (!s)
        return;
    node_handoff_stop(node);
    node_repl_stop(node);
    if (s->ev_pass)
        event_free(s->ev_pass);
    if (s->ev_sync)
        event_free(s->ev_sync);
    node_idem_free(node);
    node_kmap_free(&s->leaving);
    free(s);
    node->state = NULL;
}

uint64_t sr_state_stamp(uint64_t prev)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    uint64_t now = (uint64_t)tv.tv_sec * 1000000u + (uint64_t)tv.tv_usec;
    return now > prev ? now : prev + 1;
}

/* ---- admin ------------------------------------------------------------------------ */

struct held {
    struct sr_node *node;
    uint32_t replicas;
    size_t owned, replica, stray;
};

static int count_key(void *arg, const void *key, size_t len)
{
    struct held *h = arg;
    const char *set[NODE_REPLICAS_MAX];
    size_t n = node_state_set(h->node->ring, key, len, h->replicas, set);
    if (n && strcmp(set[0], h->node->self) == 0)
        h->owned++;
    else if (node_state_in(set, n, h->node->self))
        h->replica++;
    else
        h->stray++;
    return 0;
}

/* Per endpoint that may be backed up: the current delay and the owner
 * answers it comes from ("service/endpoint": {...}). */
static json_t *backup_json(struct sr_node *node)
{
    json_t *o = json_object();
    char name[2 * 64 + 2];
    for (size_t i = 0; i < node->nep; i++) {
        const struct node_ep *e = &node->ep[i];
        if (!node_backup_ep_ok(node, e))
            continue;
        snprintf(name, sizeof name, "%s/%s", e->svc->name, e->def->name);
        json_object_set_new(o, name, json_pack("{s:I, s:I, s:I}", "delay_us",
                                               (json_int_t)node_backup_delay_us(node, e),
                                               "p95_us",
                                               (json_int_t)node_lat_quantile_us(&e->owner_lat, 950),
                                               "samples", (json_int_t)e->owner_lat.total));
    }
    return o;
}

json_t *node_state_json(struct sr_node *node)
{
    const struct node_state_stats *t = &node->state->st;
    json_t *svcs = json_object();
    for (size_t i = 0; i < node->nsvc; i++) {
        const struct sr_service_def *svc = node->svc[i];
        if (!svc->state)
            continue;
        struct held h = {node, node_state_replicas(node, svc), 0, 0, 0};
        svc->state->keys(svc->ud, count_key, &h);
        json_object_set_new(svcs, svc->name,
                            json_pack("{s:I, s:I, s:I, s:I, s:I}", "replicas",
                                      (json_int_t)h.replicas, "ack_replicas",
                                      (json_int_t)node_state_acks(node, svc), "owned",
                                      (json_int_t)h.owned, "replica", (json_int_t)h.replica,
                                      "stray", (json_int_t)h.stray));
    }
    json_t *c = json_object();
#define STAT(name) json_object_set_new(c, #name, json_integer((json_int_t)t->name))
    STAT(repl_writes); STAT(repl_acks); STAT(repl_failures); STAT(repl_short);
    STAT(batches_in); STAT(records_in); STAT(merge_errors); STAT(bad_batches);
    STAT(passes); STAT(keys_planned); STAT(batches_out); STAT(batches_failed);
    STAT(records_out); STAT(keys_dropped); STAT(idem_replayed); STAT(idem_busy);
    STAT(idem_evicted); STAT(leave_handoffs); STAT(leave_timeouts); STAT(sync_rounds);
    STAT(sync_keys_pushed); STAT(sync_keys_pulled); STAT(sync_errors); STAT(backup_sent);
    STAT(backup_won); STAT(backup_served); STAT(backup_refused); STAT(handoff_busy_us);
#undef STAT
    return json_pack("{s:o, s:o, s:I, s:b, s:I, s:o}", "services", svcs, "counters", c, "pending",
                     (json_int_t)node_handoff_pending(node), "pass_scheduled",
                     evtimer_pending(node->state->ev_pass, NULL) != 0, "request_ids",
                     (json_int_t)node->state->idem.count, "backup", backup_json(node));
}
