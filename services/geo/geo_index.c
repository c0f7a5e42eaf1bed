/* The geo index: entries hashed by (cell, id), cells hashed by id, a
 * bucket per level-16 descendant, an expiry min-heap. See geo_index.h. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "swimring/error.h"
#include "swimring/hashring.h"
#include "swimring/s2.h"
#include "geo_index.h"

#define NBUCKETS 256
#define BUCKET_SHIFT (2 * (SR_S2_MAX_LEVEL - GEO_BUCKET_LEVEL) + 1) /* 29 */

/* A bucket entry: the point (as floats, for a conservative first test)
 * beside the object, so a search touches an object only when it may be a
 * hit (objects are separate allocations: a cache miss each). */
struct bent {
    float x, y, z;
    uint32_t live;           /* 0: a tombstone, never a hit */
    struct geo_obj *o;
};

struct bucket {
    sr_s2_point c;           /* centre of the level-16 cell */
    double r_rad;            /* angle from c to its farthest vertex */
    uint32_t n, cap;
    struct bent *v;
};

/* A cell's buckets sit in one array (a search walks it in order); idx maps
 * a level-16 child 0..255 to its position + 1 (0 = none yet). */
struct geo_cell {
    struct geo_cell *hnext;
    uint64_t id;
    size_t entries;          /* tombstones included */
    struct bucket *bk;
    uint16_t nbk, capbk;
    uint16_t idx[NBUCKETS];
};

static struct bucket *cell_bucket(struct geo_cell *c, unsigned k)
{
    return c->idx[k] ? &c->bk[c->idx[k] - 1] : NULL;
}

struct geo_index {
    bool spatial;
    struct geo_obj **slot;   /* entries by (cell, id) */
    size_t nslots, entries, live;
    struct geo_cell **cslot; /* cells by id */
    size_t ncslots, ncells;
    struct geo_obj **heap;   /* min-heap by expires */
    size_t heap_cap;
    size_t bytes;            /* what we allocated, for geo_index_memory */
};

/* ---- hashing ------------------------------------------------------------------ */

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    return x;
}

static size_t obj_slot(const struct geo_index *ix, uint64_t cellid, const char *id, size_t len)
{
    uint64_t h = sr_ring_hash(id, len);
    if (ix->spatial)
        h ^= mix64(cellid);
    return (size_t)(mix64(h) & (ix->nslots - 1));
}

static size_t cell_slot(const struct geo_index *ix, uint64_t cellid)
{
    return (size_t)(mix64(cellid) & (ix->ncslots - 1));
}

static struct geo_obj **obj_find(const struct geo_index *ix, uint64_t cellid, const char *id,
                                 size_t len)
{
    struct geo_obj **p = &ix->slot[obj_slot(ix, cellid, id, len)];
    while (*p && ((*p)->id_len != len || (ix->spatial && (*p)->cellid != cellid) ||
                  memcmp((*p)->id, id, len) != 0))
        p = &(*p)->hnext;
    return p;
}

static struct geo_cell **cell_find(const struct geo_index *ix, uint64_t cellid)
{
    struct geo_cell **p = &ix->cslot[cell_slot(ix, cellid)];
    while (*p && (*p)->id != cellid)
        p = &(*p)->hnext;
    return p;
}

/* Double a table when it holds as many entries as slots. */
static int obj_grow(struct geo_index *ix)
{
    if (ix->entries < ix->nslots)
        return 0;
    size_t old = ix->nslots;
    struct geo_obj **ns = calloc(old * 2, sizeof(*ns)), **os = ix->slot;
    if (!ns)
        return SR_ENOMEM;
    ix->slot = ns;
    ix->nslots = old * 2;
    for (size_t i = 0; i < old; i++)
        while (os[i]) {
            struct geo_obj *o = os[i];
            os[i] = o->hnext;
            size_t s = obj_slot(ix, o->cellid, o->id, o->id_len);
            o->hnext = ns[s];
            ns[s] = o;
        }
    free(os);
    ix->bytes += old * sizeof(*ns);
    return 0;
}

