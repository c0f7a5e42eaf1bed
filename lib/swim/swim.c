/* The SWIM + Lifeguard core: lifecycle, the timer wheel of one node (probe,
 * ping-req relays, suspicions, tombstones, gossip, heal, join), and datagram
 * handling. Membership rules live in update.c, full sync in state.c, the
 * maths in lifeguard.c, the codec in wire.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "swimring/error.h"
#include "swim/lifeguard.h"
#include "swim/swim_impl.h"

static sr_time_us ms(uint32_t v) { return (sr_time_us)v * SR_US_PER_MS; }

void sr_swim_note_deadline(sr_time_us *slot, sr_time_us at)
{
    if (at < *slot)
        *slot = at;
}

static uint64_t rnd(struct sr_swim *s) { return s->vt.random(s->ctx); }
static uint64_t rnd_cb(void *ud) { return rnd(ud); }

static sr_time_us scaled(struct sr_swim *s, uint32_t v)
{
    return sr_swim_awareness_scale(ms(v), s->stats.awareness);
}

static bool is_live(uint32_t st) { return st == SR_SWIM_ALIVE || st == SR_SWIM_SUSPECT; }

/* ---- lifecycle ---- */

struct sr_swim *sr_swim_new(const struct sr_swim_cfg *cfg, const char *self_addr,
                            const char *name, const struct sr_swim_vtab *vt,
                            void *ctx, struct sr_log *log, int *err)
{
    int rc = SR_EINVAL;
    struct sr_swim *s = NULL;
    if (cfg == NULL || self_addr == NULL || vt == NULL || vt->now == NULL ||
        vt->random == NULL || vt->send == NULL || vt->schedule == NULL ||
        sr_swim_cfg_validate(cfg, NULL, 0) < 0 || self_addr[0] == '\0' ||
        strlen(self_addr) >= SR_SWIM_ADDR_MAX || (name && strlen(name) >= SR_SWIM_NAME_MAX))
        goto fail;
    rc = SR_ENOMEM;
    s = calloc(1, sizeof(*s));
    if (s == NULL)
        goto fail;
    s->cfg = *cfg;
    s->vt = *vt;
    s->ctx = ctx;
    s->log = log;
    sr_swim_dissem_init(&s->dis);
    sr_buf_create(&s->pkt, 0);
    sr_buf_create(&s->tmp, 0);
    s->capups = cfg->mtu / SR_SWIM_WIRE_MIN_UPDATE + 1;
    s->ups = calloc(s->capups, sizeof(*s->ups));
    if (s->ups == NULL || sr_swim_members_init(&s->mem) < 0)
        goto fail;
    name = name ? name : self_addr;
    s->self_id = sr_swim_members_add(&s->mem, self_addr, strlen(self_addr), name, strlen(name),
                                     0, true, 0);
    if (s->self_id == SR_SWIM_NONE)
        goto fail;
    s->scheduled_at = s->next_susp_at = s->next_reap_at = SR_SWIM_NEVER;
    s->reported_checksum = s->mem.checksum;
    return s;
fail:
    if (s)
        sr_swim_delete(s);
    if (err)
        *err = rc;
    return NULL;
}

void sr_swim_delete(struct sr_swim *s)
{
    if (s == NULL)
        return;
    sr_swim_members_destroy(&s->mem);
    sr_swim_dissem_destroy(&s->dis);
    sr_buf_destroy(&s->pkt);
    sr_buf_destroy(&s->tmp);
    for (size_t i = 0; i < s->nseeds; i++)
        free(s->seeds[i]);
    free(s->seeds);
    free(s->ups);
    free(s);
}

/* ---- sending ---- */

/* Build and send one datagram: fixed fields, then `first` records (our own
 * record for joins, the addressee's record when we doubt it), then pending
 * updates until the MTU. */
