/* Helpers shared by the simulator suites (tests/sim/test_sim_*.c).
 *
 * Each test takes its seed from SWIMRING_SEED when set (to replay a
 * failure), else from the default it names; every assertion message
 * carries the seed, so a failure always says how to replay it. */
#ifndef SWIMRING_TESTS_SIM_UTIL_H
#define SWIMRING_TESTS_SIM_UTIL_H

#include <criterion/criterion.h>
#include <stdio.h>
#include "swimring/sim.h"
#include "swim/lifeguard.h"

/* The seed of the running test (one test per process under Criterion). */
static uint64_t sim_seed;

#define SIM_ASSERT(cond, fmt, ...)                                                         \
    cr_assert(cond, "[SWIMRING_SEED=%llu] " fmt, (unsigned long long)sim_seed, ##__VA_ARGS__)
#define SIM_EXPECT(cond, fmt, ...)                                                         \
    cr_expect(cond, "[SWIMRING_SEED=%llu] " fmt, (unsigned long long)sim_seed, ##__VA_ARGS__)

static inline struct sr_sim *sim_make(uint64_t dflt_seed, const struct sr_swim_cfg *swim,
                                      double loss)
{
    struct sr_sim_cfg cfg;
    sr_sim_cfg_default(&cfg);
    sim_seed = sr_sim_seed_from_env(dflt_seed);
    cfg.seed = sim_seed;
    if (swim)
        cfg.swim = *swim;
    cfg.loss = loss;
    int err = 0;
    struct sr_sim *sim = sr_sim_new(&cfg, &err);
    cr_assert_not_null(sim, "sr_sim_new: %d", err);
    return sim;
}

/* n nodes: node 0 at time 0, the others at random moments of the next
 * `window` microseconds, all joining through node 0. Returns the last start. */
static inline sr_time_us sim_boot(struct sr_sim *sim, int n, sr_time_us window)
{
    uint64_t x = sim_seed * 0x9e3779b97f4a7c15ULL + 12345;
    sr_time_us last = 0;
    int seed0 = 0;
    for (int i = 0; i < n; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        sr_time_us at = i == 0 || window == 0 ? sr_sim_now(sim) : sr_sim_now(sim) + x % window;
        last = at > last ? at : last;
        cr_assert_eq(sr_sim_add_node(sim, at, &seed0, i == 0 ? 0 : 1), i);
    }
    return last;
}

/* Run in `step` increments until `pred` holds or `deadline`; returns
 * whether it held. Waits poll a condition, never sleep-and-hope. */
typedef bool (*sim_pred_f)(struct sr_sim *sim, void *ud);
static inline bool sim_wait(struct sr_sim *sim, sim_pred_f pred, void *ud, sr_time_us deadline,
                            sr_time_us step)
{
    while (!pred(sim, ud)) {
        if (sr_sim_now(sim) >= deadline)
            return false;
        sr_time_us next = sr_sim_now(sim) + step;
        sr_sim_run_until(sim, next < deadline ? next : deadline);
    }
    return true;
}

static inline bool pred_converged(struct sr_sim *sim, void *ud)
{
    (void)ud;
    return sr_sim_converged(sim);
}

static inline sr_time_us ms_us(uint32_t ms) { return (sr_time_us)ms * SR_US_PER_MS; }

/* Suspicion bounds for a cluster of n live members (lifeguard.c). */
static inline sr_time_us susp_min(const struct sr_swim_cfg *c, uint32_t n)
{
    return sr_swim_suspicion_min_us(c->suspicion_min_mult, n, ms_us(c->period_ms));
}
static inline sr_time_us susp_max(const struct sr_swim_cfg *c, uint32_t n)
{
    return sr_swim_suspicion_max_us(c->suspicion_max_mult, susp_min(c, n));
}

/* Counts membership events by type and subject node. */
struct ev_log {
    struct sr_sim *sim;
    int subject;                    /* -1: any */
    uint64_t count[8];
    sr_time_us first[8];            /* first time of each type, 0 if none */
};

static inline void ev_log_hook(void *ud, int node, const struct sr_swim_event *ev)
{
    struct ev_log *l = ud;
    (void)node;
    if (ev->member == NULL || ev->member->is_self)
        return;
    if (l->subject >= 0 && sr_sim_node_of(l->sim, ev->member->addr) != l->subject)
        return;
    if (l->count[ev->type]++ == 0)
        l->first[ev->type] = sr_sim_now(l->sim);
}

#endif
