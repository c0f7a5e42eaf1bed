/* The exception table of an sr_tls (tls_policy.c): pure, the caller passes
 * the wall clock in, so it is table-tested without sockets or openssl. */
#ifndef SWIMRING_FORWARD_TLS_POLICY_H
#define SWIMRING_FORWARD_TLS_POLICY_H

#include <stddef.h>
#include <stdint.h>
#include "swimring/tls.h"

struct sr_tls_policy {
    size_t n;
    struct sr_tls_exception e[SR_TLS_EXCEPTIONS_MAX];
};

/* Add or replace by fingerprint. SR_EINVAL (allow empty or unknown bits,
 * until <= now or beyond SR_TLS_EXCEPTION_MAX_DAYS), SR_EFULL. */
int sr_tls_policy_set(struct sr_tls_policy *p, const struct sr_tls_exception *e, int64_t now_ms);
/* 0 or SR_ENOTFOUND. */
int sr_tls_policy_remove(struct sr_tls_policy *p, const uint8_t fp[SR_TLS_FP_LEN]);
/* Drop every exception whose time has passed; returns how many went. */
size_t sr_tls_policy_prune(struct sr_tls_policy *p, int64_t now_ms);
/* The live exception for `fp` that allows every bit of `need`, or NULL.
 * An expired entry for fp is dropped on the way. */
const struct sr_tls_exception *sr_tls_policy_match(struct sr_tls_policy *p,
                                                   const uint8_t fp[SR_TLS_FP_LEN],
                                                   uint32_t need, int64_t now_ms);

#endif
