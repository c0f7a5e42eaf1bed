/* sr_rpc over mutual TLS on 127.0.0.1, both ends in one process on one
 * event_base, with certificates the suite makes itself (openssl CLI into a
 * temporary directory, tests/tls_certs.h): a round trip; untrusted peers
 * refused on either side with SR_EUNREACH (surely not delivered) and
 * counted; an expired certificate refused, accepted under an exception for
 * its fingerprint (logged at error level, counted), refused again once the
 * exception's time has passed; a SHA-1 signed peer refused, then accepted
 * under a weak-signature exception; exceptions never cover other problems;
 * reload keeps open connections and refuses bad files. */
#include <pthread.h>
#include <stdatomic.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include "test_rpc_util.h"
#include "tls_certs.h"
#include "forward/frame.h"
#include "swimring/tls.h"

static struct tls_pki pki;

/* CA "ca" signs node, client, old (expired), renewed; CA "other" signs
 * stranger. both = ca + other. */
static void pki_setup(void)
{
    cr_assert_eq(tls_pki_init(&pki), 0);
    cr_assert_eq(tls_pki_ca(&pki, "ca"), 0);
    cr_assert_eq(tls_pki_ca(&pki, "other"), 0);
    cr_assert_eq(tls_pki_leaf(&pki, "ca", "node", "-days 30"), 0);
    cr_assert_eq(tls_pki_leaf(&pki, "ca", "client", "-days 30"), 0);
    cr_assert_eq(tls_pki_leaf(&pki, "ca", "old", TLS_PKI_EXPIRED), 0);
    cr_assert_eq(tls_pki_leaf(&pki, "other", "stranger", "-days 30"), 0);
    cr_assert_eq(tls_pki_bundle(&pki, "both", "ca", "other"), 0);
}

static void pki_teardown(void) { tls_pki_destroy(&pki); }

/* Every log line at error level, kept for the assertions. */
struct lines {
    int n_error;
    char last_error[1024];
    int n_refused;
};

static void sink(void *ud, enum sr_log_level level, const char *line)
{
    struct lines *l = ud;
    if (level == SR_LOG_ERROR) {
        l->n_error++;
        snprintf(l->last_error, sizeof l->last_error, "%s", line);
    }
    if (strstr(line, "event=tls.peer_refused"))
        l->n_refused++;
}

static struct sr_tls *tls_for(const char *leaf, const char *ca, struct sr_log *log)
{
    char err[512] = "";
    struct sr_tls_cfg c = {.cert_file = tls_pki_path(&pki, leaf, "pem"),
                           .key_file = tls_pki_path(&pki, leaf, "key"),
                           .ca_file = tls_pki_path(&pki, ca, "pem")};
    struct sr_tls *t = sr_tls_new(&c, log, err, sizeof err);
    cr_assert_not_null(t, "sr_tls_new(%s, %s): %s", leaf, ca, err);
    return t;
}

/* A TLS server with `leaf` trusting `ca`, and a TLS client likewise. */
struct tenv {
    struct env e;
    struct sr_tls *stls, *ctls;
    struct lines slog, clog;
    struct sr_log *slogger, *clogger;
};

static struct sr_rpc *rpc_with(struct tenv *t, struct sr_tls *tls)
{
    int err = 0;
    /* Handshakes under valgrind take far longer than the LAN default. */
    struct sr_rpc_cfg cfg = sr_rpc_cfg_default_lan();
    cfg.connect_timeout_ms = 10000;
    struct sr_rpc *r = sr_rpc_new(t->e.base, &cfg, t->e.log, &err);
    cr_assert_not_null(r);
    cr_assert_eq(sr_rpc_use_tls(r, tls), 0);
    return r;
}

