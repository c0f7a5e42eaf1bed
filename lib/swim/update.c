/* Applying membership changes: the incarnation/status precedence rules,
 * suspicion with Lifeguard confirmations, refutation, events and queueing
 * of what changed for dissemination.
 *
 * Precedence (memberlist's rules in one table): a higher incarnation always
 * wins; at equal incarnation alive < suspect < faulty < left. A suspicion
 * at the same incarnation from another member is a confirmation. Updates
 * about unknown members create a record only when they say alive. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "swimring/error.h"
#include "swim/lifeguard.h"
#include "swim/swim_impl.h"

sr_time_us sr_swim_now(struct sr_swim *s) { return s->vt.now(s->ctx); }

uint32_t sr_swim_live_count(const struct sr_swim *s)
{
    return s->mem.counts[SR_SWIM_ALIVE] + s->mem.counts[SR_SWIM_SUSPECT];
}

void sr_swim_fill_info(const struct sr_swim *s, uint32_t id, struct sr_swim_member_info *out)
{
    const struct sr_swim_rec *r = &s->mem.recs[id];
    out->addr = r->addr;
    out->name = r->name;
    out->incarnation = r->incarnation;
    out->status = (enum sr_swim_status)r->status;
    out->changed_at = r->changed_at;
    out->labels = r->labels;
    out->nlabels = r->nlabels;
    out->is_self = r->is_self;
}

void sr_swim_emit(struct sr_swim *s, enum sr_swim_event_type type, uint32_t id)
{
    if (s->vt.event == NULL)
        return;
    struct sr_swim_member_info info;
    sr_swim_fill_info(s, id, &info);
    struct sr_swim_event ev = {type, &info, s->mem.checksum};
    s->vt.event(s->ctx, &ev);
}

void sr_swim_emit_checksum(struct sr_swim *s)
{
    if (s->mem.checksum == s->reported_checksum)
        return;
    s->reported_checksum = s->mem.checksum;
    if (s->vt.event == NULL)
        return;
    struct sr_swim_event ev = {SR_SWIM_EV_CHECKSUM, NULL, s->mem.checksum};
    s->vt.event(s->ctx, &ev);
}

int sr_swim_encode_rec(struct sr_swim *s, uint32_t id, const char *from)
{
    const struct sr_swim_rec *r = &s->mem.recs[id];
    struct sr_mp_writer w;
    bool alive = r->status == SR_SWIM_ALIVE || s->cfg.labels_every_state;
    sr_buf_reset(&s->tmp);
    sr_mp_writer_init(&w, &s->tmp);
    sr_swim_wire_put_update(&w, r->addr, r->name, r->incarnation, r->status,
                            alive ? r->labels : NULL, alive ? r->nlabels : 0,
                            r->status == SR_SWIM_SUSPECT || r->status == SR_SWIM_FAULTY ||
                                    r->status == SR_SWIM_TOMBSTONE ? from : NULL);
    return sr_mp_writer_error(&w);
}

/* Fresh news leaves a quarter interval after the last gossip round rather
 * than up to a whole interval later, so a mass join spreads in hops of
 * milliseconds; the quarter bounds the rounds per second while news keeps
 * coming. The caller's entry point reschedules the timer (finish_call). */
static void gossip_soon(struct sr_swim *s)
{
    if (s->cfg.gossip_interval_ms == 0 || !s->started)
        return;
    sr_time_us now = sr_swim_now(s);
    sr_time_us soon = s->last_gossip_at + (sr_time_us)s->cfg.gossip_interval_ms * SR_US_PER_MS / 4;
    if (soon < now)
        soon = now;
    if (soon < s->next_gossip_at)
        s->next_gossip_at = soon;
}

