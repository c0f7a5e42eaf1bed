/* presence store: users in an open-addressing table, sessions in a list per
 * user, live sessions and tombstones in one min-heap on `expires`. */
#include <stdlib.h>
#include <string.h>
#include "swimring/error.h"
#include "swimring/hashring.h"
#include "swimring/mp.h"
#include "presence_store.h"

struct ps_store {
    struct ps_user **slot;      /* open addressing, linear probing, NULL = empty */
    size_t nslots, nkeys;       /* nslots a power of two */
    struct ps_sess **heap;      /* min-heap on expires */
    size_t nheap, heapcap;
    size_t users, sessions;     /* with a live session / live sessions */
    uint64_t tomb_keep_us;
    ps_change_f cb;
    void *ud;
};

/* Expiry arithmetic on times from peers: saturate, never wrap. */
static uint64_t sat_add(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static const char *const status_names[] = {"offline", "away", "busy", "online", "in_game",
                                           "tombstone"};

const char *ps_status_name(uint8_t st)
{
    return st <= PS_TOMB ? status_names[st] : "?";
}

int ps_status_parse(const char *name)
{
    for (int i = 0; i < PS_STATUS_COUNT; i++)
        if (strcmp(name, status_names[i]) == 0)
            return i;
    return -1;
}

/* ---- expiry heap --------------------------------------------------------------- */

static void heap_set(struct ps_store *st, size_t i, struct ps_sess *s)
{
    st->heap[i] = s;
    s->heap = (uint32_t)i;
}

static void heap_up(struct ps_store *st, size_t i)
{
    struct ps_sess *s = st->heap[i];
    while (i > 0 && st->heap[(i - 1) / 2]->expires > s->expires) {
        heap_set(st, i, st->heap[(i - 1) / 2]);
        i = (i - 1) / 2;
    }
    heap_set(st, i, s);
}

static void heap_down(struct ps_store *st, size_t i)
{
    struct ps_sess *s = st->heap[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= st->nheap)
            break;
        if (c + 1 < st->nheap && st->heap[c + 1]->expires < st->heap[c]->expires)
            c++;
        if (st->heap[c]->expires >= s->expires)
            break;
        heap_set(st, i, st->heap[c]);
        i = c;
    }
    heap_set(st, i, s);
}

static int heap_push(struct ps_store *st, struct ps_sess *s)
{
    if (st->nheap == st->heapcap) {
        size_t cap = st->heapcap ? st->heapcap * 2 : 64;
        struct ps_sess **h = realloc(st->heap, cap * sizeof(*h));
        if (!h)
            return SR_ENOMEM;
        st->heap = h;
        st->heapcap = cap;
    }
    st->heap[st->nheap] = s;
    s->heap = (uint32_t)st->nheap++;
    heap_up(st, s->heap);
    return 0;
}

static void heap_remove(struct ps_store *st, struct ps_sess *s)
{
    size_t i = s->heap;
    struct ps_sess *last = st->heap[--st->nheap];
    if (last == s)
        return;
    heap_set(st, i, last);
    heap_up(st, i);
    heap_down(st, last->heap);
}

/* The session's expires changed: move it in the heap. */
static void heap_fix(struct ps_store *st, struct ps_sess *s)
{
    heap_up(st, s->heap);
    heap_down(st, s->heap);
}

/* ---- user table ----------------------------------------------------------------- */

static size_t slot_of(const struct ps_store *st, const void *k, size_t klen, uint32_t h)
{
    size_t mask = st->nslots - 1, i = h & mask;
    while (st->slot[i] && (st->slot[i]->hash != h || st->slot[i]->klen != klen ||
                           memcmp(st->slot[i]->key, k, klen) != 0))
        i = (i + 1) & mask;
    return i;
}

static int table_grow(struct ps_store *st)
{
    size_t n = st->nslots ? st->nslots * 2 : 1024;
    struct ps_user **old = st->slot;
    size_t oldn = st->nslots;
    if (!(st->slot = calloc(n, sizeof(*st->slot)))) {
        st->slot = old;
        return SR_ENOMEM;
    }
    st->nslots = n;
    for (size_t i = 0; i < oldn; i++)
        if (old[i])
            st->slot[slot_of(st, old[i]->key, old[i]->klen, old[i]->hash)] = old[i];
    free(old);
    return 0;
}

