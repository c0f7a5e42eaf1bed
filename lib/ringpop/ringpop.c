/* The ringpop driver: binds the SWIM core to TChannel calls.
 *
 * The core thinks in datagrams; ringpop in request/response calls. The
 * translation (datagram types from lib/swim/wire.h):
 *   core sends PING/GOSSIP to X  -> call X /protocol/ping; the response's
 *                                   changes come back as an ACK (GOSSIP)
 *   core sends PING_REQ to R     -> call R /protocol/ping-req; pingStatus
 *                                   true -> ACK, false -> NACK
 *   /protocol/ping from X        -> a PING from X; the ACK the core sends
 *                                   back at once is the response
 *   /protocol/ping-req from X    -> a PING_REQ from X; the core's later ACK
 *                                   or NACK to X is the response
 *   /protocol/join               -> answered here from the member table;
 *                                   the joiner's record is fed as GOSSIP
 *   join responses               -> their membership fed as GOSSIP
 * Full sync is ringpop's: a ping whose checksum differs from ours while we
 * have nothing to say is answered with every member, and we join the
 * sender (reverse full sync, at most max_reverse_syncs at once). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ringpop/rp_impl.h"
#include "swimring/error.h"
#include "swimring/time.h"

void sr_ringpop_cfg_default(struct sr_ringpop_cfg *cfg)
{
    *cfg = (struct sr_ringpop_cfg){
        .suspect_ms = 5000, .faulty_ms = 24 * 3600 * 1000, .tombstone_ms = 60000,
        .join_size = 6, .max_reverse_syncs = 5,
    };
}

uint64_t rp_self_inc(struct sr_ringpop *rp)
{
    struct sr_swim_member_info m;
    return sr_swim_member(rp->swim, rp->self, &m) == 0 ? m.incarnation : 0;
}

static uint64_t inc_of(struct sr_ringpop *rp, const char *addr)
{
    struct sr_swim_member_info m;
    return sr_swim_member(rp->swim, addr, &m) == 0 ? m.incarnation : 0;
}

/* ---- vtab ---------------------------------------------------------------- */

static sr_time_us vt_now(void *ctx)
{
    (void)ctx;
    return sr_time_mono_us();
}

static uint64_t vt_random(void *ctx)
{
    (void)ctx;
    return (uint64_t)random() << 33 ^ (uint64_t)random() << 2 ^ (uint64_t)random();
}

static void arm(struct sr_ringpop *rp, sr_time_us at)
{
    sr_time_us now = sr_time_mono_us();
    sr_time_us d = at > now ? at - now : 0;
    struct timeval tv = {(time_t)(d / 1000000), (suseconds_t)(d % 1000000)};
    evtimer_add(rp->tick_ev, &tv);
}

static void vt_schedule(void *ctx, sr_time_us at)
{
    struct sr_ringpop *rp = ctx;
    rp->timer_at = at;
    arm(rp, at);
}

static struct rp_ringkey *key_of(struct sr_ringpop *rp, const char *addr)
{
    for (size_t i = 0; i < rp->nkeys; i++)
        if (strcmp(rp->keys[i].addr, addr) == 0)
            return &rp->keys[i];
    return NULL;
}

const char *rp_ring_addr(struct sr_ringpop *rp, const char *key)
{
    for (size_t i = 0; key && i < rp->nkeys; i++)
        if (strcmp(rp->keys[i].key, key) == 0)
            return rp->keys[i].addr;
    return key;
}

static void ring_drop(struct sr_ringpop *rp, const char *addr)
{
    struct rp_ringkey *k = key_of(rp, addr);
    if (k == NULL)
        return;
    sr_ring_remove(rp->ring, k->key);
    *k = rp->keys[--rp->nkeys];
}

/* Put the member on the ring under its current key, or take it off. */
static void ring_sync(struct sr_ringpop *rp, const struct sr_swim_member_info *m)
{
    char want[RP_RINGKEY_MAX];
    snprintf(want, sizeof(want), "%s", m->addr);
    for (size_t i = 0; i < m->nlabels; i++)
        if (strcmp(m->labels[i].key, "__identity") == 0)
            snprintf(want, sizeof(want), "%s#", m->labels[i].value);
    bool on = m->status == SR_SWIM_ALIVE || m->status == SR_SWIM_SUSPECT;
    struct rp_ringkey *k = key_of(rp, m->addr);
    if (k != NULL && on && strcmp(k->key, want) == 0)
        return;
    ring_drop(rp, m->addr);
    if (!on)
        return;
    if (rp->nkeys == rp->capkeys) {
        size_t cap = rp->capkeys ? rp->capkeys * 2 : 16;
        struct rp_ringkey *nk = realloc(rp->keys, cap * sizeof(*nk));
        if (nk == NULL)
            return;
        rp->keys = nk;
        rp->capkeys = cap;
    }
    k = &rp->keys[rp->nkeys++];
    snprintf(k->addr, sizeof(k->addr), "%s", m->addr);
    snprintf(k->key, sizeof(k->key), "%s", want);
    sr_ring_add(rp->ring, k->key, 1.0);
}

