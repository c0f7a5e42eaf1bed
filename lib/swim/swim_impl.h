/* Private state of one SWIM core, shared by swim.c (timers, probing,
 * datagrams), update.c (applying membership changes) and state.c (full
 * sync). Not a public header. */
#ifndef SWIMRING_SWIM_IMPL_H
#define SWIMRING_SWIM_IMPL_H

#include "swimring/swim.h"
#include "swim/dissem.h"
#include "swim/members.h"
#include "swim/wire.h"

#define SR_SWIM_SUSP_FROM_MAX 8   /* distinct suspectors remembered */
#define SR_SWIM_RELAYS_MAX 32     /* ping-reqs served at once */
#define SR_SWIM_NEVER UINT64_MAX

/* One running suspicion (Lifeguard): its timeout shrinks as distinct
 * members confirm it. */
struct sr_swim_suspicion {
    sr_time_us start, min, max, deadline;
    uint32_t k, confirmations, nfrom;
    uint64_t from[SR_SWIM_SUSP_FROM_MAX];  /* hashes of suspectors' addresses */
};

/* A ping-req we serve: we ping `target` for `origin` and answer ack or nack. */
struct sr_swim_relay {
    bool used, nacked;
    char origin[SR_SWIM_ADDR_MAX];
    uint64_t origin_seq, seq;
    sr_time_us nack_at, expire_at;
};

/* Our own probe of one member in the current period. */
struct sr_swim_probe {
    bool active, acked, reqs_sent;
    char target[SR_SWIM_ADDR_MAX];
    uint64_t incarnation;             /* the target's, when the probe began */
    uint64_t seq;
    sr_time_us req_at, end_at;
    uint32_t expected_nacks, nacks;
};

struct sr_swim {
    struct sr_swim_cfg cfg;
    struct sr_swim_vtab vt;
    sr_swim_labels_rank_f labels_rank; /* NULL unless set (ringpop) */
    void *ctx;
    struct sr_log *log;
    struct sr_swim_members mem;
    struct sr_swim_dissem dis;
    struct sr_swim_stats stats;
    uint32_t self_id;
    bool started, leaving, joining, refuted;
    bool merging;                     /* inside sr_swim_merge_state */
    uint64_t seq;
    struct sr_swim_probe probe;
    uint32_t cursor;                  /* next index into the probe order */
    sr_time_us next_probe_at, next_gossip_at, next_heal_at;
    sr_time_us last_gossip_at;        /* last extra gossip round (gossip_soon) */
    sr_time_us next_susp_at, next_reap_at;
    sr_time_us last_sync_at;
    bool synced_once;
    uint64_t heal_seq, join_seq;
    char **seeds;
    size_t nseeds;
    uint32_t join_round, join_backoff_ms;
    sr_time_us join_next_at;
    sr_time_us scheduled_at;          /* what vt->schedule last got, NEVER if none */
    uint64_t reported_checksum;
    struct sr_swim_relay relays[SR_SWIM_RELAYS_MAX];
    struct sr_buf pkt;                /* the datagram being built */
    struct sr_buf tmp;                /* one encoded update */
    struct sr_swim_update *ups;       /* decode scratch */
    size_t capups;
};

/* update.c */
sr_time_us sr_swim_now(struct sr_swim *s);
uint32_t sr_swim_live_count(const struct sr_swim *s);
void sr_swim_emit(struct sr_swim *s, enum sr_swim_event_type type, uint32_t id);
void sr_swim_emit_checksum(struct sr_swim *s);
void sr_swim_fill_info(const struct sr_swim *s, uint32_t id, struct sr_swim_member_info *out);
/* Encode the record's current state into s->tmp (from may be NULL). */
int sr_swim_encode_rec(struct sr_swim *s, uint32_t id, const char *from);
/* Queue the record's current state for piggybacking. */
void sr_swim_queue_rec(struct sr_swim *s, uint32_t id, const char *from);
/* Apply one received update. `sync_from` is the peer of a full sync (dead
 * entries then count only as suspicion), NULL for gossip. */
void sr_swim_apply(struct sr_swim *s, const struct sr_swim_update *u, const char *sync_from,
                   sr_time_us now);
/* Our own probe failed: suspect the record (or confirm our suspicion). */
void sr_swim_suspect(struct sr_swim *s, uint32_t id, sr_time_us now);
/* The suspicion timer of a record expired. */
void sr_swim_declare_faulty(struct sr_swim *s, uint32_t id, sr_time_us now);
/* tombstone_evict_ms: a faulty record becomes a tombstone (queued). */
void sr_swim_entomb(struct sr_swim *s, uint32_t id, sr_time_us now);
/* Bump our incarnation past `inc` and queue the new alive record. */
void sr_swim_refute(struct sr_swim *s, uint64_t inc);

/* swim.c */
void sr_swim_send_gossip(struct sr_swim *s, const char *to, uint32_t directed);
void sr_swim_note_deadline(sr_time_us *slot, sr_time_us at);

#endif
