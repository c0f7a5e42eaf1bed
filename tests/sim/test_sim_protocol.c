/* Protocol behaviour on small clusters in the simulator: refutation, leave,
 * labels, tombstone reaping, rejoin after death, indirect probes, join
 * retries, anti-entropy and determinism. Timing bounds come from the config. */
#include "sim_util.h"
#include "swimring/error.h"

#define N 20

static struct sr_swim_cfg lan(void)
{
    struct sr_swim_cfg c;
    sr_swim_cfg_default_lan(&c);
    return c;
}

static struct sr_sim *converged_cluster(uint64_t seed, const struct sr_swim_cfg *c, int n)
{
    struct sr_sim *sim = sim_make(seed, c, 0);
    sim_boot(sim, n, SR_US_PER_S);
    SIM_ASSERT(sim_wait(sim, pred_converged, NULL, 30 * SR_US_PER_S, 100 * SR_US_PER_MS),
               "no convergence");
    return sim;
}

Test(sim_protocol, small_cluster_converges_and_stays_quiet)
{
    struct sr_swim_cfg c = lan();
    struct sr_sim *sim = converged_cluster(101, &c, N);
    sr_sim_run_for(sim, 60 * SR_US_PER_S);
    SIM_EXPECT(sr_sim_converged(sim), "lost convergence while idle");
    SIM_EXPECT(sr_sim_stats(sim)->false_faulty_nodes == 0, "false faulty");
    for (int i = 0; i < N; i++)
        SIM_EXPECT(sr_swim_stats(sr_sim_core(sim, i))->suspicions == 0, "node %d suspected", i);
    sr_sim_delete(sim);
}

/* Fresh news does not wait out a gossip interval at every hop (gossip_soon in
 * update.c): 50 nodes started within one second agree soon after the last
 * start. The median over 9 seeds is checked (a rare run waits for a full
 * sync); with a round only every 200 ms per hop it was about 500 ms. */
static sr_time_us mass_join_ms(uint64_t seed, const struct sr_swim_cfg *c)
{
    struct sr_sim *sim = sim_make(seed, c, 0);
    sr_time_us last = sim_boot(sim, 50, SR_US_PER_S);
    SIM_ASSERT(sim_wait(sim, pred_converged, NULL, 30 * SR_US_PER_S, 10 * SR_US_PER_MS),
               "no convergence");
    sr_time_us took = (sr_sim_now(sim) - last) / SR_US_PER_MS;
    sr_sim_delete(sim);
    return took;
}

Test(sim_protocol, a_mass_join_converges_soon_after_the_last_start)
{
    struct sr_swim_cfg c = lan();
    uint64_t base = sr_sim_seed_from_env(107);
    sr_time_us took[9];
    for (int i = 0; i < 9; i++) {
        took[i] = mass_join_ms(base + (uint64_t)i, &c);
        for (int j = i; j > 0 && took[j] < took[j - 1]; j--) {
            sr_time_us t = took[j];
            took[j] = took[j - 1], took[j - 1] = t;
        }
    }
    cr_log_info("converged after the last start: median %llu ms, max %llu ms",
                (unsigned long long)took[4], (unsigned long long)took[8]);
    SIM_EXPECT(took[4] < 2 * c.gossip_interval_ms, "median %llu ms (gossip interval %u ms)",
               (unsigned long long)took[4], c.gossip_interval_ms);
}