static int64_t vt_labels_rank(void *ctx, const struct sr_swim_label *labels, size_t n)
{
    (void)ctx;
    return sr_rp_labels_checksum(labels, n); /* ringpop: higher checksum wins */
}

static void vt_event(void *ctx, const struct sr_swim_event *ev)
{
    struct sr_ringpop *rp = ctx;
    if (ev->member == NULL)
        return;
    if (ev->type == SR_SWIM_EV_REMOVED)
        ring_drop(rp, ev->member->addr);
    else
        ring_sync(rp, ev->member);
    if (rp->ev_cb)
        rp->ev_cb(rp->ev_ud, ev);
}

/* The changes of a decoded datagram as a JSON array. */
static json_t *changes_of(struct sr_ringpop *rp, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++) {
        char src[SR_SWIM_ADDR_MAX];
        const char *source = rp->self;
        if (rp->ups[i].from && rp->ups[i].from_len < sizeof(src)) {
            snprintf(src, sizeof(src), "%.*s", (int)rp->ups[i].from_len, rp->ups[i].from);
            source = src;
        }
        json_array_append_new(a, sr_rp_update_to_change(&rp->ups[i], source,
                                                        inc_of(rp, source)));
    }
    return a;
}

static char *ping_body(struct sr_ringpop *rp, json_t *changes, const char *target)
{
    json_t *o = json_pack("{s:I, s:o, s:s, s:I}", "checksum", (json_int_t)sr_rp_checksum(rp->swim),
                          "changes", changes, "source", rp->self, "sourceIncarnationNumber",
                          (json_int_t)rp_self_inc(rp));
    if (o && target)
        json_object_set_new(o, "target", json_string(target));
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    return s;
}

static struct rp_inbound *find_inbound(struct sr_ringpop *rp, const char *to, uint64_t seq)
{
    for (int i = 0; i < RP_INBOUND_MAX; i++)
        if (rp->inbound[i].used && rp->inbound[i].seq == seq && strcmp(rp->inbound[i].from, to) == 0)
            return &rp->inbound[i];
    return NULL;
}

static void vt_send(void *ctx, const char *to, const void *data, size_t len)
{
    struct sr_ringpop *rp = ctx;
    struct sr_swim_msg m;
    if (sr_swim_wire_decode(data, len, &m, rp->ups, rp->capups) != 0)
        return;
    if ((m.type == SR_SWIM_MSG_ACK) && rp->cap_active && m.seq == rp->cap_seq &&
        strcmp(to, rp->cap_to) == 0) {
        sr_buf_reset(&rp->cap);
        sr_buf_append(&rp->cap, data, len);
        rp->cap_done = true;
        return;
    }
    if (m.type == SR_SWIM_MSG_ACK || m.type == SR_SWIM_MSG_NACK) {
        struct rp_inbound *in = find_inbound(rp, to, m.seq);
        if (in == NULL)
            return;
        json_t *o = json_pack("{s:o, s:b, s:s}", "changes", changes_of(rp, m.nupdates),
                              "pingStatus", m.type == SR_SWIM_MSG_ACK, "target", in->target);
        rp_respond_json(in->conn, in->id, o);
        in->used = false;
        return;
    }
    if ((rp->gossip_stopped && m.type == SR_SWIM_MSG_GOSSIP) || strcmp(to, rp->self) == 0)
        return;
    char target[SR_SWIM_ADDR_MAX] = "";
    if (m.type == SR_SWIM_MSG_PING_REQ && m.target_len < sizeof(target))
        snprintf(target, sizeof(target), "%.*s", (int)m.target_len, m.target);
    char *body = ping_body(rp, changes_of(rp, m.nupdates),
                           m.type == SR_SWIM_MSG_PING_REQ ? target : NULL);
    if (body == NULL)
        return;
    if (m.type == SR_SWIM_MSG_PING_REQ)
        rp_call(rp, to, "/protocol/ping-req", body, RP_K_PING_REQ, m.seq, target);
    else
        rp_call(rp, to, "/protocol/ping", body,
                m.type == SR_SWIM_MSG_PING ? RP_K_PING : RP_K_GOSSIP, m.seq, NULL);
    free(body);
}

