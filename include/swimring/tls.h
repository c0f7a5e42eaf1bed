/* Mutual TLS for node-to-node RPC, and the certificate exception policy
 * (lib/forward/conn_tls.c, lib/forward/tls_policy.c; docs/security.md).
 *
 * An sr_tls holds a node's TLS material: its certificate (chain), its
 * private key and the CA bundle it trusts for peers, read from PEM files.
 * sr_rpc_use_tls makes an sr_rpc speak TLS with it on both ends, behind the
 * same transport table as plain TCP: RPC callers never know which.
 *
 * Verification, both directions: the peer must present a certificate that
 * chains to a CA of ca_file and is valid now, with signatures and keys that
 * the system's openssl security level accepts. TLS 1.2 at least, 1.3
 * preferred; no session resumption, so every connection is verified afresh
 * (a reload or an exception's expiry applies to the next handshake). No name
 * or address check: the CA is the cluster's boundary, so give a cluster its
 * own CA.
 *
 * Exceptions: the operator may accept ONE certificate, named by the SHA-256
 * fingerprint of its DER encoding, despite being expired and/or despite a
 * weak signature digest or key, until a given wall-clock time. Nothing else
 * is ever excepted (an untrusted chain, a bad signature, a certificate not
 * yet valid, a missing certificate); there is no accept-all. Each handshake
 * that relies on an exception is logged at error level (event
 * tls.exception_used) and counted. Exceptions end by themselves: checked
 * against the wall clock at every handshake and dropped once past.
 *
 * Ownership: reference counted. sr_tls_new returns one reference;
 * sr_rpc_use_tls takes one more that the RPC object drops when deleted;
 * sr_tls_unref drops one. Connections already open keep the material they
 * were made with. Loop thread only, like sr_rpc. */
#ifndef SWIMRING_TLS_H
#define SWIMRING_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "swimring/export.h"

struct sr_log;
struct sr_rpc;
struct sr_tls;

#define SR_TLS_FP_LEN 32            /* SHA-256 */
#define SR_TLS_FP_HEX 65            /* 64 lowercase hex digits + NUL */
#define SR_TLS_PATH_MAX 256
#define SR_TLS_EXCEPTIONS_MAX 32
#define SR_TLS_EXCEPTION_MAX_DAYS 90 /* the furthest "until" an exception may name */
#define SR_TLS_ORIGIN_MAX 64

/* What an exception allows (a bit set). */
#define SR_TLS_ALLOW_EXPIRED 0x1u   /* "expired": X509_V_ERR_CERT_HAS_EXPIRED */
#define SR_TLS_ALLOW_WEAK 0x2u      /* "weak-signature": CA_MD_TOO_WEAK,
                                       EE_KEY_TOO_SMALL, CA_KEY_TOO_SMALL */
#define SR_TLS_ALLOW_ALL (SR_TLS_ALLOW_EXPIRED | SR_TLS_ALLOW_WEAK)

struct sr_tls_cfg {
    const char *cert_file;          /* PEM: this node's certificate, then intermediates */
    const char *key_file;           /* PEM: its private key (unencrypted) */
    const char *ca_file;            /* PEM: the CAs whose certificates peers may present */
    uint32_t handshake_timeout_ms;  /* server: close a connection whose handshake is not
                                       done by then (0 = 10 s). Clients use the RPC
                                       connect timeout. */
};

struct sr_tls_exception {
    uint8_t fp[SR_TLS_FP_LEN];      /* SHA-256 of the certificate's DER */
    uint32_t allow;                 /* SR_TLS_ALLOW_* */
    int64_t until_ms;               /* Unix ms, wall clock: accepted while now < until */
    char origin[SR_TLS_ORIGIN_MAX]; /* who set it ("config", a node address): listings */
};

struct sr_tls_stats {
    uint64_t handshakes;            /* completed (either side) */
    uint64_t handshake_failures;    /* ended by a fatal alert, sent or received */
    uint64_t refused_untrusted;     /* peer certificates refused: no chain to our CAs, bad signature, ... */
    uint64_t refused_expired;       /* ... expired or not yet valid */
    uint64_t refused_weak;          /* ... weak signature digest or key */
    uint64_t exceptions_used;       /* handshakes that passed only thanks to an exception */
    uint64_t reloads;               /* sr_tls_reload that took new material */
    uint64_t reload_failures;       /* ... that refused it (the old one stays) */
};