Test(sim_protocol, paused_member_is_suspected_then_refutes)
{
    struct sr_swim_cfg c = lan();
    c.suspicion_min_mult = 8; /* room for a pause that surely gets noticed */
    struct sr_sim *sim = converged_cluster(102, &c, N);
    int p = 7;
    struct ev_log log = {.sim = sim, .subject = p};
    sr_sim_set_event_hook(sim, ev_log_hook, &log);
    /* pause many probe rounds (about one probe of p per period: the chance
     * nobody probes it is e^-6) but resume 2 periods before the minimum
     * suspicion could expire */
    sr_time_us pause = susp_min(&c, N) - 2 * ms_us(c.period_ms);
    SIM_ASSERT(pause > 6 * ms_us(c.period_ms), "config leaves no room for the test");
    sr_sim_pause(sim, p, true);
    sr_sim_run_for(sim, pause);
    sr_sim_pause(sim, p, false);
    SIM_ASSERT(sim_wait(sim, pred_converged, NULL, sr_sim_now(sim) + susp_min(&c, N),
                        100 * SR_US_PER_MS), "no reconvergence after refutation");
    SIM_EXPECT(log.count[SR_SWIM_EV_SUSPECT] > 0, "nobody suspected the paused node");
    SIM_EXPECT(log.count[SR_SWIM_EV_FAULTY] == 0, "paused node declared faulty");
    struct sr_swim_member_info me;
    sr_swim_member(sr_sim_core(sim, p), sr_sim_addr(sim, p), &me);
    SIM_EXPECT(me.incarnation >= 1, "no refutation (incarnation %llu)",
               (unsigned long long)me.incarnation);
    SIM_EXPECT(sr_swim_stats(sr_sim_core(sim, p))->refutations >= 1, "no refutation counted");
    sr_sim_delete(sim);
}

struct see { int node; enum sr_swim_status st; };
static bool pred_all_see(struct sr_sim *sim, void *ud)
{
    struct see *s = ud;
    return sr_sim_all_see(sim, s->node, s->st);
}

Test(sim_protocol, graceful_leave_is_seen_as_left_not_faulty)
{
    struct sr_swim_cfg c = lan();
    struct sr_sim *sim = converged_cluster(103, &c, N);
    int p = 5;
    struct ev_log log = {.sim = sim, .subject = p};
    sr_sim_set_event_hook(sim, ev_log_hook, &log);
    sr_time_us t0 = sr_sim_now(sim);
    SIM_ASSERT(sr_sim_leave(sim, p) == 0, "leave");
    struct see s = {p, SR_SWIM_LEFT};
    /* the leave goes out at once: well before any failure detector could fire */
    SIM_ASSERT(sim_wait(sim, pred_all_see, &s, t0 + ms_us(c.period_ms) * 2, 10 * SR_US_PER_MS),
               "not everyone saw the leave within two periods");
    sr_sim_run_for(sim, susp_max(&c, N));
    SIM_EXPECT(log.count[SR_SWIM_EV_FAULTY] == 0, "left node declared faulty");
    SIM_EXPECT(log.count[SR_SWIM_EV_LEFT] == N - 1, "left events %llu",
               (unsigned long long)log.count[SR_SWIM_EV_LEFT]);
    sr_sim_delete(sim);
}

struct label_want { int node; const char *key, *value; };
static bool pred_label(struct sr_sim *sim, void *ud)
{
    struct label_want *w = ud;
    for (size_t i = 0; i < sr_sim_nodes(sim); i++) {
        struct sr_swim_member_info m;
        if (sr_swim_member(sr_sim_core(sim, (int)i), sr_sim_addr(sim, w->node), &m) < 0)
            return false;
        bool found = false;
        for (size_t j = 0; j < m.nlabels; j++)
            found |= strcmp(m.labels[j].key, w->key) == 0 &&
                     (w->value == NULL || strcmp(m.labels[j].value, w->value) == 0);
        if (found != (w->value != NULL))
            return false;
    }
    return true;
}

