/* Batch updates: a batch of adds and removes becomes one filter-and-merge of
 * the sorted point array, one diff of old against new placement (the moved
 * ranges), and one callback.
 *
 * An apply runs in three phases so that it either fully happens or leaves
 * the ring untouched: validate every change, reserve every buffer the batch
 * can need (worst case: every add is new), then mutate with no failure
 * left possible. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "hashring/ring_internal.h"
#include "swimring/error.h"
#include "swimring/farmhash.h"

static int validate(const struct sr_ring_change *c)
{
    if (c->address == NULL)
        return SR_EINVAL;
    size_t len = strnlen(c->address, SR_RING_ADDR_MAX + 1);
    if (len == 0 || len > SR_RING_ADDR_MAX)
        return SR_EINVAL;
    if (c->op == SR_RING_REMOVE)
        return 0;
    if (c->op != SR_RING_ADD)
        return SR_EINVAL;
    if (c->point_key != NULL &&
        (c->point_key[0] == '\0' || strnlen(c->point_key, SR_RING_ADDR_MAX + 1) > SR_RING_ADDR_MAX))
        return SR_EINVAL;
    if (!isfinite(c->weight) || c->weight < 0 || c->weight > SR_RING_WEIGHT_MAX)
        return SR_EINVAL;
    return 0;
}

static double norm_weight(double w)
{
    return w == 0 ? 1.0 : w;
}

static uint32_t points_for(const struct sr_ring *ring, double weight)
{
    double p = nearbyint((double)ring->points_per_member * weight);
    if (p < 1)
        return 1;
    if (p > SR_RING_POINTS_MAX)
        return SR_RING_POINTS_MAX;
    return (uint32_t)p;
}

/* The largest bucket count ring_build_index() picks for n points, plus one. */
static size_t buckets_for(size_t n)
{
    size_t nb = 1;
    unsigned bits = 0;
    while (nb * RING_POINTS_PER_BUCKET < n && bits < 24) {
        nb <<= 1;
        bits++;
    }
    return nb + 1;
}

struct batch_need {
    size_t adds, add_points, add_bytes;
};

static int reserve_all(struct sr_ring *ring, const struct batch_need *need,
                       size_t nchanges)
{
    size_t npts = ring->npts + need->add_points;
    if (npts > UINT32_MAX / 2 || ring->nslots + need->adds > UINT32_MAX / 2)
        return SR_ETOOBIG;
    size_t live = ring->nlive + need->adds;
    int rc = 0;
    rc |= ring_reserve((void **)&ring->members, &ring->slots_cap,
                       ring->nslots + need->adds, sizeof(struct ring_member));
    rc |= ring_reserve((void **)&ring->free_slots, &ring->free_cap,
                       ring->nslots + need->adds, sizeof(uint32_t));
    rc |= ring_reserve((void **)&ring->by_addr, &ring->by_addr_cap, live,
                       sizeof(uint32_t));
    rc |= ring_reserve((void **)&ring->newpts, &ring->newpts_cap,
                       need->add_points, sizeof(struct ring_point));
    rc |= ring_reserve((void **)&ring->spare, &ring->spare_cap, npts,
                       sizeof(struct ring_point));
    rc |= ring_reserve((void **)&ring->bucket, &ring->bucket_cap,
                       buckets_for(npts), sizeof(uint32_t));
    rc |= ring_reserve((void **)&ring->touched, &ring->touched_cap, nchanges,
                       sizeof(uint32_t));
    rc |= ring_reserve((void **)&ring->join, &ring->join_cap,
                       ring->addr_bytes + need->add_bytes + live + 1, 1);
    if (ring->changed_cb != NULL)
        rc |= ring_reserve((void **)&ring->ranges, &ring->ranges_cap,
                           ring->npts + npts + 2, sizeof(struct sr_ring_range));
    return rc ? SR_ENOMEM : 0;
}

/* ---- phase 3 helpers: cannot fail --------------------------------------- */

static uint32_t take_slot(struct sr_ring *ring)
{
    if (ring->nfree > 0)
        return ring->free_slots[--ring->nfree];
    return (uint32_t)ring->nslots++;
}

