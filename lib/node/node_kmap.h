/* A hash map from byte-string keys to a small fixed-size value, for the
 * node's state bookkeeping (request ids, keys being handed off). Chained,
 * grows by doubling; entries are single allocations holding the key. */
#ifndef SWIMRING_NODE_KMAP_H
#define SWIMRING_NODE_KMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct node_kent {
    struct node_kent *next;
    uint64_t hash;
    size_t len;
    uint64_t val;       /* the caller's: a count, a pointer, a state */
    uint8_t key[];
};

struct node_kmap {
    struct node_kent **slot;
    size_t nslots, count;
};

/* An empty map (no allocation until the first put). */
void node_kmap_init(struct node_kmap *m);
void node_kmap_free(struct node_kmap *m);
struct node_kent *node_kmap_get(const struct node_kmap *m, const void *key, size_t len);
/* The entry for key, created with val 0 when missing (*created says which).
 * NULL when out of memory. */
struct node_kent *node_kmap_put(struct node_kmap *m, const void *key, size_t len, bool *created);
/* Remove and free an entry returned by get/put. */
void node_kmap_del(struct node_kmap *m, struct node_kent *e);

#endif
