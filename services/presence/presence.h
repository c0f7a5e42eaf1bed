/* services/presence: who is online, sharded by user id (issue 8).
 *
 * HTTP (any node; each request is routed to the user's owner):
 *   PUT    /v1/presence/{user}/sessions/{session}  {"status","meta","ttl_s"}  heartbeat
 *   DELETE /v1/presence/{user}/sessions/{session}                          explicit offline
 *   GET    /v1/presence/{user}                     aggregate status + live sessions
 *   POST   /v1/presence:batchGet                   {"users":[...]} -> {"users":[view...]}
 *   GET    /v1/presence:watch?users=a,b            Server-Sent Events
 * docs/presence.md describes the bodies, the status order and the watch
 * protocol. Bad input gets a 4xx {"error","problem","message"} and is
 * counted in /metrics as presence_bad_requests_total{problem=...}.
 *
 * Attach to a node before or after sr_node_start; free after the loop
 * stopped and before sr_node_delete (parked watch polls are answered then;
 * what still waits on the node frees itself when the node cancels it). */
#ifndef PRESENCE_H
#define PRESENCE_H

#include <stdint.h>

struct sr_node;
struct presence;

/* Every limit in one place, with its default. */
struct presence_cfg {
    uint32_t ttl_default_s;   /* 30: a heartbeat without ttl_s */
    uint32_t ttl_min_s;       /* 1 */
    uint32_t ttl_max_s;       /* 3600: also how long tombstones are kept (+60 s) */
    uint32_t meta_max;        /* 512 bytes of compact JSON */
    uint32_t batch_max;       /* 1000 users per batchGet */
    uint32_t watch_max;       /* 1000 users per watch */
    uint32_t poll_hold_ms;    /* 15000: an owner holds a watch poll this long */
    uint32_t keepalive_ms;    /* 15000: SSE comment line to idle watchers */
    uint32_t events_kept;     /* 64 events per watched user at its owner */
};

void presence_cfg_default(struct presence_cfg *cfg);
/* NULL cfg = defaults. NULL on failure with *err set (SR_E*). */
struct presence *presence_attach(struct sr_node *node, const struct presence_cfg *cfg, int *err);
void presence_free(struct presence *p);

#endif
