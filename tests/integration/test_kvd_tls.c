/* examples/kvd with mutual TLS between nodes, as real processes on
 * 127.0.0.1, with certificates the suite makes (openssl CLI,
 * tests/tls_certs.h), each node its own files:
 *   - 3 nodes converge and forward; the RPC port presents the node's
 *     certificate; SIGHUP after a renewal keeps every member alive and new
 *     connections carry the new certificate; a bad file on SIGHUP is refused
 *     and the old material kept;
 *   - a node with an expired certificate is refused, accepted cluster-wide
 *     after `ringctl tls exceptions add` (logged at error level, counted),
 *     and refused again on new connections after `remove`;
 *   - secrets (the admin token, the private key) appear in no log line,
 *     admin answer or metric; admin beyond loopback without a token stops
 *     the node with a clear message. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include "swimring/testkit.h"
#include "swimring/tls.h"
#include "tls_certs.h"

#define KVD SR_BINARY_DIR "/examples/kvd/kvd"
#define RINGCTL SR_BINARY_DIR "/tools/ringctl/ringctl"
#define NODES_MAX 4
#define KEYS 60

static struct sr_tk_cluster cluster;
static struct tls_pki pki;
static char flagbuf[NODES_MAX][4][400];
static const char *flags[NODES_MAX][16];

static void teardown(void)
{
    sr_tk_destroy(&cluster);
    tls_pki_destroy(&pki);
}

/* Node i's flags: TLS with the files live<i>.pem/.key, `more` after. */
static const char *const *node_flags(size_t i, const char *more1, const char *more2)
{
    const char *names[] = {"cert_file", "key_file"}, *ext[] = {"pem", "key"};
    char live[16];
    snprintf(live, sizeof live, "live%zu", i);
    int a = 0;
    flags[i][a++] = "--log-level";
    flags[i][a++] = "info";
    flags[i][a++] = "--set";
    flags[i][a++] = "tls.enabled=true";
    for (int k = 0; k < 2; k++) {
        snprintf(flagbuf[i][k], sizeof flagbuf[i][k], "tls.%s=%s", names[k],
                 tls_pki_path(&pki, live, ext[k]));
        flags[i][a++] = "--set";
        flags[i][a++] = flagbuf[i][k];
    }
    snprintf(flagbuf[i][2], sizeof flagbuf[i][2], "tls.ca_file=%s", tls_pki_path(&pki, "ca", "pem"));
    flags[i][a++] = "--set";
    flags[i][a++] = flagbuf[i][2];
    if (more1) {
        flags[i][a++] = "--set";
        flags[i][a++] = more1;
    }
    if (more2) {
        flags[i][a++] = "--set";
        flags[i][a++] = more2;
    }
    flags[i][a] = NULL;
    return flags[i];
}

/* Spawn node i with certificate `leaf` (copied to its live files). */
static void spawn(size_t i, const char *leaf)
{
    char live[16];
    snprintf(live, sizeof live, "live%zu", i);
    cr_assert_eq(tls_pki_copy(&pki, leaf, live), 0);
    cluster.extra = node_flags(i, NULL, NULL);
    cr_assert_eq(sr_tk_spawn(&cluster, i ? cluster.nodes[0].gossip : NULL), (int)i);
}

static void pki_make(void)
{
    cr_assert_eq(tls_pki_init(&pki), 0);
    cr_assert_eq(tls_pki_ca(&pki, "ca"), 0);
    cr_assert_eq(tls_pki_leaf(&pki, "ca", "client", "-days 30"), 0);
    for (int i = 0; i < 3; i++) {
        char n[8];
        snprintf(n, sizeof n, "n%d", i);
        cr_assert_eq(tls_pki_leaf(&pki, "ca", n, "-days 30"), 0);
    }
}

static json_t *admin(size_t i, const char *path) { return sr_tk_http(cluster.nodes[i].admin, "GET", path); }

static long jpath(json_t *o, const char *a, const char *b)
{
    json_t *v = json_object_get(o, a);
    if (b)
        v = json_object_get(v, b);
    return json_is_integer(v) ? (long)json_integer_value(v) : -1;
}

static long tls_stat(size_t i, const char *name)
{
    json_t *j = admin(i, "/admin/tls");
    long v = jpath(j, "stats", name);
    json_decref(j);
    return v;
}

