/* The core's ringpop options (include/swimring/swim.h, docs/ringpop.md),
 * each against its native default on one core with a manual clock:
 * ping_req_timeout_ms, accept_unknown_down, quiet_sync, tombstone_evict_ms,
 * labels_every_state, sr_swim_reap_faulty and sr_swim_rejoin. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include "swim/wire.h"
#include "swimring/error.h"
#include "swimring/swim.h"

struct world {
    sr_time_us now, at;
    uint64_t rnd;
    int sent, pings;
    size_t last_updates;
    char last_to[64];
};

static sr_time_us w_now(void *c) { return ((struct world *)c)->now; }
static uint64_t w_rnd(void *c) { return ++((struct world *)c)->rnd * 0x9E3779B97F4A7C15ull; }
static void w_sched(void *c, sr_time_us at) { ((struct world *)c)->at = at; }

static void w_send(void *c, const char *to, const void *data, size_t len)
{
    struct world *w = c;
    struct sr_swim_msg m;
    struct sr_swim_update ups[64];
    w->sent++;
    snprintf(w->last_to, sizeof(w->last_to), "%s", to);
    if (sr_swim_wire_decode(data, len, &m, ups, 64) == 0) {
        w->last_updates = m.nupdates;
        w->pings += m.type == SR_SWIM_MSG_PING;
    }
}

static const struct sr_swim_vtab vt = {w_now, w_rnd, w_send, w_sched, NULL, NULL};

static struct sr_swim *core(struct world *w, const struct sr_swim_cfg *cfg)
{
    memset(w, 0, sizeof(*w));
    w->now = 1000000;
    w->at = UINT64_MAX;
    int err = 0;
    struct sr_swim *s = sr_swim_new(cfg, "10.0.0.1:1", NULL, &vt, w, NULL, &err);
    cr_assert_not_null(s, "%s", sr_err_name(err));
    return s;
}

/* Run the clock to `to`, ticking whenever the core asked (bounded). */
static void run_until(struct sr_swim *s, struct world *w, sr_time_us to)
{
    for (int i = 0; i < 100000 && w->at <= to; i++) {
        w->now = w->at > w->now ? w->at : w->now;
        w->at = UINT64_MAX;
        sr_swim_tick(s);
    }
    w->now = to;
}

/* Feed one datagram from `from` carrying a single update. */
static void feed(struct sr_swim *s, const char *from, uint32_t type, const char *addr,
                 uint64_t inc, uint32_t st, const struct sr_swim_label *l, size_t nl)
{
    struct sr_buf b;
    struct sr_mp_writer w;
    struct sr_swim_msg m = {.type = type, .seq = 99, .flags = SR_SWIM_FLAG_PENDING};
    sr_buf_create(&b, 0);
    int off = sr_swim_wire_begin(&b, &m);
    cr_assert_geq(off, 0);
    sr_mp_writer_init(&w, &b);
    sr_swim_wire_put_update(&w, addr, addr, inc, st, l, nl, from);
    cr_assert_eq(sr_swim_wire_finish(&b, (size_t)off, 1), 0);
    cr_assert_eq(sr_swim_receive(s, from, b.data, b.len), 0);
    sr_buf_destroy(&b);
}

static int status_of(struct sr_swim *s, const char *addr)
{
    struct sr_swim_member_info m;
    return sr_swim_member(s, addr, &m) == 0 ? (int)m.status : -1;
}

static void base_cfg(struct sr_swim_cfg *c)
{
    sr_swim_cfg_default_local(c);
    c->gossip_interval_ms = 0;
    c->heal_probe_ms = 3600000;
    c->tombstone_ms = 5000;
}

Test(swim_ringpop, unknown_down_members)
{
    struct world w;
    struct sr_swim_cfg c;
    base_cfg(&c);
    struct sr_swim *s = core(&w, &c);
    feed(s, "10.0.0.2:1", SR_SWIM_MSG_GOSSIP, "10.0.0.9:1", 3, SR_SWIM_SUSPECT, NULL, 0);
    cr_expect_eq(status_of(s, "10.0.0.9:1"), -1, "native: only alive news creates members");
    sr_swim_delete(s);

    c.accept_unknown_down = 1;
    s = core(&w, &c);
    feed(s, "10.0.0.2:1", SR_SWIM_MSG_GOSSIP, "10.0.0.9:1", 3, SR_SWIM_SUSPECT, NULL, 0);
    feed(s, "10.0.0.2:1", SR_SWIM_MSG_GOSSIP, "10.0.0.8:1", 3, SR_SWIM_FAULTY, NULL, 0);
    cr_expect_eq(status_of(s, "10.0.0.9:1"), SR_SWIM_SUSPECT);
    cr_expect_eq(status_of(s, "10.0.0.8:1"), SR_SWIM_FAULTY);
    sr_swim_delete(s);
}

