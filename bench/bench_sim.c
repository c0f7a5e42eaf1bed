/* Simulator benchmarks (issue 3):
 *   - speed: simulated-seconds x nodes per wall second, 1,000 nodes x 120 s
 *     (goal: under 10 s wall), with 10 nodes killed at 60 s (detect_s);
 *   - Lifeguard under loss: false-faulty count for 100 nodes over 10
 *     simulated minutes at 10 % and 20 % uniform loss.
 * Prints a human table, then one BENCH JSON line per figure. SWIMRING_SEED
 * overrides the seed. */
#include <stdio.h>
#include "swimring/sim.h"

static void bench(const char *name, double value, const char *unit, int n, double extra_s)
{
    printf("BENCH {\"name\":\"%s\",\"value\":%.3f,\"unit\":\"%s\",\"n\":%d", name, value, unit, n);
    if (extra_s >= 0)
        printf(",\"sim_s\":%.0f", extra_s);
    printf("}\n");
}

int main(void)
{
    uint64_t seed = sr_sim_seed_from_env(1);
    struct sr_sim_scenario sc;
    struct sr_sim_result r;

    sr_sim_scenario_default(&sc);
    sc.cfg.seed = seed;
    sc.nodes = 1000;
    sc.duration_s = 120;
    sc.kill_n = 10;
    sc.kill_at_s = 60;
    if (sr_sim_scenario_run(&sc, &r) < 0)
        return 1;
    double rate = sc.nodes * sc.duration_s / r.wall_s;
    printf("sim 1000 nodes x 120 s: wall %.2f s, %.0f node-s/s, converge %.1f s, detect %.1f s, "
           "false faulty %u\n", r.wall_s, rate, r.converge_s, r.detect_s, r.false_faulty);
    bench("sim.speed", rate, "node_s/s", sc.nodes, sc.duration_s);
    bench("sim.wall_1000x120", r.wall_s, "s", sc.nodes, sc.duration_s);
    bench("sim.converge_s", r.converge_s, "s", sc.nodes, -1);
    bench("sim.detect_s", r.detect_s, "s", sc.nodes, -1);

    static const double losses[] = {0.10, 0.20};
    for (int i = 0; i < 2; i++) {
        sr_sim_scenario_default(&sc);
        sc.cfg.seed = seed;
        sc.cfg.loss = losses[i];
        sc.nodes = 100;
        sc.duration_s = 600;
        if (sr_sim_scenario_run(&sc, &r) < 0)
            return 1;
        printf("sim 100 nodes x 600 s at %.0f%% loss: false faulty %u nodes (%llu events), "
               "wall %.2f s\n", losses[i] * 100, r.false_faulty,
               (unsigned long long)r.false_faulty_events, r.wall_s);
        char name[64];
        snprintf(name, sizeof(name), "sim.false_faulty_loss%.0f", losses[i] * 100);
        bench(name, r.false_faulty, "nodes", sc.nodes, sc.duration_s);
    }
    return 0;
}