static void tenv_init(struct tenv *t, const char *sleaf, const char *sca, const char *cleaf,
                      const char *cca)
{
    memset(t, 0, sizeof(*t));
    env_base(&t->e);
    t->slogger = sr_log_new_sink(SR_LOG_INFO, "srv", sink, &t->slog);
    t->clogger = sr_log_new_sink(SR_LOG_INFO, "cli", sink, &t->clog);
    t->stls = tls_for(sleaf, sca, t->slogger);
    t->ctls = tls_for(cleaf, cca, t->clogger);
    t->e.srv = rpc_with(t, t->stls);
    cr_assert_eq(sr_rpc_listen(t->e.srv, "127.0.0.1:0"), 0);
    cr_assert_eq(sr_rpc_listen_addr(t->e.srv, t->e.addr, sizeof t->e.addr), 0);
    cr_assert_eq(sr_rpc_handle(t->e.srv, "test", "echo", echo_handler, NULL), 0);
    t->e.cli = rpc_with(t, t->ctls);
}

static void tenv_fini(struct tenv *t)
{
    env_fini(&t->e); /* the RPC objects drop their references */
    sr_tls_unref(t->stls);
    sr_tls_unref(t->ctls);
    sr_log_delete(t->slogger);
    sr_log_delete(t->clogger);
}

/* One echo call from `cli`, waited for. */
static struct outcome echo(struct tenv *t, struct sr_rpc *cli)
{
    struct outcome o = {0};
    struct sr_rpc_call_args a = args_for("echo", "hello", 5, 3000);
    cr_assert_eq(sr_rpc_call(cli, t->e.addr, &a, record, &o, NULL), 0);
    WAIT_UNTIL(&t->e, 5000, o.calls == 1);
    cr_assert_eq(o.calls, 1, "the call did not complete");
    return o;
}

static void expect_refused(const struct outcome *o)
{
    cr_expect_eq(o->status, SR_EUNREACH, "status %s, want SR_EUNREACH", sr_err_name(o->status));
    cr_expect(!o->remote && !o->maybe, "a refused session delivered nothing");
}

TestSuite(rpc_tls, .init = pki_setup, .fini = pki_teardown, .timeout = 180);

Test(rpc_tls, mutual_round_trip)
{
    struct tenv t;
    tenv_init(&t, "node", "ca", "client", "ca");
    struct outcome o = echo(&t, t.e.cli);
    cr_expect_eq(o.status, 0);
    cr_expect(o.remote && o.body_len == 5 && memcmp(o.body, "hello", 5) == 0);
    struct sr_tls_stats ss, cs;
    sr_tls_stats_get(t.stls, &ss);
    sr_tls_stats_get(t.ctls, &cs);
    cr_expect_eq(ss.handshakes, 1);
    cr_expect_eq(cs.handshakes, 1);
    cr_expect_eq(ss.handshake_failures + cs.handshake_failures, 0);
    cr_expect_eq(cs.exceptions_used + ss.exceptions_used, 0);
    /* The pooled connection is reused: no second handshake. */
    o = echo(&t, t.e.cli);
    cr_expect_eq(o.status, 0);
    sr_tls_stats_get(t.ctls, &cs);
    cr_expect_eq(cs.handshakes, 1);
    struct sr_tls_info info;
    uint8_t fp[SR_TLS_FP_LEN];
    char hex[SR_TLS_FP_HEX];
    sr_tls_info_get(t.stls, &info);
    cr_assert_eq(sr_tls_fp_file(tls_pki_path(&pki, "node", "pem"), fp), 0);
    cr_expect_str_eq(info.fingerprint, sr_tls_fp_format(fp, hex));
    cr_expect_eq(info.ca_count, 1);
    cr_expect(strstr(info.subject, "CN=node") != NULL, "subject %s", info.subject);
    tenv_fini(&t);
}

Test(rpc_tls, server_with_an_untrusted_certificate_is_refused)
{
    struct tenv t;
    /* The server's certificate comes from another CA; the client trusts ca. */
    tenv_init(&t, "stranger", "both", "client", "ca");
    struct outcome o = echo(&t, t.e.cli);
    expect_refused(&o);
    struct sr_tls_stats cs;
    struct sr_rpc_stats rs, ss;
    sr_tls_stats_get(t.ctls, &cs);
    sr_rpc_stats_get(t.e.cli, &rs);
    sr_rpc_stats_get(t.e.srv, &ss);
    cr_expect_eq(cs.refused_untrusted, 1);
    cr_expect_eq(cs.handshakes, 0);
    cr_expect_geq(rs.connect_failures, 1);
    cr_expect_eq(ss.requests_received, 0, "nothing reached a handler");
    cr_expect_eq(t.clog.n_refused, 1, "the refusal is logged");
    tenv_fini(&t);
}