Test(swim_ringpop, probe_stretches_the_period)
{
    struct world w;
    struct sr_swim_cfg c;
    base_cfg(&c);
    c.ping_timeout_ms = 1500;
    cr_assert_eq(sr_swim_cfg_validate(&c, NULL, 0), SR_EINVAL, "timeout > period needs the option");
    c.ping_req_timeout_ms = 5000;
    cr_assert_eq(sr_swim_cfg_validate(&c, NULL, 0), 0);
    struct sr_swim *s = core(&w, &c);
    feed(s, "10.0.0.2:1", SR_SWIM_MSG_GOSSIP, "10.0.0.2:1", 1, SR_SWIM_ALIVE, NULL, 0);
    feed(s, "10.0.0.3:1", SR_SWIM_MSG_GOSSIP, "10.0.0.3:1", 1, SR_SWIM_ALIVE, NULL, 0);
    sr_swim_start(s);
    sr_time_us t0 = w.now;
    run_until(s, &w, t0 + (sr_time_us)c.period_ms * 1000);
    cr_assert_eq(w.pings, 1, "first probe within one period");
    char target[64];
    snprintf(target, sizeof(target), "%s", w.last_to);
    /* no ack and no nack ever: suspected only after ping + ping-req
     * timeouts, and no second probe meanwhile (the period stretched) */
    run_until(s, &w, t0 + 6400 * 1000);
    cr_expect_eq(status_of(s, target), SR_SWIM_ALIVE, "suspected before 1.5 + 5 s");
    cr_expect_eq(w.pings, 1);
    run_until(s, &w, t0 + 6800 * 1000);
    cr_expect_eq(status_of(s, target), SR_SWIM_SUSPECT, "not suspected by 1.5 + 5 s + period");
    sr_swim_delete(s);

    /* nobody to ask for a ping-req: the probe fails at the ping timeout */
    s = core(&w, &c);
    feed(s, "10.0.0.2:1", SR_SWIM_MSG_GOSSIP, "10.0.0.2:1", 1, SR_SWIM_ALIVE, NULL, 0);
    sr_swim_start(s);
    t0 = w.now;
    run_until(s, &w, t0 + 1400 * 1000);
    cr_expect_eq(status_of(s, "10.0.0.2:1"), SR_SWIM_ALIVE, "suspected before the ping timeout");
    run_until(s, &w, t0 + 1800 * 1000);
    cr_expect_eq(status_of(s, "10.0.0.2:1"), SR_SWIM_SUSPECT, "not suspected by ping timeout + period");
    sr_swim_delete(s);
}

static void merge_one(struct sr_swim *s, const char *from, const char *addr, uint32_t st)
{
    struct sr_buf b;
    struct sr_mp_writer w;
    sr_buf_create(&b, 0);
    sr_mp_writer_init(&w, &b);
    sr_mp_write_map(&w, 4);
    sr_mp_write_uint(&w, 0);
    sr_mp_write_uint(&w, SR_SWIM_STATE_VERSION);
    sr_mp_write_uint(&w, 1);
    sr_mp_write_cstr(&w, from);
    sr_mp_write_uint(&w, 2);
    sr_mp_write_uint(&w, 0);
    sr_mp_write_uint(&w, 3);
    sr_mp_write_array(&w, 1);
    sr_swim_wire_put_update(&w, addr, addr, 1, st, NULL, 0, NULL);
    cr_assert_eq(sr_swim_merge_state(s, b.data, b.len), 0);
    sr_buf_destroy(&b);
}