static void gen_points(struct sr_ring *ring, uint32_t slot, size_t *nnew)
{
    const struct ring_member *m = &ring->members[slot];
    char buf[SR_RING_ADDR_MAX + 12];
    const char *base = m->pkey ? m->pkey : m->addr;
    size_t blen = strlen(base);
    memcpy(buf, base, blen);
    for (uint32_t i = 0; i < m->npoints; i++) {
        int n = snprintf(buf + blen, 12, "%u", i);
        ring->newpts[*nnew].hash =
            sr_farmhash_fingerprint32(buf, blen + (size_t)n);
        ring->newpts[*nnew].owner = slot;
        (*nnew)++;
    }
}

static void do_add(struct sr_ring *ring, const struct sr_ring_change *c,
                   char *addr, size_t pos, size_t *nnew)
{
    uint32_t slot = take_slot(ring);
    struct ring_member *m = &ring->members[slot];
    m->addr = addr;
    m->addr_len = (uint32_t)strlen(addr);
    /* the point key, if any, follows the address in the same allocation */
    m->pkey = c->point_key ? addr + m->addr_len + 1 : NULL;
    m->weight = norm_weight(c->weight);
    m->npoints = points_for(ring, m->weight);
    m->owned = 0;
    m->state = SLOT_NEW;
    memmove(&ring->by_addr[pos + 1], &ring->by_addr[pos],
            (ring->nlive - pos) * sizeof(uint32_t));
    ring->by_addr[pos] = slot;
    ring->nlive++;
    ring->addr_bytes += m->addr_len;
    gen_points(ring, slot, nnew);
}

static void do_remove(struct sr_ring *ring, size_t pos, size_t *ntouched)
{
    uint32_t slot = ring->by_addr[pos];
    struct ring_member *m = &ring->members[slot];
    m->state = m->state == SLOT_NEW ? SLOT_DROPPED : SLOT_GONE;
    ring->touched[(*ntouched)++] = slot;
    memmove(&ring->by_addr[pos], &ring->by_addr[pos + 1],
            (ring->nlive - pos - 1) * sizeof(uint32_t));
    ring->nlive--;
    ring->addr_bytes -= m->addr_len;
}

static bool point_less(const struct sr_ring *ring, struct ring_point a,
                       struct ring_point b)
{
    if (a.hash != b.hash)
        return a.hash < b.hash;
    return strcmp(ring->members[a.owner].addr, ring->members[b.owner].addr) < 0;
}

static int cmp_hash(const void *pa, const void *pb)
{
    const struct ring_point *a = pa, *b = pb;
    return (a->hash > b->hash) - (a->hash < b->hash);
}

/* Sort new points by hash, then order each run of equal hashes by address
 * (runs are almost always of length one). */
static void sort_new(struct sr_ring *ring, size_t n)
{
    struct ring_point *p = ring->newpts;
    if (n < 2)
        return; /* nothing to order; newpts may be NULL (qsort(NULL, 0) is UB) */
    qsort(p, n, sizeof(*p), cmp_hash);
    for (size_t i = 1; i < n; i++) {
        struct ring_point v = p[i];
        size_t j = i;
        while (j > 0 && p[j - 1].hash == v.hash && point_less(ring, v, p[j - 1])) {
            p[j] = p[j - 1];
            j--;
        }
        p[j] = v;
    }
}

static bool present(const struct sr_ring *ring, struct ring_point p)
{
    uint8_t s = ring->members[p.owner].state;
    return s == SLOT_LIVE || s == SLOT_NEW;
}

/* spare = (pts without removed members) merged with (new points). */
static size_t merge(struct sr_ring *ring, size_t nnew)
{
    const struct ring_point *a = ring->pts, *b = ring->newpts;
    size_t i = 0, j = 0, k = 0, na = ring->npts;
    struct ring_point *out = ring->spare;
    while (i < na || j < nnew) {
        if (i < na && !present(ring, a[i])) {
            i++;
            continue;
        }
        if (j < nnew && !present(ring, b[j])) {
            j++;
            continue;
        }
        if (j == nnew || (i < na && !point_less(ring, b[j], a[i])))
            out[k++] = a[i++];
        else
            out[k++] = b[j++];
    }
    return k;
}

