/* Membership full sync over the node's RPC connection: the swim driver runs
 * without its own TCP listener and asks the node for each exchange, so one
 * host:port per node carries UDP gossip and TCP RPC.
 *
 *   caller                                   peer
 *   sr_rpc_call("_swim", "sync", our state) -> merge ours, reply its state
 *   merge its state                         <-
 *
 * The "_" prefix marks services internal to swimring: users cannot
 * register one. */
#include <stdlib.h>
#include "swimring/buf.h"
#include "swimring/error.h"
#include "node_impl.h"

#define SYNC_SERVICE "_swim"
#define SYNC_ENDPOINT "sync"
#define SYNC_TIMEOUT_MS 5000u

static int node_encode_state(struct sr_node *node, struct sr_buf *b)
{
    sr_buf_create(b, node->cfg.forward.max_frame);
    int rc = sr_swim_encode_state(node->swim, b);
    if (rc < 0)
        sr_buf_destroy(b);
    return rc;
}

static void sync_serve(void *ud, struct sr_rpc_reply *reply, const struct sr_rpc_request *req)
{
    struct sr_node *node = ud;
    struct sr_buf b;
    if (!node->swim || node->leaving) {
        sr_rpc_respond(reply, SR_ECLOSED, NULL, 0);
        return;
    }
    int rc = sr_swim_merge_state(node->swim, req->body, req->body_len);
    if (rc < 0) {
        SR_WARN(node->log, "sync.bad_state", "peer=%s err=%s", req->peer, sr_err_name(rc));
        sr_rpc_respond(reply, rc, NULL, 0);
        return;
    }
    if ((rc = node_encode_state(node, &b)) < 0) {
        sr_rpc_respond(reply, rc, NULL, 0);
        return;
    }
    sr_rpc_respond(reply, 0, b.data, b.len);
    sr_buf_destroy(&b);
    node->st.full_syncs_rpc++;
}

static void sync_done(void *ud, const struct sr_rpc_result *res)
{
    struct sr_node *node = ud;
    if (res->status == SR_ECANCELED || !node->swim)
        return;
    if (res->status < 0) {
        SR_DEBUG(node->log, "sync.failed", "err=%s", sr_err_name(res->status));
        return;
    }
    int rc = sr_swim_merge_state(node->swim, res->body, res->body_len);
    if (rc < 0)
        SR_WARN(node->log, "sync.bad_state", "err=%s", sr_err_name(rc));
    else
        node->st.full_syncs_rpc++;
}

/* The swim driver's full-sync request: one exchange with `peer`. */
void node_full_sync(void *ud, const char *peer)
{
    struct sr_node *node = ud;
    struct sr_buf b;
    if (!node->rpc || !node->swim || node_fault_drop(node, peer) || node_encode_state(node, &b) < 0)
        return;
    struct sr_rpc_call_args a = {.service = SYNC_SERVICE, .endpoint = SYNC_ENDPOINT,
                                 .body = b.data, .body_len = b.len,
                                 .timeout_ms = SYNC_TIMEOUT_MS, .flags = SR_RPC_IDEMPOTENT};
    int rc = sr_rpc_call(node->rpc, peer, &a, sync_done, node, NULL);
    if (rc < 0)
        SR_DEBUG(node->log, "sync.not_sent", "peer=%s err=%s", peer, sr_err_name(rc));
    sr_buf_destroy(&b);
}

int node_sync_register(struct sr_node *node)
{
    return sr_rpc_handle(node->rpc, SYNC_SERVICE, SYNC_ENDPOINT, sync_serve, node);
}
