/* A small intrusive chained hash table keyed by a 64-bit hash. Entries embed
 * a struct sr_rpc_htab_node; the caller compares full keys while walking a
 * chain (request ids are their own hash, peer addresses use FNV-1a). The
 * bucket array doubles at load factor 1, so lookups stay O(1) with tens of
 * thousands of requests in flight. */
#ifndef SWIMRING_FORWARD_RPC_HTAB_H
#define SWIMRING_FORWARD_RPC_HTAB_H

#include <stddef.h>
#include <stdint.h>

struct sr_rpc_htab_node {
    struct sr_rpc_htab_node *next;
    uint64_t hash;
};

struct sr_rpc_htab {
    struct sr_rpc_htab_node **buckets;
    size_t mask;   /* bucket count - 1 */
    size_t count;
};

/* 0 or SR_ENOMEM. */
int sr_rpc_htab_create(struct sr_rpc_htab *t, size_t initial_buckets);
void sr_rpc_htab_destroy(struct sr_rpc_htab *t);
/* Insert `n` (its hash set by the caller). Never fails: a failed resize only
 * makes chains longer. */
void sr_rpc_htab_insert(struct sr_rpc_htab *t, struct sr_rpc_htab_node *n);
void sr_rpc_htab_remove(struct sr_rpc_htab *t, struct sr_rpc_htab_node *n);
/* First node with this hash, then the next one on the same chain with it. */
struct sr_rpc_htab_node *sr_rpc_htab_first(const struct sr_rpc_htab *t, uint64_t hash);
struct sr_rpc_htab_node *sr_rpc_htab_next(const struct sr_rpc_htab_node *n);
/* Any node (for draining the table at teardown), NULL if empty. */
struct sr_rpc_htab_node *sr_rpc_htab_any(const struct sr_rpc_htab *t);

/* Mix a sequential id so ids spread over buckets (splitmix64 finaliser). */
uint64_t sr_rpc_htab_mix64(uint64_t x);
uint64_t sr_rpc_htab_fnv1a(const char *s);

#endif
