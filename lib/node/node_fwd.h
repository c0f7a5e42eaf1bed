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
    uint64_t rpc_id;
    bool rpc_pending, waiting_ring, completed, forwarded, delayed;
    char target[SR_SWIM_ADDR_MAX];
    size_t rid_len;
    uint8_t rid[SR_RPC_RID_MAX]; /* client request id */
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
void node_fwd_ring_changed(struct sr_node *node);
/* Outcome counters (node_metrics.c). */
void node_fwd_count(struct sr_node *node, const struct node_call *c, int status);

#endif
