/* /admin/healpartition/disco: ringpop-go's partition healing through the
 * discover provider (the hosts file, read again on every heal).
 *
 * Targets are the listed hosts we do not know or hold faulty or worse,
 * shuffled. For each: join it (its membership MB against ours MA); where one
 * side holds a member reachable that the other holds dead at a newer
 * version, that member must reincarnate first: the dead side's view is
 * declared suspect on the other side (ours is applied here, theirs is sent
 * to the target in a ping, source scrubbed). Without such conflicts the
 * partitions merge: MB is applied here and all of MA is pinged to the
 * target. Hosts reachable in MB are dropped from the targets. The call is
 * answered when every target is done: {"targets": [...], "error": ""}. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ringpop/rp_impl.h"
#include "swimring/error.h"

static int precedence(const char *st)
{
    int p = sr_rp_status_parse(st, false);
    return p < 0 ? -1 : p; /* alive 0 .. tombstone 4, as ringpop-go */
}

static bool pingable(const json_t *c)
{
    int p = precedence(json_string_value(json_object_get(c, "status")));
    return p == SR_SWIM_ALIVE || p == SR_SWIM_SUSPECT;
}

static json_int_t inc_of_change(const json_t *c)
{
    return json_integer_value(json_object_get(c, "incarnationNumber"));
}

/* ringpop-go Change.overrides */
static bool overrides(const json_t *a, const json_t *b)
{
    if (inc_of_change(a) != inc_of_change(b))
        return inc_of_change(a) > inc_of_change(b);
    return precedence(json_string_value(json_object_get(a, "status"))) >
           precedence(json_string_value(json_object_get(b, "status")));
}

static const json_t *find_member(const json_t *list, const char *addr)
{
    size_t i;
    const json_t *c;
    json_array_foreach((json_t *)list, i, c) {
        const char *a = json_string_value(json_object_get(c, "address"));
        if (a && strcmp(a, addr) == 0)
            return c;
    }
    return NULL;
}

static json_t *as_suspect(const json_t *c)
{
    json_t *s = json_deep_copy(c);
    json_object_set_new(s, "status", json_string("suspect"));
    json_object_set_new(s, "source", json_string(""));
    json_object_set_new(s, "sourceIncarnationNumber", json_integer(0));
    json_object_del(s, "tombstone");
    return s;
}

static void heal_next(struct sr_ringpop *rp);

static void heal_finish(struct sr_ringpop *rp)
{
    struct rp_heal *h = &rp->heal;
    if (h->conn != NULL)
        rp_respond_json(h->conn, h->id,
                        json_pack("{s:O, s:s}", "targets", h->done, "error", ""));
    json_decref(h->targets);
    json_decref(h->done);
    memset(h, 0, sizeof(*h));
}

static void drop_target(struct rp_heal *h, const char *addr)
{
    for (size_t i = json_array_size(h->targets); i-- > 0;) {
        const char *t = json_string_value(json_array_get(h->targets, i));
        if (t && strcmp(t, addr) == 0)
            json_array_remove(h->targets, i);
    }
}

