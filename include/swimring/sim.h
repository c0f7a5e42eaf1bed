/* A deterministic simulator for the SWIM core: thousands of nodes in one
 * process on a virtual clock, over a simulated network.
 *
 * The simulator is an object with no global state, so a test may run two.
 * Everything random comes from its seed (SplitMix64 streams: one for the
 * network, one per node), and events run in (time, sequence) order from one
 * heap, so the same seed always replays the same run; sr_sim_trace_hash()
 * proves it (a hash over every delivered packet and fired timer).
 *
 * Network model, per packet: one-way partitions (groups and blocked links),
 * loss (global or per link), latency uniform in [latency_min, latency_max],
 * extra reordering delay with probability `reorder`, and duplication with
 * probability `dup` (the copy gets its own latency). Full sync is a reliable
 * request/response with the same latency that fails when the two nodes
 * cannot reach each other, or one is dead or paused, when a leg arrives.
 *
 * Node life: added with a start time and seeds; kill (the core is deleted,
 * in-flight packets to it are dropped), restart (a new core at the same
 * address that joins via its seeds again and refutes its old death with a
 * higher incarnation), pause (like SIGSTOP: timers wait, packets that arrive
 * meanwhile are dropped as if the socket buffer overflowed; on resume the
 * core ticks once).
 *
 * Single thread. Hooks run synchronously inside sr_sim_run_*(). */
#ifndef SWIMRING_SIM_H
#define SWIMRING_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "swimring/export.h"
#include "swimring/swim.h"
#include "swimring/time.h"

struct sr_sim_cfg {
    uint64_t seed;
    struct sr_swim_cfg swim;      /* every node's core configuration */
    sr_time_us latency_min_us;    /* one-way latency, uniform in [min, max] */
    sr_time_us latency_max_us;
    double loss;                  /* probability a datagram is lost */
    double dup;                   /* probability a datagram is duplicated */
    double reorder;               /* probability of extra delay (reordering) */
    sr_time_us reorder_max_us;    /* that extra delay, uniform in [0, max] */
    bool full_sync;               /* give cores a full_sync callback */
};

/* LAN swim profile, 1-5 ms latency, no loss, full sync on, seed 1. */
SR_API void sr_sim_cfg_default(struct sr_sim_cfg *cfg);
/* The SWIMRING_SEED environment variable if set (decimal or 0x hex), else dflt. */
SR_API uint64_t sr_sim_seed_from_env(uint64_t dflt);

struct sr_sim;

SR_API struct sr_sim *sr_sim_new(const struct sr_sim_cfg *cfg, int *err);
SR_API void sr_sim_delete(struct sr_sim *sim);

/* Add a node that starts at virtual time `at` (>= now) and joins through
 * `seeds` (node indices; may be empty for the first node). Its address is
 * "10.B.C.D:7946" for index+1 = B<<16 | C<<8 | D, its name "n<index>".
 * Returns the index or a negative SR_E* code. */
SR_API int sr_sim_add_node(struct sr_sim *sim, sr_time_us at, const int *seeds, size_t nseeds);
SR_API size_t sr_sim_nodes(const struct sr_sim *sim);
SR_API const char *sr_sim_addr(const struct sr_sim *sim, int node);
/* Index of an address made by this simulator, or -1. */
SR_API int sr_sim_node_of(const struct sr_sim *sim, const char *addr);
/* The node's core; NULL before start and after kill. */
SR_API struct sr_swim *sr_sim_core(struct sr_sim *sim, int node);
/* Started, not killed and not paused. */
SR_API bool sr_sim_is_live(const struct sr_sim *sim, int node);

SR_API void sr_sim_kill(struct sr_sim *sim, int node);
SR_API int sr_sim_restart(struct sr_sim *sim, int node);
SR_API void sr_sim_pause(struct sr_sim *sim, int node, bool paused);
/* Graceful leave of a node's core (sr_swim_leave); the node keeps running. */
SR_API int sr_sim_leave(struct sr_sim *sim, int node);