static void send_msg(struct sr_swim *s, const char *to, const struct sr_swim_msg *proto,
                     const uint32_t *first, size_t nfirst)
{
    struct sr_swim_msg m = *proto;
    m.checksum = s->mem.checksum;
    if (s->dis.count > 0)
        m.flags |= SR_SWIM_FLAG_PENDING;
    int off = sr_swim_wire_begin(&s->pkt, &m);
    if (off < 0)
        return;
    size_t n = 0;
    for (size_t i = 0; i < nfirst; i++) {
        if (first[i] == SR_SWIM_NONE || sr_swim_encode_rec(s, first[i], NULL) < 0 ||
            s->pkt.len + s->tmp.len > s->cfg.mtu)
            continue;
        sr_buf_append(&s->pkt, s->tmp.data, s->tmp.len);
        n++;
    }
    uint32_t limit = sr_swim_retransmit_limit(s->cfg.retransmit_mult, sr_swim_live_count(s));
    n += sr_swim_dissem_pack(&s->dis, &s->mem, &s->pkt, s->cfg.mtu, limit);
    if (sr_swim_wire_finish(&s->pkt, (size_t)off, n) < 0)
        return;
    s->stats.packets_out++;
    s->stats.bytes_out += s->pkt.len;
    s->stats.updates_sent += n;
    s->vt.send(s->ctx, to, s->pkt.data, s->pkt.len);
}

/* The record of `addr` if we doubt it (suspect/faulty), so it can refute. */
static uint32_t doubt_of(struct sr_swim *s, const char *addr)
{
    if (s->cfg.plain_dissemination)
        return SR_SWIM_NONE;
    uint32_t id = sr_swim_members_find(&s->mem, addr, strlen(addr));
    if (id == SR_SWIM_NONE || id == s->self_id)
        return SR_SWIM_NONE;
    uint32_t st = s->mem.recs[id].status;
    return st == SR_SWIM_SUSPECT || st == SR_SWIM_FAULTY ? id : SR_SWIM_NONE;
}

static void send_simple(struct sr_swim *s, const char *to, uint32_t type, uint64_t seq,
                        uint32_t flags)
{
    struct sr_swim_msg m = {.type = type, .seq = seq, .flags = flags};
    uint32_t first[2] = {flags & SR_SWIM_FLAG_JOIN ? s->self_id : SR_SWIM_NONE, doubt_of(s, to)};
    if (type == SR_SWIM_MSG_PING)
        s->stats.pings_sent++;
    else if (type == SR_SWIM_MSG_ACK)
        s->stats.acks_sent++;
    else if (type == SR_SWIM_MSG_NACK)
        s->stats.nacks_sent++;
    send_msg(s, to, &m, first, 2);
}

void sr_swim_send_gossip(struct sr_swim *s, const char *to, uint32_t directed)
{
    struct sr_swim_msg m = {.type = SR_SWIM_MSG_GOSSIP};
    uint32_t first[2] = {directed, doubt_of(s, to)};
    send_msg(s, to, &m, first, 2);
}

/* Up to `want` distinct random live members other than self and `skip`. */
static size_t pick_random(struct sr_swim *s, uint32_t skip, uint32_t *out, size_t want)
{
    size_t n = 0;
    uint32_t norder = s->mem.norder;
    for (size_t tries = 0; n < want && norder > 0 && tries < want * 4 + 8; tries++) {
        uint32_t id = s->mem.order[rnd(s) % norder];
        if (id == skip || !is_live(s->mem.recs[id].status))
            continue;
        bool dup = false;
        for (size_t i = 0; i < n; i++)
            dup |= out[i] == id;
        if (!dup)
            out[n++] = id;
    }
    return n;
}

/* ---- probing ---- */

/* Next live member in the shuffled round-robin order; reshuffle per pass. */
static uint32_t next_target(struct sr_swim *s)
{
    for (uint32_t i = 0; i < s->mem.norder + 1; i++) {
        if (s->cursor >= s->mem.norder) {
            sr_swim_members_shuffle(&s->mem, rnd_cb, s);
            s->cursor = 0;
            if (s->mem.norder == 0)
                return SR_SWIM_NONE;
        }
        uint32_t id = s->mem.order[s->cursor++];
        if (is_live(s->mem.recs[id].status))
            return id;
    }
    return SR_SWIM_NONE;
}