Test(sim_protocol, labels_spread_and_change)
{
    struct sr_swim_cfg c = lan();
    struct sr_sim *sim = converged_cluster(104, &c, N);
    struct sr_swim *core = sr_sim_core(sim, 3);
    uint64_t inc0 = 0;
    struct sr_swim_member_info m;
    sr_swim_member(core, sr_sim_addr(sim, 3), &m);
    inc0 = m.incarnation;
    cr_assert_eq(sr_swim_set_label(core, "zone", "a"), 0);
    cr_assert_eq(sr_swim_set_label(core, "service", "presence"), 0);
    sr_swim_member(core, sr_sim_addr(sim, 3), &m);
    SIM_EXPECT(m.incarnation == inc0 + 2, "a label change bumps the incarnation");
    struct label_want w = {3, "service", "presence"};
    SIM_ASSERT(sim_wait(sim, pred_label, &w, sr_sim_now(sim) + 10 * ms_us(c.period_ms),
                        10 * SR_US_PER_MS), "label did not spread");
    cr_assert_eq(sr_swim_set_label(core, "zone", "b"), 0);
    cr_assert_eq(sr_swim_set_label(core, "service", NULL), 0);
    struct label_want w2 = {3, "zone", "b"}, w3 = {3, "service", NULL};
    SIM_ASSERT(sim_wait(sim, pred_label, &w2, sr_sim_now(sim) + 10 * ms_us(c.period_ms),
                        10 * SR_US_PER_MS), "label change did not spread");
    SIM_EXPECT(pred_label(sim, &w3), "label removal did not spread");
    /* limits */
    char key[8];
    for (int i = 0; i < SR_SWIM_LABELS_MAX - 1; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        cr_expect_eq(sr_swim_set_label(core, key, "v"), 0);
    }
    cr_expect_eq(sr_swim_set_label(core, "one-too-many", "v"), SR_EFULL);
    cr_expect_eq(sr_swim_set_label(core, "k0", "a-value-that-is-much-longer-than-31-bytes"),
                 SR_ETOOBIG);
    sr_sim_delete(sim);
}

Test(sim_protocol, faulty_then_tombstone_reaped_then_rejoin)
{
    struct sr_swim_cfg c = lan();
    c.tombstone_ms = 20000;
    struct sr_sim *sim = converged_cluster(105, &c, N);
    int p = 11;
    struct ev_log log = {.sim = sim, .subject = p};
    sr_sim_set_event_hook(sim, ev_log_hook, &log);
    sr_time_us kill = sr_sim_now(sim);
    sr_sim_kill(sim, p);
    struct see s = {p, SR_SWIM_FAULTY};
    /* faulty: not before the minimum suspicion, by max suspicion + a few periods */
    sr_time_us hi = kill + susp_max(&c, N) + 4 * ms_us(c.period_ms);
    SIM_ASSERT(sim_wait(sim, pred_all_see, &s, hi, 10 * SR_US_PER_MS), "not seen faulty");
    SIM_EXPECT(log.first[SR_SWIM_EV_FAULTY] >= kill + susp_min(&c, N - 1),
               "faulty after %.3f s, before the minimum suspicion %.3f s",
               (double)(log.first[SR_SWIM_EV_FAULTY] - kill) / 1e6, (double)susp_min(&c, N - 1) / 1e6);
    /* tombstones: kept tombstone_ms, then reaped (REMOVED) by everyone */
    sr_time_us faulty_at = log.first[SR_SWIM_EV_FAULTY];
    sr_sim_run_until(sim, faulty_at + ms_us(c.tombstone_ms) - 10 * SR_US_PER_MS);
    SIM_EXPECT(log.count[SR_SWIM_EV_REMOVED] == 0, "reaped before tombstone_ms");
    SIM_EXPECT(sr_swim_size(sr_sim_core(sim, 0)) == N, "tombstone missing");
    sr_sim_run_for(sim, susp_max(&c, N) + 2 * ms_us(c.period_ms));
    SIM_EXPECT(log.count[SR_SWIM_EV_REMOVED] == N - 1, "removed %llu",
               (unsigned long long)log.count[SR_SWIM_EV_REMOVED]);
    for (int i = 0; i < N; i++)
        if (i != p)
            SIM_EXPECT(sr_swim_size(sr_sim_core(sim, i)) == N - 1, "node %d still has it", i);
    sr_sim_delete(sim);
}

