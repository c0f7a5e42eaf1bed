/* Lifeguard under loss: 100 nodes with 10% uniform packet loss for 10
 * simulated minutes declare no live node faulty. */
#include "sim_util.h"

Test(sim_loss, hundred_nodes_ten_percent_loss_no_false_faulty, .timeout = 280)
{
    struct sr_swim_cfg c;
    sr_swim_cfg_default_lan(&c);
    struct sr_sim *sim = sim_make(3001, &c, 0);
    sim_boot(sim, 100, SR_US_PER_S);
    SIM_ASSERT(sim_wait(sim, pred_converged, NULL, 30 * SR_US_PER_S, 100 * SR_US_PER_MS),
               "no convergence before the loss starts");
    sr_sim_set_loss(sim, 0.10);
    sr_sim_run_for(sim, 600 * SR_US_PER_S);
    const struct sr_sim_stats *st = sr_sim_stats(sim);
    uint64_t susp = 0;
    for (int i = 0; i < 100; i++)
        susp += sr_swim_stats(sr_sim_core(sim, i))->suspicions;
    cr_log_info("seed %llu: %llu suspicions, %llu packets dropped of %llu",
                (unsigned long long)sim_seed, (unsigned long long)susp,
                (unsigned long long)st->packets_dropped, (unsigned long long)st->packets_sent);
    SIM_EXPECT(st->false_faulty_nodes == 0, "%u live nodes declared faulty (%llu events)",
               st->false_faulty_nodes, (unsigned long long)st->false_faulty_events);
    /* and the loss did not break the views: once it stops, one view again */
    sr_sim_set_loss(sim, 0);
    SIM_EXPECT(sim_wait(sim, pred_converged, NULL,
                        sr_sim_now(sim) + susp_max(&c, 100) + 10 * ms_us(c.period_ms),
                        100 * SR_US_PER_MS), "no single view after the loss stopped");
    sr_sim_delete(sim);
}
