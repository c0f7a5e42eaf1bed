/* Backup requests for idempotent reads (lib/node/node_backup.c), with three
 * real nodes in one process (one event loop, real UDP/TCP on 127.0.0.1) and
 * a stateful service with replicas 2. A node is made slow by a handler that
 * holds its answers until the test releases them, so "the owner has not
 * answered" is a fact, not a timing guess:
 *   - a held owner: the replica answers, from its own copy, after the delay;
 *     both sides count it; the entry cancels the owner's copy, whose
 *     answer is then not sent (the cancel counted in /metrics);
 *   - an entry node that is the key's replica answers from its own copy;
 *   - backup_reads false, writes, non-idempotent and NO_BACKUP endpoints,
 *     a deadline shorter than the delay: no backup;
 *   - a replica without the key cannot beat the owner; the owner first
 *     cancels the backup; a fast owner triggers none;
 *   - the replica refuses a replica read of a write or of a key it holds no
 *     copy of;
 *   - the p95 estimate (table tests) and the default delay it gives. */
#include <criterion/criterion.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "swimring/error.h"
#include "node/node_fwd.h"
#include "node/node_state.h"
#include "swimring/testkit.h"

#define NODES 3
#define HELD_MAX 16

struct world;

struct slot {
    struct world *w;
    int i;
};

struct world {
    struct event_base *base;
    struct sr_node *n[NODES];
    struct slot slot[NODES];
    struct sr_service_def svc[NODES];
    int runs[NODES];            /* handler runs per node */
    unsigned hold;              /* bit i: node i holds its answers */
    unsigned lacks;             /* bit i: node i answers SR_ENOTFOUND */
    struct sr_node_reply *held[HELD_MAX];
    int held_on[HELD_MAX];      /* which node holds held[k] */
    int nheld;
    bool backup_reads;          /* the config world_up gives every node */
    uint32_t backup_after_ms;
};

#include "node3.h"

static void on_any(void *ud, struct sr_node_reply *r, const struct sr_node_request *q)
{
    struct slot *s = ud;
    struct world *w = s->w;
    (void)q;
    w->runs[s->i]++;
    if (w->hold & (1u << s->i)) {
        cr_assert_lt(w->nheld, HELD_MAX);
        w->held_on[w->nheld] = s->i;
        w->held[w->nheld++] = r; /* answered by the test, later */
        return;
    }
    if (w->lacks & (1u << s->i)) {
        sr_node_reply(r, SR_ENOTFOUND, NULL, 0);
        return;
    }
    const char *me = sr_node_self(w->n[s->i]);
    sr_node_reply(r, 0, me, strlen(me));
}

static const struct sr_endpoint_def eps[] = {
    {"read", SR_ENDPOINT_IDEMPOTENT, on_any, NULL, NULL, NULL},
    {"write", SR_ENDPOINT_IDEMPOTENT | SR_ENDPOINT_WRITE, on_any, NULL, NULL, NULL},
    {"plain", 0, on_any, NULL, NULL, NULL},
    {"poll", SR_ENDPOINT_IDEMPOTENT | SR_ENDPOINT_NO_BACKUP, on_any, NULL, NULL, NULL},
};

/* State hooks holding nothing: the node replicates and hands off only
 * what a service exports, and these reads need no data. */
static void st_keys(void *ud, sr_state_key_f fn, void *arg)
{
    (void)ud;
    (void)fn;
    (void)arg;
}
static int st_export(void *ud, const void *key, size_t len, sr_state_emit_f emit, void *arg)
{
    (void)ud;
    (void)key;
    (void)len;
    (void)emit;
    (void)arg;
    return 0;
}
static int st_merge(void *ud, const void *key, size_t len, const void *rec, size_t rlen)
{
    (void)ud;
    (void)key;
    (void)len;
    (void)rec;
    (void)rlen;
    return 0;
}
static void st_drop(void *ud, const void *key, size_t len)
{
    (void)ud;
    (void)key;
    (void)len;
}
static const struct sr_state_ops ops = {st_keys, st_export, st_merge, st_drop, NULL};