/* Remove the user at slot i, shifting back the entries of its probe run. */
static void table_remove(struct ps_store *st, size_t i)
{
    size_t mask = st->nslots - 1, j = i;
    st->slot[i] = NULL;
    for (;;) {
        j = (j + 1) & mask;
        if (!st->slot[j])
            break;
        size_t home = st->slot[j]->hash & mask;
        /* move j back to i if its home is not in (i, j] cyclically */
        bool between = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (!between) {
            st->slot[i] = st->slot[j];
            st->slot[j] = NULL;
            i = j;
        }
    }
    st->nkeys--;
}

struct ps_user *ps_store_find(const struct ps_store *st, const void *user, size_t ulen)
{
    if (!st->nslots || ulen == 0 || ulen > PS_ID_MAX)
        return NULL;
    return st->slot[slot_of(st, user, ulen, sr_ring_hash(user, ulen))];
}

static struct ps_user *user_get(struct ps_store *st, const void *user, size_t ulen)
{
    if ((st->nkeys + 1) * 4 > st->nslots * 3 && table_grow(st) < 0)
        return NULL;
    uint32_t h = sr_ring_hash(user, ulen);
    size_t i = slot_of(st, user, ulen, h);
    if (st->slot[i])
        return st->slot[i];
    struct ps_user *u = malloc(sizeof(*u) + ulen);
    if (!u)
        return NULL;
    u->sess = NULL;
    u->hash = h;
    u->klen = (uint8_t)ulen;
    memcpy(u->key, user, ulen);
    st->slot[i] = u;
    st->nkeys++;
    return u;
}

/* ---- sessions --------------------------------------------------------------------- */

struct ps_sess *ps_user_session(const struct ps_user *u, const void *sid, size_t sid_len)
{
    for (struct ps_sess *s = u ? u->sess : NULL; s; s = s->next)
        if (s->sid_len == sid_len && memcmp(s->data, sid, sid_len) == 0)
            return s;
    return NULL;
}

uint64_t ps_user_stamp(const struct ps_user *u)
{
    uint64_t m = 0;
    for (struct ps_sess *s = u ? u->sess : NULL; s; s = s->next)
        m = s->stamp > m ? s->stamp : m;
    return m;
}

/* Most present first: see the order in presence_store.h. */
static int presence_rank(uint8_t st)
{
    return st == PS_TOMB ? -1 : st;
}

enum ps_status ps_user_aggregate(const struct ps_user *u)
{
    int best = -1;
    for (struct ps_sess *s = u ? u->sess : NULL; s; s = s->next)
        best = presence_rank(s->status) > best ? presence_rank(s->status) : best;
    return best < 0 ? PS_TOMB : (enum ps_status)best;
}

static bool user_live(const struct ps_user *u)
{
    return ps_user_aggregate(u) != PS_TOMB;
}

/* Does record r beat what s holds? A total order, so replicas agree. */
static int rec_cmp(const struct ps_sess *s, const struct ps_rec *r)
{
    if (r->stamp != s->stamp)
        return r->stamp > s->stamp ? 1 : -1;
    bool rt = r->status == PS_TOMB, stomb = s->status == PS_TOMB;
    if (rt != stomb)
        return rt ? 1 : -1;
    if (r->expires != s->expires)
        return r->expires > s->expires ? 1 : -1;
    if (r->status != s->status)
        return r->status > s->status ? 1 : -1;
    if (r->meta_len != s->meta_len)
        return r->meta_len > s->meta_len ? 1 : -1;
    return memcmp(r->meta, s->data + s->sid_len, r->meta_len);
}

static struct ps_sess *sess_alloc(const struct ps_rec *r)
{
    struct ps_sess *s = malloc(sizeof(*s) + r->sid_len + r->meta_len);
    if (!s)
        return NULL;
    s->sid_len = (uint8_t)r->sid_len;
    s->meta_len = (uint16_t)r->meta_len;
    memcpy(s->data, r->sid, r->sid_len);
    if (r->meta_len)
        memcpy(s->data + r->sid_len, r->meta, r->meta_len);
    s->stamp = r->stamp;
    s->expires = r->expires;
    s->status = r->status;
    return s;
}

static void unlink_sess(struct ps_user *u, struct ps_sess *s)
{
    struct ps_sess **p = &u->sess;
    while (*p != s)
        p = &(*p)->next;
    *p = s->next;
}

static enum ps_change change_of(const struct ps_sess *old, const struct ps_sess *now)
{
    bool was = old && old->status != PS_TOMB;
    if (!was)
        return PS_CH_ONLINE;
    if (now->status == PS_TOMB)
        return PS_CH_OFFLINE;
    if (old->status != now->status)
        return PS_CH_STATUS;
    return PS_CH_META;
}