static void probe_start(struct sr_swim *s, sr_time_us now)
{
    s->next_probe_at = now + scaled(s, s->cfg.period_ms);
    uint32_t id = next_target(s);
    if (id == SR_SWIM_NONE)
        return;
    struct sr_swim_probe *p = &s->probe;
    memset(p, 0, sizeof(*p));
    p->active = true;
    p->seq = ++s->seq;
    snprintf(p->target, sizeof(p->target), "%s", s->mem.recs[id].addr);
    p->incarnation = s->mem.recs[id].incarnation;
    p->req_at = now + scaled(s, s->cfg.ping_timeout_ms);
    /* ringpop: the probe, not the period, decides when the next one starts */
    p->end_at = s->cfg.ping_req_timeout_ms ? p->req_at + ms(s->cfg.ping_req_timeout_ms)
                                           : s->next_probe_at;
    send_simple(s, p->target, SR_SWIM_MSG_PING, p->seq, 0);
}

static void probe_send_reqs(struct sr_swim *s, sr_time_us now)
{
    struct sr_swim_probe *p = &s->probe;
    uint32_t target = sr_swim_members_find(&s->mem, p->target, strlen(p->target));
    uint32_t peers[16];
    size_t n = pick_random(s, target, peers, s->cfg.ping_req_k);
    struct sr_swim_msg m = {.type = SR_SWIM_MSG_PING_REQ, .seq = p->seq, .target = p->target,
                            .target_len = (uint32_t)strlen(p->target),
                            .timeout_ms = (uint32_t)((p->end_at - now) / SR_US_PER_MS)};
    p->reqs_sent = true;
    p->expected_nacks = (uint32_t)n;
    if (n == 0 && s->cfg.ping_req_timeout_ms)
        p->end_at = now; /* ringpop: nobody to ask, the probe failed */
    for (size_t i = 0; i < n; i++) {
        uint32_t first[1] = {doubt_of(s, s->mem.recs[peers[i]].addr)};
        s->stats.ping_reqs_sent++;
        send_msg(s, s->mem.recs[peers[i]].addr, &m, first, 1);
    }
}

static void probe_finish(struct sr_swim *s, sr_time_us now)
{
    struct sr_swim_probe *p = &s->probe;
    p->active = false;
    /* Lifeguard: missing nacks mean *we* may be the slow one */
    int delta = p->expected_nacks > 0 ? (int)(p->expected_nacks - p->nacks) : 1;
    s->stats.awareness = sr_swim_awareness_apply(s->stats.awareness, delta, s->cfg.awareness_max);
    uint32_t id = sr_swim_members_find(&s->mem, p->target, strlen(p->target));
    /* only the incarnation we probed is in doubt: a newer one (it refuted or
     * restarted meanwhile) has not failed anything yet */
    if (id != SR_SWIM_NONE && id != s->self_id && s->mem.recs[id].incarnation == p->incarnation)
        sr_swim_suspect(s, id, now);
}

static void run_probe(struct sr_swim *s, sr_time_us now)
{
    struct sr_swim_probe *p = &s->probe;
    if (p->active && !p->reqs_sent && now >= p->req_at && now < p->end_at)
        probe_send_reqs(s, now);
    if (p->active && now >= p->end_at)
        probe_finish(s, now);
    if (!p->active && !s->leaving && now >= s->next_probe_at)
        probe_start(s, now);
}

static void on_ack(struct sr_swim *s, const char *from, const struct sr_swim_msg *m, sr_time_us now)
{
    struct sr_swim_probe *p = &s->probe;
    if (p->active && m->seq == p->seq) {
        p->active = false;
        s->stats.awareness = sr_swim_awareness_apply(s->stats.awareness, -1, s->cfg.awareness_max);
    }
    for (int i = 0; i < SR_SWIM_RELAYS_MAX; i++) {
        struct sr_swim_relay *r = &s->relays[i];
        if (r->used && r->seq == m->seq) {
            r->used = false;
            send_simple(s, r->origin, SR_SWIM_MSG_ACK, r->origin_seq, 0);
        }
    }
    bool sync = false, joined = false;
    if (s->joining && m->seq == s->join_seq) {
        s->joining = false;
        joined = true;
        SR_INFO(s->log, "swim.join_ok", "seed=%s round=%u", from, s->join_round);
        sync = true;
    } else if (m->seq == s->heal_seq && s->heal_seq != 0) {
        s->heal_seq = 0; /* a "dead" address answered: the partition may be over */
        sync = true;
    } else if (m->checksum != s->mem.checksum && !(m->flags & SR_SWIM_FLAG_PENDING) &&
               s->dis.count == 0 &&
               (!s->synced_once || now - s->last_sync_at >= ms(s->cfg.full_sync_interval_ms))) {
        sync = true; /* views differ and no update in flight explains it */
    }
    if (sync && s->vt.full_sync) {
        /* The join's sync does not hold back the first anti-entropy one: a
         * node that joined while others' news was still spreading may have
         * missed some, and should not wait a whole interval to find out. */
        if (!joined) {
            s->synced_once = true;
            s->last_sync_at = now;
        }
        s->stats.full_syncs_requested++;
        s->vt.full_sync(s->ctx, from);
    }
}

