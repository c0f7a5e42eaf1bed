/* TLS implementation of struct sr_conn_ops: bufferevent_openssl over the
 * same sockets as conn_tcp.c, mutual verification against a CA bundle, and
 * the certificate exceptions of tls_policy.c (swimring/tls.h).
 *
 * One SSL_CTX holds the current material. A reload builds a complete new
 * SSL_CTX and swaps it in only if every check passed; connections already
 * open hold a reference to the old one, which openssl frees with the last.
 *
 * Per-connection state is a few bits kept in the SSL's app data (no
 * allocation, nothing to free): whether its handshake, its fatal alert and
 * its use of an exception were counted. */
#include "forward/rpc_impl.h"
#include "forward/tls_policy.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include "swimring/error.h"
#include "swimring/log.h"
#include "swimring/time.h"
#include "swimring/tls.h"

#define HANDSHAKE_TIMEOUT_MS 10000u
#define VERIFY_DEPTH 8
/* TLS 1.2 suites: forward secret AEAD only (1.3 has only such suites). */
#define CIPHERS_TLS12 "ECDHE+AESGCM:ECDHE+CHACHA20:!aNULL"

/* Bits of a connection's app data. */
#define CONN_COUNTED 0x1u        /* its handshake is in stats.handshakes */
#define CONN_FAILED 0x2u         /* its fatal alert is in stats.handshake_failures */
#define CONN_EXCEPTED 0x4u       /* it is in stats.exceptions_used */

struct sr_tls {
    uint32_t refs;
    struct sr_log *log;
    SSL_CTX *ctx;                /* the current material */
    uint32_t handshake_timeout_ms;
    struct sr_tls_info info;     /* of the current material; paths live here */
    struct sr_tls_policy policy;
    struct sr_tls_stats stats;
};

static int64_t wall_ms(void) { return (int64_t)(sr_time_wall_us() / SR_US_PER_MS); }

static uintptr_t conn_bits(const SSL *ssl) { return (uintptr_t)SSL_get_app_data(ssl); }

static void conn_set_bits(const SSL *ssl, uintptr_t bits)
{
    SSL_set_app_data((SSL *)ssl, (void *)bits);
}

static struct sr_tls *tls_of(const SSL *ssl)
{
    return SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));
}

/* ---- errors as text ---------------------------------------------------------- */

/* The openssl errors queued on this thread, oldest (most specific) first,
 * as "reason: reason", then clear the queue so nothing stale reaches a
 * later connection. */
static const char *ossl_reason(char *out, size_t len)
{
    size_t k = 0;
    unsigned long e, prev = 0;
    out[0] = '\0';
    while ((e = ERR_get_error()) != 0 && k + 1 < len) {
        const char *r = ERR_SYSTEM_ERROR(e) ? strerror(ERR_GET_REASON(e))
                                            : ERR_reason_error_string(e);
        if (ERR_GET_REASON(e) == ERR_GET_REASON(prev))
            continue;
        int n = r ? snprintf(out + k, len - k, "%s%s", k ? ": " : "", r)
                  : snprintf(out + k, len - k, "%sopenssl error %lu", k ? ": " : "", e);
        k = n > 0 && (size_t)n < len - k ? k + (size_t)n : len - 1;
        prev = e;
    }
    if (k == 0)
        snprintf(out, len, "%s", errno ? strerror(errno) : "unknown error");
    ERR_clear_error();
    return out;
}

/* Log-safe certificate name: quotes replaced, so key="..." stays one field. */
static void cert_name(X509_NAME *name, char *out, size_t len)
{
    if (name == NULL || X509_NAME_oneline(name, out, (int)len) == NULL)
        snprintf(out, len, "?");
    for (char *p = out; *p; p++)
        if (*p == '"')
            *p = '\'';
}

static int64_t asn1_ms(const ASN1_TIME *t)
{
    struct tm tm;
    if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
        return 0;
    return (int64_t)timegm(&tm) * 1000;
}

static void peer_addr(const SSL *ssl, char *out, size_t len)
{
    struct sockaddr_storage sa;
    socklen_t salen = sizeof(sa);
    int fd = SSL_get_fd(ssl);
    if (fd < 0 || getpeername(fd, (struct sockaddr *)&sa, &salen) != 0)
        snprintf(out, len, "?");
    else
        sr_rpc_format_addr((struct sockaddr *)&sa, out, len);
}

