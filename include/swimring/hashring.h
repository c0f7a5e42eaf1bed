/* Consistent hash ring with ringpop's placement.
 *
 * Placement (identical to ringpop-go and ringpop-node, so a key lands on the
 * same owner for the same member list):
 *   - a member with address A and P points contributes the points
 *     fingerprint32(A + decimal(i)) for i = 0 .. P-1 ("127.0.0.1:30000",
 *     "127.0.0.1:30001", ...); P = points_per_member x weight, rounded;
 *     a change may give a point key K to hash instead of A (ringpop-go's
 *     identity: K = "identity#"), the member is still named A;
 *   - a key k hashes to h = fingerprint32(k); its owner is the member of the
 *     first point clockwise whose hash is >= h, wrapping to the smallest;
 *   - points with equal hashes are ordered by address (bytewise), so ties
 *     resolve the same on every node whatever the insertion order;
 *   - lookup_n(k, n) walks clockwise from that point and returns the first
 *     n distinct members: the replica set, owner first.
 *
 * Hash space and moved ranges: a key with hash h in [start, end] (both
 * inclusive, start <= end; a range never wraps, the wrap is split in two)
 * belongs to one member. After every sr_ring_apply() that changed the
 * membership the ring reports, through the callback set with
 * sr_ring_set_changed_cb(), the complete list of ranges whose owner changed
 * (old owner -> new owner), adjacent ranges with the same pair merged. A
 * service hands off exactly the keys whose hash falls in those ranges.
 *
 * Driving the ring from membership (the adapter above lib/swim, not here: a
 * lower layer never includes a higher layer's header): for each gossip round,
 * collect the status changes and apply them as one batch:
 *   alive             -> SR_RING_ADD    (weight from the member's labels)
 *   suspect           -> SR_RING_ADD if suspects stay on the ring (the
 *                        default, as in ringpop), else SR_RING_REMOVE
 *   faulty, left      -> SR_RING_REMOVE
 * Adds of a present member with the same weight and removes of an absent
 * member do nothing, so replaying an event is harmless.
 *
 * Threading: one thread (the loop). Lookups never allocate and never modify
 * the ring. Pointers to member addresses returned by lookups stay valid
 * until the next sr_ring_apply() (or sr_ring_delete()).
 *
 * Cost: lookup is one fingerprint plus O(1) expected work (a bucket index
 * over the sorted point array); an apply is O(points + new points x log) and
 * never rebuilds the ring from its members. */
#ifndef SWIMRING_HASHRING_H
#define SWIMRING_HASHRING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "swimring/export.h"

/* ringpop's default replica points per member. */
#define SR_RING_POINTS_DEFAULT 100u
/* Upper bounds that keep sizes in 32 bits and string buffers on the stack. */
#define SR_RING_POINTS_MAX 65536u
#define SR_RING_ADDR_MAX 255u
#define SR_RING_WEIGHT_MAX 1000.0

struct sr_ring_cfg {
    uint32_t points_per_member; /* points of a member with weight 1.0 */
};

/* points_per_member = SR_RING_POINTS_DEFAULT. */
SR_API void sr_ring_cfg_default(struct sr_ring_cfg *cfg);

struct sr_ring;

/* A new empty ring; cfg NULL means defaults. On failure returns NULL and
 * sets *err (if err is not NULL) to SR_EINVAL or SR_ENOMEM. */
SR_API struct sr_ring *sr_ring_new(const struct sr_ring_cfg *cfg, int *err);
SR_API void sr_ring_delete(struct sr_ring *ring);

/* ---- changes ---------------------------------------------------------- */

enum sr_ring_op {
    SR_RING_ADD = 1,    /* put the member on the ring (or change its weight) */
    SR_RING_REMOVE = 2, /* take it off */
};

/* Initialise with a designated initialiser (unset fields zero). */
struct sr_ring_change {
    enum sr_ring_op op;
    const char *address; /* NUL-terminated, 1..SR_RING_ADDR_MAX bytes */
    double weight;       /* ADD only: 0 means 1.0; points = round(R x w), >= 1 */
    const char *point_key; /* ADD only: NULL = points hash address + decimal(i);
                            * else point_key + decimal(i) (ringpop-go places a
                            * member with identity I as "I#0", "I#1", ...);
                            * lookups still return the address */
};

/* One moved range: keys with hash in [start, end] went from old_owner to
 * new_owner. An owner is NULL when the ring was (or became) empty. The
 * address strings are valid only during the callback. */