static void on_ping_req(struct sr_swim *s, const char *from, const struct sr_swim_msg *m,
                        sr_time_us now)
{
    struct sr_swim_relay *r = NULL;
    for (int i = 0; i < SR_SWIM_RELAYS_MAX && r == NULL; i++)
        if (!s->relays[i].used)
            r = &s->relays[i];
    if (r == NULL)
        return; /* busy: the requester counts a missing nack against itself */
    uint32_t t = m->timeout_ms ? m->timeout_ms : s->cfg.ping_timeout_ms;
    r->used = true;
    r->nacked = false;
    snprintf(r->origin, sizeof(r->origin), "%s", from);
    r->origin_seq = m->seq;
    r->seq = ++s->seq;
    r->nack_at = now + ms(t) * 4 / 5; /* answer before the requester gives up */
    r->expire_at = now + ms(t);
    char target[SR_SWIM_ADDR_MAX];
    memcpy(target, m->target, m->target_len);
    target[m->target_len] = '\0';
    send_simple(s, target, SR_SWIM_MSG_PING, r->seq, 0);
}

static void run_relays(struct sr_swim *s, sr_time_us now)
{
    for (int i = 0; i < SR_SWIM_RELAYS_MAX; i++) {
        struct sr_swim_relay *r = &s->relays[i];
        if (!r->used)
            continue;
        if (!r->nacked && now >= r->nack_at) {
            r->nacked = true;
            send_simple(s, r->origin, SR_SWIM_MSG_NACK, r->origin_seq, 0);
        }
        if (now >= r->expire_at)
            r->used = false;
    }
}

/* ---- timers: suspicions, tombstones, gossip, heal, join ---- */

static void run_suspicions(struct sr_swim *s, sr_time_us now)
{
    if (now < s->next_susp_at)
        return;
    s->next_susp_at = SR_SWIM_NEVER;
    for (uint32_t i = s->mem.nsuspects; i-- > 0;) {
        if (i >= s->mem.nsuspects)
            continue;
        uint32_t id = s->mem.suspects[i];
        struct sr_swim_suspicion *sp = s->mem.recs[id].susp;
        if (sp == NULL)
            continue;
        if (now >= sp->deadline)
            sr_swim_declare_faulty(s, id, now);
        else
            sr_swim_note_deadline(&s->next_susp_at, sp->deadline);
    }
}

static void run_reap(struct sr_swim *s, sr_time_us now)
{
    if (now < s->next_reap_at)
        return;
    s->next_reap_at = SR_SWIM_NEVER;
    sr_time_us keep = ms(s->cfg.tombstone_ms);
    for (uint32_t i = s->mem.ntombs; i-- > 0;) {
        if (i >= s->mem.ntombs)
            continue;
        uint32_t id = s->mem.tombs[i];
        uint32_t st = s->mem.recs[id].status;
        sr_time_us due = s->mem.recs[id].changed_at +
                         (st == SR_SWIM_TOMBSTONE ? ms(s->cfg.tombstone_evict_ms) : keep);
        if (now < due) {
            sr_swim_note_deadline(&s->next_reap_at, due);
            continue;
        }
        if (st == SR_SWIM_FAULTY && s->cfg.tombstone_evict_ms) {
            sr_swim_entomb(s, id, now); /* ringpop: faulty -> tombstone, then evicted */
            continue;
        }
        SR_INFO(s->log, "swim.removed", "addr=%s", s->mem.recs[id].addr);
        sr_swim_emit(s, SR_SWIM_EV_REMOVED, id);
        sr_swim_dissem_drop(&s->dis, &s->mem, id);
        sr_swim_members_remove(&s->mem, id);
    }
}