/* Network controls; they apply to packets sent from now on. */
SR_API void sr_sim_set_loss(struct sr_sim *sim, double loss);
SR_API void sr_sim_set_dup(struct sr_sim *sim, double dup);
SR_API void sr_sim_set_latency(struct sr_sim *sim, sr_time_us min_us, sr_time_us max_us);
/* Per-link (one-way) override: loss probability; blocked drops everything. */
SR_API int sr_sim_set_link(struct sr_sim *sim, int from, int to, double loss, bool blocked);
/* Partition groups: packets pass only between nodes of the same group.
 * Every node starts in group 0; sr_sim_heal puts them all back. */
SR_API void sr_sim_set_group(struct sr_sim *sim, int node, uint32_t group);
SR_API void sr_sim_heal(struct sr_sim *sim);

/* Run events up to and including virtual time `t`; the clock ends at t. */
SR_API void sr_sim_run_until(struct sr_sim *sim, sr_time_us t);
SR_API void sr_sim_run_for(struct sr_sim *sim, sr_time_us d);
SR_API sr_time_us sr_sim_now(const struct sr_sim *sim);

/* Observation. */
/* Every node added has started, and every live node sees exactly the live
 * nodes alive, none suspect, and all have the same membership checksum. */
SR_API bool sr_sim_converged(const struct sr_sim *sim);
/* Every live node other than `node` has `node` in status `st`; for
 * SR_SWIM_FAULTY and SR_SWIM_LEFT a reaped (absent) record counts too. */
SR_API bool sr_sim_all_see(const struct sr_sim *sim, int node, enum sr_swim_status st);
SR_API uint64_t sr_sim_trace_hash(const struct sr_sim *sim);

struct sr_sim_stats {
    uint64_t packets_sent, packets_delivered, packets_dropped, bytes_sent;
    uint64_t syncs_started, syncs_done, syncs_failed;
    uint64_t false_faulty_events;  /* a live node declared faulty by someone */
    uint32_t false_faulty_nodes;   /* distinct live nodes ever declared faulty */
    uint64_t events_run;
};
SR_API const struct sr_sim_stats *sr_sim_stats(const struct sr_sim *sim);

/* Timeline: one CSV row per simulated second to `f` (header written now):
 * t_s,live,full_views,checksums,suspect_views,faulty_views,false_faulty,bytes,packets
 * full_views = live nodes whose view is exactly the live set; checksums =
 * distinct checksums among live nodes; suspect_views / faulty_views = sums
 * over live nodes of members seen suspect / faulty; bytes and packets are
 * those sent during that second. NULL stops it. */
SR_API void sr_sim_set_timeline(struct sr_sim *sim, FILE *f);

/* Called for every membership event of every node. */
typedef void (*sr_sim_event_f)(void *ud, int node, const struct sr_swim_event *ev);
SR_API void sr_sim_set_event_hook(struct sr_sim *sim, sr_sim_event_f fn, void *ud);

/* A whole scripted run, as ringsim and bench/bench_sim do it: `nodes`
 * nodes start within the first simulated second, each joining through node
 * 0; optionally `kill_n` nodes (the highest indices) are killed at kill_at_s
 * and the first part_frac of the nodes are cut off from T1 to T2. */
struct sr_sim_scenario {
    struct sr_sim_cfg cfg;     /* seed, swim profile, network */
    int nodes;
    double duration_s;
    int kill_n;
    double kill_at_s;
    double part_frac, part_from_s, part_to_s;
    FILE *timeline;            /* CSV, optional */
};

/* Figures of a run; a figure never reached (or not applicable) is < 0. */
struct sr_sim_result {
    double converge_s;         /* first time all live nodes agree */
    double detect_s;           /* kill -> every survivor sees all killed faulty */
    double heal_s;             /* heal -> one view again */
    uint32_t false_faulty;     /* distinct live nodes ever declared faulty */
    uint64_t false_faulty_events;
    uint64_t bytes_sent, packets_sent;
    uint64_t trace_hash;
    double wall_s;
};

/* Defaults: 100 nodes, 60 s, sr_sim_cfg_default(). */
SR_API void sr_sim_scenario_default(struct sr_sim_scenario *sc);
/* Run it (checking every 100 ms of simulated time). SR_EINVAL, SR_ENOMEM. */
SR_API int sr_sim_scenario_run(const struct sr_sim_scenario *sc, struct sr_sim_result *out);

#endif
