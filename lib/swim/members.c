#include "swim/members.h"

#include <stdlib.h>
#include <string.h>
#include "swimring/error.h"

uint64_t sr_swim_mix64(uint64_t x)
{
    /* SplitMix64 finaliser: full avalanche, so sums of terms do not cancel. */
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

uint64_t sr_swim_hash_str(const char *s, size_t len)
{
    uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a, then mixed */
    for (size_t i = 0; i < len; i++) {
        h ^= (uint8_t)s[i];
        h *= 0x100000001b3ULL;
    }
    return sr_swim_mix64(h);
}

uint64_t sr_swim_members_term(uint64_t hash, uint32_t status, uint64_t inc)
{
    if (status != SR_SWIM_ALIVE && status != SR_SWIM_SUSPECT)
        return 0;
    return sr_swim_mix64(hash ^ sr_swim_mix64(inc * 4 + status + 1));
}

static int grow(uint32_t **a, uint32_t *cap, uint32_t need)
{
    if (need <= *cap)
        return 0;
    uint32_t nc = *cap ? *cap * 2 : 16;
    while (nc < need)
        nc *= 2;
    uint32_t *p = realloc(*a, (size_t)nc * sizeof(**a));
    if (p == NULL)
        return SR_ENOMEM;
    *a = p;
    *cap = nc;
    return 0;
}

int sr_swim_members_init(struct sr_swim_members *t)
{
    memset(t, 0, sizeof(*t));
    t->mask = 63;
    t->slots = calloc(t->mask + 1, sizeof(*t->slots));
    return t->slots ? 0 : SR_ENOMEM;
}

static void rec_free(struct sr_swim_rec *r)
{
    free(r->name);
    free(r->labels);
    free(r->susp);
    memset(r, 0, sizeof(*r));
}

void sr_swim_members_destroy(struct sr_swim_members *t)
{
    for (uint32_t i = 0; i < t->nrecs; i++)
        if (t->recs[i].used)
            rec_free(&t->recs[i]);
    free(t->recs);
    free(t->free_ids);
    free(t->slots);
    free(t->order);
    free(t->suspects);
    free(t->tombs);
    memset(t, 0, sizeof(*t));
}

#define SLOT_TAG(h) ((h) >> 32 << 32)
#define SLOT_ID(s) ((uint32_t)(s) - 1)

uint32_t sr_swim_members_find(const struct sr_swim_members *t, const char *addr, size_t len)
{
    if (len >= SR_SWIM_ADDR_MAX)
        return SR_SWIM_NONE;
    uint64_t h = sr_swim_hash_str(addr, len);
    for (uint32_t i = (uint32_t)h & t->mask;; i = (i + 1) & t->mask) {
        uint64_t s = t->slots[i];
        if (s == 0)
            return SR_SWIM_NONE;
        if (SLOT_TAG(s) != SLOT_TAG(h))
            continue; /* the tag in the slot spares a cache miss on the record */
        const struct sr_swim_rec *r = &t->recs[SLOT_ID(s)];
        if (memcmp(r->addr, addr, len) == 0 && r->addr[len] == '\0')
            return SLOT_ID(s);
    }
}

static void slot_put(uint64_t *slots, uint32_t mask, uint64_t h, uint32_t id)
{
    uint32_t i = (uint32_t)h & mask;
    while (slots[i] != 0)
        i = (i + 1) & mask;
    slots[i] = SLOT_TAG(h) | (id + 1);
}

static int rehash(struct sr_swim_members *t)
{
    uint32_t nmask = t->mask * 2 + 1;
    uint64_t *ns = calloc((size_t)nmask + 1, sizeof(*ns));
    if (ns == NULL)
        return SR_ENOMEM;
    for (uint32_t i = 0; i <= t->mask; i++)
        if (t->slots[i])
            slot_put(ns, nmask, t->recs[SLOT_ID(t->slots[i])].hash, SLOT_ID(t->slots[i]));
    free(t->slots);
    t->slots = ns;
    t->mask = nmask;
    return 0;
}

/* Backward-shift deletion keeps probe chains intact without tombstones. */
static void slot_del(struct sr_swim_members *t, uint32_t id)
{
    uint32_t i = (uint32_t)t->recs[id].hash & t->mask;
    while (t->slots[i] == 0 || SLOT_ID(t->slots[i]) != id)
        i = (i + 1) & t->mask;
    uint32_t j = i;
    for (;;) {
        t->slots[i] = 0;
        for (;;) {
            j = (j + 1) & t->mask;
            if (t->slots[j] == 0)
                return;
            uint32_t home = (uint32_t)t->recs[SLOT_ID(t->slots[j])].hash & t->mask;
            /* move j back to i unless its home lies cyclically in (i, j] */
            bool stay = i <= j ? (i < home && home <= j) : (i < home || home <= j);
            if (!stay)
                break;
        }
        t->slots[i] = t->slots[j];
        i = j;
    }
}

static uint32_t rec_alloc(struct sr_swim_members *t)
{
    if (t->nfree > 0)
        return t->free_ids[--t->nfree];
    if (t->nrecs == t->caprecs) {
        uint32_t nc = t->caprecs ? t->caprecs * 2 : 16;
        struct sr_swim_rec *p = realloc(t->recs, (size_t)nc * sizeof(*p));
        if (p == NULL)
            return SR_SWIM_NONE;
        t->recs = p;
        t->caprecs = nc;
    }
    memset(&t->recs[t->nrecs], 0, sizeof(t->recs[0]));
    return t->nrecs++;
}

static char *dup_n(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

static void list_add(uint32_t **a, uint32_t *n, uint32_t *cap, struct sr_swim_rec *r, uint32_t id)
{
    if (grow(a, cap, *n + 1) < 0)
        abort(); /* tiny arrays; treat as fatal like malloc failure in libevent */
    r->list_pos = *n;
    (*a)[(*n)++] = id;
}

static void list_del(struct sr_swim_members *t, uint32_t *a, uint32_t *n, struct sr_swim_rec *r)
{
    uint32_t last = a[--*n];
    a[r->list_pos] = last;
    t->recs[last].list_pos = r->list_pos;
    r->list_pos = SR_SWIM_NONE;
}

static bool is_tomb(uint32_t st)
{
    return st == SR_SWIM_FAULTY || st == SR_SWIM_LEFT || st == SR_SWIM_TOMBSTONE;
}

uint32_t sr_swim_members_add(struct sr_swim_members *t, const char *addr, size_t alen,
                             const char *name, size_t nlen, uint64_t inc, bool self,
                             uint64_t rnd)
{
    if ((t->used + 1) * 2 > t->mask + 1 && rehash(t) < 0)
        return SR_SWIM_NONE;
    if (!self && grow(&t->order, &t->caporder, t->norder + 1) < 0)
        return SR_SWIM_NONE;
    uint32_t id = rec_alloc(t);
    if (id == SR_SWIM_NONE)
        return id;
    struct sr_swim_rec *r = &t->recs[id];
    if (alen >= SR_SWIM_ADDR_MAX)
        alen = SR_SWIM_ADDR_MAX - 1; /* callers check; never overflow */
    memcpy(r->addr, addr, alen);
    r->addr[alen] = '\0';
    r->name = dup_n(name, nlen);
    if (r->name == NULL) {
        rec_free(r);
        if (id == t->nrecs - 1)
            t->nrecs--;
        else
            t->free_ids[t->nfree++] = id; /* it came from there: room exists */
        return SR_SWIM_NONE;
    }
    r->used = true;
    r->is_self = self;
    r->hash = sr_swim_hash_str(addr, alen);
    r->incarnation = inc;
    r->status = SR_SWIM_ALIVE;
    r->bcast = SR_SWIM_NONE;
    r->list_pos = SR_SWIM_NONE;
    r->order_pos = SR_SWIM_NONE;
    r->term = sr_swim_members_term(r->hash, r->status, inc);
    t->checksum += r->term;
    t->counts[SR_SWIM_ALIVE]++;
    t->used++;
    slot_put(t->slots, t->mask, r->hash, id);
    if (!self) {
        /* a random slot: the newcomer is probed within one pass, at a random moment */
        uint32_t pos = (uint32_t)(rnd % ((uint64_t)t->norder + 1));
        if (pos != t->norder) {
            uint32_t moved = t->order[pos];
            t->order[t->norder] = moved;
            t->recs[moved].order_pos = t->norder;
        }
        t->order[pos] = id;
        r->order_pos = pos;
        t->norder++;
    }
    return id;
}

void sr_swim_members_remove(struct sr_swim_members *t, uint32_t id)
{
    struct sr_swim_rec *r = &t->recs[id];
    sr_swim_members_set(t, id, SR_SWIM_FAULTY, r->incarnation); /* drop term and list */
    list_del(t, t->tombs, &t->ntombs, r);
    t->counts[SR_SWIM_FAULTY]--;
    if (r->order_pos != SR_SWIM_NONE) {
        uint32_t last = t->order[--t->norder];
        t->order[r->order_pos] = last;
        t->recs[last].order_pos = r->order_pos;
    }
    slot_del(t, id);
    rec_free(r);
    t->used--;
    if (grow(&t->free_ids, &t->capfree, t->nfree + 1) == 0)
        t->free_ids[t->nfree++] = id;
}

void sr_swim_members_set(struct sr_swim_members *t, uint32_t id, uint32_t status, uint64_t inc)
{
    struct sr_swim_rec *r = &t->recs[id];
    uint32_t old = r->status;
    if (old != status) {
        if (old == SR_SWIM_SUSPECT)
            list_del(t, t->suspects, &t->nsuspects, r);
        else if (is_tomb(old) && !is_tomb(status))
            list_del(t, t->tombs, &t->ntombs, r);
        if (status == SR_SWIM_SUSPECT)
            list_add(&t->suspects, &t->nsuspects, &t->capsuspects, r, id);
        else if (is_tomb(status) && !is_tomb(old))
            list_add(&t->tombs, &t->ntombs, &t->captombs, r, id);
        t->counts[old]--;
        t->counts[status]++;
        r->status = (uint8_t)status;
    }
    r->incarnation = inc;
    t->checksum -= r->term;
    r->term = sr_swim_members_term(r->hash, status, inc);
    t->checksum += r->term;
}

int sr_swim_members_set_name(struct sr_swim_members *t, uint32_t id, const char *name, size_t len)
{
    struct sr_swim_rec *r = &t->recs[id];
    if (strncmp(r->name, name, len) == 0 && r->name[len] == '\0')
        return 0;
    char *p = dup_n(name, len);
    if (p == NULL)
        return SR_ENOMEM;
    free(r->name);
    r->name = p;
    return 0;
}

int sr_swim_members_set_labels(struct sr_swim_members *t, uint32_t id,
                               const struct sr_swim_label *labels, size_t n)
{
    struct sr_swim_rec *r = &t->recs[id];
    struct sr_swim_label *p = NULL;
    if (n > 0) {
        p = malloc(n * sizeof(*p));
        if (p == NULL)
            return SR_ENOMEM;
        memcpy(p, labels, n * sizeof(*p));
    }
    free(r->labels);
    r->labels = p;
    r->nlabels = (uint8_t)n;
    return 0;
}

void sr_swim_members_shuffle(struct sr_swim_members *t, uint64_t (*rnd)(void *), void *ud)
{
    for (uint32_t i = t->norder; i > 1; i--) {
        uint32_t j = (uint32_t)(rnd(ud) % i);
        uint32_t a = t->order[i - 1], b = t->order[j];
        t->order[i - 1] = b;
        t->order[j] = a;
        t->recs[b].order_pos = i - 1;
        t->recs[a].order_pos = j;
    }
}
