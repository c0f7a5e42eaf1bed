/* Membership events -> batched ring changes (see swimring/ringfeed.h). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "swimring/error.h"
#include "swimring/ringfeed.h"

struct feed_change {
    enum sr_ring_op op;
    double weight;
    char addr[SR_SWIM_ADDR_MAX];
    char pkey[SR_SWIM_LABEL_MAX + 1]; /* "identity#", or "" */
};

struct sr_ringfeed {
    struct sr_ring *ring;
    bool suspect_on_ring;
    char weight_label[SR_SWIM_LABEL_MAX];
    bool use_weight;
    char identity_label[SR_SWIM_LABEL_MAX]; /* "" = none */
    struct feed_change *q;
    size_t n, cap;
    struct sr_ring_change *batch; /* scratch for sr_ring_apply, cap entries */
    struct sr_ringfeed_stats st;
};

void sr_ringfeed_cfg_default(struct sr_ringfeed_cfg *cfg)
{
    cfg->suspect_on_ring = true;
    cfg->weight_label = SR_RINGFEED_LABEL_DEFAULT;
    cfg->identity_label = NULL;
}

struct sr_ringfeed *sr_ringfeed_new(struct sr_ring *ring, const struct sr_ringfeed_cfg *cfg,
                                    int *err)
{
    struct sr_ringfeed_cfg def;
    if (!cfg) {
        sr_ringfeed_cfg_default(&def);
        cfg = &def;
    }
    if (!ring || (cfg->weight_label && strlen(cfg->weight_label) >= SR_SWIM_LABEL_MAX) ||
        (cfg->identity_label && strlen(cfg->identity_label) >= SR_SWIM_LABEL_MAX)) {
        if (err)
            *err = SR_EINVAL;
        return NULL;
    }
    struct sr_ringfeed *f = calloc(1, sizeof(*f));
    if (!f) {
        if (err)
            *err = SR_ENOMEM;
        return NULL;
    }
    f->ring = ring;
    f->suspect_on_ring = cfg->suspect_on_ring;
    if (cfg->weight_label) {
        f->use_weight = true;
        strcpy(f->weight_label, cfg->weight_label);
    }
    if (cfg->identity_label)
        strcpy(f->identity_label, cfg->identity_label);
    return f;
}

void sr_ringfeed_delete(struct sr_ringfeed *f)
{
    if (!f)
        return;
    free(f->q);
    free(f->batch);
    free(f);
}

static int feed_grow(struct sr_ringfeed *f)
{
    size_t cap = f->cap ? f->cap * 2 : 16;
    struct feed_change *q = realloc(f->q, cap * sizeof(*q));
    if (!q)
        return SR_ENOMEM;
    f->q = q;
    struct sr_ring_change *b = realloc(f->batch, cap * sizeof(*b));
    if (!b)
        return SR_ENOMEM;
    f->batch = b;
    f->cap = cap;
    return 0;
}

static int feed_push(struct sr_ringfeed *f, enum sr_ring_op op, const char *addr, double weight,
                     const char *pkey)
{
    size_t len = strlen(addr);
    if (len == 0 || len >= SR_SWIM_ADDR_MAX)
        return SR_EINVAL;
    if (f->n == f->cap) {
        int rc = feed_grow(f);
        if (rc < 0)
            return rc;
    }
    struct feed_change *c = &f->q[f->n++];
    c->op = op;
    c->weight = weight;
    memcpy(c->addr, addr, len + 1);
    snprintf(c->pkey, sizeof(c->pkey), "%s", pkey ? pkey : "");
    f->st.queued++;
    return 0;
}

/* The member's weight label, or 1.0. Strict: the whole value must parse. */
static double feed_weight(struct sr_ringfeed *f, const struct sr_swim_member_info *m)
{
    if (!f->use_weight)
        return 1.0;
    for (size_t i = 0; i < m->nlabels; i++) {
        if (strcmp(m->labels[i].key, f->weight_label) != 0)
            continue;
        char *end = NULL;
        errno = 0;
        double w = strtod(m->labels[i].value, &end);
        if (errno || end == m->labels[i].value || *end || !isfinite(w) || w <= 0 ||
            w > SR_RING_WEIGHT_MAX) {
            f->st.bad_weight++;
            return 1.0;
        }
        return w;
    }
    return 1.0;
}