void sr_swim_queue_rec(struct sr_swim *s, uint32_t id, const char *from)
{
    uint32_t sent = 0;
    if (s->merging && id != s->self_id && s->cfg.quiet_sync)
        return; /* ringpop: a join list is applied, not spread */
    if (s->merging && id != s->self_id) {
        /* Learned from a full sync: the peer already spreads its own news, so
         * we only relay it a few times (a quarter of the budget). This cuts a
         * mass join's traffic by about 4x; partitions still heal, since every
         * node that learns the news relays it. */
        uint32_t limit = sr_swim_retransmit_limit(s->cfg.retransmit_mult, sr_swim_live_count(s));
        uint32_t keep = limit / 4 ? limit / 4 : 1;
        sent = limit - keep;
    }
    if (sr_swim_encode_rec(s, id, from) == 0 &&
        sr_swim_dissem_queue(&s->dis, &s->mem, id, s->tmp.data, s->tmp.len, sent) == 0)
        gossip_soon(s);
}

static const char *self_addr(struct sr_swim *s) { return s->mem.recs[s->self_id].addr; }

static void start_suspicion(struct sr_swim *s, struct sr_swim_rec *r, uint64_t from_hash,
                            sr_time_us now)
{
    struct sr_swim_suspicion *sp = r->susp;
    if (sp == NULL) {
        sp = calloc(1, sizeof(*sp));
        if (sp == NULL)
            return; /* no timer: the member stays suspect until refuted or synced */
        r->susp = sp;
    }
    uint32_t n = sr_swim_live_count(s);
    sr_time_us period = (sr_time_us)s->cfg.period_ms * SR_US_PER_MS;
    memset(sp, 0, sizeof(*sp));
    sp->start = now;
    sp->k = sr_swim_suspicion_k(s->cfg.suspicion_min_mult, n);
    sp->min = sr_swim_suspicion_min_us(s->cfg.suspicion_min_mult, n, period);
    sp->max = sr_swim_suspicion_max_us(s->cfg.suspicion_max_mult, sp->min);
    sp->deadline = now + sr_swim_suspicion_timeout_us(0, sp->k, sp->min, sp->max);
    sp->from[sp->nfrom++] = from_hash;
    sr_swim_note_deadline(&s->next_susp_at, sp->deadline);
}

/* A distinct suspector confirms: the timeout shrinks. True if it counted. */
static bool confirm(struct sr_swim *s, struct sr_swim_rec *r, uint64_t from_hash)
{
    struct sr_swim_suspicion *sp = r->susp;
    if (sp == NULL || sp->confirmations >= sp->k)
        return false;
    for (uint32_t i = 0; i < sp->nfrom; i++)
        if (sp->from[i] == from_hash)
            return false;
    if (sp->nfrom < SR_SWIM_SUSP_FROM_MAX)
        sp->from[sp->nfrom++] = from_hash;
    sp->confirmations++;
    sp->deadline = sp->start + sr_swim_suspicion_timeout_us(sp->confirmations, sp->k,
                                                            sp->min, sp->max);
    sr_swim_note_deadline(&s->next_susp_at, sp->deadline);
    return true;
}

static void drop_suspicion(struct sr_swim_rec *r)
{
    free(r->susp);
    r->susp = NULL;
}

void sr_swim_refute(struct sr_swim *s, uint64_t inc)
{
    struct sr_swim_rec *me = &s->mem.recs[s->self_id];
    uint64_t next = (inc > me->incarnation ? inc : me->incarnation) + 1;
    uint32_t st = s->leaving ? SR_SWIM_LEFT : SR_SWIM_ALIVE;
    sr_swim_members_set(&s->mem, s->self_id, st, next);
    sr_swim_queue_rec(s, s->self_id, NULL);
    s->refuted = true;
    if (!s->leaving) {
        s->stats.refutations++;
        /* having to refute means others could not reach us in time */
        s->stats.awareness = sr_swim_awareness_apply(s->stats.awareness, 1, s->cfg.awareness_max);
        SR_INFO(s->log, "swim.refute", "inc=%llu", (unsigned long long)next);
    }
}

