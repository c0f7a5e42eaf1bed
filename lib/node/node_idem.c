/* Request ids ("Idempotency-Key"): a write retried with the same id runs
 * once. The owner remembers, per (service, key, id), whether the write is
 * still running, ran but its replication fell short, or finished with some
 * answer; replicas learn the finished ones with the replicated write, so a
 * replica that becomes owner answers a retry the same way. Bounded by
 * state.idem_max entries and state.idem_window_ms: the oldest are forgotten
 * first (counted as evicted). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "swimring/error.h"
#include "node_state.h"

enum idem_state { ID_NONE, ID_PENDING, ID_APPLIED, ID_DONE }; /* NONE: just created */

struct node_idem {
    struct node_idem *newer, *older;
    struct node_kent *ent;      /* its map entry (ent->val points back here) */
    sr_time_us at;              /* monotonic, when first seen */
    enum idem_state state;
    int status;
    size_t len;
    uint8_t *body;
};

#define IDEM_KEY_MAX (64 + 1 + 10 + 1024 + SR_RPC_RID_MAX)

/* service NUL len: key rid — unambiguous, and short keys stay short. */
static size_t idem_key(uint8_t *out, const char *svc, const void *key, size_t klen,
                       const void *rid, size_t rid_len)
{
    size_t sl = strlen(svc), n = 0;
    if (sl > 64 || klen > 1024)
        return 0; /* too long to remember: such writes are not deduplicated */
    memcpy(out, svc, sl + 1);
    n = sl + 1;
    n += (size_t)snprintf((char *)out + n, 12, "%zu:", klen);
    memcpy(out + n, key, klen);
    memcpy(out + n + klen, rid, rid_len);
    return n + klen + rid_len;
}

static void idem_unlink(struct node_state *s, struct node_idem *d)
{
    if (d->older)
        d->older->newer = d->newer;
    else
        s->idem_old = d->newer;
    if (d->newer)
        d->newer->older = d->older;
    else
        s->idem_new = d->older;
}

static void idem_del(struct node_state *s, struct node_idem *d)
{
    idem_unlink(s, d);
    node_kmap_del(&s->idem, d->ent);
    free(d->body);
    free(d);
}

/* Forget what is past the window or over the cap (never a running one:
 * its reply handle will look it up again). */
static void idem_trim(struct sr_node *node)
{
    struct node_state *s = node->state;
    sr_time_us now = sr_time_mono_us();
    sr_time_us window = (sr_time_us)node->cfg.state.idem_window_ms * SR_US_PER_MS;
    /* The monotonic clock starts near zero at boot: a fresh machine is
     * younger than the window, and an unsigned cut would wrap. */
    sr_time_us cut = now > window ? now - window : 0;
    while (s->idem_old && s->idem_old->state != ID_PENDING &&
           (s->idem.count > node->cfg.state.idem_max || s->idem_old->at < cut)) {
        s->st.idem_evicted += s->idem_old->at >= cut;
        idem_del(s, s->idem_old);
    }
}

static struct node_idem *idem_insert(struct sr_node *node, const uint8_t *k, size_t klen)
{
    struct node_state *s = node->state;
    bool created;
    struct node_kent *e = node_kmap_put(&s->idem, k, klen, &created);
    if (!e)
        return NULL;
    if (!created)
        return (struct node_idem *)(uintptr_t)e->val;
    struct node_idem *d = calloc(1, sizeof(*d));
    if (!d) {
        node_kmap_del(&s->idem, e);
        return NULL;
    }
    d->ent = e;
    d->at = sr_time_mono_us();
    e->val = (uint64_t)(uintptr_t)d;
    d->older = s->idem_new;
    if (s->idem_new)
        s->idem_new->newer = d;
    else
        s->idem_old = d;
    s->idem_new = d;
    return d;
}

enum node_idem_verdict node_idem_check(struct sr_node *node, struct sr_node_reply *r, int *status,
                                       const uint8_t **body, size_t *len)
{
    struct node_state *s = node->state;
    uint8_t k[IDEM_KEY_MAX];
    size_t kl = idem_key(k, r->ep->svc->name, r->key, r->key_len, r->rid, r->rid_len);
    if (kl == 0 || node->cfg.state.idem_max == 0)
        return IDEM_NEW;
    idem_trim(node);
    struct node_kent *e = node_kmap_get(&s->idem, k, kl);
    struct node_idem *d = e ? (struct node_idem *)(uintptr_t)e->val : NULL;
    if (d && d->state == ID_DONE) {
        s->st.idem_replayed++;
        *status = d->status;
        *body = d->body;
        *len = d->len;
        return IDEM_REPLAY;
    }
    if (d && d->state == ID_PENDING) {
        s->st.idem_busy++;
        return IDEM_BUSY;
    }
    if (!d && !(d = idem_insert(node, k, kl)))
        return IDEM_NEW; /* no memory to remember: run it */
    r->tracked = true;
    if (d->state == ID_APPLIED) {
        d->state = ID_PENDING;
        s->st.idem_replayed++;
        return IDEM_APPLIED;
    }
    d->state = ID_PENDING;
    return IDEM_NEW;
}

static void idem_set(struct node_idem *d, int status, const void *body, size_t len)
{
    free(d->body);
    d->body = NULL;
    d->len = 0;
    if (len && (d->body = malloc(len))) {
        memcpy(d->body, body, len);
        d->len = len;
    }
    d->state = ID_DONE;
    d->status = status;
}

void node_idem_finish(struct sr_node *node, struct sr_node_reply *r, int status, const void *body,
                      size_t len)
{
    struct node_state *s = node->state;
    uint8_t k[IDEM_KEY_MAX];
    size_t kl = idem_key(k, r->ep->svc->name, r->key, r->key_len, r->rid, r->rid_len);
    struct node_kent *e = kl ? node_kmap_get(&s->idem, k, kl) : NULL;
    if (!e)
        return;
    struct node_idem *d = (struct node_idem *)(uintptr_t)e->val;
    if (status == 0)
        idem_set(d, status, body, len);
    else if (r->applied)
        d->state = ID_APPLIED;  /* a retry replicates instead of running it again */
    else
        idem_del(s, d);         /* it did not run: a retry runs it */
}

void node_idem_learn(struct sr_node *node, const char *svc, const void *key, size_t klen,
                     const void *rid, size_t rid_len, const void *answer, size_t alen)
{
    uint8_t k[IDEM_KEY_MAX];
    size_t kl = idem_key(k, svc, key, klen, rid, rid_len);
    if (kl == 0 || rid_len == 0 || node->cfg.state.idem_max == 0)
        return;
    idem_trim(node);
    struct node_idem *d = idem_insert(node, k, kl);
    if (d && d->state != ID_PENDING)
        idem_set(d, 0, answer, alen);
}

void node_idem_free(struct sr_node *node)
{
    struct node_state *s = node->state;
    while (s->idem_old) {
        struct node_idem *d = s->idem_old;
        s->idem_old = d->newer;
        free(d->body);
        free(d);
    }
    s->idem_new = NULL;
    node_kmap_free(&s->idem);
}