static int cell_grow(struct geo_index *ix)
{
    if (ix->ncells < ix->ncslots)
        return 0;
    size_t old = ix->ncslots;
    struct geo_cell **ns = calloc(old * 2, sizeof(*ns)), **os = ix->cslot;
    if (!ns)
        return SR_ENOMEM;
    ix->cslot = ns;
    ix->ncslots = old * 2;
    for (size_t i = 0; i < old; i++)
        while (os[i]) {
            struct geo_cell *c = os[i];
            os[i] = c->hnext;
            size_t s = cell_slot(ix, c->id);
            c->hnext = ns[s];
            ns[s] = c;
        }
    free(os);
    ix->bytes += old * sizeof(*ns);
    return 0;
}

/* ---- expiry heap ------------------------------------------------------------------ */

static void heap_set(struct geo_index *ix, size_t i, struct geo_obj *o)
{
    ix->heap[i] = o;
    o->heap_pos = (uint32_t)i;
}

static void heap_up(struct geo_index *ix, size_t i)
{
    struct geo_obj *o = ix->heap[i];
    while (i > 0 && ix->heap[(i - 1) / 2]->expires > o->expires) {
        heap_set(ix, i, ix->heap[(i - 1) / 2]);
        i = (i - 1) / 2;
    }
    heap_set(ix, i, o);
}

static void heap_down(struct geo_index *ix, size_t i)
{
    size_t n = ix->entries;
    struct geo_obj *o = ix->heap[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && ix->heap[c + 1]->expires < ix->heap[c]->expires)
            c++;
        if (ix->heap[c]->expires >= o->expires)
            break;
        heap_set(ix, i, ix->heap[c]);
        i = c;
    }
    heap_set(ix, i, o);
}

/* Called with ix->entries already counting the new entry. */
static int heap_push(struct geo_index *ix, struct geo_obj *o)
{
    if (ix->entries > ix->heap_cap) {
        size_t cap = ix->heap_cap ? ix->heap_cap * 2 : 64;
        struct geo_obj **h = realloc(ix->heap, cap * sizeof(*h));
        if (!h)
            return SR_ENOMEM;
        ix->bytes += (cap - ix->heap_cap) * sizeof(*h);
        ix->heap = h;
        ix->heap_cap = cap;
    }
    heap_set(ix, ix->entries - 1, o);
    heap_up(ix, ix->entries - 1);
    return 0;
}

/* Called before ix->entries drops. */
static void heap_remove(struct geo_index *ix, struct geo_obj *o)
{
    size_t i = o->heap_pos, last = ix->entries - 1;
    if (i == last)
        return;
    struct geo_obj *m = ix->heap[last];
    heap_set(ix, i, m);
    ix->entries--; /* heap_down must not see the old last slot */
    heap_down(ix, i);
    heap_up(ix, m->heap_pos);
    ix->entries++;
}

static void heap_fix(struct geo_index *ix, struct geo_obj *o)
{
    heap_up(ix, o->heap_pos);
    heap_down(ix, o->heap_pos);
}

/* ---- cells and buckets ---------------------------------------------------------------- */

static struct geo_cell *cell_get(struct geo_index *ix, uint64_t cellid)
{
    struct geo_cell **p = cell_find(ix, cellid);
    if (*p)
        return *p;
    if (cell_grow(ix) < 0)
        return NULL;
    struct geo_cell *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    ix->bytes += sizeof(*c);
    c->id = cellid;
    p = cell_find(ix, cellid); /* the table may have grown */
    c->hnext = *p;
    *p = c;
    ix->ncells++;
    return c;
}

static void cell_free(struct geo_index *ix, struct geo_cell *c)
{
    for (size_t i = 0; i < c->nbk; i++) {
        ix->bytes -= c->bk[i].cap * sizeof(struct bent);
        free(c->bk[i].v);
    }
    ix->bytes -= c->capbk * sizeof(struct bucket);
    free(c->bk);
    ix->bytes -= sizeof(*c);
    free(c);
}

