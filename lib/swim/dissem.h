/* Piggyback dissemination queue: at most one pending update per member (a
 * newer update about a member replaces the older one), each sent up to a
 * retransmit limit, least-sent first and, among equals, newest first
 * (memberlist's TransmitLimitedQueue order).
 *
 * Items sit in buckets by transmit count; each bucket is a list kept newest
 * first, so packing walks buckets 0, 1, 2... and takes heads: O(packed), no
 * sorting. Each update is encoded once, when queued, so its exact size is
 * known and packing never exceeds the MTU. */
#ifndef SWIMRING_SWIM_DISSEM_H
#define SWIMRING_SWIM_DISSEM_H

#include <stddef.h>
#include <stdint.h>
#include "swimring/buf.h"
#include "swim/members.h"

#define SR_SWIM_DISSEM_BUCKETS 64

struct sr_swim_bcast {
    uint8_t *blob;      /* the encoded update */
    uint32_t len;
    uint32_t member;    /* record id the update is about */
    uint32_t transmits;
    uint32_t prev, next;
};

struct sr_swim_dissem {
    struct sr_swim_bcast *items;
    uint32_t nitems, capitems;
    uint32_t *free_ids;
    uint32_t nfree, capfree;
    uint32_t head[SR_SWIM_DISSEM_BUCKETS];
    uint32_t count;     /* pending items */
    uint32_t *sent;     /* scratch for one pack */
    uint32_t capsent;
};

void sr_swim_dissem_init(struct sr_swim_dissem *d);
void sr_swim_dissem_destroy(struct sr_swim_dissem *d);
/* Queue `blob` as the pending update about record `member`, replacing any,
 * counted as already sent `sent` times (a smaller budget for second-hand news). */
int sr_swim_dissem_queue(struct sr_swim_dissem *d, struct sr_swim_members *t, uint32_t member,
                         const void *blob, size_t len, uint32_t sent);
/* Forget the pending update about a record (it is being removed). */
void sr_swim_dissem_drop(struct sr_swim_dissem *d, struct sr_swim_members *t, uint32_t member);
/* Someone told us what we were about to spread: count it as one of our
 * transmissions (rumour mongering with feedback, Demers et al. 1987), so
 * news that is already everywhere stops costing bandwidth sooner. */
void sr_swim_dissem_seen(struct sr_swim_dissem *d, struct sr_swim_members *t, uint32_t member,
                         uint32_t limit);
/* Append pending updates to `b` while b->len stays <= mtu; items reaching
 * `limit` transmissions are retired. Returns how many were appended. */
size_t sr_swim_dissem_pack(struct sr_swim_dissem *d, struct sr_swim_members *t, struct sr_buf *b,
                           size_t mtu, uint32_t limit);

#endif