struct sr_ring_range {
    uint32_t start;
    uint32_t end;
    const char *old_owner;
    const char *new_owner;
};

/* Called synchronously at the end of an sr_ring_apply() that changed the
 * membership, once, after the ring already answers with the new placement.
 * nranges may be 0 (a member added whose points all lose ties, which is
 * practically impossible but allowed). The callback must not call
 * sr_ring_apply() (it would get SR_EBUSY); lookups are fine. */
typedef void (*sr_ring_changed_f)(void *ctx, const struct sr_ring *ring,
                                  const struct sr_ring_range *ranges,
                                  size_t nranges);

/* Set (or with cb NULL clear) the "ring changed" callback. Without one the
 * ring skips computing moved ranges. */
SR_API void sr_ring_set_changed_cb(struct sr_ring *ring, sr_ring_changed_f cb,
                                   void *ctx);

/* Apply a batch of changes, in order, as one update: the point array is
 * filtered and merged once and the callback runs once for the whole batch.
 * Returns the number of members that actually came or went (0 when nothing
 * changed, and then no callback), or a negative code: SR_EINVAL (bad address
 * or weight, or a bad op; the ring is unchanged), SR_ENOMEM (unchanged),
 * SR_EBUSY (called from the changed callback). */
SR_API int sr_ring_apply(struct sr_ring *ring,
                         const struct sr_ring_change *changes, size_t n);

/* Free the scratch an apply keeps for the next one (the spare point array,
 * new points, moved ranges: ~400 KiB at 100 members x 100 points). The next
 * apply allocates them again; for a ring changed rarely (a node's ring) that
 * is cheaper than holding them. Lookups are unaffected. */
SR_API void sr_ring_trim(struct sr_ring *ring);

/* One-change conveniences over sr_ring_apply(). */
SR_API int sr_ring_add(struct sr_ring *ring, const char *address, double weight);
SR_API int sr_ring_remove(struct sr_ring *ring, const char *address);

/* ---- lookups (never allocate) ----------------------------------------- */

/* The key hash used for placement: FarmHash Fingerprint32. */
SR_API uint32_t sr_ring_hash(const void *key, size_t len);

/* Owner of a key, or NULL if the ring is empty. */
SR_API const char *sr_ring_lookup(const struct sr_ring *ring, const void *key,
                                  size_t len);
/* Owner of a hash value (for walking ranges), or NULL if empty. */
SR_API const char *sr_ring_lookup_hash(const struct sr_ring *ring, uint32_t h);

/* The replica set: up to n distinct members clockwise from the key's owner,
 * owner first, written to out[0..]. Returns how many were written:
 * min(n, members). Costs O(points walked x n); meant for small n. */
SR_API size_t sr_ring_lookup_n(const struct sr_ring *ring, const void *key,
                               size_t len, const char **out, size_t n);
SR_API size_t sr_ring_lookup_n_hash(const struct sr_ring *ring, uint32_t h,
                                    const char **out, size_t n);

/* Whether the member with address self owns the key. */
SR_API bool sr_ring_owns(const struct sr_ring *ring, const char *self,
                         const void *key, size_t len);

/* ---- state ------------------------------------------------------------ */

/* ringpop's ring checksum: fingerprint32 of the member addresses sorted
 * bytewise and joined with ';' (fingerprint32("") = 0xdc56d17a for an empty
 * ring). Two nodes with equal checksums hold the same member list. */
SR_API uint32_t sr_ring_checksum(const struct sr_ring *ring);

SR_API size_t sr_ring_member_count(const struct sr_ring *ring);
SR_API size_t sr_ring_point_count(const struct sr_ring *ring);
/* i-th member in address order (0 <= i < count), or NULL. */
SR_API const char *sr_ring_member_at(const struct sr_ring *ring, size_t i);
SR_API bool sr_ring_has(const struct sr_ring *ring, const char *address);

struct sr_ring_owner_stat {
    const char *address;
    uint32_t points;
    double weight;
    uint64_t owned;  /* hash values owned, out of 2^32 */
    double fraction; /* owned / 2^32 */
};

/* Ownership per member, in address order, into out[0 .. cap-1]. Returns the
 * member count (which may exceed cap: then only cap entries are written). */
SR_API size_t sr_ring_stats(const struct sr_ring *ring,
                            struct sr_ring_owner_stat *out, size_t cap);

/* Bytes the ring holds for its points and index (for memory-per-point). */
SR_API size_t sr_ring_memory(const struct sr_ring *ring);

#endif
