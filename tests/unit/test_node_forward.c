/* Handle-or-forward with three real nodes in one process (one event loop,
 * real UDP/TCP on 127.0.0.1): forwarding to the owner, a second forward
 * when two rings disagree, SR_ENOTOWNER at max hops, and no retry of a
 * non-idempotent request that may have run, and a relayed request whose
 * caller cancels it before it is passed on. Rings are made to disagree by
 * taking a member off one node's ring directly (white box: lib/node). */
#include <criterion/criterion.h>
#include <event2/event.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>
#include "swimring/error.h"
#include "node/node_impl.h"
#include "swimring/testkit.h"

#define NODES 3

struct world {
    struct event_base *base;
    struct sr_node *n[NODES];
    int calls[NODES];                 /* handler runs per node */
    struct sr_node_reply *held[8];    /* answers the test gives later */
    int nheld;
    uint32_t max_hops;                /* the config world_up gives every node */
};

#include "node3.h"

static void on_echo(void *ud, struct sr_node_reply *r, const struct sr_node_request *q)
{
    struct sr_node **self = ud;
    (void)q;
    const char *me = sr_node_self(*self);
    sr_node_reply(r, 0, me, strlen(me));
}

/* Per-node service instances: ud points at the node slot so a handler knows
 * where it runs. */
static struct world *g_world; /* test-local: the hold handler reaches the world */

static void on_hold(void *ud, struct sr_node_reply *r, const struct sr_node_request *q)
{
    (void)ud;
    (void)q;
    g_world->calls[0]++;
    g_world->held[g_world->nheld++] = r; /* answered by the test, later */
}

static const struct sr_endpoint_def eps[] = {
    {"echo", SR_ENDPOINT_IDEMPOTENT, on_echo, NULL, NULL, NULL},
    {"hold", 0, on_hold, NULL, NULL, NULL},
    {"hold-idem", SR_ENDPOINT_IDEMPOTENT, on_hold, NULL, NULL, NULL},
};

static struct sr_service_def svc[NODES];

static void tune(struct world *w, int i, struct sr_node_config *cfg)
{
    (void)i;
    cfg->forward.max_hops = w->max_hops;
}

static void add_service(struct world *w, int i)
{
    svc[i] = (struct sr_service_def){.name = "t", .endpoints = eps, .nendpoints = 3,
                                     .ud = &w->n[i]};
    cr_assert_eq(sr_node_add_service(w->n[i], &svc[i]), 0);
}

static void world_up(struct world *w, uint32_t max_hops)
{
    memset(w, 0, sizeof(*w));
    g_world = w;
    w->max_hops = max_hops;
    node3_up(w, tune, add_service);
}

static void world_down(struct world *w)
{
    for (int i = 0; i < w->nheld; i++)
        sr_node_reply(w->held[i], 0, NULL, 0);
    node3_down(w);
}

/* A key the full ring gives to n[want] and n[0]'s ring without n[gone]
 * gives to n[via]. */
static void key_for(struct world *w, int want, char *key, size_t len)
{
    for (int k = 0; k < 100000; k++) {
        snprintf(key, len, "k%d", k);
        if (strcmp(sr_ring_lookup(sr_node_ring(w->n[1]), key, strlen(key)),
                   sr_node_self(w->n[want])) == 0)
            return;
    }
    cr_assert_fail("no key");
}

struct done {
    bool ran;
    int status;
    char body[64];
    char by[64];
};

static void on_done(void *ud, const struct sr_node_result *res)
{
    struct done *d = ud;
    d->ran = true;
    d->status = res->status;
    snprintf(d->body, sizeof d->body, "%.*s", (int)res->body_len, (const char *)res->body);
    snprintf(d->by, sizeof d->by, "%s", res->served_by ? res->served_by : "");
}

static bool done_ran(struct world *w, void *ud)
{
    (void)w;
    return ((struct done *)ud)->ran;
}

Test(node_forward, forwards_to_the_owner)
{
    struct world w;
    char key[32];
    world_up(&w, 2);
    key_for(&w, 2, key, sizeof key);
    struct done d = {0};
    cr_assert_eq(sr_node_call(w.n[0], "t", "echo", key, strlen(key), NULL, 0, 2000, on_done, &d), 0);
    cr_expect(!d.ran, "the callback never runs inside the call");
    run_until(&w, done_ran, &d, 5);
    cr_expect_eq(d.status, 0);
    cr_expect_str_eq(d.body, sr_node_self(w.n[2]));
    world_down(&w);
}