static void tune(struct world *w, int i, struct sr_node_config *cfg)
{
    (void)i;
    cfg->state.replicas = 2;
    cfg->state.backup_reads = w->backup_reads;
    cfg->state.backup_after_ms = w->backup_after_ms;
    cfg->state.sync_interval_ms = 0; /* no anti-entropy traffic in the counts */
}

static void add_service(struct world *w, int i)
{
    w->slot[i] = (struct slot){w, i};
    w->svc[i] = (struct sr_service_def){.name = "t", .endpoints = eps,
                                        .nendpoints = sizeof eps / sizeof eps[0],
                                        .ud = &w->slot[i], .state = &ops};
    cr_assert_eq(sr_node_add_service(w->n[i], &w->svc[i]), 0);
}

/* backup_after_ms = 0: the observed p95 */
static void world_up(struct world *w, bool backup_reads, uint32_t backup_after_ms)
{
    memset(w, 0, sizeof(*w));
    w->backup_reads = backup_reads;
    w->backup_after_ms = backup_after_ms;
    node3_up(w, tune, add_service);
}

/* Answer held[k] (the slot is then empty). */
static void release(struct world *w, int k, const char *body)
{
    cr_assert_not_null(w->held[k]);
    sr_node_reply(w->held[k], 0, body, strlen(body));
    w->held[k] = NULL;
}

static void world_down(struct world *w)
{
    for (int k = 0; k < w->nheld; k++)
        if (w->held[k])
            sr_node_reply(w->held[k], 0, NULL, 0);
    node3_down(w);
}

static const char *self(struct world *w, int i)
{
    return sr_node_self(w->n[i]);
}

/* A key whose replica set on the (agreed) ring is n[owner], n[replica]. */
static void key_with(struct world *w, int owner, int replica, char *key, size_t len)
{
    for (int k = 0; k < 100000; k++) {
        const char *set[2];
        snprintf(key, len, "k%d", k);
        if (sr_ring_lookup_n(sr_node_ring(w->n[0]), key, strlen(key), set, 2) == 2 &&
            strcmp(set[0], self(w, owner)) == 0 && strcmp(set[1], self(w, replica)) == 0)
            return;
    }
    cr_assert_fail("no key");
}

static const struct node_state_stats *stats(struct world *w, int i)
{
    return &w->n[i]->state->st;
}

static uint64_t late(struct world *w, int i)
{
    return rpc_stats(w, i).late_responses;
}

struct done {
    int count;
    int status;
    char body[64];
    char by[64];
    sr_time_us at;
};

static void on_done(void *ud, const struct sr_node_result *res)
{
    struct done *d = ud;
    d->count++;
    d->at = sr_time_mono_us();
    d->status = res->status;
    snprintf(d->body, sizeof d->body, "%.*s", (int)res->body_len, (const char *)res->body);
    snprintf(d->by, sizeof d->by, "%s", res->served_by ? res->served_by : "");
}

static bool done_ran(struct world *w, void *ud)
{
    (void)w;
    return ((struct done *)ud)->count > 0;
}

static bool held_n(struct world *w, void *ud)
{
    return w->nheld >= *(int *)ud;
}

static bool cancel_came(struct world *w, void *ud)
{
    int *node = ud;
    return rpc_stats(w, *node).cancels_received > 0;
}

/* Whether n[i]'s /metrics text has `line` (a whole line). */
static bool metrics_have(struct world *w, int i, const char *line)
{
    struct sr_buf b;
    sr_buf_create(&b, 0);
    cr_assert_eq(node_metrics_write(w->n[i], &b), 0);
    cr_assert_eq(sr_buf_append(&b, "", 1), 0);
    char want[128];
    snprintf(want, sizeof want, "\n%s\n", line);
    bool ok = strstr((const char *)b.data, want) != NULL;
    sr_buf_destroy(&b);
    return ok;
}

/* The entry cancelled the RPC that n[holder] holds as held[k]: once the
 * cancel frame is there, the answer is not even sent (no late answer at
 * the entry), and n[holder]'s /metrics count both. */