/* ---- the diff: moved ranges ------------------------------------------- */

static const char *owner_addr(const struct sr_ring *ring,
                              const struct ring_point *p, size_t n, size_t i)
{
    return n == 0 ? NULL : ring->members[p[i == n ? 0 : i].owner].addr;
}

static bool same_owner(const char *a, const char *b)
{
    return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static void push_range(struct sr_ring *ring, size_t *nr, uint64_t lo,
                       uint64_t hi, const char *from, const char *to)
{
    if (same_owner(from, to))
        return;
    struct sr_ring_range *last = *nr ? &ring->ranges[*nr - 1] : NULL;
    if (last && (uint64_t)last->end + 1 == lo &&
        same_owner(last->old_owner, from) && same_owner(last->new_owner, to)) {
        last->end = (uint32_t)hi;
        return;
    }
    ring->ranges[(*nr)++] = (struct sr_ring_range){
        .start = (uint32_t)lo, .end = (uint32_t)hi,
        .old_owner = from, .new_owner = to};
}

/* Walk the union of old and new point hashes. Between two consecutive
 * boundaries both owners are constant: each is the owner of the first point
 * at or after the upper boundary in its own array. */
static size_t diff(struct sr_ring *ring, const struct ring_point *o, size_t no,
                   const struct ring_point *n, size_t nn)
{
    size_t i = 0, j = 0, nr = 0;
    uint64_t lo = 0;
    while (i < no || j < nn) {
        uint32_t h;
        if (j == nn || (i < no && o[i].hash <= n[j].hash))
            h = o[i].hash;
        else
            h = n[j].hash;
        push_range(ring, &nr, lo, h, owner_addr(ring, o, no, i),
                   owner_addr(ring, n, nn, j));
        while (i < no && o[i].hash == h)
            i++;
        while (j < nn && n[j].hash == h)
            j++;
        lo = (uint64_t)h + 1;
    }
    if (lo <= UINT32_MAX)
        push_range(ring, &nr, lo, UINT32_MAX, owner_addr(ring, o, no, 0),
                   owner_addr(ring, n, nn, 0));
    return nr;
}

/* ---- finishing ---------------------------------------------------------- */

static void compute_checksum(struct sr_ring *ring)
{
    size_t len = 0;
    for (size_t i = 0; i < ring->nlive; i++) {
        const struct ring_member *m = &ring->members[ring->by_addr[i]];
        if (i > 0)
            ring->join[len++] = ';';
        memcpy(ring->join + len, m->addr, m->addr_len);
        len += m->addr_len;
    }
    ring->checksum = sr_farmhash_fingerprint32(ring->join, len);
}

static void release_touched(struct sr_ring *ring, size_t ntouched)
{
    for (size_t i = 0; i < ring->nlive; i++)
        ring->members[ring->by_addr[i]].state = SLOT_LIVE;
    for (size_t i = 0; i < ntouched; i++) {
        struct ring_member *m = &ring->members[ring->touched[i]];
        free(m->addr);
        m->addr = NULL;
        m->state = SLOT_FREE;
        ring->free_slots[ring->nfree++] = ring->touched[i];
    }
}

static size_t count_changes(const struct sr_ring *ring, size_t ntouched)
{
    size_t n = 0;
    for (size_t i = 0; i < ring->nlive; i++)
        n += ring->members[ring->by_addr[i]].state == SLOT_NEW;
    for (size_t i = 0; i < ntouched; i++)
        n += ring->members[ring->touched[i]].state == SLOT_GONE;
    return n;
}

/* ---- phases 1 and 2 ----------------------------------------------------- */

static void free_dups(char **dups, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(dups[i]);
    free(dups);
}

/* "address\0point_key\0" (or just the address) in one allocation. */
static char *dup_names(const struct sr_ring_change *c)
{
    size_t a = strlen(c->address), k = c->point_key ? strlen(c->point_key) : 0;
    char *d = malloc(a + 1 + k + 1);
    if (d == NULL)
        return NULL;
    memcpy(d, c->address, a + 1);
    if (c->point_key)
        memcpy(d + a + 1, c->point_key, k + 1);
    return d;
}

static bool same_pkey(const struct ring_member *m, const char *pkey)
{
    if (m->pkey == NULL || pkey == NULL)
        return m->pkey == pkey;
    return strcmp(m->pkey, pkey) == 0;
}

/* Validate, copy add addresses, and size the batch. */
static int prepare(struct sr_ring *ring, const struct sr_ring_change *c,
                   size_t n, char ***dups_out)
{
    struct batch_need need = {0};
    for (size_t i = 0; i < n; i++) {
        int rc = validate(&c[i]);
        if (rc < 0)
            return rc;
        if (c[i].op == SR_RING_ADD) {
            need.adds++;
            need.add_points += points_for(ring, norm_weight(c[i].weight));
            need.add_bytes += strlen(c[i].address);
        }
    }
    char **dups = calloc(n ? n : 1, sizeof(char *));
    if (dups == NULL)
        return SR_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        if (c[i].op == SR_RING_ADD && (dups[i] = dup_names(&c[i])) == NULL) {
            free_dups(dups, n);
            return SR_ENOMEM;
        }
    }
    int rc = reserve_all(ring, &need, n);
    if (rc < 0) {
        free_dups(dups, n);
        return rc;
    }
    *dups_out = dups;
    return 0;
}

