/* Write replication: after the owner's handler applied a write, its
 * records go to the other members of lookup_n(key, replicas); the client's
 * answer waits for ack_replicas copies (the owner's counts as one).
 *
 * A replica that fails (unreachable, lost, timed out) is retried after a
 * short pause against the ring as it is then: when a member died the ring
 * changes and names the next one. Past the request's deadline with too few
 * copies the client gets SR_ETIMEDOUT; the write is applied on the owner
 * and remembered as such under its request id, so a retry with the same id
 * replicates again instead of running twice. After the answer the other
 * replicas still get their copy until that deadline (anti-entropy repairs
 * what is still missing after it). */
#include <stdlib.h>
#include <string.h>
#include <event2/event.h>
#include "swimring/error.h"
#include "node_state.h"

#define REPL_PAUSE_MS 20u
#define REPL_MIN_TIMEOUT_MS 1000u

struct repl_op;

struct repl_target {
    struct repl_op *op;
    char addr[SR_SWIM_ADDR_MAX];
    bool inflight, acked;
};

struct repl_op {
    struct sr_node *node;
    struct sr_node_reply *r;   /* NULL once answered */
    const struct sr_service_def *svc;
    struct sr_buf batch;
    uint8_t *answer;
    size_t answer_len;
    uint32_t need, pauses, inflight;
    sr_time_us until;          /* keep trying replicas until then */
    struct repl_target t[2 * NODE_REPLICAS_MAX];
    size_t nt;
    struct event *ev;
    struct repl_op *prev, *next; /* node_state.repl */
    size_t key_len;
    uint8_t key[];
};

static void repl_answer(struct repl_op *op, int status)
{
    if (!op->r)
        return;
    if (status < 0)
        op->node->state->st.repl_short++;
    node_reply_finish(op->r, status, status == 0 ? op->answer : NULL,
                      status == 0 ? op->answer_len : 0);
    op->r = NULL;
}

static void repl_free(struct repl_op *op)
{
    struct node_state *s = op->node->state;
    if (op->prev)
        op->prev->next = op->next;
    else if (s->repl == op)
        s->repl = op->next;
    if (op->next)
        op->next->prev = op->prev;
    if (op->ev)
        event_free(op->ev);
    sr_buf_destroy(&op->batch);
    free(op->answer);
    free(op);
}

static bool all_acked(const struct repl_op *op)
{
    for (size_t i = 0; i < op->nt; i++)
        if (!op->t[i].acked)
            return false;
    return true;
}

/* No copy in flight: answer, wait and try again, or finish. */
static void repl_idle(struct repl_op *op)
{
    sr_time_us now = sr_time_mono_us();
    if (op->need == 0)
        repl_answer(op, 0);
    if ((op->need == 0 && all_acked(op)) || now >= op->until) {
        if (op->need > 0) {
            op->node->state->st.repl_failures++;
            repl_answer(op, SR_ETIMEDOUT);
        }
        repl_free(op);
        return;
    }
    uint32_t ms = REPL_PAUSE_MS << (op->pauses < 6 ? op->pauses : 6);
    uint64_t left_ms = (op->until - now) / SR_US_PER_MS + 1;
    ms = ms < left_ms ? ms : (uint32_t)left_ms;
    op->pauses++;
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    evtimer_add(op->ev, &tv);
}

static void repl_done(void *ud, const struct sr_rpc_result *res)
{
    struct repl_target *t = ud;
    struct repl_op *op = t->op;
    t->inflight = false;
    op->inflight--;
    if (res->remote && res->status == 0) {
        t->acked = true;
        op->node->state->st.repl_acks++;
        if (op->need > 0 && --op->need == 0)
            repl_answer(op, 0);
    }
    if (op->inflight == 0)
        repl_idle(op);
}

