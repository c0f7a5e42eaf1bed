/* kvd: a sharded, replicated in-memory key-value daemon on swimring.
 *
 *   kvd --listen 127.0.0.1:7001 --http 127.0.0.1:8001 [--seeds ...] [--replicas 2]
 *   curl -X PUT  --data-binary 'v' http://127.0.0.1:8001/v1/kv/k
 *   curl         http://127.0.0.1:8002/v1/kv/k   (any node answers)
 *
 * Each key lives on the members lookup_n(key, replicas) names; requests go
 * to the owner, writes are copied to the replicas, and the node moves keys
 * when the ring changes. kvd only says what a value is: a record
 * [stamp, deleted, value] merged last-writer-wins. README.md walks through. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/event.h>
#include "swimring/error.h"
#include "swimring/mp.h"
#include "swimring/node.h"

#define TOMBSTONE_KEEP_US (600ull * 1000000u) /* a delete is remembered 10 min */

/* The store: a chained hash table, touched by the loop thread only. A
 * deleted key stays as a tombstone so a stale replica cannot revive it. */
struct entry {
    struct entry *next;
    uint64_t stamp;             /* last writer wins */
    bool deleted;
    size_t klen, vlen;
    uint8_t *val;
    uint8_t key[];
};

struct store {
    struct entry **slot;
    size_t nslots, count, tombstones;
};

static struct entry **store_find(struct store *s, const uint8_t *k, size_t klen)
{
    struct entry **e = &s->slot[sr_ring_hash(k, klen) % s->nslots];
    while (*e && ((*e)->klen != klen || memcmp((*e)->key, k, klen) != 0))
        e = &(*e)->next;
    return e;
}

static void entry_free(struct store *s, struct entry **pe)
{
    struct entry *e = *pe;
    *pe = e->next;
    s->count -= !e->deleted;
    s->tombstones -= e->deleted;
    free(e->val);
    free(e);
}

/* Make `key` hold (stamp, deleted, val) if that is newer than what it
 * holds (ties: the larger value wins, so every replica picks the same). */
static int store_set(struct store *s, const uint8_t *key, size_t klen, uint64_t stamp, bool deleted,
                     const uint8_t *val, size_t vlen)
{
    struct entry **pe = store_find(s, key, klen), *e = *pe;
    if (e && (e->stamp > stamp ||
              (e->stamp == stamp && (e->deleted > deleted ||
                                     (e->deleted == deleted && (e->vlen > vlen ||
                                      (e->vlen == vlen && memcmp(e->val, val, vlen) >= 0)))))))
        return 0; /* what we hold is newer (or the same) */
    uint8_t *copy = malloc(vlen ? vlen : 1);
    if (!copy)
        return SR_ENOMEM;
    if (!e) {
        if (!(e = calloc(1, sizeof(*e) + klen))) {
            free(copy);
            return SR_ENOMEM;
        }
        memcpy(e->key, key, e->klen = klen);
        e->deleted = true; /* counted as a change below */
        s->tombstones++;
        *pe = e;
    }
    s->count += e->deleted && !deleted;
    s->count -= !e->deleted && deleted;
    s->tombstones += !e->deleted && deleted;
    s->tombstones -= e->deleted && !deleted;
    free(e->val);
    if (vlen)
        memcpy(copy, val, vlen);
    e->val = copy;
    e->vlen = vlen;
    e->stamp = stamp;
    e->deleted = deleted;
    return 0;
}

/* ---- records: msgpack [stamp, deleted, value] -------------------------------- */

static int record_write(const struct entry *e, struct sr_buf *b)
{
    struct sr_mp_writer w;
    sr_mp_writer_init(&w, b);
    sr_mp_write_array(&w, 3);
    sr_mp_write_uint(&w, e->stamp);
    sr_mp_write_bool(&w, e->deleted);
    sr_mp_write_bin(&w, e->val, e->vlen);
    return sr_mp_writer_error(&w);
}

static int kv_export(void *ud, const void *key, size_t len, sr_state_emit_f emit, void *arg)
{
    struct entry *e = *store_find(ud, key, len);
    struct sr_buf b;
    sr_buf_create(&b, 0);
    int rc = e ? record_write(e, &b) : 0;
    if (e && rc == 0)
        rc = emit(arg, b.data, b.len);
    sr_buf_destroy(&b);
    return rc;
}

static int kv_merge(void *ud, const void *key, size_t len, const void *rec, size_t rec_len)
{
    struct sr_mp_reader r;
    uint32_t n, vlen;
    uint64_t stamp;
    bool deleted;
    const uint8_t *val;
    sr_mp_reader_init(&r, rec, rec_len);
    if (sr_mp_read_array(&r, &n) < 0 || n != 3 || sr_mp_read_uint(&r, &stamp) < 0 ||
        sr_mp_read_bool(&r, &deleted) < 0 || sr_mp_read_bin(&r, &val, &vlen) < 0)
        return SR_EPROTO;
    return store_set(ud, key, len, stamp, deleted, val, vlen);
}

static void kv_keys(void *ud, sr_state_key_f fn, void *arg)
{
    struct store *s = ud;
    for (size_t i = 0; i < s->nslots; i++)
        for (struct entry *e = s->slot[i]; e; e = e->next)
            if (fn(arg, e->key, e->klen) != 0)
                return;
}

static void kv_drop(void *ud, const void *key, size_t len)
{
    struct entry **pe = store_find(ud, key, len);
    if (*pe)
        entry_free(ud, pe);
}

