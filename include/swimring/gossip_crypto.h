/* Gossip encryption: AES-256-GCM over each SWIM datagram with a shared
 * cluster key, a keyring for rotation without downtime, and an
 * authenticated timestamp against replays.
 *
 * The UDP driver (swim_udp.h) seals every datagram the core hands it and
 * opens every datagram before the core sees it; the sans-I/O core and the
 * simulator never know. The sealed payload is the whole native datagram
 * (lib/swim/wire.h: its own 8-byte header with CRC, then msgpack).
 *
 * Sealed datagram (byte offsets on top; 8 bytes per row):
 *
 *    0        1        2        3        4        5        6        7
 *  +--------+--------+--------+--------+--------+--------+--------+--------+
 *  | magic  |version |  key id (u32, BE): the first 4    | timestamp: u64, |
 *  |  0xA7  |  0x01  |  bytes of SHA-256(key)            | big endian, ... |
 *  +--------+--------+--------+--------+--------+--------+--------+--------+
 *  | ... the sender's wall clock in ms since the epoch   | nonce (12 B):   |
 *  +--------+--------+--------+--------+--------+--------+--------+--------+
 *  | ... 8 bytes of random salt, then a 32-bit big-endian counter ...      |
 *  +--------+--------+--------+--------+--------+--------+--------+--------+
 *  | ... nonce       | ciphertext (26..): as long as the native datagram   |
 *  +--------+--------+--------+--------+--------+--------+--------+--------+
 *  | ... ciphertext, then the 16-byte GCM tag (the last 16 bytes)          |
 *  +-----------------------------------------------------------------------+
 *
 *  offsets: magic 0, version 1, key id 2..5, timestamp 6..13, nonce 14..25,
 *  ciphertext 26..len-17, tag len-16..len-1.
 *  header = 1 + 1 + 4 + 8 + 12 = 26 bytes, all of it additional
 *  authenticated data (so the key id, version and timestamp cannot be
 *  changed without failing the tag); overhead = 26 + 16 tag = 42 bytes.
 *
 *  MTU arithmetic: swim.mtu (default 1400) is the size of the datagram on
 *  the wire, sealed or not. With a key, the driver gives the core
 *  mtu - 42 = 1358 bytes, so a sealed datagram is at most 1400 bytes;
 *  1400 + 8 UDP + 20 IPv4 = 1428 (+40 IPv6 = 1448) fits Ethernet's 1500.
 *  A 1358-byte native datagram holds (1358 - 33) / 24 = 55 alive updates
 *  (56 unsealed; sizes in wire.h).
 *
 *  Nonces: 8 random bytes drawn when the keyring is made (redrawn when the
 *  counter wraps) and a 32-bit counter, so no nonce repeats within a
 *  process, and two processes collide only if they draw the same 64-bit
 *  salt. The key id lets a receiver pick the key to try (one AEAD open per
 *  datagram whatever the keyring size).
 *
 *  Receiving, in order: not our magic -> "plaintext" (accepted only with
 *  accept_plaintext); shorter than 42 bytes -> "malformed"; other version
 *  -> "version"; key id not in the keyring -> "unknown_key"; tag mismatch
 *  -> "auth"; timestamp older than now - (replay_window_ms + clock_skew_ms)
 *  -> "stale"; newer than now + clock_skew_ms -> "future". The timestamp is
 *  checked after the tag, so a forged one counts as "auth". Replays inside
 *  the window reach the core, which ignores them: every update carries an
 *  incarnation, and stale incarnations and old probe sequence numbers
 *  change nothing (docs/security.md).
 */
#ifndef SWIMRING_GOSSIP_CRYPTO_H
#define SWIMRING_GOSSIP_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "swimring/config.h"
#include "swimring/export.h"

#define SR_GOSSIP_MAGIC 0xA7
#define SR_GOSSIP_VERSION 1
#define SR_GOSSIP_KEY_LEN 32     /* AES-256 */
#define SR_GOSSIP_NONCE_LEN 12
#define SR_GOSSIP_TAG_LEN 16
#define SR_GOSSIP_HEADER 26      /* magic, version, key id, timestamp, nonce */
#define SR_GOSSIP_OVERHEAD (SR_GOSSIP_HEADER + SR_GOSSIP_TAG_LEN) /* 42 */
#define SR_GOSSIP_KEYS_MAX 8     /* installed keys per keyring */
#define SR_GOSSIP_KEY_HEX 64     /* a key as text: 64 hex characters */
#define SR_GOSSIP_ID_HEX 8       /* a key id as text: 8 hex characters */