static void on_tick(evutil_socket_t fd, short what, void *ud)
{
    (void)fd, (void)what;
    struct sr_ringpop *rp = ud;
    /* libevent's cached loop time may lag: an early timer would find
     * nothing due and the core would not ask again, so re-arm instead */
    if (sr_time_mono_us() < rp->timer_at) {
        arm(rp, rp->timer_at);
        return;
    }
    if (rp->started && !rp->gossip_stopped)
        sr_swim_tick(rp->swim);
}

void rp_kick(struct sr_ringpop *rp)
{
    if (rp->started)
        sr_swim_tick(rp->swim);
}

/* ---- feeding the core ---------------------------------------------------- */

static void feed(struct sr_ringpop *rp, const char *from, uint32_t type, uint64_t seq,
                 const json_t *changes, const char *target)
{
    /* a relay answers "not reachable" after ringpop's ping timeout */
    uint32_t relay_ms = RP_PING_TIMEOUT_MS * 5 / 4;
    if (sr_rp_changes_to_datagram(&rp->dgram, type, seq, sr_swim_checksum(rp->swim), changes,
                                  target, relay_ms, &rp->stats.drops) == 0)
        sr_swim_receive(rp->swim, from, rp->dgram.data, rp->dgram.len);
}

static void start_core(struct sr_ringpop *rp)
{
    if (rp->started)
        return;
    rp->started = true;
    sr_swim_start(rp->swim);
    sr_swim_announce(rp->swim); /* ringpop-go's MakeAlive of itself is gossiped */
}

/* A join list is a full sync: applied as it is, not spread (quiet_sync). */
static void apply_membership(struct sr_ringpop *rp, const char *from, const json_t *membership)
{
    if (sr_rp_changes_to_state(&rp->dgram, from, membership, &rp->stats.drops) == 0)
        sr_swim_merge_state(rp->swim, rp->dgram.data, rp->dgram.len);
}

void rp_feed_gossip(struct sr_ringpop *rp, const char *from, const json_t *changes)
{
    feed(rp, from, SR_SWIM_MSG_GOSSIP, 0, changes, NULL);
}

int rp_ping_with(struct sr_ringpop *rp, const char *target, const json_t *changes, enum rp_kind kind)
{
    char *body = ping_body(rp, json_deep_copy(changes), NULL);
    int rc = body ? rp_call(rp, target, "/protocol/ping", body, kind, 0, NULL) : SR_ENOMEM;
    free(body);
    return rc;
}

static void send_join(struct sr_ringpop *rp, const char *peer, enum rp_kind kind)
{
    (void)rp_join_to(rp, peer, kind);
}

int rp_join_to(struct sr_ringpop *rp, const char *peer, enum rp_kind kind)
{
    json_t *o = json_pack("{s:s, s:s, s:I, s:i}", "app", "ringpop", "source", rp->self,
                          "incarnationNumber", (json_int_t)rp_self_inc(rp), "timeout", 1000);
    struct sr_swim_member_info me;
    if (o && sr_swim_member(rp->swim, rp->self, &me) == 0 && me.nlabels > 0) {
        json_t *l = json_object();
        for (size_t i = 0; i < me.nlabels; i++)
            json_object_set_new(l, me.labels[i].key, json_string(me.labels[i].value));
        json_object_set_new(o, "labels", l);
    }
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    int rc = s ? rp_call(rp, peer, "/protocol/join", s, kind, 0, NULL) : SR_ENOMEM;
    if (rc == 0 && kind == RP_K_JOIN)
        rp->joins_pending++;
    else if (rc == 0 && kind == RP_K_REVERSE_JOIN)
        rp->reverse_pending++;
    free(s);
    return rc;
}

static void join_cluster(struct sr_ringpop *rp);

static void on_join_retry(evutil_socket_t fd, short what, void *ud)
{
    (void)fd, (void)what;
    struct sr_ringpop *rp = ud;
    if (!rp->joined_any && rp->joins_pending == 0)
        join_cluster(rp);
}

/* Every seed asked failed: ask again later (peers started after us). */
static void join_failed_all(struct sr_ringpop *rp)
{
    if (rp->joined_any || rp->closing || rp->join_ev == NULL ||
        sr_time_mono_us() - rp->started_at > (sr_time_us)RP_JOIN_MAX_MS * 1000)
        return;
    uint32_t ms = rp->join_backoff_ms ? rp->join_backoff_ms : RP_JOIN_BACKOFF_MS;
    rp->join_backoff_ms = ms * 2 < RP_JOIN_BACKOFF_MAX_MS ? ms * 2 : RP_JOIN_BACKOFF_MAX_MS;
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    evtimer_add(rp->join_ev, &tv);
}

