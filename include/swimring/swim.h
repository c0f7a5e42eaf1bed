/* SWIM membership with the Lifeguard refinements: a sans-I/O core.
 *
 * The core reads no clock, opens no socket and calls no libevent function.
 * Everything it needs from the world comes through `struct sr_swim_vtab`,
 * given at creation: the real driver (swim_udp.h) binds it to libevent and a
 * UDP socket, the simulator (sim.h) to a virtual clock and network.
 *
 * Members are identified by their address string "host:port" (the same
 * string the hash ring hashes). The core keeps one record per address:
 * name, incarnation, status, labels and the time of the last change.
 *
 * Threading: one thread. Every sr_swim_* call and every vtab callback runs on
 * the thread that drives the core (the node's event loop).
 *
 * Callback contract: vtab callbacks run synchronously from inside sr_swim_*
 * calls (start, tick, receive, join, leave, set_label, merge_state). A
 * callback must not call sr_swim_delete(); it may call the query functions.
 */
#ifndef SWIMRING_SWIM_H
#define SWIMRING_SWIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "swimring/buf.h"
#include "swimring/export.h"
#include "swimring/log.h"
#include "swimring/time.h"

#define SR_SWIM_ADDR_MAX 64   /* "host:port" incl. NUL; IPv6 "[...]:port" fits */
#define SR_SWIM_NAME_MAX 64   /* node name incl. NUL */
#define SR_SWIM_LABEL_MAX 32  /* label key or value incl. NUL */
#define SR_SWIM_LABELS_MAX 8  /* labels per member */

enum sr_swim_status {
    SR_SWIM_ALIVE = 0,
    SR_SWIM_SUSPECT = 1,
    SR_SWIM_FAULTY = 2,  /* declared dead; kept as a tombstone until reaped */
    SR_SWIM_LEFT = 3,    /* left gracefully; kept as a tombstone until reaped */
    SR_SWIM_TOMBSTONE = 4, /* only with cfg.tombstone_evict_ms (ringpop): faulty past
                            * tombstone_ms, removed tombstone_evict_ms later */
};

SR_API const char *sr_swim_status_name(enum sr_swim_status st);

struct sr_swim_label {
    char key[SR_SWIM_LABEL_MAX];
    char value[SR_SWIM_LABEL_MAX];
};

/* A read-only view of one member. Valid until the next call into the core. */
struct sr_swim_member_info {
    const char *addr;
    const char *name;
    uint64_t incarnation;
    enum sr_swim_status status;
    sr_time_us changed_at;  /* core time of the last status change */
    const struct sr_swim_label *labels;
    size_t nlabels;
    bool is_self;
};

enum sr_swim_event_type {
    SR_SWIM_EV_JOINED,     /* a new member, alive */
    SR_SWIM_EV_SUSPECT,    /* alive -> suspect */
    SR_SWIM_EV_FAULTY,     /* alive/suspect -> faulty */
    SR_SWIM_EV_RECOVERED,  /* suspect/faulty/left -> alive (refuted or rejoined) */
    SR_SWIM_EV_LEFT,       /* -> left (graceful) */
    SR_SWIM_EV_LABELS,     /* labels changed, status unchanged */
    SR_SWIM_EV_REMOVED,    /* tombstone reaped: the record is gone */
    SR_SWIM_EV_CHECKSUM,   /* the membership checksum changed */
};

SR_API const char *sr_swim_event_name(enum sr_swim_event_type t);

struct sr_swim_event {
    enum sr_swim_event_type type;
    const struct sr_swim_member_info *member;  /* NULL for SR_SWIM_EV_CHECKSUM */
    uint64_t checksum;                          /* membership checksum after the change */
};

