/* kvd: a sharded in-memory key-value daemon on swimring.
 *
 *   kvd --listen 127.0.0.1:7001 --http 127.0.0.1:8001 [--seeds ...]
 *   curl -X PUT  --data-binary 'v' http://127.0.0.1:8001/v1/kv/k
 *   curl         http://127.0.0.1:8002/v1/kv/k   (any node answers)
 *
 * Each key lives on its owner only; a request reaching another node is
 * forwarded there by the node layer. The walk-through is README.md here. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "swimring/error.h"
#include "swimring/node.h"

/* The store: a chained hash table, touched by the loop thread only. */
struct entry {
    struct entry *next;
    size_t klen, vlen;
    uint8_t *val;
    uint8_t key[];
};

struct store {
    struct entry **slot;
    size_t nslots, count;
};

static struct entry **store_find(struct store *s, const uint8_t *k, size_t klen)
{
    struct entry **e = &s->slot[sr_ring_hash(k, klen) % s->nslots];
    while (*e && ((*e)->klen != klen || memcmp((*e)->key, k, klen) != 0))
        e = &(*e)->next;
    return e;
}

static void on_get(void *ud, struct sr_node_reply *r, const struct sr_node_request *q)
{
    struct entry *e = *store_find(ud, q->key, q->key_len);
    sr_node_reply(r, e ? 0 : SR_ENOTFOUND, e ? e->val : NULL, e ? e->vlen : 0);
}

static void on_put(void *ud, struct sr_node_reply *r, const struct sr_node_request *q)
{
    struct store *s = ud;
    struct entry **pe = store_find(s, q->key, q->key_len), *e = *pe;
    uint8_t *val = malloc(q->body_len ? q->body_len : 1);
    if (!e && val && (e = calloc(1, sizeof(*e) + q->key_len))) {
        memcpy(e->key, q->key, e->klen = q->key_len);
        *pe = e;
        s->count++;
    }
    if (!e || !val) {
        free(val);
        sr_node_reply(r, SR_ENOMEM, NULL, 0);
        return;
    }
    free(e->val);
    memcpy(e->val = val, q->body, e->vlen = q->body_len);
    sr_node_reply(r, 0, NULL, 0);
}

static void on_delete(void *ud, struct sr_node_reply *r, const struct sr_node_request *q)
{
    struct store *s = ud;
    struct entry **pe = store_find(s, q->key, q->key_len), *e = *pe;
    if (e) {
        *pe = e->next;
        s->count--;
        free(e->val);
        free(e);
    }
    sr_node_reply(r, e ? 0 : SR_ENOTFOUND, NULL, 0);
}

static size_t kv_count(void *ud) { return ((struct store *)ud)->count; }

static bool kv_has(void *ud, const void *key, size_t len)
{
    return *store_find(ud, key, len) != NULL;
}

static const struct sr_endpoint_def kv_endpoints[] = {
    {"get", SR_ENDPOINT_IDEMPOTENT, on_get, "GET", "/v1/kv/{key}", "application/octet-stream"},
    {"put", SR_ENDPOINT_IDEMPOTENT, on_put, "PUT", "/v1/kv/{key}", NULL},
    {"delete", SR_ENDPOINT_IDEMPOTENT, on_delete, "DELETE", "/v1/kv/{key}", NULL},
};

static void store_free(struct store *s)
{
    for (size_t i = 0; i < s->nslots; i++)
        for (struct entry *e = s->slot[i], *n; e; e = n) {
            n = e->next;
            free(e->val);
            free(e);
        }
    free(s->slot);
}

int main(int argc, char **argv)
{
    struct sr_node_config cfg;
    struct sr_node_args args;
    char err[512];
    int rc;
    sr_node_config_default(&cfg);
    if ((rc = sr_node_args_parse(&cfg, &args, argc, argv, err, sizeof err)) != 0) {
        if (rc < 0)
            fprintf(stderr, "kvd: %s\n", err);
        return rc < 0 ? 2 : 0;
    }
    struct store store = {calloc(1 << 16, sizeof(struct entry *)), 1 << 16, 0};
    struct sr_service_def kv = {.name = "kv", .endpoints = kv_endpoints, .nendpoints = 3,
                                .ud = &store, .key_count = kv_count, .has_key = kv_has};
    struct sr_node *node = sr_node_new(NULL, &cfg, &rc, err, sizeof err);
    for (size_t i = 0; node && i < args.nlabels; i++)
        sr_node_set_label(node, args.labels[i].key, args.labels[i].value);
    if (!store.slot || !node || sr_node_add_service(node, &kv) < 0 ||
        sr_node_start(node, err, sizeof err) < 0) {
        fprintf(stderr, "kvd: %s\n", node ? err : sr_strerror(rc));
        sr_node_delete(node);
        store_free(&store);
        return 1;
    }
    rc = sr_node_run(node);
    sr_node_delete(node);
    store_free(&store);
    return rc < 0 ? 1 : 0;
}
