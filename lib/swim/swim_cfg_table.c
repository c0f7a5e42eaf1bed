/* The "swim" YAML section: one row per struct sr_swim_cfg field. Defaults
 * must equal sr_swim_cfg_default_lan(); tests/unit/test_config.c checks it. */
#include <stddef.h>
#include "swimring/swim_cfg.h"

#define U(k, t, lo, hi, d, doc) \
    {#k, t, offsetof(struct sr_swim_cfg, k), sizeof(uint32_t), lo, hi, d, doc, NULL}
#define MS SR_CFG_DURATION_MS
#define N SR_CFG_UINT32

static const struct sr_cfg_field swim_fields[] = {
    U(period_ms, MS, 10, 60000, "1000", "protocol period: one probe per period"),
    U(ping_timeout_ms, MS, 1, 60000, "500", "direct ack deadline before ping-req (< period_ms)"),
    U(ping_req_k, N, 0, 16, "3", "indirect probers per failed probe"),
    U(suspicion_min_mult, N, 1, 100, "2", "min suspicion = mult * log10(n) * period"),
    U(suspicion_max_mult, N, 1, 100, "6", "max suspicion = mult * min suspicion"),
    U(retransmit_mult, N, 1, 100, "8", "each update is sent ~mult * log10(n+1) times"),
    U(gossip_interval_ms, MS, 0, 60000, "200", "extra gossip rounds while updates are pending (0 = off)"),
    U(gossip_fanout, N, 0, 64, "3", "peers per extra gossip round"),
    U(awareness_max, N, 1, 64, "8", "Lifeguard local-health ceiling (1 disables)"),
    U(mtu, N, 576, 65507, "1400", "datagram size limit, bytes"),
    U(tombstone_ms, MS, 0, 86400000, "1m", "how long faulty/left records are kept"),
    U(full_sync_interval_ms, MS, 0, 3600000, "2s", "min time between anti-entropy syncs"),
    U(heal_probe_ms, MS, 0, 3600000, "2s", "how often a faulty address is re-probed"),
    U(join_retry_min_ms, MS, 1, 3600000, "200ms", "join backoff start (doubles up to join_retry_max_ms)"),
    U(join_retry_max_ms, MS, 1, 3600000, "30s", "join backoff cap"),
    U(ping_req_timeout_ms, MS, 0, 600000, "0", "ringpop: a probe lasts ping_timeout + this and stretches the period (0 = probe ends with the period)"),
    U(accept_unknown_down, N, 0, 1, "0", "ringpop: news of an unknown member in any state creates it (0 = only alive news)"),
    U(tombstone_evict_ms, MS, 0, 86400000, "0", "ringpop: faulty members become tombstones after tombstone_ms and are removed this much later (0 = removed at tombstone_ms)"),
    U(labels_every_state, N, 0, 1, "0", "ringpop: labels travel with every state (0 = only with alive)"),
    U(plain_dissemination, N, 0, 1, "0", "ringpop: piggyback exactly what is queued (0 = also the doubted addressee's record, direct refutations, echo damping)"),
    U(quiet_sync, N, 0, 1, "0", "ringpop: full-sync entries apply as they are and are not relayed (0 = faulty counts as suspicion, relayed at 1/4 budget)"),
};

struct sr_cfg_section sr_swim_cfg_section(struct sr_swim_cfg *cfg)
{
    return (struct sr_cfg_section){"swim", swim_fields, sizeof swim_fields / sizeof swim_fields[0], cfg};
}
