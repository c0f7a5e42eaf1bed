/* ringpop's JSON messages (ringpop-common/schema) mapped onto the SWIM
 * core's datagrams, and ringpop's membership checksum.
 *
 * A ringpop "change" {address, status, incarnationNumber, source,
 * sourceIncarnationNumber, labels, tombstone} becomes one core update
 * (lib/swim/wire.h): status alive/suspect/faulty/leave map to the core's
 * alive/suspect/faulty/left, "tombstone" (or faulty + tombstone:true) to
 * SR_SWIM_TOMBSTONE (the core's tombstone_evict_ms option). Incarnations must be integers in
 * [0, 2^53); anything else drops the change, not the message.
 *
 * Checksum (ringpop-go swim/member.go): for every member not in the
 * tombstone state, the string address + status + decimal incarnation
 * (+ "#labels" + signed label checksum when that is not 0); the strings are
 * sorted bytewise, each followed by ';', and the whole is hashed with
 * FarmHash Fingerprint32. The label checksum XORs Fingerprint32 of
 * (be32 len, key, be32 len, value) per label. */
#ifndef SWIMRING_RINGPOP_MSG_H
#define SWIMRING_RINGPOP_MSG_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include "swimring/buf.h"
#include "swimring/swim.h"
#include "swim/wire.h"

#define SR_RP_INC_MAX ((int64_t)1 << 53)

/* Parse a ringpop status word; -1 if unknown. tombstone=true turns faulty
 * into "tombstone" (returned as 4). */
int sr_rp_status_parse(const char *s, bool tombstone);
const char *sr_rp_status_name(enum sr_swim_status st);

/* Counters of what a conversion dropped. */
struct sr_rp_drops {
    uint64_t bad_change, tombstone, labels;
};

/* Encode a core datagram of `type` (seq, core checksum) whose updates are
 * the JSON changes array (may be NULL). */
int sr_rp_changes_to_datagram(struct sr_buf *out, uint32_t type, uint64_t seq,
                              uint64_t core_checksum, const json_t *changes,
                              const char *target, uint32_t timeout_ms,
                              struct sr_rp_drops *drops);

/* Encode a full-sync state (lib/swim/wire.h, "Full-sync state") from a
 * ringpop membership array, for sr_swim_merge_state. */
int sr_rp_changes_to_state(struct sr_buf *out, const char *from, const json_t *membership,
                           struct sr_rp_drops *drops);

/* A change object {address, status, incarnationNumber[, tombstone]}. */
json_t *sr_rp_change_new(const char *addr, enum sr_swim_status st, uint64_t inc);

/* One core update as a ringpop change object (new reference). `source` and
 * `source_inc` name who reports it. */
json_t *sr_rp_update_to_change(const struct sr_swim_update *u, const char *source,
                               uint64_t source_inc);

/* Label checksum (signed, as ringpop-go and ringpop-node compute it). */
int32_t sr_rp_labels_checksum(const struct sr_swim_label *labels, size_t n);

/* Membership checksum of the core's current view (tombstones excluded). */
uint32_t sr_rp_checksum(const struct sr_swim *s);

/* Checksum of explicit entries (for tests): n members. */
struct sr_rp_entry {
    const char *addr;
    const char *status;
    uint64_t incarnation;
    int32_t labels_checksum;
};
uint32_t sr_rp_checksum_entries(const struct sr_rp_entry *e, size_t n);

#endif
