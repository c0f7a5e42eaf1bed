/* The ring object: creation, lookups, and read-only state. Batch updates
 * live in ring_apply.c. */
#include <stdlib.h>
#include <string.h>
#include "hashring/ring_internal.h"
#include "swimring/error.h"
#include "swimring/farmhash.h"

void sr_ring_cfg_default(struct sr_ring_cfg *cfg)
{
    cfg->points_per_member = SR_RING_POINTS_DEFAULT;
}

int ring_reserve(void **p, size_t *cap, size_t need, size_t el)
{
    if (need <= *cap)
        return 0;
    size_t ncap = *cap ? *cap : 16;
    while (ncap < need)
        ncap *= 2;
    if (ncap > SIZE_MAX / el)
        return SR_ENOMEM;
    void *np = realloc(*p, ncap * el);
    if (np == NULL)
        return SR_ENOMEM;
    *p = np;
    *cap = ncap;
    return 0;
}

struct sr_ring *sr_ring_new(const struct sr_ring_cfg *cfg, int *err)
{
    struct sr_ring_cfg dflt;
    if (cfg == NULL) {
        sr_ring_cfg_default(&dflt);
        cfg = &dflt;
    }
    if (cfg->points_per_member == 0 ||
        cfg->points_per_member > SR_RING_POINTS_MAX) {
        if (err)
            *err = SR_EINVAL;
        return NULL;
    }
    struct sr_ring *ring = calloc(1, sizeof(*ring));
    if (ring == NULL ||
        ring_reserve((void **)&ring->bucket, &ring->bucket_cap, 2,
                     sizeof(uint32_t)) != 0) {
        free(ring);
        if (err)
            *err = SR_ENOMEM;
        return NULL;
    }
    ring->points_per_member = cfg->points_per_member;
    ring_build_index(ring);
    ring->checksum = sr_farmhash_fingerprint32("", 0);
    if (err)
        *err = 0;
    return ring;
}

void sr_ring_delete(struct sr_ring *ring)
{
    if (ring == NULL)
        return;
    for (size_t i = 0; i < ring->nslots; i++)
        free(ring->members[i].addr);
    free(ring->members);
    free(ring->free_slots);
    free(ring->by_addr);
    free(ring->pts);
    free(ring->spare);
    free(ring->bucket);
    free(ring->newpts);
    free(ring->touched);
    free(ring->join);
    free(ring->ranges);
    free(ring);
}

void sr_ring_trim(struct sr_ring *ring)
{
    if (ring == NULL || ring->in_apply)
        return;
    free(ring->spare);
    free(ring->newpts);
    free(ring->ranges);
    ring->spare = ring->newpts = NULL;
    ring->ranges = NULL;
    ring->spare_cap = ring->newpts_cap = ring->ranges_cap = 0;
}

void sr_ring_set_changed_cb(struct sr_ring *ring, sr_ring_changed_f cb,
                            void *ctx)
{
    ring->changed_cb = cb;
    ring->changed_ctx = ctx;
}

void ring_build_index(struct sr_ring *ring)
{
    size_t nb = 1;
    unsigned bits = 0;
    while (nb * RING_POINTS_PER_BUCKET < ring->npts && bits < 24) {
        nb <<= 1;
        bits++;
    }
    ring->nbuckets = nb;
    ring->shift = 32 - bits;
    /* A histogram and a prefix sum: branch-free, where walking buckets and
     * points together mispredicts about once per bucket (3x slower). */
    uint32_t *bucket = ring->bucket;
    const struct ring_point *p = ring->pts;
    unsigned shift = ring->shift;
    size_t npts = ring->npts;
    memset(bucket, 0, (nb + 1) * sizeof(*bucket));
    for (size_t i = 0; i < npts; i++)
        bucket[((uint64_t)p[i].hash >> shift) + 1]++;
    for (size_t b = 1; b <= nb; b++)
        bucket[b] += bucket[b - 1];
}

void ring_compute_owned(struct sr_ring *ring)
{
    for (size_t i = 0; i < ring->nlive; i++)
        ring->members[ring->by_addr[i]].owned = 0;
    if (ring->npts == 0)
        return;
    const struct ring_point *p = ring->pts;
    size_t last = ring->npts - 1;
    /* The first point also owns the wrap: (last point, 2^32) and [0, p0]. */
    ring->members[p[0].owner].owned +=
        (uint64_t)p[0].hash + 1 + (UINT32_MAX - (uint64_t)p[last].hash);
    for (size_t i = 1; i < ring->npts; i++)
        ring->members[p[i].owner].owned += p[i].hash - p[i - 1].hash;
}