Test(swim_ringpop, quiet_sync)
{
    for (int quiet = 0; quiet <= 1; quiet++) {
        struct world w;
        struct sr_swim_cfg c;
        base_cfg(&c);
        c.quiet_sync = (uint32_t)quiet;
        struct sr_swim *s = core(&w, &c);
        feed(s, "10.0.0.2:1", SR_SWIM_MSG_GOSSIP, "10.0.0.2:1", 1, SR_SWIM_ALIVE, NULL, 0);
        feed(s, "10.0.0.2:1", SR_SWIM_MSG_GOSSIP, "10.0.0.3:1", 1, SR_SWIM_ALIVE, NULL, 0);
        /* drain what the gossip queued: answer pings until acks are empty */
        for (int i = 0; i < 200; i++)
            feed(s, "10.0.0.2:1", SR_SWIM_MSG_PING, "10.0.0.2:1", 1, SR_SWIM_ALIVE, NULL, 0);
        cr_assert_eq(w.last_updates, 0);
        merge_one(s, "10.0.0.2:1", "10.0.0.3:1", SR_SWIM_FAULTY);
        cr_expect_eq(status_of(s, "10.0.0.3:1"), quiet ? SR_SWIM_FAULTY : SR_SWIM_SUSPECT);
        feed(s, "10.0.0.2:1", SR_SWIM_MSG_PING, "10.0.0.2:1", 1, SR_SWIM_ALIVE, NULL, 0);
        cr_expect_eq(w.last_updates, quiet ? 0u : 1u, "quiet=%d: relayed %zu", quiet, w.last_updates);
        sr_swim_delete(s);
    }
}

Test(swim_ringpop, tombstones)
{
    struct world w;
    struct sr_swim_cfg c;
    base_cfg(&c);
    struct sr_swim *s = core(&w, &c);
    feed(s, "10.0.0.2:1", SR_SWIM_MSG_GOSSIP, "10.0.0.3:1", 1, SR_SWIM_ALIVE, NULL, 0);
    feed(s, "10.0.0.2:1", SR_SWIM_MSG_GOSSIP, "10.0.0.3:1", 1, SR_SWIM_TOMBSTONE, NULL, 0);
    cr_expect_eq(status_of(s, "10.0.0.3:1"), SR_SWIM_ALIVE, "native: tombstone news dropped");
    cr_expect_eq(sr_swim_reap_faulty(s), 0u);
    sr_swim_delete(s);

    c.tombstone_evict_ms = 3000;
    s = core(&w, &c);
    feed(s, "10.0.0.2:1", SR_SWIM_MSG_GOSSIP, "10.0.0.3:1", 1, SR_SWIM_ALIVE, NULL, 0);
    feed(s, "10.0.0.2:1", SR_SWIM_MSG_GOSSIP, "10.0.0.4:1", 1, SR_SWIM_ALIVE, NULL, 0);
    feed(s, "10.0.0.2:1", SR_SWIM_MSG_GOSSIP, "10.0.0.9:1", 1, SR_SWIM_TOMBSTONE, NULL, 0);
    cr_expect_eq(status_of(s, "10.0.0.9:1"), -1, "unknown tombstone created");
    sr_time_us t0 = w.now;
    feed(s, "10.0.0.2:1", SR_SWIM_MSG_GOSSIP, "10.0.0.3:1", 1, SR_SWIM_FAULTY, NULL, 0);
    run_until(s, &w, t0 + 4900 * 1000);
    cr_expect_eq(status_of(s, "10.0.0.3:1"), SR_SWIM_FAULTY, "tombstone before tombstone_ms");
    run_until(s, &w, t0 + 5100 * 1000);
    cr_expect_eq(status_of(s, "10.0.0.3:1"), SR_SWIM_TOMBSTONE, "no tombstone by tombstone_ms");
    cr_expect_eq(sr_swim_count(s, SR_SWIM_TOMBSTONE), 1u);
    run_until(s, &w, t0 + 7900 * 1000);
    cr_expect_eq(status_of(s, "10.0.0.3:1"), SR_SWIM_TOMBSTONE, "evicted early");
    run_until(s, &w, t0 + 8200 * 1000);
    cr_expect_eq(status_of(s, "10.0.0.3:1"), -1, "not evicted by tombstone + evict ms");
    /* reap: every faulty member becomes a tombstone at once */
    feed(s, "10.0.0.2:1", SR_SWIM_MSG_GOSSIP, "10.0.0.4:1", 1, SR_SWIM_FAULTY, NULL, 0);
    cr_expect_eq(sr_swim_reap_faulty(s), 1u);
    cr_expect_eq(status_of(s, "10.0.0.4:1"), SR_SWIM_TOMBSTONE);
    /* a tombstone loses to a newer alive */
    feed(s, "10.0.0.4:1", SR_SWIM_MSG_GOSSIP, "10.0.0.4:1", 2, SR_SWIM_ALIVE, NULL, 0);
    cr_expect_eq(status_of(s, "10.0.0.4:1"), SR_SWIM_ALIVE);
    sr_swim_delete(s);
}

