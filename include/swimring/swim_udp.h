/* The real SWIM driver: binds the sans-I/O core (swim.h) to libevent, one
 * non-blocking UDP socket for gossip and a TCP listener on the same
 * host:port for full state syncs.
 *
 * Full-sync frame (TCP, both directions, one exchange per connection):
 *
 *   +----------------+---------------------------------+
 *   | len (u32, BE)  | sr_swim_encode_state() bytes    |
 *   +----------------+---------------------------------+
 *
 * len is capped at SR_SWIM_UDP_SYNC_MAX; a larger frame closes the
 * connection and counts in sync_failed. The connecting side sends first;
 * the listener merges what it read and answers with its own state.
 *
 * Everything runs on the caller's event_base, from its thread. */
#ifndef SWIMRING_SWIM_UDP_H
#define SWIMRING_SWIM_UDP_H

#include <stdint.h>
#include "swimring/export.h"
#include "swimring/log.h"
#include "swimring/swim.h"

#define SR_SWIM_UDP_SYNC_MAX (16u * 1024u * 1024u) /* full-sync frame cap, bytes */
#define SR_SWIM_UDP_SYNC_TIMEOUT_MS 5000u           /* whole-exchange I/O timeout */
#define SR_SWIM_UDP_READ_BURST 64u                  /* datagrams drained per readiness */

struct event_base;
struct sr_gossip;
struct sr_swim_udp;

/* Driver-level counters (the core has its own, see sr_swim_stats). */
struct sr_swim_udp_stats {
    uint64_t send_eagain;    /* datagrams dropped: socket buffer full */
    uint64_t send_errors;    /* other sendto failures */
    uint64_t resolve_failed; /* destinations that did not resolve */
    uint64_t recv_errors;    /* recvfrom failures other than EAGAIN */
    uint64_t recv_oversize;  /* datagrams longer than the receive buffer */
    uint64_t syncs_out, syncs_in, sync_failed;
    uint64_t filtered;       /* datagrams dropped by the fault filter */
};

/* Membership events, forwarded from the core. */
typedef void (*sr_swim_udp_event_f)(void *ud, const struct sr_swim_event *ev);

/* Bind UDP and TCP on `listen_addr` ("ip:port" or "[v6]:port"; port 0 is
 * not allowed because the address is the member's identity) and create the
 * core with `name`. `log` is borrowed and must outlive the driver. Returns
 * NULL with *err set (SR_EINVAL, SR_ESYS, SR_ENOMEM, or the core's error). */
SR_API struct sr_swim_udp *sr_swim_udp_new(struct event_base *base, const struct sr_swim_cfg *cfg,
                                           const char *listen_addr, const char *name,
                                           struct sr_log *log, int *err);
/* Full sync carried by the caller instead of the driver's own TCP listener:
 * the node runs it over its RPC connection on the same host:port. */
typedef void (*sr_swim_udp_sync_f)(void *ud, const char *peer);

struct sr_swim_udp_opts {
    /* Non-NULL: bind no TCP listener; each full sync the core asks for is
     * handed to this function, which must run the exchange (send
     * sr_swim_encode_state, feed the peer's to sr_swim_merge_state). */
    sr_swim_udp_sync_f external_sync;
    void *external_sync_ud;
    /* Non-NULL: seal every datagram sent and open every datagram received
     * with this keyring (gossip_crypto.h); the core then packs datagrams
     * up to cfg.mtu - SR_GOSSIP_OVERHEAD. Borrowed: must outlive the
     * driver. Drops are counted in the keyring's stats and logged (at most
     * one line per reason per SR_SWIM_UDP_GOSSIP_LOG_MS). NULL: plaintext;
     * a sealed datagram is then logged the same way ("no gossip key") and
     * dropped by the core as malformed. */
    struct sr_gossip *gossip;
};

#define SR_SWIM_UDP_GOSSIP_LOG_MS 10000u /* rejected-datagram log lines: one per reason per */

/* sr_swim_udp_new with options (opts NULL = sr_swim_udp_new). */
SR_API struct sr_swim_udp *sr_swim_udp_new_ex(struct event_base *base,
                                              const struct sr_swim_cfg *cfg,
                                              const char *listen_addr, const char *name,
                                              struct sr_log *log,
                                              const struct sr_swim_udp_opts *opts, int *err);

/* Close sockets, cancel timers and in-flight syncs, free everything. No
 * callback runs afterwards. NULL is a no-op. */
SR_API void sr_swim_udp_delete(struct sr_swim_udp *u);

/* Register the event callback (NULL to clear). Runs on the loop. */
SR_API void sr_swim_udp_set_event_cb(struct sr_swim_udp *u, sr_swim_udp_event_f fn, void *ud);

/* Fault injection for chaos tests: `fn` is asked about every datagram to
 * (out = true) or from `peer`; returning true drops it (counted in
 * filtered). NULL removes the filter. */
typedef bool (*sr_swim_udp_filter_f)(void *ud, const char *peer, bool out);
SR_API void sr_swim_udp_set_filter(struct sr_swim_udp *u, sr_swim_udp_filter_f fn, void *ud);

/* The core, for queries (sr_swim_foreach, sr_swim_stats, ...), start, join,
 * leave and labels. Owned by the driver. */
SR_API struct sr_swim *sr_swim_udp_core(struct sr_swim_udp *u);
SR_API const struct sr_swim_udp_stats *sr_swim_udp_stats(const struct sr_swim_udp *u);

#endif