static bool visible_change(const struct ps_sess *old, const struct ps_sess *now)
{
    bool was = old && old->status != PS_TOMB, is = now->status != PS_TOMB;
    if (was != is)
        return true;
    return is && (old->status != now->status || old->meta_len != now->meta_len ||
                  memcmp(old->data + old->sid_len, now->data + now->sid_len, now->meta_len) != 0);
}

static void count_live(struct ps_store *st, const struct ps_user *u, bool before, int dsess)
{
    bool after = user_live(u);
    st->users += (size_t)(after && !before);
    st->users -= (size_t)(before && !after);
    st->sessions = (size_t)((long)st->sessions + dsess);
}

static bool rec_ok(const struct ps_rec *r)
{
    return r->sid_len > 0 && r->sid_len <= PS_ID_MAX && r->meta_len <= PS_META_MAX &&
           r->status <= PS_TOMB && r->stamp != 0;
}

int ps_store_apply(struct ps_store *st, const void *user, size_t ulen, const struct ps_rec *in,
                   uint64_t now)
{
    if (!rec_ok(in) || ulen == 0 || ulen > PS_ID_MAX)
        return SR_EINVAL;
    struct ps_rec r = *in;
    if (r.status != PS_TOMB && r.expires <= now) {
        /* already expired: it is the tombstone every replica made */
        r.status = PS_TOMB;
        r.expires = sat_add(r.expires, st->tomb_keep_us);
        r.meta_len = 0;
    }
    struct ps_user *u = ps_store_find(st, user, ulen);
    struct ps_sess *old = ps_user_session(u, r.sid, r.sid_len);
    if (old ? rec_cmp(old, &r) <= 0 : (r.status == PS_TOMB && r.expires <= now))
        return 0;
    if (!u && !(u = user_get(st, user, ulen)))
        return SR_ENOMEM;
    struct ps_sess *s = sess_alloc(&r);
    if (!s || (!old && heap_push(st, s) < 0)) {
        free(s);
        if (!u->sess) { /* made just now for this record */
            table_remove(st, slot_of(st, u->key, u->klen, u->hash));
            free(u);
        }
        return SR_ENOMEM;
    }
    bool before = user_live(u);
    s->user = u;
    if (old) {
        /* replace in place: same list position, same heap slot */
        s->next = old->next;
        struct ps_sess **p = &u->sess;
        while (*p != old)
            p = &(*p)->next;
        *p = s;
        heap_set(st, old->heap, s);
        heap_fix(st, s);
    } else {
        s->next = u->sess;
        u->sess = s;
    }
    int dsess = (s->status != PS_TOMB) - (old && old->status != PS_TOMB);
    count_live(st, u, before, dsess);
    if (visible_change(old, s) && st->cb)
        st->cb(st->ud, u, s, change_of(old, s), old ? old->status : PS_TOMB);
    free(old);
    return 1;
}

static void user_free_at(struct ps_store *st, struct ps_user *u)
{
    bool before = user_live(u);
    int dsess = 0;
    while (u->sess) {
        struct ps_sess *s = u->sess;
        u->sess = s->next;
        dsess -= s->status != PS_TOMB;
        heap_remove(st, s);
        free(s);
    }
    count_live(st, u, before, dsess);
    table_remove(st, slot_of(st, u->key, u->klen, u->hash));
    free(u);
}

void ps_store_drop(struct ps_store *st, const void *user, size_t ulen)
{
    struct ps_user *u = ps_store_find(st, user, ulen);
    if (u)
        user_free_at(st, u);
}

/* The heap's top is due: a live session expires (becomes its tombstone),
 * a tombstone is forgotten (and the user with its last session). */
static bool expire_top(struct ps_store *st, uint64_t now)
{
    struct ps_sess *s = st->heap[0];
    struct ps_user *u = s->user;
    if (s->status == PS_TOMB) {
        heap_remove(st, s);
        unlink_sess(u, s);
        free(s);
        if (!u->sess)
            user_free_at(st, u);
        return false;
    }
    bool before = user_live(u);
    uint8_t old = s->status;
    s->status = PS_TOMB;
    s->expires = sat_add(s->expires, st->tomb_keep_us);
    s->meta_len = 0;
    heap_fix(st, s);
    count_live(st, u, before, -1);
    if (st->cb)
        st->cb(st->ud, u, s, PS_CH_EXPIRED, old);
    (void)now;
    return true;
}