/* ---- verification -------------------------------------------------------------- */

/* What an exception must allow to pass this verification error (0: never). */
static uint32_t allow_needed(int err)
{
    switch (err) {
    case X509_V_ERR_CERT_HAS_EXPIRED:
        return SR_TLS_ALLOW_EXPIRED;
    case X509_V_ERR_CA_MD_TOO_WEAK:
    case X509_V_ERR_EE_KEY_TOO_SMALL:
    case X509_V_ERR_CA_KEY_TOO_SMALL:
        return SR_TLS_ALLOW_WEAK;
    default:
        return 0;
    }
}

static void count_refusal(struct sr_tls *t, int err)
{
    if (err == X509_V_ERR_CERT_HAS_EXPIRED || err == X509_V_ERR_CERT_NOT_YET_VALID)
        t->stats.refused_expired++;
    else if (allow_needed(err) == SR_TLS_ALLOW_WEAK)
        t->stats.refused_weak++;
    else
        t->stats.refused_untrusted++;
}

static void log_exception_used(struct sr_tls *t, const SSL *ssl, const struct sr_tls_exception *e,
                               X509 *cert, int err, const char *fp)
{
    char peer[SR_RPC_ADDR_MAX], subject[256], until[32], allow[48];
    peer_addr(ssl, peer, sizeof peer);
    cert_name(X509_get_subject_name(cert), subject, sizeof subject);
    sr_time_format_utc((sr_time_us)e->until_ms * SR_US_PER_MS, until, sizeof until);
    SR_ERROR(t->log, "tls.exception_used",
             "peer=%s side=%s fingerprint=%s subject=\"%s\" excepted=%s error=\"%s\" "
             "allowed=%s until=%s origin=%s",
             peer, SSL_is_server(ssl) ? "server" : "client", fp, subject,
             allow_needed(err) == SR_TLS_ALLOW_EXPIRED ? "expired" : "weak-signature",
             X509_verify_cert_error_string(err), sr_tls_allow_format(e->allow, allow, sizeof allow),
             until, e->origin);
}

static void log_refusal(struct sr_tls *t, const SSL *ssl, X509 *cert, int err, int depth,
                        const char *fp)
{
    char peer[SR_RPC_ADDR_MAX], subject[256];
    peer_addr(ssl, peer, sizeof peer);
    cert_name(cert ? X509_get_subject_name(cert) : NULL, subject, sizeof subject);
    SR_WARN(t->log, "tls.peer_refused",
            "peer=%s side=%s fingerprint=%s subject=\"%s\" depth=%d error=\"%s\"%s", peer,
            SSL_is_server(ssl) ? "server" : "client", fp, subject, depth,
            X509_verify_cert_error_string(err),
            allow_needed(err) ? " exception=none" : "");
}

/* Called by openssl for each certificate of the chain, and for each
 * problem it finds. Strict unless a live exception names the certificate
 * at fault and allows exactly this kind of problem. */
static int verify_cb(int ok, X509_STORE_CTX *x)
{
    SSL *ssl = X509_STORE_CTX_get_ex_data(x, SSL_get_ex_data_X509_STORE_CTX_idx());
    struct sr_tls *t = ssl ? tls_of(ssl) : NULL;
    if (ok || t == NULL)
        return ok;
    int err = X509_STORE_CTX_get_error(x);
    X509 *cert = X509_STORE_CTX_get_current_cert(x);
    uint8_t fp[EVP_MAX_MD_SIZE];
    unsigned fplen = 0;
    char fphex[SR_TLS_FP_HEX] = "?";
    if (cert != NULL && X509_digest(cert, EVP_sha256(), fp, &fplen) == 1 && fplen == SR_TLS_FP_LEN)
        sr_tls_fp_format(fp, fphex);
    uint32_t need = allow_needed(err);
    const struct sr_tls_exception *e =
        fplen == SR_TLS_FP_LEN ? sr_tls_policy_match(&t->policy, fp, need, wall_ms()) : NULL;
    if (e != NULL) {
        uintptr_t bits = conn_bits(ssl);
        if (!(bits & CONN_EXCEPTED)) {
            t->stats.exceptions_used++;
            conn_set_bits(ssl, bits | CONN_EXCEPTED);
        }
        log_exception_used(t, ssl, e, cert, err, fphex);
        return 1;
    }
    count_refusal(t, err);
    log_refusal(t, ssl, cert, err, X509_STORE_CTX_get_error_depth(x), fphex);
    return 0;
}