static void join_cluster(struct sr_ringpop *rp)
{
    /* up to join_size random seeds other than ourselves */
    size_t n = rp->nhosts, picked = 0;
    char **order = calloc(n ? n : 1, sizeof(*order));
    for (size_t i = 0; order && i < n; i++)
        if (strcmp(rp->hosts[i], rp->self) != 0)
            order[picked++] = rp->hosts[i];
    for (size_t i = picked; i > 1; i--) {
        size_t j = (size_t)random() % i;
        char *t = order[i - 1];
        order[i - 1] = order[j];
        order[j] = t;
    }
    for (size_t i = 0; i < picked && i < rp->cfg.join_size; i++)
        send_join(rp, order[i], RP_K_JOIN);
    free(order);
    if (rp->joins_pending == 0) {
        start_core(rp);
        if (picked > 0)
            join_failed_all(rp); /* seeds given, none reachable now */
    }
}

/* ---- responses to our calls ---------------------------------------------- */

static json_t *parse_body(const struct sr_tch_call *c)
{
    if (c->arg[2].len == 0)
        return NULL;
    return json_loadb((const char *)c->arg[2].data, c->arg[2].len, JSON_REJECT_DUPLICATES, NULL);
}

void rp_on_response(struct rp_call *k, struct sr_tch_call *res)
{
    struct sr_ringpop *rp = k->rp;
    json_t *b = parse_body(res);
    if (b == NULL || !json_is_object(b)) {
        rp->stats.bad_bodies++;
        json_decref(b);
        rp_on_call_failed(k);
        return;
    }
    const json_t *changes = json_object_get(b, "changes");
    switch (k->kind) {
    case RP_K_PING:
        feed(rp, k->peer, SR_SWIM_MSG_ACK, k->seq, changes, NULL);
        break;
    case RP_K_GOSSIP:
        feed(rp, k->peer, SR_SWIM_MSG_GOSSIP, 0, changes, NULL);
        break;
    case RP_K_PING_REQ:
        feed(rp, k->peer,
             json_is_true(json_object_get(b, "pingStatus")) ? SR_SWIM_MSG_ACK : SR_SWIM_MSG_NACK,
             k->seq, changes, NULL);
        break;
    case RP_K_JOIN:
    case RP_K_REVERSE_JOIN:
        if (k->kind == RP_K_JOIN)
            rp->joined_any = true;
        apply_membership(rp, k->peer, json_object_get(b, "membership"));
        rp_on_call_failed(k); /* same bookkeeping as a finished join */
        break;
    case RP_K_EVICT:
        rp_on_call_failed(k);
        break;
    case RP_K_HEAL_JOIN:
        rp_heal_on_join(rp, k->peer, json_object_get(b, "membership"));
        break;
    case RP_K_HEAL_PING:
        feed(rp, k->peer, SR_SWIM_MSG_GOSSIP, 0, changes, NULL);
        rp_heal_step_done(rp, false);
        break;
    case RP_K_PROXY: /* answered in rp_proxy.c, never here */
        break;
    }
    json_decref(b);
}

void rp_on_call_failed(struct rp_call *k)
{
    struct sr_ringpop *rp = k->rp;
    if (k->kind == RP_K_PING && rp->started)
        sr_swim_unreachable(rp->swim, k->peer); /* refused: ping-req at once */
    if (k->kind == RP_K_JOIN && rp->joins_pending > 0 && --rp->joins_pending == 0) {
        start_core(rp);
        join_failed_all(rp);
    }
    if (k->kind == RP_K_REVERSE_JOIN && rp->reverse_pending > 0)
        rp->reverse_pending--;
    if (k->kind == RP_K_HEAL_JOIN || k->kind == RP_K_HEAL_PING)
        rp_heal_step_done(rp, k->kind == RP_K_HEAL_JOIN);
    if (k->kind == RP_K_EVICT && rp->evict_pending > 0 && --rp->evict_pending == 0)
        event_active(rp->evict_ev, EV_TIMEOUT, 0); /* done: finish from the loop */
    if (k->kind == RP_K_PROXY)
        rp_proxy_on_failed(k);
}

/* ---- self-eviction ------------------------------------------------------- */

struct pingable {
    const char *self;
    char (*addrs)[SR_SWIM_ADDR_MAX];
    size_t n, cap;
};

