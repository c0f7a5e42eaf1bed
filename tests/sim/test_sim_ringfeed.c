/* The ring fed by membership (swimring/ringfeed.h), on the simulator: every
 * node keeps its own ring from its own events, flushed every 100 ms of
 * simulated time (the node flushes once per loop turn). Checks that all
 * rings agree, that a kill moves exactly the dead members' ranges, the
 * suspect-on-ring option both ways, and weights from labels. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "swimring/ringfeed.h"
#include "sim/sim_util.h"

#define N 40
#define STEP (100 * SR_US_PER_MS)
#define SAMPLES 20000

struct moved {
    uint32_t start, end;
    char old_owner[SR_SWIM_ADDR_MAX];
};

struct feeds {
    struct sr_sim *sim;
    struct sr_ringfeed_cfg cfg;
    struct sr_ring *ring[N];
    struct sr_ringfeed *feed[N];
    struct moved *moved; /* ranges reported by node 0's ring */
    size_t nmoved, capmoved;
};

static void on_changed(void *ctx, const struct sr_ring *ring, const struct sr_ring_range *r,
                       size_t n)
{
    struct feeds *F = ctx;
    (void)ring;
    for (size_t i = 0; i < n; i++) {
        if (F->nmoved == F->capmoved) {
            F->capmoved = F->capmoved ? 2 * F->capmoved : 64;
            F->moved = realloc(F->moved, F->capmoved * sizeof(*F->moved));
            cr_assert_not_null(F->moved);
        }
        struct moved *m = &F->moved[F->nmoved++];
        m->start = r[i].start;
        m->end = r[i].end;
        snprintf(m->old_owner, sizeof(m->old_owner), "%s", r[i].old_owner ? r[i].old_owner : "");
    }
}

static void feeds_attach(struct feeds *F, int i)
{
    struct sr_swim *core = sr_sim_core(F->sim, i);
    if (F->feed[i] || !core)
        return;
    int err = 0;
    F->ring[i] = sr_ring_new(NULL, &err);
    cr_assert_not_null(F->ring[i]);
    F->feed[i] = sr_ringfeed_new(F->ring[i], &F->cfg, &err);
    cr_assert_not_null(F->feed[i]);
    if (i == 0)
        sr_ring_set_changed_cb(F->ring[i], on_changed, F);
    cr_assert_geq(sr_ringfeed_resync(F->feed[i], core), 0);
}

static void feeds_hook(void *ud, int node, const struct sr_swim_event *ev)
{
    struct feeds *F = ud;
    feeds_attach(F, node);
    cr_assert_eq(sr_ringfeed_event(F->feed[node], ev), 0);
}

static void feeds_flush(struct feeds *F)
{
    for (int i = 0; i < N; i++) {
        feeds_attach(F, i);
        if (F->feed[i])
            cr_assert_geq(sr_ringfeed_flush(F->feed[i]), 0);
    }
}

static void feeds_free(struct feeds *F)
{
    for (int i = 0; i < N; i++) {
        sr_ringfeed_delete(F->feed[i]);
        sr_ring_delete(F->ring[i]);
    }
    free(F->moved);
    sr_sim_delete(F->sim);
}

/* Every live node's ring holds exactly the live nodes, and all checksums
 * are equal. */
static bool pred_rings_agree(struct sr_sim *sim, void *ud)
{
    struct feeds *F = ud;
    feeds_flush(F);
    size_t live = 0;
    for (int i = 0; i < N; i++)
        live += sr_sim_is_live(sim, i);
    int ref = -1;
    for (int i = 0; i < N; i++) {
        if (!sr_sim_is_live(sim, i))
            continue;
        if (sr_ring_member_count(F->ring[i]) != live)
            return false;
        for (int j = 0; j < N; j++)
            if (sr_sim_is_live(sim, j) && !sr_ring_has(F->ring[i], sr_sim_addr(sim, j)))
                return false;
        if (ref < 0)
            ref = i;
        else if (sr_ring_checksum(F->ring[i]) != sr_ring_checksum(F->ring[ref]))
            return false;
    }
    return true;
}

