/* Anti-entropy between replicas.
 *
 * Every state.sync_interval_ms (jittered) a node picks the next ring member
 * round robin and, per stateful service, compares the keys the two of them
 * should both hold (both in the key's replica set on the asker's ring):
 *
 *   asker -> peer   "digest": [service, asker address, 64 bucket digests]
 *                   (bucket = top 6 bits of the key's ring hash; a bucket's
 *                   digest is the sum of mix(key hash, state digest))
 *   peer -> asker   the buckets that differ, with the peer's (key, digest)
 *                   pairs in them (at most about half a frame; the rest is
 *                   compared next round)
 *   asker           pushes the keys the peer lacks or holds differently
 *                   (through the handoff queue), and fetches the keys it
 *                   lacks or holds differently ("fetch": keys -> a batch).
 *
 * Merges are last-writer-wins, so pushing and fetching a key that differs
 * leaves both with the newer state. Deleted keys are tombstones in the
 * services, so a delete is not undone by a stale replica while the
 * service keeps its tombstone. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "swimring/error.h"
#include "node_state.h"

#define SYNC_BUCKETS 64
#define SYNC_TIMEOUT_MS 10000u

static uint64_t fnv64(uint64_t h, const void *p, size_t len)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < len; i++)
        h = (h ^ b[i]) * 0x100000001b3ull;
    return h;
}

static int digest_emit(void *arg, const void *rec, size_t len)
{
    uint64_t *h = arg;
    uint64_t n = len;
    *h = fnv64(fnv64(*h, &n, sizeof n), rec, len);
    return 0;
}

static uint64_t key_digest(const struct sr_service_def *svc, const void *key, size_t len)
{
    if (svc->state->digest)
        return svc->state->digest(svc->ud, key, len);
    uint64_t h = 0xcbf29ce484222325ull;
    (void)svc->state->export_key(svc->ud, key, len, digest_emit, &h);
    return h;
}

static uint64_t mix(uint32_t kh, uint64_t d)
{
    uint64_t x = d ^ ((uint64_t)kh * 0x9e3779b97f4a7c15ull);
    x ^= x >> 31;
    x *= 0xbf58476d1ce4e5b9ull;
    return x ^ (x >> 29);
}

/* Keys both `a` and `b` should hold, per this node's ring. */
static bool shared(const struct sr_node *node, const void *key, size_t len, uint32_t r,
                   const char *a, const char *b)
{
    const char *set[NODE_REPLICAS_MAX];
    size_t n = node_state_set(node->ring, key, len, r, set);
    return node_state_in(set, n, a) && node_state_in(set, n, b);
}

/* ---- digests ------------------------------------------------------------------ */

struct digest_walk {
    struct sr_node *node;
    const struct sr_service_def *svc;
    uint32_t replicas;
    const char *peer;
    uint64_t bucket[SYNC_BUCKETS];
    /* second walk (the peer answering): list keys of these buckets */
    const uint64_t *theirs;
    struct sr_mp_writer *w;
    size_t limit;
    uint32_t listed;
};

static int digest_key(void *arg, const void *key, size_t len)
{
    struct digest_walk *d = arg;
    if (!shared(d->node, key, len, d->replicas, d->node->self, d->peer))
        return 0;
    uint32_t kh = sr_ring_hash(key, len);
    d->bucket[kh >> 26] += mix(kh, key_digest(d->svc, key, len));
    return 0;
}

static int list_key(void *arg, const void *key, size_t len)
{
    struct digest_walk *d = arg;
    if (!shared(d->node, key, len, d->replicas, d->node->self, d->peer))
        return 0;
    uint32_t b = sr_ring_hash(key, len) >> 26;
    if (d->theirs[b] == d->bucket[b])
        return 0;
    if (d->w->buf->len > d->limit)
        return 1; /* enough for one round */
    sr_mp_write_bin(d->w, key, len);
    sr_mp_write_uint(d->w, key_digest(d->svc, key, len));
    d->listed++;
    return 0;
}