static void tls_fp(size_t i, char *out, size_t len)
{
    json_t *j = admin(i, "/admin/tls");
    const char *s = json_string_value(json_object_get(json_object_get(j, "certificate"), "fingerprint"));
    snprintf(out, len, "%s", s ? s : "");
    json_decref(j);
}

static void file_fp(const char *leaf, char out[SR_TLS_FP_HEX])
{
    uint8_t fp[SR_TLS_FP_LEN];
    cr_assert_eq(sr_tls_fp_file(tls_pki_path(&pki, leaf, "pem"), fp), 0);
    sr_tls_fp_format(fp, out);
}

/* A TLS handshake with node i's RPC port from here, as "client": the
 * fingerprint the node presents, "" if the handshake failed. */
static void rpc_peer_fp(size_t i, char out[SR_TLS_FP_HEX])
{
    out[0] = '\0';
    SSL_CTX *c = SSL_CTX_new(TLS_client_method());
    cr_assert_not_null(c);
    cr_assert_eq(SSL_CTX_use_certificate_chain_file(c, tls_pki_path(&pki, "client", "pem")), 1);
    cr_assert_eq(SSL_CTX_use_PrivateKey_file(c, tls_pki_path(&pki, "client", "key"),
                                             SSL_FILETYPE_PEM), 1);
    cr_assert_eq(SSL_CTX_load_verify_locations(c, tls_pki_path(&pki, "ca", "pem"), NULL), 1);
    SSL_CTX_set_verify(c, SSL_VERIFY_PEER, NULL);
    int fd = sr_tk_connect(cluster.nodes[i].gossip);
    SSL *s = fd >= 0 ? SSL_new(c) : NULL;
    if (s && SSL_set_fd(s, fd) == 1 && SSL_connect(s) == 1) {
        X509 *x = SSL_get0_peer_certificate(s);
        uint8_t md[EVP_MAX_MD_SIZE];
        unsigned n = 0;
        if (x && X509_digest(x, EVP_sha256(), md, &n) == 1 && n == SR_TLS_FP_LEN)
            sr_tls_fp_format(md, out);
    }
    SSL_free(s);
    if (fd >= 0)
        close(fd);
    SSL_CTX_free(c);
    ERR_clear_error();
}

/* PUT KEYS keys through node 0, read each back through every node. */
static int forward_round(const char *tag)
{
    struct sr_tk_conn conn[NODES_MAX];
    char path[64], val[64], out[256];
    size_t outlen;
    int bad = 0;
    for (size_t i = 0; i < cluster.n; i++)
        sr_tk_conn_init(&conn[i], cluster.nodes[i].http);
    for (int k = 0; k < KEYS; k++) {
        snprintf(path, sizeof path, "/v1/kv/%s-%d", tag, k);
        int vl = snprintf(val, sizeof val, "v-%s-%d", tag, k);
        if (sr_tk_conn_request(&conn[0], "PUT", path, val, (size_t)vl, out, sizeof out, NULL) / 100 != 2)
            bad++;
        for (size_t i = 0; i < cluster.n; i++) {
            int st = sr_tk_conn_request(&conn[i], "GET", path, NULL, 0, out, sizeof out, &outlen);
            if (st != 200 || outlen != (size_t)vl || memcmp(out, val, (size_t)vl) != 0)
                bad++;
        }
    }
    for (size_t i = 0; i < cluster.n; i++)
        sr_tk_conn_close(&conn[i]);
    return bad;
}

/* For `ms`, every node sees every member alive: false at the first doubt. */
static bool nobody_doubted_for(uint32_t ms, char *why, size_t len)
{
    sr_time_us end = sr_time_mono_us() + (sr_time_us)ms * SR_US_PER_MS;
    while (sr_time_mono_us() < end) {
        for (size_t i = 0; i < cluster.n; i++) {
            json_t *j = admin(i, "/admin/status");
            long alive = jpath(j, "members", "alive"), sus = jpath(j, "members", "suspect"),
                 faulty = jpath(j, "members", "faulty");
            json_decref(j);
            if (alive != (long)cluster.n || sus != 0 || faulty != 0) {
                snprintf(why, len, "node %zu: alive %ld suspect %ld faulty %ld", i, alive, sus,
                         faulty);
                return false;
            }
        }
        usleep(100000);
    }
    return true;
}