static void answer_dropped(struct world *w, int holder, int k, const char *body)
{
    run_until(w, cancel_came, &holder, 5);
    struct sr_rpc_stats before = rpc_stats(w, holder);
    uint64_t late0 = late(w, 0);
    release(w, k, body);
    struct sr_rpc_stats after = rpc_stats(w, holder);
    cr_expect_eq(after.answers_canceled, before.answers_canceled + 1, "the answer was dropped");
    cr_expect_eq(after.responses_sent, before.responses_sent, "nothing was sent");
    cr_expect_eq(after.cancels_received, 1);
    cr_expect_eq(rpc_stats(w, 0).cancels_sent, 1, "the entry sent one cancel");
    cr_expect(metrics_have(w, holder, "swimring_rpc_cancels_total{dir=\"in\"} 1"));
    cr_expect(metrics_have(w, holder, "swimring_rpc_canceled_answers_total 1"));
    cr_expect(metrics_have(w, 0, "swimring_rpc_cancels_total{dir=\"out\"} 1"));
    run_for(w, 50);
    cr_expect_eq(late(w, 0), late0, "no late answer came back");
}

static void call(struct world *w, int via, const char *ep, const char *key, uint32_t timeout_ms,
                 struct done *d)
{
    memset(d, 0, sizeof(*d));
    cr_assert_eq(sr_node_call(w->n[via], "t", ep, key, strlen(key), NULL, 0, timeout_ms, on_done, d),
                 0);
}

/* One read the owner answers, without backups (a first connect under
 * valgrind outlasts any short delay): the entry's connection to the owner
 * is up afterwards, so a held request is on the owner's socket long before
 * the backup delay (otherwise a slow connect could let the backup win
 * before the owner saw it, and the cancelled request would never be sent). */
static void warm(struct world *w, int via, const char *key)
{
    struct done d;
    unsigned hold = w->hold;
    bool backups = w->n[via]->cfg.state.backup_reads;
    w->hold = 0;
    w->n[via]->cfg.state.backup_reads = false;
    call(w, via, "read", key, 3000, &d);
    run_until(w, done_ran, &d, 5);
    cr_assert_eq(d.status, 0);
    w->n[via]->cfg.state.backup_reads = backups;
    w->hold = hold;
    memset(w->runs, 0, sizeof w->runs);
}

/* ---- the replica answers for a held owner ------------------------------------- */

Test(node_backup, held_owner_answered_by_the_replica)
{
    struct world w;
    char key[32];
    world_up(&w, true, 50);
    key_with(&w, 2, 1, key, sizeof key); /* entry n[0] holds no copy */
    warm(&w, 0, key);
    w.hold = 1u << 2;
    struct done d;
    int one = 1;
    sr_time_us t0 = sr_time_mono_us();
    call(&w, 0, "read", key, 3000, &d);
    run_until(&w, done_ran, &d, 5);
    run_until(&w, held_n, &one, 5); /* the owner has it (it was on its socket) */
    cr_expect_eq(d.status, 0, "%s", sr_err_name(d.status));
    cr_expect_str_eq(d.by, self(&w, 1), "served by the replica");
    cr_expect_str_eq(d.body, self(&w, 1), "answered by the replica's handler");
    cr_expect_geq(d.at - t0, 50 * SR_US_PER_MS, "not before the backup delay");
    cr_expect_eq(w.runs[2], 1, "the owner has it, held");
    cr_expect_eq(w.runs[1], 1, "the replica ran it once");
    cr_expect_eq(stats(&w, 0)->backup_sent, 1);
    cr_expect_eq(stats(&w, 0)->backup_won, 1);
    cr_expect_eq(stats(&w, 1)->backup_served, 1, "the replica counts it too");
    cr_expect_eq(w.n[1]->fst.reforwarded, 0, "the replica did not forward it to the owner");
    cr_expect_null(w.n[0]->calls, "the call is complete");
    /* the owner answers now: dropped (cancelled), no second callback */
    answer_dropped(&w, 2, 0, "owner");
    cr_expect_eq(d.count, 1, "the callback ran exactly once");
    cr_expect_str_eq(d.by, self(&w, 1));
    world_down(&w);
}

