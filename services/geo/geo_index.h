/* The geo service's in-memory index (no I/O, no node: unit-testable).
 *
 * Objects live in level-12 S2 cells (the shard unit: a cell is a ring key).
 * Inside a cell they sit in 256 buckets, one per level-16 descendant
 * (about 150 m across); each bucket keeps a bounding cap, so a nearest-k
 * query visits buckets in order of their lower-bound distance and stops as
 * soon as the next bucket cannot beat the k-th best found: a dense cell
 * costs work in proportion to k, not to the objects in the circle.
 *
 * The unit point of an entry lives (as floats) in its bucket entry only:
 * a search tests those first, then the exact distance from lat/lng.
 *
 * Every entry carries a last-writer-wins timestamp `ts` (microseconds) and
 * an absolute wall-clock expiry `expires` (microseconds since the epoch).
 * A delete or a move out of the cell leaves a tombstone (same ts rule), so a
 * late, older record can never bring a removed object back (no ghosts).
 * Expiry uses a min-heap on `expires` (no scans): geo_index_expire() pops
 * what is due; queries also skip anything already past its expiry, so an
 * answer is exact even between timer ticks.
 *
 * The same structure, in "directory" mode (spatial = false), keys entries by
 * id alone and keeps no buckets: the id's owner remembers the cell, ts and
 * expiry of each object there (see geo_service.c).
 *
 * Not thread-safe (the node's loop thread owns it). */
#ifndef SWIMRING_GEO_INDEX_H
#define SWIMRING_GEO_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GEO_CELL_LEVEL 12
#define GEO_BUCKET_LEVEL 16
#define GEO_ID_MAX 256       /* bytes of an object id */
#define GEO_ATTRS_MAX 4096   /* bytes of an object's attrs (JSON text) */

struct geo_index;
struct geo_filter;

/* One entry (an object or a tombstone). Pointers stay valid until the next
 * change of the index. */
struct geo_obj {
    struct geo_obj *hnext;   /* hash chain */
    struct geo_cell *cell;   /* spatial mode: the cell; else NULL */
    uint64_t cellid;         /* the level-12 cell it is in */
    uint64_t ts, expires;
    double lat, lng;
    char *attrs;             /* JSON object text or NULL */
    uint32_t attrs_len;
    uint32_t heap_pos;       /* index in the expiry heap */
    uint32_t bpos;           /* index in its bucket (live entries only) */
    uint16_t id_len;
    uint8_t bucket;          /* 0..255: level-16 descendant of the cell */
    bool deleted;            /* a tombstone */
    char id[];
};

/* A record to apply: what a PUT, a move or a delete says about one id. */
struct geo_rec {
    uint64_t cellid;
    const char *id;
    size_t id_len;
    double lat, lng;
    uint64_t ts, expires;
    bool deleted;
    const char *attrs;       /* may be NULL */
    size_t attrs_len;
};

struct geo_hit {
    const struct geo_obj *obj;
    double dist_m;
};

struct geo_index *geo_index_new(bool spatial);
void geo_index_free(struct geo_index *ix);

/* Merge a record, last writer wins: applied if there is no entry for
 * (cell, id) (directory: id) or the entry's ts is lower (ties: a tombstone
 * wins, then the larger expiry, so every replica picks the same). A live
 * record already past `now_us` is not stored. Returns 1 if applied, 0 if
 * what is held is newer or the same, SR_EINVAL for a bad record, SR_ENOMEM. */
int geo_index_apply(struct geo_index *ix, const struct geo_rec *rec, uint64_t now_us);
/* The entry for (cell, id) (cell ignored in directory mode), tombstones
 * included, or NULL. Entries past their expiry are still returned until
 * expired: check obj->expires. */
const struct geo_obj *geo_index_get(const struct geo_index *ix, uint64_t cellid, const char *id,
                                    size_t id_len);
/* Remove every entry whose expiry is <= now_us. Returns how many. */
size_t geo_index_expire(struct geo_index *ix, uint64_t now_us);
/* The earliest expiry held, or 0 when empty. */
uint64_t geo_index_next_expiry(const struct geo_index *ix);
/* Live (not deleted) entries, and all entries incl. tombstones. */
size_t geo_index_count(const struct geo_index *ix);
size_t geo_index_entries(const struct geo_index *ix);
/* Bytes the index has allocated (objects, cells, buckets, tables). */
size_t geo_index_memory(const struct geo_index *ix);

/* Nearest: the `limit` live entries nearest to (lat, lng) within radius_m
 * (great-circle metres, sr_s2_distance_m, boundary included) in the given
 * cells, not expired at now_us, matching `f` (may be NULL), sorted by
 * distance then id. out has room for `limit`. Returns how many were found
 * (spatial mode only). */
size_t geo_index_nearby(struct geo_index *ix, const uint64_t *cells, size_t ncells, double lat,
                        double lng, double radius_m, size_t limit, const struct geo_filter *f,
                        uint64_t now_us, struct geo_hit *out);

/* State walks (spatial mode): every cell held (fn nonzero stops), every
 * entry of one cell (tombstones included; fn nonzero stops and is
 * returned), and forgetting a cell. */
void geo_index_cells(const struct geo_index *ix, int (*fn)(void *arg, uint64_t cellid), void *arg);
int geo_index_cell_entries(const struct geo_index *ix, uint64_t cellid,
                           int (*fn)(void *arg, const struct geo_obj *o), void *arg);
bool geo_index_has_cell(const struct geo_index *ix, uint64_t cellid);
/* Every entry (directory mode: every id held), in no order. */
void geo_index_walk(const struct geo_index *ix, int (*fn)(void *arg, const struct geo_obj *o),
                    void *arg);
/* Forget one entry (tombstone included) without a trace. */
void geo_index_remove(struct geo_index *ix, uint64_t cellid, const char *id, size_t id_len);
void geo_index_drop_cell(struct geo_index *ix, uint64_t cellid);

/* ---- attribute filters ------------------------------------------------------
 * "k OP v[,k OP v...]" with OP one of = != >= <= > <: every condition must
 * hold. A number compares numerically with a numeric attr, true/false with
 * a boolean, anything else as a string (= and != only); a missing attr
 * fails the condition. */
#define GEO_FILTER_MAX 8
struct geo_filter;
/* Parse; NULL with SR_EINVAL/SR_ENOMEM in *err for a bad filter. */
struct geo_filter *geo_filter_parse(const char *s, size_t len, int *err);
void geo_filter_free(struct geo_filter *f);
/* Whether attrs (JSON object text, may be NULL) pass the filter. */
bool geo_filter_match(const struct geo_filter *f, const char *attrs, size_t len);

/* The ring key of a cell: its id as 8 bytes big-endian. Object ids never
 * contain bytes below 0x20 and a level-12 cell key always has zero bytes
 * (its low 36 bits are 0x1 followed by zeros), so the two never collide. */
void geo_cell_key(uint64_t cellid, uint8_t out[8]);
/* The cell of an 8-byte key; false if it is not a level-12 cell key. */
bool geo_cell_from_key(const void *key, size_t len, uint64_t *cellid);

#endif
