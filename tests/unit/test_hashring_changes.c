/* Batches, the "ring changed" callback and weights: the moved ranges are
 * exactly the keys whose owner changed, idempotent events are silent, and
 * weights scale points and ownership. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "swimring/error.h"
#include "swimring/hashring.h"

static char addrs[200][32];

static const char *addr(int i)
{
    snprintf(addrs[i], sizeof addrs[i], "192.168.%d.%d:3000", i / 200, i % 200 + 1);
    return addrs[i];
}

struct moved {
    uint32_t start, end;
    char *from, *to;
};

struct recorder {
    int calls;
    size_t n;
    struct moved r[8192];
    struct sr_ring *ring;
    int apply_rc; /* what sr_ring_apply returned from inside the callback */
};

static void record(void *ctx, const struct sr_ring *ring,
                   const struct sr_ring_range *ranges, size_t n)
{
    struct recorder *rec = ctx;
    rec->calls++;
    cr_assert_leq(n, 8192);
    for (size_t i = 0; i < rec->n; i++) {
        free(rec->r[i].from);
        free(rec->r[i].to);
    }
    rec->n = n;
    for (size_t i = 0; i < n; i++) {
        rec->r[i].start = ranges[i].start;
        rec->r[i].end = ranges[i].end;
        rec->r[i].from = ranges[i].old_owner ? strdup(ranges[i].old_owner) : NULL;
        rec->r[i].to = ranges[i].new_owner ? strdup(ranges[i].new_owner) : NULL;
    }
    /* The new placement is already visible to the callback. */
    if (n > 0 && ranges[0].new_owner)
        cr_expect_str_eq(sr_ring_lookup_hash(ring, ranges[0].start), ranges[0].new_owner);
    if (rec->ring)
        rec->apply_rc = sr_ring_remove(rec->ring, "anything");
}

static void rec_free(struct recorder *rec)
{
    for (size_t i = 0; i < rec->n; i++) {
        free(rec->r[i].from);
        free(rec->r[i].to);
    }
    rec->n = 0;
}

static bool same(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0);
}

/* Ranges are sorted, disjoint, non-empty and each says a real change. */
static void check_ranges_shape(const struct recorder *rec)
{
    for (size_t i = 0; i < rec->n; i++) {
        cr_assert_leq(rec->r[i].start, rec->r[i].end);
        cr_assert_not(same(rec->r[i].from, rec->r[i].to));
        if (i > 0)
            cr_assert_gt(rec->r[i].start, rec->r[i - 1].end);
    }
}

static const struct moved *find_range(const struct recorder *rec, uint32_t h)
{
    size_t lo = 0, hi = rec->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (rec->r[mid].end < h)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < rec->n && rec->r[lo].start <= h ? &rec->r[lo] : NULL;
}

static uint32_t sample(uint32_t i)
{
    /* A multiplicative sweep of the hash space plus range edges below. */
    return i * 2654435761u;
}

/* Every sampled hash (and both edges of every range, and the value next to
 * them) is in a range iff its owner changed, with the right pair. */
static void check_exact(const struct recorder *rec, const struct sr_ring *old,
                        const struct sr_ring *now)
{
    check_ranges_shape(rec);
    int changed = 0;
    for (uint32_t i = 0; i < 200000 + 4 * rec->n; i++) {
        uint32_t h;
        if (i < 200000)
            h = sample(i);
        else {
            const struct moved *m = &rec->r[(i - 200000) / 4];
            uint32_t e[4] = {m->start, m->end, m->start - 1, m->end + 1};
            h = e[(i - 200000) % 4];
        }
        const char *a = sr_ring_lookup_hash(old, h);
        const char *b = sr_ring_lookup_hash(now, h);
        const struct moved *m = find_range(rec, h);
        if (same(a, b)) {
            cr_assert_null(m, "hash %u unchanged (%s) but reported moved", h, a);
        } else {
            changed++;
            cr_assert_not_null(m, "hash %u moved %s -> %s, not reported", h, a, b);
            cr_assert(same(m->from, a) && same(m->to, b));
        }
    }
    cr_expect_gt(changed, 0);
}

static struct sr_ring *ring_of(int first, int n, struct recorder *rec)
{
    struct sr_ring *ring = sr_ring_new(NULL, NULL);
    cr_assert_not_null(ring);
    if (rec)
        sr_ring_set_changed_cb(ring, record, rec);
    for (int i = first; i < first + n; i++)
        sr_ring_add(ring, addr(i), 0);
    return ring;
}