/* labels_rank: true if the update's labels outrank the record's. */
static bool labels_outrank(struct sr_swim *s, const struct sr_swim_rec *r,
                           const struct sr_swim_update *u)
{
    if (s->labels_rank == NULL)
        return false;
    struct sr_swim_label labels[SR_SWIM_LABELS_MAX];
    memset(labels, 0, sizeof(labels));
    size_t nl = sr_swim_wire_labels(u, labels);
    return s->labels_rank(s->ctx, labels, nl) > s->labels_rank(s->ctx, r->labels, r->nlabels);
}

static void apply_self(struct sr_swim *s, const struct sr_swim_update *u)
{
    const struct sr_swim_rec *me = &s->mem.recs[s->self_id];
    if (s->leaving) {
        if (u->status != SR_SWIM_LEFT && u->incarnation >= me->incarnation)
            sr_swim_refute(s, u->incarnation); /* re-assert that we left */
        return;
    }
    if (u->incarnation < me->incarnation)
        return;
    if (u->status == SR_SWIM_ALIVE && u->incarnation == me->incarnation &&
        !labels_outrank(s, me, u))
        return;
    /* suspect/faulty/left about us, or an alive from a previous life */
    sr_swim_refute(s, u->incarnation);
}

static bool labels_equal(const struct sr_swim_rec *r, const struct sr_swim_label *l, size_t n)
{
    return r->nlabels == n && (n == 0 || memcmp(r->labels, l, n * sizeof(*l)) == 0);
}

static void apply_new(struct sr_swim *s, const struct sr_swim_update *u, sr_time_us now)
{
    struct sr_swim_label labels[SR_SWIM_LABELS_MAX];
    memset(labels, 0, sizeof(labels));
    size_t nl = sr_swim_wire_labels(u, labels);
    uint32_t id = sr_swim_members_add(&s->mem, u->addr, u->addr_len, u->name, u->name_len,
                                      u->incarnation, false, s->vt.random(s->ctx));
    if (id == SR_SWIM_NONE)
        return;
    sr_swim_members_set_labels(&s->mem, id, labels, nl);
    s->mem.recs[id].changed_at = now;
    s->mem.recs[id].damp = true;
    sr_swim_queue_rec(s, id, NULL);
    SR_INFO(s->log, "swim.joined", "addr=%s inc=%llu", s->mem.recs[id].addr,
            (unsigned long long)u->incarnation);
    sr_swim_emit(s, SR_SWIM_EV_JOINED, id);
}

static void accept_alive(struct sr_swim *s, uint32_t id, const struct sr_swim_update *u,
                         sr_time_us now)
{
    struct sr_swim_rec *r = &s->mem.recs[id];
    struct sr_swim_label labels[SR_SWIM_LABELS_MAX];
    memset(labels, 0, sizeof(labels));
    size_t nl = sr_swim_wire_labels(u, labels);
    uint32_t old = r->status;
    bool relabel = !labels_equal(r, labels, nl);
    sr_swim_members_set(&s->mem, id, SR_SWIM_ALIVE, u->incarnation);
    sr_swim_members_set_name(&s->mem, id, u->name, u->name_len);
    if (relabel)
        sr_swim_members_set_labels(&s->mem, id, labels, nl);
    drop_suspicion(r);
    /* a refutation must reach every doubter, echoes or not: full budget */
    r->damp = old == SR_SWIM_ALIVE;
    sr_swim_queue_rec(s, id, NULL);
    if (old != SR_SWIM_ALIVE) {
        r->changed_at = now;
        SR_INFO(s->log, "swim.recovered", "addr=%s inc=%llu", r->addr,
                (unsigned long long)u->incarnation);
        sr_swim_emit(s, SR_SWIM_EV_RECOVERED, id);
    } else if (relabel) {
        sr_swim_emit(s, SR_SWIM_EV_LABELS, id);
    }
}