/* Handshake and alert bookkeeping. */
static void info_cb(const SSL *ssl, int where, int ret)
{
    struct sr_tls *t = tls_of(ssl);
    uintptr_t bits = conn_bits(ssl);
    if (t == NULL)
        return;
    if ((where & SSL_CB_HANDSHAKE_DONE) && !(bits & CONN_COUNTED)) {
        t->stats.handshakes++;
        bits |= CONN_COUNTED;
    }
    if ((where & SSL_CB_ALERT) && (ret >> 8) == SSL3_AL_FATAL && !(bits & CONN_FAILED)) {
        t->stats.handshake_failures++;
        bits |= CONN_FAILED;
    }
    conn_set_bits(ssl, bits);
}

/* ---- material ------------------------------------------------------------------ */

/* openssl would prompt on the terminal for an encrypted key: refuse instead. */
static int no_password_cb(char *buf, int size, int rwflag, void *ud)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)ud;
    return -1;
}

static int load_fail(char *err, size_t errlen, const char *what, const char *path)
{
    char why[160];
    snprintf(err, errlen, "tls.%s %s: %s", what, path, ossl_reason(why, sizeof why));
    return SR_ECONFIG;
}

static size_t ca_count(SSL_CTX *c)
{
    STACK_OF(X509_OBJECT) *objs = X509_STORE_get0_objects(SSL_CTX_get_cert_store(c));
    size_t n = 0;
    for (int i = 0; i < sk_X509_OBJECT_num(objs); i++)
        if (X509_OBJECT_get_type(sk_X509_OBJECT_value(objs, i)) == X509_LU_X509)
            n++;
    return n;
}

/* Our own certificate must chain to our own bundle (time aside): a renewal
 * signed by the wrong CA is refused here rather than by every peer. */
static int check_own_chain(SSL_CTX *c, char *err, size_t errlen, const char *cert_file)
{
    X509 *leaf = SSL_CTX_get0_certificate(c);
    STACK_OF(X509) *chain = NULL;
    SSL_CTX_get0_chain_certs(c, &chain);
    X509_STORE_CTX *x = X509_STORE_CTX_new();
    int ok = x != NULL && X509_STORE_CTX_init(x, SSL_CTX_get_cert_store(c), leaf, chain) == 1;
    if (ok) {
        X509_STORE_CTX_set_flags(x, X509_V_FLAG_NO_CHECK_TIME);
        ok = X509_verify_cert(x) == 1;
        if (!ok)
            snprintf(err, errlen, "tls.cert_file %s: does not chain to tls.ca_file: %s", cert_file,
                     X509_verify_cert_error_string(X509_STORE_CTX_get_error(x)));
    } else {
        snprintf(err, errlen, "tls: out of memory checking %s", cert_file);
    }
    X509_STORE_CTX_free(x);
    ERR_clear_error();
    return ok ? 0 : SR_ECONFIG;
}

static int ctx_load_files(SSL_CTX *c, const struct sr_tls_info *paths, char *err, size_t errlen)
{
    SSL_CTX_set_default_passwd_cb(c, no_password_cb);
    if (SSL_CTX_use_certificate_chain_file(c, paths->cert_file) != 1)
        return load_fail(err, errlen, "cert_file", paths->cert_file);
    if (SSL_CTX_use_PrivateKey_file(c, paths->key_file, SSL_FILETYPE_PEM) != 1 &&
        ERR_GET_REASON(ERR_peek_last_error()) != X509_R_KEY_VALUES_MISMATCH)
        return load_fail(err, errlen, "key_file", paths->key_file);
    if (ERR_peek_last_error() != 0 || SSL_CTX_check_private_key(c) != 1) {
        ERR_clear_error();
        snprintf(err, errlen, "tls.key_file %s: does not match the certificate in %s",
                 paths->key_file, paths->cert_file);
        return SR_ECONFIG;
    }
    if (SSL_CTX_load_verify_locations(c, paths->ca_file, NULL) != 1)
        return load_fail(err, errlen, "ca_file", paths->ca_file);
    if (ca_count(c) == 0) {
        snprintf(err, errlen, "tls.ca_file %s: holds no certificate", paths->ca_file);
        return SR_ECONFIG;
    }
    STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(paths->ca_file);
    if (names != NULL)
        SSL_CTX_set_client_CA_list(c, names); /* takes it */
    ERR_clear_error();
    return check_own_chain(c, err, errlen, paths->cert_file);
}