Test(hashring_changes, batch_moved_ranges_are_exactly_the_changed_keys)
{
    static struct recorder rec;
    struct sr_ring *ring = ring_of(0, 100, &rec);
    cr_expect_eq(rec.calls, 100);
    struct sr_ring *old = ring_of(0, 100, NULL);
    /* One gossip round: 3 leave, 5 join. */
    struct sr_ring_change c[] = {
        {.op = SR_RING_REMOVE, .address = addrs[3]},
        {.op = SR_RING_REMOVE, .address = addrs[50]},
        {.op = SR_RING_ADD, .address = addr(100)},
        {.op = SR_RING_ADD, .address = addr(101)},
        {.op = SR_RING_REMOVE, .address = addrs[97]},
        {.op = SR_RING_ADD, .address = addr(102)},
        {.op = SR_RING_ADD, .address = addr(103)},
        {.op = SR_RING_ADD, .address = addr(104)},
    };
    cr_assert_eq(sr_ring_apply(ring, c, 8), 8);
    cr_expect_eq(rec.calls, 101, "one callback per batch");
    cr_expect_eq(sr_ring_member_count(ring), 102);
    check_exact(&rec, old, ring);
    rec_free(&rec);
    sr_ring_delete(old);
    sr_ring_delete(ring);
}

Test(hashring_changes, single_add_and_remove_ranges)
{
    static struct recorder rec;
    struct sr_ring *ring = ring_of(0, 40, &rec);
    struct sr_ring *old = ring_of(0, 40, NULL);
    cr_assert_eq(sr_ring_add(ring, addr(40), 0), 1);
    check_exact(&rec, old, ring);
    for (size_t i = 0; i < rec.n; i++)
        cr_assert_str_eq(rec.r[i].to, addrs[40]);
    /* Removing it again gives the same ranges back, reversed. */
    struct sr_ring *with = ring_of(0, 41, NULL);
    cr_assert_eq(sr_ring_remove(ring, addrs[40]), 1);
    check_exact(&rec, with, ring);
    for (size_t i = 0; i < rec.n; i++)
        cr_assert_str_eq(rec.r[i].from, addrs[40]);
    rec_free(&rec);
    sr_ring_delete(with);
    sr_ring_delete(old);
    sr_ring_delete(ring);
}

Test(hashring_changes, first_member_and_last_member)
{
    static struct recorder rec;
    struct sr_ring *ring = sr_ring_new(NULL, NULL);
    sr_ring_set_changed_cb(ring, record, &rec);
    cr_assert_eq(sr_ring_add(ring, "only:1", 0), 1);
    cr_assert_eq(rec.n, 1);
    cr_expect_eq(rec.r[0].start, 0);
    cr_expect_eq(rec.r[0].end, UINT32_MAX);
    cr_expect_null(rec.r[0].from);
    cr_expect_str_eq(rec.r[0].to, "only:1");
    cr_assert_eq(sr_ring_remove(ring, "only:1"), 1);
    cr_assert_eq(rec.n, 1);
    cr_expect_str_eq(rec.r[0].from, "only:1");
    cr_expect_null(rec.r[0].to);
    cr_expect_null(sr_ring_lookup(ring, "k", 1));
    rec_free(&rec);
    sr_ring_delete(ring);
}

Test(hashring_changes, idempotent_events_are_silent)
{
    static struct recorder rec;
    struct sr_ring *ring = ring_of(0, 10, &rec);
    int calls = rec.calls;
    uint32_t sum = sr_ring_checksum(ring);
    cr_expect_eq(sr_ring_add(ring, addrs[4], 0), 0);
    cr_expect_eq(sr_ring_add(ring, addrs[4], 1.0), 0, "weight 0 means 1.0");
    cr_expect_eq(sr_ring_remove(ring, "not-a-member:1"), 0);
    struct sr_ring_change flap[] = {
        {.op = SR_RING_ADD, .address = "flap:1"},
        {.op = SR_RING_REMOVE, .address = "flap:1"},
    };
    cr_expect_eq(sr_ring_apply(ring, flap, 2), 0);
    cr_expect_eq(sr_ring_apply(ring, NULL, 0), 0);
    cr_expect_eq(rec.calls, calls);
    cr_expect_eq(sr_ring_checksum(ring), sum);
    cr_expect_not(sr_ring_has(ring, "flap:1"));
    rec_free(&rec);
    sr_ring_delete(ring);
}

Test(hashring_changes, apply_from_the_callback_is_refused)
{
    static struct recorder rec;
    struct sr_ring *ring = ring_of(0, 3, &rec);
    rec.ring = ring;
    cr_assert_eq(sr_ring_add(ring, addr(3), 0), 1);
    cr_expect_eq(rec.apply_rc, SR_EBUSY);
    cr_expect_eq(sr_ring_member_count(ring), 4);
    rec_free(&rec);
    sr_ring_delete(ring);
}

