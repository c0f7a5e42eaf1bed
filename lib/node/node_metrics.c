/* /metrics: Prometheus text exposition format 0.0.4, written from the
 * counters each layer keeps. Names are swimring_*; every family has HELP
 * and TYPE lines. */
#include <inttypes.h>
#include <string.h>
#include "swimring/buf.h"
#include "swimring/error.h"
#include <jansson.h>
#include "node_fwd.h"
#include "node_state.h"

/* Upper bounds of the forward latency histogram, microseconds. */
static const uint32_t lat_le_us[15] = {50, 100, 250, 500, 1000, 2500, 5000, 10000, 25000,
                                       50000, 100000, 250000, 500000, 1000000, 2500000};

static bool retryable(int st)
{
    return st == SR_EBUSY || st == SR_ENOTOWNER || st == SR_EUNREACH || st == SR_ETIMEDOUT ||
           st == SR_ECONNLOST || st == SR_EAGAIN || st == SR_ECLOSED;
}

void node_fwd_count(struct sr_node *node, const struct node_call *c, int status)
{
    struct node_ep *ep = &node->ep[c->ep - node->ep];
    if (status == SR_ECANCELED)
        return;
    if (c->forwarded) {
        ep->forwarded++;
        sr_time_us took = sr_time_mono_us() - (c->deadline - (sr_time_us)c->timeout_ms * SR_US_PER_MS);
        size_t b = 0;
        while (b < 15 && took > lat_le_us[b])
            b++;
        ep->lat_bucket[b]++;
        ep->lat_count++;
        ep->lat_sum_us += took;
    } else {
        ep->local++;
    }
    if (status >= 0)
        ep->ok++;
    else if (retryable(status))
        ep->retryable++;
    else
        ep->failed++;
}