static void cell_unref(struct geo_index *ix, struct geo_cell *c)
{
    if (--c->entries > 0)
        return;
    struct geo_cell **p = cell_find(ix, c->id);
    *p = c->hnext;
    ix->ncells--;
    cell_free(ix, c);
}

/* The bucket of level-16 child k (creating it for `leaf` if needed). */
static struct bucket *bucket_get(struct geo_index *ix, struct geo_cell *c, unsigned k,
                                 uint64_t leaf)
{
    struct bucket *b = cell_bucket(c, k);
    if (b)
        return b;
    if (c->nbk == c->capbk) {
        uint16_t cap = c->capbk ? (uint16_t)(c->capbk * 2) : 4;
        struct bucket *v = realloc(c->bk, cap * sizeof(*v));
        if (!v)
            return NULL;
        ix->bytes += (size_t)(cap - c->capbk) * sizeof(*v);
        c->bk = v;
        c->capbk = cap;
    }
    b = &c->bk[c->nbk++];
    c->idx[k] = c->nbk;
    *b = (struct bucket){0};
    uint64_t sub = sr_s2_cell_parent(leaf, GEO_BUCKET_LEVEL);
    sr_s2_point v[4];
    b->c = sr_s2_cell_center(sub);
    sr_s2_cell_vertices(sub, v);
    for (int i = 0; i < 4; i++) {
        double a = sr_s2_point_angle_rad(b->c, v[i]);
        b->r_rad = a > b->r_rad ? a : b->r_rad;
    }
    b->r_rad *= 1 + 1e-9; /* rounding never makes the bound too tight */
    return b;
}

/* Live entries go to the bucket of their position (checked to be in the
 * cell before), tombstones to the first child's (searches skip them): so a
 * cell's buckets hold all its entries and walking them walks the cell. */
static int bucket_add(struct geo_index *ix, struct geo_obj *o)
{
    sr_s2_point p = sr_s2_point_from_latlng(o->lat, o->lng);
    uint64_t leaf = o->deleted ? sr_s2_cell_range_min(o->cellid) : sr_s2_cell_from_point(p);
    o->bucket = (uint8_t)((leaf >> BUCKET_SHIFT) & (NBUCKETS - 1));
    struct bucket *b = bucket_get(ix, o->cell, o->bucket, leaf);
    if (!b)
        return SR_ENOMEM;
    if (b->n == b->cap) {
        uint32_t cap = b->cap ? b->cap * 2 : 1; /* sparse cells: one or two per bucket */
        struct bent *v = realloc(b->v, cap * sizeof(*v));
        if (!v)
            return SR_ENOMEM;
        ix->bytes += (cap - b->cap) * sizeof(*v);
        b->v = v;
        b->cap = cap;
    }
    o->bpos = b->n;
    b->v[b->n++] = (struct bent){(float)p.x, (float)p.y, (float)p.z, !o->deleted, o};
    return 0;
}

static void bucket_del(struct geo_obj *o)
{
    struct bucket *b = cell_bucket(o->cell, o->bucket);
    b->v[o->bpos] = b->v[--b->n];
    b->v[o->bpos].o->bpos = o->bpos;
}

/* ---- entries ------------------------------------------------------------------------ */

/* Unlink from its bucket and the counters; the entry stays hashed. */
static void obj_unplace(struct geo_index *ix, struct geo_obj *o)
{
    if (o->cell)
        bucket_del(o);
    ix->live -= !o->deleted;
}

static int obj_place(struct geo_index *ix, struct geo_obj *o)
{
    if (o->cell) {
        int rc = bucket_add(ix, o);
        if (rc < 0)
            return rc;
    }
    ix->live += !o->deleted;
    return 0;
}

/* placed: the entry is in its bucket and counted (false only when placing
 * it failed). */