static void collect_pingable(void *ud, const struct sr_swim_member_info *m)
{
    struct pingable *p = ud;
    if (m->is_self || (m->status != SR_SWIM_ALIVE && m->status != SR_SWIM_SUSPECT) || p->n == p->cap)
        return;
    snprintf(p->addrs[p->n++], SR_SWIM_ADDR_MAX, "%s", m->addr);
}

static void on_evict_done(evutil_socket_t fd, short what, void *ud)
{
    (void)fd, (void)what;
    struct sr_ringpop *rp = ud;
    sr_ringpop_done_f done = rp->evict_done;
    rp->evict_done = NULL;
    if (done)
        done(rp->evict_ud);
}

int sr_ringpop_self_evict(struct sr_ringpop *rp, sr_ringpop_done_f done, void *ud)
{
    if (rp->evicting)
        return SR_EBUSY;
    rp->evicting = true;
    rp->gossip_stopped = true; /* nothing but the eviction from now on */
    rp->evict_done = done;
    rp->evict_ud = ud;
    rp->evict_ev = evtimer_new(rp->base, on_evict_done, rp);
    if (rp->evict_ev == NULL)
        return SR_ENOMEM;
    struct pingable p = {rp->self, NULL, 0, sr_swim_size(rp->swim)};
    p.addrs = calloc(p.cap ? p.cap : 1, sizeof(*p.addrs));
    if (p.addrs == NULL)
        return SR_ENOMEM;
    sr_swim_foreach(rp->swim, collect_pingable, &p);
    size_t want = (p.n * 2 + 4) / 5; /* ceil(0.4 n) */
    uint64_t inc = rp_self_inc(rp);
    json_t *changes = json_array();
    json_t *c = sr_rp_change_new(rp->self, SR_SWIM_FAULTY, inc);
    json_object_set_new(c, "source", json_string(rp->self));
    json_object_set_new(c, "sourceIncarnationNumber", json_integer((json_int_t)inc));
    json_array_append_new(changes, c);
    char *body = ping_body(rp, changes, NULL);
    for (size_t i = 0; body && i < want; i++) {
        size_t j = i + (size_t)random() % (p.n - i); /* partial Fisher-Yates */
        char tmp[SR_SWIM_ADDR_MAX];
        memcpy(tmp, p.addrs[i], sizeof(tmp));
        memcpy(p.addrs[i], p.addrs[j], sizeof(tmp));
        memcpy(p.addrs[j], tmp, sizeof(tmp));
        if (rp_call(rp, p.addrs[i], "/protocol/ping", body, RP_K_EVICT, 0, NULL) == 0)
            rp->evict_pending++;
    }
    free(body);
    free(p.addrs);
    SR_INFO(rp->log, "ringpop.self_evict", "pings=%u", rp->evict_pending);
    struct timeval tv = {RP_PING_TIMEOUT_MS / 1000, (RP_PING_TIMEOUT_MS % 1000) * 1000};
    if (rp->evict_pending == 0)
        tv = (struct timeval){0, 0};
    evtimer_add(rp->evict_ev, &tv);
    return 0;
}

void rp_conn_gone(struct sr_ringpop *rp, struct rp_conn *c)
{
    rp_heal_conn_gone(rp, c);
    rp_proxy_conn_gone(rp, c);
    for (int i = 0; i < RP_INBOUND_MAX; i++)
        if (rp->inbound[i].conn == c)
            rp->inbound[i].used = false;
}

/* ---- requests ------------------------------------------------------------ */

struct members_ud {
    json_t *a;
    const char *source;
    uint64_t source_inc;
};

static void member_change(void *ud, const struct sr_swim_member_info *m)
{
    struct members_ud *u = ud;
    json_t *c = sr_rp_change_new(m->addr, m->status, m->incarnation);
    if (c == NULL)
        return;
    if (u->source) {
        json_object_set_new(c, "source", json_string(u->source));
        json_object_set_new(c, "sourceIncarnationNumber", json_integer((json_int_t)u->source_inc));
    }
    if (m->nlabels > 0) {
        json_t *l = json_object();
        for (size_t i = 0; i < m->nlabels; i++)
            json_object_set_new(l, m->labels[i].key, json_string(m->labels[i].value));
        json_object_set_new(c, "labels", l);
    }
    json_array_append_new(u->a, c);
}

json_t *rp_member_changes(struct sr_ringpop *rp, bool with_source)
{
    struct members_ud u = {json_array(), with_source ? rp->self : NULL, rp_self_inc(rp)};
    sr_swim_foreach(rp->swim, member_change, &u);
    return u.a;
}