Test(node_backup, entry_node_in_the_replica_set_answers_from_its_copy)
{
    struct world w;
    char key[32];
    world_up(&w, true, 50);
    key_with(&w, 2, 0, key, sizeof key); /* entry n[0] is the replica */
    warm(&w, 0, key);
    w.hold = 1u << 2;
    struct done d;
    int one = 1;
    call(&w, 0, "read", key, 3000, &d);
    run_until(&w, done_ran, &d, 5);
    run_until(&w, held_n, &one, 5);
    cr_expect_eq(d.status, 0, "%s", sr_err_name(d.status));
    cr_expect_str_eq(d.by, self(&w, 0), "served here");
    cr_expect_eq(w.runs[0], 1);
    cr_expect_eq(w.runs[1], 0, "nobody else was asked");
    cr_expect_eq(stats(&w, 0)->backup_sent, 1);
    cr_expect_eq(stats(&w, 0)->backup_won, 1);
    cr_expect_eq(stats(&w, 1)->backup_served + stats(&w, 2)->backup_served, 0, "no RPC for it");
    answer_dropped(&w, 2, 0, "owner");
    cr_expect_eq(d.count, 1);
    world_down(&w);
}

/* ---- no backup ------------------------------------------------------------------- */

Test(node_backup, backup_reads_off_waits_for_the_owner)
{
    struct world w;
    char key[32];
    world_up(&w, false, 20);
    key_with(&w, 2, 1, key, sizeof key);
    w.hold = 1u << 2;
    struct done d;
    call(&w, 0, "read", key, 3000, &d);
    int one = 1;
    run_until(&w, held_n, &one, 5);
    run_for(&w, 10 * 20); /* ten times the delay */
    cr_expect_eq(d.count, 0, "still waiting for the owner");
    cr_expect_eq(w.runs[1], 0, "the replica was not asked");
    release(&w, 0, "owner");
    run_until(&w, done_ran, &d, 5);
    cr_expect_eq(d.status, 0);
    cr_expect_str_eq(d.body, "owner");
    cr_expect_str_eq(d.by, self(&w, 2));
    cr_expect_eq(stats(&w, 0)->backup_sent, 0);
    world_down(&w);
}

Test(node_backup, writes_and_non_idempotent_requests_are_never_backed_up)
{
    static const char *const which[] = {"write", "plain", "poll"};
    struct world w;
    char key[32];
    world_up(&w, true, 20);
    key_with(&w, 2, 1, key, sizeof key);
    w.hold = 1u << 2;
    struct done d[3];
    for (int i = 0; i < 3; i++)
        call(&w, 0, which[i], key, 3000, &d[i]);
    int three = 3;
    run_until(&w, held_n, &three, 5);
    run_for(&w, 10 * 20);
    for (int i = 0; i < 3; i++)
        cr_expect_eq(d[i].count, 0, "%s: still waiting for the owner", which[i]);
    cr_expect_eq(w.runs[1], 0, "the replica ran none of them");
    cr_expect_eq(stats(&w, 0)->backup_sent, 0);
    cr_expect_eq(stats(&w, 1)->backup_served, 0);
    for (int k = 0; k < 3; k++)
        release(&w, k, "owner");
    for (int i = 0; i < 3; i++) {
        run_until(&w, done_ran, &d[i], 5);
        cr_expect_eq(d[i].status, 0, "%s: %s", which[i], sr_err_name(d[i].status));
        cr_expect_str_eq(d[i].by, self(&w, 2), "%s", which[i]);
    }
    world_down(&w);
}

