/* Shared scaffolding of the suites that run three real nodes in one process
 * (one event loop, real UDP/TCP on 127.0.0.1): bounded waits, bringing the
 * cluster up until every ring is full, and taking it down. Header-only,
 * static inline, like test_rpc_util.h.
 *
 * Include it after defining NODES and `struct world` with at least
 *     struct event_base *base;
 *     struct sr_node *n[NODES];
 * The suite says what differs through two hooks to node3_up: its config
 * tweaks and the service it adds. */
#ifndef SR_TEST_NODE3_H
#define SR_TEST_NODE3_H

#include <criterion/criterion.h>
#include <event2/event.h>
#include <stdio.h>
#include "node/node_impl.h"
#include "swimring/node.h"
#include "swimring/rpc.h"
#include "swimring/testkit.h"
#include "swimring/time.h"

/* Run the loop until `pred` holds, for `seconds` at the most; then assert it. */
static inline void run_until(struct world *w, bool (*pred)(struct world *, void *), void *ud,
                             double seconds)
{
    sr_time_us end = sr_time_mono_us() + (sr_time_us)(seconds * 1e6);
    while (!pred(w, ud) && sr_time_mono_us() < end) {
        struct timeval tv = {0, 10000};
        event_base_loopexit(w->base, &tv);
        event_base_dispatch(w->base);
    }
    cr_assert(pred(w, ud), "condition not reached in %.1f s", seconds);
}

/* Run the loop for `ms`: to show something does NOT happen within a time
 * derived from the configuration. */
static inline void run_for(struct world *w, uint32_t ms)
{
    sr_time_us end = sr_time_mono_us() + (sr_time_us)ms * SR_US_PER_MS;
    while (sr_time_mono_us() < end) {
        struct timeval tv = {0, 10000};
        event_base_loopexit(w->base, &tv);
        event_base_dispatch(w->base);
    }
}

static inline bool all_rings_full(struct world *w, void *ud)
{
    (void)ud;
    for (int i = 0; i < NODES; i++)
        if (sr_ring_member_count(sr_node_ring(w->n[i])) != NODES)
            return false;
    return true;
}

/* What a suite changes in node i's config (after the local profile), and
 * the service it adds to node i (asserting it was added). */
typedef void (*node3_tune_f)(struct world *w, int i, struct sr_node_config *cfg);
typedef void (*node3_add_f)(struct world *w, int i);

/* Start NODES nodes on a new base, each seeding from the first, and wait
 * until every ring has them all. w->base and w->n are set here; the rest
 * of *w is the caller's. */
static inline void node3_up(struct world *w, node3_tune_f tune, node3_add_f add)
{
    w->base = event_base_new();
    char first[SR_CFG_ADDR_MAX] = "";
    for (int i = 0; i < NODES; i++) {
        /* A port free now may be taken before we bind it (parallel tests):
         * try a few. */
        int rc = -1;
        char msg[256] = "";
        for (int attempt = 0; attempt < 10 && rc < 0; attempt++) {
            struct sr_node_config cfg;
            int err;
            sr_node_config_default(&cfg);
            sr_node_config_profile(&cfg, "local");
            cfg.node.log_level = SR_NODE_LOG_ERROR;
            tune(w, i, &cfg);
            snprintf(cfg.node.listen, sizeof cfg.node.listen, "127.0.0.1:%d", sr_tk_free_port());
            snprintf(cfg.node.http, sizeof cfg.node.http, "127.0.0.1:0");
            if (i == 0)
                snprintf(first, sizeof first, "%s", cfg.node.listen);
            else {
                cfg.node.seeds.n = 1;
                snprintf(cfg.node.seeds.addr[0], SR_CFG_ADDR_MAX, "%s", first);
            }
            w->n[i] = sr_node_new(w->base, &cfg, &err, msg, sizeof msg);
            cr_assert_not_null(w->n[i], "%s", msg);
            add(w, i);
            rc = sr_node_start(w->n[i], msg, sizeof msg);
            if (rc < 0) {
                sr_node_delete(w->n[i]);
                w->n[i] = NULL;
            }
        }
        cr_assert_eq(rc, 0, "%s", msg);
    }
    run_until(w, all_rings_full, NULL, 10);
}

/* Delete the nodes (NULL slots are skipped) and the base. Answer held
 * replies first. */
static inline void node3_down(struct world *w)
{
    for (int i = 0; i < NODES; i++)
        sr_node_delete(w->n[i]);
    event_base_free(w->base);
}

/* Node i's RPC counters (white box: w->n[i]->rpc). */
static inline struct sr_rpc_stats rpc_stats(struct world *w, int i)
{
    struct sr_rpc_stats s;
    sr_rpc_stats_get(w->n[i]->rpc, &s);
    return s;
}

#endif