size_t ring_find_addr(const struct sr_ring *ring, const char *addr,
                      size_t len, bool *found)
{
    size_t lo = 0, hi = ring->nlive;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const struct ring_member *m = &ring->members[ring->by_addr[mid]];
        size_t n = m->addr_len < len ? m->addr_len : len;
        int c = memcmp(m->addr, addr, n);
        if (c == 0)
            c = (m->addr_len > len) - (m->addr_len < len);
        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = false;
    return lo;
}

/* ---- lookups ------------------------------------------------------------ */

uint32_t sr_ring_hash(const void *key, size_t len)
{
    return sr_farmhash_fingerprint32(key, len);
}

const char *sr_ring_lookup_hash(const struct sr_ring *ring, uint32_t h)
{
    if (ring->npts == 0)
        return NULL;
    return ring->members[ring->pts[ring_first_at(ring, h)].owner].addr;
}

const char *sr_ring_lookup(const struct sr_ring *ring, const void *key,
                           size_t len)
{
    return sr_ring_lookup_hash(ring, sr_farmhash_fingerprint32(key, len));
}

static bool seen(const uint32_t *ids, size_t n, uint32_t id)
{
    for (size_t i = 0; i < n; i++)
        if (ids[i] == id)
            return true;
    return false;
}

size_t sr_ring_lookup_n_hash(const struct sr_ring *ring, uint32_t h,
                             const char **out, size_t n)
{
    if (ring->npts == 0 || n == 0)
        return 0;
    size_t want = n < ring->nlive ? n : ring->nlive;
    /* Compare slot ids, not strings; keep them on the stack in chunks of
     * the out array size: the ids are needed only while walking. */
    uint32_t ids_small[16];
    size_t got = 0, i = ring_first_at(ring, h);
    for (size_t walked = 0; got < want && walked < ring->npts; walked++) {
        uint32_t id = ring->pts[i].owner;
        bool dup;
        if (want <= 16)
            dup = seen(ids_small, got, id);
        else {
            dup = false;
            for (size_t k = 0; k < got && !dup; k++)
                dup = out[k] == ring->members[id].addr;
        }
        if (!dup) {
            if (want <= 16)
                ids_small[got] = id;
            out[got++] = ring->members[id].addr;
        }
        if (++i == ring->npts)
            i = 0;
    }
    return got;
}

size_t sr_ring_lookup_n(const struct sr_ring *ring, const void *key,
                        size_t len, const char **out, size_t n)
{
    return sr_ring_lookup_n_hash(ring, sr_farmhash_fingerprint32(key, len),
                                 out, n);
}

bool sr_ring_owns(const struct sr_ring *ring, const char *self,
                  const void *key, size_t len)
{
    const char *owner = sr_ring_lookup(ring, key, len);
    return owner != NULL && self != NULL && strcmp(owner, self) == 0;
}

/* ---- state -------------------------------------------------------------- */

uint32_t sr_ring_checksum(const struct sr_ring *ring)
{
    return ring->checksum;
}

size_t sr_ring_member_count(const struct sr_ring *ring)
{
    return ring->nlive;
}

size_t sr_ring_point_count(const struct sr_ring *ring)
{
    return ring->npts;
}

const char *sr_ring_member_at(const struct sr_ring *ring, size_t i)
{
    return i < ring->nlive ? ring->members[ring->by_addr[i]].addr : NULL;
}

bool sr_ring_has(const struct sr_ring *ring, const char *address)
{
    bool found;
    if (address == NULL)
        return false;
    ring_find_addr(ring, address, strlen(address), &found);
    return found;
}

size_t sr_ring_stats(const struct sr_ring *ring,
                     struct sr_ring_owner_stat *out, size_t cap)
{
    for (size_t i = 0; i < ring->nlive && i < cap; i++) {
        const struct ring_member *m = &ring->members[ring->by_addr[i]];
        out[i].address = m->addr;
        out[i].points = m->npoints;
        out[i].weight = m->weight;
        out[i].owned = m->owned;
        out[i].fraction = (double)m->owned / 4294967296.0;
    }
    return ring->nlive;
}

size_t sr_ring_memory(const struct sr_ring *ring)
{
    return (ring->pts_cap + ring->spare_cap) * sizeof(struct ring_point) +
           ring->bucket_cap * sizeof(uint32_t);
}