static void ctx_settings(SSL_CTX *c, struct sr_tls *t)
{
    SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION);
    SSL_CTX_set_cipher_list(c, CIPHERS_TLS12);
    /* No resumption: every connection is verified, so a reload, a new CA or
     * an exception's end applies to the very next handshake. */
    SSL_CTX_set_options(c, SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION);
    SSL_CTX_set_num_tickets(c, 0);
    SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_verify(c, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, verify_cb);
    SSL_CTX_set_verify_depth(c, VERIFY_DEPTH);
    SSL_CTX_set_info_callback(c, info_cb);
    SSL_CTX_set_app_data(c, t);
}

static void fill_info(SSL_CTX *c, struct sr_tls_info *info)
{
    X509 *leaf = SSL_CTX_get0_certificate(c);
    uint8_t fp[EVP_MAX_MD_SIZE];
    unsigned n = 0;
    if (X509_digest(leaf, EVP_sha256(), fp, &n) == 1 && n == SR_TLS_FP_LEN)
        sr_tls_fp_format(fp, info->fingerprint);
    cert_name(X509_get_subject_name(leaf), info->subject, sizeof info->subject);
    cert_name(X509_get_issuer_name(leaf), info->issuer, sizeof info->issuer);
    info->not_before_ms = asn1_ms(X509_get0_notBefore(leaf));
    info->not_after_ms = asn1_ms(X509_get0_notAfter(leaf));
    info->loaded_at_ms = wall_ms();
    info->ca_count = ca_count(c);
}

/* Complete new material from the files named in `paths`, or NULL and a
 * message. `info` receives what was loaded. */
static SSL_CTX *ctx_build(struct sr_tls *t, const struct sr_tls_info *paths,
                          struct sr_tls_info *info, char *err, size_t errlen)
{
    ERR_clear_error();
    SSL_CTX *c = SSL_CTX_new(TLS_method());
    if (c == NULL) {
        char why[160];
        snprintf(err, errlen, "tls: cannot create a context: %s", ossl_reason(why, sizeof why));
        return NULL;
    }
    if (ctx_load_files(c, paths, err, errlen) < 0) {
        SSL_CTX_free(c);
        return NULL;
    }
    ctx_settings(c, t);
    *info = *paths;
    fill_info(c, info);
    return c;
}

/* Loud, not fatal: peers may hold an exception for us. */
static void warn_material(struct sr_tls *t, const struct sr_tls_info *info)
{
    int64_t now = wall_ms();
    char when[32];
    if (info->not_after_ms <= now || info->not_before_ms > now) {
        bool expired = info->not_after_ms <= now;
        sr_time_format_utc((sr_time_us)(expired ? info->not_after_ms : info->not_before_ms) *
                               SR_US_PER_MS, when, sizeof when);
        SR_ERROR(t->log, "tls.own_cert_invalid",
                 "cert_file=%s fingerprint=%s problem=%s at=%s hint=\"peers refuse it unless "
                 "they hold an exception for this fingerprint\"",
                 info->cert_file, info->fingerprint, expired ? "expired" : "not_yet_valid", when);
    }
    struct stat st;
    if (stat(info->key_file, &st) == 0 && (st.st_mode & 077) != 0)
        SR_WARN(t->log, "tls.key_file_mode", "key_file=%s mode=%03o hint=\"chmod 600\"",
                info->key_file, (unsigned)(st.st_mode & 0777));
}

static int copy_path(char *dst, const char *src, const char *what, char *err, size_t errlen)
{
    if (src == NULL || src[0] == '\0' || strlen(src) >= SR_TLS_PATH_MAX) {
        snprintf(err, errlen, "tls.%s: %s", what, src && src[0] ? "path too long" : "not set");
        return SR_ECONFIG;
    }
    snprintf(dst, SR_TLS_PATH_MAX, "%s", src);
    return 0;
}