static void on_join(struct rp_conn *c, const struct sr_tch_call *call, const json_t *b)
{
    struct sr_ringpop *rp = c->rp;
    const char *src = json_string_value(json_object_get(b, "source"));
    const json_t *inc = json_object_get(b, "incarnationNumber");
    if (src == NULL || !json_is_integer(inc)) {
        rp->stats.bad_bodies++;
        rp_respond(c, call->id, 1, "{\"message\":\"join: source and incarnationNumber required\"}");
        return;
    }
    /* as in ringpop, the joiner is not added here: its first ping
     * disseminates it */
    json_t *o = json_pack("{s:s, s:s, s:o, s:I}", "app", "ringpop", "coordinator", rp->self,
                          "membership", rp_member_changes(rp, true), "membershipChecksum",
                          (json_int_t)sr_rp_checksum(rp->swim));
    rp_respond_json(c, call->id, o);
}

/* ringpop-go filterChangesFromSender: the sender knows what it told us. */
static void drop_from_sender(json_t *changes, const char *src, const json_t *src_inc)
{
    if (!json_is_integer(src_inc))
        return;
    for (size_t i = json_array_size(changes); i-- > 0;) {
        const json_t *c = json_array_get(changes, i);
        const char *s = json_string_value(json_object_get(c, "source"));
        const json_t *si = json_object_get(c, "sourceIncarnationNumber");
        if (s && strcmp(s, src) == 0 && json_is_integer(si) &&
            json_integer_value(si) == json_integer_value(src_inc))
            json_array_remove(changes, i);
    }
}

static void on_ping(struct rp_conn *c, const struct sr_tch_call *call, const json_t *b)
{
    struct sr_ringpop *rp = c->rp;
    const char *src = json_string_value(json_object_get(b, "source"));
    if (src == NULL || strlen(src) >= SR_SWIM_ADDR_MAX)
        src = c->peer;
    uint64_t seq = ++rp->next_seq;
    rp->cap_active = true;
    rp->cap_done = false;
    rp->cap_seq = seq;
    snprintf(rp->cap_to, sizeof(rp->cap_to), "%s", src);
    feed(rp, src, SR_SWIM_MSG_PING, seq, json_object_get(b, "changes"), NULL);
    rp->cap_active = false;
    size_t n = 0;
    struct sr_swim_msg m;
    if (rp->cap_done && sr_swim_wire_decode(rp->cap.data, rp->cap.len, &m, rp->ups, rp->capups) == 0)
        n = m.nupdates;
    json_t *changes = changes_of(rp, n);
    drop_from_sender(changes, src, json_object_get(b, "sourceIncarnationNumber"));
    const json_t *cs = json_object_get(b, "checksum");
    uint32_t mine = sr_rp_checksum(rp->swim);
    if (n == 0 && json_is_integer(cs) && (uint64_t)json_integer_value(cs) != mine) {
        /* views differ and no news explains it: full sync both ways */
        json_decref(changes);
        changes = rp_member_changes(rp, true);
        if (rp->reverse_pending < rp->cfg.max_reverse_syncs)
            send_join(rp, src, RP_K_REVERSE_JOIN);
    }
    json_t *o = json_pack("{s:o, s:I, s:s, s:I}", "changes", changes, "checksum",
                          (json_int_t)mine, "source", rp->self, "sourceIncarnationNumber",
                          (json_int_t)rp_self_inc(rp));
    rp_respond_json(c, call->id, o);
}

static void on_ping_req(struct rp_conn *c, const struct sr_tch_call *call, const json_t *b)
{
    struct sr_ringpop *rp = c->rp;
    const char *src = json_string_value(json_object_get(b, "source"));
    const char *target = json_string_value(json_object_get(b, "target"));
    if (src == NULL || strlen(src) >= SR_SWIM_ADDR_MAX)
        src = c->peer;
    if (target == NULL || strlen(target) == 0 || strlen(target) >= SR_SWIM_ADDR_MAX) {
        rp->stats.bad_bodies++;
        rp_respond(c, call->id, 1, "{\"message\":\"ping-req: target required\"}");
        return;
    }
    struct rp_inbound *in = NULL;
    for (int i = 0; i < RP_INBOUND_MAX && in == NULL; i++)
        if (!rp->inbound[i].used)
            in = &rp->inbound[i];
    if (in == NULL) {
        rp_respond(c, call->id, 1, "{\"message\":\"busy\"}");
        return;
    }
    *in = (struct rp_inbound){.used = true, .conn = c, .id = call->id, .seq = ++rp->next_seq};
    snprintf(in->from, sizeof(in->from), "%s", src);
    snprintf(in->target, sizeof(in->target), "%s", target);
    feed(rp, src, SR_SWIM_MSG_PING_REQ, in->seq, json_object_get(b, "changes"), target);
}

