/* The node object: life cycle, membership -> ring, signals. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/event.h>
#include "swimring/error.h"
#include "node_admin.h"
#include "node_fwd.h"
#include "node_ringpop.h"
#include "node_settings.h"
#include "node_state.h"

static enum sr_log_level node_log_level(int cfg_level)
{
    static const enum sr_log_level map[] = {SR_LOG_DEBUG, SR_LOG_INFO, SR_LOG_WARN, SR_LOG_ERROR};
    return cfg_level >= 0 && cfg_level < 4 ? map[cfg_level] : SR_LOG_INFO;
}

static int node_fail(int *err, int code, char *msg, size_t msglen, const char *what)
{
    if (err)
        *err = code;
    if (msg && msglen)
        snprintf(msg, msglen, "%s: %s", what, sr_strerror(code));
    return code;
}

/* ---- ring ---------------------------------------------------------------- */

static void node_ring_changed(void *ctx, const struct sr_ring *ring,
                              const struct sr_ring_range *ranges, size_t n)
{
    struct sr_node *node = ctx;
    node->st.ring_changes++;
    node->st.ranges_moved += n;
    if (node->rpc)
        sr_rpc_set_checksum(node->rpc, sr_ring_checksum(ring));
    node_fwd_ring_changed(node);
    node_handoff_ring_changed(node);
    for (size_t i = 0; i < node->nsvc; i++)
        if (node->svc[i]->ring_changed)
            node->svc[i]->ring_changed(node->svc[i]->ud, ranges, n);
    SR_INFO(node->log, "ring.changed", "members=%zu ranges=%zu checksum=%u",
            sr_ring_member_count(ring), n, sr_ring_checksum(ring));
}

static void node_on_flush(evutil_socket_t fd, short what, void *arg)
{
    struct sr_node *node = arg;
    (void)fd;
    (void)what;
    if (sr_ringfeed_flush(node->feed) < 0 && node->swim)
        (void)sr_ringfeed_resync(node->feed, node->swim); /* a lost change: rebuild */
    sr_ring_trim(node->ring); /* the ring changes rarely: hold no scratch between */
}

void node_on_swim_event(void *ud, const struct sr_swim_event *ev)
{
    struct sr_node *node = ud;
    if (sr_ringfeed_event(node->feed, ev) < 0)
        SR_WARN(node->log, "ring.event_lost", "type=%s", sr_swim_event_name(ev->type));
    if (sr_ringfeed_pending(node->feed) > 0)
        event_active(node->ev_flush, EV_TIMEOUT, 0);
    if (ev->member && !ev->member->is_self && node->rpc &&
        (ev->type == SR_SWIM_EV_FAULTY || ev->type == SR_SWIM_EV_LEFT))
        (void)sr_rpc_disconnect(node->rpc, ev->member->addr); /* fail its calls now */
}

/* ---- life cycle ---------------------------------------------------------- */

/* The node's own event base. With epoll, libevent's changelist folds the
 * epoll_ctl calls of one loop turn into one per fd: evhttp turns a keep-
 * alive connection's read off and write on for every answer and back after
 * it, four epoll_ctl per request without it, two with it. libevent warns
 * that this is unsafe with fds cloned by dup(): the node never dup()s an fd
 * it gives the loop, and the processes we fork close every inherited fd
 * (testkit: close_range) before exec. */
static struct event_base *node_base_new(void)
{
    struct event_config *ec = event_config_new();
    struct event_base *b = NULL;
    if (ec && event_config_set_flag(ec, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST) == 0)
        b = event_base_new_with_config(ec);
    if (ec)
        event_config_free(ec);
    return b ? b : event_base_new();
}

static int node_make_log(struct sr_node *node, int *err, char *msg, size_t msglen)
{
    const struct sr_node_cfg *c = &node->cfg.node;
    const char *tag = c->name[0] ? c->name : c->listen;
    int e = 0;
    node->log = sr_log_new(node_log_level(c->log_level), c->log_file, tag, &e);
    return node->log ? 0 : node_fail(err, e ? e : SR_ENOMEM, msg, msglen, "log");
}