static void run_gossip(struct sr_swim *s, sr_time_us now)
{
    if (s->cfg.gossip_interval_ms == 0 || s->dis.count == 0 || now < s->next_gossip_at)
        return;
    s->next_gossip_at = now + ms(s->cfg.gossip_interval_ms);
    s->last_gossip_at = now;
    uint32_t peers[64];
    size_t want = s->cfg.gossip_fanout < 64 ? s->cfg.gossip_fanout : 64;
    size_t n = pick_random(s, SR_SWIM_NONE, peers, want);
    for (size_t i = 0; i < n && s->dis.count > 0; i++)
        sr_swim_send_gossip(s, s->mem.recs[peers[i]].addr, SR_SWIM_NONE);
}

/* A seed we do not see alive (forgotten after a long partition, or never
 * met), or NULL. */
static const char *lost_seed(struct sr_swim *s)
{
    if (s->nseeds == 0)
        return NULL;
    const char *seed = s->seeds[rnd(s) % s->nseeds];
    uint32_t id = sr_swim_members_find(&s->mem, seed, strlen(seed));
    return id == SR_SWIM_NONE || !is_live(s->mem.recs[id].status) ? seed : NULL;
}

/* Heal: ping a random faulty address now and then, or a seed we lost; an
 * answer means the network is back, and a full sync merges the two sides. */
static void run_heal(struct sr_swim *s, sr_time_us now)
{
    if (now < s->next_heal_at)
        return;
    s->next_heal_at = now + ms(s->cfg.heal_probe_ms); /* first: no busy loop */
    if (s->leaving || s->joining)
        return;
    const char *to = NULL;
    bool tombs = s->mem.counts[SR_SWIM_FAULTY] > 0;
    if (!tombs || rnd(s) % 4 == 0) /* tombstones reaped: the seeds remain */
        to = lost_seed(s);
    for (int tries = 0; to == NULL && tombs && tries < 4; tries++) {
        uint32_t id = s->mem.tombs[rnd(s) % s->mem.ntombs];
        if (s->mem.recs[id].status == SR_SWIM_FAULTY)
            to = s->mem.recs[id].addr;
    }
    if (to == NULL)
        return;
    s->heal_seq = ++s->seq;
    send_simple(s, to, SR_SWIM_MSG_PING, s->heal_seq, 0);
}

static void join_round(struct sr_swim *s, sr_time_us now)
{
    s->join_seq = ++s->seq;
    s->join_round++;
    s->join_next_at = now + ms(s->join_backoff_ms);
    for (size_t i = 0; i < s->nseeds; i++)
        send_simple(s, s->seeds[i], SR_SWIM_MSG_PING, s->join_seq, SR_SWIM_FLAG_JOIN);
}

static void run_join(struct sr_swim *s, sr_time_us now)
{
    if (!s->joining || now < s->join_next_at)
        return;
    SR_WARN(s->log, "swim.join_retry", "round=%u seeds=%zu next_ms=%u", s->join_round,
            s->nseeds, s->join_backoff_ms);
    uint64_t next = (uint64_t)s->join_backoff_ms * 2;
    s->join_backoff_ms = next > s->cfg.join_retry_max_ms ? s->cfg.join_retry_max_ms : (uint32_t)next;
    join_round(s, now);
}

/* ---- the one timer ---- */

