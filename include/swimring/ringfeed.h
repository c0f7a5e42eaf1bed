/* The ring fed by membership: the adapter between lib/swim and lib/hashring.
 *
 * Membership events arrive one at a time, inside sr_swim_receive/tick; a
 * gossip round or a full sync often brings many at once. The feed queues the
 * ring changes they imply and applies them as ONE sr_ring_apply() batch when
 * the owner calls sr_ringfeed_flush() (the node does it once per event-loop
 * turn), so services see one "ring changed" callback with every moved range
 * instead of one per member.
 *
 *   event                      ring change
 *   JOINED, RECOVERED          add (weight from the member's labels)
 *   SUSPECT                    add if cfg.suspect_on_ring (default, as in
 *                              ringpop: a suspect may be alive, and moving
 *                              its keys twice costs more), else remove
 *   FAULTY, LEFT, REMOVED      remove
 *   LABELS                     add again if the weight changed and the
 *                              member is on the ring
 *   CHECKSUM, anything else    nothing
 *
 * Weight: the member label `cfg.weight_label` (default "weight") parsed as a
 * decimal in (0, SR_RING_WEIGHT_MAX]; absent or unparsable means 1.0 (an
 * unparsable value is counted in stats.bad_weight).
 *
 * Changes are applied in arrival order, and the ring ignores an add of a
 * present member with the same weight and a remove of an absent one, so a
 * replayed or stale event is harmless.
 *
 * Threading: the loop thread, like the ring and the swim core. */
#ifndef SWIMRING_RINGFEED_H
#define SWIMRING_RINGFEED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "swimring/export.h"
#include "swimring/hashring.h"
#include "swimring/swim.h"

#define SR_RINGFEED_LABEL_DEFAULT "weight"

struct sr_ringfeed_cfg {
    bool suspect_on_ring;     /* default true */
    const char *weight_label; /* default SR_RINGFEED_LABEL_DEFAULT; NULL = all weights 1 */
    const char *identity_label; /* default NULL; "__identity" for ringpop: a member
                                 * with that label's value I gets the points of
                                 * "I#" (ringpop-go), else of its address */
};

SR_API void sr_ringfeed_cfg_default(struct sr_ringfeed_cfg *cfg);

struct sr_ringfeed_stats {
    uint64_t events;      /* membership events seen */
    uint64_t queued;      /* ring changes queued */
    uint64_t batches;     /* sr_ring_apply calls that changed the ring */
    uint64_t members_moved; /* members added or removed by them */
    uint64_t bad_weight;  /* weight labels that did not parse */
    uint64_t apply_errors;
};

struct sr_ringfeed;

/* A feed for `ring` (borrowed: it must outlive the feed). cfg NULL means
 * defaults. NULL with *err = SR_ENOMEM or SR_EINVAL on failure. */
SR_API struct sr_ringfeed *sr_ringfeed_new(struct sr_ring *ring, const struct sr_ringfeed_cfg *cfg,
                                           int *err);
SR_API void sr_ringfeed_delete(struct sr_ringfeed *f);

/* Queue the ring change `ev` implies (copies what it needs). 0, or SR_ENOMEM
 * (the change is lost: call sr_ringfeed_resync later). */
SR_API int sr_ringfeed_event(struct sr_ringfeed *f, const struct sr_swim_event *ev);
/* Apply everything queued as one batch. Returns the number of members that
 * came or went (0: nothing changed), or the sr_ring_apply() error. */
SR_API int sr_ringfeed_flush(struct sr_ringfeed *f);
/* Changes waiting for the next flush. */
SR_API size_t sr_ringfeed_pending(const struct sr_ringfeed *f);
/* Make the ring equal to the view of `swim` as one batch: every member that
 * belongs on it added (with its weight), every other ring member removed.
 * Use at start, and after an error dropped an event. Queued changes are
 * discarded (the view already contains them). Returns as sr_ringfeed_flush. */
SR_API int sr_ringfeed_resync(struct sr_ringfeed *f, const struct sr_swim *swim);

SR_API const struct sr_ringfeed_stats *sr_ringfeed_stats(const struct sr_ringfeed *f);

#endif
