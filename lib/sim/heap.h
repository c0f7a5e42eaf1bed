/* The simulator's event queue: a binary min-heap ordered by (time, seq);
 * seq is a global insertion counter, so events at the same time run in the
 * order they were scheduled, which keeps runs deterministic. */
#ifndef SWIMRING_SIM_HEAP_H
#define SWIMRING_SIM_HEAP_H

#include <stddef.h>
#include <stdint.h>
#include "swimring/time.h"

enum sr_sim_ev_kind {
    SR_SIM_EV_START = 1,  /* a = node */
    SR_SIM_EV_TICK,       /* a = node, b = timer generation */
    SR_SIM_EV_PACKET,     /* a = from, b = to, data/len */
    SR_SIM_EV_SYNC_REQ,   /* a = from (initiator), b = to, data/len = its state */
    SR_SIM_EV_SYNC_RESP,  /* a = from (responder), b = to (initiator), data/len */
    SR_SIM_EV_SAMPLE,     /* timeline row */
};

struct sr_sim_ev {
    sr_time_us at;
    uint64_t seq;
    uint32_t kind;
    uint32_t a, b;
    uint32_t len;
    uint32_t epoch;       /* target node epoch for sync legs */
    uint8_t *data;
};

struct sr_sim_heap {
    struct sr_sim_ev *v;
    size_t n, cap;
    uint64_t next_seq;
};

int sr_sim_heap_push(struct sr_sim_heap *h, struct sr_sim_ev *ev);  /* sets ev->seq */
/* Pop the earliest event into *out; 0 if empty. */
int sr_sim_heap_pop(struct sr_sim_heap *h, struct sr_sim_ev *out);
void sr_sim_heap_free(struct sr_sim_heap *h);

#endif