/* ---- handlers ------------------------------------------------------------------ */

static void on_get(void *ud, struct sr_node_reply *r, const struct sr_node_request *q)
{
    struct entry *e = *store_find(ud, q->key, q->key_len);
    bool live = e && !e->deleted;
    sr_node_reply(r, live ? 0 : SR_ENOTFOUND, live ? e->val : NULL, live ? e->vlen : 0);
}

/* Write a new value (or tombstone) with a fresh stamp; tell the node the
 * record that changed so replicas get exactly it. */
static void write_value(struct store *s, struct sr_node_reply *r, const struct sr_node_request *q,
                        bool deleted, const uint8_t *val, size_t vlen)
{
    struct entry *e = *store_find(s, q->key, q->key_len);
    int rc = store_set(s, q->key, q->key_len, sr_state_stamp(e ? e->stamp : 0), deleted, val, vlen);
    struct sr_buf b;
    sr_buf_create(&b, 0);
    if (rc == 0 && (rc = record_write(*store_find(s, q->key, q->key_len), &b)) == 0)
        rc = sr_node_reply_record(r, b.data, b.len);
    sr_node_reply(r, rc, NULL, 0);
    sr_buf_destroy(&b);
}

static void on_put(void *ud, struct sr_node_reply *r, const struct sr_node_request *q)
{
    write_value(ud, r, q, false, q->body, q->body_len);
}

static void on_delete(void *ud, struct sr_node_reply *r, const struct sr_node_request *q)
{
    struct entry *e = *store_find(ud, q->key, q->key_len);
    if (!e || e->deleted)
        sr_node_reply(r, SR_ENOTFOUND, NULL, 0);
    else
        write_value(ud, r, q, true, NULL, 0);
}

/* Not idempotent on purpose: send an Idempotency-Key to retry it safely. */
static void on_append(void *ud, struct sr_node_reply *r, const struct sr_node_request *q)
{
    struct entry *e = *store_find(ud, q->key, q->key_len);
    size_t old = e && !e->deleted ? e->vlen : 0;
    uint8_t *v = malloc(old + q->body_len + 1);
    if (!v) {
        sr_node_reply(r, SR_ENOMEM, NULL, 0);
        return;
    }
    if (old)
        memcpy(v, e->val, old);
    memcpy(v + old, q->body, q->body_len);
    write_value(ud, r, q, false, v, old + q->body_len);
    free(v);
}

static size_t kv_count(void *ud) { return ((struct store *)ud)->count; }

static bool kv_has(void *ud, const void *key, size_t len)
{
    struct entry *e = *store_find(ud, key, len);
    return e && !e->deleted;
}

static const struct sr_endpoint_def kv_endpoints[] = {
    {"get", SR_ENDPOINT_IDEMPOTENT, on_get, "GET", "/v1/kv/{key}", "application/octet-stream"},
    {"put", SR_ENDPOINT_IDEMPOTENT | SR_ENDPOINT_WRITE, on_put, "PUT", "/v1/kv/{key}", NULL},
    {"delete", SR_ENDPOINT_IDEMPOTENT | SR_ENDPOINT_WRITE, on_delete, "DELETE", "/v1/kv/{key}",
     NULL},
    {"append", SR_ENDPOINT_WRITE, on_append, "POST", "/v1/kv/{key}/append", NULL},
};

static const struct sr_state_ops kv_state = {kv_keys, kv_export, kv_merge, kv_drop, NULL};

/* Forget tombstones older than TOMBSTONE_KEEP_US (a scan: kvd is small). */
static void on_sweep(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct store *s = arg;
    uint64_t cut = sr_state_stamp(0) - TOMBSTONE_KEEP_US;
    for (size_t i = 0; i < s->nslots; i++)
        for (struct entry **pe = &s->slot[i]; *pe;)
            if ((*pe)->deleted && (*pe)->stamp < cut)
                entry_free(s, pe);
            else
                pe = &(*pe)->next;
}

static void store_free(struct store *s)
{
    for (size_t i = 0; i < s->nslots; i++)
        while (s->slot[i])
            entry_free(s, &s->slot[i]);
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
    struct store store = {calloc(1 << 16, sizeof(struct entry *)), 1 << 16, 0, 0};
    struct sr_service_def kv = {.name = "kv", .endpoints = kv_endpoints, .nendpoints = 4,
                                .ud = &store, .key_count = kv_count, .has_key = kv_has,
                                .state = &kv_state};
    err[0] = '\0';
    struct sr_node *node = sr_node_new(NULL, &cfg, &rc, err, sizeof err);
    struct event *sweep = node ? event_new(sr_node_base(node), -1, EV_PERSIST, on_sweep, &store)
                               : NULL;
    struct timeval every = {60, 0};
    for (size_t i = 0; node && i < args.nlabels; i++)
        sr_node_set_label(node, args.labels[i].key, args.labels[i].value);
    if (!store.slot || !node || !sweep || event_add(sweep, &every) != 0 ||
        sr_node_add_service(node, &kv) < 0 || sr_node_start(node, err, sizeof err) < 0) {
        fprintf(stderr, "kvd: %s\n", err[0] ? err : sr_strerror(rc));
        if (sweep)
            event_free(sweep);
        sr_node_delete(node);
        store_free(&store);
        return 1;
    }
    rc = sr_node_run(node);
    event_free(sweep);
    sr_node_delete(node);
    store_free(&store);
    return rc < 0 ? 1 : 0;
}
