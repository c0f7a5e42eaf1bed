/* Gossip encryption in the UDP driver: seal what the core sends, open what
 * arrives before the core sees it (gossip_crypto.h). The core only sees a
 * smaller MTU. */
#include <stdlib.h>
#include "swimring/error.h"
#include "swimring/gossip_crypto.h"
#include "swimring/time.h"
#include "udp_impl.h"

static uint64_t wall_ms(void) { return sr_time_wall_us() / SR_US_PER_MS; }

int sr_swim_udp_gossip_init(struct sr_swim_udp *u, struct sr_swim_cfg *core_cfg)
{
    if (!u->opts.gossip)
        return 0;
    if (core_cfg->mtu < 256 + SR_GOSSIP_OVERHEAD)
        return SR_EINVAL; /* the core needs 256 bytes of its own */
    u->sealcap = core_cfg->mtu;
    core_cfg->mtu -= SR_GOSSIP_OVERHEAD; /* sealed datagrams stay within cfg.mtu */
    u->sealbuf = malloc(u->sealcap);
    return u->sealbuf ? 0 : SR_ENOMEM;
}

void sr_swim_udp_gossip_free(struct sr_swim_udp *u)
{
    free(u->sealbuf);
    u->sealbuf = NULL;
}

bool sr_swim_udp_gossip_out(struct sr_swim_udp *u, const void **data, size_t *len)
{
    struct sr_gossip *g = u->opts.gossip;
    if (!g || sr_gossip_sends_plaintext(g))
        return true;
    int n = sr_gossip_seal(g, wall_ms(), *data, *len, u->sealbuf, u->sealcap);
    if (n < 0) {
        u->stats.send_errors++;
        return false;
    }
    *data = u->sealbuf;
    *len = (size_t)n;
    return true;
}

/* One warn line per reason per SR_SWIM_UDP_GOSSIP_LOG_MS at most: a flood
 * of bad datagrams must not flood the log, but the first of each kind is
 * always told (a plaintext node must not hide a wrong-key one). */
static void log_rejected(struct sr_swim_udp *u, const char *from, enum sr_gossip_verdict v,
                         const uint8_t *buf, size_t len)
{
    sr_time_us now = sr_time_mono_us();
    if (u->gossip_log_at[v] &&
        now - u->gossip_log_at[v] < SR_SWIM_UDP_GOSSIP_LOG_MS * SR_US_PER_MS) {
        u->gossip_log_skipped[v]++;
        return;
    }
    struct sr_gossip_header h;
    char theirs[SR_GOSSIP_ID_HEX + 1] = "-", ours[SR_GOSSIP_ID_HEX + 1] = "-";
    uint32_t id;
    if (sr_gossip_header_get(buf, len, &h) == SR_GOSSIP_OK)
        sr_gossip_id_format(h.key_id, theirs);
    if (u->opts.gossip && sr_gossip_primary(u->opts.gossip, &id))
        sr_gossip_id_format(id, ours);
    SR_WARN(u->log, "gossip.rejected",
            "peer=%s why=\"%s\" reason=%s key_id=%s our_key_id=%s not_logged=%llu", from,
            v == SR_GOSSIP_OK ? "sealed datagram, but this node has no gossip key"
                              : sr_gossip_verdict_text(v),
            v == SR_GOSSIP_OK ? "no_key" : sr_gossip_verdict_name(v), theirs, ours,
            (unsigned long long)u->gossip_log_skipped[v]);
    u->gossip_log_at[v] = now;
    u->gossip_log_skipped[v] = 0;
}

bool sr_swim_udp_gossip_in(struct sr_swim_udp *u, const char *from, const uint8_t **data,
                           size_t *len)
{
    struct sr_gossip *g = u->opts.gossip;
    if (!g) {
        /* the core drops it (bad magic, counted); say why in the log, under
         * the verdict slot OK, which no real rejection uses */
        if (*len > 0 && (*data)[0] == SR_GOSSIP_MAGIC)
            log_rejected(u, from, SR_GOSSIP_OK, *data, *len);
        return true;
    }
    uint8_t *buf = (uint8_t *)*data; /* the driver's own receive buffer */
    enum sr_gossip_verdict v = sr_gossip_open(g, wall_ms(), buf, *len, data, len);
    if (v == SR_GOSSIP_OK)
        return true;
    log_rejected(u, from, v, buf, *len);
    return false;
}