/* ringpop-go: a member with an identity label I is placed as "I#" + i. */
static const char *feed_pkey(const struct sr_ringfeed *f, const struct sr_swim_member_info *m,
                             char *buf, size_t len)
{
    for (size_t i = 0; f->identity_label[0] && i < m->nlabels; i++)
        if (strcmp(m->labels[i].key, f->identity_label) == 0 && m->labels[i].value[0]) {
            snprintf(buf, len, "%s#", m->labels[i].value);
            return buf;
        }
    return NULL;
}

static int feed_add(struct sr_ringfeed *f, const struct sr_swim_member_info *m)
{
    char pk[SR_SWIM_LABEL_MAX + 1];
    return feed_push(f, SR_RING_ADD, m->addr, feed_weight(f, m), feed_pkey(f, m, pk, sizeof pk));
}

static bool feed_on_ring(const struct sr_ringfeed *f, enum sr_swim_status st)
{
    return st == SR_SWIM_ALIVE || (st == SR_SWIM_SUSPECT && f->suspect_on_ring);
}

int sr_ringfeed_event(struct sr_ringfeed *f, const struct sr_swim_event *ev)
{
    const struct sr_swim_member_info *m = ev->member;
    f->st.events++;
    if (!m)
        return 0;
    switch (ev->type) {
    case SR_SWIM_EV_JOINED:
    case SR_SWIM_EV_RECOVERED:
    case SR_SWIM_EV_SUSPECT:
    case SR_SWIM_EV_LABELS:
        /* The member's current status decides; for LABELS an add with an
         * unchanged weight is a no-op in the ring. */
        if (feed_on_ring(f, m->status))
            return feed_add(f, m);
        return feed_push(f, SR_RING_REMOVE, m->addr, 0, NULL);
    case SR_SWIM_EV_FAULTY:
    case SR_SWIM_EV_LEFT:
    case SR_SWIM_EV_REMOVED:
        return feed_push(f, SR_RING_REMOVE, m->addr, 0, NULL);
    default:
        return 0;
    }
}

int sr_ringfeed_flush(struct sr_ringfeed *f)
{
    if (f->n == 0)
        return 0;
    for (size_t i = 0; i < f->n; i++)
        f->batch[i] = (struct sr_ring_change){f->q[i].op, f->q[i].addr, f->q[i].weight,
                                              f->q[i].pkey[0] ? f->q[i].pkey : NULL};
    int rc = sr_ring_apply(f->ring, f->batch, f->n);
    f->n = 0;
    if (rc < 0) {
        f->st.apply_errors++;
        return rc;
    }
    if (rc > 0) {
        f->st.batches++;
        f->st.members_moved += (uint64_t)rc;
    }
    return rc;
}

size_t sr_ringfeed_pending(const struct sr_ringfeed *f)
{
    return f->n;
}

struct resync_ctx {
    struct sr_ringfeed *f;
    int err;
};

static void resync_member(void *ud, const struct sr_swim_member_info *m)
{
    struct resync_ctx *c = ud;
    if (c->err == 0 && feed_on_ring(c->f, m->status))
        c->err = feed_add(c->f, m);
}

int sr_ringfeed_resync(struct sr_ringfeed *f, const struct sr_swim *swim)
{
    f->n = 0;
    /* Removes first, then adds: the batch is applied in order. Ring member
     * strings are copied before the apply invalidates them. */
    size_t members = sr_ring_member_count(f->ring);
    for (size_t i = 0; i < members; i++) {
        const char *addr = sr_ring_member_at(f->ring, i);
        struct sr_swim_member_info m;
        if (sr_swim_member(swim, addr, &m) == 0 && feed_on_ring(f, m.status))
            continue;
        int rc = feed_push(f, SR_RING_REMOVE, addr, 0, NULL);
        if (rc < 0) {
            f->n = 0;
            return rc;
        }
    }
    struct resync_ctx c = {f, 0};
    sr_swim_foreach(swim, resync_member, &c);
    if (c.err < 0) {
        f->n = 0;
        return c.err;
    }
    return sr_ringfeed_flush(f);
}

const struct sr_ringfeed_stats *sr_ringfeed_stats(const struct sr_ringfeed *f)
{
    return &f->st;
}
