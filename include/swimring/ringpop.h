/* The ringpop wire for the SWIM core: TChannel over TCP with ringpop's JSON
 * bodies on the "ringpop" service (/protocol/join, /protocol/ping,
 * /protocol/ping-req) plus the admin endpoints (/admin/stats etc.) ringpop-common's
 * integration suite calls. The core (swim.h) stays the same sans-I/O
 * object; this driver translates its datagrams to and from ringpop calls.
 * docs/ringpop.md says what is compatible and what is not.
 *
 * Threading: one libevent loop; every call on the loop's thread.
 * Callback contract: none; stop with sr_ringpop_delete (closes every
 * connection, fails pending calls silently). */
#ifndef SWIMRING_RINGPOP_H
#define SWIMRING_RINGPOP_H

#include <stddef.h>
#include <stdint.h>
#include "swimring/export.h"
#include "swimring/log.h"
#include "swimring/swim.h"

struct event_base;
struct sr_ringpop;

struct sr_ringpop_cfg {
    const char *listen;          /* "host:port" to bind and advertise */
    const char *identity;        /* ringpop identity label (NULL: none) */
    const char *const *hosts;    /* bootstrap list (own address may be in it) */
    const char *hosts_file;      /* JSON list re-read by partition healing (NULL: hosts) */
    size_t nhosts;
    uint32_t suspect_ms;         /* suspect -> faulty (ringpop: 5000) */
    uint32_t faulty_ms;          /* faulty kept before it is reaped */
    uint32_t tombstone_ms;       /* tombstone kept before it is evicted */
    uint32_t join_size;          /* seeds asked at once (ringpop-go: 3 x 2 = 6) */
    uint32_t max_reverse_syncs;  /* concurrent reverse full syncs (ringpop-go: 5) */
};

SR_API void sr_ringpop_cfg_default(struct sr_ringpop_cfg *cfg);

/* Bind, then join through cfg->hosts. NULL with *err on failure (SR_ESYS:
 * errno says why, e.g. EADDRINUSE). */
SR_API struct sr_ringpop *sr_ringpop_new(struct event_base *base, const struct sr_ringpop_cfg *cfg,
                                         struct sr_log *log, int *err);
SR_API void sr_ringpop_delete(struct sr_ringpop *rp);
SR_API struct sr_swim *sr_ringpop_swim(struct sr_ringpop *rp);
/* The member address owning `key` on the ring (identity-aware), or NULL. */
SR_API const char *sr_ringpop_lookup(struct sr_ringpop *rp, const void *key, size_t len);

/* Self-eviction (ringpop-go SelfEvict, run on SIGTERM): declare ourselves
 * faulty straight to ceil(40 %) of the reachable members, wait for their
 * answers (at most the ping timeout), then call done(ud) once. Returns an
 * error, and done never runs, if an eviction is already under way. */
typedef void (*sr_ringpop_done_f)(void *ud);
SR_API int sr_ringpop_self_evict(struct sr_ringpop *rp, sr_ringpop_done_f done, void *ud);

#endif
