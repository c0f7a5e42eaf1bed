/* Byte-string hash map (node_kmap.h). */
#include "node_kmap.h"

#include <stdlib.h>
#include <string.h>
#include "swimring/farmhash.h"

void node_kmap_init(struct node_kmap *m)
{
    memset(m, 0, sizeof(*m));
}

void node_kmap_free(struct node_kmap *m)
{
    for (size_t i = 0; i < m->nslots; i++)
        for (struct node_kent *e = m->slot[i], *n; e; e = n) {
            n = e->next;
            free(e);
        }
    free(m->slot);
    node_kmap_init(m);
}

static uint64_t kmap_hash(const void *key, size_t len)
{
    return sr_farmhash_fingerprint32(key, len);
}

struct node_kent *node_kmap_get(const struct node_kmap *m, const void *key, size_t len)
{
    if (m->nslots == 0)
        return NULL;
    uint64_t h = kmap_hash(key, len);
    for (struct node_kent *e = m->slot[h & (m->nslots - 1)]; e; e = e->next)
        if (e->hash == h && e->len == len && memcmp(e->key, key, len) == 0)
            return e;
    return NULL;
}

static int kmap_grow(struct node_kmap *m)
{
    size_t n = m->nslots ? m->nslots * 2 : 64;
    struct node_kent **slot = calloc(n, sizeof(*slot));
    if (!slot)
        return -1;
    for (size_t i = 0; i < m->nslots; i++)
        for (struct node_kent *e = m->slot[i], *next; e; e = next) {
            next = e->next;
            e->next = slot[e->hash & (n - 1)];
            slot[e->hash & (n - 1)] = e;
        }
    free(m->slot);
    m->slot = slot;
    m->nslots = n;
    return 0;
}

struct node_kent *node_kmap_put(struct node_kmap *m, const void *key, size_t len, bool *created)
{
    struct node_kent *e = node_kmap_get(m, key, len);
    *created = e == NULL;
    if (e)
        return e;
    if (m->count >= m->nslots && kmap_grow(m) < 0 && m->nslots == 0)
        return NULL; /* a failed grow of a non-empty map just chains longer */
    if (!(e = calloc(1, sizeof(*e) + len)))
        return NULL;
    e->hash = kmap_hash(key, len);
    e->len = len;
    if (len)
        memcpy(e->key, key, len);
    struct node_kent **head = &m->slot[e->hash & (m->nslots - 1)];
    e->next = *head;
    *head = e;
    m->count++;
    return e;
}

void node_kmap_del(struct node_kmap *m, struct node_kent *e)
{
    struct node_kent **p = &m->slot[e->hash & (m->nslots - 1)];
    while (*p && *p != e)
        p = &(*p)->next;
    if (*p) {
        *p = e->next;
        m->count--;
        free(e);
    }
}