Test(node_backup, no_backup_past_the_deadline)
{
    struct world w;
    char key[32];
    world_up(&w, true, 300);
    key_with(&w, 2, 1, key, sizeof key);
    w.hold = 1u << 2;
    struct done d;
    call(&w, 0, "read", key, 100, &d); /* the deadline comes before the delay */
    run_until(&w, done_ran, &d, 5);
    cr_expect_eq(d.status, SR_ETIMEDOUT, "%s", sr_err_name(d.status));
    run_for(&w, 300); /* past when the backup would have gone */
    cr_expect_eq(stats(&w, 0)->backup_sent, 0);
    cr_expect_eq(w.runs[1], 0);
    cr_expect_eq(d.count, 1);
    world_down(&w);
}

Test(node_backup, fast_owner_triggers_no_backup)
{
    struct world w;
    char key[32];
    world_up(&w, true, 1000); /* far above a loopback round trip, even under sanitizers */
    key_with(&w, 2, 1, key, sizeof key);
    for (int i = 0; i < 100; i++) {
        struct done d;
        call(&w, 0, "read", key, 3000, &d);
        run_until(&w, done_ran, &d, 5);
        cr_assert_eq(d.status, 0);
        cr_assert_str_eq(d.by, self(&w, 2), "read %d served by the owner", i);
    }
    cr_expect_eq(stats(&w, 0)->backup_sent, 0);
    cr_expect_eq(w.runs[1], 0, "the replica was never asked");
    cr_expect_eq(w.runs[2], 100);
    world_down(&w);
}

/* ---- who wins ------------------------------------------------------------------------ */

struct served_of {
    int node;
    uint64_t n;
};

static bool served(struct world *w, void *ud)
{
    struct served_of *s = ud;
    return stats(w, s->node)->backup_served >= s->n;
}

Test(node_backup, replica_without_the_key_cannot_beat_the_owner)
{
    struct world w;
    char key[32];
    world_up(&w, true, 20);
    key_with(&w, 2, 1, key, sizeof key);
    w.hold = 1u << 2;
    w.lacks = 1u << 1;
    struct done d;
    int one = 1;
    call(&w, 0, "read", key, 3000, &d);
    struct served_of s = {1, 1};
    run_until(&w, served, &s, 5); /* the replica answered SR_ENOTFOUND */
    run_until(&w, held_n, &one, 5);
    run_for(&w, 50);               /* its answer is back at the entry by now */
    cr_expect_eq(d.count, 0, "a missing key does not win");
    release(&w, 0, "owner");
    run_until(&w, done_ran, &d, 5);
    cr_expect_eq(d.status, 0);
    cr_expect_str_eq(d.body, "owner");
    cr_expect_eq(stats(&w, 0)->backup_sent, 1);
    cr_expect_eq(stats(&w, 0)->backup_won, 0);
    world_down(&w);
}

/* The owner answers while the backup is still out: the owner's answer
 * wins, the backup is cancelled and the replica does not send its answer. */
static void owner_first(int replica)
{
    struct world w;
    char key[32];
    world_up(&w, true, 20);
    key_with(&w, 2, replica, key, sizeof key);
    w.hold = 1u << 2 | 1u << replica;
    struct done d;
    call(&w, 0, "read", key, 3000, &d);
    int two = 2;
    run_until(&w, held_n, &two, 5);
    int ko = w.held_on[0] == 2 ? 0 : 1; /* which held answer is the owner's */
    cr_assert_eq(w.held_on[ko], 2);
    cr_assert_eq(w.held_on[1 - ko], replica);
    release(&w, ko, "owner");
    run_until(&w, done_ran, &d, 5);
    cr_expect_eq(d.status, 0);
    cr_expect_str_eq(d.body, "owner");
    cr_expect_str_eq(d.by, self(&w, 2));
    cr_expect_eq(stats(&w, 0)->backup_sent, 1);
    cr_expect_eq(stats(&w, 0)->backup_won, 0);
    if (replica != 0) {
        answer_dropped(&w, replica, 1 - ko, "backup");
    } else { /* a backup served here just frees its answer */
        release(&w, 1 - ko, "backup");
        run_for(&w, 50);
    }
    cr_expect_eq(d.count, 1, "the callback ran exactly once");
    cr_expect_str_eq(d.body, "owner");
    world_down(&w);
}

