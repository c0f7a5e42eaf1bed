/* The large scenarios: 1,000 nodes reach one view within 30
 * simulated seconds; 10 of them killed at once are seen faulty by every
 * survivor within the suspicion bound, and nobody else is. */
#include "sim_util.h"

#define NODES 1000
#define KILLED 10

struct killed { int idx[KILLED]; };

static bool pred_all_killed_faulty(struct sr_sim *sim, void *ud)
{
    struct killed *k = ud;
    for (int i = 0; i < KILLED; i++)
        if (!sr_sim_all_see(sim, k->idx[i], SR_SWIM_FAULTY))
            return false;
    return true;
}

/* The first FAULTY event about a killed node, from anyone. */
struct first_faulty { struct sr_sim *sim; sr_time_us at; uint64_t n; };
static void on_event(void *ud, int node, const struct sr_swim_event *ev)
{
    struct first_faulty *f = ud;
    (void)node;
    if (ev->type == SR_SWIM_EV_FAULTY && f->n++ == 0)
        f->at = sr_sim_now(f->sim);
}

Test(sim_scale, thousand_nodes_converge_then_ten_killed_are_detected, .timeout = 280)
{
    struct sr_swim_cfg c;
    sr_swim_cfg_default_lan(&c);
    struct sr_sim *sim = sim_make(2001, &c, 0);
    sr_time_us last = sim_boot(sim, NODES, SR_US_PER_S);
    SIM_ASSERT(last < SR_US_PER_S, "all start within one simulated second");

    /* one identical view (all alive, equal checksums) within 30 s */
    SIM_ASSERT(sim_wait(sim, pred_converged, NULL, 30 * SR_US_PER_S, 100 * SR_US_PER_MS),
               "no single view after 30 s");
    double converge_s = (double)sr_sim_now(sim) / 1e6;
    SIM_EXPECT(sr_sim_stats(sim)->false_faulty_nodes == 0, "false faulty during the join");

    /* kill 10 at once */
    struct killed k;
    struct first_faulty ff = {.sim = sim};
    for (int i = 0; i < KILLED; i++) {
        k.idx[i] = 1 + i * (NODES / KILLED);
        sr_sim_kill(sim, k.idx[i]);
    }
    sr_sim_set_event_hook(sim, on_event, &ff);
    sr_time_us kill = sr_sim_now(sim);
    uint32_t n = NODES - KILLED;
    /* Hard bound: a probe round to notice, the longest suspicion, and a few
     * periods to spread the verdict. Lifeguard bound: with k confirmations
     * the suspicion shrinks to its minimum. */
    sr_time_us period = ms_us(c.period_ms);
    sr_time_us hard = kill + susp_max(&c, NODES) + 10 * period;
    SIM_ASSERT(sim_wait(sim, pred_all_killed_faulty, &k, hard, 100 * SR_US_PER_MS),
               "not every survivor saw every killed node faulty within %.1f s",
               (double)(hard - kill) / 1e6);
    double detect_s = (double)(sr_sim_now(sim) - kill) / 1e6;
    SIM_EXPECT(sr_sim_now(sim) <= kill + susp_min(&c, n) + 10 * period,
               "detection %.1f s: suspicion did not shrink with confirmations", detect_s);
    SIM_EXPECT(ff.at >= kill + susp_min(&c, n),
               "first faulty %.3f s after the kill, before the minimum suspicion %.3f s",
               (double)(ff.at - kill) / 1e6, (double)susp_min(&c, n) / 1e6);
    SIM_EXPECT(ff.n == (uint64_t)KILLED * n, "faulty events %llu, want %u",
               (unsigned long long)ff.n, KILLED * n);
    SIM_EXPECT(sr_sim_stats(sim)->false_faulty_nodes == 0, "a live node was declared faulty");
    cr_log_info("seed %llu: converge %.1f s, detect %.1f s", (unsigned long long)sim_seed,
                converge_s, detect_s);
    sr_sim_delete(sim);
}