/* Phase 3, part one: update the member table in change order. */
static void apply_members(struct sr_ring *ring, const struct sr_ring_change *c,
                          size_t n, char **dups, size_t *nnew,
                          size_t *ntouched)
{
    for (size_t i = 0; i < n; i++) {
        bool found;
        size_t pos = ring_find_addr(ring, c[i].address,
                                    strlen(c[i].address), &found);
        if (c[i].op == SR_RING_REMOVE) {
            if (found)
                do_remove(ring, pos, ntouched);
            continue;
        }
        if (found) {
            const struct ring_member *m = &ring->members[ring->by_addr[pos]];
            if (m->weight == norm_weight(c[i].weight) && same_pkey(m, c[i].point_key))
                continue;
            do_remove(ring, pos, ntouched);
        }
        do_add(ring, &c[i], dups[i], pos, nnew);
        dups[i] = NULL; /* owned by the member now */
    }
}

int sr_ring_apply(struct sr_ring *ring, const struct sr_ring_change *changes,
                  size_t n)
{
    if (ring->in_apply)
        return SR_EBUSY;
    if (n > 0 && changes == NULL)
        return SR_EINVAL;
    char **dups = NULL;
    int rc = prepare(ring, changes, n, &dups);
    if (rc < 0)
        return rc;

    size_t nnew = 0, ntouched = 0;
    apply_members(ring, changes, n, dups, &nnew, &ntouched);
    free_dups(dups, n);
    size_t changed = count_changes(ring, ntouched);
    if (changed == 0) {
        release_touched(ring, ntouched);
        return 0;
    }

    sort_new(ring, nnew);
    size_t nold = ring->npts;
    size_t nmerged = merge(ring, nnew);
    struct ring_point *old = ring->pts;
    size_t old_cap = ring->pts_cap;
    ring->pts = ring->spare;
    ring->pts_cap = ring->spare_cap;
    ring->npts = nmerged;
    ring->spare = old;
    ring->spare_cap = old_cap;
    ring_build_index(ring);
    ring_compute_owned(ring);
    compute_checksum(ring);

    if (ring->changed_cb != NULL) {
        /* Removed members' addresses stay alive until after the callback. */
        size_t nr = diff(ring, old, nold, ring->pts, ring->npts);
        ring->in_apply = true;
        ring->changed_cb(ring->changed_ctx, ring, ring->ranges, nr);
        ring->in_apply = false;
    }
    release_touched(ring, ntouched);
    return (int)(changed > INT32_MAX ? INT32_MAX : changed);
}

int sr_ring_add(struct sr_ring *ring, const char *address, double weight)
{
    struct sr_ring_change c = {.op = SR_RING_ADD, .address = address,
                               .weight = weight};
    return sr_ring_apply(ring, &c, 1);
}

int sr_ring_remove(struct sr_ring *ring, const char *address)
{
    struct sr_ring_change c = {.op = SR_RING_REMOVE, .address = address};
    return sr_ring_apply(ring, &c, 1);
}