Test(node_backup, owner_first_cancels_a_remote_backup)
{
    owner_first(1);
}

Test(node_backup, owner_first_drops_a_local_backup)
{
    owner_first(0);
}

Test(node_backup, node_delete_with_both_out)
{
    struct world w;
    char key[32];
    world_up(&w, true, 20);
    key_with(&w, 2, 1, key, sizeof key);
    w.hold = 1u << 2 | 1u << 1;
    struct done d;
    call(&w, 0, "read", key, 3000, &d);
    int two = 2;
    run_until(&w, held_n, &two, 5);
    sr_node_delete(w.n[0]);
    w.n[0] = NULL;
    cr_expect_eq(d.count, 1);
    cr_expect_eq(d.status, SR_ECANCELED);
    world_down(&w); /* answers the held ones: to a gone peer, dropped */
}

/* ---- the replica's side ---------------------------------------------------------------- */

struct raw {
    bool ran;
    int status;
    bool remote;
    char body[64];
};

static void on_raw(void *ud, const struct sr_rpc_result *res)
{
    struct raw *r = ud;
    r->ran = true;
    r->status = res->status;
    r->remote = res->remote;
    snprintf(r->body, sizeof r->body, "%.*s", (int)res->body_len, (const char *)res->body);
}

static bool raw_ran(struct world *w, void *ud)
{
    (void)w;
    return ((struct raw *)ud)->ran;
}

/* A replica read sent by hand from n[0] to n[1]. */
static void replica_read(struct world *w, const char *ep, const char *key, struct raw *out)
{
    struct sr_rpc_call_args a = {.service = "t", .endpoint = ep, .key = key,
                                 .key_len = strlen(key), .timeout_ms = 2000, .hops = 1,
                                 .flags = SR_RPC_IDEMPOTENT | SR_RPC_REPLICA_READ};
    memset(out, 0, sizeof(*out));
    cr_assert_eq(sr_rpc_call(w->n[0]->rpc, self(w, 1), &a, on_raw, out, NULL), 0);
    run_until(w, raw_ran, out, 5);
}

Test(node_backup, replica_serves_only_reads_of_keys_it_holds)
{
    struct world w;
    char mine[32], other[32];
    world_up(&w, true, 0);
    key_with(&w, 2, 1, mine, sizeof mine);   /* n[1] holds a copy */
    key_with(&w, 2, 0, other, sizeof other); /* n[1] holds none */
    struct raw r;
    replica_read(&w, "read", mine, &r);
    cr_expect(r.remote);
    cr_expect_eq(r.status, 0, "%s", sr_err_name(r.status));
    cr_expect_str_eq(r.body, self(&w, 1), "its own copy answered, not the owner");
    cr_expect_eq(w.runs[2], 0);
    replica_read(&w, "read", other, &r);
    cr_expect_eq(r.status, SR_ENOTOWNER, "%s", sr_err_name(r.status));
    for (int i = 0; i < 3; i++) {
        static const char *const bad[] = {"write", "plain", "poll"};
        replica_read(&w, bad[i], mine, &r);
        cr_expect_eq(r.status, SR_EINVAL, "%s: %s", bad[i], sr_err_name(r.status));
    }
    cr_expect_eq(w.runs[1], 1, "only the good read ran");
    cr_expect_eq(w.runs[2], 0, "nothing reached the owner");
    cr_expect_eq(stats(&w, 1)->backup_served, 1);
    cr_expect_eq(stats(&w, 1)->backup_refused, 4);
    world_down(&w);
}

/* An answer that crosses its cancel on the wire arrives late: dropped and
 * counted in the entry's /metrics. */
static bool late_came(struct world *w, void *ud)
{
    (void)ud;
    return late(w, 0) > 0;
}