Test(hashring_changes, checksum_follows_membership)
{
    struct sr_ring *a = sr_ring_new(NULL, NULL);
    struct sr_ring *b = sr_ring_new(NULL, NULL);
    sr_ring_add(a, "b:1", 0);
    sr_ring_add(a, "a:1", 0);
    sr_ring_add(b, "a:1", 0);
    cr_expect_neq(sr_ring_checksum(a), sr_ring_checksum(b));
    sr_ring_add(b, "b:1", 0);
    cr_expect_eq(sr_ring_checksum(a), sr_ring_checksum(b));
    cr_expect_eq(sr_ring_checksum(a), sr_ring_hash("a:1;b:1", 7));
    sr_ring_delete(a);
    sr_ring_delete(b);
}

Test(hashring_changes, weights_scale_points_and_ownership)
{
    static struct recorder rec;
    struct sr_ring *ring = ring_of(0, 20, &rec);
    struct sr_ring *old = ring_of(0, 20, NULL);
    /* Member 0 gets weight 4: a weight change is a remove plus an add. */
    cr_assert_eq(sr_ring_add(ring, addrs[0], 4.0), 2);
    check_exact(&rec, old, ring);
    cr_assert_eq(sr_ring_add(ring, "half:1", 0.5), 1);
    cr_assert_eq(sr_ring_add(ring, "tiny:1", 0.001), 1);
    struct sr_ring_owner_stat st[22];
    cr_assert_eq(sr_ring_stats(ring, st, 22), 22);
    double unit = 0;
    for (int i = 0; i < 22; i++)
        if (st[i].weight == 1.0)
            unit += st[i].fraction / 19;
    for (int i = 0; i < 22; i++) {
        if (strcmp(st[i].address, addrs[0]) == 0) {
            cr_expect_eq(st[i].points, 400);
            cr_expect_eq(st[i].weight, 4.0);
            cr_expect(st[i].fraction > 3.0 * unit && st[i].fraction < 5.0 * unit,
                      "weight 4 owns %.4f, unit %.4f", st[i].fraction, unit);
        } else if (strcmp(st[i].address, "half:1") == 0) {
            cr_expect_eq(st[i].points, 50);
            cr_expect(st[i].fraction > 0.3 * unit && st[i].fraction < 0.7 * unit);
        } else if (strcmp(st[i].address, "tiny:1") == 0) {
            cr_expect_eq(st[i].points, 1, "a member keeps at least one point");
        }
    }
    cr_expect_eq(sr_ring_point_count(ring), 19 * 100 + 400 + 50 + 1);
    /* The weighted points are ringpop's point names 0..399 of that address:
     * a ring with R = 400 puts member 0's points at the same hashes. */
    rec_free(&rec);
    sr_ring_delete(old);
    sr_ring_delete(ring);
}

/* sr_ring_trim frees the scratch between batches: lookups, checksum and the
 * next batch's moved ranges are those of a ring that kept it. */
Test(hashring_changes, trim_between_batches_changes_nothing)
{
    static struct recorder rec;
    struct sr_ring *ring = ring_of(0, 100, &rec);
    struct sr_ring *kept = ring_of(0, 100, NULL);
    sr_ring_trim(ring);
    sr_ring_trim(ring); /* twice: nothing left to free */
    cr_expect_eq(sr_ring_checksum(ring), sr_ring_checksum(kept));
    for (uint32_t i = 0; i < 100000; i++)
        cr_assert(same(sr_ring_lookup_hash(ring, sample(i)), sr_ring_lookup_hash(kept, sample(i))));
    struct sr_ring_change c[] = {
        {.op = SR_RING_REMOVE, .address = addrs[7]},
        {.op = SR_RING_ADD, .address = addr(100)},
        {.op = SR_RING_ADD, .address = addr(101)},
    };
    cr_assert_eq(sr_ring_apply(ring, c, 3), 3);
    check_exact(&rec, kept, ring);
    cr_assert_eq(sr_ring_apply(kept, c, 3), 3);
    cr_expect_eq(sr_ring_checksum(ring), sr_ring_checksum(kept));
    sr_ring_trim(ring);
    cr_assert_eq(sr_ring_remove(ring, addrs[100]), 1);
    cr_assert_eq(sr_ring_remove(kept, addrs[100]), 1);
    cr_expect_eq(sr_ring_checksum(ring), sr_ring_checksum(kept));
    sr_ring_trim(NULL);
    rec_free(&rec);
    sr_ring_delete(kept);
    sr_ring_delete(ring);
}