static void feeds_boot(struct feeds *F, uint64_t seed, const struct sr_swim_cfg *c,
                       bool suspect_on_ring)
{
    memset(F, 0, sizeof(*F));
    F->sim = sim_make(seed, c, 0);
    sr_ringfeed_cfg_default(&F->cfg);
    F->cfg.suspect_on_ring = suspect_on_ring;
    sr_sim_set_event_hook(F->sim, feeds_hook, F);
    sim_boot(F->sim, N, SR_US_PER_S);
    SIM_ASSERT(sim_wait(F->sim, pred_converged, NULL, 30 * SR_US_PER_S, STEP), "no convergence");
    SIM_ASSERT(sim_wait(F->sim, pred_rings_agree, F, sr_sim_now(F->sim) + SR_US_PER_S, STEP),
               "rings disagree after membership converged");
}

static struct sr_swim_cfg lan(void)
{
    struct sr_swim_cfg c;
    sr_swim_cfg_default_lan(&c);
    return c;
}

Test(sim_ringfeed, every_ring_agrees_and_answers_the_same_owner)
{
    struct sr_swim_cfg c = lan();
    struct feeds F;
    feeds_boot(&F, 301, &c, true);
    char key[32];
    for (int k = 0; k < 1000; k++) {
        int len = snprintf(key, sizeof(key), "key-%d", k);
        const char *want = sr_ring_lookup(F.ring[0], key, (size_t)len);
        for (int i = 1; i < N; i++)
            cr_assert_str_eq(sr_ring_lookup(F.ring[i], key, (size_t)len), want,
                             "node %d disagrees on %s", i, key);
    }
    /* One batch per flush, not one per event: far fewer applies than events. */
    const struct sr_ringfeed_stats *st = sr_ringfeed_stats(F.feed[0]);
    cr_expect_lt(st->batches, st->events, "batches %llu events %llu",
                 (unsigned long long)st->batches, (unsigned long long)st->events);
    feeds_free(&F);
}

static bool is_killed(const char *addr, const char *const *killed, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(addr, killed[i]) == 0)
            return true;
    return false;
}

static const struct moved *find_moved(const struct feeds *F, uint32_t h)
{
    for (size_t i = 0; i < F->nmoved; i++)
        if (h >= F->moved[i].start && h <= F->moved[i].end)
            return &F->moved[i];
    return NULL;
}

Test(sim_ringfeed, a_kill_moves_exactly_the_dead_members_ranges)
{
    struct sr_swim_cfg c = lan();
    struct feeds F;
    feeds_boot(&F, 302, &c, true);
    const int dead[3] = {5, 17, 33};
    const char *killed[3];
    for (int i = 0; i < 3; i++)
        killed[i] = sr_sim_addr(F.sim, dead[i]);
    /* owners of sampled hashes before the kill, as node 0 sees them */
    static char before[SAMPLES][SR_SWIM_ADDR_MAX];
    uint64_t x = 0x243f6a8885a308d3ULL;
    static uint32_t hs[SAMPLES];
    for (int s = 0; s < SAMPLES; s++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        hs[s] = (uint32_t)(x >> 32);
        snprintf(before[s], sizeof(before[s]), "%s", sr_ring_lookup_hash(F.ring[0], hs[s]));
    }
    F.nmoved = 0;
    for (int i = 0; i < 3; i++)
        sr_sim_kill(F.sim, dead[i]);
    SIM_ASSERT(sim_wait(F.sim, pred_rings_agree, &F, sr_sim_now(F.sim) + susp_max(&c, N) +
                            10 * ms_us(c.period_ms), STEP),
               "rings did not drop the dead members");
    for (size_t i = 0; i < F.nmoved; i++)
        cr_assert(is_killed(F.moved[i].old_owner, killed, 3),
                  "range [%u,%u] moved from live %s", F.moved[i].start, F.moved[i].end,
                  F.moved[i].old_owner);
    int moved_samples = 0;
    for (int s = 0; s < SAMPLES; s++) {
        const char *now = sr_ring_lookup_hash(F.ring[0], hs[s]);
        const struct moved *m = find_moved(&F, hs[s]);
        if (is_killed(before[s], killed, 3)) {
            cr_assert_not_null(m, "hash %u of a dead owner not in a moved range", hs[s]);
            cr_assert_str_eq(m->old_owner, before[s]);
            moved_samples++;
        } else {
            cr_assert_null(m, "hash %u of a live owner reported moved", hs[s]);
            cr_assert_str_eq(now, before[s], "a live member's key changed owner");
        }
    }
    cr_expect_gt(moved_samples, SAMPLES * 3 / N / 3, "too few samples on the dead members");
    feeds_free(&F);
}