Test(swim_ringpop, labels_every_state)
{
    struct sr_swim_label l = {"hello", "world"};
    for (int every = 0; every <= 1; every++) {
        struct world w;
        struct sr_swim_cfg c;
        base_cfg(&c);
        c.labels_every_state = (uint32_t)every;
        struct sr_swim *s = core(&w, &c);
        feed(s, "10.0.0.2:1", SR_SWIM_MSG_GOSSIP, "10.0.0.3:1", 1, SR_SWIM_ALIVE, NULL, 0);
        feed(s, "10.0.0.2:1", SR_SWIM_MSG_GOSSIP, "10.0.0.3:1", 2, SR_SWIM_SUSPECT, &l, 1);
        struct sr_swim_member_info m;
        cr_assert_eq(sr_swim_member(s, "10.0.0.3:1", &m), 0);
        cr_expect_eq(m.nlabels, (size_t)every);
        sr_swim_delete(s);
    }
}

Test(swim_ringpop, rejoin_after_leave)
{
    struct world w;
    struct sr_swim_cfg c;
    base_cfg(&c);
    struct sr_swim *s = core(&w, &c);
    feed(s, "10.0.0.2:1", SR_SWIM_MSG_GOSSIP, "10.0.0.2:1", 1, SR_SWIM_ALIVE, NULL, 0);
    sr_swim_start(s);
    cr_assert_eq(sr_swim_rejoin(s), 0, "rejoin without leave is a no-op");
    cr_assert_eq(sr_swim_leave(s), 0);
    struct sr_swim_member_info m;
    sr_swim_member(s, "10.0.0.1:1", &m);
    cr_expect_eq(m.status, SR_SWIM_LEFT);
    uint64_t inc = m.incarnation;
    cr_assert_eq(sr_swim_rejoin(s), 0);
    sr_swim_member(s, "10.0.0.1:1", &m);
    cr_expect_eq(m.status, SR_SWIM_ALIVE);
    cr_expect_gt(m.incarnation, inc);
    int before = w.pings;
    run_until(s, &w, w.now + 2 * (sr_time_us)c.period_ms * 1000);
    cr_expect_gt(w.pings, before, "probing did not resume");
    sr_swim_delete(s);
}

/* ringpop's label checksum stands in: rank by the first value's length. */
static int64_t rank_len(void *ctx, const struct sr_swim_label *l, size_t n)
{
    (void)ctx;
    return n ? (int64_t)strlen(l[0].value) : 0;
}

Test(swim_ringpop, labels_rank_breaks_ties)
{
    struct sr_swim_label shortl = {"k", "ab"}, longl = {"k", "abcdef"};
    struct world w;
    struct sr_swim_cfg c;
    base_cfg(&c);
    struct sr_swim *s = core(&w, &c);
    feed(s, "10.0.0.2:1", SR_SWIM_MSG_GOSSIP, "10.0.0.3:1", 4, SR_SWIM_ALIVE, &shortl, 1);
    feed(s, "10.0.0.2:1", SR_SWIM_MSG_GOSSIP, "10.0.0.3:1", 4, SR_SWIM_ALIVE, &longl, 1);
    struct sr_swim_member_info m;
    sr_swim_member(s, "10.0.0.3:1", &m);
    cr_expect_str_eq(m.labels[0].value, "ab", "without a rank the first version stays");
    sr_swim_set_labels_rank(s, rank_len);
    feed(s, "10.0.0.2:1", SR_SWIM_MSG_GOSSIP, "10.0.0.3:1", 4, SR_SWIM_ALIVE, &longl, 1);
    sr_swim_member(s, "10.0.0.3:1", &m);
    cr_expect_str_eq(m.labels[0].value, "abcdef", "the higher rank wins at equal version");
    feed(s, "10.0.0.2:1", SR_SWIM_MSG_GOSSIP, "10.0.0.3:1", 4, SR_SWIM_ALIVE, &shortl, 1);
    sr_swim_member(s, "10.0.0.3:1", &m);
    cr_expect_str_eq(m.labels[0].value, "abcdef", "a lower rank must not win");
    /* ourselves with preferred labels at our version: reincarnate */
    cr_assert_eq(sr_swim_set_incarnation(s, 1000), 0);
    feed(s, "10.0.0.2:1", SR_SWIM_MSG_GOSSIP, "10.0.0.1:1", 1000, SR_SWIM_ALIVE, &longl, 1);
    sr_swim_member(s, "10.0.0.1:1", &m);
    cr_expect_gt(m.incarnation, 1000u);
    cr_expect_eq(m.nlabels, 0u, "we keep our own labels");
    sr_swim_start(s);
    cr_expect_eq(sr_swim_set_incarnation(s, 5), SR_EINVAL, "only before start");
    sr_swim_delete(s);
}