static const struct sr_service_def *svc_named(const struct sr_node *node, const char *n, size_t l)
{
    for (size_t i = 0; i < node->nsvc; i++)
        if (node->svc[i]->state && strlen(node->svc[i]->name) == l &&
            memcmp(node->svc[i]->name, n, l) == 0)
            return node->svc[i];
    return NULL;
}

/* The peer's side of a round: our differing buckets' keys and digests. */
static void on_digest(void *ud, struct sr_rpc_reply *reply, const struct sr_rpc_request *req)
{
    struct sr_node *node = ud;
    struct sr_mp_reader r;
    sr_mp_reader_init(&r, req->body, req->body_len);
    const char *name;
    uint32_t nlen, n;
    char asker[SR_SWIM_ADDR_MAX];
    uint64_t theirs[SYNC_BUCKETS];
    const struct sr_service_def *svc = NULL;
    int rc = sr_mp_read_str(&r, &name, &nlen);
    if (rc == 0 && !(svc = svc_named(node, name, nlen)))
        rc = SR_ENOTFOUND;
    if (rc == 0)
        rc = sr_mp_read_str_copy(&r, asker, sizeof asker);
    if (rc == 0 && (rc = sr_mp_read_array(&r, &n)) == 0 && n != SYNC_BUCKETS)
        rc = SR_EPROTO;
    for (uint32_t i = 0; rc == 0 && i < SYNC_BUCKETS; i++)
        rc = sr_mp_read_uint(&r, &theirs[i]);
    if (rc < 0) {
        node->state->st.sync_errors++;
        sr_rpc_respond(reply, rc, NULL, 0);
        return;
    }
    struct sr_buf out;
    struct sr_mp_writer w;
    sr_buf_create(&out, node->cfg.forward.max_frame - 1024);
    sr_mp_writer_init(&w, &out);
    struct digest_walk d = {node, svc, node_state_replicas(node, svc), asker, {0}, theirs, &w,
                            node->cfg.forward.max_frame / 2, 0};
    svc->state->keys(svc->ud, digest_key, &d);
    /* the buckets that differ, then our keys in them */
    for (uint32_t b = 0; b < SYNC_BUCKETS; b++)
        if (theirs[b] != d.bucket[b])
            sr_mp_write_uint(&w, b);
    sr_mp_write_nil(&w);
    svc->state->keys(svc->ud, list_key, &d);
    rc = sr_mp_writer_error(&w);
    sr_rpc_respond(reply, rc, rc == 0 ? out.data : NULL, rc == 0 ? out.len : 0);
    sr_buf_destroy(&out);
}

/* A batch of the keys asked for. */
static void on_fetch(void *ud, struct sr_rpc_reply *reply, const struct sr_rpc_request *req)
{
    struct sr_node *node = ud;
    struct sr_mp_reader r;
    sr_mp_reader_init(&r, req->body, req->body_len);
    const char *name;
    uint32_t nlen;
    const struct sr_service_def *svc = NULL;
    int rc = sr_mp_read_str(&r, &name, &nlen);
    if (rc == 0 && !(svc = svc_named(node, name, nlen)))
        rc = SR_ENOTFOUND;
    struct sr_buf out;
    struct sr_mp_writer w;
    sr_buf_create(&out, node->cfg.forward.max_frame - 1024);
    sr_mp_writer_init(&w, &out);
    if (rc == 0)
        node_batch_begin(&w, svc->name, NULL, 0, NULL, 0);
    while (rc == 0 && sr_mp_left(&r) > 0) {
        const uint8_t *key;
        uint32_t klen;
        if ((rc = sr_mp_read_bin(&r, &key, &klen)) == 0 &&
            node_batch_export(&out, svc, key, klen) == SR_ETOOBIG)
            break; /* the rest next round */
    }
    if (rc == 0)
        rc = sr_mp_writer_error(&w);
    if (rc < 0)
        node->state->st.sync_errors++;
    sr_rpc_respond(reply, rc, rc == 0 ? out.data : NULL, rc == 0 ? out.len : 0);
    sr_buf_destroy(&out);
}

