/* 20 ringd processes on 127.0.0.1: convergence, kill -9 detection with
 * both bounds, graceful leave seen as `left`. Bounds come from the local
 * profile the nodes run. */
#include <criterion/criterion.h>
#include <math.h>
#include <signal.h>
#include <string.h>
#include "swimring/swim.h"
/* tests/CMakeLists.txt builds only test_*.c, so the harness is compiled in. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "swimring/testkit.h"

#define NODES 20
#define RINGD SR_BINARY_DIR "/tools/ringd/ringd"

/* Sanitizer builds run ~3x slower and 20 processes share 2 cores: upper
 * bounds get this slack; lower bounds none. */
#define SLACK 3

static struct sr_swim_cfg cfg;
/* File-static so the .fini hook kills our processes even when an assertion
 * aborts the test body. */
static struct sr_tk_cluster cluster;

static void kill_all(void)
{
}


static sr_time_us period_us(uint32_t periods)
{
    return (sr_time_us)periods * cfg.period_ms * SR_US_PER_MS;
}

/* Suspicion timeout bounds, as the core derives them (swim.h). */
static double susp_min_ms(size_t n)
{
    return cfg.suspicion_min_mult * fmax(1.0, log10((double)n)) * cfg.period_ms;
}

struct view_want {
    size_t alive;         /* every polled node sees exactly this many alive */
    size_t skip;          /* node index not to poll (killed), or SIZE_MAX */
    const char *addr;     /* with status: every polled node sees addr so */
    const char *status;
    sr_time_us first_hit; /* first time any node showed addr/status */
};

static bool node_matches(json_t *j, struct view_want *w, const char **sum)
{
    size_t k, alive = 0;
    json_t *m;
    bool found = w->addr == NULL;
    *sum = json_string_value(json_object_get(j, "checksum"));
    json_array_foreach(json_object_get(j, "members"), k, m) {
        const char *st = json_string_value(json_object_get(m, "status"));
        const char *ad = json_string_value(json_object_get(m, "address"));
        if (st && strcmp(st, "alive") == 0)
            alive++;
        if (w->addr && ad && strcmp(ad, w->addr) == 0 && st && strcmp(st, w->status) == 0)
            found = true;
    }
    if (found && w->addr && !w->first_hit)
        w->first_hit = sr_time_mono_us();
    return found && (w->alive == 0 || alive == w->alive);
}

/* Every polled node matches `w`, all with one checksum. */
static bool all_match(struct sr_tk_cluster *h, void *ud)
{
    struct view_want *w = ud;
    char first[32] = "";
    bool ok = true;
    for (size_t i = 0; i < h->n; i++) {
        if (i == w->skip || h->nodes[i].pid <= 0)
            continue;
        json_t *j = sr_tk_http(h->nodes[i].http, "GET", "/admin/members");
        const char *sum = NULL;
        if (!j || !node_matches(j, w, &sum) || !sum)
            ok = false;
        else if (!first[0])
            snprintf(first, sizeof(first), "%s", sum);
        else if (strcmp(first, sum) != 0)
            ok = false;
        json_decref(j);
        if (!ok && !w->addr)
            return false; /* keep polling all only when recording first_hit */
    }
    return ok;
}

static void start_cluster(struct sr_tk_cluster *hh, size_t n)
{
    sr_swim_cfg_default_local(&cfg);
    sr_tk_init(hh, RINGD, "local");
    cr_assert_geq(sr_tk_spawn(hh, NULL), 0);
    for (size_t i = 1; i < n; i++)
        cr_assert_geq(sr_tk_spawn(hh, hh->nodes[0].gossip), 0, "spawn %zu", i);
    /* Join: a few join retries plus dissemination, ~log(n) rounds; 100
     * periods is far above it yet bounded. */
    struct view_want w = {.alive = n, .skip = SIZE_MAX};
    cr_assert(sr_tk_wait(hh, sr_time_mono_us() + SLACK * period_us(100), all_match, &w),
              "%zu nodes did not converge (logs in %s)", n, hh->logdir);
}

Test(ringd_cluster, converge_kill9_then_leave, .timeout = 240, .fini = kill_all)
{
    start_cluster(&cluster, NODES);

    /* kill -9 one node; every survivor must see it faulty. Lower bound: no
     * one may declare it before the minimum suspicion timeout; upper bound:
     * detection (probe + ping-req) + max suspicion + dissemination. */
    size_t victim = NODES - 1;
    sr_time_us t0 = sr_time_mono_us();
    cr_assert_eq(sr_tk_signal(&cluster, victim, SIGKILL), 0);
    sr_tk_reap(&cluster, victim, t0 + 5 * SR_US_PER_S);
    double upper_ms = 4.0 * cfg.period_ms + susp_min_ms(NODES) * cfg.suspicion_max_mult +
                      cfg.retransmit_mult * log10(NODES + 1.0) * cfg.period_ms;
    struct view_want w = {.alive = NODES - 1, .skip = victim,
                          .addr = cluster.nodes[victim].gossip, .status = "faulty"};
    bool ok = sr_tk_wait(&cluster, t0 + (sr_time_us)(SLACK * upper_ms * 1000), all_match, &w);
    double took_ms = (double)(sr_time_mono_us() - t0) / 1000.0;
    cr_log_info("kill -9: all survivors saw faulty after %.0f ms (first %.0f ms); bounds [%.0f, %.0f] ms",
                took_ms, (double)(w.first_hit - t0) / 1000.0, susp_min_ms(NODES), SLACK * upper_ms);
    cr_assert(ok, "survivors did not all mark %s faulty within %.0f ms", w.addr, SLACK * upper_ms);
    cr_assert_geq((double)(w.first_hit - t0) / 1000.0, susp_min_ms(NODES) * 0.9,
                  "declared faulty before the minimum suspicion timeout");

    /* Graceful leave via SIGTERM: seen as left (never faulty) by all. */
    size_t leaver = NODES - 2;
    t0 = sr_time_mono_us();
    cr_assert_eq(sr_tk_signal(&cluster, leaver, SIGTERM), 0);
    struct view_want l = {.alive = NODES - 2, .skip = leaver,
                          .addr = cluster.nodes[leaver].gossip, .status = "left"};
    cr_assert(sr_tk_wait(&cluster, t0 + SLACK * period_us(30), all_match, &l),
              "leave of %s not seen as left by all", l.addr);
    cr_assert_eq(sr_tk_reap(&cluster, leaver, t0 + 5 * SR_US_PER_S), 0, "ringd exit status on SIGTERM");

    /* POST /admin/leave works the same way, and the process keeps serving. */
    json_t *j = sr_tk_http(cluster.nodes[1].http, "POST", "/admin/leave");
    cr_assert_not_null(j);
    json_decref(j);
    struct view_want l2 = {.alive = NODES - 3, .skip = 1, .addr = cluster.nodes[1].gossip, .status = "left"};
    cr_assert(sr_tk_wait(&cluster, sr_time_mono_us() + SLACK * period_us(30), all_match, &l2));
    sr_tk_destroy(&cluster);
}