static void obj_destroy(struct geo_index *ix, struct geo_obj *o, bool placed)
{
    struct geo_obj **p = obj_find(ix, o->cellid, o->id, o->id_len);
    if (placed)
        obj_unplace(ix, o);
    *p = o->hnext;
    heap_remove(ix, o);
    ix->entries--;
    ix->bytes -= sizeof(*o) + o->id_len + o->attrs_len;
    struct geo_cell *c = o->cell;
    free(o->attrs);
    free(o);
    if (c)
        cell_unref(ix, c);
}

/* Newer means: higher ts; at equal ts a tombstone, then the later expiry,
 * then the larger position (a total order, so replicas agree). */
static bool rec_newer(const struct geo_rec *r, const struct geo_obj *o)
{
    if (r->ts != o->ts)
        return r->ts > o->ts;
    if (r->deleted != o->deleted)
        return r->deleted;
    if (r->expires != o->expires)
        return r->expires > o->expires;
    if (r->lat != o->lat)
        return r->lat > o->lat;
    return r->lng > o->lng;
}

static bool rec_valid(const struct geo_index *ix, const struct geo_rec *r)
{
    if (r->id_len == 0 || r->id_len > GEO_ID_MAX || r->attrs_len > GEO_ATTRS_MAX)
        return false;
    if (!r->deleted && !(r->lat >= -90 && r->lat <= 90 && r->lng >= -180 && r->lng <= 180))
        return false;
    return !ix->spatial || (sr_s2_cell_is_valid(r->cellid) &&
                            sr_s2_cell_level(r->cellid) == GEO_CELL_LEVEL);
}

static int obj_set_attrs(struct geo_index *ix, struct geo_obj *o, const struct geo_rec *r)
{
    char *a = NULL;
    if (r->attrs_len && !r->deleted) {
        if (!(a = malloc(r->attrs_len)))
            return SR_ENOMEM;
        memcpy(a, r->attrs, r->attrs_len);
    }
    ix->bytes -= o->attrs_len;
    free(o->attrs);
    o->attrs = a;
    o->attrs_len = a ? (uint32_t)r->attrs_len : 0;
    ix->bytes += o->attrs_len;
    return 0;
}

static void obj_fill(struct geo_obj *o, const struct geo_rec *r)
{
    o->cellid = r->cellid;
    o->ts = r->ts;
    o->expires = r->expires;
    o->deleted = r->deleted;
    o->lat = r->deleted ? 0 : r->lat;
    o->lng = r->deleted ? 0 : r->lng;
}

static int obj_insert(struct geo_index *ix, const struct geo_rec *r)
{
    struct geo_cell *c = NULL;
    if (obj_grow(ix) < 0 || (ix->spatial && !(c = cell_get(ix, r->cellid))))
        return SR_ENOMEM;
    struct geo_obj *o = calloc(1, sizeof(*o) + r->id_len);
    if (!o)
        goto nomem;
    memcpy(o->id, r->id, r->id_len);
    o->id_len = (uint16_t)r->id_len;
    o->cell = c;
    obj_fill(o, r);
    if (obj_set_attrs(ix, o, r) < 0)
        goto nomem;
    ix->entries++;
    if (c)
        c->entries++;
    if (heap_push(ix, o) < 0) {
        ix->entries--;
        if (c)
            c->entries--;
        goto nomem;
    }
    struct geo_obj **p = obj_find(ix, r->cellid, r->id, r->id_len);
    o->hnext = *p;
    *p = o;
    ix->bytes += sizeof(*o) + o->id_len;
    int rc = obj_place(ix, o);
    if (rc < 0)
        obj_destroy(ix, o, false);
    return rc < 0 ? rc : 1;
nomem:
    if (o)
        free(o->attrs);
    free(o);
    if (c && c->entries == 0) {
        c->entries = 1;
        cell_unref(ix, c);
    }
    return SR_ENOMEM;
}