struct sr_tls *sr_tls_new(const struct sr_tls_cfg *cfg, struct sr_log *log, char *err,
                          size_t errlen)
{
    struct sr_tls *t = calloc(1, sizeof(*t));
    struct sr_tls_info paths = {0};
    if (t == NULL) {
        snprintf(err, errlen, "tls: out of memory");
        return NULL;
    }
    if (copy_path(paths.cert_file, cfg->cert_file, "cert_file", err, errlen) < 0 ||
        copy_path(paths.key_file, cfg->key_file, "key_file", err, errlen) < 0 ||
        copy_path(paths.ca_file, cfg->ca_file, "ca_file", err, errlen) < 0 ||
        (t->ctx = ctx_build(t, &paths, &t->info, err, errlen)) == NULL) {
        free(t);
        return NULL;
    }
    t->refs = 1;
    t->log = log;
    t->handshake_timeout_ms = cfg->handshake_timeout_ms ? cfg->handshake_timeout_ms
                                                        : HANDSHAKE_TIMEOUT_MS;
    char until[32];
    SR_INFO(log, "tls.loaded", "cert_file=%s fingerprint=%s subject=\"%s\" not_after=%s cas=%zu",
            t->info.cert_file, t->info.fingerprint, t->info.subject,
            sr_time_format_utc((sr_time_us)t->info.not_after_ms * SR_US_PER_MS, until, sizeof until),
            t->info.ca_count);
    warn_material(t, &t->info);
    return t;
}

void sr_tls_unref(struct sr_tls *tls)
{
    if (tls == NULL || --tls->refs > 0)
        return;
    SSL_CTX_free(tls->ctx);
    free(tls);
}

int sr_tls_reload(struct sr_tls *t, char *err, size_t errlen)
{
    struct sr_tls_info info;
    char why[512];
    SSL_CTX *c = ctx_build(t, &t->info, &info, why, sizeof why);
    if (c == NULL) {
        t->stats.reload_failures++;
        SR_ERROR(t->log, "tls.reload_failed",
                 "reason=\"%s\" action=\"kept the current material\" fingerprint=%s", why,
                 t->info.fingerprint);
        if (err != NULL && errlen > 0)
            snprintf(err, errlen, "%s", why);
        return SR_ECONFIG;
    }
    char until[32];
    SR_WARN(t->log, "tls.reloaded",
            "cert_file=%s fingerprint=%s previous=%s subject=\"%s\" not_after=%s cas=%zu",
            info.cert_file, info.fingerprint, t->info.fingerprint, info.subject,
            sr_time_format_utc((sr_time_us)info.not_after_ms * SR_US_PER_MS, until, sizeof until),
            info.ca_count);
    SSL_CTX_free(t->ctx); /* open connections keep their reference */
    t->ctx = c;
    t->info = info;
    t->stats.reloads++;
    warn_material(t, &t->info);
    return 0;
}

/* ---- exceptions, figures --------------------------------------------------------- */

int sr_tls_exception_set(struct sr_tls *t, const struct sr_tls_exception *e)
{
    return sr_tls_policy_set(&t->policy, e, wall_ms());
}

int sr_tls_exception_remove(struct sr_tls *t, const uint8_t fp[SR_TLS_FP_LEN])
{
    return sr_tls_policy_remove(&t->policy, fp);
}

size_t sr_tls_exception_list(struct sr_tls *t, struct sr_tls_exception *out, size_t cap)
{
    sr_tls_policy_prune(&t->policy, wall_ms());
    size_t n = t->policy.n < cap ? t->policy.n : cap;
    memcpy(out, t->policy.e, n * sizeof(*out));
    return n;
}

void sr_tls_stats_get(const struct sr_tls *t, struct sr_tls_stats *out) { *out = t->stats; }

void sr_tls_info_get(const struct sr_tls *t, struct sr_tls_info *out) { *out = t->info; }

int sr_tls_fp_file(const char *pem_path, uint8_t fp[SR_TLS_FP_LEN])
{
    FILE *f = fopen(pem_path, "r");
    X509 *x = f ? PEM_read_X509(f, NULL, no_password_cb, NULL) : NULL;
    unsigned n = 0;
    uint8_t md[EVP_MAX_MD_SIZE];
    int ok = x != NULL && X509_digest(x, EVP_sha256(), md, &n) == 1 && n == SR_TLS_FP_LEN;
    if (ok)
        memcpy(fp, md, SR_TLS_FP_LEN);
    X509_free(x);
    if (f)
        fclose(f);
    ERR_clear_error();
    return ok ? 0 : SR_EIO;
}