static sr_time_us next_deadline(const struct sr_swim *s)
{
    sr_time_us t = SR_SWIM_NEVER;
    const struct sr_swim_probe *p = &s->probe;
    if (s->started && !s->leaving && !p->active) /* an active probe ends first */
        sr_swim_note_deadline(&t, s->next_probe_at);
    if (p->active)
        sr_swim_note_deadline(&t, p->reqs_sent ? p->end_at : p->req_at);
    for (int i = 0; i < SR_SWIM_RELAYS_MAX; i++)
        if (s->relays[i].used)
            sr_swim_note_deadline(&t, s->relays[i].nacked ? s->relays[i].expire_at
                                                           : s->relays[i].nack_at);
    if (s->mem.nsuspects)
        sr_swim_note_deadline(&t, s->next_susp_at);
    if (s->mem.ntombs)
        sr_swim_note_deadline(&t, s->next_reap_at);
    if (s->dis.count && s->cfg.gossip_interval_ms)
        sr_swim_note_deadline(&t, s->next_gossip_at);
    if ((s->mem.counts[SR_SWIM_FAULTY] || s->nseeds) && s->started && !s->leaving && !s->joining)
        sr_swim_note_deadline(&t, s->next_heal_at);
    if (s->joining)
        sr_swim_note_deadline(&t, s->join_next_at);
    return t;
}

/* End of every entry point: report the checksum, ask for the next tick. */
static void finish_call(struct sr_swim *s)
{
    sr_swim_emit_checksum(s);
    sr_time_us t = next_deadline(s);
    if (t != SR_SWIM_NEVER && t != s->scheduled_at) {
        s->scheduled_at = t;
        s->vt.schedule(s->ctx, t);
    }
}

int sr_swim_start(struct sr_swim *s)
{
    if (s->started)
        return SR_EINVAL;
    sr_time_us now = sr_swim_now(s);
    s->started = true;
    s->mem.recs[s->self_id].changed_at = now;
    /* a random phase, so nodes started together do not probe in lockstep */
    s->next_probe_at = now + rnd(s) % ms(s->cfg.period_ms);
    s->next_gossip_at = now;
    s->next_heal_at = now + ms(s->cfg.heal_probe_ms);
    finish_call(s);
    return 0;
}

int sr_swim_join(struct sr_swim *s, const char *const *seeds, size_t nseeds)
{
    const char *me = s->mem.recs[s->self_id].addr;
    for (size_t i = 0; i < s->nseeds; i++)
        free(s->seeds[i]);
    free(s->seeds);
    s->nseeds = 0;
    s->seeds = calloc(nseeds ? nseeds : 1, sizeof(*s->seeds));
    if (s->seeds == NULL)
        return SR_ENOMEM;
    for (size_t i = 0; i < nseeds; i++) {
        if (seeds[i] == NULL || strcmp(seeds[i], me) == 0 || seeds[i][0] == '\0' ||
            strlen(seeds[i]) >= SR_SWIM_ADDR_MAX)
            continue;
        if ((s->seeds[s->nseeds] = strdup(seeds[i])) == NULL)
            return SR_ENOMEM;
        s->nseeds++;
    }
    if (s->nseeds == 0)
        return 0; /* the first node: nobody to join */
    s->joining = true;
    s->join_round = 0;
    s->join_backoff_ms = s->cfg.join_retry_min_ms;
    join_round(s, sr_swim_now(s));
    finish_call(s);
    return 0;
}

void sr_swim_tick(struct sr_swim *s)
{
    sr_time_us now = sr_swim_now(s);
    if (now >= s->scheduled_at)
        s->scheduled_at = SR_SWIM_NEVER; /* that request has fired */
    run_join(s, now);
    if (s->started) {
        run_probe(s, now);
        run_heal(s, now);
    }
    run_relays(s, now);
    run_suspicions(s, now);
    run_reap(s, now);
    run_gossip(s, now);
    finish_call(s);
}

static int count_drop(struct sr_swim *s, int rc)
{
    switch (rc) {
    case SR_ETRUNC: s->stats.drop_truncated++; break;
    case SR_EVERSION: s->stats.drop_version++; break;
    case SR_ECHECKSUM: s->stats.drop_checksum++; break;
    case SR_ETOOBIG: s->stats.drop_oversize++; break;
    default: s->stats.drop_malformed++; break;
    }
    return rc;
}

