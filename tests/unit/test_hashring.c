/* Placement properties of the ring: determinism, independence of insertion
 * order and batching, minimal movement on remove and add, lookup_n order
 * and distinctness, and incremental updates equal to a fresh build. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "swimring/error.h"
#include "swimring/farmhash.h"
#include "swimring/hashring.h"

#define NKEYS 100000

static char addrs[1000][32];

static const char *addr(int i)
{
    snprintf(addrs[i], sizeof addrs[i], "10.0.%d.%d:7946", i / 250, i % 250 + 1);
    return addrs[i];
}

static struct sr_ring *ring_with(uint32_t points, const int *order, int n)
{
    struct sr_ring_cfg cfg;
    sr_ring_cfg_default(&cfg);
    cfg.points_per_member = points;
    struct sr_ring *ring = sr_ring_new(&cfg, NULL);
    cr_assert_not_null(ring);
    for (int i = 0; i < n; i++)
        cr_assert_eq(sr_ring_add(ring, addr(order ? order[i] : i), 0), 1);
    return ring;
}

static uint32_t key_hash(int k)
{
    char key[32];
    int len = snprintf(key, sizeof key, "key-%d", k);
    return sr_ring_hash(key, (size_t)len);
}

/* Owners as pointers into `ring`, for comparing two states of one ring use
 * strcmp; across rings compare strings too. */
static void owners(const struct sr_ring *ring, const char **out, int nkeys)
{
    for (int k = 0; k < nkeys; k++)
        out[k] = sr_ring_lookup_hash(ring, key_hash(k));
}

static void expect_same_placement(const struct sr_ring *a, const struct sr_ring *b)
{
    cr_expect_eq(sr_ring_checksum(a), sr_ring_checksum(b));
    cr_expect_eq(sr_ring_point_count(a), sr_ring_point_count(b));
    int diffs = 0;
    for (int k = 0; k < 20000; k++) {
        uint32_t h = key_hash(k);
        const char *ra[3], *rb[3];
        size_t na = sr_ring_lookup_n_hash(a, h, ra, 3);
        size_t nb = sr_ring_lookup_n_hash(b, h, rb, 3);
        if (na != nb)
            diffs++;
        for (size_t i = 0; i < na && i < nb; i++)
            diffs += strcmp(ra[i], rb[i]) != 0;
    }
    cr_expect_eq(diffs, 0, "%d lookups differ", diffs);
}

static void shuffle(int *v, int n, unsigned seed)
{
    for (int i = 0; i < n; i++)
        v[i] = i;
    for (int i = n - 1; i > 0; i--) {
        seed = seed * 1103515245u + 12345u;
        int j = (int)((seed >> 8) % (unsigned)(i + 1));
        int t = v[i];
        v[i] = v[j];
        v[j] = t;
    }
}

Test(hashring, empty_ring)
{
    struct sr_ring *ring = sr_ring_new(NULL, NULL);
    cr_assert_not_null(ring);
    const char *out[3];
    cr_expect_null(sr_ring_lookup(ring, "k", 1));
    cr_expect_eq(sr_ring_lookup_n(ring, "k", 1, out, 3), 0);
    cr_expect_not(sr_ring_owns(ring, "a", "k", 1));
    cr_expect_eq(sr_ring_member_count(ring), 0);
    cr_expect_eq(sr_ring_checksum(ring), sr_farmhash_fingerprint32("", 0));
    cr_expect_eq(sr_ring_remove(ring, "nobody"), 0);
    sr_ring_delete(ring);
}

Test(hashring, bad_config_and_input)
{
    int err = 0;
    struct sr_ring_cfg cfg = {.points_per_member = 0};
    cr_expect_null(sr_ring_new(&cfg, &err));
    cr_expect_eq(err, SR_EINVAL);
    struct sr_ring *ring = ring_with(10, NULL, 3);
    uint32_t sum = sr_ring_checksum(ring);
    char longaddr[SR_RING_ADDR_MAX + 2];
    memset(longaddr, 'a', sizeof longaddr - 1);
    longaddr[sizeof longaddr - 1] = '\0';
    struct sr_ring_change bad[] = {
        {.op = SR_RING_ADD, .address = "ok:1"},
        {.op = SR_RING_ADD, .address = ""},
    };
    cr_expect_eq(sr_ring_apply(ring, bad, 2), SR_EINVAL);
    cr_expect_eq(sr_ring_add(ring, longaddr, 0), SR_EINVAL);
    cr_expect_eq(sr_ring_add(ring, NULL, 0), SR_EINVAL);
    cr_expect_eq(sr_ring_add(ring, "x:1", -1), SR_EINVAL);
    cr_expect_eq(sr_ring_add(ring, "x:1", SR_RING_WEIGHT_MAX * 2), SR_EINVAL);
    struct sr_ring_change badop = {.op = 7, .address = "x:1"};
    cr_expect_eq(sr_ring_apply(ring, &badop, 1), SR_EINVAL);
    /* A refused batch changes nothing, not even its valid first half. */
    cr_expect_eq(sr_ring_checksum(ring), sum);
    cr_expect_not(sr_ring_has(ring, "ok:1"));
    cr_expect_eq(sr_ring_member_count(ring), 3);
    sr_ring_delete(ring);
}