/* ---- the transport ----------------------------------------------------------------- */

static struct bufferevent *tls_bev(struct sr_tls *t, struct event_base *base, evutil_socket_t fd,
                                   enum bufferevent_ssl_state state)
{
    SSL *ssl = SSL_new(t->ctx);
    if (ssl == NULL) {
        ERR_clear_error();
        return NULL;
    }
    struct bufferevent *bev = bufferevent_openssl_socket_new(base, fd, ssl, state,
                                                             BEV_OPT_CLOSE_ON_FREE);
    if (bev == NULL)
        SSL_free(ssl); /* libevent leaves it to us when it fails */
    return bev;
}

static struct bufferevent *tls_wrap_accepted(void *ctx, struct event_base *base,
                                             evutil_socket_t fd)
{
    struct sr_tls *t = ctx;
    if (evutil_make_socket_nonblocking(fd) < 0) {
        evutil_closesocket(fd);
        return NULL;
    }
    sr_conn_tune_socket(fd);
    struct bufferevent *bev = tls_bev(t, base, fd, BUFFEREVENT_SSL_ACCEPTING);
    if (bev == NULL) {
        evutil_closesocket(fd);
        return NULL;
    }
    /* A client that connects and never finishes the handshake is cut; the
     * RPC server clears this at BEV_EVENT_CONNECTED. */
    struct timeval tv = {(time_t)(t->handshake_timeout_ms / 1000),
                         (suseconds_t)(t->handshake_timeout_ms % 1000) * 1000};
    bufferevent_set_timeouts(bev, &tv, &tv);
    return bev;
}

static struct bufferevent *tls_new_client(void *ctx, struct event_base *base)
{
    return tls_bev(ctx, base, -1, BUFFEREVENT_SSL_CONNECTING);
}

static const char *tls_last_error(void *ctx, struct bufferevent *bev, char *out, size_t len)
{
    (void)ctx;
    unsigned long e, first = 0;
    while ((e = bufferevent_get_openssl_error(bev)) != 0)
        if (first == 0 && ERR_GET_LIB(e) != 0) /* libevent also queues SSL_get_error codes */
            first = e;
    SSL *ssl = bufferevent_openssl_get_ssl(bev);
    const char *r = first ? ERR_reason_error_string(first) : NULL;
    if (r != NULL && ERR_GET_REASON(first) == SSL_R_CERTIFICATE_VERIFY_FAILED && ssl != NULL)
        snprintf(out, len, "tls: %s (%s)", r,
                 X509_verify_cert_error_string(SSL_get_verify_result(ssl)));
    else if (r != NULL)
        snprintf(out, len, "tls: %s", r);
    else if (first != 0)
        snprintf(out, len, "tls: openssl error %lu", first);
    else {
        int se = EVUTIL_SOCKET_ERROR();
        snprintf(out, len, "%s", se != 0 ? evutil_socket_error_to_string(se) : "closed by peer");
    }
    return out;
}

/* TLS 1.3: the server checks our certificate after we are done; the RPC
 * client pings first so a refusal is a failed connect, not a lost call. */
static bool tls_confirm_first(void *ctx, struct bufferevent *bev)
{
    (void)ctx;
    SSL *ssl = bufferevent_openssl_get_ssl(bev);
    return ssl != NULL && SSL_version(ssl) >= TLS1_3_VERSION;
}

static void tls_ctx_free(void *ctx) { sr_tls_unref(ctx); }

const struct sr_conn_ops sr_conn_tls_ops = {
    .name = "tls",
    .wrap_accepted = tls_wrap_accepted,
    .new_client = tls_new_client,
    .connect = sr_conn_socket_connect, /* the handshake follows */
    .last_error = tls_last_error,
    .confirm_first = tls_confirm_first,
    .ctx_free = tls_ctx_free,
};

int sr_rpc_use_tls(struct sr_rpc *rpc, struct sr_tls *tls)
{
    if (tls == NULL)
        return SR_EINVAL;
    tls->refs++;
    int rc = sr_rpc_use_transport(rpc, &sr_conn_tls_ops, tls);
    if (rc < 0)
        tls->refs--;
    return rc;
}