int geo_index_apply(struct geo_index *ix, const struct geo_rec *r, uint64_t now_us)
{
    if (!rec_valid(ix, r))
        return SR_EINVAL;
    if (ix->spatial && !r->deleted) {
        /* The position must be in the cell the record names. */
        sr_s2_point p = sr_s2_point_from_latlng(r->lat, r->lng);
        if (sr_s2_cell_parent(sr_s2_cell_from_point(p), GEO_CELL_LEVEL) != r->cellid)
            return SR_EINVAL;
    }
    struct geo_obj *o = *obj_find(ix, r->cellid, r->id, r->id_len);
    if (o && !rec_newer(r, o))
        return 0;
    if (r->expires <= now_us) {
        /* Already over: nothing to keep, but it still supersedes what is held. */
        if (o)
            obj_destroy(ix, o, true);
        return o ? 1 : 0;
    }
    if (!o)
        return obj_insert(ix, r);
    int rc = obj_set_attrs(ix, o, r);
    if (rc < 0)
        return rc;
    obj_unplace(ix, o);
    if (!ix->spatial)
        o->cellid = r->cellid; /* directory: same hash key, new cell */
    obj_fill(o, r);
    heap_fix(ix, o);
    if ((rc = obj_place(ix, o)) < 0) {
        obj_destroy(ix, o, false);
        return rc;
    }
    return 1;
}

const struct geo_obj *geo_index_get(const struct geo_index *ix, uint64_t cellid, const char *id,
                                    size_t id_len)
{
    return *obj_find(ix, cellid, id, id_len);
}

size_t geo_index_expire(struct geo_index *ix, uint64_t now_us)
{
    size_t n = 0;
    while (ix->entries && ix->heap[0]->expires <= now_us) {
        obj_destroy(ix, ix->heap[0], true);
        n++;
    }
    return n;
}

uint64_t geo_index_next_expiry(const struct geo_index *ix)
{
    return ix->entries ? ix->heap[0]->expires : 0;
}

size_t geo_index_count(const struct geo_index *ix) { return ix->live; }
size_t geo_index_entries(const struct geo_index *ix) { return ix->entries; }

size_t geo_index_memory(const struct geo_index *ix)
{
    return ix->bytes;
}

/* ---- nearest ------------------------------------------------------------------------------ */

struct cand {
    double lb_rad;
    struct bucket *b;
};

static void cand_sift(struct cand *h, size_t n, size_t i)
{
    struct cand x = h[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && h[c + 1].lb_rad < h[c].lb_rad)
            c++;
        if (h[c].lb_rad >= x.lb_rad)
            break;
        h[i] = h[c];
        i = c;
    }
    h[i] = x;
}

static struct cand cand_pop(struct cand *h, size_t *n)
{
    struct cand top = h[0];
    h[0] = h[--*n];
    if (*n)
        cand_sift(h, *n, 0);
    return top;
}

/* Result order: distance, then id. */
static bool hit_before(const struct geo_hit *a, const struct geo_hit *b)
{
    if (a->dist_m != b->dist_m)
        return a->dist_m < b->dist_m;
    size_t n = a->obj->id_len < b->obj->id_len ? a->obj->id_len : b->obj->id_len;
    int c = memcmp(a->obj->id, b->obj->id, n);
    return c ? c < 0 : a->obj->id_len < b->obj->id_len;
}

/* out[0..n) is a max-heap by hit_before: out[0] is the worst kept. */
static void top_push(struct geo_hit *h, size_t *n, size_t limit, struct geo_hit x)
{
    size_t i;
    if (*n < limit) {
        i = (*n)++;
        while (i > 0 && hit_before(&h[(i - 1) / 2], &x)) {
            h[i] = h[(i - 1) / 2];
            i = (i - 1) / 2;
        }
        h[i] = x;
        return;
    }
    if (!hit_before(&x, &h[0]))
        return;
    i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= *n)
            break;
        if (c + 1 < *n && hit_before(&h[c], &h[c + 1]))
            c++;
        if (!hit_before(&x, &h[c]))
            break;
        h[i] = h[c];
        i = c;
    }
    h[i] = x;
}

static int hit_cmp(const void *a, const void *b)
{
    const struct geo_hit *x = a, *y = b;
    return hit_before(x, y) ? -1 : hit_before(y, x);
}