Test(sim_protocol, restarted_member_rejoins_with_higher_incarnation)
{
    struct sr_swim_cfg c = lan();
    struct sr_sim *sim = converged_cluster(106, &c, N);
    int p = 13;
    sr_swim_set_label(sr_sim_core(sim, p), "gen", "1"); /* incarnation 1 */
    sr_sim_run_for(sim, 5 * SR_US_PER_S);
    sr_sim_kill(sim, p);
    struct see s = {p, SR_SWIM_FAULTY};
    SIM_ASSERT(sim_wait(sim, pred_all_see, &s, sr_sim_now(sim) + susp_max(&c, N) + 5 * SR_US_PER_S,
                        100 * SR_US_PER_MS), "not seen faulty");
    struct ev_log log = {.sim = sim, .subject = p};
    sr_sim_set_event_hook(sim, ev_log_hook, &log);
    SIM_ASSERT(sr_sim_restart(sim, p) == 0, "restart");
    SIM_ASSERT(sim_wait(sim, pred_converged, NULL, sr_sim_now(sim) + 10 * ms_us(c.period_ms),
                        10 * SR_US_PER_MS), "restarted node did not rejoin");
    struct sr_swim_member_info m;
    cr_assert_eq(sr_swim_member(sr_sim_core(sim, 0), sr_sim_addr(sim, p), &m), 0);
    SIM_EXPECT(m.status == SR_SWIM_ALIVE && m.incarnation >= 2, "status %s inc %llu",
               sr_swim_status_name(m.status), (unsigned long long)m.incarnation);
    SIM_EXPECT(log.count[SR_SWIM_EV_RECOVERED] == N - 1, "recovered events %llu",
               (unsigned long long)log.count[SR_SWIM_EV_RECOVERED]);
    sr_sim_delete(sim);
}

Test(sim_protocol, indirect_probes_keep_a_one_way_blocked_member_alive)
{
    struct sr_swim_cfg c = lan();
    struct sr_sim *sim = converged_cluster(107, &c, N);
    struct ev_log log = {.sim = sim, .subject = 2};
    sr_sim_set_event_hook(sim, ev_log_hook, &log);
    /* 1 cannot reach 2 directly: its pings fail, ping-reqs through others work */
    sr_sim_set_link(sim, 1, 2, 0, true);
    sr_sim_run_for(sim, 120 * SR_US_PER_S);
    SIM_EXPECT(log.count[SR_SWIM_EV_SUSPECT] == 0, "suspected %llu times",
               (unsigned long long)log.count[SR_SWIM_EV_SUSPECT]);
    SIM_EXPECT(sr_swim_stats(sr_sim_core(sim, 1))->ping_reqs_sent > 0, "no ping-req sent");
    SIM_EXPECT(sr_sim_converged(sim), "not converged");
    sr_sim_delete(sim);
}

Test(sim_protocol, join_retries_until_a_seed_answers)
{
    struct sr_swim_cfg c = lan();
    struct sr_sim *sim = sim_make(108, &c, 0);
    int seed0 = 0;
    /* the seed starts 10 s after the joiner */
    cr_assert_eq(sr_sim_add_node(sim, 10 * SR_US_PER_S, &seed0, 0), 0);
    cr_assert_eq(sr_sim_add_node(sim, 0, &seed0, 1), 1);
    sr_sim_run_until(sim, 10 * SR_US_PER_S - 1);
    SIM_EXPECT(!sr_sim_converged(sim) || sr_sim_core(sim, 0) == NULL, "converged without seed");
    uint64_t pings = sr_swim_stats(sr_sim_core(sim, 1))->pings_sent;
    /* backoff min, 2min, 4min... within 10 s: a handful of rounds, not hundreds */
    SIM_EXPECT(pings >= 3 && pings <= 10, "join pings %llu", (unsigned long long)pings);
    SIM_ASSERT(sim_wait(sim, pred_converged, NULL,
                        10 * SR_US_PER_S + ms_us(c.join_retry_max_ms) + 2 * SR_US_PER_S,
                        10 * SR_US_PER_MS), "did not join once the seed came up");
    sr_sim_delete(sim);
}

