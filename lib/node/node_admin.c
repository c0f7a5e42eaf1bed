/* Admin views of a node as JSON (jansson): the HTTP glue in node_http.c
 * serves them under /admin/. Pure functions of the node's state. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "swimring/error.h"
#include "node_admin.h"
#include "node_ringpop.h"

#ifndef SWIMRING_VERSION
#define SWIMRING_VERSION "0.1.0"
#endif

static json_t *admin_labels(const struct sr_swim_member_info *m)
{
    json_t *labels = json_object();
    for (size_t i = 0; labels && i < m->nlabels; i++)
        json_object_set_new(labels, m->labels[i].key, json_string(m->labels[i].value));
    return labels;
}

static void admin_add_member(void *ud, const struct sr_swim_member_info *m)
{
    json_array_append_new(ud, json_pack("{s:s, s:s, s:s, s:I, s:o, s:b}", "address", m->addr,
                                        "name", m->name, "status", sr_swim_status_name(m->status),
                                        "incarnation", (json_int_t)m->incarnation, "labels",
                                        admin_labels(m), "self", m->is_self));
}

static json_t *admin_hex64(uint64_t v)
{
    char s[24];
    snprintf(s, sizeof s, "%016" PRIx64, v);
    return json_string(s);
}

json_t *node_admin_members(struct sr_node *node)
{
    json_t *members = json_array();
    if (node->swim)
        sr_swim_foreach(node->swim, admin_add_member, members);
    return json_pack("{s:s, s:o, s:o}", "self", node->self, "checksum",
                     admin_hex64(node->swim ? sr_swim_checksum(node->swim) : 0), "members",
                     members);
}

static json_t *admin_counts(struct sr_node *node)
{
    json_t *o = json_object();
    for (int st = SR_SWIM_ALIVE; st <= SR_SWIM_LEFT; st++)
        json_object_set_new(o, sr_swim_status_name((enum sr_swim_status)st),
                            json_integer(node->swim ? (json_int_t)sr_swim_count(
                                                          node->swim, (enum sr_swim_status)st)
                                                    : 0));
    return o;
}

static json_t *admin_services(struct sr_node *node)
{
    json_t *o = json_object();
    for (size_t i = 0; i < node->nsvc; i++) {
        const struct sr_service_def *s = node->svc[i];
        json_t *svc = json_pack("{s:i}", "endpoints", (int)s->nendpoints);
        if (s->key_count)
            json_object_set_new(svc, "keys", json_integer((json_int_t)s->key_count(s->ud)));
        json_object_set_new(o, s->name, svc);
    }
    return o;
}

json_t *node_admin_status(struct sr_node *node)
{
    sr_time_us up = node->started ? sr_time_mono_us() - node->started_at : 0;
    json_t *ring = json_pack("{s:I, s:I, s:I}", "checksum",
                             (json_int_t)sr_ring_checksum(node->ring), "members",
                             (json_int_t)sr_ring_member_count(node->ring), "changes",
                             (json_int_t)node->st.ring_changes);
    json_t *j = json_pack("{s:s, s:s, s:s, s:f, s:b, s:o, s:o, s:o, s:o, s:I}", "self", node->self,
                          "name", node->cfg.node.name[0] ? node->cfg.node.name : node->self,
                          "version", SWIMRING_VERSION, "uptime_s", (double)up / 1e6, "leaving",
                          node->leaving, "members", admin_counts(node), "membership_checksum",
                          admin_hex64(node->swim ? sr_swim_checksum(node->swim) : 0), "ring",
                          ring, "services", admin_services(node), "request_timeout_ms",
                          (json_int_t)node->cfg.forward.timeout_ms);
    json_object_set_new(j, "swim", json_pack("{s:s, s:i, s:i}", "profile", node->cfg.swim_profile,
                                             "period_ms", (int)node->cfg.swim.period_ms,
                                             "ping_timeout_ms", (int)node->cfg.swim.ping_timeout_ms));
    json_object_set_new(j, "gossip", node_gossip_keys_json(node));
    node_admin_status_extra(node, j);
    return j;
}

json_t *node_admin_ring(struct sr_node *node)
{
    size_t n = sr_ring_member_count(node->ring);
    struct sr_ring_owner_stat *st = calloc(n ? n : 1, sizeof(*st));
    json_t *members = json_array();
    if (st) {
        n = sr_ring_stats(node->ring, st, n);
        for (size_t i = 0; i < n; i++)
            json_array_append_new(members, json_pack("{s:s, s:i, s:f, s:f}", "address",
                                                     st[i].address, "points", (int)st[i].points,
                                                     "weight", st[i].weight, "fraction",
                                                     st[i].fraction));
    }
    free(st);
    return json_pack("{s:I, s:I, s:o}", "checksum", (json_int_t)sr_ring_checksum(node->ring),
                     "points", (json_int_t)sr_ring_point_count(node->ring), "members", members);
}

json_t *node_admin_lookup(struct sr_node *node, const char *key, size_t len, unsigned n)
{
    const char *out[16];
    if (n == 0 || n > 16)
        n = n ? 16 : 1;
    size_t got = sr_ring_lookup_n(node->ring, key, len, out, n);
    json_t *replicas = json_array();
    for (size_t i = 0; i < got; i++)
        json_array_append_new(replicas, json_string(out[i]));
    return json_pack("{s:s%, s:I, s:o, s:o, s:b}", "key", key, len, "hash",
                     (json_int_t)sr_ring_hash(key, len), "owner",
                     got ? json_string(out[0]) : json_null(), "replicas", replicas, "local",
                     got && strcmp(out[0], node->self) == 0);
}

const struct sr_service_def *node_service(const struct sr_node *node, const char *name)
{
    for (size_t i = 0; i < node->nsvc; i++)
        if (strcmp(node->svc[i]->name, name) == 0)
            return node->svc[i];
    return NULL;
}

json_t *node_admin_keys(struct sr_node *node, const char *service, const char *key, size_t len,
                        int *status)
{
    const struct sr_service_def *s = node_service(node, service);
    *status = 200;
    if (!s || !s->has_key) {
        *status = 404;
        return json_pack("{s:s, s:s}", "error", "SR_ENOTFOUND", "message",
                         s ? "service does not expose its keys" : "no such service");
    }
    const char *owner = sr_ring_lookup(node->ring, key, len);
    return json_pack("{s:s, s:s%, s:b, s:o, s:s}", "service", service, "key", key, len, "local",
                     s->has_key(s->ud, key, len), "owner", owner ? json_string(owner) : json_null(),
                     "self", node->self);
}

#define STAT(obj, st, f) json_object_set_new(obj, #f, json_integer((json_int_t)(st)->f))

json_t *node_admin_stats(struct sr_node *node)
{
    json_t *j = json_object();
    if (!j || !node->swim)
        return j;
    const struct sr_swim_stats *c = sr_swim_stats(node->swim);
    static const struct sr_swim_udp_stats none; /* ringpop wire: no UDP driver */
    const struct sr_swim_udp_stats *d = node->udp ? sr_swim_udp_stats(node->udp) : &none;
    STAT(j, c, packets_in); STAT(j, c, packets_out); STAT(j, c, bytes_in); STAT(j, c, bytes_out);
    STAT(j, c, pings_sent); STAT(j, c, ping_reqs_sent); STAT(j, c, acks_sent);
    STAT(j, c, nacks_sent); STAT(j, c, drop_truncated); STAT(j, c, drop_version);
    STAT(j, c, drop_checksum); STAT(j, c, drop_malformed); STAT(j, c, drop_oversize);
    STAT(j, c, suspicions); STAT(j, c, faulty_declared); STAT(j, c, refutations);
    STAT(j, c, full_syncs_requested); STAT(j, c, full_syncs_merged);
    STAT(j, c, updates_sent); STAT(j, c, updates_received); STAT(j, c, awareness);
    STAT(j, d, send_eagain); STAT(j, d, send_errors); STAT(j, d, resolve_failed);
    STAT(j, d, recv_errors); STAT(j, d, recv_oversize); STAT(j, d, syncs_out);
    STAT(j, d, syncs_in); STAT(j, d, sync_failed);
    json_object_set_new(j, "full_syncs_rpc", json_integer((json_int_t)node->st.full_syncs_rpc));
    node_gossip_stats_json(node, j);
    node_tls_stats_json(node, j);
    node_ringpop_stats_json(node, j);
    return j;
}
