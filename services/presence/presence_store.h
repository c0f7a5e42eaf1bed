/* presence store: who is online, per user, in memory on one node.
 *
 * A user has sessions; a session is {id, status, meta, stamp, expires}.
 * Every session is one record merged last-writer-wins by `stamp` (µs wall
 * clock, assigned by the owner), so a heartbeat replayed, a handoff copy and
 * a replica's copy all converge whatever their order. A deleted or expired
 * session stays as a tombstone (same record, status PS_TOMB) long enough
 * that no older copy can bring it back, then is forgotten.
 *
 * Sans-I/O: the store reads no clock and arms no timer. The caller passes
 * `now` (wall µs) in, asks ps_store_next_expiry() when to call
 * ps_store_expire() next, and hears every visible change through one
 * callback (a session came online, changed status or meta, went offline).
 *
 * Expiry is exactly once: a live session sits in a min-heap on `expires`;
 * when it passes, the session becomes a tombstone with the same stamp (so
 * every replica makes the same one) and the change callback runs once.
 *
 * Memory (64-bit glibc, single-session user, 8-byte ids, no meta): user
 * block 32 + session block 64 + heap slot ~8 + table slot ~17 ≈ 121 bytes
 * (measured: 121.2 with a million users);
 * bench/bench_presence measures it. Not thread-safe: one loop thread. */
#ifndef PRESENCE_STORE_H
#define PRESENCE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "swimring/buf.h"

/* Session statuses. The aggregate of a user is its most present live
 * session, in this order (most present first): in_game, online, busy, away,
 * offline. in_game beats online because it is the stronger proof that the
 * person is there right now; busy and away are present but not reachable.
 * Ties go to the newer heartbeat. */
enum ps_status {
    PS_OFFLINE = 0, /* a live session that asks to look offline (invisible) */
    PS_AWAY = 1,
    PS_BUSY = 2,
    PS_ONLINE = 3,
    PS_IN_GAME = 4,
    PS_TOMB = 5,    /* deleted or expired: not a status a client may send */
};
#define PS_STATUS_COUNT 5

#define PS_ID_MAX 128      /* user and session ids, bytes */
#define PS_META_MAX 4096   /* hard cap; the service's configured cap is lower */

/* One session. `data` holds the id then the meta JSON text (no NULs). */
struct ps_sess {
    struct ps_user *user;   /* owner, for expiry */
    struct ps_sess *next;   /* the user's list */
    uint64_t stamp;         /* last writer wins, µs wall clock */
    uint64_t expires;       /* live: when it expires; tombstone: when it is forgotten */
    uint32_t heap;          /* index in the expiry heap */
    uint16_t meta_len;
    uint8_t sid_len;
    uint8_t status;         /* enum ps_status */
    char data[];
};

struct ps_user {
    struct ps_sess *sess;
    uint32_t hash;
    uint8_t klen;
    char key[];
};

/* What changed, as the callback reports it. */
enum ps_change {
    PS_CH_ONLINE,   /* a session appeared (or came back) */
    PS_CH_STATUS,   /* a live session changed status */
    PS_CH_META,     /* ... or only its meta */
    PS_CH_OFFLINE,  /* deleted */
    PS_CH_EXPIRED,  /* its ttl passed */
};

/* A record as it travels (export, replication, handoff). */
struct ps_rec {
    const char *sid;
    size_t sid_len;
    uint64_t stamp, expires;
    uint8_t status;
    const char *meta;
    size_t meta_len;
};

struct ps_store;
/* `s` is the session after the change (a tombstone for offline/expired),
 * `old_status` its status before. The callback must not change the store. */
typedef void (*ps_change_f)(void *ud, const struct ps_user *u, const struct ps_sess *s,
                            enum ps_change what, uint8_t old_status);

/* `tomb_keep_us`: how long tombstones are kept (at least the largest ttl). */
struct ps_store *ps_store_new(uint64_t tomb_keep_us, ps_change_f cb, void *ud);
void ps_store_delete(struct ps_store *st);

/* Merge one record for `user` (LWW; ties: tombstone, then later expiry,
 * then higher status, then meta bytes, so every replica picks the same).
 * A live record already past its expiry is taken as its tombstone.
 * Returns 1 if the state changed, 0 if the record lost, or SR_EINVAL (bad
 * sizes or status) / SR_ENOMEM. */
int ps_store_apply(struct ps_store *st, const void *user, size_t ulen, const struct ps_rec *r,
                   uint64_t now);
struct ps_user *ps_store_find(const struct ps_store *st, const void *user, size_t ulen);
struct ps_sess *ps_user_session(const struct ps_user *u, const void *sid, size_t sid_len);
/* The largest stamp among the user's sessions (0 for none). */
uint64_t ps_user_stamp(const struct ps_user *u);
/* Aggregate status of the user's live sessions (PS_TOMB when there is none). */
enum ps_status ps_user_aggregate(const struct ps_user *u);
/* Forget a user and all its sessions (no change callback). */
void ps_store_drop(struct ps_store *st, const void *user, size_t ulen);

/* Expire / forget everything due at `now`; returns how many sessions
 * expired (each reported once through the callback). */
size_t ps_store_expire(struct ps_store *st, uint64_t now);
/* The earliest `expires` in the heap, or 0 when empty. */
uint64_t ps_store_next_expiry(const struct ps_store *st);

/* Walk users; a nonzero return from fn stops the walk. */
typedef int (*ps_user_f)(void *arg, const struct ps_user *u);
void ps_store_each(const struct ps_store *st, ps_user_f fn, void *arg);

size_t ps_store_users(const struct ps_store *st);      /* with >= 1 live session */
size_t ps_store_keys(const struct ps_store *st);       /* incl. tombstone-only users */
size_t ps_store_sessions(const struct ps_store *st);   /* live */

/* Records: msgpack [sid, stamp, status, expires, meta]. */
int ps_rec_write(const struct ps_sess *s, struct sr_buf *out);
int ps_rec_read(const void *buf, size_t len, struct ps_rec *out);

/* Names: "online" ... ; ps_status_parse returns -1 for an unknown name or
 * for "tombstone" (clients cannot send it). */
const char *ps_status_name(uint8_t st);
int ps_status_parse(const char *name);

/* JSON view: {"user", "status", "sessions": [{"id","status","meta","ts","expires"}]}
 * with times in ms since the epoch; live sessions only. */
json_t *ps_user_json(const struct ps_user *u, const void *user, size_t ulen);

#endif
