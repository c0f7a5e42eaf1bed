/* Node start, run, stop and delete. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/event.h>
#include "swimring/error.h"
#include "node_admin.h"
#include "node_ringpop.h"
#include "node_settings.h"
#include "node_state.h"

static int start_fail(char *msg, size_t msglen, int rc, const char *what, const char *addr)
{
    snprintf(msg, msglen, "%s %s: %s", what, addr, sr_strerror(rc));
    return rc;
}

static int node_start_rpc(struct sr_node *node, char *msg, size_t msglen)
{
    struct sr_rpc_cfg rc = sr_rpc_cfg_default_lan();
    rc.max_frame = node->cfg.forward.max_frame;
    rc.max_inflight = node->cfg.forward.max_inflight;
    int err = 0;
    node->rpc = sr_rpc_new(node->base, &rc, node->log, &err);
    if (!node->rpc)
        return start_fail(msg, msglen, err, "rpc", "");
    if ((err = node_tls_start(node, msg, msglen)) < 0)
        return err;
    /* ringpop wire: lib/ringpop owns node.listen and hands our RPC
     * connections over (node_ringpop.c) */
    if (node->cfg.node.wire != SR_NODE_WIRE_RINGPOP &&
        (err = sr_rpc_listen(node->rpc, node->cfg.node.listen)) < 0)
        return start_fail(msg, msglen, err, "cannot listen (TCP) on", node->cfg.node.listen);
    return node_sync_register(node);
}

/* Labels every member of ours carries, whatever the wire. */
static int node_set_labels(struct sr_node *node, char *msg, size_t msglen)
{
    /* Tools (ringctl checksums) reach every member's admin through this. */
    if (strlen(node_admin_addr(node)) < SR_SWIM_LABEL_MAX)
        (void)sr_swim_set_label(node->swim, "admin", node_admin_addr(node));
    for (size_t i = 0; i < node->nlabels; i++) {
        int err = sr_swim_set_label(node->swim, node->labels[i].key, node->labels[i].value);
        if (err < 0)
            return start_fail(msg, msglen, err, "label", node->labels[i].key);
    }
    return 0;
}

static int node_start_ringpop_wire(struct sr_node *node, char *msg, size_t msglen)
{
    int err = node_ringpop_start(node, msg, msglen);
    if (err < 0 || (err = node_set_labels(node, msg, msglen)) < 0)
        return err;
    return sr_ringfeed_resync(node->feed, node->swim) < 0 ? SR_ENOMEM : 0;
}

static int node_start_swim(struct sr_node *node, char *msg, size_t msglen)
{
    const struct sr_node_cfg *c = &node->cfg.node;
    if (c->wire == SR_NODE_WIRE_RINGPOP)
        return node_start_ringpop_wire(node, msg, msglen);
    struct sr_swim_udp_opts o = {.external_sync = node_full_sync, .external_sync_ud = node,
                                 .gossip = node->gossip};
    int err = 0;
    node->udp = sr_swim_udp_new_ex(node->base, &node->cfg.swim, c->listen,
                                   c->name[0] ? c->name : c->listen, node->log, &o, &err);
    if (!node->udp)
        return start_fail(msg, msglen, err, "cannot listen (UDP) on", c->listen);
    node->swim = sr_swim_udp_core(node->udp);
    snprintf(node->self, sizeof(node->self), "%s", sr_swim_self(node->swim));
    sr_swim_udp_set_event_cb(node->udp, node_on_swim_event, node);
    sr_swim_udp_set_filter(node->udp, node_fault_filter, node);
    if ((err = node_set_labels(node, msg, msglen)) < 0)
        return err;
    if ((err = sr_swim_start(node->swim)) < 0)
        return start_fail(msg, msglen, err, "swim start", c->listen);
    const char *seeds[SR_CFG_ADDR_LIST_MAX];
    for (size_t i = 0; i < c->seeds.n; i++)
        seeds[i] = c->seeds.addr[i];
    if (c->seeds.n && (err = sr_swim_join(node->swim, seeds, c->seeds.n)) < 0)
        return start_fail(msg, msglen, err, "join", c->seeds.addr[0]);
    return sr_ringfeed_resync(node->feed, node->swim) < 0 ? SR_ENOMEM : 0;
}

int sr_node_start(struct sr_node *node, char *msg, size_t msglen)
{
    if (node->started)
        return SR_EEXIST;
    int rc;
    if ((rc = node_start_rpc(node, msg, msglen)) < 0 || (rc = node_start_fwd(node, msg, msglen)) < 0 ||
        (rc = node_start_http(node, msg, msglen)) < 0 || (rc = node_start_swim(node, msg, msglen)) < 0 ||
        (rc = node_settings_start(node)) < 0 || (rc = node_state_start(node)) < 0)
        return rc;
    node->started = true;
    node->started_at = sr_time_mono_us();
    SR_INFO(node->log, "node.started", "listen=%s http=%s admin=%s services=%zu seeds=%zu",
            node->self, sr_node_http_addr(node), node_admin_addr(node), node->nsvc,
            node->cfg.node.seeds.n);
    return 0;
}