static int family(struct sr_buf *b, const char *name, const char *type, const char *help)
{
    return sr_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static int swim_metrics(struct sr_node *node, struct sr_buf *b)
{
    int rc = family(b, "swimring_members", "gauge", "Members this node sees, by status.");
    for (int st = SR_SWIM_ALIVE; rc == 0 && st <= SR_SWIM_LEFT; st++)
        rc = sr_buf_printf(b, "swimring_members{status=\"%s\"} %zu\n",
                           sr_swim_status_name((enum sr_swim_status)st),
                           node->swim ? sr_swim_count(node->swim, (enum sr_swim_status)st) : 0);
    if (rc || !node->swim)
        return rc;
    const struct sr_swim_stats *s = sr_swim_stats(node->swim);
    rc |= family(b, "swimring_gossip_packets_total", "counter", "Gossip datagrams.");
    rc |= sr_buf_printf(b, "swimring_gossip_packets_total{dir=\"in\"} %" PRIu64 "\n"
                           "swimring_gossip_packets_total{dir=\"out\"} %" PRIu64 "\n",
                        s->packets_in, s->packets_out);
    rc |= family(b, "swimring_gossip_bytes_total", "counter", "Gossip bytes.");
    rc |= sr_buf_printf(b, "swimring_gossip_bytes_total{dir=\"in\"} %" PRIu64 "\n"
                           "swimring_gossip_bytes_total{dir=\"out\"} %" PRIu64 "\n",
                        s->bytes_in, s->bytes_out);
    rc |= family(b, "swimring_gossip_dropped_total", "counter", "Bad datagrams dropped, by reason.");
    rc |= sr_buf_printf(b, "swimring_gossip_dropped_total{reason=\"truncated\"} %" PRIu64 "\n"
                           "swimring_gossip_dropped_total{reason=\"version\"} %" PRIu64 "\n"
                           "swimring_gossip_dropped_total{reason=\"checksum\"} %" PRIu64 "\n"
                           "swimring_gossip_dropped_total{reason=\"malformed\"} %" PRIu64 "\n"
                           "swimring_gossip_dropped_total{reason=\"oversize\"} %" PRIu64 "\n",
                        s->drop_truncated, s->drop_version, s->drop_checksum, s->drop_malformed,
                        s->drop_oversize);
    rc |= family(b, "swimring_suspicions_total", "counter", "Members this node suspected.");
    rc |= sr_buf_printf(b, "swimring_suspicions_total %" PRIu64 "\n", s->suspicions);
    rc |= family(b, "swimring_faulty_declared_total", "counter", "Members declared faulty.");
    rc |= sr_buf_printf(b, "swimring_faulty_declared_total %" PRIu64 "\n", s->faulty_declared);
    rc |= family(b, "swimring_full_syncs_total", "counter", "Full membership syncs completed.");
    rc |= sr_buf_printf(b, "swimring_full_syncs_total %" PRIu64 "\n", node->st.full_syncs_rpc);
    rc |= family(b, "swimring_awareness", "gauge", "Lifeguard local health (0 = healthy).");
    rc |= sr_buf_printf(b, "swimring_awareness %u\n", s->awareness);
    return rc;
}

static int ring_metrics(struct sr_node *node, struct sr_buf *b)
{
    int rc = family(b, "swimring_ring_members", "gauge", "Members on this node's ring.");
    rc |= sr_buf_printf(b, "swimring_ring_members %zu\n", sr_ring_member_count(node->ring));
    rc |= family(b, "swimring_ring_changes_total", "counter", "Ring changes applied.");
    rc |= sr_buf_printf(b, "swimring_ring_changes_total %" PRIu64 "\n", node->st.ring_changes);
    rc |= family(b, "swimring_ring_ranges_moved_total", "counter", "Hash ranges that changed owner.");
    rc |= sr_buf_printf(b, "swimring_ring_ranges_moved_total %" PRIu64 "\n", node->st.ranges_moved);
    return rc;
}

#define EPL "service=\"%s\",endpoint=\"%s\""

static int ep_metrics(struct sr_node *node, struct sr_buf *b)
{
    int rc = family(b, "swimring_requests_total", "counter",
                    "Requests started on this node by route (local, forwarded) and outcome.");
    for (size_t i = 0; i < node->nep; i++) {
        const struct node_ep *e = &node->ep[i];
        const char *s = e->svc->name, *n = e->def->name;
        rc |= sr_buf_printf(b,
                            "swimring_requests_total{" EPL ",outcome=\"local\"} %" PRIu64 "\n"
                            "swimring_requests_total{" EPL ",outcome=\"forwarded\"} %" PRIu64 "\n"
                            "swimring_requests_total{" EPL ",outcome=\"ok\"} %" PRIu64 "\n"
                            "swimring_requests_total{" EPL ",outcome=\"retryable\"} %" PRIu64 "\n"
                            "swimring_requests_total{" EPL ",outcome=\"failed\"} %" PRIu64 "\n",
                            s, n, e->local, s, n, e->forwarded, s, n, e->ok, s, n, e->retryable,
                            s, n, e->failed);
    }
    rc |= family(b, "swimring_refused_total", "counter",
                 "Requests refused at admission, by reason.");
    for (size_t i = 0; i < node->nep; i++) {
        const struct node_ep *e = &node->ep[i];
        const char *s = e->svc->name, *n = e->def->name;
        rc |= sr_buf_printf(b,
                            "swimring_refused_total{" EPL ",reason=\"body\"} %" PRIu64 "\n"
                            "swimring_refused_total{" EPL ",reason=\"rate\"} %" PRIu64 "\n"
                            "swimring_refused_total{" EPL ",reason=\"inflight\"} %" PRIu64 "\n"
                            "swimring_refused_total{" EPL ",reason=\"kill_drop\"} %" PRIu64 "\n"
                            "swimring_refused_total{" EPL ",reason=\"kill_reject\"} %" PRIu64 "\n"
                            "swimring_refused_total{" EPL ",reason=\"kill_log\"} %" PRIu64 "\n",
                            s, n, e->refused_body, s, n, e->refused_rate, s, n,
                            e->refused_inflight, s, n, e->killed_drop, s, n, e->killed_reject, s,
                            n, e->killed_log);
    }
    rc |= family(b, "swimring_forward_latency_seconds", "histogram",
                 "Latency of requests forwarded to another node, entry to answer.");
    for (size_t i = 0; i < node->nep; i++) {
        const struct node_ep *e = &node->ep[i];
        uint64_t cum = 0;
        for (size_t k = 0; k < 15; k++) {
            cum += e->lat_bucket[k];
            rc |= sr_buf_printf(b, "swimring_forward_latency_seconds_bucket{" EPL ",le=\"%g\"} %" PRIu64 "\n",
                                e->svc->name, e->def->name, lat_le_us[k] / 1e6, cum);
        }
        rc |= sr_buf_printf(b,
                            "swimring_forward_latency_seconds_bucket{" EPL ",le=\"+Inf\"} %" PRIu64 "\n"
                            "swimring_forward_latency_seconds_sum{" EPL "} %.6f\n"
                            "swimring_forward_latency_seconds_count{" EPL "} %" PRIu64 "\n",
                            e->svc->name, e->def->name, e->lat_count, e->svc->name, e->def->name,
                            (double)e->lat_sum_us / 1e6, e->svc->name, e->def->name, e->lat_count);
    }
    return rc;
}

static int fwd_metrics(struct sr_node *node, struct sr_buf *b)
{
    const struct node_fwd_stats *f = &node->fst;
    int rc = family(b, "swimring_forward_total", "counter",
                    "Requests from peers: received, forwarded again, refused as not owner; retries.");
    rc |= sr_buf_printf(b, "swimring_forward_total{event=\"received\"} %" PRIu64 "\n"
                           "swimring_forward_total{event=\"reforwarded\"} %" PRIu64 "\n"
                           "swimring_forward_total{event=\"not_owner\"} %" PRIu64 "\n"
                           "swimring_forward_total{event=\"retry\"} %" PRIu64 "\n",
                        f->received, f->reforwarded, f->not_owner, f->retries);
    if (node->rpc) {
        struct sr_rpc_stats r;
        sr_rpc_stats_get(node->rpc, &r);
        rc |= family(b, "swimring_rpc_bytes_total", "counter", "RPC frame bytes.");
        rc |= sr_buf_printf(b, "swimring_rpc_bytes_total{dir=\"in\"} %" PRIu64 "\n"
                               "swimring_rpc_bytes_total{dir=\"out\"} %" PRIu64 "\n",
                            r.bytes_received, r.bytes_sent);
        rc |= family(b, "swimring_rpc_errors_total", "counter", "RPC failures, by kind.");
        rc |= sr_buf_printf(b, "swimring_rpc_errors_total{kind=\"timeout\"} %" PRIu64 "\n"
                               "swimring_rpc_errors_total{kind=\"conn_lost\"} %" PRIu64 "\n"
                               "swimring_rpc_errors_total{kind=\"not_sent\"} %" PRIu64 "\n"
                               "swimring_rpc_errors_total{kind=\"busy\"} %" PRIu64 "\n"
                               "swimring_rpc_errors_total{kind=\"bad_frame\"} %" PRIu64 "\n",
                            r.timeouts, r.conn_lost, r.not_sent, r.busy, r.frame_errors);
        rc |= family(b, "swimring_rpc_late_responses_total", "counter",
                     "RPC answers that came after their call had completed (timed out, "
                     "cancelled) or that matched no call; dropped.");
        rc |= sr_buf_printf(b, "swimring_rpc_late_responses_total %" PRIu64 "\n",
                            r.late_responses);
        rc |= family(b, "swimring_rpc_cancels_total", "counter",
                     "RPC cancel frames: out for written calls given up here (cancelled or "
                     "timed out), in for requests their caller gave up.");
        rc |= sr_buf_printf(b, "swimring_rpc_cancels_total{dir=\"in\"} %" PRIu64 "\n"
                               "swimring_rpc_cancels_total{dir=\"out\"} %" PRIu64 "\n",
                            r.cancels_received, r.cancels_sent);
        rc |= family(b, "swimring_rpc_canceled_answers_total", "counter",
                     "Answers not sent because their caller had cancelled the request.");
        rc |= sr_buf_printf(b, "swimring_rpc_canceled_answers_total %" PRIu64 "\n",
                            r.answers_canceled);
    }
    const struct node_http_stats *h = &node->hst;
    rc |= family(b, "swimring_http_requests_total", "counter", "HTTP requests received.");
    rc |= sr_buf_printf(b, "swimring_http_requests_total %" PRIu64 "\n", h->requests);
    rc |= family(b, "swimring_http_answers_total", "counter", "Service answers by status class.");
    for (int k = 2; k <= 5; k++)
        rc |= sr_buf_printf(b, "swimring_http_answers_total{class=\"%dxx\"} %" PRIu64 "\n", k,
                            h->by_class[k]);
    rc |= family(b, "swimring_http_client_gone_total", "counter",
                 "Answers dropped because the client hung up first.");
    rc |= sr_buf_printf(b, "swimring_http_client_gone_total %" PRIu64 "\n", h->client_gone);
    return rc;
}

/* Backup reads: node-wide counters, and the current delay of every
 * endpoint that may be backed up. */
static int backup_metrics(struct sr_node *node, struct sr_buf *b)
{
    const struct node_state_stats *t = &node->state->st;
    int rc = family(b, "swimring_backup_requests_total", "counter",
                    "Backup requests for slow reads: sent and won (answered first) here as "
                    "the entry node, served and refused here as the replica.");
    rc |= sr_buf_printf(b, "swimring_backup_requests_total{event=\"sent\"} %" PRIu64 "\n"
                           "swimring_backup_requests_total{event=\"won\"} %" PRIu64 "\n"
                           "swimring_backup_requests_total{event=\"served\"} %" PRIu64 "\n"
                           "swimring_backup_requests_total{event=\"refused\"} %" PRIu64 "\n",
                        t->backup_sent, t->backup_won, t->backup_served, t->backup_refused);
    rc |= family(b, "swimring_backup_delay_seconds", "gauge",
                 "How long a forwarded read waits for its owner before a backup goes to a replica.");
    for (size_t i = 0; i < node->nep; i++) {
        const struct node_ep *e = &node->ep[i];
        if (node_backup_ep_ok(node, e))
            rc |= sr_buf_printf(b, "swimring_backup_delay_seconds{" EPL "} %.6f\n", e->svc->name,
                                e->def->name, (double)node_backup_delay_us(node, e) / 1e6);
    }
    return rc;
}

int node_metrics_write(struct sr_node *node, struct sr_buf *out)
{
    int rc = swim_metrics(node, out);
    rc |= ring_metrics(node, out);
    rc |= ep_metrics(node, out);
    rc |= fwd_metrics(node, out);
    if (node->state)
        rc |= backup_metrics(node, out);
    return rc ? SR_ENOMEM : 0;
}

#include "node_admin.h"
void node_admin_status_extra(struct sr_node *node, json_t *j)
{
    json_int_t local = 0, fwd = 0, refused = 0;
    for (size_t i = 0; i < node->nep; i++) {
        const struct node_ep *e = &node->ep[i];
        local += (json_int_t)e->local;
        fwd += (json_int_t)e->forwarded;
        refused += (json_int_t)(e->refused_body + e->refused_rate + e->refused_inflight +
                                e->killed_drop + e->killed_reject + e->killed_log);
    }
    json_object_set_new(j, "requests", json_pack("{s:I, s:I, s:I, s:I}", "local", local,
                                                 "forwarded", fwd, "refused", refused,
                                                 "from_peers", (json_int_t)node->fst.received));
}