struct sr_node *sr_node_new(struct event_base *base, const struct sr_node_config *cfg, int *err,
                            char *msg, size_t msglen)
{
    char why[160];
    if (sr_swim_cfg_validate(&cfg->swim, why, sizeof why) < 0) {
        node_fail(err, SR_ECONFIG, msg, msglen, "swim");
        if (msg && msglen)
            snprintf(msg, msglen, "swim: %s", why);
        return NULL;
    }
    if (cfg->state.ack_replicas > cfg->state.replicas) {
        node_fail(err, SR_ECONFIG, msg, msglen, "state");
        if (msg && msglen)
            snprintf(msg, msglen, "state.ack_replicas (%u) is above state.replicas (%u)",
                     cfg->state.ack_replicas, cfg->state.replicas);
        return NULL;
    }
    char sec[400]; /* the TLS section and the admin token rule (node_tls.c) */
    if (node_tls_check_config(cfg, sec, sizeof sec) < 0 ||
        node_ringpop_check_config(cfg, sec, sizeof sec) < 0) {
        node_fail(err, SR_ECONFIG, msg, msglen, "config");
        if (msg && msglen)
            snprintf(msg, msglen, "%s", sec);
        return NULL;
    }
    struct sr_node *node = calloc(1, sizeof(*node));
    if (!node) {
        node_fail(err, SR_ENOMEM, msg, msglen, "node");
        return NULL;
    }
    node->cfg = *cfg;
    node->base = base;
    if (!base) {
        node->base = node_base_new();
        node->own_base = true;
    }
    struct sr_ring_cfg rc = {cfg->ring.points_per_member};
    struct sr_ringfeed_cfg fc;
    sr_ringfeed_cfg_default(&fc);
    fc.suspect_on_ring = cfg->ring.suspect_on_ring;
    if (cfg->node.wire == SR_NODE_WIRE_RINGPOP) { /* place members as ringpop does */
        fc.identity_label = "__identity";
        fc.weight_label = NULL;
    }
    int e = 0;
    if (!node->base || node_make_log(node, err, msg, msglen) < 0 ||
        !(node->ring = sr_ring_new(&rc, &e)) || !(node->feed = sr_ringfeed_new(node->ring, &fc, &e)) ||
        !(node->ev_flush = event_new(node->base, -1, 0, node_on_flush, node)) ||
        node_guard_new(node) < 0 || node_state_new(node) < 0) {
        if (!node->log)
            e = err ? *err : SR_ENOMEM;
        node_fail(err, e ? e : SR_ENOMEM, msg, msglen, "node");
        sr_node_delete(node);
        return NULL;
    }
    if (node_gossip_new(node, err, msg, msglen) < 0) {
        sr_node_delete(node);
        return NULL;
    }
    sr_ring_set_changed_cb(node->ring, node_ring_changed, node);
    snprintf(node->self, sizeof(node->self), "%s", cfg->node.listen);
    return node;
}

int sr_node_add_service(struct sr_node *node, const struct sr_service_def *svc)
{
    if (!svc || !svc->name || !svc->name[0])
        return SR_EINVAL;
    for (size_t i = 0; i < node->nsvc; i++)
        if (strcmp(node->svc[i]->name, svc->name) == 0)
            return SR_EEXIST;
    if (node->nsvc == SR_NODE_SERVICES_MAX)
        return SR_EFULL;
    int rc = node_services_register(node, svc);
    if (rc < 0)
        return rc;
    node->svc[node->nsvc++] = svc;
    for (size_t i = 0; i < node->nsettings; i++) /* switches and limits set before it came */
        node_settings_changed(node, &node->settings[i]);
    return 0;
}

int sr_node_set_label(struct sr_node *node, const char *key, const char *value)
{
    if (node->swim)
        return sr_swim_set_label(node->swim, key, value);
    if (strlen(key) >= SR_SWIM_LABEL_MAX || (value && strlen(value) >= SR_SWIM_LABEL_MAX))
        return SR_ETOOBIG;
    size_t i = 0;
    while (i < node->nlabels && strcmp(node->labels[i].key, key) != 0)
        i++;
    if (!value) { /* remove */
        if (i < node->nlabels)
            node->labels[i] = node->labels[--node->nlabels];
        return 0;
    }
    if (i == node->nlabels && node->nlabels == SR_SWIM_LABELS_MAX)
        return SR_EFULL;
    snprintf(node->labels[i].key, SR_SWIM_LABEL_MAX, "%s", key);
    snprintf(node->labels[i].value, SR_SWIM_LABEL_MAX, "%s", value);
    node->nlabels += i == node->nlabels;
    return 0;
}
