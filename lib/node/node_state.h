/* Service state inside the node: write replication, handoff on ring
 * changes, graceful-leave handoff, anti-entropy and request ids
 * (node_state.c, node_repl.c, node_handoff.c, node_entropy.c, node_idem.c).
 *
 * Everything moves as "batches" over RPC service "_state":
 *
 *   str service | bin rid or nil | bin answer or nil | { bin key, { bin record }*, nil }*
 *
 * (msgpack values one after another, no outer array, so a batch is written
 * in one pass). rid + answer come with a replicated write so a replica that
 * later becomes the owner answers a retried request id the same way. */
#ifndef SWIMRING_NODE_STATE_H
#define SWIMRING_NODE_STATE_H

#include "node_impl.h"
#include "node_kmap.h"
#include "swimring/buf.h"
#include "swimring/mp.h"
#include "swimring/rpc.h"

#define NODE_STATE_SERVICE "_state"
#define NODE_REPLICAS_MAX 5

/* A reply handle: the request's identity, kept until the answer is out
 * (replication and request ids need the key after the handler returned). */
struct sr_node_reply {
    struct sr_node *node;
    struct node_call *call;     /* local handling: the call to complete, or NULL */
    struct sr_rpc_reply *rpc;   /* handling for a peer */
    const struct node_ep *ep;
    sr_time_us deadline;        /* monotonic */
    struct sr_buf recs;         /* records from sr_node_reply_record (bins) */
    bool has_recs, applied, tracked; /* tracked: holds a pending request id */
    bool backup;                /* a backup read served here for r->call */
    size_t key_len, rid_len;
    uint8_t rid[SR_RPC_RID_MAX];
    uint8_t key[];
};

struct node_state_stats {
    uint64_t repl_writes, repl_acks, repl_failures, repl_short; /* short: answered error */
    uint64_t batches_in, records_in, merge_errors, bad_batches;
    uint64_t passes, keys_planned, batches_out, batches_failed, records_out, keys_dropped;
    uint64_t idem_replayed, idem_busy, idem_evicted;
    uint64_t leave_handoffs, leave_timeouts;
    uint64_t sync_rounds, sync_keys_pushed, sync_keys_pulled, sync_errors;
    uint64_t backup_sent, backup_won;   /* entry: backups sent, ... answered first */
    uint64_t backup_served, backup_refused; /* replica: backups answered, refused */
    uint64_t handoff_busy_us;   /* time with handoff work queued or in flight */
};

struct node_ho_queue;
struct repl_op;

struct node_state {
    struct node_state_stats st;
    /* request ids: key = service NUL key-length key rid; val = struct idem * */
    struct node_kmap idem;
    struct node_idem *idem_old, *idem_new; /* FIFO for the window and the cap */
    /* handoff */
    struct sr_ring *snap;       /* the ring the last pass planned against */
    struct node_kmap leaving;   /* svc index byte + key -> pushes still unacked */
    struct node_ho_queue *queues;
    struct event *ev_pass, *ev_sync;
    uint32_t inflight_batches;
    int leave_phase;            /* 0 none, 1 handing off before goodbye, 2 done */
    struct sr_ring *leave_ring; /* the ring without us, during phase 1 */
    struct event *ev_leave;
    size_t sync_next;           /* round robin over peers */
    struct repl_op *repl;       /* writes being replicated */
    sr_time_us busy_since;      /* 0: no handoff work */
};

/* node_state.c */
int node_state_new(struct sr_node *node);
int node_state_start(struct sr_node *node);
void node_state_delete(struct sr_node *node);
bool node_state_stateful(const struct sr_node *node);
uint32_t node_state_replicas(const struct sr_node *node, const struct sr_service_def *svc);
uint32_t node_state_acks(const struct sr_node *node, const struct sr_service_def *svc);
int node_state_svc_index(const struct sr_node *node, const struct sr_service_def *svc);
/* Batch writing: begin, then keys (exported) or a key with given records. */
void node_batch_begin(struct sr_mp_writer *w, const char *svc, const void *rid, size_t rid_len,
                      const void *answer, size_t answer_len);
/* Append key + its exported records to b; the record count, or an error
 * (b unchanged: SR_ETOOBIG past b's limit, or the service's error). */
int node_batch_export(struct sr_buf *b, const struct sr_service_def *svc, const void *key,
                      size_t len);
void node_batch_records(struct sr_mp_writer *w, const void *key, size_t len, const struct sr_buf *recs);
/* The replica set of key (owner first) on `ring`; returns how many. */
size_t node_state_set(const struct sr_ring *ring, const void *key, size_t len, uint32_t n,
                      const char **out);
bool node_state_in(const char *const *set, size_t n, const char *addr);
/* A copy of `ring` without `without` (NULL: all). NULL on ENOMEM. */
struct sr_ring *node_ring_copy(const struct sr_ring *ring, uint32_t points, const char *without);
/* Merge a batch from a peer; SR_EPROTO (counted) if malformed. */
int node_state_apply(struct sr_node *node, const uint8_t *p, size_t len);
/* JSON for /admin/state. */
struct json_t;
struct json_t *node_state_json(struct sr_node *node);

/* node_idem.c: request ids. */
enum node_idem_verdict { IDEM_NEW, IDEM_REPLAY, IDEM_BUSY, IDEM_APPLIED };
/* Look the reply's request id up; on IDEM_NEW it is now pending. On
 * IDEM_REPLAY the out-parameters hold the first answer. */
enum node_idem_verdict node_idem_check(struct sr_node *node, struct sr_node_reply *r,
                                       int *status, const uint8_t **body, size_t *len);
/* The request finished: remember the answer (or forget the id if the
 * write did not happen, so a retry runs it). */
void node_idem_finish(struct sr_node *node, struct sr_node_reply *r, int status, const void *body,
                      size_t len);
/* A replica learns an id from a replicated write. */
void node_idem_learn(struct sr_node *node, const char *svc, const void *key, size_t klen,
                     const void *rid, size_t rid_len, const void *answer, size_t alen);
void node_idem_free(struct sr_node *node);

/* node_repl.c: copy an applied write to the replicas, then answer. */
void node_repl_start(struct sr_node_reply *r, const void *body, size_t len);
void node_repl_stop(struct sr_node *node);

/* node_fwd.c: deliver an answer (request ids, then the caller). */
void node_reply_finish(struct sr_node_reply *r, int status, const void *body, size_t len);

/* node_handoff.c */
void node_handoff_ring_changed(struct sr_node *node);
void node_handoff_pass(struct sr_node *node);
void node_handoff_on_write(struct sr_node *node, const struct sr_service_def *svc,
                           const void *key, size_t len);
/* Graceful leave: hand everything to the ring without us, then call
 * node_leave_now. Returns false when there is nothing to hand off. */
bool node_handoff_leave(struct sr_node *node);
size_t node_handoff_pending(const struct sr_node *node);
/* Queue one key for a peer (anti-entropy), then send what is queued. */
int node_handoff_push(struct sr_node *node, const struct sr_service_def *svc, const char *peer,
                      const void *key, size_t len);
void node_handoff_pump_peer(struct sr_node *node, const struct sr_service_def *svc,
                            const char *peer);
void node_handoff_stop(struct sr_node *node);
/* node_life.c: the goodbye itself (swim leave, then stop). */
void node_leave_now(struct sr_node *node);

/* node_entropy.c */
void node_entropy_round(struct sr_node *node);
int node_entropy_register(struct sr_node *node);

#endif