Test(node_backup, late_answer_is_counted_in_metrics)
{
    struct world w;
    char key[32];
    world_up(&w, true, 0);
    key_with(&w, 2, 1, key, sizeof key);
    w.hold = 1u << 2;
    struct sr_rpc_call_args a = {.service = "t", .endpoint = "read", .key = key,
                                 .key_len = strlen(key), .timeout_ms = 3000, .hops = 1,
                                 .flags = SR_RPC_IDEMPOTENT};
    struct raw r = {0};
    uint64_t id;
    int one = 1;
    cr_assert_eq(sr_rpc_call(w.n[0]->rpc, self(&w, 2), &a, on_raw, &r, &id), 0);
    run_until(&w, held_n, &one, 5);
    cr_expect(metrics_have(&w, 0, "swimring_rpc_late_responses_total 0"));
    /* cancel, and answer before the loop lets the owner read the cancel */
    cr_assert_eq(sr_rpc_cancel(w.n[0]->rpc, id), 0);
    release(&w, 0, "owner");
    run_until(&w, late_came, NULL, 5);
    cr_expect(r.ran);
    cr_expect_eq(r.status, SR_ECANCELED);
    cr_expect_eq(late(&w, 0), 1);
    cr_expect(metrics_have(&w, 0, "swimring_rpc_late_responses_total 1"));
    world_down(&w);
}

/* ---- the delay -------------------------------------------------------------------------- */

Test(node_backup, latency_buckets_and_quantiles)
{
    cr_expect_eq(node_lat_bound_us(0), 100);
    cr_expect_eq(node_lat_bound_us(1), 126);
    cr_expect_eq(node_lat_bound_us(3), 200);
    cr_expect_eq(node_lat_bound_us(10), 1008);
    cr_expect_eq(node_lat_bound_us(27), 51200);
    cr_expect_eq(node_lat_bound_us(NODE_LAT_BUCKETS - 1), 5200281);
    cr_expect_eq(node_lat_bound_us(1000), node_lat_bound_us(NODE_LAT_BUCKETS - 1));
    struct node_lat_est e = {{0}, 0};
    cr_expect_eq(node_lat_quantile_us(&e, 950), 0, "no samples");
    for (int i = 0; i < 95; i++)
        node_lat_add(&e, 1000);
    for (int i = 0; i < 5; i++)
        node_lat_add(&e, 50000);
    cr_expect_eq(e.total, 100);
    cr_expect_eq(node_lat_quantile_us(&e, 950), 1008, "95 of 100 at or below 1 ms");
    cr_expect_eq(node_lat_quantile_us(&e, 960), 51200, "the 96th is a slow one");
    cr_expect_eq(node_lat_quantile_us(&e, 1000), 51200);
    node_lat_add(&e, UINT32_MAX);
    cr_expect_eq(node_lat_quantile_us(&e, 1000), node_lat_bound_us(NODE_LAT_BUCKETS - 1),
                 "beyond the last bound: the last bucket");
    /* old samples fade: after a window of fast ones the slow ones are gone */
    for (int i = 0; i < 8 * NODE_LAT_WINDOW; i++)
        node_lat_add(&e, 150);
    cr_expect_lt(e.total, NODE_LAT_WINDOW);
    cr_expect_geq(e.total, NODE_LAT_WINDOW / 2 - NODE_LAT_BUCKETS);
    cr_expect_eq(node_lat_quantile_us(&e, 1000), node_lat_bound_us(2), "150 us: bucket 2");
    cr_expect_eq(node_lat_bound_us(2), 158);
}