Test(swim_ringpop, announce_probe_now_unreachable)
{
    struct world w;
    struct sr_swim_cfg c;
    base_cfg(&c);
    c.ping_timeout_ms = 1500;
    c.ping_req_timeout_ms = 5000;
    struct sr_swim *s = core(&w, &c);
    feed(s, "10.0.0.2:1", SR_SWIM_MSG_GOSSIP, "10.0.0.2:1", 1, SR_SWIM_ALIVE, NULL, 0);
    feed(s, "10.0.0.3:1", SR_SWIM_MSG_GOSSIP, "10.0.0.3:1", 1, SR_SWIM_ALIVE, NULL, 0);
    for (int i = 0; i < 200; i++) /* drain the queue */
        feed(s, "10.0.0.2:1", SR_SWIM_MSG_PING, "10.0.0.2:1", 1, SR_SWIM_ALIVE, NULL, 0);
    cr_assert_eq(w.last_updates, 0);
    sr_swim_announce(s);
    feed(s, "10.0.0.2:1", SR_SWIM_MSG_PING, "10.0.0.2:1", 1, SR_SWIM_ALIVE, NULL, 0);
    cr_expect_eq(w.last_updates, 1u, "our own record is not queued");
    sr_swim_start(s);
    sr_swim_probe_now(s);
    cr_expect_eq(w.pings, 1, "probe_now sent no ping");
    char target[64];
    snprintf(target, sizeof(target), "%s", w.last_to);
    int sent = w.sent;
    sr_swim_probe_now(s);
    cr_expect_eq(w.sent, sent, "a second probe while one runs");
    /* refused: the ping-req goes out now, not after 1.5 s */
    sr_swim_unreachable(s, "10.9.9.9:1");
    cr_expect_eq(w.sent, sent, "a hint about another address acted");
    sr_swim_unreachable(s, target);
    cr_expect_eq(w.sent, sent + 1, "no ping-req on the hint");
    cr_expect_str_neq(w.last_to, target);
    /* the only relay says no: suspected at once, not after 5 s */
    struct sr_buf b;
    struct sr_swim_msg m = {.type = SR_SWIM_MSG_NACK, .seq = 0, .flags = 0};
    sr_buf_create(&b, 0);
    /* the probe's seq is the only one issued: 1 */
    m.seq = 1;
    int off = sr_swim_wire_begin(&b, &m);
    cr_assert_eq(sr_swim_wire_finish(&b, (size_t)off, 0), 0);
    cr_assert_eq(sr_swim_receive(s, w.last_to, b.data, b.len), 0);
    sr_buf_destroy(&b);
    run_until(s, &w, w.now + 1000);
    cr_expect_eq(status_of(s, target), SR_SWIM_SUSPECT, "all relays nacked but no suspicion");
    sr_swim_delete(s);
}

Test(swim_ringpop, plain_dissemination)
{
    for (int plain = 0; plain <= 1; plain++) {
        struct world w;
        struct sr_swim_cfg c;
        base_cfg(&c);
        c.plain_dissemination = (uint32_t)plain;
        struct sr_swim *s = core(&w, &c);
        feed(s, "10.0.0.2:1", SR_SWIM_MSG_GOSSIP, "10.0.0.2:1", 1, SR_SWIM_ALIVE, NULL, 0);
        feed(s, "10.0.0.2:1", SR_SWIM_MSG_GOSSIP, "10.0.0.3:1", 1, SR_SWIM_ALIVE, NULL, 0);
        feed(s, "10.0.0.2:1", SR_SWIM_MSG_GOSSIP, "10.0.0.3:1", 1, SR_SWIM_SUSPECT, NULL, 0);
        for (int i = 0; i < 200; i++) /* drain the queue */
            feed(s, "10.0.0.2:1", SR_SWIM_MSG_PING, "10.0.0.2:1", 1, SR_SWIM_ALIVE, NULL, 0);
        cr_assert_eq(w.last_updates, 0);
        /* a ping from the suspect: native answers with its record first */
        feed(s, "10.0.0.3:1", SR_SWIM_MSG_PING, "10.0.0.2:1", 1, SR_SWIM_ALIVE, NULL, 0);
        cr_expect_eq(w.last_updates, plain ? 0u : 1u, "plain=%d", plain);
        /* suspected by gossip: native refutes straight back to the sender */
        int sent = w.sent;
        feed(s, "10.0.0.2:1", SR_SWIM_MSG_GOSSIP, "10.0.0.1:1", 0, SR_SWIM_SUSPECT, NULL, 0);
        cr_expect_eq(w.sent - sent, plain ? 0 : 1, "plain=%d", plain);
        sr_swim_delete(s);
    }
}