Test(hashring, deterministic_and_independent_of_insertion_order)
{
    int order[200];
    struct sr_ring *fwd = ring_with(100, NULL, 200);
    shuffle(order, 200, 42);
    struct sr_ring *shuf = ring_with(100, order, 200);
    for (int i = 0; i < 200; i++)
        order[i] = 199 - i;
    struct sr_ring *rev = ring_with(100, order, 200);

    /* One batch, with noise: members that come and go again. */
    struct sr_ring *batch = sr_ring_new(NULL, NULL);
    struct sr_ring_change c[220];
    int n = 0;
    shuffle(order, 200, 7);
    for (int i = 0; i < 200; i++) {
        c[n++] = (struct sr_ring_change){.op = SR_RING_ADD, .address = addr(order[i])};
        if (i % 20 == 0)
            c[n++] = (struct sr_ring_change){.op = SR_RING_ADD, .address = "noise:1"};
        if (i % 20 == 1)
            c[n++] = (struct sr_ring_change){.op = SR_RING_REMOVE, .address = "noise:1"};
    }
    cr_assert_eq(sr_ring_apply(batch, c, (size_t)n), 200);

    expect_same_placement(fwd, shuf);
    expect_same_placement(fwd, rev);
    expect_same_placement(fwd, batch);
    sr_ring_delete(fwd);
    sr_ring_delete(shuf);
    sr_ring_delete(rev);
    sr_ring_delete(batch);
}

Test(hashring, incremental_equals_fresh_build)
{
    /* Random churn, then compare with a ring built from the survivors. */
    struct sr_ring *ring = ring_with(100, NULL, 300);
    bool in[300];
    for (int i = 0; i < 300; i++)
        in[i] = true;
    unsigned seed = 99;
    for (int step = 0; step < 400; step++) {
        seed = seed * 1103515245u + 12345u;
        int i = (int)((seed >> 8) % 300);
        int rc = in[i] ? sr_ring_remove(ring, addrs[i]) : sr_ring_add(ring, addrs[i], 0);
        cr_assert_eq(rc, 1);
        in[i] = !in[i];
    }
    struct sr_ring *fresh = sr_ring_new(NULL, NULL);
    for (int i = 299; i >= 0; i--)
        if (in[i])
            cr_assert_eq(sr_ring_add(fresh, addrs[i], 0), 1);
    expect_same_placement(ring, fresh);
    sr_ring_delete(ring);
    sr_ring_delete(fresh);
}

Test(hashring, remove_moves_only_the_removed_members_keys)
{
    struct sr_ring *ring = ring_with(100, NULL, 100);
    const char **before = malloc(NKEYS * sizeof(char *));
    char **saved = malloc(NKEYS * sizeof(char *));
    owners(ring, before, NKEYS);
    for (int k = 0; k < NKEYS; k++)
        saved[k] = strdup(before[k]);
    const char *gone = addrs[37];
    int owned_by_gone = 0;
    for (int k = 0; k < NKEYS; k++)
        owned_by_gone += strcmp(saved[k], gone) == 0;
    cr_assert_eq(sr_ring_remove(ring, gone), 1);
    cr_assert_eq(sr_ring_member_count(ring), 99);
    int moved = 0, wrong = 0;
    for (int k = 0; k < NKEYS; k++) {
        const char *now = sr_ring_lookup_hash(ring, key_hash(k));
        if (strcmp(now, saved[k]) != 0) {
            moved++;
            wrong += strcmp(saved[k], gone) != 0;
        }
        cr_assert_neq(strcmp(now, gone), 0);
    }
    cr_expect_eq(wrong, 0, "%d keys of other members moved", wrong);
    cr_expect_eq(moved, owned_by_gone);
    cr_expect_gt(moved, 0);
    for (int k = 0; k < NKEYS; k++)
        free(saved[k]);
    free(saved);
    free(before);
    sr_ring_delete(ring);
}