/* ---- the asker ------------------------------------------------------------------ */

struct round {
    struct sr_node *node;
    const struct sr_service_def *svc;
    char peer[SR_SWIM_ADDR_MAX];
};

struct compare {
    struct sr_node *node;
    struct round *rd;
    uint32_t replicas;
    bool diff[SYNC_BUCKETS];
    struct node_kmap theirs;    /* key -> digest */
};

static int compare_key(void *arg, const void *key, size_t len)
{
    struct compare *c = arg;
    struct sr_node *node = c->node;
    if (!shared(node, key, len, c->replicas, node->self, c->rd->peer))
        return 0;
    uint32_t b = sr_ring_hash(key, len) >> 26;
    if (!c->diff[b])
        return 0;
    struct node_kent *e = node_kmap_get(&c->theirs, key, len);
    uint64_t mine = key_digest(c->rd->svc, key, len);
    if (e && e->val == mine) {
        node_kmap_del(&c->theirs, e); /* same on both */
        return 0;
    }
    if (node_handoff_push(node, c->rd->svc, c->rd->peer, key, len) == 0)
        node->state->st.sync_keys_pushed++;
    return 0;
}

static void fetch_done(void *ud, const struct sr_rpc_result *res)
{
    struct round *rd = ud;
    struct sr_node *node = rd->node;
    if (res->status != SR_ECANCELED) {
        if (res->remote && res->status == 0)
            (void)node_state_apply(node, res->body, res->body_len);
        else
            node->state->st.sync_errors++;
    }
    free(rd);
}

/* Ask the peer for every key it listed that we do not hold the same. */
static void fetch_theirs(struct round *rd, struct compare *c)
{
    struct sr_node *node = rd->node;
    struct sr_buf buf;
    struct sr_mp_writer w;
    sr_buf_create(&buf, node->cfg.forward.max_frame - 1024);
    sr_mp_writer_init(&w, &buf);
    sr_mp_write_cstr(&w, rd->svc->name);
    size_t n = 0;
    for (size_t i = 0; i < c->theirs.nslots; i++)
        for (struct node_kent *e = c->theirs.slot[i]; e; e = e->next, n++)
            sr_mp_write_bin(&w, e->key, e->len);
    struct sr_rpc_call_args a = {.service = NODE_STATE_SERVICE, .endpoint = "fetch",
                                 .body = buf.data, .body_len = buf.len,
                                 .timeout_ms = SYNC_TIMEOUT_MS};
    if (n == 0 || sr_mp_writer_error(&w) < 0 ||
        sr_rpc_call(node->rpc, rd->peer, &a, fetch_done, rd, NULL) < 0)
        free(rd);
    else
        node->state->st.sync_keys_pulled += n;
    sr_buf_destroy(&buf);
}

static int read_answer(struct compare *c, const uint8_t *p, size_t len)
{
    struct sr_mp_reader r;
    sr_mp_reader_init(&r, p, len);
    int rc = 0;
    while (rc == 0 && sr_mp_peek(&r) != SR_MP_NIL) {
        uint64_t b;
        if ((rc = sr_mp_read_uint(&r, &b)) == 0 && b >= SYNC_BUCKETS)
            rc = SR_ERANGE;
        if (rc == 0)
            c->diff[b] = true;
    }
    if (rc == 0)
        rc = sr_mp_read_nil(&r);
    while (rc == 0 && sr_mp_left(&r) > 0) {
        const uint8_t *key;
        uint32_t klen;
        uint64_t d;
        bool created;
        struct node_kent *e;
        if ((rc = sr_mp_read_bin(&r, &key, &klen)) == 0 && (rc = sr_mp_read_uint(&r, &d)) == 0) {
            if (!(e = node_kmap_put(&c->theirs, key, klen, &created)))
                rc = SR_ENOMEM;
            else
                e->val = d;
        }
    }
    return rc;
}

