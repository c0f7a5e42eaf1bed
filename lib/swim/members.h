/* The member table of one SWIM core: records in a slab addressed by index,
 * an open-addressing hash index by address (no scans per packet), the
 * shuffled probe order, the lists of suspects and tombstones (so timers scan
 * only those), per-status counts and the membership checksum, all maintained
 * in O(1) per change.
 *
 * Checksum: the sum (mod 2^64) over members that are alive or suspect of
 * mix64(hash(addr), status, incarnation). Tombstones (faulty, left) are left
 * out on purpose: each node reaps them at its own moment, and counting them
 * would make healthy views disagree for tombstone_ms after every death. A
 * node seeing X alive and another seeing X faulty still differ, because the
 * first one counts X. A sum is order-independent, so the checksum is that of
 * the sorted list without sorting, and one change updates it in O(1). */
#ifndef SWIMRING_SWIM_MEMBERS_H
#define SWIMRING_SWIM_MEMBERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "swimring/swim.h"

#define SR_SWIM_NONE UINT32_MAX

struct sr_swim_suspicion;

struct sr_swim_rec {
    /* hot fields first: a lookup plus the "is this news?" check of an
     * incoming update touch one cache line for addresses under ~40 bytes */
    uint64_t incarnation;
    uint64_t hash;                /* of addr */
    uint8_t status;
    uint8_t nlabels;
    bool is_self;
    bool used;
    bool damp;                    /* join/label news: echoes may cut its retransmits */
    uint8_t pad_;
    uint32_t bcast;               /* pending dissemination item, or NONE */
    char addr[SR_SWIM_ADDR_MAX];  /* inline: a lookup touches one record only */
    char *name;                   /* owned, NUL-terminated */
    struct sr_swim_label *labels; /* owned, nlabels entries, NULL if none */
    struct sr_swim_suspicion *susp; /* owned while suspect */
    uint64_t term;                /* this record's share of the checksum */
    sr_time_us changed_at;
    uint32_t order_pos;           /* index in the probe order, NONE for self */
    uint32_t list_pos;            /* index in suspects or tombstones */
};

struct sr_swim_members {
    struct sr_swim_rec *recs;
    uint32_t nrecs, caprecs;
    uint32_t *free_ids;
    uint32_t nfree, capfree;
    uint64_t *slots;              /* hash index: hash >> 32 << 32 | (id + 1); 0 = empty */
    uint32_t mask;                /* slots capacity - 1 */
    uint32_t used;                /* live records */
    uint32_t *order;              /* probe order: every record but self */
    uint32_t norder, caporder;
    uint32_t *suspects, nsuspects, capsuspects;
    uint32_t *tombs, ntombs, captombs;
    uint32_t counts[5];           /* by status, SR_SWIM_TOMBSTONE included */
    uint64_t checksum;
};

uint64_t sr_swim_hash_str(const char *s, size_t len);
uint64_t sr_swim_mix64(uint64_t x);

int sr_swim_members_init(struct sr_swim_members *t);
void sr_swim_members_destroy(struct sr_swim_members *t);
static inline struct sr_swim_rec *sr_swim_rec(struct sr_swim_members *t, uint32_t id)
{
    return &t->recs[id];
}
/* Record id for an address, or SR_SWIM_NONE. */
uint32_t sr_swim_members_find(const struct sr_swim_members *t, const char *addr, size_t len);
/* Add a record (status alive, incarnation inc), placed at a random position
 * of the probe order (`rnd`) unless it is self. Returns the id or NONE. */
uint32_t sr_swim_members_add(struct sr_swim_members *t, const char *addr, size_t alen,
                             const char *name, size_t nlen, uint64_t inc, bool self,
                             uint64_t rnd);
void sr_swim_members_remove(struct sr_swim_members *t, uint32_t id);
/* Change status and/or incarnation; keeps counts, lists and checksum. */
void sr_swim_members_set(struct sr_swim_members *t, uint32_t id, uint32_t status, uint64_t inc);
/* Replace name / labels (ENOMEM leaves the old ones). */
int sr_swim_members_set_name(struct sr_swim_members *t, uint32_t id, const char *name, size_t len);
int sr_swim_members_set_labels(struct sr_swim_members *t, uint32_t id,
                               const struct sr_swim_label *labels, size_t n);
/* Fisher-Yates shuffle of the probe order with a caller-given random source. */
void sr_swim_members_shuffle(struct sr_swim_members *t, uint64_t (*rnd)(void *), void *ud);
/* The checksum term of one (addr hash, status, incarnation). */
uint64_t sr_swim_members_term(uint64_t hash, uint32_t status, uint64_t inc);

#endif