Test(node_forward, disagreeing_rings_forward_again)
{
    struct world w;
    char key[32];
    world_up(&w, 2);
    /* the full ring gives the key to n[2]; n[0]'s ring loses n[2], so n[0]
     * sends it to whoever it now thinks owns it; if that is n[1], n[1]
     * (full ring) forwards once more. */
    for (int k = 0;; k++) {
        snprintf(key, sizeof key, "k%d", k);
        const struct sr_ring *full = sr_node_ring(w.n[1]);
        if (strcmp(sr_ring_lookup(full, key, strlen(key)), sr_node_self(w.n[2])) != 0)
            continue;
        sr_ring_remove(w.n[0]->ring, sr_node_self(w.n[2]));
        bool via1 = strcmp(sr_ring_lookup(w.n[0]->ring, key, strlen(key)), sr_node_self(w.n[1])) == 0;
        sr_ring_add(w.n[0]->ring, sr_node_self(w.n[2]), 1.0);
        if (via1)
            break;
        cr_assert_lt(k, 100000);
    }
    sr_ring_remove(w.n[0]->ring, sr_node_self(w.n[2]));
    struct done d = {0};
    cr_assert_eq(sr_node_call(w.n[0], "t", "echo", key, strlen(key), NULL, 0, 2000, on_done, &d), 0);
    run_until(&w, done_ran, &d, 5);
    cr_expect_eq(d.status, 0);
    cr_expect_str_eq(d.body, sr_node_self(w.n[2]), "answered by the real owner");
    cr_expect_eq(w.n[1]->fst.reforwarded, 1, "n[1] forwarded it again");
    world_down(&w);
}

Test(node_forward, not_owner_at_max_hops)
{
    struct world w;
    char key[32] = "";
    world_up(&w, 1); /* one forward only */
    for (int k = 0; k < 100000; k++) {
        snprintf(key, sizeof key, "k%d", k);
        if (strcmp(sr_ring_lookup(sr_node_ring(w.n[1]), key, strlen(key)), sr_node_self(w.n[2])) != 0)
            continue;
        sr_ring_remove(w.n[0]->ring, sr_node_self(w.n[2]));
        bool via1 = strcmp(sr_ring_lookup(w.n[0]->ring, key, strlen(key)), sr_node_self(w.n[1])) == 0;
        sr_ring_add(w.n[0]->ring, sr_node_self(w.n[2]), 1.0);
        if (via1)
            break;
    }
    sr_ring_remove(w.n[0]->ring, sr_node_self(w.n[2]));
    struct done d = {0};
    sr_time_us t0 = sr_time_mono_us();
    cr_assert_eq(sr_node_call(w.n[0], "t", "echo", key, strlen(key), NULL, 0, 2000, on_done, &d), 0);
    run_until(&w, done_ran, &d, 5);
    cr_expect_eq(d.status, SR_ENOTOWNER, "%s", sr_err_name(d.status));
    cr_expect_geq(w.n[1]->fst.not_owner, 1);
    cr_expect_eq(w.n[0]->fst.retries, w.n[0]->cfg.forward.max_tries - 1,
                 "retried up to max_tries (%llu)", (unsigned long long)w.n[0]->fst.retries);
    cr_expect_lt(sr_time_mono_us() - t0, 2 * SR_US_PER_S, "well before the deadline");
    world_down(&w);
}

/* Lose the connection while the owner holds the request: a non-idempotent
 * one completes SR_ECONNLOST (it may have run), an idempotent one is
 * retried and runs again. */
static bool held(struct world *w, void *ud)
{
    return w->calls[0] >= *(int *)ud;
}