static bool log_has(size_t i, const char *a, const char *b)
{
    char path[256], line[4096];
    snprintf(path, sizeof path, "%s/%s.log", cluster.logdir, cluster.nodes[i].name);
    FILE *f = fopen(path, "r");
    bool found = false;
    while (f && !found && fgets(line, sizeof line, f))
        found = strstr(line, a) && (!b || strstr(line, b));
    if (f)
        fclose(f);
    return found;
}

static bool reloads_reach(size_t i, const char *stat, long want)
{
    sr_time_us end = sr_time_mono_us() + 10 * SR_US_PER_S;
    while (sr_time_mono_us() < end) {
        if (tls_stat(i, stat) >= want)
            return true;
        usleep(50000);
    }
    return false;
}

Test(kvd_tls, mtls_cluster_forwards_and_survives_a_renewal_on_sighup, .timeout = 240,
     .fini = teardown)
{
    pki_make();
    sr_tk_init(&cluster, KVD, "local");
    for (size_t i = 0; i < 3; i++) {
        char n[8];
        snprintf(n, sizeof n, "n%zu", i);
        spawn(i, n);
    }
    cr_assert(sr_tk_wait_converged(&cluster, sr_time_mono_us() + 30 * SR_US_PER_S),
              "no convergence over TLS (logs in %s)", cluster.logdir);
    cr_expect_eq(forward_round("a"), 0, "every read through every node answers");
    json_t *st = admin(1, "/admin/status");
    cr_expect_gt(jpath(st, "requests", "forwarded"), 0, "node 1 forwarded over TLS");
    json_decref(st);
    char want[SR_TLS_FP_HEX], got[SR_TLS_FP_HEX];
    for (size_t i = 0; i < 3; i++) {
        cr_expect_gt(tls_stat(i, "handshakes"), 0);
        cr_expect_eq(tls_stat(i, "refused_untrusted") + tls_stat(i, "refused_expired"), 0);
        char n[8];
        snprintf(n, sizeof n, "n%zu", i);
        file_fp(n, want);
        rpc_peer_fp(i, got);
        cr_expect_str_eq(got, want, "node %zu's RPC port presents its certificate", i);
    }

    /* Renewal on node 0: new key, new certificate, same files; SIGHUP. */
    cr_assert_eq(tls_pki_leaf(&pki, "ca", "n0", "-days 60"), 0);
    cr_assert_eq(tls_pki_copy(&pki, "n0", "live0"), 0);
    file_fp("n0", want);
    long hs0 = tls_stat(0, "handshakes");
    cr_assert_eq(sr_tk_signal(&cluster, 0, SIGHUP), 0);
    cr_assert(reloads_reach(0, "reloads", 1), "node 0 did not reload");
    tls_fp(0, got, sizeof got);
    cr_expect_str_eq(got, want, "node 0 holds the renewed certificate");
    rpc_peer_fp(0, got);
    cr_expect_str_eq(got, want, "a new connection gets the renewed certificate");
    char why[128] = "";
    cr_expect(nobody_doubted_for(3000, why, sizeof why), "a member was doubted: %s", why);
    cr_expect_eq(forward_round("b"), 0, "forwarding after the renewal");
    cr_expect(log_has(0, "event=tls.reloaded", want), "the reload is logged");

    /* New node-to-node connections after the renewal: node 2 restarts, so
     * node 0 dials it and it dials node 0 afresh, verifying the new
     * certificate. */
    cluster.extra = node_flags(2, NULL, NULL);
    cr_assert_eq(sr_tk_restart(&cluster, 2), 0);
    cr_assert(sr_tk_wait_converged(&cluster, sr_time_mono_us() + 30 * SR_US_PER_S),
              "no convergence after the restart (logs in %s)", cluster.logdir);
    cr_expect_eq(forward_round("c"), 0);
    cr_expect_gt(tls_stat(0, "handshakes"), hs0, "node 0 made new sessions with its new certificate");
    cr_expect_gt(tls_stat(2, "handshakes"), 0);
    cr_expect_eq(tls_stat(2, "refused_untrusted") + tls_stat(2, "refused_expired"), 0);

    /* A bad file on SIGHUP: refused, logged, the old material kept. */
    FILE *f = fopen(tls_pki_path(&pki, "live1", "pem"), "w");
    cr_assert_not_null(f);
    fputs("-----BEGIN CERTIFICATE-----\ngarbage\n-----END CERTIFICATE-----\n", f);
    fclose(f);
    char before[SR_TLS_FP_HEX];
    tls_fp(1, before, sizeof before);
    cr_assert_eq(sr_tk_signal(&cluster, 1, SIGHUP), 0);
    cr_assert(reloads_reach(1, "reload_failures", 1), "node 1 did not refuse the bad file");
    tls_fp(1, got, sizeof got);
    cr_expect_str_eq(got, before);
    cr_expect(log_has(1, "level=error", "event=tls.reload_failed"), "the refusal is logged");
    cr_expect(nobody_doubted_for(1000, why, sizeof why), "%s", why);
    cr_expect_eq(forward_round("d"), 0);
}