/* Move a known record to suspect/faulty/left at `inc`, by `from`. */
static void accept_down(struct sr_swim *s, uint32_t id, uint32_t st, uint64_t inc,
                        const char *from, uint64_t from_hash, sr_time_us now,
                        const struct sr_swim_label *labels, size_t nlabels)
{
    struct sr_swim_rec *r = &s->mem.recs[id];
    uint32_t old = r->status;
    sr_swim_members_set(&s->mem, id, st, inc);
    r = &s->mem.recs[id];
    r->damp = false;
    if (labels != NULL && s->cfg.labels_every_state &&
        !labels_equal(r, labels, nlabels))
        sr_swim_members_set_labels(&s->mem, id, labels, nlabels);
    if (st == SR_SWIM_SUSPECT)
        start_suspicion(s, r, from_hash, now);
    else
        drop_suspicion(r);
    if (st == SR_SWIM_FAULTY || st == SR_SWIM_LEFT)
        sr_swim_note_deadline(&s->next_reap_at, now + (sr_time_us)s->cfg.tombstone_ms * SR_US_PER_MS);
    else if (st == SR_SWIM_TOMBSTONE)
        sr_swim_note_deadline(&s->next_reap_at,
                              now + (sr_time_us)s->cfg.tombstone_evict_ms * SR_US_PER_MS);
    sr_swim_queue_rec(s, id, from);
    if (old == st)
        return;
    r->changed_at = now;
    if (st == SR_SWIM_SUSPECT) {
        s->stats.suspicions++;
        SR_INFO(s->log, "swim.suspect", "addr=%s inc=%llu from=%s", r->addr,
                (unsigned long long)inc, from ? from : "");
        sr_swim_emit(s, SR_SWIM_EV_SUSPECT, id);
    } else if (st == SR_SWIM_FAULTY) {
        SR_WARN(s->log, "swim.faulty", "addr=%s inc=%llu", r->addr, (unsigned long long)inc);
        sr_swim_emit(s, SR_SWIM_EV_FAULTY, id);
    } else if (st == SR_SWIM_TOMBSTONE) {
        /* off the ring like a faulty member; no event if it already was */
        SR_INFO(s->log, "swim.tombstone", "addr=%s inc=%llu", r->addr, (unsigned long long)inc);
        if (old == SR_SWIM_ALIVE || old == SR_SWIM_SUSPECT)
            sr_swim_emit(s, SR_SWIM_EV_FAULTY, id);
    } else {
        SR_INFO(s->log, "swim.left", "addr=%s inc=%llu", r->addr, (unsigned long long)inc);
        sr_swim_emit(s, SR_SWIM_EV_LEFT, id);
    }
}

/* ringpop (accept_unknown_down): an unknown member first heard of as
 * suspect, faulty or left is recorded in that state. */
static void apply_new_down(struct sr_swim *s, const struct sr_swim_update *u, uint32_t st,
                           const char *from, uint64_t from_hash, sr_time_us now)
{
    struct sr_swim_label labels[SR_SWIM_LABELS_MAX];
    memset(labels, 0, sizeof(labels));
    size_t nl = sr_swim_wire_labels(u, labels);
    uint32_t id = sr_swim_members_add(&s->mem, u->addr, u->addr_len, u->name, u->name_len,
                                      u->incarnation, false, s->vt.random(s->ctx));
    if (id == SR_SWIM_NONE)
        return;
    sr_swim_members_set_labels(&s->mem, id, labels, nl);
    accept_down(s, id, st, u->incarnation, from, from_hash, now, NULL, 0);
}