Test(rpc_tls, client_with_an_untrusted_certificate_is_refused)
{
    struct tenv t;
    /* The client's certificate comes from another CA; the server trusts ca.
     * With TLS 1.3 the client is done before the server has looked at its
     * certificate, and has written its request: still SR_EUNREACH. */
    tenv_init(&t, "node", "ca", "stranger", "both");
    struct outcome o = echo(&t, t.e.cli);
    expect_refused(&o);
    struct sr_tls_stats ss;
    struct sr_rpc_stats rs, srs;
    sr_tls_stats_get(t.stls, &ss);
    sr_rpc_stats_get(t.e.cli, &rs);
    sr_rpc_stats_get(t.e.srv, &srs);
    cr_expect_eq(ss.refused_untrusted, 1);
    cr_expect_eq(srs.requests_received, 0, "nothing reached a handler");
    cr_expect_geq(rs.connect_failures, 1);
    cr_expect_eq(rs.conn_lost, 0);
    cr_expect_eq(t.slog.n_refused, 1);
    tenv_fini(&t);
}

Test(rpc_tls, exceptions_never_cover_an_untrusted_chain)
{
    struct tenv t;
    tenv_init(&t, "stranger", "both", "client", "ca");
    struct sr_tls_exception x = {.allow = SR_TLS_ALLOW_ALL,
                                 .until_ms = (int64_t)(sr_time_wall_us() / 1000) + 60000};
    cr_assert_eq(sr_tls_fp_file(tls_pki_path(&pki, "stranger", "pem"), x.fp), 0);
    cr_assert_eq(sr_tls_exception_set(t.ctls, &x), 0);
    struct outcome o = echo(&t, t.e.cli);
    expect_refused(&o);
    struct sr_tls_stats cs;
    sr_tls_stats_get(t.ctls, &cs);
    cr_expect_eq(cs.refused_untrusted, 1);
    cr_expect_eq(cs.exceptions_used, 0);
    tenv_fini(&t);
}

static int64_t now_ms(void) { return (int64_t)(sr_time_wall_us() / SR_US_PER_MS); }

Test(rpc_tls, expired_certificate_refused_then_excepted_until_the_exception_ends)
{
    struct tenv t;
    tenv_init(&t, "old", "ca", "client", "ca");
    struct outcome o = echo(&t, t.e.cli);
    expect_refused(&o);
    struct sr_tls_stats cs;
    sr_tls_stats_get(t.ctls, &cs);
    cr_expect_eq(cs.refused_expired, 1);

    /* An exception that allows only a weak signature does not help. */
    struct sr_tls_exception x = {.allow = SR_TLS_ALLOW_WEAK, .until_ms = now_ms() + 60000};
    snprintf(x.origin, sizeof x.origin, "test");
    cr_assert_eq(sr_tls_fp_file(tls_pki_path(&pki, "old", "pem"), x.fp), 0);
    cr_assert_eq(sr_tls_exception_set(t.ctls, &x), 0);
    struct sr_rpc *c1 = rpc_with(&t, t.ctls);
    o = echo(&t, c1);
    expect_refused(&o);
    sr_rpc_delete(c1);

    /* "expired" for this fingerprint, ending three seconds from now. */
    x.allow = SR_TLS_ALLOW_EXPIRED;
    x.until_ms = now_ms() + 3000; /* a first handshake under valgrind can take a second */
    cr_assert_eq(sr_tls_exception_set(t.ctls, &x), 0);
    int errors_before = t.clog.n_error;
    o = echo(&t, t.e.cli);
    cr_expect_eq(o.status, 0, "accepted under the exception: %s", sr_err_name(o.status));
    sr_tls_stats_get(t.ctls, &cs);
    cr_expect_eq(cs.exceptions_used, 1);
    cr_expect_gt(t.clog.n_error, errors_before, "the exception's use is logged at error level");
    char hex[SR_TLS_FP_HEX];
    sr_tls_fp_format(x.fp, hex);
    cr_expect(strstr(t.clog.last_error, "event=tls.exception_used") &&
                  strstr(t.clog.last_error, hex) && strstr(t.clog.last_error, "excepted=expired") &&
                  strstr(t.clog.last_error, "peer=127.0.0.1:"),
              "error line: %s", t.clog.last_error);

    /* New connections (a new client each time) until one is refused: every
     * success started before `until`, the refusal ended after it. */
    bool refused = false;
    uint64_t used = cs.exceptions_used;
    for (int i = 0; i < 200 && !refused; i++) {
        struct sr_rpc *c = rpc_with(&t, t.ctls);
        int64_t start = now_ms();
        o = echo(&t, c);
        int64_t end = now_ms();
        sr_rpc_delete(c);
        if (o.status == 0) {
            cr_assert_lt(start, x.until_ms, "accepted a handshake begun after the exception ended");
            used++;
        } else {
            expect_refused(&o);
            cr_expect_geq(end, x.until_ms, "refused before the exception ended");
            refused = true;
        }
        if (!refused)
            run_for(&t.e, 50); /* pace the attempts: ~20 per second */
    }
    cr_assert(refused, "still accepted long after the exception ended");
    sr_tls_stats_get(t.ctls, &cs);
    cr_expect_eq(cs.exceptions_used, used);
    cr_expect_eq(cs.refused_expired, 3);
    struct sr_tls_exception list[4];
    cr_expect_eq(sr_tls_exception_list(t.ctls, list, 4), 0, "the ended exception is gone");
    /* The connection opened under the exception stays up. */
    o = echo(&t, t.e.cli);
    cr_expect_eq(o.status, 0);
    tenv_fini(&t);
}