int sr_swim_receive(struct sr_swim *s, const char *from, const void *data, size_t len)
{
    struct sr_swim_msg m;
    s->stats.packets_in++;
    s->stats.bytes_in += len;
    if (len > s->cfg.mtu)
        return count_drop(s, SR_ETOOBIG);
    int rc = sr_swim_wire_decode(data, len, &m, s->ups, s->capups);
    if (rc < 0) {
        SR_DEBUG(s->log, "swim.drop", "from=%s err=%s", from, sr_err_name(rc));
        return count_drop(s, rc);
    }
    sr_time_us now = sr_swim_now(s);
    s->refuted = false;
    s->stats.updates_received += m.nupdates;
    for (size_t i = 0; i < m.nupdates; i++)
        sr_swim_apply(s, &s->ups[i], NULL, now);
    switch (m.type) {
    case SR_SWIM_MSG_PING:
        send_simple(s, from, SR_SWIM_MSG_ACK, m.seq, m.flags & SR_SWIM_FLAG_JOIN);
        break;
    case SR_SWIM_MSG_ACK:
        on_ack(s, from, &m, now);
        break;
    case SR_SWIM_MSG_PING_REQ:
        on_ping_req(s, from, &m, now);
        break;
    case SR_SWIM_MSG_NACK:
        if (s->probe.active && m.seq == s->probe.seq && ++s->probe.nacks >= s->probe.expected_nacks &&
            s->cfg.ping_req_timeout_ms && s->probe.reqs_sent)
            s->probe.end_at = now; /* ringpop: every relay said no, suspect now */
        break;
    default:
        break;
    }
    /* the accuser should hear our refutation now, not by chance later */
    if (s->refuted && m.type != SR_SWIM_MSG_PING && !s->cfg.plain_dissemination)
        sr_swim_send_gossip(s, from, s->self_id);
    finish_call(s);
    return 0;
}

int sr_swim_leave(struct sr_swim *s)
{
    if (s->leaving)
        return 0;
    s->leaving = true;
    s->probe.active = false;
    sr_time_us now = sr_swim_now(s);
    struct sr_swim_rec *me = &s->mem.recs[s->self_id];
    sr_swim_members_set(&s->mem, s->self_id, SR_SWIM_LEFT, me->incarnation + 1);
    s->mem.recs[s->self_id].changed_at = now;
    sr_swim_queue_rec(s, s->self_id, NULL);
    SR_INFO(s->log, "swim.leave", "inc=%llu", (unsigned long long)me->incarnation);
    sr_swim_emit(s, SR_SWIM_EV_LEFT, s->self_id);
    uint32_t peers[64];
    size_t want = (size_t)s->cfg.gossip_fanout * 2 + s->cfg.ping_req_k;
    size_t n = pick_random(s, SR_SWIM_NONE, peers, want < 64 ? want : 64);
    for (size_t i = 0; i < n; i++)
        sr_swim_send_gossip(s, s->mem.recs[peers[i]].addr, s->self_id);
    finish_call(s);
    return 0;
}

size_t sr_swim_reap_faulty(struct sr_swim *s)
{
    size_t n = 0;
    if (!s->cfg.tombstone_evict_ms)
        return 0;
    sr_time_us now = sr_swim_now(s);
    for (uint32_t i = s->mem.ntombs; i-- > 0;) {
        if (i >= s->mem.ntombs)
            continue;
        uint32_t id = s->mem.tombs[i];
        if (s->mem.recs[id].status == SR_SWIM_FAULTY) {
            sr_swim_entomb(s, id, now);
            n++;
        }
    }
    finish_call(s);
    return n;
}

int sr_swim_set_incarnation(struct sr_swim *s, uint64_t inc)
{
    if (s->started)
        return SR_EINVAL;
    sr_swim_members_set(&s->mem, s->self_id, SR_SWIM_ALIVE, inc);
    return 0;
}

void sr_swim_set_labels_rank(struct sr_swim *s, sr_swim_labels_rank_f fn) { s->labels_rank = fn; }

void sr_swim_probe_now(struct sr_swim *s)
{
    if (!s->started || s->leaving || s->probe.active)
        return;
    sr_time_us now = sr_swim_now(s);
    s->next_probe_at = now;
    run_probe(s, now);
    finish_call(s);
}

void sr_swim_announce(struct sr_swim *s)
{
    sr_swim_queue_rec(s, s->self_id, NULL);
    finish_call(s);
}