/* ringctl with args; its exit code, stdout into out. */
static int ringctl(const char *const *args, char *out, size_t len)
{
    return sr_tk_run(RINGCTL, args, NULL, out, len);
}

/* Keys node 3 owns, written through node 0 (a write must reach the owner;
 * a read may be answered by a replica): how many are stored. */
static int writes_of_node3_keys(char keys[][32], int n)
{
    struct sr_tk_conn c;
    char path[64 + 256], out[256];
    int ok = 0;
    sr_tk_conn_init(&c, cluster.nodes[0].http);
    c.headers = "X-Timeout-Ms: 800\r\n"; /* a refused owner answers 503 at the deadline */
    for (int k = 0; k < n; k++) {
        snprintf(path, sizeof path, "/v1/kv/%s", keys[k]);
        ok += sr_tk_conn_request(&c, "PUT", path, "v", 1, out, sizeof out, NULL) / 100 == 2;
    }
    sr_tk_conn_close(&c);
    return ok;
}

static int keys_owned_by(size_t owner, char keys[][32], int want)
{
    int n = 0;
    for (int k = 0; k < 2000 && n < want; k++) {
        char key[32], path[80];
        snprintf(key, sizeof key, "x-%d", k);
        snprintf(path, sizeof path, "/admin/lookup?key=%s", key);
        json_t *j = admin(0, path);
        const char *o = json_string_value(json_object_get(j, "owner"));
        if (o && strcmp(o, cluster.nodes[owner].gossip) == 0)
            snprintf(keys[n++], 32, "%s", key);
        json_decref(j);
    }
    return n;
}

static bool three_see_four(struct sr_tk_cluster *h, void *ud)
{
    (void)h;
    (void)ud;
    for (size_t i = 0; i < 3; i++) {
        json_t *j = admin(i, "/admin/status");
        long m = jpath(j, "ring", "members");
        json_decref(j);
        if (m != 4)
            return false;
    }
    return true;
}

static bool everyone_lists(const char *fp, bool present)
{
    sr_time_us end = sr_time_mono_us() + 15 * SR_US_PER_S;
    while (sr_time_mono_us() < end) {
        bool all = true;
        for (size_t i = 0; i < 3 && all; i++) {
            json_t *j = admin(i, "/admin/tls/exceptions");
            char *s = json_dumps(j, 0);
            all = s && (strstr(s, fp) != NULL) == present;
            free(s);
            json_decref(j);
        }
        if (all)
            return true;
        usleep(100000);
    }
    return false;
}

