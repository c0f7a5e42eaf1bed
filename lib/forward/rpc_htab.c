/* Chained hash table (see htab.h). */
#include "forward/rpc_htab.h"

#include <stdlib.h>
#include "swimring/error.h"

int sr_rpc_htab_create(struct sr_rpc_htab *t, size_t initial_buckets)
{
    size_t n = 8;
    while (n < initial_buckets)
        n <<= 1;
    t->buckets = calloc(n, sizeof(*t->buckets));
    if (t->buckets == NULL)
        return SR_ENOMEM;
    t->mask = n - 1;
    t->count = 0;
    return 0;
}

void sr_rpc_htab_destroy(struct sr_rpc_htab *t)
{
    free(t->buckets);
    t->buckets = NULL;
    t->mask = 0;
    t->count = 0;
}

static void grow(struct sr_rpc_htab *t)
{
    size_t n = (t->mask + 1) * 2;
    struct sr_rpc_htab_node **b = calloc(n, sizeof(*b));
    if (b == NULL)
        return;
    for (size_t i = 0; i <= t->mask; i++) {
        struct sr_rpc_htab_node *e = t->buckets[i];
        while (e != NULL) {
            struct sr_rpc_htab_node *next = e->next;
            size_t j = e->hash & (n - 1);
            e->next = b[j];
            b[j] = e;
            e = next;
        }
    }
    free(t->buckets);
    t->buckets = b;
    t->mask = n - 1;
}

void sr_rpc_htab_insert(struct sr_rpc_htab *t, struct sr_rpc_htab_node *n)
{
    if (t->count > t->mask)
        grow(t);
    size_t i = n->hash & t->mask;
    n->next = t->buckets[i];
    t->buckets[i] = n;
    t->count++;
}

void sr_rpc_htab_remove(struct sr_rpc_htab *t, struct sr_rpc_htab_node *n)
{
    struct sr_rpc_htab_node **pp = &t->buckets[n->hash & t->mask];
    while (*pp != NULL) {
        if (*pp == n) {
            *pp = n->next;
            n->next = NULL;
            t->count--;
            return;
        }
        pp = &(*pp)->next;
    }
}

struct sr_rpc_htab_node *sr_rpc_htab_first(const struct sr_rpc_htab *t, uint64_t hash)
{
    struct sr_rpc_htab_node *e = t->buckets[hash & t->mask];
    while (e != NULL && e->hash != hash)
        e = e->next;
    return e;
}

struct sr_rpc_htab_node *sr_rpc_htab_next(const struct sr_rpc_htab_node *n)
{
    struct sr_rpc_htab_node *e = n->next;
    while (e != NULL && e->hash != n->hash)
        e = e->next;
    return e;
}

struct sr_rpc_htab_node *sr_rpc_htab_any(const struct sr_rpc_htab *t)
{
    for (size_t i = 0; i <= t->mask; i++)
        if (t->buckets[i] != NULL)
            return t->buckets[i];
    return NULL;
}

uint64_t sr_rpc_htab_mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

uint64_t sr_rpc_htab_fnv1a(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (; *s != '\0'; s++) {
        h ^= (uint8_t)*s;
        h *= 0x100000001b3ULL;
    }
    return h;
}
