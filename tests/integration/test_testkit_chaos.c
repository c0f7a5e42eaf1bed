/* Written only against swimring/testkit.h, the way a user tests their own
 * daemon: 7 kvd nodes, 30 s of chaos (kill -9 and restart) with writes
 * going on, then the cluster converges with every node agreeing. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include "swimring/testkit.h"

#define KVD SR_BINARY_DIR "/examples/kvd/kvd"
#define NODES 7

static struct sr_tk_cluster cluster;
static void kill_all(void) { sr_tk_destroy(&cluster); }

struct writer {
    struct sr_tk_cluster *c;
    struct sr_tk_conn conn[NODES];
    unsigned seq, ok, failed;
};

/* One PUT per tick through the next running node. */
static void write_one(void *ud)
{
    struct writer *w = ud;
    size_t i = w->seq % NODES;
    char path[64], out[256];
    if (w->c->nodes[i].pid <= 0) {
        w->seq++;
        return;
    }
    snprintf(path, sizeof path, "/v1/kv/chaos-%u", w->seq++);
    int st = sr_tk_conn_request(&w->conn[i], "PUT", path, "v", 1, out, sizeof out, NULL);
    if (st / 100 == 2)
        w->ok++;
    else
        w->failed++; /* a node just killed, or a retryable 503 */
}

Test(testkit, seven_nodes_survive_thirty_seconds_of_chaos, .timeout = 200, .fini = kill_all)
{
    static const char *const extra[] = {"--log-level", "warn", NULL};
    sr_tk_init(&cluster, KVD, "local");
    cluster.extra = extra;
    for (int i = 0; i < NODES; i++)
        cr_assert_geq(sr_tk_spawn(&cluster, i ? cluster.nodes[0].gossip : NULL), 0);
    cr_assert(sr_tk_wait_converged(&cluster, sr_time_mono_us() + 30 * SR_US_PER_S),
              "no convergence before the chaos (logs in %s)", cluster.logdir);
    struct writer w = {.c = &cluster};
    for (int i = 0; i < NODES; i++)
        sr_tk_conn_init(&w.conn[i], cluster.nodes[i].http);
    int kills = sr_tk_chaos(&cluster, 10, 3000, 30000, 42, write_one, &w);
    cr_log_info("chaos: %d kill -9 + restart; writes %u ok, %u refused or cut", kills, w.ok,
                w.failed);
    cr_expect_geq(kills, 8, "the chaos loop ran");
    cr_expect_gt(w.ok, w.failed, "most writes succeeded during the chaos");
    cr_expect_eq(sr_tk_running(&cluster), NODES, "every killed node was restarted");
    sr_time_us t0 = sr_time_mono_us();
    cr_assert(sr_tk_wait_converged(&cluster, t0 + 60 * SR_US_PER_S),
              "no convergence after the chaos (logs in %s)", cluster.logdir);
    cr_log_info("converged %.1f s after the chaos", (double)(sr_time_mono_us() - t0) / 1e6);
    for (int i = 0; i < NODES; i++)
        sr_tk_conn_close(&w.conn[i]);
}