/* Gather the buckets that may hold a point within the radius. */
static size_t nearby_buckets(struct geo_index *ix, const uint64_t *cells, size_t ncells,
                             sr_s2_point q, double r_rad, struct cand **out)
{
    size_t n = 0, cap = 0;
    /* Cheap first test on the squared chord: a bucket's centre farther than
     * the radius plus any level-16 cell's radius (below S2's max diagonal
     * at level 16, 2.44 * 2^-16 rad) cannot hold a hit. */
    double far = fmin(r_rad + 2.5 / 65536, M_PI), far_ch = 2 * sin(far / 2);
    double far_ch2 = far >= M_PI ? 5 : far_ch * far_ch * (1 + 1e-9);
    *out = NULL;
    for (size_t i = 0; i < ncells; i++) {
        struct geo_cell *c = *cell_find(ix, cells[i]);
        for (size_t k = 0; c && k < c->nbk; k++) {
            struct bucket *b = &c->bk[k];
            if (b->n == 0)
                continue;
            double dx = b->c.x - q.x, dy = b->c.y - q.y, dz = b->c.z - q.z;
            if (dx * dx + dy * dy + dz * dz > far_ch2)
                continue;
            /* chord <= angle: chord - r is a (cheap) lower bound too */
            double lb = sqrt(dx * dx + dy * dy + dz * dz) - b->r_rad;
            if (lb > r_rad)
                continue;
            if (n == cap) {
                size_t nc = cap ? cap * 2 : 64;
                struct cand *v = realloc(*out, nc * sizeof(*v));
                if (!v)
                    return n; /* out of memory: search what we have */
                *out = v;
                cap = nc;
            }
            (*out)[n++] = (struct cand){lb < 0 ? 0 : lb, b};
        }
    }
    /* A min-heap (O(n)): a dense search pops only the first few. */
    for (size_t i = n / 2; i-- > 0;)
        cand_sift(*out, n, i);
    return n;
}

size_t geo_index_nearby(struct geo_index *ix, const uint64_t *cells, size_t ncells, double lat,
                        double lng, double radius_m, size_t limit, const struct geo_filter *f,
                        uint64_t now_us, struct geo_hit *out)
{
    if (!ix->spatial || limit == 0 || !(radius_m >= 0))
        return 0;
    sr_s2_point q = sr_s2_point_from_latlng(lat, lng);
    double r_rad = radius_m / SR_S2_EARTH_RADIUS_M;
    /* Chord prefilter with slack; the exact test is sr_s2_distance_m. */
    double ch = 2 * sin(fmin(r_rad, M_PI) / 2);
    /* The float copies are within ~1e-7 of the point: widen the test. */
    double chf = ch + 4e-7, chf2 = chf * chf;
    struct cand *cv;
    size_t nc = nearby_buckets(ix, cells, ncells, q, r_rad, &cv), n = 0;
    while (nc > 0) {
        struct cand next = cand_pop(cv, &nc);
        /* The next bucket cannot beat the worst kept: done. */
        if (n == limit && next.lb_rad * SR_S2_EARTH_RADIUS_M > out[0].dist_m * (1 + 1e-9) + 1e-6)
            break;
        struct bucket *b = next.b;
        for (uint32_t k = 0; k < b->n; k++) {
            const struct bent *e = &b->v[k];
            double ex = e->x - q.x, ey = e->y - q.y, ez = e->z - q.z;
            if (!e->live || ex * ex + ey * ey + ez * ez > chf2)
                continue;
            const struct geo_obj *o = e->o;
            if (o->expires <= now_us)
                continue;
            double d = sr_s2_distance_m(lat, lng, o->lat, o->lng);
            if (d > radius_m || (f && !geo_filter_match(f, o->attrs, o->attrs_len)))
                continue;
            top_push(out, &n, limit, (struct geo_hit){o, d});
        }
    }
    free(cv);
    qsort(out, n, sizeof(*out), hit_cmp);
    return n;
}

/* ---- state walks ------------------------------------------------------------------------- */

