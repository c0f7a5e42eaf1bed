/* Handle-or-forward inside the node (node_fwd.c). */
#ifndef SWIMRING_NODE_FWD_H
#define SWIMRING_NODE_FWD_H

#include "node_impl.h"

struct event;

/* One request in progress on this node (entry or intermediate hop). */
struct node_call {
    struct sr_node *node;
    const struct node_ep *ep;
    uint8_t *key, *body;        /* copies, in the same allocation */
    size_t key_len, body_len;
    sr_time_us deadline;        /* monotonic */
    uint32_t hops, tries, max_tries;
    uint32_t timeout_ms;        /* the whole call's, for latency */
    sr_node_done_f cb;
    void *ud;
    struct event *ev;           /* next try (immediate or after a wait) */
    struct event *ev_deadline;
    struct sr_node_reply *local; /* handler running here, not yet answered */
    struct sr_rpc_reply *origin; /* a hop: the peer's request we relay; once
                                    its caller cancels it, no further try */
    uint64_t rpc_id;
    bool rpc_pending, waiting_ring, completed, forwarded, delayed;
    char target[SR_SWIM_ADDR_MAX];
    sr_time_us try_at;          /* when the current forward try began (latency sample) */
    /* backup read (node_backup.c): at most one per call, entry node only */
    struct event *ev_backup;    /* fires after the backup delay; NULL until armed */
    struct sr_node_reply *bk_local; /* backup served here (we hold a copy), unanswered */
    uint64_t bk_id;
    sr_time_us bk_due;          /* when the backup timer is due (monotonic) */
    bool bk_armed, bk_delayed, bk_pending; /* bk_pending: the backup RPC is out */
    char bk_target[SR_SWIM_ADDR_MAX];
    size_t rid_len;
    uint8_t rid[SR_RPC_RID_MAX]; /* client request id */
    struct node_rp_ticket *rp_ticket; /* a /proxy/req out (node_ringpop.c), or NULL */
    struct node_call *prev, *next;
};

int node_fwd_add(struct sr_node *node, const struct sr_service_def *svc,
                 const struct sr_endpoint_def *ep);
const struct node_ep *node_fwd_find(const struct sr_node *node, const char *service, size_t slen,
                                    const char *endpoint, size_t elen);
/* Start a call (hops = 0 at the entry node). Same contract as sr_node_call. */
int node_fwd_call(struct sr_node *node, const struct node_ep *ep, const void *key, size_t key_len,
                  const void *body, size_t body_len, uint32_t timeout_ms, uint32_t hops,
                  const void *rid, size_t rid_len, sr_node_done_f cb, void *ud);
/* A reply handle for a request about to be served here. */
struct sr_node_reply *node_reply_new(struct sr_node *node, const struct node_ep *ep,
                                     const struct sr_node_request *q);
/* Serve a request on this node (request ids first, then the handler). */
void node_serve(struct sr_node *node, const struct node_ep *ep, struct sr_node_reply *r,
                const struct sr_node_request *q);
/* Serve an RPC request on this node, answering through `reply`; false
 * when it could not start (out of memory, already answered SR_ENOMEM). */
bool node_serve_rpc(struct sr_node *node, const struct node_ep *ep, struct sr_rpc_reply *reply,
                    const struct sr_rpc_request *req);
void node_fwd_ring_changed(struct sr_node *node);
/* Complete a call: its callback runs now, once; RPCs still out are
 * cancelled and the call is freed when the last of them has come back. */
void node_call_done(struct node_call *c, int status, const uint8_t *body, size_t len,
                    const char *served_by);
/* Free a completed call once no RPC of it is out any more. */
void node_call_release(struct node_call *c);
/* Wait before the next try: until the ring changes (ring) or a short pause,
 * never past the deadline; completes the call with `why` when out of tries
 * or time. */
void node_call_retry(struct node_call *c, int why, bool ring);
/* Milliseconds left before the call's deadline, rounded up (0: passed). */
uint32_t node_call_left_ms(const struct node_call *c);

/* node_backup.c: backup requests for idempotent reads.
 * Arm the backup timer of a call about to be forwarded (once per call; a
 * no-op unless the call may be backed up). */
void node_backup_arm(struct node_call *c);
/* The call completed: timer off, the backup RPC cancelled, a backup served
 * here detached (its late answer is dropped). */
void node_backup_stop(struct node_call *c);
/* A backup served on this node answered (from node_reply_finish). */
void node_backup_local_done(struct node_call *c, int status, const uint8_t *body, size_t len);
/* The owner answered a forward of `ep` after `us` microseconds. */
void node_backup_sample(struct sr_node *node, const struct node_ep *ep, sr_time_us us);
/* A peer's request flagged SR_RPC_REPLICA_READ: answer from our copy. */
void node_backup_serve(struct sr_node *node, const struct node_ep *ep, struct sr_rpc_reply *reply,
                       const struct sr_rpc_request *req);
/* Whether reads of `ep` may be backed up at all (idempotent, not a write,
 * not SR_ENDPOINT_NO_BACKUP, a service with replicas >= 2). */
bool node_backup_ep_ok(const struct sr_node *node, const struct node_ep *ep);
/* The wait before a backup: state.backup_after_ms, or the owner's observed
 * p95 within [NODE_BACKUP_FLOOR_US, NODE_BACKUP_CEIL_US], NODE_BACKUP_COLD_US
 * until NODE_BACKUP_MIN_SAMPLES answers were seen. */
sr_time_us node_backup_delay_us(const struct sr_node *node, const struct node_ep *ep);
#define NODE_BACKUP_FLOOR_US 2000u
#define NODE_BACKUP_CEIL_US 1000000u
#define NODE_BACKUP_COLD_US 20000u
#define NODE_BACKUP_MIN_SAMPLES 20u

/* The latency estimate's pure parts (table-tested). */
void node_lat_add(struct node_lat_est *e, uint32_t us);
/* The smallest bucket bound with at least permille/1000 of the samples at
 * or below it; 0 without samples. */
uint32_t node_lat_quantile_us(const struct node_lat_est *e, uint32_t permille);
uint32_t node_lat_bound_us(unsigned bucket);
/* Outcome counters (node_metrics.c). */
void node_fwd_count(struct sr_node *node, const struct node_call *c, int status);

#endif