Test(node_backup, delay_is_the_setting_or_the_clamped_p95)
{
    struct sr_node *node = calloc(1, sizeof(*node));
    static const struct sr_service_def svc = {.name = "t", .state = &ops};
    cr_assert_not_null(node);
    sr_node_config_default(&node->cfg);
    node->nep = 1;
    struct node_ep *ep = &node->ep[0];
    ep->svc = &svc;
    ep->def = &eps[0];
    cr_expect(node_backup_ep_ok(node, ep));
    cr_expect_eq(node_backup_delay_us(node, ep), NODE_BACKUP_COLD_US, "no samples yet");
    for (unsigned i = 0; i < NODE_BACKUP_MIN_SAMPLES - 1; i++)
        node_backup_sample(node, ep, 300000);
    cr_expect_eq(node_backup_delay_us(node, ep), NODE_BACKUP_COLD_US, "not enough samples yet");
    node_backup_sample(node, ep, 300000);
    cr_expect_eq(node_backup_delay_us(node, ep), node_lat_quantile_us(&ep->owner_lat, 950));
    cr_expect_geq(node_backup_delay_us(node, ep), 300000);
    for (int i = 0; i < 100; i++)
        node_backup_sample(node, ep, 4000000);
    cr_expect_eq(node_backup_delay_us(node, ep), NODE_BACKUP_CEIL_US, "the ceiling");
    memset(&ep->owner_lat, 0, sizeof ep->owner_lat);
    for (int i = 0; i < 100; i++)
        node_backup_sample(node, ep, 50);
    cr_expect_eq(node_backup_delay_us(node, ep), NODE_BACKUP_FLOOR_US, "the floor");
    node->cfg.state.backup_after_ms = 7;
    cr_expect_eq(node_backup_delay_us(node, ep), 7 * SR_US_PER_MS, "the setting wins");
    /* what may be backed up at all */
    for (size_t i = 1; i < sizeof eps / sizeof eps[0]; i++) {
        ep->def = &eps[i];
        cr_expect(!node_backup_ep_ok(node, ep), "%s", eps[i].name);
    }
    ep->def = &eps[0];
    node->cfg.state.replicas = 1;
    cr_expect(!node_backup_ep_ok(node, ep), "replicas 1");
    free(node);
}

/* The default delay end to end: learnt from the owner's answers, then a
 * held owner is backed up after about that long. */
Test(node_backup, default_delay_comes_from_the_owners_answers)
{
    struct world w;
    char key[32];
    world_up(&w, true, 0);
    key_with(&w, 2, 1, key, sizeof key);
    const struct node_ep *ep = node_fwd_find(w.n[0], "t", 1, "read", 4);
    cr_assert_not_null(ep);
    cr_expect_eq(node_backup_delay_us(w.n[0], ep), NODE_BACKUP_COLD_US);
    for (int i = 0; i < 200 && ep->owner_lat.total < 2 * NODE_BACKUP_MIN_SAMPLES; i++) {
        struct done d;
        call(&w, 0, "read", key, 3000, &d);
        run_until(&w, done_ran, &d, 5);
        cr_assert_eq(d.status, 0);
    }
    cr_assert_geq(ep->owner_lat.total, 2 * NODE_BACKUP_MIN_SAMPLES);
    sr_time_us delay = node_backup_delay_us(w.n[0], ep);
    cr_expect_geq(delay, NODE_BACKUP_FLOOR_US);
    cr_expect_leq(delay, NODE_BACKUP_CEIL_US);
    sr_time_us p95 = node_lat_quantile_us(&ep->owner_lat, 950);
    cr_expect_eq(delay, p95 < NODE_BACKUP_FLOOR_US ? NODE_BACKUP_FLOOR_US
                        : p95 > NODE_BACKUP_CEIL_US ? NODE_BACKUP_CEIL_US : p95);
    cr_log_info("owner p95 %llu us over %u answers: backup after %llu us",
                (unsigned long long)p95, ep->owner_lat.total, (unsigned long long)delay);
    uint64_t sent = stats(&w, 0)->backup_sent, won = stats(&w, 0)->backup_won;
    w.hold = 1u << 2;
    struct done d;
    sr_time_us t0 = sr_time_mono_us();
    call(&w, 0, "read", key, 3000, &d);
    run_until(&w, done_ran, &d, 5);
    cr_expect_eq(d.status, 0);
    cr_expect_str_eq(d.by, self(&w, 1));
    cr_expect_geq(d.at - t0, delay, "not before the delay");
    cr_expect_eq(stats(&w, 0)->backup_sent, sent + 1);
    cr_expect_eq(stats(&w, 0)->backup_won, won + 1);
    world_down(&w);
}
