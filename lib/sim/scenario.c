/* Scripted runs shared by ringsim and bench/bench_sim (sim.h). */
#include <stdlib.h>
#include <time.h>
#include "swimring/error.h"
#include "swimring/sim.h"

void sr_sim_scenario_default(struct sr_sim_scenario *sc)
{
    *sc = (struct sr_sim_scenario){.nodes = 100, .duration_s = 60};
    sr_sim_cfg_default(&sc->cfg);
}

static double wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void boot_all(struct sr_sim *sim, const struct sr_sim_scenario *sc)
{
    uint64_t x = sc->cfg.seed * 0x9e3779b97f4a7c15ULL + 7;
    int seed0 = 0;
    for (int i = 0; i < sc->nodes; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        sr_sim_add_node(sim, i == 0 ? 0 : x % SR_US_PER_S, &seed0, i == 0 ? 0 : 1);
    }
}

static bool all_killed_seen(const struct sr_sim *sim, const struct sr_sim_scenario *sc)
{
    for (int k = 0; k < sc->kill_n; k++)
        if (!sr_sim_all_see(sim, sc->nodes - 1 - k, SR_SWIM_FAULTY))
            return false;
    return true;
}

int sr_sim_scenario_run(const struct sr_sim_scenario *sc, struct sr_sim_result *out)
{
    int err = 0;
    if (sc->nodes < 1 || sc->kill_n < 0 || sc->kill_n >= sc->nodes || sc->part_frac < 0 ||
        sc->part_frac >= 1)
        return SR_EINVAL;
    struct sr_sim *sim = sr_sim_new(&sc->cfg, &err);
    if (sim == NULL)
        return err;
    if (sc->timeline)
        sr_sim_set_timeline(sim, sc->timeline);
    boot_all(sim, sc);
    *out = (struct sr_sim_result){.converge_s = -1, .detect_s = -1, .heal_s = -1};
    const sr_time_us step = 100 * SR_US_PER_MS;
    sr_time_us end = (sr_time_us)(sc->duration_s * 1e6);
    sr_time_us kill_at = (sr_time_us)(sc->kill_at_s * 1e6);
    sr_time_us part_from = (sr_time_us)(sc->part_from_s * 1e6);
    sr_time_us part_to = (sr_time_us)(sc->part_to_s * 1e6);
    bool killed = false, part_on = false, part_done = false;
    double t0 = wall_now();
    for (sr_time_us t = step; t <= end; t += step) {
        sr_sim_run_until(sim, t);
        if (!killed && sc->kill_n > 0 && t >= kill_at) {
            for (int k = 0; k < sc->kill_n; k++)
                sr_sim_kill(sim, sc->nodes - 1 - k); /* never the seed */
            killed = true;
        }
        if (sc->part_frac > 0 && !part_on && !part_done && t >= part_from) {
            for (int i = 0; i < (int)(sc->part_frac * sc->nodes); i++)
                sr_sim_set_group(sim, i, 1);
            part_on = true;
        }
        if (part_on && t >= part_to) {
            sr_sim_heal(sim);
            part_on = false;
            part_done = true;
        }
        bool conv = sr_sim_converged(sim);
        if (out->converge_s < 0 && conv)
            out->converge_s = (double)t / 1e6;
        if (killed && out->detect_s < 0 && all_killed_seen(sim, sc))
            out->detect_s = (double)(t - kill_at) / 1e6;
        if (part_done && out->heal_s < 0 && conv)
            out->heal_s = (double)(t - part_to) / 1e6;
    }
    out->wall_s = wall_now() - t0;
    const struct sr_sim_stats *st = sr_sim_stats(sim);
    out->false_faulty = st->false_faulty_nodes;
    out->false_faulty_events = st->false_faulty_events;
    out->bytes_sent = st->bytes_sent;
    out->packets_sent = st->packets_sent;
    out->trace_hash = sr_sim_trace_hash(sim);
    sr_sim_delete(sim);
    return 0;
}