/* Overwrite the server's live files with `from`, then reload. */
static int reload_from(struct tenv *t, const char *from, char *err, size_t len)
{
    cr_assert_eq(tls_pki_copy(&pki, from, "live"), 0);
    return sr_tls_reload(t->stls, err, len);
}

Test(rpc_tls, reload_changes_new_connections_only_and_refuses_bad_files)
{
    cr_assert_eq(tls_pki_copy(&pki, "node", "live"), 0);
    struct tenv t;
    tenv_init(&t, "live", "ca", "client", "ca");
    cr_expect_eq(echo(&t, t.e.cli).status, 0);
    struct sr_tls_info before, after;
    sr_tls_info_get(t.stls, &before);

    /* Renewed to a certificate the client refuses (expired): new
     * connections get it, the open one keeps working. */
    char err[512] = "";
    cr_assert_eq(reload_from(&t, "old", err, sizeof err), 0, "%s", err);
    sr_tls_info_get(t.stls, &after);
    cr_expect_str_neq(after.fingerprint, before.fingerprint);
    struct sr_rpc *c = rpc_with(&t, t.ctls);
    expect_refused((struct outcome[]){echo(&t, c)});
    sr_rpc_delete(c);
    cr_expect_eq(echo(&t, t.e.cli).status, 0, "the open connection stays");

    /* A garbage certificate: refused, the loaded one stays. */
    FILE *f = fopen(tls_pki_path(&pki, "live", "pem"), "w");
    cr_assert_not_null(f);
    fputs("-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n", f);
    fclose(f);
    int errors = t.slog.n_error;
    cr_expect_eq(sr_tls_reload(t.stls, err, sizeof err), SR_ECONFIG);
    cr_expect(strstr(err, "cert_file") != NULL, "%s", err);
    cr_expect_gt(t.slog.n_error, errors);
    cr_expect(strstr(t.slog.last_error, "event=tls.reload_failed"), "%s", t.slog.last_error);
    /* A renewal by another CA: refused too. */
    cr_expect_eq(reload_from(&t, "stranger", err, sizeof err), SR_ECONFIG);
    cr_expect(strstr(err, "does not chain") != NULL, "%s", err);
    struct sr_tls_info now;
    sr_tls_info_get(t.stls, &now);
    cr_expect_str_eq(now.fingerprint, after.fingerprint, "the old material is kept");
    struct sr_tls_stats ss;
    sr_tls_stats_get(t.stls, &ss);
    cr_expect_eq(ss.reloads, 1);
    cr_expect_eq(ss.reload_failures, 2);

    /* Back to a good certificate: new connections succeed again. */
    cr_assert_eq(reload_from(&t, "node", err, sizeof err), 0, "%s", err);
    c = rpc_with(&t, t.ctls);
    cr_expect_eq(echo(&t, c).status, 0);
    sr_rpc_delete(c);
    tenv_fini(&t);
}