Test(hashring, add_takes_the_expected_fraction_from_others)
{
    struct sr_ring *ring = ring_with(100, NULL, 100);
    char **saved = malloc(NKEYS * sizeof(char *));
    for (int k = 0; k < NKEYS; k++)
        saved[k] = strdup(sr_ring_lookup_hash(ring, key_hash(k)));
    const char *newcomer = addr(100);
    cr_assert_eq(sr_ring_add(ring, newcomer, 0), 1);
    int moved = 0, wrong = 0;
    for (int k = 0; k < NKEYS; k++) {
        const char *now = sr_ring_lookup_hash(ring, key_hash(k));
        if (strcmp(now, saved[k]) != 0) {
            moved++;
            wrong += strcmp(now, newcomer) != 0;
        }
    }
    double frac = (double)moved / NKEYS, want = 1.0 / 101;
    cr_expect_eq(wrong, 0, "%d keys moved between old members", wrong);
    cr_expect(frac > want - 0.01 && frac < want + 0.01,
              "moved %.4f, expected %.4f +- 0.01", frac, want);
    /* The hash-space share agrees with the key sample. */
    struct sr_ring_owner_stat st[101];
    cr_assert_eq(sr_ring_stats(ring, st, 101), 101);
    for (int i = 0; i < 101; i++)
        if (strcmp(st[i].address, newcomer) == 0)
            cr_expect(st[i].fraction > want - 0.01 && st[i].fraction < want + 0.01);
    for (int k = 0; k < NKEYS; k++)
        free(saved[k]);
    free(saved);
    sr_ring_delete(ring);
}

/* Independent oracle for lookup_n: each member's clockwise distance from h
 * to its nearest point, computed from the placement rule itself. */
struct dist {
    uint64_t d;
    const char *addr;
};

static int cmp_dist(const void *pa, const void *pb)
{
    const struct dist *a = pa, *b = pb;
    if (a->d != b->d)
        return a->d < b->d ? -1 : 1;
    return strcmp(a->addr, b->addr);
}

static void oracle(uint32_t h, int nm, uint32_t points, struct dist *out)
{
    for (int m = 0; m < nm; m++) {
        uint64_t best = UINT64_MAX;
        for (uint32_t i = 0; i < points; i++) {
            char buf[64];
            int len = snprintf(buf, sizeof buf, "%s%u", addrs[m], i);
            uint32_t p = sr_farmhash_fingerprint32(buf, (size_t)len);
            uint64_t d = p >= h ? (uint64_t)p - h : (uint64_t)p + 4294967296ull - h;
            if (d < best)
                best = d;
        }
        out[m] = (struct dist){best, addrs[m]};
    }
    qsort(out, (size_t)nm, sizeof *out, cmp_dist);
}

Test(hashring, lookup_n_distinct_clockwise_and_more_than_members)
{
    enum { NM = 12, PTS = 20 };
    struct sr_ring *ring = ring_with(PTS, NULL, NM);
    const char *out[40];
    struct dist want[NM];
    for (int k = 0; k < 2000; k++) {
        uint32_t h = key_hash(k);
        oracle(h, NM, PTS, want);
        size_t n = sr_ring_lookup_n_hash(ring, h, out, 5);
        cr_assert_eq(n, 5);
        for (size_t i = 0; i < n; i++)
            cr_assert_str_eq(out[i], want[i].addr, "key %d rank %zu", k, i);
        cr_assert_str_eq(out[0], sr_ring_lookup_hash(ring, h));
        /* n > members: every member once, still in clockwise order. */
        n = sr_ring_lookup_n_hash(ring, h, out, 40);
        cr_assert_eq(n, NM);
        for (size_t i = 0; i < n; i++)
            cr_assert_str_eq(out[i], want[i].addr);
    }
    /* n = 0 writes nothing; a single member answers once. */
    cr_expect_eq(sr_ring_lookup_n(ring, "k", 1, out, 0), 0);
    struct sr_ring *one = ring_with(100, NULL, 1);
    cr_expect_eq(sr_ring_lookup_n(one, "k", 1, out, 3), 1);
    cr_expect_str_eq(out[0], addrs[0]);
    sr_ring_delete(one);
    sr_ring_delete(ring);
}