static void connlost(const char *endpoint, bool idempotent)
{
    struct world w;
    char key[32];
    world_up(&w, 2);
    key_for(&w, 2, key, sizeof key);
    struct done d = {0};
    cr_assert_eq(sr_node_call(w.n[0], "t", endpoint, key, strlen(key), NULL, 0, 3000, on_done, &d), 0);
    int one = 1, two = 2;
    run_until(&w, held, &one, 5);
    cr_assert_eq(sr_rpc_disconnect(w.n[0]->rpc, sr_node_self(w.n[2])), 0);
    if (idempotent) {
        run_until(&w, held, &two, 5); /* it ran again */
        sr_node_reply(w.held[1], 0, "ok", 2);
        w.held[1] = w.held[--w.nheld];
        run_until(&w, done_ran, &d, 5);
        cr_expect_eq(d.status, 0, "%s", sr_err_name(d.status));
        cr_expect_str_eq(d.body, "ok");
    } else {
        run_until(&w, done_ran, &d, 5);
        cr_expect_eq(d.status, SR_ECONNLOST, "%s", sr_err_name(d.status));
        cr_expect_eq(w.calls[0], 1, "not retried");
    }
    world_down(&w);
}

Test(node_forward, non_idempotent_not_retried_after_maybe_delivered)
{
    connlost("hold", false);
}

Test(node_forward, idempotent_retried_after_connection_loss)
{
    connlost("hold-idem", true);
}

Test(node_forward, node_delete_cancels_pending_calls)
{
    struct world w;
    char key[32];
    world_up(&w, 2);
    key_for(&w, 2, key, sizeof key);
    struct done d = {0};
    int one = 1;
    cr_assert_eq(sr_node_call(w.n[0], "t", "hold", key, strlen(key), NULL, 0, 3000, on_done, &d), 0);
    run_until(&w, held, &one, 5);
    sr_node_delete(w.n[0]);
    w.n[0] = NULL;
    cr_expect(d.ran);
    cr_expect_eq(d.status, SR_ECANCELED);
    world_down(&w); /* answers the held one: to a gone peer, dropped */
}

/* ---- a cancelled request is not passed on ------------------------------------ */

struct raw {
    int ran;
    int status;
};

static void on_raw(void *ud, const struct sr_rpc_result *res)
{
    struct raw *r = ud;
    r->ran++;
    r->status = res->status;
}

static bool reforwarded(struct world *w, void *ud)
{
    (void)ud;
    return w->n[1]->fst.reforwarded > 0;
}

static bool answer_canceled(struct world *w, void *ud)
{
    (void)ud;
    return rpc_stats(w, 1).answers_canceled > 0;
}

/* n[0] asks n[1] for a key n[2] owns; n[1] would pass it on after an
 * injected 300 ms delay, but n[0] cancels it first: n[1] never forwards
 * it, the owner never runs it, and no answer is sent. */
Test(node_forward, cancelled_before_it_is_passed_on)
{
    struct world w;
    char key[32];
    world_up(&w, 2);
    key_for(&w, 2, key, sizeof key);
    struct node_faults *f = &w.n[1]->faults;
    f->n = 1;
    snprintf(f->addr[0], sizeof f->addr[0], "%s", sr_node_self(w.n[2]));
    f->delay_ms[0] = 300;
    uint64_t sent1 = rpc_stats(&w, 1).requests_sent;
    struct sr_rpc_call_args a = {.service = "t", .endpoint = "hold", .key = key,
                                 .key_len = strlen(key), .timeout_ms = 3000, .hops = 1};
    struct raw r = {0};
    uint64_t id;
    cr_assert_eq(sr_rpc_call(w.n[0]->rpc, sr_node_self(w.n[1]), &a, on_raw, &r, &id), 0);
    run_until(&w, reforwarded, NULL, 5); /* n[1] has it, in its delay */
    sr_time_us t0 = sr_time_mono_us();
    cr_assert_eq(sr_rpc_cancel(w.n[0]->rpc, id), 0);
    run_until(&w, answer_canceled, NULL, 5);
    cr_expect_eq(r.ran, 1);
    cr_expect_eq(r.status, SR_ECANCELED);
    cr_expect_eq(rpc_stats(&w, 1).cancels_received, 1);
    cr_expect_eq(rpc_stats(&w, 1).requests_sent, sent1, "n[1] did not pass it on");
    cr_expect_eq(w.calls[0], 0, "the owner never ran it");
    cr_expect_null(w.n[1]->calls, "n[1] holds nothing for it");
    cr_expect_lt(sr_time_mono_us() - t0, 2 * SR_US_PER_S, "dropped at its next try, not its deadline");
    world_down(&w);
}
