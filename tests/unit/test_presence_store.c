/* services/presence store: LWW per session, tombstones, expiry exactly once
 * through the heap, aggregate order, records, JSON. Pure: the tests pass
 * `now` in. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include "presence_store.h"
#include "swimring/buf.h"
#include "swimring/error.h"

#define S 1000000ull
#define KEEP (100 * S)

struct log {
    int n[5];
    uint8_t last_old;
    char last_sid[32];
};

static void on_change(void *ud, const struct ps_user *u, const struct ps_sess *s,
                      enum ps_change what, uint8_t old)
{
    struct log *l = ud;
    (void)u;
    l->n[what]++;
    l->last_old = old;
    snprintf(l->last_sid, sizeof l->last_sid, "%.*s", s->sid_len, s->data);
}

static struct ps_rec rec(const char *sid, uint64_t stamp, uint8_t st, uint64_t expires,
                         const char *meta)
{
    return (struct ps_rec){sid, strlen(sid), stamp, expires, st, meta, strlen(meta)};
}

static int apply(struct ps_store *st, const char *user, struct ps_rec r, uint64_t now)
{
    return ps_store_apply(st, user, strlen(user), &r, now);
}

static struct ps_user *find(struct ps_store *st, const char *user)
{
    return ps_store_find(st, user, strlen(user));
}

Test(presence_store, last_writer_wins_in_any_order)
{
    struct ps_rec a = rec("s1", 10, PS_ONLINE, 50 * S, "{\"m\":1}");
    struct ps_rec b = rec("s1", 20, PS_BUSY, 60 * S, "{\"m\":2}");
    struct ps_rec c = rec("s1", 30, PS_TOMB, 30 + KEEP, "");
    struct ps_rec order[6][3] = {{a, b, c}, {a, c, b}, {b, a, c}, {b, c, a}, {c, a, b}, {c, b, a}};
    for (int i = 0; i < 6; i++) {
        struct ps_store *st = ps_store_new(KEEP, NULL, NULL);
        for (int k = 0; k < 3; k++)
            cr_assert_geq(ps_store_apply(st, "u", 1, &order[i][k], 1 * S), 0);
        struct ps_sess *s = ps_user_session(find(st, "u"), "s1", 2);
        cr_assert_not_null(s);
        cr_assert_eq(s->stamp, 30u, "order %d", i);
        cr_assert_eq(s->status, PS_TOMB);
        cr_assert_eq(ps_store_sessions(st), 0u);
        cr_assert_eq(ps_store_users(st), 0u);
        cr_assert_eq(ps_store_keys(st), 1u, "the tombstone keeps the key");
        ps_store_delete(st);
    }
}

Test(presence_store, ties_resolve_the_same_everywhere)
{
    struct ps_rec live = rec("s", 7, PS_ONLINE, 50 * S, "");
    struct ps_rec tomb = rec("s", 7, PS_TOMB, 50 * S + KEEP, "");
    struct ps_store *x = ps_store_new(KEEP, NULL, NULL), *y = ps_store_new(KEEP, NULL, NULL);
    cr_assert_eq(apply(x, "u", live, 1), 1);
    cr_assert_eq(apply(x, "u", tomb, 1), 1, "a tombstone beats a live record of its stamp");
    cr_assert_eq(apply(y, "u", tomb, 1), 1);
    cr_assert_eq(apply(y, "u", live, 1), 0);
    cr_assert_eq(apply(y, "u", tomb, 1), 0, "the same record twice changes nothing");
    cr_assert_eq(ps_user_session(find(x, "u"), "s", 1)->status, PS_TOMB);
    cr_assert_eq(ps_user_session(find(y, "u"), "s", 1)->status, PS_TOMB);
    ps_store_delete(x);
    ps_store_delete(y);
}

Test(presence_store, changes_are_reported_once_each)
{
    struct log l = {0};
    struct ps_store *st = ps_store_new(KEEP, on_change, &l);
    apply(st, "u", rec("s", 1, PS_ONLINE, 100 * S, ""), 1 * S);
    apply(st, "u", rec("s", 2, PS_ONLINE, 110 * S, ""), 1 * S); /* refresh only */
    apply(st, "u", rec("s", 3, PS_AWAY, 110 * S, ""), 1 * S);
    apply(st, "u", rec("s", 4, PS_AWAY, 110 * S, "{\"map\":\"x\"}"), 1 * S);
    apply(st, "u", rec("s", 5, PS_TOMB, 5 + KEEP, ""), 1 * S);
    apply(st, "u", rec("s", 4, PS_AWAY, 110 * S, "{\"map\":\"x\"}"), 1 * S); /* stale */
    cr_assert_eq(l.n[PS_CH_ONLINE], 1);
    cr_assert_eq(l.n[PS_CH_STATUS], 1);
    cr_assert_eq(l.n[PS_CH_META], 1);
    cr_assert_eq(l.n[PS_CH_OFFLINE], 1);
    cr_assert_eq(l.n[PS_CH_EXPIRED], 0);
    cr_assert_eq(l.last_old, PS_AWAY);
    ps_store_delete(st);
}