/* What happened to a received datagram. 0 = opened; the rest name the
 * drop counter (sr_gossip_verdict_name gives the metric label). */
enum sr_gossip_verdict {
    SR_GOSSIP_OK = 0,
    SR_GOSSIP_PLAINTEXT,   /* not sealed (refused unless accept_plaintext) */
    SR_GOSSIP_MALFORMED,   /* too short for the header and tag */
    SR_GOSSIP_BADVERSION,  /* sealed with a format version we do not know */
    SR_GOSSIP_UNKNOWN_KEY, /* key id not in our keyring */
    SR_GOSSIP_AUTH,        /* tag mismatch: wrong key, or changed in flight */
    SR_GOSSIP_STALE,       /* timestamp older than the replay window */
    SR_GOSSIP_FUTURE,      /* timestamp beyond the clock skew tolerance */
    SR_GOSSIP_VERDICTS
};

/* "ok", "plaintext", "malformed", "version", "unknown_key", "auth",
 * "stale", "future". */
SR_API const char *sr_gossip_verdict_name(enum sr_gossip_verdict v);
/* A phrase for logs: "authentication failed", "unknown key id", ... */
SR_API const char *sr_gossip_verdict_text(enum sr_gossip_verdict v);

/* ---- the "gossip" configuration section ---------------------------------- */

struct sr_gossip_cfg {
    char key[SR_GOSSIP_KEY_HEX + 8]; /* 64 hex characters, or "" (secret) */
    char key_file[256];              /* file with the key(s), or "" */
    uint32_t replay_window_ms;       /* how old a datagram may be, before skew */
    uint32_t clock_skew_ms;          /* tolerated clock difference between nodes */
    bool accept_plaintext;           /* transition: take unsealed datagrams too */
    bool send_plaintext;             /* transition: send unsealed (needs accept) */
};

/* The section describing `cfg` (NULL for docs only). */
SR_API struct sr_cfg_section sr_gossip_cfg_section(struct sr_gossip_cfg *cfg);
/* Every default from the table. */
SR_API void sr_gossip_cfg_default(struct sr_gossip_cfg *cfg);

/* ---- keys ------------------------------------------------------------------ */

/* Exactly 64 hex characters (either case) -> 32 bytes. SR_EINVAL with a
 * message saying what is wrong (length, the first bad character). */
SR_API int sr_gossip_key_parse(const char *text, size_t len, uint8_t key[SR_GOSSIP_KEY_LEN],
                               char *err, size_t errlen);
/* A key file: one key per line (64 hex characters), the first line the
 * primary; blank lines and lines starting with '#' are skipped. Up to
 * `cap` keys into `keys`; returns how many (>= 1) or SR_EINVAL/SR_EIO with
 * a message naming the file, the line and what is wrong. */
SR_API int sr_gossip_key_file_load(const char *path, uint8_t (*keys)[SR_GOSSIP_KEY_LEN],
                                   size_t cap, char *err, size_t errlen);
/* The key id: the first 4 bytes of SHA-256(key), big endian. */
SR_API uint32_t sr_gossip_key_id(const uint8_t key[SR_GOSSIP_KEY_LEN]);
/* "1a2b3c4d" <-> id. parse: SR_EINVAL unless exactly 8 hex characters. */
SR_API void sr_gossip_id_format(uint32_t id, char out[SR_GOSSIP_ID_HEX + 1]);
SR_API int sr_gossip_id_parse(const char *text, uint32_t *id);

/* ---- pure pieces (unit tests, fuzzing) ------------------------------------ */

struct sr_gossip_header {
    uint8_t version;
    uint32_t key_id;
    uint64_t ts_ms;
    uint8_t nonce[SR_GOSSIP_NONCE_LEN];
};

/* Write the 26 header bytes. */
SR_API void sr_gossip_header_put(uint8_t out[SR_GOSSIP_HEADER], const struct sr_gossip_header *h);
/* Read a header: OK, PLAINTEXT, MALFORMED or BADVERSION. */
SR_API enum sr_gossip_verdict sr_gossip_header_get(const uint8_t *buf, size_t len,
                                                   struct sr_gossip_header *h);
/* Whether a timestamp is acceptable at `now_ms`: OK, STALE or FUTURE. */
SR_API enum sr_gossip_verdict sr_gossip_age_check(uint64_t ts_ms, uint64_t now_ms,
                                                  uint32_t window_ms, uint32_t skew_ms);