Test(sim_protocol, checksum_mismatch_triggers_full_sync)
{
    struct sr_swim_cfg c = lan();
    c.gossip_interval_ms = 0;   /* no extra gossip rounds */
    c.retransmit_mult = 1;      /* and few piggybacks: updates get missed */
    struct sr_sim *sim = sim_make(109, &c, 0.3);
    sim_boot(sim, N, SR_US_PER_S);
    sr_sim_run_for(sim, 10 * SR_US_PER_S);
    sr_sim_set_loss(sim, 0);
    /* a mismatch shows on a probe (one per period per node) and each node
     * syncs at most once per full_sync_interval: a few of each */
    sr_time_us t0 = sr_sim_now(sim);
    SIM_ASSERT(sim_wait(sim, pred_converged, NULL,
                        t0 + ms_us(c.full_sync_interval_ms) * 4 + ms_us(c.period_ms) * 10,
                        100 * SR_US_PER_MS), "anti-entropy did not converge the views");
    cr_log_info("anti-entropy converged %.1f s after the loss stopped",
                (double)(sr_sim_now(sim) - t0) / 1e6);
    uint64_t syncs = 0;
    for (int i = 0; i < N; i++)
        syncs += sr_swim_stats(sr_sim_core(sim, i))->full_syncs_requested;
    SIM_EXPECT(syncs > (uint64_t)N - 1, "only the join syncs happened (%llu)",
               (unsigned long long)syncs);
    sr_sim_delete(sim);
}

static uint64_t run_trace(uint64_t seed)
{
    struct sr_sim_cfg cfg;
    sr_sim_cfg_default(&cfg);
    cfg.seed = seed;
    cfg.loss = 0.05;
    cfg.dup = 0.02;
    cfg.reorder = 0.05;
    struct sr_sim *sim = sr_sim_new(&cfg, NULL);
    int seed0 = 0;
    for (int i = 0; i < 50; i++)
        sr_sim_add_node(sim, (sr_time_us)i * 17 * SR_US_PER_MS, &seed0, i ? 1 : 0);
    sr_sim_run_for(sim, 20 * SR_US_PER_S);
    sr_sim_kill(sim, 7);
    sr_sim_run_for(sim, 20 * SR_US_PER_S);
    uint64_t h = sr_sim_trace_hash(sim);
    sr_sim_delete(sim);
    return h;
}

Test(sim_protocol, same_seed_same_trace_hash)
{
    sim_seed = sr_sim_seed_from_env(110);
    /* two simulators alive at once: no shared state between them */
    uint64_t a = run_trace(sim_seed), b = run_trace(sim_seed), c = run_trace(sim_seed + 1);
    SIM_EXPECT(a == b, "same seed, different traces %016llx %016llx", (unsigned long long)a,
               (unsigned long long)b);
    SIM_EXPECT(a != c, "different seeds, same trace");
}

Test(sim_protocol, hostile_datagrams_are_counted_and_dropped)
{
    struct sr_swim_cfg c = lan();
    struct sr_sim *sim = converged_cluster(111, &c, 5);
    struct sr_swim *core = sr_sim_core(sim, 0);
    uint8_t junk[2000];
    for (size_t i = 0; i < sizeof(junk); i++)
        junk[i] = (uint8_t)(i * 131 + 7);
    cr_expect_eq(sr_swim_receive(core, "10.0.0.2:7946", junk, 3), SR_ETRUNC);
    cr_expect_eq(sr_swim_receive(core, "10.0.0.2:7946", junk, sizeof(junk)), SR_ETOOBIG);
    junk[0] = 0xA5;
    junk[1] = 9;
    cr_expect_eq(sr_swim_receive(core, "10.0.0.2:7946", junk, 100), SR_EVERSION);
    junk[1] = 1;
    junk[2] = 0;
    junk[3] = 92;
    cr_expect_eq(sr_swim_receive(core, "10.0.0.2:7946", junk, 100), SR_ECHECKSUM);
    junk[0] = 0;
    cr_expect_eq(sr_swim_receive(core, "10.0.0.2:7946", junk, 100), SR_EPROTO);
    const struct sr_swim_stats *st = sr_swim_stats(core);
    cr_expect_eq(st->drop_truncated, 1);
    cr_expect_eq(st->drop_oversize, 1);
    cr_expect_eq(st->drop_version, 1);
    cr_expect_eq(st->drop_checksum, 1);
    cr_expect_eq(st->drop_malformed, 1);
    cr_expect_lt(sr_swim_merge_state(core, junk, 100), 0);
    sr_sim_run_for(sim, 10 * SR_US_PER_S);
    SIM_EXPECT(sr_sim_converged(sim), "node stopped working after hostile input");
    sr_sim_delete(sim);
}