/* How the core reaches the world. `ctx` is passed back unchanged. */
struct sr_swim_vtab {
    /* Current time (monotonic, microseconds). */
    sr_time_us (*now)(void *ctx);
    /* A uniformly random 64-bit number. */
    uint64_t (*random)(void *ctx);
    /* Send one datagram of at most cfg.mtu bytes to `to`. May drop. */
    void (*send)(void *ctx, const char *to, const void *data, size_t len);
    /* Call sr_swim_tick() at (or soon after) `at`. Replaces any earlier request. */
    void (*schedule)(void *ctx, sr_time_us at);
    /* A membership event (see enum). Optional (NULL). */
    void (*event)(void *ctx, const struct sr_swim_event *ev);
    /* Start a two-way full state exchange with `peer` over a reliable channel:
     * the driver sends sr_swim_encode_state() of this node and hands the
     * peer's state to sr_swim_merge_state(), and the peer does the same with
     * ours. Used for joins and anti-entropy. Optional: NULL disables it. */
    void (*full_sync)(void *ctx, const char *peer);
};

/* Every protocol parameter. Defaults live in the profile functions below
 * and in the config table (lib/swim/swim_cfg.c), nowhere else. */
struct sr_swim_cfg {
    uint32_t period_ms;             /* protocol period: one probe per period */
    uint32_t ping_timeout_ms;       /* direct ack deadline before ping-req */
    uint32_t ping_req_k;            /* indirect probers per failed probe */
    uint32_t suspicion_min_mult;    /* min suspicion = mult * log10(n) * period */
    uint32_t suspicion_max_mult;    /* max suspicion = mult * min suspicion */
    uint32_t retransmit_mult;       /* each update is sent ~mult * log10(n+1) times */
    uint32_t gossip_interval_ms;    /* extra gossip rounds while updates are pending (0 = off) */
    uint32_t gossip_fanout;         /* peers per extra gossip round */
    uint32_t awareness_max;         /* Lifeguard local-health ceiling (1 disables) */
    uint32_t mtu;                   /* datagram size limit, bytes */
    uint32_t tombstone_ms;          /* how long faulty/left records are kept */
    uint32_t full_sync_interval_ms; /* min time between anti-entropy syncs */
    uint32_t heal_probe_ms;         /* how often a faulty address is re-probed */
    uint32_t join_retry_min_ms;     /* join backoff start */
    uint32_t join_retry_max_ms;     /* join backoff cap */
    /* ringpop semantics for the ringpop wire (docs/ringpop.md); 0 everywhere
     * keeps the native behaviour. */
    uint32_t ping_req_timeout_ms;   /* >0: a probe waits ping_timeout + this before suspecting
                                     * and the next starts after it (the period stretches, as
                                     * in ringpop); ping_timeout may then exceed the period */
    uint32_t accept_unknown_down;   /* 1: news of an unknown member in any state creates it */
    uint32_t quiet_sync;            /* 1: full-sync entries apply as they are (faulty stays
                                     * faulty) and are not relayed (ringpop join lists) */
    uint32_t tombstone_evict_ms;    /* >0: faulty members become SR_SWIM_TOMBSTONE after
                                     * tombstone_ms and are removed this much later */
    uint32_t labels_every_state;    /* 1: labels travel with every state, not only alive */
    uint32_t plain_dissemination;   /* 1: piggyback exactly what is queued: no record of a
                                     * doubted addressee, no refutation sent straight back,
                                     * no echo damping (ringpop) */
};

/* Profiles: LAN (memberlist-like timings), local (loopback tests: fast). */
SR_API void sr_swim_cfg_default_lan(struct sr_swim_cfg *cfg);
SR_API void sr_swim_cfg_default_local(struct sr_swim_cfg *cfg);
/* SR_EINVAL with a message naming the field if the values cannot work. */
SR_API int sr_swim_cfg_validate(const struct sr_swim_cfg *cfg, char *err, size_t errlen);

/* Counters, monotonically increasing; read any time. */
struct sr_swim_stats {
    uint64_t packets_in, packets_out, bytes_in, bytes_out;
    uint64_t pings_sent, ping_reqs_sent, acks_sent, nacks_sent;
    uint64_t drop_truncated, drop_version, drop_checksum, drop_malformed, drop_oversize;
    uint64_t suspicions, faulty_declared, refutations;
    uint64_t full_syncs_requested, full_syncs_merged;
    uint64_t updates_sent, updates_received;
    uint32_t awareness;  /* current Lifeguard health score (0 = healthy) */
};

struct sr_swim;

/* Create a core for the node at `self_addr` named `name`. Nothing is sent
 * until sr_swim_start(). Returns NULL and sets *err (SR_EINVAL, SR_ENOMEM). */