Test(presence_store, expiry_is_exactly_once_and_in_deadline_order)
{
    struct log l = {0};
    struct ps_store *st = ps_store_new(KEEP, on_change, &l);
    apply(st, "a", rec("s", 1, PS_ONLINE, 30 * S, ""), 1 * S);
    apply(st, "b", rec("s", 1, PS_ONLINE, 10 * S, ""), 1 * S);
    apply(st, "c", rec("s", 1, PS_ONLINE, 20 * S, ""), 1 * S);
    cr_assert_eq(ps_store_next_expiry(st), 10 * S);
    cr_assert_eq(ps_store_expire(st, 10 * S - 1), 0u, "not before its deadline");
    cr_assert_eq(ps_store_expire(st, 10 * S), 1u);
    cr_assert_str_eq(l.last_sid, "s");
    cr_assert_eq(ps_user_aggregate(find(st, "b")), PS_TOMB);
    cr_assert_eq(ps_store_expire(st, 10 * S), 0u, "never twice");
    cr_assert_eq(ps_store_next_expiry(st), 20 * S);
    /* a refresh moves the deadline */
    apply(st, "c", rec("s", 2, PS_ONLINE, 40 * S, ""), 15 * S);
    cr_assert_eq(ps_store_expire(st, 35 * S), 1u, "a only");
    cr_assert_eq(ps_user_aggregate(find(st, "c")), PS_ONLINE);
    cr_assert_eq(ps_store_expire(st, 40 * S), 1u);
    cr_assert_eq(l.n[PS_CH_EXPIRED], 3);
    cr_assert_eq(ps_store_users(st), 0u);
    /* tombstones are forgotten after KEEP, users with them */
    cr_assert_eq(ps_store_keys(st), 3u);
    ps_store_expire(st, 40 * S + KEEP);
    cr_assert_eq(ps_store_keys(st), 0u);
    cr_assert_eq(ps_store_next_expiry(st), 0u);
    ps_store_delete(st);
}

Test(presence_store, an_expired_copy_cannot_revive_a_session)
{
    struct log l = {0};
    struct ps_store *st = ps_store_new(KEEP, on_change, &l);
    /* a replica that missed the expiry sends the old live record */
    apply(st, "u", rec("s", 5, PS_ONLINE, 10 * S, ""), 1 * S);
    ps_store_expire(st, 10 * S);
    cr_assert_eq(apply(st, "u", rec("s", 5, PS_ONLINE, 10 * S, ""), 11 * S), 0);
    /* an unknown record already past its expiry leaves nothing */
    cr_assert_eq(apply(st, "v", rec("s", 5, PS_ONLINE, 10 * S, ""), 11 * S), 1);
    cr_assert_eq(ps_user_aggregate(find(st, "v")), PS_TOMB);
    cr_assert_eq(l.n[PS_CH_ONLINE], 1);
    cr_assert_eq(l.n[PS_CH_EXPIRED], 1);
    ps_store_delete(st);
}