void rp_heal_on_join(struct sr_ringpop *rp, const char *target, const json_t *mb)
{
    struct rp_heal *h = &rp->heal;
    if (!h->active)
        return;
    json_t *ma = rp_member_changes(rp, true);
    json_t *for_a = json_array(), *for_b = json_array();
    size_t i;
    const json_t *b;
    json_array_foreach((json_t *)mb, i, b) {
        const char *addr = json_string_value(json_object_get(b, "address"));
        const json_t *a = addr ? find_member(ma, addr) : NULL;
        if (a == NULL || !json_is_integer(json_object_get(b, "incarnationNumber")))
            continue;
        if (pingable(b) && overrides(a, b) && !pingable(a))
            json_array_append_new(for_b, as_suspect(a));
        if (pingable(a) && overrides(b, a) && !pingable(b))
            json_array_append_new(for_a, as_suspect(b));
    }
    json_t *send;
    if (json_array_size(for_a) || json_array_size(for_b)) {
        /* spread: those members must reincarnate. Fed as from ourselves, so
         * a refutation is not sent straight back to the target: the first
         * ping B sees must be the heal ping below (ringpop-go) */
        rp_feed_gossip(rp, rp->self, for_a);
        send = for_b;
        json_incref(send);
    } else {
        rp_feed_gossip(rp, target, mb);    /* merge: their view, spread */
        json_decref(ma);
        ma = rp_member_changes(rp, true);
        send = ma;
        json_incref(send);
    }
    json_array_foreach((json_t *)mb, i, b) {
        const char *addr = json_string_value(json_object_get(b, "address"));
        if (addr && pingable(b))
            drop_target(h, addr);
    }
    json_array_append_new(h->done, json_string(target));
    h->waiting = json_array_size(send) > 0 &&
                 rp_ping_with(rp, target, send, RP_K_HEAL_PING) == 0;
    json_decref(send);
    json_decref(for_a);
    json_decref(for_b);
    json_decref(ma);
    if (!h->waiting)
        heal_next(rp);
}

void rp_heal_step_done(struct sr_ringpop *rp, bool join_failed)
{
    struct rp_heal *h = &rp->heal;
    if (!h->active)
        return;
    if (join_failed)
        h->failures++;
    h->waiting = false;
    heal_next(rp);
}

static void heal_next(struct sr_ringpop *rp)
{
    struct rp_heal *h = &rp->heal;
    while (json_array_size(h->targets) > 0 && h->failures < 10) {
        char target[SR_SWIM_ADDR_MAX];
        snprintf(target, sizeof(target), "%s", json_string_value(json_array_get(h->targets, 0)));
        json_array_remove(h->targets, 0);
        if (rp_join_to(rp, target, RP_K_HEAL_JOIN) == 0) {
            h->waiting = true;
            return;
        }
        h->failures++;
    }
    heal_finish(rp);
}

static bool is_target(struct sr_ringpop *rp, const char *addr)
{
    struct sr_swim_member_info m;
    if (strcmp(addr, rp->self) == 0)
        return false;
    return sr_swim_member(rp->swim, addr, &m) != 0 || m.status == SR_SWIM_FAULTY ||
           m.status == SR_SWIM_LEFT || m.status == SR_SWIM_TOMBSTONE;
}

void rp_heal_start(struct sr_ringpop *rp, struct rp_conn *c, uint32_t id)
{
    struct rp_heal *h = &rp->heal;
    if (h->active) {
        rp_respond(c, id, 1, "{\"message\":\"a heal is already running\"}");
        return;
    }
    json_t *hosts = rp->cfg.hosts_file ? json_load_file(rp->cfg.hosts_file, 0, NULL) : NULL;
    if (!json_is_array(hosts)) {
        json_decref(hosts);
        hosts = json_array();
        for (size_t i = 0; i < rp->nhosts; i++)
            json_array_append_new(hosts, json_string(rp->hosts[i]));
    }
    *h = (struct rp_heal){.active = true, .conn = c, .id = id, .targets = json_array(),
                          .done = json_array()};
    size_t i;
    const json_t *v;
    json_array_foreach(hosts, i, v) {
        const char *a = json_string_value(v);
        if (a && strlen(a) < SR_SWIM_ADDR_MAX && is_target(rp, a))
            json_array_append_new(h->targets, json_string(a));
    }
    json_decref(hosts);
    for (size_t k = json_array_size(h->targets); k > 1; k--) { /* shuffle */
        size_t j = (size_t)random() % k;
        json_t *x = json_incref(json_array_get(h->targets, k - 1));
        json_array_set(h->targets, k - 1, json_array_get(h->targets, j));
        json_array_set_new(h->targets, j, x);
    }
    heal_next(rp);
}

void rp_heal_conn_gone(struct sr_ringpop *rp, struct rp_conn *c)
{
    if (rp->heal.conn == c)
        rp->heal.conn = NULL; /* finish the heal, answer nobody */
}
