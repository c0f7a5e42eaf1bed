/* ringsim: run the SWIM simulator from the command line.
 *
 *   ringsim --nodes N --duration S --seed X --loss P --dup P --latency-ms A:B
 *           --kill K@T --partition FRACTION@T1-T2 --csv FILE [--profile lan|local]
 *
 * All N nodes start within the first simulated second, each joining through
 * node 0 (sr_sim_scenario_run). Prints a summary on stderr and ends with one
 * `BENCH {json}` line on stdout: converge_s (first time all live nodes
 * agree), detect_s (kill to every survivor seeing all killed nodes faulty),
 * false_faulty (live nodes ever declared faulty; partitioned ones count),
 * heal_s (heal to one view again), wall_s. A figure that does not apply, or
 * was never reached, is null. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "swimring/error.h"
#include "swimring/sim.h"
#include "swimring/swim_cfg.h"

static void usage(void)
{
    fprintf(stderr, "usage: ringsim [--nodes N] [--duration S] [--seed X] [--loss P] [--dup P]\n"
                    "               [--latency-ms A:B] [--kill K@T] [--partition F@T1-T2]\n"
                    "               [--csv FILE] [--profile lan|local] [--set swim.KEY=VALUE ...]\n"
                    "--set applies after --profile, in order (docs/configuration.md).\n");
    exit(2);
}

/* --set swim.key=value over the chosen profile. */
static void set_swim(struct sr_sim_scenario *sc, const char *kv)
{
    char key[96], err[256];
    const char *eq = strchr(kv, '=');
    if (!eq || (size_t)(eq - kv) >= sizeof key)
        usage();
    memcpy(key, kv, (size_t)(eq - kv));
    key[eq - kv] = '\0';
    struct sr_cfg_section sec = sr_swim_cfg_section(&sc->cfg.swim);
    if (sr_cfg_set(&sec, 1, key, eq + 1, err, sizeof err) < 0) {
        fprintf(stderr, "ringsim: --set %s: %s\n", kv, err);
        exit(2);
    }
}

static void parse(int argc, char **argv, struct sr_sim_scenario *sc, const char **csv)
{
    static const struct option longs[] = {
        {"nodes", 1, 0, 'n'}, {"duration", 1, 0, 'd'}, {"seed", 1, 0, 's'},
        {"loss", 1, 0, 'l'}, {"dup", 1, 0, 'u'}, {"latency-ms", 1, 0, 't'},
        {"kill", 1, 0, 'k'}, {"partition", 1, 0, 'p'}, {"csv", 1, 0, 'c'},
        {"profile", 1, 0, 'f'}, {"set", 1, 0, 'x'}, {"help", 0, 0, 'h'}, {0, 0, 0, 0},
    };
    double a, b;
    int c;
    while ((c = getopt_long(argc, argv, "", longs, NULL)) != -1) {
        switch (c) {
        case 'n': sc->nodes = atoi(optarg); break;
        case 'd': sc->duration_s = atof(optarg); break;
        case 's': sc->cfg.seed = strtoull(optarg, NULL, 0); break;
        case 'l': sc->cfg.loss = atof(optarg); break;
        case 'u': sc->cfg.dup = atof(optarg); break;
        case 't':
            if (sscanf(optarg, "%lf:%lf", &a, &b) != 2 || a < 0 || b < a)
                usage();
            sc->cfg.latency_min_us = (sr_time_us)(a * 1000);
            sc->cfg.latency_max_us = (sr_time_us)(b * 1000);
            break;
        case 'k':
            if (sscanf(optarg, "%d@%lf", &sc->kill_n, &sc->kill_at_s) != 2)
                usage();
            break;
        case 'p':
            if (sscanf(optarg, "%lf@%lf-%lf", &sc->part_frac, &sc->part_from_s,
                       &sc->part_to_s) != 3)
                usage();
            break;
        case 'c': *csv = optarg; break;
        case 'x': set_swim(sc, optarg); break;
        case 'f':
            if (strcmp(optarg, "local") == 0)
                sr_swim_cfg_default_local(&sc->cfg.swim);
            else if (strcmp(optarg, "lan") == 0)
                sr_swim_cfg_default_lan(&sc->cfg.swim);
            else
                usage();
            break;
        default: usage();
        }
    }
    if (sc->nodes < 1 || sc->duration_s <= 0 || sc->cfg.loss < 0 || sc->cfg.loss >= 1 ||
        sc->cfg.dup < 0 || sc->kill_n < 0 || sc->kill_n >= sc->nodes)
        usage();
}

static void num(const char *key, double v)
{
    if (v >= 0)
        printf(",\"%s\":%.3f", key, v);
    else
        printf(",\"%s\":null", key);
}

int main(int argc, char **argv)
{
    struct sr_sim_scenario sc;
    const char *csv = NULL;
    sr_sim_scenario_default(&sc);
    parse(argc, argv, &sc, &csv);
    if (csv != NULL && (sc.timeline = fopen(csv, "w")) == NULL) {
        perror(csv);
        return 1;
    }
    struct sr_sim_result r;
    int rc = sr_sim_scenario_run(&sc, &r);
    if (sc.timeline)
        fclose(sc.timeline);
    if (rc < 0) {
        fprintf(stderr, "ringsim: %s\n", sr_strerror(rc));
        return 1;
    }
    fprintf(stderr, "ringsim: %d nodes, %.0f s simulated in %.2f s wall; %llu packets, "
                    "%llu bytes; trace %016llx\n",
            sc.nodes, sc.duration_s, r.wall_s, (unsigned long long)r.packets_sent,
            (unsigned long long)r.bytes_sent, (unsigned long long)r.trace_hash);
    printf("BENCH {\"name\":\"ringsim\",\"nodes\":%d,\"duration_s\":%g,\"seed\":%llu,"
           "\"loss\":%g,\"dup\":%g",
           sc.nodes, sc.duration_s, (unsigned long long)sc.cfg.seed, sc.cfg.loss, sc.cfg.dup);
    num("converge_s", r.converge_s);
    num("detect_s", r.detect_s);
    printf(",\"false_faulty\":%u", r.false_faulty);
    num("heal_s", r.heal_s);
    printf(",\"wall_s\":%.3f,\"node_s_per_wall_s\":%.0f,\"bytes\":%llu,\"trace\":\"%016llx\"}\n",
           r.wall_s, sc.nodes * sc.duration_s / (r.wall_s > 0 ? r.wall_s : 1e-9),
           (unsigned long long)r.bytes_sent, (unsigned long long)r.trace_hash);
    return 0;
}