size_t ps_store_expire(struct ps_store *st, uint64_t now)
{
    size_t n = 0;
    while (st->nheap && st->heap[0]->expires <= now)
        n += expire_top(st, now);
    return n;
}

uint64_t ps_store_next_expiry(const struct ps_store *st)
{
    return st->nheap ? st->heap[0]->expires : 0;
}

void ps_store_each(const struct ps_store *st, ps_user_f fn, void *arg)
{
    for (size_t i = 0; i < st->nslots; i++)
        if (st->slot[i] && fn(arg, st->slot[i]) != 0)
            return;
}

size_t ps_store_users(const struct ps_store *st) { return st->users; }
size_t ps_store_keys(const struct ps_store *st) { return st->nkeys; }
size_t ps_store_sessions(const struct ps_store *st) { return st->sessions; }

struct ps_store *ps_store_new(uint64_t tomb_keep_us, ps_change_f cb, void *ud)
{
    struct ps_store *st = calloc(1, sizeof(*st));
    if (!st)
        return NULL;
    st->tomb_keep_us = tomb_keep_us;
    st->cb = cb;
    st->ud = ud;
    if (table_grow(st) < 0) {
        free(st);
        return NULL;
    }
    return st;
}

void ps_store_delete(struct ps_store *st)
{
    if (!st)
        return;
    for (size_t i = 0; i < st->nslots; i++) {
        struct ps_user *u = st->slot[i];
        while (u && u->sess) {
            struct ps_sess *s = u->sess;
            u->sess = s->next;
            free(s);
        }
        free(u);
    }
    free(st->slot);
    free(st->heap);
    free(st);
}

/* ---- records ---------------------------------------------------------------------- */

int ps_rec_write(const struct ps_sess *s, struct sr_buf *out)
{
    struct sr_mp_writer w;
    sr_mp_writer_init(&w, out);
    sr_mp_write_array(&w, 5);
    sr_mp_write_str(&w, s->data, s->sid_len);
    sr_mp_write_uint(&w, s->stamp);
    sr_mp_write_uint(&w, s->status);
    sr_mp_write_uint(&w, s->expires);
    sr_mp_write_str(&w, s->data + s->sid_len, s->meta_len);
    return sr_mp_writer_error(&w);
}

int ps_rec_read(const void *buf, size_t len, struct ps_rec *out)
{
    struct sr_mp_reader r;
    uint32_t n, sl, ml;
    uint64_t st;
    sr_mp_reader_init(&r, buf, len);
    if (sr_mp_read_array(&r, &n) < 0 || n < 5 || sr_mp_read_str(&r, &out->sid, &sl) < 0 ||
        sr_mp_read_uint(&r, &out->stamp) < 0 || sr_mp_read_uint(&r, &st) < 0 ||
        sr_mp_read_uint(&r, &out->expires) < 0 || sr_mp_read_str(&r, &out->meta, &ml) < 0)
        return SR_EPROTO;
    out->sid_len = sl;
    out->meta_len = ml;
    if (st > PS_TOMB || sl == 0 || sl > PS_ID_MAX || ml > PS_META_MAX || out->stamp == 0)
        return SR_EPROTO;
    out->status = (uint8_t)st;
    return 0;
}

/* ---- JSON ------------------------------------------------------------------------- */

static json_t *sess_json(const struct ps_sess *s)
{
    json_t *meta = s->meta_len ? json_loadb(s->data + s->sid_len, s->meta_len, 0, NULL) : NULL;
    return json_pack("{s:s%, s:s, s:o, s:I, s:I}", "id", s->data, (size_t)s->sid_len, "status",
                     ps_status_name(s->status), "meta", meta ? meta : json_object(), "ts",
                     (json_int_t)(s->stamp / 1000), "expires", (json_int_t)(s->expires / 1000));
}

json_t *ps_user_json(const struct ps_user *u, const void *user, size_t ulen)
{
    enum ps_status agg = ps_user_aggregate(u);
    json_t *sessions = json_array();
    for (struct ps_sess *s = u ? u->sess : NULL; s && sessions; s = s->next)
        if (s->status != PS_TOMB)
            json_array_append_new(sessions, sess_json(s));
    return json_pack("{s:s%, s:s, s:o*}", "user", (const char *)user, ulen, "status",
                     ps_status_name(agg == PS_TOMB ? PS_OFFLINE : agg), "sessions", sessions);
}
