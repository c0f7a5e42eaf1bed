/* ringsim: run the SWIM simulator from the command line.
 *
 *   ringsim --nodes N --duration S --seed X --loss P --dup P --latency-ms A:B
 *           --kill K@T --partition FRACTION@T1-T2 --csv FILE [--profile lan|local]
 *
 * All N nodes start within the first simulated second, each joining through
 * node 0. Prints a short summary and ends with one `BENCH {json}` line:
 * converge_s (first time all live nodes agree), detect_s (kill to every
 * survivor seeing all killed nodes faulty), false_faulty (live nodes ever
 * declared faulty; partitioned ones count), heal_s (heal to one view again),
 * wall_s. A figure that does not apply, or was never reached, is null. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "swimring/sim.h"

struct opts {
    int nodes;
    double duration_s;
    uint64_t seed;
    double loss, dup;
    double lat_min_ms, lat_max_ms;
    int kill_n;
    double kill_at;
    double part_frac, part_from, part_to;
    const char *csv;
    const char *profile;
};

static void usage(void)
{
    fprintf(stderr, "usage: ringsim [--nodes N] [--duration S] [--seed X] [--loss P] [--dup P]\n"
                    "               [--latency-ms A:B] [--kill K@T] [--partition F@T1-T2]\n"
                    "               [--csv FILE] [--profile lan|local]\n");
    exit(2);
}

static void parse(int argc, char **argv, struct opts *o)
{
    static const struct option longs[] = {
        {"nodes", 1, 0, 'n'}, {"duration", 1, 0, 'd'}, {"seed", 1, 0, 's'},
        {"loss", 1, 0, 'l'}, {"dup", 1, 0, 'u'}, {"latency-ms", 1, 0, 't'},
        {"kill", 1, 0, 'k'}, {"partition", 1, 0, 'p'}, {"csv", 1, 0, 'c'},
        {"profile", 1, 0, 'f'}, {"help", 0, 0, 'h'}, {0, 0, 0, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "", longs, NULL)) != -1) {
        switch (c) {
        case 'n': o->nodes = atoi(optarg); break;
        case 'd': o->duration_s = atof(optarg); break;
        case 's': o->seed = strtoull(optarg, NULL, 0); break;
        case 'l': o->loss = atof(optarg); break;
        case 'u': o->dup = atof(optarg); break;
        case 't':
            if (sscanf(optarg, "%lf:%lf", &o->lat_min_ms, &o->lat_max_ms) != 2)
                usage();
            break;
        case 'k':
            if (sscanf(optarg, "%d@%lf", &o->kill_n, &o->kill_at) != 2)
                usage();
            break;
        case 'p':
            if (sscanf(optarg, "%lf@%lf-%lf", &o->part_frac, &o->part_from, &o->part_to) != 3)
                usage();
            break;
        case 'c': o->csv = optarg; break;
        case 'f': o->profile = optarg; break;
        default: usage();
        }
    }
    if (o->nodes < 1 || o->duration_s <= 0 || o->loss < 0 || o->loss >= 1 || o->dup < 0 ||
        o->lat_max_ms < o->lat_min_ms || o->kill_n >= o->nodes)
        usage();
}

static double wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void print_num(const char *key, double v, int ok)
{
    if (ok)
        printf(",\"%s\":%.3f", key, v);
    else
        printf(",\"%s\":null", key);
}

int main(int argc, char **argv)
{
    struct opts o = {.nodes = 100, .duration_s = 60, .seed = 1, .lat_min_ms = 1,
                     .lat_max_ms = 5, .profile = "lan"};
    parse(argc, argv, &o);
    struct sr_sim_cfg cfg;
    sr_sim_cfg_default(&cfg);
    if (strcmp(o.profile, "local") == 0)
        sr_swim_cfg_default_local(&cfg.swim);
    cfg.seed = o.seed;
    cfg.loss = o.loss;
    cfg.dup = o.dup;
    cfg.latency_min_us = (sr_time_us)(o.lat_min_ms * 1000);
    cfg.latency_max_us = (sr_time_us)(o.lat_max_ms * 1000);
    int err = 0;
    struct sr_sim *sim = sr_sim_new(&cfg, &err);
    if (sim == NULL) {
        fprintf(stderr, "ringsim: bad configuration (%d)\n", err);
        return 1;
    }
    FILE *csv = NULL;
    if (o.csv) {
        csv = fopen(o.csv, "w");
        if (csv == NULL) {
            perror(o.csv);
            return 1;
        }
        sr_sim_set_timeline(sim, csv);
    }
    uint64_t rng = o.seed * 0x9e3779b97f4a7c15ULL + 7;
    int seed0 = 0;
    for (int i = 0; i < o.nodes; i++) {
        rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
        sr_time_us at = i == 0 ? 0 : rng % SR_US_PER_S;
        sr_sim_add_node(sim, at, &seed0, i == 0 ? 0 : 1);
    }

    double t0 = wall_now();
    const sr_time_us step = 100 * SR_US_PER_MS;
    sr_time_us end = (sr_time_us)(o.duration_s * 1e6);
    sr_time_us kill_at = (sr_time_us)(o.kill_at * 1e6);
    sr_time_us part_from = (sr_time_us)(o.part_from * 1e6), part_to = (sr_time_us)(o.part_to * 1e6);
    double converge_s = -1, detect_s = -1, heal_s = -1;
    int *killed = calloc((size_t)o.kill_n + 1, sizeof(int));
    bool killed_done = false, part_on = false, part_done = false;
    for (sr_time_us t = step; t <= end; t += step) {
        sr_sim_run_until(sim, t);
        if (!killed_done && o.kill_n > 0 && t >= kill_at) {
            /* the last K nodes: never the seed, spread over start times */
            for (int k = 0; k < o.kill_n; k++) {
                killed[k] = o.nodes - 1 - k;
                sr_sim_kill(sim, killed[k]);
            }
            killed_done = true;
        }
        if (o.part_frac > 0 && !part_on && !part_done && t >= part_from) {
            int cut = (int)(o.part_frac * o.nodes);
            for (int i = 0; i < cut; i++)
                sr_sim_set_group(sim, i, 1);
            part_on = true;
        }
        if (part_on && t >= part_to) {
            sr_sim_heal(sim);
            part_on = false;
            part_done = true;
        }
        bool conv = sr_sim_converged(sim);
        if (converge_s < 0 && conv)
            converge_s = (double)t / 1e6;
        if (killed_done && detect_s < 0) {
            bool all = true;
            for (int k = 0; k < o.kill_n && all; k++)
                all = sr_sim_all_see(sim, killed[k], SR_SWIM_FAULTY);
            if (all)
                detect_s = (double)(t - kill_at) / 1e6;
        }
        if (part_done && heal_s < 0 && conv)
            heal_s = (double)(t - part_to) / 1e6;
    }
    double wall = wall_now() - t0;
    const struct sr_sim_stats *st = sr_sim_stats(sim);
    fprintf(stderr, "ringsim: %d nodes, %.0f s simulated in %.2f s wall; packets %llu sent, "
                    "%llu dropped; syncs %llu (%llu failed); trace %016llx\n",
            o.nodes, o.duration_s, wall, (unsigned long long)st->packets_sent,
            (unsigned long long)st->packets_dropped, (unsigned long long)st->syncs_started,
            (unsigned long long)st->syncs_failed, (unsigned long long)sr_sim_trace_hash(sim));
    printf("BENCH {\"name\":\"ringsim\",\"nodes\":%d,\"duration_s\":%.0f,\"seed\":%llu,"
           "\"loss\":%g,\"dup\":%g",
           o.nodes, o.duration_s, (unsigned long long)o.seed, o.loss, o.dup);
    print_num("converge_s", converge_s, converge_s >= 0);
    print_num("detect_s", detect_s, detect_s >= 0);
    printf(",\"false_faulty\":%u", st->false_faulty_nodes);
    print_num("heal_s", heal_s, heal_s >= 0);
    printf(",\"wall_s\":%.3f,\"node_s_per_wall_s\":%.0f,\"bytes\":%llu,\"trace\":\"%016llx\"}\n",
           wall, (double)o.nodes * o.duration_s / (wall > 0 ? wall : 1e-9),
           (unsigned long long)st->bytes_sent, (unsigned long long)sr_sim_trace_hash(sim));
    free(killed);
    sr_sim_delete(sim);
    if (csv)
        fclose(csv);
    return 0;
}
