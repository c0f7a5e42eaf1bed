/* A 50/50 partition of 200 nodes held for 60 s, then healed, reconverges
 * to one view within 60 s of the heal. */
#include "sim_util.h"

#define NODES 200

struct side { int from, to; };
/* Every node outside [from, to) holds every node inside as faulty (or reaped). */
static bool pred_split(struct sr_sim *sim, void *ud)
{
    struct side *s = ud;
    for (int i = s->from; i < s->to; i++) {
        for (int j = 0; j < NODES; j++) {
            if (j >= s->from && j < s->to)
                continue;
            struct sr_swim_member_info m;
            if (sr_swim_member(sr_sim_core(sim, j), sr_sim_addr(sim, i), &m) == 0 &&
                m.status != SR_SWIM_FAULTY)
                return false;
        }
    }
    return true;
}

Test(sim_partition, half_and_half_for_60s_then_heal_within_60s, .timeout = 280)
{
    struct sr_swim_cfg c;
    sr_swim_cfg_default_lan(&c);
    struct sr_sim *sim = sim_make(4001, &c, 0);
    sim_boot(sim, NODES, SR_US_PER_S);
    SIM_ASSERT(sim_wait(sim, pred_converged, NULL, 30 * SR_US_PER_S, 100 * SR_US_PER_MS),
               "no convergence before the partition");
    for (int i = 0; i < NODES / 2; i++)
        sr_sim_set_group(sim, i, 1);
    sr_time_us cut = sr_sim_now(sim);
    struct side second = {NODES / 2, NODES};
    /* each side declares the other faulty within the suspicion bound */
    SIM_ASSERT(sim_wait(sim, pred_split, &second, cut + susp_max(&c, NODES) + 10 * ms_us(c.period_ms),
                        100 * SR_US_PER_MS), "the first half did not see the second half faulty");
    sr_sim_run_until(sim, cut + 60 * SR_US_PER_S);
    SIM_EXPECT(!sr_sim_converged(sim), "one view across a partition?");
    sr_sim_heal(sim);
    sr_time_us heal = sr_sim_now(sim);
    SIM_ASSERT(sim_wait(sim, pred_converged, NULL, heal + 60 * SR_US_PER_S, 100 * SR_US_PER_MS),
               "no single view 60 s after the heal");
    cr_log_info("seed %llu: healed in %.1f s", (unsigned long long)sim_seed,
                (double)(sr_sim_now(sim) - heal) / 1e6);
    sr_sim_delete(sim);
}

/* Longer than the tombstones last: both sides forget each other entirely,
 * and the seeds bring them back together. */
Test(sim_partition, partition_outlasting_tombstones_heals_through_seeds, .timeout = 120)
{
    struct sr_swim_cfg c;
    sr_swim_cfg_default_lan(&c);
    c.tombstone_ms = 10000;
    const int n = 40;
    struct sr_sim *sim = sim_make(4002, &c, 0);
    sim_boot(sim, n, SR_US_PER_S);
    SIM_ASSERT(sim_wait(sim, pred_converged, NULL, 30 * SR_US_PER_S, 100 * SR_US_PER_MS),
               "no convergence before the partition");
    for (int i = 0; i < n / 2; i++)
        sr_sim_set_group(sim, i, 1);
    /* detection (at most the longest suspicion) plus the tombstone time */
    sr_sim_run_for(sim, susp_max(&c, n) + 10 * ms_us(c.period_ms) + ms_us(c.tombstone_ms) * 2);
    SIM_ASSERT(sr_swim_size(sr_sim_core(sim, 0)) == (size_t)n / 2,
               "node 0 still remembers %zu members", sr_swim_size(sr_sim_core(sim, 0)));
    sr_sim_heal(sim);
    sr_time_us heal = sr_sim_now(sim);
    SIM_ASSERT(sim_wait(sim, pred_converged, NULL, heal + 10 * ms_us(c.heal_probe_ms),
                        100 * SR_US_PER_MS), "did not heal through the seeds");
    cr_log_info("seed %llu: healed in %.1f s", (unsigned long long)sim_seed,
                (double)(sr_sim_now(sim) - heal) / 1e6);
    sr_sim_delete(sim);
}