struct suspect_watch {
    struct feeds *F;
    int node;
    bool seen_suspect;      /* node 0 saw it suspect at some step */
    bool on_ring_while_suspect, off_ring_while_suspect;
};

static bool pred_suspected(struct sr_sim *sim, void *ud)
{
    struct suspect_watch *w = ud;
    feeds_flush(w->F);
    struct sr_swim_member_info m;
    if (sr_swim_member(sr_sim_core(sim, 0), sr_sim_addr(sim, w->node), &m) == 0 &&
        m.status == SR_SWIM_SUSPECT) {
        w->seen_suspect = true;
        if (sr_ring_has(w->F->ring[0], m.addr))
            w->on_ring_while_suspect = true;
        else
            w->off_ring_while_suspect = true;
        return true;
    }
    return false;
}

/* Pause a node until node 0 suspects it, resume it, wait for the refutation
 * to settle every ring back to all N members. */
static void suspect_round(bool suspect_on_ring, uint64_t seed, struct suspect_watch *w)
{
    struct sr_swim_cfg c = lan();
    c.suspicion_min_mult = 8; /* the pause must not turn into faulty */
    static struct feeds F;
    feeds_boot(&F, seed, &c, suspect_on_ring);
    *w = (struct suspect_watch){.F = &F, .node = 9};
    sr_sim_pause(F.sim, w->node, true);
    SIM_ASSERT(sim_wait(F.sim, pred_suspected, w, sr_sim_now(F.sim) + susp_min(&c, N) / 2, STEP),
               "node 0 never suspected the paused node");
    sr_sim_pause(F.sim, w->node, false);
    SIM_ASSERT(sim_wait(F.sim, pred_rings_agree, &F, sr_sim_now(F.sim) + susp_min(&c, N), STEP),
               "rings did not settle after the refutation");
    SIM_EXPECT(sr_sim_stats(F.sim)->false_faulty_nodes == 0, "paused node declared faulty");
    feeds_free(&F);
}

Test(sim_ringfeed, suspects_stay_on_the_ring_by_default)
{
    struct suspect_watch w;
    suspect_round(true, 303, &w);
    cr_expect(w.on_ring_while_suspect && !w.off_ring_while_suspect);
}

Test(sim_ringfeed, suspects_leave_the_ring_when_configured)
{
    struct suspect_watch w;
    suspect_round(false, 304, &w);
    cr_expect(w.off_ring_while_suspect && !w.on_ring_while_suspect);
}

struct points_want {
    struct feeds *F;
    const char *addr;
    uint32_t points;
};

static bool pred_points(struct sr_sim *sim, void *ud)
{
    struct points_want *p = ud;
    struct sr_ring_owner_stat st[N];
    feeds_flush(p->F);
    for (int i = 0; i < N; i++) {
        if (!sr_sim_is_live(sim, i))
            continue;
        size_t n = sr_ring_stats(p->F->ring[i], st, N);
        bool found = false;
        for (size_t j = 0; j < n && j < N; j++)
            if (strcmp(st[j].address, p->addr) == 0)
                found = st[j].points == p->points;
        if (!found)
            return false;
    }
    return true;
}

Test(sim_ringfeed, weight_label_scales_points_everywhere)
{
    struct sr_swim_cfg c = lan();
    struct feeds F;
    feeds_boot(&F, 305, &c, true);
    struct sr_swim *core = sr_sim_core(F.sim, 3);
    cr_assert_eq(sr_swim_set_label(core, "weight", "2.5"), 0);
    struct points_want p = {&F, sr_sim_addr(F.sim, 3), 250};
    SIM_ASSERT(sim_wait(F.sim, pred_points, &p, sr_sim_now(F.sim) + 10 * ms_us(c.period_ms), STEP),
               "weight 2.5 did not reach every ring");
    cr_assert_eq(sr_swim_set_label(core, "weight", "bogus"), 0);
    p.points = 100;
    SIM_ASSERT(sim_wait(F.sim, pred_points, &p, sr_sim_now(F.sim) + 10 * ms_us(c.period_ms), STEP),
               "an unparsable weight did not fall back to 1");
    cr_expect_gt(sr_ringfeed_stats(F.feed[0])->bad_weight, 0);
    feeds_free(&F);
}
