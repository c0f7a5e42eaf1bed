#include "sim/heap.h"

#include <stdbool.h>
#include <stdlib.h>
#include "swimring/error.h"

static bool before(const struct sr_sim_ev *a, const struct sr_sim_ev *b)
{
    return a->at < b->at || (a->at == b->at && a->seq < b->seq);
}

int sr_sim_heap_push(struct sr_sim_heap *h, struct sr_sim_ev *ev)
{
    if (h->n == h->cap) {
        size_t nc = h->cap ? h->cap * 2 : 1024;
        struct sr_sim_ev *p = realloc(h->v, nc * sizeof(*p));
        if (p == NULL)
            return SR_ENOMEM;
        h->v = p;
        h->cap = nc;
    }
    ev->seq = h->next_seq++;
    size_t i = h->n++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!before(ev, &h->v[parent]))
            break;
        h->v[i] = h->v[parent];
        i = parent;
    }
    h->v[i] = *ev;
    return 0;
}

int sr_sim_heap_pop(struct sr_sim_heap *h, struct sr_sim_ev *out)
{
    if (h->n == 0)
        return 0;
    *out = h->v[0];
    struct sr_sim_ev last = h->v[--h->n];
    size_t i = 0, n = h->n;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && before(&h->v[c + 1], &h->v[c]))
            c++;
        if (!before(&h->v[c], &last))
            break;
        h->v[i] = h->v[c];
        i = c;
    }
    if (n > 0)
        h->v[i] = last;
    return 1;
}

void sr_sim_heap_free(struct sr_sim_heap *h)
{
    for (size_t i = 0; i < h->n; i++)
        free(h->v[i].data);
    free(h->v);
    h->v = NULL;
    h->n = h->cap = 0;
}