static void repl_send(struct repl_op *op, struct repl_target *t)
{
    struct sr_node *node = op->node;
    sr_time_us now = sr_time_mono_us();
    uint32_t ms = op->until > now ? (uint32_t)((op->until - now) / SR_US_PER_MS) : 0;
    struct sr_rpc_call_args a = {.service = NODE_STATE_SERVICE, .endpoint = "merge",
                                 .body = op->batch.data, .body_len = op->batch.len,
                                 .timeout_ms = ms > REPL_MIN_TIMEOUT_MS ? ms : REPL_MIN_TIMEOUT_MS};
    if (node_fault_drop(node, t->addr) || sr_rpc_call(node->rpc, t->addr, &a, repl_done, t, NULL) < 0)
        return; /* not sent: the next plan tries it again */
    t->inflight = true;
    op->inflight++;
}

/* Send to every member of the key's replica set (as the ring is now) that
 * has no copy yet and none on the way. */
static void repl_plan(struct repl_op *op)
{
    struct sr_node *node = op->node;
    const char *set[NODE_REPLICAS_MAX];
    size_t n = node_state_set(node->ring, op->key, op->key_len,
                              node_state_replicas(node, op->svc), set);
    for (size_t i = 0; i < n; i++) {
        if (strcmp(set[i], node->self) == 0)
            continue;
        struct repl_target *t = NULL;
        for (size_t j = 0; j < op->nt && !t; j++)
            if (strcmp(op->t[j].addr, set[i]) == 0)
                t = &op->t[j];
        if (!t && op->nt < sizeof op->t / sizeof op->t[0]) {
            t = &op->t[op->nt++];
            t->op = op;
            snprintf(t->addr, sizeof(t->addr), "%s", set[i]);
        }
        if (t && !t->acked && !t->inflight)
            repl_send(op, t);
    }
    /* members no longer in the set need no copy: stop waiting for them */
    for (size_t j = 0; j < op->nt; j++)
        if (!op->t[j].inflight && !node_state_in(set, n, op->t[j].addr))
            op->t[j].acked = true;
    if (op->inflight == 0)
        repl_idle(op);
}

static void repl_on_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    repl_plan(arg);
}

static int repl_encode(struct repl_op *op, struct sr_node_reply *r)
{
    struct sr_mp_writer w;
    sr_mp_writer_init(&w, &op->batch);
    node_batch_begin(&w, op->svc->name, r->rid, r->rid_len, op->answer, op->answer_len);
    if (r->has_recs)
        node_batch_records(&w, r->key, r->key_len, &r->recs);
    int rc = sr_mp_writer_error(&w);
    if (rc == 0 && !r->has_recs)
        rc = node_batch_export(&op->batch, op->svc, r->key, r->key_len);
    return rc < 0 ? rc : 0;
}

void node_repl_start(struct sr_node_reply *r, const void *body, size_t len)
{
    struct sr_node *node = r->node;
    struct repl_op *op = calloc(1, sizeof(*op) + r->key_len);
    if (!op || (len && !(op->answer = malloc(len)))) {
        free(op);
        node_reply_finish(r, SR_ENOMEM, NULL, 0);
        return;
    }
    op->node = node;
    op->r = r;
    op->svc = r->ep->svc;
    if ((op->next = node->state->repl))
        op->next->prev = op;
    node->state->repl = op;
    if (len)
        memcpy(op->answer, body, op->answer_len = len);
    memcpy(op->key, r->key, op->key_len = r->key_len);
    op->need = node_state_acks(node, op->svc) - 1;
    op->until = r->deadline;
    sr_buf_create(&op->batch, node->cfg.forward.max_frame);
    node->state->st.repl_writes++;
    if (!(op->ev = evtimer_new(node->base, repl_on_timer, op)) || repl_encode(op, r) < 0) {
        repl_answer(op, SR_ENOMEM);
        repl_free(op);
        return;
    }
    if (op->need == 0)
        repl_answer(op, 0); /* ack_replicas 1: the client does not wait */
    repl_plan(op);
}

/* The node is going: answer what waits, free everything (the RPC object is
 * gone already, so no callback of ours is pending). */
void node_repl_stop(struct sr_node *node)
{
    while (node->state->repl) {
        struct repl_op *op = node->state->repl;
        repl_answer(op, SR_ECANCELED);
        repl_free(op);
    }
}