SR_API struct sr_swim *sr_swim_new(const struct sr_swim_cfg *cfg, const char *self_addr,
                                   const char *name, const struct sr_swim_vtab *vt,
                                   void *ctx, struct sr_log *log, int *err);
SR_API void sr_swim_delete(struct sr_swim *s);

/* Begin probing. Call once, after any initial set_label calls. */
SR_API int sr_swim_start(struct sr_swim *s);
/* Join through any of `seeds` (own address ignored). Retries with backoff
 * until one answers; logs each failed round. */
SR_API int sr_swim_join(struct sr_swim *s, const char *const *seeds, size_t nseeds);
/* Run whatever is due at vt->now(). */
SR_API void sr_swim_tick(struct sr_swim *s);
/* One datagram from `from`. Bad input is counted (stats.drop_*) and dropped;
 * the return value says why (0, or SR_ETRUNC, SR_EVERSION, ...). */
SR_API int sr_swim_receive(struct sr_swim *s, const char *from, const void *data, size_t len);
/* Announce a graceful leave: this node is marked left and the news is sent
 * at once to several members. Probing stops. */
SR_API int sr_swim_leave(struct sr_swim *s);
/* With tombstone_evict_ms: every faulty member becomes a tombstone now
 * (ringpop's /admin/reap). Returns how many. */
SR_API size_t sr_swim_reap_faulty(struct sr_swim *s);
/* Queue our own record for piggybacking (ringpop announces itself to the
 * members it pings after bootstrap). */
SR_API void sr_swim_announce(struct sr_swim *s);
/* A hint from the driver: a message to `addr` could not be delivered
 * (connection refused). If it is the current probe's target, the ping-reqs
 * go out now instead of after ping_timeout_ms. */
SR_API void sr_swim_unreachable(struct sr_swim *s, const char *addr);
/* Optional label ranking (ringpop's label checksum rule), called with the
 * core's ctx: at equal incarnation and status the higher rank wins, and a
 * node hearing itself with labels that outrank its own reincarnates.
 * NULL (the default) turns it off. */
typedef int64_t (*sr_swim_labels_rank_f)(void *ctx, const struct sr_swim_label *labels, size_t n);
SR_API void sr_swim_set_labels_rank(struct sr_swim *s, sr_swim_labels_rank_f fn);
/* Before sr_swim_start: begin at incarnation `inc` (ringpop-go starts at
 * the wall clock in ms, so a restarted node outranks its old record). */
SR_API int sr_swim_set_incarnation(struct sr_swim *s, uint64_t inc);
/* Start the next probe now unless one is running (ringpop's gossip tick). */
SR_API void sr_swim_probe_now(struct sr_swim *s);
/* Undo a leave: back to alive at a new incarnation, probing again. */
SR_API int sr_swim_rejoin(struct sr_swim *s);
/* Set (value != NULL) or remove (value == NULL) one of this node's labels;
 * spreads by gossip. SR_EFULL past SR_SWIM_LABELS_MAX, SR_ETOOBIG if long. */
SR_API int sr_swim_set_label(struct sr_swim *s, const char *key, const char *value);

/* Full sync: our whole membership as one message, and merging a peer's. */
SR_API int sr_swim_encode_state(struct sr_swim *s, struct sr_buf *out);
SR_API int sr_swim_merge_state(struct sr_swim *s, const void *data, size_t len);

/* Queries. */
SR_API const char *sr_swim_self(const struct sr_swim *s);
SR_API uint64_t sr_swim_checksum(const struct sr_swim *s);
/* Number of members known, tombstones included. */
SR_API size_t sr_swim_size(const struct sr_swim *s);
SR_API size_t sr_swim_count(const struct sr_swim *s, enum sr_swim_status st);
SR_API int sr_swim_member(const struct sr_swim *s, const char *addr,
                          struct sr_swim_member_info *out);
typedef void (*sr_swim_member_f)(void *ud, const struct sr_swim_member_info *m);
SR_API void sr_swim_foreach(const struct sr_swim *s, sr_swim_member_f fn, void *ud);
SR_API const struct sr_swim_stats *sr_swim_stats(const struct sr_swim *s);

#endif