void sr_swim_apply(struct sr_swim *s, const struct sr_swim_update *u, const char *sync_from,
                   sr_time_us now)
{
    uint32_t id = sr_swim_members_find(&s->mem, u->addr, u->addr_len);
    /* tombstones exist only with tombstone_evict_ms, and never for members
     * we did not know (ringpop) */
    if (u->status == SR_SWIM_TOMBSTONE && (!s->cfg.tombstone_evict_ms || id == SR_SWIM_NONE))
        return;
    if (id == s->self_id) {
        apply_self(s, u);
        return;
    }
    if (id == SR_SWIM_NONE && u->status == SR_SWIM_ALIVE) {
        apply_new(s, u, now);
        return;
    }
    if (id == SR_SWIM_NONE && !s->cfg.accept_unknown_down)
        return;
    uint32_t st = u->status;
    char from[SR_SWIM_ADDR_MAX];
    if (sync_from != NULL && st == SR_SWIM_FAULTY && !s->cfg.quiet_sync) {
        /* a peer's verdict in a full sync is only a suspicion for us: it gives
         * the member time to refute (memberlist mergeState does the same) */
        st = SR_SWIM_SUSPECT;
        snprintf(from, sizeof(from), "%s", sync_from);
    } else if (u->from != NULL) {
        memcpy(from, u->from, u->from_len);
        from[u->from_len] = '\0';
    } else {
        from[0] = '\0';
    }
    uint64_t fh = sr_swim_hash_str(from, strlen(from));
    if (id == SR_SWIM_NONE) {
        apply_new_down(s, u, st, from, fh, now);
        return;
    }
    struct sr_swim_rec *r = &s->mem.recs[id];
    if (u->incarnation < r->incarnation)
        return;
    if (u->incarnation == r->incarnation && st == r->status && labels_outrank(s, r, u)) {
        /* labels_rank: the same version with preferred labels wins */
        if (st == SR_SWIM_ALIVE) {
            accept_alive(s, id, u, now);
        } else {
            struct sr_swim_label l[SR_SWIM_LABELS_MAX];
            memset(l, 0, sizeof(l));
            size_t n = sr_swim_wire_labels(u, l);
            sr_swim_members_set_labels(&s->mem, id, l, n);
            sr_swim_queue_rec(s, id, from);
        }
        return;
    }
    if (u->incarnation == r->incarnation && st == r->status && r->damp &&
        !s->cfg.plain_dissemination) {
        uint32_t limit = sr_swim_retransmit_limit(s->cfg.retransmit_mult, sr_swim_live_count(s));
        sr_swim_dissem_seen(&s->dis, &s->mem, id, limit);
        return;
    }
    if (u->incarnation == r->incarnation) {
        if (st == SR_SWIM_SUSPECT && r->status == SR_SWIM_SUSPECT) {
            if (confirm(s, r, fh))
                sr_swim_queue_rec(s, id, from); /* spread the confirmation */
            return;
        }
        if (st <= r->status)
            return;
    }
    if (st == SR_SWIM_ALIVE) {
        accept_alive(s, id, u, now);
        return;
    }
    struct sr_swim_label labels[SR_SWIM_LABELS_MAX];
    memset(labels, 0, sizeof(labels));
    size_t nl = sr_swim_wire_labels(u, labels);
    accept_down(s, id, st, u->incarnation, from, fh, now, labels, nl);
}

void sr_swim_suspect(struct sr_swim *s, uint32_t id, sr_time_us now)
{
    struct sr_swim_rec *r = &s->mem.recs[id];
    const char *me = self_addr(s);
    uint64_t fh = s->mem.recs[s->self_id].hash;
    if (r->status == SR_SWIM_SUSPECT) {
        if (confirm(s, r, fh))
            sr_swim_queue_rec(s, id, me);
        return;
    }
    if (r->status == SR_SWIM_ALIVE)
        accept_down(s, id, SR_SWIM_SUSPECT, r->incarnation, me, fh, now, NULL, 0);
}

void sr_swim_declare_faulty(struct sr_swim *s, uint32_t id, sr_time_us now)
{
    struct sr_swim_rec *r = &s->mem.recs[id];
    s->stats.faulty_declared++;
    accept_down(s, id, SR_SWIM_FAULTY, r->incarnation, self_addr(s),
                s->mem.recs[s->self_id].hash, now, NULL, 0);
}

void sr_swim_entomb(struct sr_swim *s, uint32_t id, sr_time_us now)
{
    struct sr_swim_rec *r = &s->mem.recs[id];
    accept_down(s, id, SR_SWIM_TOMBSTONE, r->incarnation, self_addr(s),
                s->mem.recs[s->self_id].hash, now, NULL, 0);
}
