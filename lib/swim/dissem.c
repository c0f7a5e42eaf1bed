#include "swim/dissem.h"

#include <stdlib.h>
#include <string.h>
#include "swimring/error.h"

void sr_swim_dissem_init(struct sr_swim_dissem *d)
{
    memset(d, 0, sizeof(*d));
    for (int i = 0; i < SR_SWIM_DISSEM_BUCKETS; i++)
        d->head[i] = SR_SWIM_NONE;
}

void sr_swim_dissem_destroy(struct sr_swim_dissem *d)
{
    for (uint32_t i = 0; i < d->nitems; i++)
        free(d->items[i].blob);
    free(d->items);
    free(d->free_ids);
    free(d->sent);
    memset(d, 0, sizeof(*d));
}

static void unlink_item(struct sr_swim_dissem *d, uint32_t id)
{
    struct sr_swim_bcast *it = &d->items[id];
    if (it->prev != SR_SWIM_NONE)
        d->items[it->prev].next = it->next;
    else
        d->head[it->transmits] = it->next;
    if (it->next != SR_SWIM_NONE)
        d->items[it->next].prev = it->prev;
}

static void link_head(struct sr_swim_dissem *d, uint32_t id)
{
    struct sr_swim_bcast *it = &d->items[id];
    it->prev = SR_SWIM_NONE;
    it->next = d->head[it->transmits];
    if (it->next != SR_SWIM_NONE)
        d->items[it->next].prev = id;
    d->head[it->transmits] = id;
}

static void retire(struct sr_swim_dissem *d, struct sr_swim_members *t, uint32_t id)
{
    struct sr_swim_bcast *it = &d->items[id];
    t->recs[it->member].bcast = SR_SWIM_NONE;
    free(it->blob);
    it->blob = NULL;
    d->free_ids[d->nfree++] = id; /* capfree >= nitems, see queue */
    d->count--;
}

static uint32_t item_alloc(struct sr_swim_dissem *d)
{
    if (d->nfree > 0)
        return d->free_ids[--d->nfree];
    if (d->nitems == d->capitems) {
        uint32_t nc = d->capitems ? d->capitems * 2 : 32;
        struct sr_swim_bcast *p = realloc(d->items, (size_t)nc * sizeof(*p));
        uint32_t *f = realloc(d->free_ids, (size_t)nc * sizeof(*f));
        if (f)
            d->free_ids = f;
        if (p == NULL || f == NULL) {
            if (p)
                d->items = p;
            return SR_SWIM_NONE;
        }
        d->items = p;
        d->capitems = d->capfree = nc;
    }
    d->items[d->nitems].blob = NULL;
    return d->nitems++;
}

int sr_swim_dissem_queue(struct sr_swim_dissem *d, struct sr_swim_members *t, uint32_t member,
                         const void *blob, size_t len, uint32_t sent)
{
    if (sent >= SR_SWIM_DISSEM_BUCKETS)
        sent = SR_SWIM_DISSEM_BUCKETS - 1;
    uint8_t *copy = malloc(len);
    if (copy == NULL)
        return SR_ENOMEM;
    memcpy(copy, blob, len);
    struct sr_swim_rec *r = &t->recs[member];
    uint32_t id = r->bcast;
    if (id != SR_SWIM_NONE) {
        unlink_item(d, id);
        free(d->items[id].blob);
    } else {
        id = item_alloc(d);
        if (id == SR_SWIM_NONE) {
            free(copy);
            return SR_ENOMEM;
        }
        d->count++;
        r->bcast = id;
    }
    struct sr_swim_bcast *it = &d->items[id];
    it->blob = copy;
    it->len = (uint32_t)len;
    it->member = member;
    it->transmits = sent;
    link_head(d, id);
    return 0;
}

void sr_swim_dissem_drop(struct sr_swim_dissem *d, struct sr_swim_members *t, uint32_t member)
{
    uint32_t id = t->recs[member].bcast;
    if (id == SR_SWIM_NONE)
        return;
    unlink_item(d, id);
    retire(d, t, id);
}

void sr_swim_dissem_seen(struct sr_swim_dissem *d, struct sr_swim_members *t, uint32_t member,
                         uint32_t limit)
{
    uint32_t id = t->recs[member].bcast;
    if (id == SR_SWIM_NONE)
        return;
    unlink_item(d, id);
    if (++d->items[id].transmits >= limit || d->items[id].transmits >= SR_SWIM_DISSEM_BUCKETS)
        retire(d, t, id);
    else
        link_head(d, id);
}

size_t sr_swim_dissem_pack(struct sr_swim_dissem *d, struct sr_swim_members *t, struct sr_buf *b,
                           size_t mtu, uint32_t limit)
{
    size_t n = 0, misses = 0;
    if (limit >= SR_SWIM_DISSEM_BUCKETS)
        limit = SR_SWIM_DISSEM_BUCKETS - 1;
    if (b->len >= mtu || sr_buf_reserve(b, mtu - b->len) < 0)
        return 0;
    if (d->capsent < d->count) {
        uint32_t *p = realloc(d->sent, (size_t)d->count * sizeof(*p));
        if (p == NULL)
            return 0;
        d->sent = p;
        d->capsent = d->count;
    }
    for (uint32_t bk = 0; bk < SR_SWIM_DISSEM_BUCKETS && misses < 8; bk++) {
        for (uint32_t id = d->head[bk]; id != SR_SWIM_NONE && misses < 8;) {
            struct sr_swim_bcast *it = &d->items[id];
            uint32_t next = it->next;
            if (bk >= limit) { /* limit shrank (cluster got smaller): done with it */
                unlink_item(d, id);
                retire(d, t, id);
            } else if (b->len + it->len <= mtu) {
                memcpy(b->data + b->len, it->blob, it->len); /* reserved above */
                b->len += it->len;
                d->sent[n++] = id;
            } else {
                misses++; /* a smaller one further on may still fit */
            }
            id = next;
        }
    }
    /* Move what was sent one bucket up, oldest first so the newest ends on top. */
    for (size_t i = n; i-- > 0;) {
        uint32_t id = d->sent[i];
        unlink_item(d, id);
        d->items[id].transmits++;
        if (d->items[id].transmits >= limit)
            retire(d, t, id);
        else
            link_head(d, id);
    }
    return n;
}
