/* The node's configuration: the "node" and "swim" sections of the layers
 * below, plus "ring", "forward", "limits", "admin", "state", "tls" and "ringpop"
 * owned here.
 * Every default of these lives in the tables below and nowhere else. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include "swimring/error.h"
#include "swimring/node.h"
#include "swimring/swim_cfg.h"

#define F(k, t, m, lo, hi, d, doc) \
    {k, t, offsetof(struct sr_node_config, m), sizeof(((struct sr_node_config *)0)->m), lo, hi, d, doc, NULL}
#define U32 SR_CFG_UINT32
#define MS SR_CFG_DURATION_MS

static const struct sr_cfg_field ring_fields[] = {
    F("points_per_member", U32, ring.points_per_member, 1, 65536, "100",
      "replica points of a member with weight 1 (ringpop: 100)"),
    F("suspect_on_ring", SR_CFG_BOOL, ring.suspect_on_ring, 0, 0, "true",
      "suspect members keep their keys until declared faulty"),
};

static const struct sr_cfg_field forward_fields[] = {
    F("max_hops", U32, forward.max_hops, 0, 16, "2",
      "times a request may be re-forwarded when rings disagree"),
    F("max_tries", U32, forward.max_tries, 1, 16, "3",
      "attempts per request across connection failures and ring changes"),
    F("timeout_ms", MS, forward.timeout_ms, 1, 600000, "5s", "default request deadline"),
    F("max_frame", U32, forward.max_frame, 1024, 1073741824, "1048576",
      "largest RPC frame, bytes; a larger one closes the connection"),
    F("max_inflight", U32, forward.max_inflight, 1, 1048576, "1024",
      "unanswered requests per RPC connection; more are refused busy"),
};

static const struct sr_cfg_field limits_fields[] = {
    F("max_body", U32, limits.max_body, 0, 1073741824, "1048576",
      "largest request body, bytes (413 above)"),
    F("rate_per_s", U32, limits.rate_per_s, 0, 100000000, "0",
      "requests per second per client and endpoint (429 above; 0 = unlimited)"),
    F("burst", U32, limits.burst, 0, 100000000, "0",
      "token bucket size per client (0 = same as rate_per_s)"),
    F("max_inflight", U32, limits.max_inflight, 0, 1048576, "0",
      "requests in progress per endpoint on this node (503 above; 0 = unlimited)"),
};

static const struct sr_cfg_field admin_fields[] = {
    F("listen", SR_CFG_STRING, admin.listen, 0, 0, "",
      "separate admin address host:port; empty = on node.http, loopback clients only"),
    F("token", SR_CFG_STRING, admin.token, 0, 0, "",
      "if set, admin requests need \"Authorization: Bearer <token>\"; required when "
      "admin.listen is not a loopback address"),
    F("faults", SR_CFG_BOOL, admin.faults, 0, 0, "false",
      "enable /admin/faults (drop or delay traffic, for chaos tests)"),
};

static const struct sr_cfg_field tls_fields[] = {
    F("enabled", SR_CFG_BOOL, tls.enabled, 0, 0, "false",
      "mutual TLS on the RPC port (forwarded requests, membership sync, handoff); "
      "SIGHUP re-reads the files"),
    F("cert_file", SR_CFG_STRING, tls.cert_file, 0, 0, "",
      "PEM: this node's certificate, then intermediates (serverAuth and clientAuth)"),
    F("key_file", SR_CFG_STRING, tls.key_file, 0, 0, "",
      "PEM: the private key of cert_file, unencrypted (keep it mode 600)"),
    F("ca_file", SR_CFG_STRING, tls.ca_file, 0, 0, "",
      "PEM: the CAs whose certificates peers may present (give a cluster its own CA)"),
    F("exceptions", SR_CFG_STRING, tls.exceptions, 0, 0, "",
      "certificates accepted despite a problem, ';'-separated \"SHA256 ALLOW UNTIL\" "
      "(ALLOW: expired, weak-signature; UNTIL: RFC 3339 UTC); more at run time "
      "with /admin/tls/exceptions"),
};

static const struct sr_cfg_field state_fields[] = {
    F("replicas", U32, state.replicas, 1, 5, "2",
      "copies of each key, owner included (services may set their own)"),
    F("ack_replicas", U32, state.ack_replicas, 1, 5, "1",
      "copies written before a write is answered (1 = owner only)"),
    F("rebalance_delay_ms", MS, state.rebalance_delay_ms, 0, 60000, "200ms",
      "quiet time after a ring change before state moves (one pass per burst)"),
    F("sync_interval_ms", MS, state.sync_interval_ms, 0, 3600000, "10s",
      "anti-entropy: compare digests with one replica peer this often (0 = off)"),
    F("batch_bytes", U32, state.batch_bytes, 1024, 16777216, "262144",
      "records per handoff batch, bytes"),
    F("batch_window", U32, state.batch_window, 1, 64, "2",
      "handoff batches in flight per peer (backpressure)"),
    F("leave_timeout_ms", MS, state.leave_timeout_ms, 0, 600000, "30s",
      "a graceful leave waits this long for its state to be handed off"),
    F("idem_window_ms", MS, state.idem_window_ms, 0, 86400000, "10m",
      "how long a write's Idempotency-Key is remembered"),
    F("idem_max", U32, state.idem_max, 0, 10000000, "100000",
      "request ids remembered per node at most (oldest forgotten first)"),
    F("backup_after_ms", MS, state.backup_after_ms, 0, 60000, "0",
      "a read the owner has not answered after this long also goes to a replica "
      "(0 = the owner's observed p95, kept within 2 ms..1 s; 20 ms until 20 answers)"),
    F("backup_reads", SR_CFG_BOOL, state.backup_reads, 0, 0, "true",
      "backup requests for idempotent reads of services with replicas >= 2"),
};

static const struct sr_cfg_field ringpop_fields[] = {
    F("identity", SR_CFG_STRING, ringpop.identity, 0, 0, "",
      "ringpop identity label (__identity): the ring places this node as \"identity#i\" "
      "like ringpop-go (empty: by its address)"),
    F("suspect_ms", MS, ringpop.suspect_ms, 100, 3600000, "5s",
      "suspect -> faulty (ringpop's fixed suspect period)"),
    F("faulty_ms", MS, ringpop.faulty_ms, 100, 864000000, "24h",
      "a faulty member is kept this long, then becomes a tombstone"),
    F("tombstone_ms", MS, ringpop.tombstone_ms, 100, 864000000, "60s",
      "a tombstone is kept this long, then forgotten"),
};

#define SEC(name, f, base) \
    (struct sr_cfg_section){name, f, sizeof f / sizeof f[0], base}

size_t sr_node_config_sections(struct sr_node_config *cfg, struct sr_cfg_section *out, size_t cap)
{
    struct sr_cfg_section all[] = {
        sr_node_cfg_section(cfg ? &cfg->node : NULL),
        sr_swim_cfg_section(cfg ? &cfg->swim : NULL),
        sr_gossip_cfg_section(cfg ? &cfg->gossip : NULL),
        SEC("ring", ring_fields, cfg),
        SEC("forward", forward_fields, cfg),
        SEC("limits", limits_fields, cfg),
        SEC("admin", admin_fields, cfg),
        SEC("state", state_fields, cfg),
        SEC("tls", tls_fields, cfg),
        SEC("ringpop", ringpop_fields, cfg),
    };
    size_t n = sizeof all / sizeof all[0];
    for (size_t i = 0; i < n && i < cap; i++)
        out[i] = all[i];
    return n;
}

#define SECS_MAX 12

void sr_node_config_default(struct sr_node_config *cfg)
{
    struct sr_cfg_section secs[SECS_MAX];
    memset(cfg, 0, sizeof(*cfg));
    size_t n = sr_node_config_sections(cfg, secs, SECS_MAX);
    (void)sr_cfg_defaults(secs, n);
    snprintf(cfg->swim_profile, sizeof(cfg->swim_profile), "lan");
}

int sr_node_config_profile(struct sr_node_config *cfg, const char *profile)
{
    if (strcmp(profile, "lan") == 0)
        sr_swim_cfg_default_lan(&cfg->swim);
    else if (strcmp(profile, "local") == 0)
        sr_swim_cfg_default_local(&cfg->swim);
    else
        return SR_EINVAL;
    snprintf(cfg->swim_profile, sizeof(cfg->swim_profile), "%s", profile);
    return 0;
}

int sr_node_config_load_file(struct sr_node_config *cfg, const char *path, char *err,
                             size_t errlen)
{
    struct sr_cfg_section secs[SECS_MAX];
    size_t n = sr_node_config_sections(cfg, secs, SECS_MAX);
    return sr_cfg_load_file(secs, n, path, err, errlen);
}

int sr_node_config_set(struct sr_node_config *cfg, const char *key, const char *value, char *err,
                       size_t errlen)
{
    struct sr_cfg_section secs[SECS_MAX];
    size_t n = sr_node_config_sections(cfg, secs, SECS_MAX);
    return sr_cfg_set(secs, n, key, value, err, errlen);
}