Test(kvd_tls, expired_member_refused_until_an_exception_spreads, .timeout = 240, .fini = teardown)
{
    pki_make();
    cr_assert_eq(tls_pki_leaf(&pki, "ca", "old", TLS_PKI_EXPIRED), 0);
    sr_tk_init(&cluster, KVD, "local");
    for (size_t i = 0; i < 3; i++) {
        char n[8];
        snprintf(n, sizeof n, "n%zu", i);
        spawn(i, n);
    }
    cr_assert(sr_tk_wait_converged(&cluster, sr_time_mono_us() + 30 * SR_US_PER_S),
              "no convergence (logs in %s)", cluster.logdir);
    spawn(3, "old");
    /* The others hear of node 3 by gossip (UDP) and put it on their rings;
     * its RPC, and so its membership sync, is refused. */
    cr_assert(sr_tk_wait(&cluster, sr_time_mono_us() + 30 * SR_US_PER_S, three_see_four, NULL),
              "nodes 0-2 did not put node 3 on their rings (logs in %s)", cluster.logdir);
    static char out[262144];
    char keys[8][32], fp[SR_TLS_FP_HEX];
    int nk = keys_owned_by(3, keys, 8);
    cr_assert_geq(nk, 5);
    cr_expect_eq(writes_of_node3_keys(keys, nk), 0, "writes of its keys fail while it is refused");
    cr_expect_gt(tls_stat(0, "refused_expired"), 0);
    file_fp("old", fp);
    cr_expect(log_has(0, "event=tls.peer_refused", fp), "the refusal names the fingerprint");

    const char *add[] = {"tls", "exceptions", "add", fp, "--allow", "expired", "--until", "+10m",
                         "--node", cluster.nodes[0].admin, NULL};
    cr_assert_eq(ringctl(add, out, sizeof out), 0, "%s", out);
    cr_expect(strstr(out, fp) != NULL, "%s", out);
    cr_assert(everyone_lists(fp, true), "the exception did not reach every node");
    cr_expect(sr_tk_wait_converged(&cluster, sr_time_mono_us() + 30 * SR_US_PER_S),
              "node 3 syncs its membership once accepted (logs in %s)", cluster.logdir);
    sr_time_us end = sr_time_mono_us() + 20 * SR_US_PER_S;
    int ok = 0;
    while (sr_time_mono_us() < end && (ok = writes_of_node3_keys(keys, nk)) < nk)
        usleep(200000);
    cr_expect_eq(ok, nk, "every write of node 3's keys is stored under the exception");
    long used = tls_stat(0, "exceptions_used");
    cr_expect_gt(used, 0);
    cr_expect(log_has(0, "level=error", "event=tls.exception_used"), "logged at error level");
    cr_expect(log_has(0, "event=tls.exception_used", fp));
    struct sr_tk_conn mc;
    sr_tk_conn_init(&mc, cluster.nodes[0].admin);
    cr_assert_eq(sr_tk_conn_request(&mc, "GET", "/metrics", NULL, 0, out, sizeof out, NULL), 200);
    sr_tk_conn_close(&mc);
    const char *metric = strstr(out, "\nswimring_tls_exceptions_used_total ");
    cr_expect(metric && atol(metric + 36) > 0, "/metrics counts the uses");
    const char *list[] = {"tls", "exceptions", "list", "--json", "--node", cluster.nodes[1].admin,
                          NULL};
    cr_assert_eq(ringctl(list, out, sizeof out), 0, "%s", out);
    cr_expect(strstr(out, "\"expired\"") && strstr(out, fp), "%s", out);

    const char *rm[] = {"tls", "exceptions", "remove", fp, "--node", cluster.nodes[1].admin, NULL};
    cr_assert_eq(ringctl(rm, out, sizeof out), 0, "%s", out);
    cr_assert(everyone_lists(fp, false), "the removal did not reach every node");
    /* Open connections stay; a restarted node 3 is refused again. */
    long refused = tls_stat(0, "refused_expired");
    cluster.extra = node_flags(3, NULL, NULL);
    cr_assert_eq(sr_tk_restart(&cluster, 3), 0);
    end = sr_time_mono_us() + 20 * SR_US_PER_S;
    while (sr_time_mono_us() < end && tls_stat(0, "refused_expired") <= refused)
        usleep(100000);
    cr_expect_gt(tls_stat(0, "refused_expired"), refused, "new sessions are refused again");
    cr_expect_eq(tls_stat(0, "exceptions_used"), used, "no new use after the removal");
}

/* Every base64 line of a PEM file (the key's body), for the leak check. */
static int pem_lines(const char *path, char lines[][80], int cap)
{
    FILE *f = fopen(path, "r");
    char l[256];
    int n = 0;
    while (f && n < cap && fgets(l, sizeof l, f)) {
        l[strcspn(l, "\r\n")] = '\0';
        if (l[0] != '-' && strlen(l) >= 16 && strlen(l) < 80)
            memcpy(lines[n++], l, strlen(l) + 1);
    }
    if (f)
        fclose(f);
    return n;
}

static void expect_clean(const char *what, const char *text, const char *token, char lines[][80],
                         int nl)
{
    cr_expect(strstr(text, token) == NULL, "%s holds the admin token", what);
    cr_expect(strstr(text, "PRIVATE KEY") == NULL, "%s holds a key", what);
    for (int i = 0; i < nl; i++)
        cr_expect(strstr(text, lines[i]) == NULL, "%s holds a line of the key", what);
}