/* ---- stop ---------------------------------------------------------------- */

static void node_on_exit_timer(evutil_socket_t fd, short what, void *arg)
{
    struct sr_node *node = arg;
    (void)fd;
    (void)what;
    event_base_loopexit(node->base, NULL);
}

/* Say goodbye: "left" goes out, our ring forgets us (what still reaches
 * us is forwarded to the new owners), and the loop stops shortly after. */
void node_leave_now(struct sr_node *node)
{
    node->leaving = true;
    if (node->swim)
        (void)sr_swim_leave(node->swim);
    if (node->started)
        (void)sr_ring_remove(node->ring, node->self);
    SR_INFO(node->log, "node.leaving", "wait_ms=%u stay=%d", SR_NODE_LEAVE_WAIT_MS,
            node->leave_stay);
    if (node->leave_stay)
        return;
    if (!node->ev_exit)
        node->ev_exit = evtimer_new(node->base, node_on_exit_timer, node);
    struct timeval tv = {0, SR_NODE_LEAVE_WAIT_MS * 1000};
    if (!node->ev_exit || evtimer_add(node->ev_exit, &tv) != 0)
        event_base_loopexit(node->base, NULL);
}

void sr_node_stop(struct sr_node *node)
{
    if (node->leaving || node->state->leave_phase == 1) { /* asked twice: stop at once */
        event_base_loopexit(node->base, NULL);
        return;
    }
    if (node_handoff_leave(node)) /* hand the state off first; it says goodbye after */
        return;
    node_leave_now(node);
}

static void node_on_hup(evutil_socket_t sig, short what, void *arg)
{
    char msg[512];
    (void)what;
    SR_INFO(((struct sr_node *)arg)->log, "node.signal", "sig=%d action=reload", (int)sig);
    (void)sr_node_reload(arg, msg, sizeof msg); /* a refusal is logged where it happens */
}

static void node_on_signal(evutil_socket_t sig, short what, void *arg)
{
    (void)what;
    SR_INFO(((struct sr_node *)arg)->log, "node.signal", "sig=%d", (int)sig);
    sr_node_stop(arg);
}

int sr_node_run(struct sr_node *node)
{
    if (!node->own_base || !node->started)
        return SR_EINVAL;
    node->ev_term = evsignal_new(node->base, SIGTERM, node_on_signal, node);
    node->ev_int = evsignal_new(node->base, SIGINT, node_on_signal, node);
    node->ev_hup = evsignal_new(node->base, SIGHUP, node_on_hup, node);
    if (!node->ev_term || !node->ev_int || !node->ev_hup || evsignal_add(node->ev_term, NULL) != 0 ||
        evsignal_add(node->ev_int, NULL) != 0 || evsignal_add(node->ev_hup, NULL) != 0)
        return SR_ENOMEM;
    signal(SIGPIPE, SIG_IGN); /* a peer closing mid-write is an error code, not a death */
    return event_base_dispatch(node->base) < 0 ? SR_ESYS : 0;
}

static void free_event(struct event **ev)
{
    if (*ev)
        event_free(*ev);
    *ev = NULL;
}

void sr_node_delete(struct sr_node *node)
{
    if (!node)
        return;
    node_settings_stop(node);
    node_stop_http(node);
    node_stop_fwd(node);
    sr_swim_udp_delete(node->udp);
    node->udp = NULL;
    node_ringpop_delete(node);
    node->swim = NULL;
    node_gossip_delete(node);
    sr_rpc_delete(node->rpc);
    node->rpc = NULL;
    node_tls_delete(node);
    node_state_delete(node);
    free_event(&node->ev_term);
    free_event(&node->ev_int);
    free_event(&node->ev_hup);
    free_event(&node->ev_exit);
    free_event(&node->ev_flush);
    node_guard_delete(node);
    free(node->routes);
    sr_ringfeed_delete(node->feed);
    sr_ring_delete(node->ring);
    sr_log_delete(node->log);
    if (node->own_base && node->base)
        event_base_free(node->base);
    free(node);
}

/* ---- queries ------------------------------------------------------------- */

struct event_base *sr_node_base(struct sr_node *node) { return node->base; }
const char *sr_node_self(const struct sr_node *node) { return node->self; }
struct sr_swim *sr_node_swim(struct sr_node *node) { return node->swim; }
const struct sr_ring *sr_node_ring(const struct sr_node *node) { return node->ring; }

bool sr_node_owns(const struct sr_node *node, const void *key, size_t len)
{
    const char *owner = sr_ring_lookup(node->ring, key, len);
    return owner && strcmp(owner, node->self) == 0;
}