static void digest_done(void *ud, const struct sr_rpc_result *res)
{
    struct round *rd = ud;
    struct sr_node *node = rd->node;
    if (res->status == SR_ECANCELED || !res->remote || res->status != 0) {
        node->state->st.sync_errors += res->status != SR_ECANCELED;
        free(rd);
        return;
    }
    struct compare c = {node, rd, node_state_replicas(node, rd->svc), {0}, {0}};
    node_kmap_init(&c.theirs);
    if (read_answer(&c, res->body, res->body_len) < 0) {
        node->state->st.sync_errors++;
        node_kmap_free(&c.theirs);
        free(rd);
        return;
    }
    rd->svc->state->keys(rd->svc->ud, compare_key, &c); /* push ours, strike equal ones */
    node_handoff_pump_peer(node, rd->svc, rd->peer);
    fetch_theirs(rd, &c); /* takes rd */
    node_kmap_free(&c.theirs);
}

static void round_start(struct sr_node *node, const struct sr_service_def *svc, const char *peer)
{
    struct round *rd = calloc(1, sizeof(*rd));
    if (!rd)
        return;
    rd->node = node;
    rd->svc = svc;
    snprintf(rd->peer, sizeof(rd->peer), "%s", peer);
    struct digest_walk d = {node, svc, node_state_replicas(node, svc), peer, {0}, NULL, NULL, 0, 0};
    svc->state->keys(svc->ud, digest_key, &d);
    struct sr_buf buf;
    struct sr_mp_writer w;
    sr_buf_create(&buf, 0);
    sr_mp_writer_init(&w, &buf);
    sr_mp_write_cstr(&w, svc->name);
    sr_mp_write_cstr(&w, node->self);
    sr_mp_write_array(&w, SYNC_BUCKETS);
    for (int i = 0; i < SYNC_BUCKETS; i++)
        sr_mp_write_uint(&w, d.bucket[i]);
    struct sr_rpc_call_args a = {.service = NODE_STATE_SERVICE, .endpoint = "digest",
                                 .body = buf.data, .body_len = buf.len,
                                 .timeout_ms = SYNC_TIMEOUT_MS};
    if (sr_mp_writer_error(&w) < 0 || node_fault_drop(node, peer) ||
        sr_rpc_call(node->rpc, peer, &a, digest_done, rd, NULL) < 0) {
        node->state->st.sync_errors++;
        free(rd);
    }
    sr_buf_destroy(&buf);
}

void node_entropy_round(struct sr_node *node)
{
    struct node_state *s = node->state;
    size_t n = sr_ring_member_count(node->ring);
    if (s->leave_phase || !node->rpc || n < 2 || !sr_ring_has(node->ring, node->self))
        return;
    const char *peer = NULL;
    for (size_t tries = 0; tries < n && !peer; tries++) {
        const char *m = sr_ring_member_at(node->ring, s->sync_next++ % n);
        if (m && strcmp(m, node->self) != 0)
            peer = m;
    }
    if (!peer)
        return;
    s->st.sync_rounds++;
    for (size_t i = 0; i < node->nsvc; i++)
        if (node->svc[i]->state && node_state_replicas(node, node->svc[i]) > 1)
            round_start(node, node->svc[i], peer);
}

int node_entropy_register(struct sr_node *node)
{
    int rc = sr_rpc_handle(node->rpc, NODE_STATE_SERVICE, "digest", on_digest, node);
    return rc == 0 ? sr_rpc_handle(node->rpc, NODE_STATE_SERVICE, "fetch", on_fetch, node) : rc;
}