void rp_on_request(struct rp_conn *c, struct sr_tch_call *call)
{
    struct sr_ringpop *rp = c->rp;
    char ep[128];
    size_t n = call->arg[0].len < sizeof(ep) - 1 ? call->arg[0].len : sizeof(ep) - 1;
    memcpy(ep, call->arg[0].data, n);
    ep[n] = '\0';
    if (strcmp(ep, "/proxy/req") == 0) { /* arg2 a JSON head, arg3 raw bytes */
        rp_proxy_serve(c, call);
        return;
    }
    json_t *b = parse_body(call);
    if (b != NULL && !json_is_object(b)) {
        json_decref(b);
        b = NULL;
    }
    if (strcmp(ep, "/protocol/ping") == 0 && b)
        on_ping(c, call, b);
    else if (strcmp(ep, "/protocol/ping-req") == 0 && b)
        on_ping_req(c, call, b);
    else if (strcmp(ep, "/protocol/join") == 0 && b)
        on_join(c, call, b);
    else if (!rp_admin(c, call, ep, b)) {
        rp->stats.bad_bodies++;
        struct sr_buf e;
        sr_buf_create(&e, 0);
        if (sr_tch_error_encode(&e, call->id, SR_TCH_ERR_BAD_REQUEST, "no such endpoint or bad body") == 0)
            bufferevent_write(c->bev, e.data, e.len);
        sr_buf_destroy(&e);
    }
    json_decref(b);
}

/* ---- lifecycle ----------------------------------------------------------- */

static void ringpop_core_cfg(const struct sr_ringpop_cfg *rc, struct sr_swim_cfg *cfg)
{
    /* ringpop-go timings on the core: 200 ms protocol period, k = 3, no
     * Lifeguard health, no extra gossip rounds, piggyback 15 x ceil(log10(n+1)),
     * suspicion fixed at suspect_ms for n <= 10 (min = mult x period and
     * max = min: confirmations do not shorten it) */
    sr_swim_cfg_default_local(cfg);
    cfg->period_ms = 200;
    cfg->ping_timeout_ms = RP_PING_TIMEOUT_MS;
    cfg->ping_req_timeout_ms = RP_PING_REQ_TIMEOUT_MS;
    cfg->accept_unknown_down = 1;
    cfg->quiet_sync = 1;
    cfg->ping_req_k = 3;
    cfg->suspicion_min_mult = rc->suspect_ms / cfg->period_ms ? rc->suspect_ms / cfg->period_ms : 1;
    cfg->suspicion_max_mult = 1;
    cfg->retransmit_mult = 15;
    cfg->gossip_interval_ms = 0;
    cfg->awareness_max = 1;
    cfg->mtu = RP_MTU;
    cfg->tombstone_ms = rc->faulty_ms > cfg->period_ms ? rc->faulty_ms : cfg->period_ms;
    cfg->tombstone_evict_ms = rc->tombstone_ms ? rc->tombstone_ms : 1;
    cfg->labels_every_state = 1;
    cfg->plain_dissemination = 1;
    cfg->full_sync_interval_ms = 3600000;
    cfg->heal_probe_ms = 3600000;
}

