/* Private layout of struct sr_ring, shared by ring.c (lookups, state) and
 * ring_apply.c (batch updates). */
#ifndef SR_HASHRING_RING_INTERNAL_H
#define SR_HASHRING_RING_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "swimring/hashring.h"

enum ring_slot_state {
    SLOT_FREE = 0, /* on the free list */
    SLOT_LIVE,     /* on the ring before and after the current batch */
    SLOT_NEW,      /* added by the current batch */
    SLOT_GONE,     /* on the ring before the batch, removed by it */
    SLOT_DROPPED,  /* added and removed again within the batch */
};

struct ring_member {
    char *addr;
    char *pkey;     /* points hash pkey + i instead of addr + i; NULL = addr */
    uint32_t addr_len;
    uint32_t npoints;
    double weight;
    uint64_t owned; /* hash values owned, recomputed after each batch */
    uint8_t state;
};

/* Hash and owner side by side: a lookup reads both from one cache line. */
struct ring_point {
    uint32_t hash;
    uint32_t owner; /* slot index into members */
};

/* Points per bucket of the index, at most (on average): 4 keeps a lookup
 * within one cache line of points while the index takes a quarter of what
 * one bucket per point would (100 members x 100 points: 16 KiB, not 64). */
#define RING_POINTS_PER_BUCKET 4

struct sr_ring {
    uint32_t points_per_member;

    struct ring_member *members; /* slots, indexed by ring_point.owner */
    size_t nslots, slots_cap;
    uint32_t *free_slots;
    size_t nfree, free_cap;
    uint32_t *by_addr; /* present slots sorted by address */
    size_t nlive, by_addr_cap;
    size_t addr_bytes; /* sum of present addresses' lengths */

    struct ring_point *pts; /* sorted by (hash, address) */
    size_t npts, pts_cap;
    struct ring_point *spare; /* the next array, swapped in by apply */
    size_t spare_cap;

    /* Bucket index: bucket[b] is the first point with hash >= b << shift,
     * bucket[nbuckets] = npts. With nbuckets >= npts / RING_POINTS_PER_BUCKET
     * a lookup scans about two points (one cache line of the sorted array)
     * after one load, instead of a 14-step binary search. */
    uint32_t *bucket;
    size_t nbuckets, bucket_cap;
    unsigned shift;

    uint32_t checksum;

    sr_ring_changed_f changed_cb;
    void *changed_ctx;
    bool in_apply;

    /* Scratch kept between batches so an apply allocates only to grow. */
    struct ring_point *newpts;
    size_t newpts_cap;
    uint32_t *touched; /* slots that became GONE or DROPPED in a batch */
    size_t touched_cap;
    char *join;
    size_t join_cap;
    struct sr_ring_range *ranges;
    size_t ranges_cap;
};

/* Grow *p to hold at least need elements of size el; 0 or SR_ENOMEM. */
int ring_reserve(void **p, size_t *cap, size_t need, size_t el);

/* Position of address in by_addr (found) or where it would go (not found). */
size_t ring_find_addr(const struct sr_ring *ring, const char *addr,
                      size_t len, bool *found);

/* Rebuild the bucket index over pts; capacity is reserved by the caller. */
void ring_build_index(struct sr_ring *ring);

/* Recompute each present member's owned hash values. */
void ring_compute_owned(struct sr_ring *ring);

/* Index of the first point with hash >= h, wrapping to 0. npts > 0. */
static inline size_t ring_first_at(const struct sr_ring *ring, uint32_t h)
{
    size_t b = (size_t)((uint64_t)h >> ring->shift);
    size_t i = ring->bucket[b], end = ring->bucket[b + 1];
    while (i < end && ring->pts[i].hash < h)
        i++;
    return i == ring->npts ? 0 : i;
}

#endif