Test(kvd_tls, secrets_never_leave_the_node, .timeout = 120, .fini = teardown)
{
    static const char token[] = "tok-5ecret-9f8e7d6c5b4a";
    char tokflag[64], lines[16][80], out[65536];
    size_t outlen = 0;
    pki_make();
    snprintf(tokflag, sizeof tokflag, "admin.token=%s", token);
    sr_tk_init(&cluster, KVD, "local");
    cr_assert_eq(tls_pki_copy(&pki, "n0", "live0"), 0);
    cluster.extra = node_flags(0, tokflag, NULL);
    cr_assert_eq(sr_tk_spawn(&cluster, NULL), 0);
    setenv(SR_TK_ADMIN_TOKEN_ENV, token, 1); /* the testkit's requests carry it */
    cr_assert(sr_tk_wait_converged(&cluster, sr_time_mono_us() + 20 * SR_US_PER_S));
    cr_assert_eq(forward_round("s"), 0);
    int nl = pem_lines(tls_pki_path(&pki, "live0", "key"), lines, 16);
    cr_assert_geq(nl, 2);
    /* a bad reload on the way: its message must not carry the key either */
    cr_assert_eq(tls_pki_copy(&pki, "client", "live0"), 0);
    FILE *f = fopen(tls_pki_path(&pki, "live0", "pem"), "w");
    cr_assert_not_null(f);
    fputs("not a certificate\n", f);
    fclose(f);
    cr_assert_eq(sr_tk_signal(&cluster, 0, SIGHUP), 0);
    cr_assert(reloads_reach(0, "reload_failures", 1));
    int nl2 = pem_lines(tls_pki_path(&pki, "live0", "key"), lines + nl, 16 - nl);

    const char *paths[] = {"/admin/status", "/admin/tls", "/admin/tls/exceptions", "/admin/stats",
                           "/admin/members", "/admin/state", "/metrics"};
    struct sr_tk_conn c;
    sr_tk_conn_init(&c, cluster.nodes[0].http);
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        int st = sr_tk_conn_request(&c, "GET", paths[i], NULL, 0, out, sizeof out, &outlen);
        cr_expect_eq(st, 200, "%s: %d", paths[i], st);
        expect_clean(paths[i], out, token, lines, nl + nl2);
        expect_clean(paths[i], c.head, token, lines, nl + nl2);
    }
    c.headers = "Authorization: Bearer tok-5ecret-WRONG\r\n";
    cr_expect_eq(sr_tk_conn_request(&c, "GET", "/admin/status", NULL, 0, out, sizeof out, NULL), 401);
    expect_clean("the 401 answer", out, token, lines, nl + nl2);
    cr_expect(strstr(out, "WRONG") == NULL, "the answer echoes the token it got: %s", out);
    sr_tk_conn_close(&c);

    char path[256];
    snprintf(path, sizeof path, "%s/%s.log", cluster.logdir, cluster.nodes[0].name);
    f = fopen(path, "r");
    cr_assert_not_null(f);
    size_t n = fread(out, 1, sizeof out - 1, f);
    out[n] = '\0';
    fclose(f);
    cr_assert_gt(n, 0);
    cr_expect(strstr(out, "event=tls.loaded") && strstr(out, "event=tls.reload_failed"),
              "the log has the TLS lines");
    expect_clean("the log", out, token, lines, nl + nl2);
}

Test(kvd_tls, admin_beyond_loopback_without_a_token_stops_the_node, .timeout = 60,
     .fini = teardown)
{
    static const char *const extra[] = {"--set", "admin.listen=0.0.0.0:0", NULL};
    sr_tk_init(&cluster, KVD, "local");
    cluster.extra = extra;
    cr_assert_eq(sr_tk_spawn(&cluster, NULL), 0);
    int st = sr_tk_reap(&cluster, 0, sr_time_mono_us() + 10 * SR_US_PER_S);
    cr_expect(st != 0 && st != -1, "kvd exited %d", st);
    cr_expect(log_has(0, "admin.listen 0.0.0.0:0 is not a loopback address", "admin.token"),
              "the reason is printed (log in %s)", cluster.logdir);
}