Test(rpc_tls, bad_material_is_refused_with_the_file_named)
{
    char err[512];
    struct sr_tls_cfg c = {.cert_file = tls_pki_path(&pki, "node", "pem"),
                           .key_file = tls_pki_path(&pki, "client", "key"),
                           .ca_file = tls_pki_path(&pki, "ca", "pem")};
    cr_expect_null(sr_tls_new(&c, NULL, err, sizeof err));
    cr_expect(strstr(err, "does not match") != NULL, "%s", err);
    c.key_file = tls_pki_path(&pki, "node", "key");
    c.ca_file = tls_pki_path(&pki, "missing", "pem");
    cr_expect_null(sr_tls_new(&c, NULL, err, sizeof err));
    cr_expect(strstr(err, "tls.ca_file") != NULL && strstr(err, "missing.pem"), "%s", err);
    c.ca_file = tls_pki_path(&pki, "other", "pem");
    cr_expect_null(sr_tls_new(&c, NULL, err, sizeof err));
    cr_expect(strstr(err, "does not chain") != NULL, "%s", err);
    c.ca_file = "";
    cr_expect_null(sr_tls_new(&c, NULL, err, sizeof err));
    cr_expect(strstr(err, "tls.ca_file: not set") != NULL, "%s", err);
}

/* ---- a weak (SHA-1) signature ----------------------------------------------
 * Our own material refuses a SHA-1 certificate at load (the security level
 * applies to our certificate too), so the peer holding one is a plain
 * openssl client at security level 0, in a thread: it shakes hands, pings,
 * and reports whether the pong came. */
struct weak_client {
    char addr[SR_RPC_ADDR_MAX];
    atomic_int done;          /* 1 pong, -1 no pong */
};

static int weak_ping(const char *addr)
{
    SSL_CTX *c = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_security_level(c, 0);
    if (SSL_CTX_use_certificate_chain_file(c, tls_pki_path(&pki, "weak", "pem")) != 1 ||
        SSL_CTX_use_PrivateKey_file(c, tls_pki_path(&pki, "weak", "key"), SSL_FILETYPE_PEM) != 1) {
        SSL_CTX_free(c);
        return -2;
    }
    int fd = raw_connect(addr), ok = -1;
    struct timeval tv = {3, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    SSL *s = SSL_new(c);
    struct sr_buf b;
    sr_buf_create(&b, 0);
    struct sr_rpc_frame f = {.kind = SR_RPC_KIND_PING, .id = 7};
    uint8_t head[SR_RPC_FRAME_HEADER];
    if (SSL_set_fd(s, fd) == 1 && SSL_connect(s) == 1 &&
        sr_rpc_frame_encode(&b, &f, 1u << 20, NULL) == 0 &&
        SSL_write(s, b.data, (int)b.len) == (int)b.len && SSL_read(s, head, sizeof head) > 0)
        ok = 1;
    sr_buf_destroy(&b);
    SSL_free(s);
    close(fd);
    SSL_CTX_free(c);
    ERR_clear_error();
    return ok;
}

static void *weak_main(void *arg)
{
    struct weak_client *w = arg;
    atomic_store(&w->done, weak_ping(w->addr));
    return NULL;
}

/* One attempt, the loop running meanwhile. */
static int weak_attempt(struct tenv *t)
{
    struct weak_client w = {.done = 0};
    snprintf(w.addr, sizeof w.addr, "%s", t->e.addr);
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, weak_main, &w), 0);
    WAIT_UNTIL(&t->e, 10000, atomic_load(&w.done) != 0);
    pthread_join(th, NULL);
    cr_assert_neq(atomic_load(&w.done), -2, "the test client could not load its certificate");
    return atomic_load(&w.done);
}