Test(presence_store, aggregate_is_the_most_present_session)
{
    struct ps_store *st = ps_store_new(KEEP, NULL, NULL);
    cr_assert_eq(ps_user_aggregate(find(st, "u")), PS_TOMB);
    apply(st, "u", rec("a", 1, PS_AWAY, 100 * S, ""), 1);
    cr_assert_eq(ps_user_aggregate(find(st, "u")), PS_AWAY);
    apply(st, "u", rec("b", 2, PS_BUSY, 100 * S, ""), 1);
    cr_assert_eq(ps_user_aggregate(find(st, "u")), PS_BUSY);
    apply(st, "u", rec("c", 3, PS_IN_GAME, 100 * S, ""), 1);
    apply(st, "u", rec("d", 4, PS_ONLINE, 100 * S, ""), 1);
    cr_assert_eq(ps_user_aggregate(find(st, "u")), PS_IN_GAME);
    apply(st, "u", rec("c", 5, PS_TOMB, 100 * S, ""), 1);
    cr_assert_eq(ps_user_aggregate(find(st, "u")), PS_ONLINE);
    cr_assert_eq(ps_store_sessions(st), 3u);
    json_t *j = ps_user_json(find(st, "u"), "u", 1);
    cr_assert_str_eq(json_string_value(json_object_get(j, "status")), "online");
    cr_assert_eq(json_array_size(json_object_get(j, "sessions")), 3u);
    json_decref(j);
    ps_store_drop(st, "u", 1);
    cr_assert_eq(ps_store_keys(st), 0u);
    cr_assert_eq(ps_store_sessions(st), 0u);
    cr_assert_eq(ps_store_next_expiry(st), 0u);
    ps_store_delete(st);
}

Test(presence_store, status_names)
{
    cr_assert_eq(ps_status_parse("in_game"), PS_IN_GAME);
    cr_assert_eq(ps_status_parse("offline"), PS_OFFLINE);
    cr_assert_eq(ps_status_parse("tombstone"), -1);
    cr_assert_eq(ps_status_parse("sleeping"), -1);
    cr_assert_str_eq(ps_status_name(PS_AWAY), "away");
}

Test(presence_store, records_round_trip_and_hostile_ones_are_refused)
{
    struct ps_store *st = ps_store_new(KEEP, NULL, NULL);
    apply(st, "u", rec("sess", 42, PS_BUSY, 9 * S, "{\"g\":1}"), 1);
    struct sr_buf b;
    struct ps_rec r;
    sr_buf_create(&b, 0);
    cr_assert_eq(ps_rec_write(ps_user_session(find(st, "u"), "sess", 4), &b), 0);
    cr_assert_eq(ps_rec_read(b.data, b.len, &r), 0);
    cr_assert_eq(r.stamp, 42u);
    cr_assert_eq(r.status, PS_BUSY);
    cr_assert_eq(r.expires, 9 * S);
    cr_assert_eq(r.meta_len, 7u);
    for (size_t cut = 0; cut < b.len; cut++)
        cr_assert_eq(ps_rec_read(b.data, cut, &r), SR_EPROTO, "cut at %zu", cut);
    struct ps_rec bad = rec("", 1, PS_ONLINE, 1, "");
    cr_assert_eq(ps_store_apply(st, "u", 1, &bad, 0), SR_EINVAL);
    bad = rec("s", 1, 9, 1, "");
    cr_assert_eq(ps_store_apply(st, "u", 1, &bad, 0), SR_EINVAL);
    sr_buf_destroy(&b);
    ps_store_delete(st);
}

/* Many users, random heartbeats and deletes: the heap and table stay
 * consistent (every session expires exactly once, counts add up). */
Test(presence_store, random_operations_keep_the_heap_and_table_consistent)
{
    struct log l = {0};
    struct ps_store *st = ps_store_new(KEEP, on_change, &l);
    unsigned seed = 12345;
    char user[16], sid[8];
    uint64_t stamp = 1;
    for (int i = 0; i < 20000; i++) {
        snprintf(user, sizeof user, "u%d", rand_r(&seed) % 3000);
        snprintf(sid, sizeof sid, "s%d", rand_r(&seed) % 3);
        int op = rand_r(&seed) % 10;
        uint64_t now = (uint64_t)i * 1000;
        if (op < 8)
            apply(st, user, rec(sid, ++stamp, (uint8_t)(rand_r(&seed) % 5),
                                now + (uint64_t)(rand_r(&seed) % 5000) * 1000, ""), now);
        else
            apply(st, user, rec(sid, ++stamp, PS_TOMB, now + KEEP, ""), now);
        if (i % 100 == 0)
            ps_store_expire(st, now);
    }
    ps_store_expire(st, UINT64_MAX / 2);
    cr_assert_eq(ps_store_sessions(st), 0u);
    cr_assert_eq(ps_store_users(st), 0u);
    cr_assert_eq(ps_store_keys(st), 0u);
    cr_assert_eq(l.n[PS_CH_ONLINE], l.n[PS_CH_OFFLINE] + l.n[PS_CH_EXPIRED],
                 "every session that came online went offline exactly once");
    ps_store_delete(st);
}