/* What is loaded now (no secret: the key is never shown). */
struct sr_tls_info {
    char fingerprint[SR_TLS_FP_HEX]; /* of this node's certificate */
    char subject[256];
    char issuer[256];
    int64_t not_before_ms, not_after_ms; /* Unix ms */
    int64_t loaded_at_ms;           /* when this material was read */
    size_t ca_count;                /* certificates in the CA bundle */
    char cert_file[SR_TLS_PATH_MAX], key_file[SR_TLS_PATH_MAX], ca_file[SR_TLS_PATH_MAX];
};

/* Read the material and check it: the key matches the certificate, the CA
 * bundle holds at least one certificate, and the certificate chains to the
 * bundle (ignoring time: an expired own certificate is logged at error level
 * but loaded, since peers may hold an exception for it). NULL and a message
 * naming the file and the reason on failure. The paths are copied. */
SR_API struct sr_tls *sr_tls_new(const struct sr_tls_cfg *cfg, struct sr_log *log, char *err,
                                 size_t errlen);
/* Drop one reference (NULL is fine). */
SR_API void sr_tls_unref(struct sr_tls *tls);
/* Read the same files again (after a renewal). On success new connections use
 * the new material; open ones keep theirs. On failure nothing changes, the
 * reason is logged (tls.reload_failed) and returned in err, SR_ECONFIG. */
SR_API int sr_tls_reload(struct sr_tls *tls, char *err, size_t errlen);
/* Make `rpc` use TLS for everything it accepts and dials. Only before
 * sr_rpc_listen and the first call (SR_EINVAL after). Takes a reference. */
SR_API int sr_rpc_use_tls(struct sr_rpc *rpc, struct sr_tls *tls);

/* Add or replace (same fingerprint) an exception. SR_EINVAL if allow is
 * empty or unknown, or `until` is not in the future or further than
 * SR_TLS_EXCEPTION_MAX_DAYS; SR_EFULL past SR_TLS_EXCEPTIONS_MAX. */
SR_API int sr_tls_exception_set(struct sr_tls *tls, const struct sr_tls_exception *e);
/* 0, or SR_ENOTFOUND. */
SR_API int sr_tls_exception_remove(struct sr_tls *tls, const uint8_t fp[SR_TLS_FP_LEN]);
/* The live exceptions (expired ones are dropped first), at most cap. */
SR_API size_t sr_tls_exception_list(struct sr_tls *tls, struct sr_tls_exception *out, size_t cap);

SR_API void sr_tls_stats_get(const struct sr_tls *tls, struct sr_tls_stats *out);
SR_API void sr_tls_info_get(const struct sr_tls *tls, struct sr_tls_info *out);

/* ---- text forms (pure; config, admin API, cluster settings, ringctl) ------ */

/* 64 hex digits, either case, optionally in pairs separated by ':' (the
 * `openssl x509 -fingerprint -sha256` form). 0 or SR_EINVAL. */
SR_API int sr_tls_fp_parse(const char *text, uint8_t fp[SR_TLS_FP_LEN]);
/* 64 lowercase hex digits. Returns out. */
SR_API char *sr_tls_fp_format(const uint8_t fp[SR_TLS_FP_LEN], char out[SR_TLS_FP_HEX]);
/* SHA-256 fingerprint of the first certificate in a PEM file. 0, SR_EIO. */
SR_API int sr_tls_fp_file(const char *pem_path, uint8_t fp[SR_TLS_FP_LEN]);
/* "expired", "weak-signature" or both, comma-separated. 0 or SR_EINVAL. */
SR_API int sr_tls_allow_parse(const char *text, uint32_t *allow);
/* The same text from bits. Returns out. */
SR_API char *sr_tls_allow_format(uint32_t allow, char *out, size_t len);
/* A time: RFC 3339 UTC "2026-12-01T20:00:00Z" (fraction of a second
 * optional) or, when now_ms >= 0, relative "+90s", "+30m", "+12h", "+7d".
 * Unix ms into *out. 0 or SR_EINVAL. */
SR_API int sr_tls_time_parse(const char *text, int64_t now_ms, int64_t *out);
/* One exception, "FINGERPRINT ALLOW UNTIL" (single spaces or tabs between;
 * UNTIL as sr_tls_time_parse). Does not check the time window (see
 * sr_tls_exception_set). 0, or SR_EINVAL with the bad field in err. */
SR_API int sr_tls_exception_parse(const char *text, size_t len, int64_t now_ms,
                                  struct sr_tls_exception *out, char *err, size_t errlen);
/* Several, separated by ';' (the config key tls.exceptions). Returns the
 * count (0 for blank text) or SR_EINVAL / SR_EFULL with a message. */
SR_API int sr_tls_exceptions_parse(const char *text, int64_t now_ms, struct sr_tls_exception *out,
                                   size_t cap, char *err, size_t errlen);

#endif