Test(rpc_tls, weak_signature_refused_then_excepted)
{
    cr_assert_eq(tls_pki_leaf(&pki, "ca", "weak", "-days 30 -md sha1"), 0);
    char err[512];
    struct sr_tls_cfg own = {.cert_file = tls_pki_path(&pki, "weak", "pem"),
                             .key_file = tls_pki_path(&pki, "weak", "key"),
                             .ca_file = tls_pki_path(&pki, "ca", "pem")};
    cr_expect_null(sr_tls_new(&own, NULL, err, sizeof err), "a SHA-1 certificate of our own");
    cr_expect(strstr(err, "tls.cert_file") != NULL, "%s", err);

    struct tenv t;
    tenv_init(&t, "node", "ca", "client", "ca");
    cr_expect_eq(weak_attempt(&t), -1, "a SHA-1 signed peer is refused");
    struct sr_tls_stats ss;
    sr_tls_stats_get(t.stls, &ss);
    cr_expect_eq(ss.refused_weak, 1);
    struct sr_tls_exception x = {.allow = SR_TLS_ALLOW_EXPIRED,
                                 .until_ms = now_ms() + 60000};
    cr_assert_eq(sr_tls_fp_file(tls_pki_path(&pki, "weak", "pem"), x.fp), 0);
    cr_assert_eq(sr_tls_exception_set(t.stls, &x), 0);
    cr_expect_eq(weak_attempt(&t), -1, "an exception for \"expired\" does not cover it");
    x.allow = SR_TLS_ALLOW_WEAK;
    cr_assert_eq(sr_tls_exception_set(t.stls, &x), 0);
    cr_expect_eq(weak_attempt(&t), 1, "accepted under a weak-signature exception");
    sr_tls_stats_get(t.stls, &ss);
    cr_expect_eq(ss.refused_weak, 2);
    cr_expect_eq(ss.exceptions_used, 1);
    cr_expect(strstr(t.slog.last_error, "excepted=weak-signature") != NULL, "%s",
              t.slog.last_error);
    tenv_fini(&t);
}

/* A client that connects and never speaks TLS is cut after the server's
 * handshake timeout, not before (10 ms slack for the coarse timer clock),
 * and nothing of it reaches the RPC layer. */
Test(rpc_tls, a_client_that_never_finishes_its_handshake_is_cut)
{
    struct env e;
    env_base(&e);
    char err[512] = "";
    struct sr_tls_cfg c = {.cert_file = tls_pki_path(&pki, "node", "pem"),
                           .key_file = tls_pki_path(&pki, "node", "key"),
                           .ca_file = tls_pki_path(&pki, "ca", "pem"),
                           .handshake_timeout_ms = 300};
    struct sr_tls *tls = sr_tls_new(&c, NULL, err, sizeof err);
    cr_assert_not_null(tls, "%s", err);
    int rc = 0;
    e.srv = sr_rpc_new(e.base, NULL, e.log, &rc);
    cr_assert_not_null(e.srv);
    cr_assert_eq(sr_rpc_use_tls(e.srv, tls), 0);
    cr_assert_eq(sr_rpc_listen(e.srv, "127.0.0.1:0"), 0);
    cr_assert_eq(sr_rpc_listen_addr(e.srv, e.addr, sizeof e.addr), 0);
    cr_expect_eq(sr_rpc_use_tls(e.srv, tls), SR_EINVAL, "not after listen");
    e.cli = sr_rpc_new(e.base, NULL, e.log, &rc);
    int fd = raw_connect(e.addr);
    sr_time_us t0 = sr_time_mono_us();
    WAIT_UNTIL(&e, 5000, raw_closed(fd));
    sr_time_us took_ms = (sr_time_mono_us() - t0) / SR_US_PER_MS;
    cr_expect(raw_closed(fd), "still open after 5 s");
    cr_expect_geq(took_ms, 290, "cut after %llu ms, before the 300 ms timeout",
                  (unsigned long long)took_ms);
    cr_expect_lt(took_ms, 2300, "cut after %llu ms", (unsigned long long)took_ms);
    struct sr_rpc_stats s;
    sr_rpc_stats_get(e.srv, &s);
    cr_expect_eq(s.accepted, 1);
    cr_expect_eq(s.requests_received + s.frame_errors, 0);
    close(fd);
    env_fini(&e);
    sr_tls_unref(tls);
}