Test(sim_protocol, duplication_reordering_and_jitter_do_not_cause_false_faulty)
{
    struct sr_sim_cfg cfg;
    sr_sim_cfg_default(&cfg);
    sim_seed = cfg.seed = sr_sim_seed_from_env(112);
    cfg.dup = 0.05;
    cfg.reorder = 0.10;
    cfg.reorder_max_us = 50 * SR_US_PER_MS;
    cfg.latency_min_us = 1 * SR_US_PER_MS;
    cfg.latency_max_us = 80 * SR_US_PER_MS; /* jitter up to 80 ms */
    struct sr_sim *sim = sr_sim_new(&cfg, NULL);
    cr_assert_not_null(sim);
    sim_boot(sim, 50, SR_US_PER_S);
    SIM_ASSERT(sim_wait(sim, pred_converged, NULL, 30 * SR_US_PER_S, 100 * SR_US_PER_MS),
               "no convergence");
    sr_sim_run_for(sim, 120 * SR_US_PER_S);
    SIM_EXPECT(sr_sim_stats(sim)->false_faulty_nodes == 0, "false faulty");
    SIM_EXPECT(sr_sim_converged(sim), "lost convergence");
    sr_sim_delete(sim);
}

struct not_x { struct sr_sim *sim; int x; uint64_t faulty_others; };
static void on_faulty_not_x(void *ud, int node, const struct sr_swim_event *ev)
{
    struct not_x *n = ud;
    (void)node;
    if (ev->type == SR_SWIM_EV_FAULTY && sr_sim_node_of(n->sim, ev->member->addr) != n->x)
        n->faulty_others++;
}

/* Lifeguard local health: a node whose own packets mostly get lost misses
 * acks and nacks, so its awareness rises (it slows down and waits longer)
 * instead of it accusing healthy members. */
Test(sim_protocol, a_degraded_node_raises_its_awareness_not_false_alarms)
{
    struct sr_swim_cfg c = lan();
    struct sr_sim *sim = converged_cluster(113, &c, 30);
    int x = 5;
    struct not_x nx = {sim, x, 0};
    sr_sim_set_event_hook(sim, on_faulty_not_x, &nx);
    for (int j = 0; j < 30; j++)
        if (j != x)
            sr_sim_set_link(sim, x, j, 0.7, false); /* 70% of x's datagrams lost */
    uint32_t max_aw = 0;
    for (int t = 0; t < 1200; t++) {
        sr_sim_run_for(sim, 100 * SR_US_PER_MS);
        if (sr_sim_core(sim, x) == NULL)
            break;
        uint32_t a = sr_swim_stats(sr_sim_core(sim, x))->awareness;
        max_aw = a > max_aw ? a : max_aw;
    }
    SIM_EXPECT(max_aw >= 2, "awareness of the degraded node peaked at %u", max_aw);
    SIM_EXPECT(max_aw < c.awareness_max, "awareness past its ceiling: %u", max_aw);
    SIM_EXPECT(nx.faulty_others == 0, "%llu healthy members declared faulty",
               (unsigned long long)nx.faulty_others);
    sr_sim_delete(sim);
}
