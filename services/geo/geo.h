/* services/geo: who is near this point, sharded by level-12 S2 cell.
 *
 * HTTP on every node (docs/geo.md):
 *   PUT    /v1/geo/objects/{id}  {"lat","lng","ttl_s"?,"attrs"?,"ts"?}
 *   GET    /v1/geo/objects/{id}
 *   DELETE /v1/geo/objects/{id}
 *   GET    /v1/geo/nearby?lat=&lng=&radius_m=&limit=&filter=
 *   GET    /v1/geo/stats                       (this node's counters)
 *
 * Two kinds of ring keys:
 *   - an object id (the HTTP {id}): its owner keeps the directory entry
 *     id -> (cell, ts, expiry). Every update of the id passes there, so the
 *     owner knows the previous cell and removes the object from it when it
 *     moves (no ghosts), and compares timestamps (a late, older update is
 *     answered "applied": false and changes nothing).
 *   - a cell: the level-12 cell id as 8 bytes big-endian. Its owner keeps the
 *     cell's objects (position, attrs, ts, expiry) and tombstones of those
 *     that moved away or were deleted, so a delayed older record cannot
 *     bring them back. A cell is also the unit of handoff and replication.
 * Object ids are 1..256 bytes, none below 0x20; a cell key always holds zero
 * bytes, so the two kinds never collide.
 *
 * nearby covers the circle with level-12 cells (sr_s2_cap_cover), groups
 * them by owner, sends one "search" per owner in parallel (sr_node_call with
 * one of that owner's cells as the key), each owner returns its nearest
 * `limit` within the radius, and the entry node merges them. */
#ifndef SWIMRING_GEO_H
#define SWIMRING_GEO_H

#include <stdint.h>

struct sr_node;
struct geo_service;

struct geo_config {
    double max_radius_m;     /* nearby radius_m above this -> 400 (default 50 km) */
    uint32_t max_limit;      /* nearby limit above this -> 400 (default 1000) */
    uint32_t default_limit;  /* nearby without limit (default 10) */
    uint32_t default_ttl_s;  /* PUT without ttl_s (default 30) */
    uint32_t max_ttl_s;      /* ttl_s above this -> 400 (default 86400) */
    uint32_t tomb_keep_s;    /* tombstones outlive any record in flight (default 60) */
    uint32_t max_cells;      /* covering size limit (default 8192) */
};

void geo_config_default(struct geo_config *cfg);
/* Create the service and register it on `node` (before or after start).
 * NULL on failure with *err set. The service must outlive the node's loop;
 * free it after sr_node_delete. */
struct geo_service *geo_service_attach(struct sr_node *node, const struct geo_config *cfg,
                                       int *err);
void geo_service_free(struct geo_service *g);

#endif