void sr_swim_unreachable(struct sr_swim *s, const char *addr)
{
    struct sr_swim_probe *p = &s->probe;
    if (!p->active || p->reqs_sent || strcmp(p->target, addr) != 0)
        return;
    sr_time_us now = sr_swim_now(s);
    if (now < p->end_at)
        probe_send_reqs(s, now);
    finish_call(s);
}

int sr_swim_rejoin(struct sr_swim *s)
{
    if (!s->leaving)
        return 0;
    s->leaving = false;
    sr_swim_refute(s, s->mem.recs[s->self_id].incarnation); /* alive at inc + 1, queued */
    s->next_probe_at = sr_swim_now(s);
    sr_swim_emit(s, SR_SWIM_EV_RECOVERED, s->self_id);
    finish_call(s);
    return 0;
}

int sr_swim_set_label(struct sr_swim *s, const char *key, const char *value)
{
    if (key == NULL || key[0] == '\0')
        return SR_EINVAL;
    if (strlen(key) >= SR_SWIM_LABEL_MAX || (value && strlen(value) >= SR_SWIM_LABEL_MAX))
        return SR_ETOOBIG;
    struct sr_swim_rec *me = &s->mem.recs[s->self_id];
    struct sr_swim_label l[SR_SWIM_LABELS_MAX];
    size_t n = 0, at = SIZE_MAX;
    memset(l, 0, sizeof(l));
    for (size_t i = 0; i < me->nlabels; i++) {
        l[n] = me->labels[i];
        if (strcmp(l[n].key, key) == 0)
            at = n;
        n++;
    }
    if (value == NULL) {
        if (at == SIZE_MAX)
            return 0;
        memmove(&l[at], &l[at + 1], (n - at - 1) * sizeof(l[0]));
        memset(&l[--n], 0, sizeof(l[0]));
    } else {
        if (at == SIZE_MAX) {
            if (n == SR_SWIM_LABELS_MAX)
                return SR_EFULL;
            at = n++;
            snprintf(l[at].key, sizeof(l[at].key), "%s", key);
        } else if (strcmp(l[at].value, value) == 0) {
            return 0;
        }
        memset(l[at].value, 0, sizeof(l[at].value));
        snprintf(l[at].value, sizeof(l[at].value), "%s", value);
    }
    int rc = sr_swim_members_set_labels(&s->mem, s->self_id, l, n);
    if (rc < 0 || !s->started)
        return rc;
    /* a label change is news: a higher incarnation makes it win everywhere */
    sr_swim_members_set(&s->mem, s->self_id, me->status, me->incarnation + 1);
    sr_swim_queue_rec(s, s->self_id, NULL);
    sr_swim_emit(s, SR_SWIM_EV_LABELS, s->self_id);
    finish_call(s);
    return 0;
}

/* ---- queries ---- */

const char *sr_swim_self(const struct sr_swim *s) { return s->mem.recs[s->self_id].addr; }
uint64_t sr_swim_checksum(const struct sr_swim *s) { return s->mem.checksum; }
size_t sr_swim_size(const struct sr_swim *s) { return s->mem.used; }
const struct sr_swim_stats *sr_swim_stats(const struct sr_swim *s) { return &s->stats; }

size_t sr_swim_count(const struct sr_swim *s, enum sr_swim_status st)
{
    return (unsigned)st <= SR_SWIM_TOMBSTONE ? s->mem.counts[st] : 0;
}

int sr_swim_member(const struct sr_swim *s, const char *addr, struct sr_swim_member_info *out)
{
    uint32_t id = sr_swim_members_find(&s->mem, addr, strlen(addr));
    if (id == SR_SWIM_NONE)
        return SR_ENOTFOUND;
    sr_swim_fill_info(s, id, out);
    return 0;
}

void sr_swim_foreach(const struct sr_swim *s, sr_swim_member_f fn, void *ud)
{
    struct sr_swim_member_info info;
    for (uint32_t i = 0; i < s->mem.nrecs; i++) {
        if (!s->mem.recs[i].used)
            continue;
        sr_swim_fill_info(s, i, &info);
        fn(ud, &info);
    }
}