Test(hashring, members_sorted_and_stats_cover_the_space)
{
    int order[50];
    shuffle(order, 50, 3);
    struct sr_ring *ring = ring_with(100, order, 50);
    cr_expect_eq(sr_ring_member_count(ring), 50);
    cr_expect_eq(sr_ring_point_count(ring), 5000);
    for (size_t i = 1; i < 50; i++)
        cr_expect_lt(strcmp(sr_ring_member_at(ring, i - 1), sr_ring_member_at(ring, i)), 0);
    cr_expect_null(sr_ring_member_at(ring, 50));
    struct sr_ring_owner_stat st[50];
    cr_assert_eq(sr_ring_stats(ring, st, 50), 50);
    uint64_t total = 0;
    double ftotal = 0;
    for (int i = 0; i < 50; i++) {
        total += st[i].owned;
        ftotal += st[i].fraction;
        cr_expect_eq(st[i].points, 100);
        cr_expect_eq(st[i].weight, 1.0);
        cr_expect(st[i].fraction > 0.5 / 50 && st[i].fraction < 2.0 / 50);
    }
    cr_expect_eq(total, 1ull << 32);
    cr_expect(ftotal > 0.999999 && ftotal < 1.000001);
    /* A short out array gets only what fits. */
    cr_expect_eq(sr_ring_stats(ring, st, 2), 50);
    cr_expect(sr_ring_memory(ring) >= 5000 * 8);
    sr_ring_delete(ring);
}

/* A point key (ringpop-go identity "I#"): the member named A owns exactly
 * the keys the member named "I#" would own; changing only the point key
 * re-places it (as "beta#" would be); a bad point key is refused. */
Test(hashring, point_key_places_as_identity)
{
    struct sr_ring *a = sr_ring_new(NULL, NULL), *b = sr_ring_new(NULL, NULL);
    cr_assert(a && b);
    struct sr_ring_change ca[] = {
        {.op = SR_RING_ADD, .address = "10.0.0.1:3000", .point_key = "alpha#"},
        {.op = SR_RING_ADD, .address = "10.0.0.2:3000"},
    };
    struct sr_ring_change cb[] = {
        {.op = SR_RING_ADD, .address = "alpha#"},
        {.op = SR_RING_ADD, .address = "10.0.0.2:3000"},
    };
    cr_assert_eq(sr_ring_apply(a, ca, 2), 2);
    cr_assert_eq(sr_ring_apply(b, cb, 2), 2);
    int mine = 0;
    for (int i = 0; i < 2000; i++) {
        char k[32];
        int n = snprintf(k, sizeof k, "key-%d", i);
        const char *oa = sr_ring_lookup(a, k, (size_t)n), *ob = sr_ring_lookup(b, k, (size_t)n);
        bool id = strcmp(ob, "alpha#") == 0;
        cr_assert_str_eq(oa, id ? "10.0.0.1:3000" : ob, "%s", k);
        mine += id;
    }
    cr_assert(mine > 0 && mine < 2000);
    /* same address, another point key: a re-placement (a change counted) */
    struct sr_ring_change re = {.op = SR_RING_ADD, .address = "10.0.0.1:3000", .point_key = "beta#"};
    cr_assert_gt(sr_ring_apply(a, &re, 1), 0);
    cr_assert_eq(sr_ring_apply(a, &re, 1), 0, "the same point key again is a no-op");
    struct sr_ring_change rb = {.op = SR_RING_REMOVE, .address = "alpha#"};
    struct sr_ring_change ab = {.op = SR_RING_ADD, .address = "beta#"};
    cr_assert_eq(sr_ring_apply(b, &rb, 1), 1);
    cr_assert_eq(sr_ring_apply(b, &ab, 1), 1);
    for (int i = 0; i < 2000; i++) {
        char k[32];
        int n = snprintf(k, sizeof k, "key-%d", i);
        const char *oa = sr_ring_lookup(a, k, (size_t)n), *ob = sr_ring_lookup(b, k, (size_t)n);
        cr_assert_str_eq(oa, strcmp(ob, "beta#") == 0 ? "10.0.0.1:3000" : ob, "%s", k);
    }
    struct sr_ring_change bad = {.op = SR_RING_ADD, .address = "10.0.0.3:3000", .point_key = ""};
    cr_assert_eq(sr_ring_apply(a, &bad, 1), SR_EINVAL);
    sr_ring_delete(a);
    sr_ring_delete(b);
}
