/* The state hooks (node.h sr_state_ops) for presence: the unit is a user,
 * a record is one session (presence_store.h: [sid, stamp, status, expires,
 * meta]), tombstones included so a delete or an expiry travels too. */
#include "swimring/error.h"
#include "swimring/time.h"
#include "presence_int.h"

struct keys_walk {
    sr_state_key_f fn;
    void *arg;
};

static int key_one(void *arg, const struct ps_user *u)
{
    struct keys_walk *k = arg;
    return k->fn(k->arg, u->key, u->klen);
}

static void st_keys(void *ud, sr_state_key_f fn, void *arg)
{
    struct presence *p = ud;
    struct keys_walk k = {fn, arg};
    ps_store_each(p->store, key_one, &k);
}

static int st_export(void *ud, const void *key, size_t len, sr_state_emit_f emit, void *arg)
{
    struct presence *p = ud;
    struct ps_user *u = ps_store_find(p->store, key, len);
    struct sr_buf b;
    int rc = 0;
    sr_buf_create(&b, 0);
    for (struct ps_sess *s = u ? u->sess : NULL; s && rc == 0; s = s->next) {
        sr_buf_reset(&b);
        if ((rc = ps_rec_write(s, &b)) == 0)
            rc = emit(arg, b.data, b.len);
    }
    sr_buf_destroy(&b);
    return rc;
}

static int st_merge(void *ud, const void *key, size_t len, const void *rec, size_t rec_len)
{
    struct presence *p = ud;
    struct ps_rec r;
    if (ps_rec_read(rec, rec_len, &r) < 0 || len == 0 || len > PS_ID_MAX)
        return SR_EPROTO;
    int rc = ps_store_apply(p->store, key, len, &r, sr_time_wall_us());
    if (rc > 0)
        presence_arm_expiry(p);
    return rc < 0 ? rc : 0;
}

static void st_drop(void *ud, const void *key, size_t len)
{
    struct presence *p = ud;
    ps_store_drop(p->store, key, len);
    presence_watch_dropped(p, key, len);
}

/* FNV-1a 64 of one record. */
static uint64_t fnv64(const uint8_t *d, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ d[i]) * 1099511628211ull;
    return h;
}

/* Sessions sit in arrival order, which differs between replicas: sum the
 * records' hashes so equal sets give equal digests whatever the order. */
static uint64_t st_digest(void *ud, const void *key, size_t len)
{
    struct presence *p = ud;
    struct ps_user *u = ps_store_find(p->store, key, len);
    struct sr_buf b;
    uint64_t d = 0;
    sr_buf_create(&b, 0);
    for (struct ps_sess *s = u ? u->sess : NULL; s; s = s->next) {
        sr_buf_reset(&b);
        if (ps_rec_write(s, &b) == 0)
            d += fnv64(b.data, b.len);
    }
    sr_buf_destroy(&b);
    return d;
}

const struct sr_state_ops presence_state_ops = {st_keys, st_export, st_merge, st_drop,
                                                st_digest};