/* ---- the keyring ------------------------------------------------------------
 *
 * A node's gossip crypto: installed keys (one of them the primary, used to
 * seal), the replay window, the transition switches and the counters. One
 * per node, used from the loop thread only. Key bytes never leave it: the
 * list shows key ids. Keys are wiped from memory when removed. */

struct sr_gossip;

struct sr_gossip_stats {
    uint64_t sealed;                     /* datagrams sealed and sent */
    uint64_t opened;                     /* datagrams opened and passed on */
    uint64_t plaintext_accepted;         /* unsealed, passed on (accept_plaintext) */
    uint64_t dropped[SR_GOSSIP_VERDICTS]; /* by verdict; [SR_GOSSIP_OK] unused */
};

/* An empty keyring (no key: seal fails until one is installed and used).
 * NULL when out of memory or the random source fails. */
SR_API struct sr_gossip *sr_gossip_new(uint32_t replay_window_ms, uint32_t clock_skew_ms);
/* Wipe every key and free. NULL is a no-op. */
SR_API void sr_gossip_delete(struct sr_gossip *g);
/* From the configuration: NULL with *err = 0 when no key is configured
 * (encryption off); NULL with *err < 0 and a message on a bad key, key
 * file or option; else a keyring whose primary is gossip.key or the key
 * file's first key, with the file's other keys installed. */
SR_API struct sr_gossip *sr_gossip_from_cfg(const struct sr_gossip_cfg *cfg, int *err, char *msg,
                                            size_t msglen);

/* Install a key (its id to *id if not NULL). Installing a key already in
 * the ring is a no-op returning 0, so a rotation step can be retried.
 * The first key installed becomes the primary. SR_EFULL past
 * SR_GOSSIP_KEYS_MAX, SR_EEXIST for another key with the same id. */
SR_API int sr_gossip_install(struct sr_gossip *g, const uint8_t key[SR_GOSSIP_KEY_LEN],
                             uint32_t *id);
/* Make an installed key the primary. SR_ENOTFOUND. */
SR_API int sr_gossip_use(struct sr_gossip *g, uint32_t id);
/* Remove a key. SR_EBUSY for the primary (switch first), SR_ENOTFOUND. */
SR_API int sr_gossip_remove(struct sr_gossip *g, uint32_t id);
/* Installed key ids in install order (up to cap); returns the count. */
SR_API size_t sr_gossip_ids(const struct sr_gossip *g, uint32_t *ids, size_t cap);
/* The primary's id; false when the ring is empty. */
SR_API bool sr_gossip_primary(const struct sr_gossip *g, uint32_t *id);

/* Transition switches (see the "gossip" section). SR_EINVAL for send
 * without accept. */
SR_API int sr_gossip_set_plaintext(struct sr_gossip *g, bool accept, bool send);
SR_API bool sr_gossip_accepts_plaintext(const struct sr_gossip *g);
SR_API bool sr_gossip_sends_plaintext(const struct sr_gossip *g);
SR_API uint32_t sr_gossip_replay_window_ms(const struct sr_gossip *g);
SR_API uint32_t sr_gossip_clock_skew_ms(const struct sr_gossip *g);
SR_API const struct sr_gossip_stats *sr_gossip_stats(const struct sr_gossip *g);

/* Seal `len` bytes with the primary key and timestamp `now_ms` into `out`
 * (room for len + SR_GOSSIP_OVERHEAD). Returns the sealed length, or
 * SR_ENOTFOUND (no key), SR_ETOOBIG (out too small), SR_EIO (openssl). */
SR_API int sr_gossip_seal(struct sr_gossip *g, uint64_t now_ms, const void *in, size_t len,
                          uint8_t *out, size_t cap);
/* Open a received datagram in place: on SR_GOSSIP_OK the native datagram
 * is at *plain (inside buf) for *plain_len bytes. On SR_GOSSIP_PLAINTEXT
 * with accept_plaintext on, the result is also OK and *plain = buf.
 * Every verdict is counted in the stats. buf's bytes after the header
 * are overwritten whatever the verdict. */
SR_API enum sr_gossip_verdict sr_gossip_open(struct sr_gossip *g, uint64_t now_ms, uint8_t *buf,
                                             size_t len, const uint8_t **plain,
                                             size_t *plain_len);

#endif
