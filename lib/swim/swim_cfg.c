/* Every default of the SWIM core, in one place (CONVENTIONS item 10), plus
 * validation and the name tables. */
#include <stdio.h>
#include "swimring/error.h"
#include "swimring/swim.h"

void sr_swim_cfg_default_lan(struct sr_swim_cfg *cfg)
{
    /* memberlist DefaultLANConfig timings; the extras are ours */
    *cfg = (struct sr_swim_cfg){
        .period_ms = 1000,
        .ping_timeout_ms = 500,
        .ping_req_k = 3,
        .suspicion_min_mult = 2, /* memberlist: 4; with Lifeguard confirmations 2 kept 0 false positives at 10 and 20 % loss in the simulator */
        .suspicion_max_mult = 6,
        .retransmit_mult = 8, /* memberlist: 4; our rumour feedback (dissem_seen) retires news sooner */
        .gossip_interval_ms = 200,
        .gossip_fanout = 3,
        .awareness_max = 8,
        .mtu = 1400,
        .tombstone_ms = 60000,
        .full_sync_interval_ms = 2000,
        .heal_probe_ms = 2000,
        .join_retry_min_ms = 200, /* nodes started together: retry soon */
        .join_retry_max_ms = 30000,
    };
}

void sr_swim_cfg_default_local(struct sr_swim_cfg *cfg)
{
    /* loopback: no real latency, so everything runs about 5x faster */
    sr_swim_cfg_default_lan(cfg);
    cfg->period_ms = 200;
    cfg->ping_timeout_ms = 100;
    cfg->gossip_interval_ms = 50;
    cfg->tombstone_ms = 10000;
    cfg->full_sync_interval_ms = 1000;
    cfg->heal_probe_ms = 500;
    cfg->join_retry_min_ms = 100;
    cfg->join_retry_max_ms = 2000;
}

static int bad(char *err, size_t errlen, const char *msg)
{
    if (err != NULL && errlen > 0)
        snprintf(err, errlen, "%s", msg);
    return SR_EINVAL;
}

int sr_swim_cfg_validate(const struct sr_swim_cfg *c, char *err, size_t errlen)
{
    if (c->period_ms == 0)
        return bad(err, errlen, "period_ms: must be > 0");
    if (c->ping_timeout_ms == 0 || (c->ping_timeout_ms >= c->period_ms && c->ping_req_timeout_ms == 0))
        return bad(err, errlen, "ping_timeout_ms: must be > 0 and < period_ms (unless ping_req_timeout_ms is set)");
    if (c->accept_unknown_down > 1 || c->quiet_sync > 1 || c->labels_every_state > 1 ||
        c->plain_dissemination > 1)
        return bad(err, errlen, "accept_unknown_down, quiet_sync, labels_every_state, "
                                "plain_dissemination: must be 0 or 1");
    if (c->ping_req_k > 16)
        return bad(err, errlen, "ping_req_k: must be <= 16");
    if (c->suspicion_min_mult == 0)
        return bad(err, errlen, "suspicion_min_mult: must be >= 1");
    if (c->suspicion_max_mult == 0)
        return bad(err, errlen, "suspicion_max_mult: must be >= 1");
    if (c->retransmit_mult == 0)
        return bad(err, errlen, "retransmit_mult: must be >= 1");
    if (c->gossip_interval_ms > 0 && c->gossip_fanout == 0)
        return bad(err, errlen, "gossip_fanout: must be >= 1 when gossip_interval_ms > 0");
    if (c->awareness_max == 0 || c->awareness_max > 64)
        return bad(err, errlen, "awareness_max: must be 1..64");
    if (c->mtu < 256 || c->mtu > 65507)
        return bad(err, errlen, "mtu: must be 256..65507");
    if (c->tombstone_ms < c->period_ms)
        return bad(err, errlen, "tombstone_ms: must be >= period_ms");
    if (c->heal_probe_ms == 0)
        return bad(err, errlen, "heal_probe_ms: must be > 0");
    if (c->join_retry_min_ms == 0 || c->join_retry_max_ms < c->join_retry_min_ms)
        return bad(err, errlen, "join_retry_min_ms/join_retry_max_ms: need 0 < min <= max");
    return 0;
}

const char *sr_swim_status_name(enum sr_swim_status st)
{
    static const char *const names[] = {"alive", "suspect", "faulty", "left", "tombstone"};
    return (unsigned)st < 5 ? names[st] : "unknown";
}

const char *sr_swim_event_name(enum sr_swim_event_type t)
{
    static const char *const names[] = {"joined", "suspect", "faulty", "recovered",
                                        "left", "labels", "removed", "checksum"};
    return (unsigned)t < 8 ? names[t] : "unknown";
}