void geo_index_cells(const struct geo_index *ix, int (*fn)(void *arg, uint64_t cellid), void *arg)
{
    for (size_t i = 0; i < ix->ncslots; i++)
        for (struct geo_cell *c = ix->cslot[i]; c; c = c->hnext)
            if (fn(arg, c->id) != 0)
                return;
}

bool geo_index_has_cell(const struct geo_index *ix, uint64_t cellid)
{
    return *cell_find(ix, cellid) != NULL;
}

int geo_index_cell_entries(const struct geo_index *ix, uint64_t cellid,
                           int (*fn)(void *arg, const struct geo_obj *o), void *arg)
{
    struct geo_cell *c = *cell_find(ix, cellid);
    for (size_t k = 0; c && k < c->nbk; k++)
        for (uint32_t i = 0; i < c->bk[k].n; i++) {
            int rc = fn(arg, c->bk[k].v[i].o);
            if (rc)
                return rc;
        }
    return 0;
}

void geo_index_walk(const struct geo_index *ix, int (*fn)(void *arg, const struct geo_obj *o),
                    void *arg)
{
    for (size_t i = 0; i < ix->entries; i++) /* the heap holds every entry once */
        if (fn(arg, ix->heap[i]) != 0)
            return;
}

void geo_index_remove(struct geo_index *ix, uint64_t cellid, const char *id, size_t id_len)
{
    struct geo_obj *o = *obj_find(ix, cellid, id, id_len);
    if (o)
        obj_destroy(ix, o, true);
}

void geo_index_drop_cell(struct geo_index *ix, uint64_t cellid)
{
    struct geo_cell *c;
    while ((c = *cell_find(ix, cellid)) != NULL) {
        struct geo_obj *victim = NULL;
        for (size_t k = 0; k < c->nbk && !victim; k++)
            if (c->bk[k].n)
                victim = c->bk[k].v[0].o;
        obj_destroy(ix, victim, true); /* the last one frees the cell */
    }
}

/* ---- life ------------------------------------------------------------------------------ */

struct geo_index *geo_index_new(bool spatial)
{
    struct geo_index *ix = calloc(1, sizeof(*ix));
    if (!ix)
        return NULL;
    ix->spatial = spatial;
    ix->nslots = 1024;
    ix->ncslots = 64;
    ix->slot = calloc(ix->nslots, sizeof(*ix->slot));
    ix->cslot = calloc(ix->ncslots, sizeof(*ix->cslot));
    if (!ix->slot || !ix->cslot) {
        free(ix->slot);
        free(ix->cslot);
        free(ix);
        return NULL;
    }
    ix->bytes = sizeof(*ix) + (ix->nslots + ix->ncslots) * sizeof(void *);
    return ix;
}

void geo_index_free(struct geo_index *ix)
{
    if (!ix)
        return;
    for (size_t i = 0; i < ix->entries; i++) {
        free(ix->heap[i]->attrs);
        free(ix->heap[i]);
    }
    for (size_t i = 0; i < ix->ncslots; i++)
        while (ix->cslot[i]) {
            struct geo_cell *c = ix->cslot[i];
            ix->cslot[i] = c->hnext;
            cell_free(ix, c);
        }
    free(ix->heap);
    free(ix->slot);
    free(ix->cslot);
    free(ix);
}

/* ---- cell keys ---------------------------------------------------------------------------- */

void geo_cell_key(uint64_t cellid, uint8_t out[8])
{
    for (int i = 0; i < 8; i++)
        out[i] = (uint8_t)(cellid >> (56 - 8 * i));
}

bool geo_cell_from_key(const void *key, size_t len, uint64_t *cellid)
{
    const uint8_t *k = key;
    uint64_t id = 0;
    if (len != 8)
        return false;
    for (int i = 0; i < 8; i++)
        id = id << 8 | k[i];
    if (!sr_s2_cell_is_valid(id) || sr_s2_cell_level(id) != GEO_CELL_LEVEL)
        return false;
    *cellid = id;
    return true;
}