struct sr_ringpop *sr_ringpop_new(struct event_base *base, const struct sr_ringpop_cfg *cfg,
                                  struct sr_log *log, int *err)
{
    int rc = SR_EINVAL;
    struct sr_ringpop *rp = NULL;
    if (base == NULL || cfg == NULL || cfg->listen == NULL || strlen(cfg->listen) >= SR_SWIM_ADDR_MAX)
        goto fail;
    rc = SR_ENOMEM;
    if ((rp = calloc(1, sizeof(*rp))) == NULL)
        goto fail;
    rp->base = base;
    rp->cfg = *cfg;
    rp->log = log;
    snprintf(rp->self, sizeof(rp->self), "%s", cfg->listen);
    sr_buf_create(&rp->cap, 0);
    sr_buf_create(&rp->dgram, 0);
    rp->capups = RP_MTU / SR_SWIM_WIRE_MIN_UPDATE + 1;
    rp->ups = calloc(rp->capups, sizeof(*rp->ups));
    rp->hosts = calloc(cfg->nhosts ? cfg->nhosts : 1, sizeof(*rp->hosts));
    if (rp->ups == NULL || rp->hosts == NULL)
        goto fail;
    for (size_t i = 0; i < cfg->nhosts; i++)
        if ((rp->hosts[rp->nhosts++] = strdup(cfg->hosts[i])) == NULL)
            goto fail;
    rp->tick_ev = evtimer_new(base, on_tick, rp);
    rp->join_ev = evtimer_new(base, on_join_retry, rp);
    rp->ring = sr_ring_new(NULL, &rc);
    if (rp->tick_ev == NULL || rp->join_ev == NULL || rp->ring == NULL)
        goto fail;
    struct sr_swim_cfg sc;
    ringpop_core_cfg(cfg, &sc);
    struct sr_swim_vtab vt = {vt_now, vt_random, vt_send, vt_schedule, vt_event, NULL};
    if ((rp->swim = sr_swim_new(&sc, rp->self, rp->self, &vt, rp, log, &rc)) == NULL)
        goto fail;
    sr_swim_set_labels_rank(rp->swim, vt_labels_rank);
    /* ringpop-go: a node's first incarnation is the wall clock in ms */
    sr_swim_set_incarnation(rp->swim, sr_time_wall_us() / 1000);
    if (cfg->identity && cfg->identity[0]) {
        snprintf(rp->identity, sizeof(rp->identity), "%s", cfg->identity);
        sr_swim_set_label(rp->swim, "__identity", rp->identity);
    }
    struct sr_swim_member_info me;
    if (sr_swim_member(rp->swim, rp->self, &me) == 0)
        ring_sync(rp, &me);
    rp->started_at = sr_time_mono_us();
    if ((rc = rp_listen(rp)) != 0)
        goto fail;
    join_cluster(rp);
    return rp;
fail:;
    int saved = errno; /* SR_ESYS: the caller reads errno (EADDRINUSE ...) */
    if (rp)
        sr_ringpop_delete(rp);
    errno = saved;
    if (err)
        *err = rc;
    return NULL;
}

void sr_ringpop_delete(struct sr_ringpop *rp)
{
    if (rp == NULL)
        return;
    rp_conns_close(rp);
    rp_proxy_close(rp);
    free(rp->natives);
    if (rp->swim)
        sr_swim_delete(rp->swim);
    if (rp->ring)
        sr_ring_delete(rp->ring);
    if (rp->tick_ev)
        event_free(rp->tick_ev);
    if (rp->evict_ev)
        event_free(rp->evict_ev);
    if (rp->join_ev)
        event_free(rp->join_ev);
    for (size_t i = 0; i < rp->nhosts; i++)
        free(rp->hosts[i]);
    free(rp->hosts);
    free(rp->keys);
    json_decref(rp->heal.targets);
    json_decref(rp->heal.done);
    free(rp->ups);
    sr_buf_destroy(&rp->cap);
    sr_buf_destroy(&rp->dgram);
    free(rp);
}

struct sr_swim *sr_ringpop_swim(struct sr_ringpop *rp) { return rp->swim; }

const char *sr_ringpop_lookup(struct sr_ringpop *rp, const void *key, size_t len)
{
    return rp_ring_addr(rp, sr_ring_lookup(rp->ring, key, len));
}

void sr_ringpop_set_event_cb(struct sr_ringpop *rp, sr_ringpop_event_f fn, void *ud)
{
    rp->ev_cb = fn;
    rp->ev_ud = ud;
}

void rp_note_process(struct sr_ringpop *rp, const char *addr, const char *process, size_t len)
{
    bool native = process && len >= 8 && memcmp(process, "swimring", 8) == 0;
    for (size_t i = 0; i < rp->nnatives; i++)
        if (strcmp(rp->natives[i].addr, addr) == 0) {
            rp->natives[i].native = native; /* a restart may bring another program */
            return;
        }
    if (rp->nnatives == rp->capnatives) {
        size_t cap = rp->capnatives ? rp->capnatives * 2 : 16;
        struct rp_native *n = realloc(rp->natives, cap * sizeof(*n));
        if (n == NULL)
            return; /* unknown stays "not native": the /proxy/req path, still correct */
        rp->natives = n;
        rp->capnatives = cap;
    }
    struct rp_native *e = &rp->natives[rp->nnatives++];
    snprintf(e->addr, sizeof(e->addr), "%s", addr);
    e->native = native;
}

bool sr_ringpop_peer_native(const struct sr_ringpop *rp, const char *addr)
{
    for (size_t i = 0; addr && i < rp->nnatives; i++)
        if (strcmp(rp->natives[i].addr, addr) == 0)
            return rp->natives[i].native;
    return false;
}

uint32_t sr_ringpop_ring_checksum(const struct sr_ringpop *rp)
{
    return sr_ring_checksum(rp->ring);
}
