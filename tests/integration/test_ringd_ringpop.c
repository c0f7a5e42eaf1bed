/* 3 ringd processes with node.wire ringpop on 127.0.0.1 (docs/ringpop.md):
 * one cluster over TChannel, the node ring placing members as the ringpop
 * driver does (one node has an identity), a key forwarded to its owner over
 * the shared port, and /proxy/req calls made here with lib/ringpop's
 * TChannel codec: a good one answered in ringpop's format by the owner, bad
 * heads and a wrong checksum answered not ok and counted, the node still
 * serving afterwards. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "ringpop/tchannel.h"
#include "swimring/error.h"
#include "swimring/node.h"
#include "swimring/testkit.h"
#include "tls_certs.h"

#define RINGD SR_BINARY_DIR "/tools/ringd/ringd"
#define NODES 3
#define KEYS 40

static struct sr_tk_cluster cluster;

static void kill_all(void) { sr_tk_destroy(&cluster); }

/* ---- a tiny blocking TChannel client ------------------------------------- */

struct tch {
    int fd;
    struct sr_tch_asm as;
    uint32_t next_id;
};

static bool read_full(int fd, uint8_t *p, size_t n)
{
    while (n) {
        ssize_t r = read(fd, p, n);
        if (r <= 0)
            return false;
        p += r;
        n -= (size_t)r;
    }
    return true;
}

/* Read one frame into buf; false on EOF/timeout (2 s, sr_tk_connect). */
static bool read_frame(struct tch *t, uint8_t *buf, size_t cap, struct sr_tch_frame *f)
{
    if (!read_full(t->fd, buf, 2))
        return false;
    size_t size = (size_t)buf[0] << 8 | buf[1];
    if (size < SR_TCH_HEADER || size > cap || !read_full(t->fd, buf + 2, size - 2))
        return false;
    return sr_tch_frame_split(buf, size, f) == (int)size;
}

static void tch_open(struct tch *t, const char *hostport)
{
    memset(t, 0, sizeof(*t));
    t->fd = sr_tk_connect(hostport);
    cr_assert_geq(t->fd, 0, "connect %s", hostport);
    sr_tch_asm_init(&t->as, 1 << 20);
    struct sr_buf b;
    sr_buf_create(&b, 0);
    cr_assert_eq(sr_tch_init_encode(&b, false, 1, "127.0.0.1:1", "test-client"), 0);
    cr_assert_eq(write(t->fd, b.data, b.len), (ssize_t)b.len);
    sr_buf_destroy(&b);
    static uint8_t buf[SR_TCH_FRAME_MAX];
    struct sr_tch_frame f;
    cr_assert(read_frame(t, buf, sizeof buf, &f), "no init res");
    cr_assert_eq(f.type, SR_TCH_INIT_RES);
    t->next_id = 2;
}

static void tch_close(struct tch *t)
{
    sr_tch_asm_destroy(&t->as);
    close(t->fd);
}

/* Call /proxy/req; the assembled answer (caller frees), NULL on an error
 * frame or a dead connection. */
static struct sr_tch_call *proxy_call(struct tch *t, const char *head, const char *body)
{
    static const struct sr_tch_kv hdrs[] = {{"as", "raw"}, {"cn", "test"}};
    struct sr_tch_call_out o = {
        .id = t->next_id++, .ttl_ms = 3000, .service = "ringpop", .headers = hdrs, .nheaders = 2,
        .csum_type = SR_TCH_CSUM_CRC32C, .arg = {"/proxy/req", head, body},
        .arg_len = {10, strlen(head), strlen(body)}};
    struct sr_buf b;
    sr_buf_create(&b, 0);
    cr_assert_eq(sr_tch_call_encode(&b, &o), 0);
    cr_assert_eq(write(t->fd, b.data, b.len), (ssize_t)b.len);
    sr_buf_destroy(&b);
    static uint8_t buf[SR_TCH_FRAME_MAX];
    for (;;) {
        struct sr_tch_frame f;
        if (!read_frame(t, buf, sizeof buf, &f))
            return NULL;
        if (f.type == SR_TCH_ERROR)
            return NULL;
        if (f.type != SR_TCH_CALL_RES && f.type != SR_TCH_CALL_RES_CONT)
            continue; /* pings and the like */
        struct sr_tch_call *done = NULL;
        cr_assert_eq(sr_tch_asm_feed(&t->as, &f, &done), 0);
        if (done)
            return done;
    }
}

static json_t *arg_json(const struct sr_tch_call *c, int i)
{
    return json_loadb((const char *)c->arg[i].data, c->arg[i].len, 0, NULL);
}

/* ---- helpers ---------------------------------------------------------------- */

static json_t *rp_stats(size_t i)
{
    json_t *s = sr_tk_http(cluster.nodes[i].http, "GET", "/admin/stats");
    cr_assert_not_null(s, "stats of node %zu", i);
    json_t *rp = json_incref(json_object_get(s, "ringpop"));
    json_decref(s);
    cr_assert_not_null(rp, "node %zu has no ringpop stats", i);
    return rp;
}

static json_int_t stat_of(size_t i, const char *name)
{
    json_t *rp = rp_stats(i);
    json_int_t v = json_integer_value(json_object_get(rp, name));
    json_decref(rp);
    return v;
}

/* The owner node i's own ring names for key. */
static void owner_of(size_t i, const char *key, char *out, size_t n)
{
    char path[128];
    snprintf(path, sizeof path, "/admin/lookup?key=%s", key);
    json_t *j = sr_tk_http(cluster.nodes[i].http, "GET", path);
    cr_assert_not_null(j);
    const char *o = json_string_value(json_object_get(j, "owner"));
    if (!o) /* the replica list form */
        o = json_string_value(json_array_get(json_object_get(j, "replicas"), 0));
    cr_assert_not_null(o, "lookup answer without owner");
    snprintf(out, n, "%s", o);
    json_decref(j);
}

static bool all_converged(struct sr_tk_cluster *h, void *ud)
{
    (void)ud;
    return sr_tk_converged(h);
}

Test(ringd_ringpop, cluster_forward_and_proxy_req, .timeout = 60, .fini = kill_all)
{
    sr_tk_init(&cluster, RINGD, "local");
    const char *plain[] = {"--set", "node.wire=ringpop", "--services", "echo", NULL};
    const char *ident[] = {"--set", "node.wire=ringpop", "--services", "echo",
                           "--set", "ringpop.identity=node-two", NULL};
    cluster.extra = plain;
    cr_assert_geq(sr_tk_spawn(&cluster, NULL), 0);
    cr_assert_geq(sr_tk_spawn(&cluster, cluster.nodes[0].gossip), 0);
    cluster.extra = ident;
    cr_assert_geq(sr_tk_spawn(&cluster, cluster.nodes[0].gossip), 0);
    sr_time_us t0 = sr_time_mono_us();
    cr_assert(sr_tk_wait(&cluster, t0 + 20 * SR_US_PER_S, all_converged, NULL),
              "no convergence over the ringpop wire (logs in %s)", cluster.logdir);
    cr_log_info("3 ringd (wire ringpop) converged in %.0f ms",
                (double)(sr_time_mono_us() - t0) / 1000.0);

    /* The node ring and the ringpop driver's ring (TChannel /admin/lookup)
     * agree key by key, identity included; and a request entering node 0
     * is answered by that owner (forwarded over our RPC on the shared port). */
    struct tch t;
    tch_open(&t, cluster.nodes[0].gossip);
    int forwarded = 0, by_identity = 0;
    for (int k = 0; k < KEYS; k++) {
        char key[32], owner[64], path[64], body[512];
        snprintf(key, sizeof key, "key-%d", k);
        owner_of(0, key, owner, sizeof owner);
        by_identity += strcmp(owner, cluster.nodes[2].gossip) == 0;
        snprintf(path, sizeof path, "/v1/echo/%s", key);
        json_t *j = sr_tk_http(cluster.nodes[0].http, "GET", path);
        cr_assert_not_null(j, "GET %s", path);
        cr_expect_str_eq(json_string_value(json_object_get(j, "node")), owner, "%s", key);
        forwarded += strcmp(owner, cluster.nodes[0].gossip) != 0;
        json_decref(j);
        (void)body;
    }
    cr_assert_gt(forwarded, 0, "no key of %d was owned elsewhere", KEYS);
    cr_assert_gt(by_identity, 0, "the identity node owns none of %d keys", KEYS);
    cr_log_info("%d of %d keys forwarded; %d owned by the identity node", forwarded, KEYS,
                by_identity);
    tch_close(&t);

    /* The ringpop driver's own lookup over TChannel names the same owners. */
    for (int k = 0; k < KEYS; k += 7) {
        char key[32], owner[64], head[64];
        snprintf(key, sizeof key, "key-%d", k);
        owner_of(1, key, owner, sizeof owner);
        struct tch a;
        tch_open(&a, cluster.nodes[1].gossip);
        static const struct sr_tch_kv hdrs[] = {{"as", "raw"}, {"cn", "test"}};
        snprintf(head, sizeof head, "{\"key\":\"%s\"}", key);
        struct sr_tch_call_out o = {.id = 9, .ttl_ms = 3000, .service = "ringpop", .headers = hdrs,
                                    .nheaders = 2, .arg = {"/admin/lookup", "", head},
                                    .arg_len = {13, 0, strlen(head)}};
        struct sr_buf b;
        sr_buf_create(&b, 0);
        cr_assert_eq(sr_tch_call_encode(&b, &o), 0);
        cr_assert_eq(write(a.fd, b.data, b.len), (ssize_t)b.len);
        sr_buf_destroy(&b);
        static uint8_t buf[SR_TCH_FRAME_MAX];
        struct sr_tch_frame f;
        struct sr_tch_call *res = NULL;
        while (!res && read_frame(&a, buf, sizeof buf, &f))
            if (f.type == SR_TCH_CALL_RES)
                cr_assert_eq(sr_tch_asm_feed(&a.as, &f, &res), 0);
        cr_assert_not_null(res);
        json_t *j = arg_json(res, 2);
        cr_expect_str_eq(json_string_value(json_object_get(j, "dest")), owner, "%s", key);
        json_decref(j);
        sr_tch_call_free(res);
        tch_close(&a);
    }

    /* /proxy/req from "a ringpop node" (us) to node 1, for a key node 2
     * owns: node 1 serves it through its HTTP front, which forwards it. */
    char key2[32] = "", owner[64];
    for (int k = 0; k < KEYS && !key2[0]; k++) {
        snprintf(key2, sizeof key2, "key-%d", k);
        owner_of(1, key2, owner, sizeof owner);
        if (strcmp(owner, cluster.nodes[2].gossip) != 0)
            key2[0] = '\0';
    }
    cr_assert(key2[0], "no key owned by node 2");
    json_int_t cs = stat_of(1, "ring_checksum");
    char head[512];
    snprintf(head, sizeof head,
             "{\"url\":\"/v1/echo/%s\",\"headers\":{\"content-type\":\"text/plain\"},"
             "\"method\":\"POST\",\"httpVersion\":\"1.1\",\"ringpopChecksum\":%lld,"
             "\"ringpopKeys\":[\"%s\"]}",
             key2, (long long)cs, key2);
    tch_open(&t, cluster.nodes[1].gossip);
    struct sr_tch_call *res = proxy_call(&t, head, "hello ringpop");
    cr_assert_not_null(res, "no answer to /proxy/req");
    cr_assert_eq(res->code, 0, "not ok: %.*s", (int)res->arg[2].len, res->arg[2].data);
    json_t *h = arg_json(res, 1), *b = arg_json(res, 2);
    cr_assert_eq(json_integer_value(json_object_get(h, "statusCode")), 200);
    cr_expect_str_eq(json_string_value(json_object_get(b, "node")), cluster.nodes[2].gossip);
    cr_expect_str_eq(json_string_value(json_object_get(b, "key")), key2);
    cr_expect_str_eq(json_string_value(json_object_get(b, "body")), "hello ringpop");
    json_decref(h);
    json_decref(b);
    sr_tch_call_free(res);

    /* Bad heads: answered not ok with ringpop's {type, message}, counted. */
    const char *bad[] = {"not json", "{\"method\":\"GET\"}", "[1,2]",
                         "{\"url\":\"/v1/echo/x\",\"method\":\"GET\",\"headers\":7}",
                         "{\"url\":\"/v1/echo/x\",\"method\":\"GET\",\"ringpopKeys\":[1]}"};
    size_t nbad = sizeof bad / sizeof bad[0];
    for (size_t i = 0; i < nbad; i++) {
        res = proxy_call(&t, bad[i], "");
        cr_assert_not_null(res, "no answer to bad head %zu", i);
        cr_expect_neq(res->code, 0, "bad head %zu answered ok", i);
        json_t *e = arg_json(res, 2);
        cr_expect_str_eq(json_string_value(json_object_get(e, "type")),
                         "ringpop.request-proxy.bad-head", "head %zu", i);
        json_decref(e);
        sr_tch_call_free(res);
    }
    /* A checksum that is not the ring's: ringpop-node's invalid-checksum. */
    snprintf(head, sizeof head,
             "{\"url\":\"/v1/echo/%s\",\"method\":\"GET\",\"ringpopChecksum\":%lld}", key2,
             (long long)(cs ^ 1));
    res = proxy_call(&t, head, "");
    cr_assert_not_null(res);
    cr_expect_neq(res->code, 0);
    json_t *e = arg_json(res, 2);
    cr_expect_str_eq(json_string_value(json_object_get(e, "type")),
                     "ringpop.request-proxy.invalid-checksum");
    json_decref(e);
    sr_tch_call_free(res);
    /* An admin URL is never reached through a peer. */
    snprintf(head, sizeof head, "{\"url\":\"/admin/leave\",\"method\":\"POST\",\"ringpopChecksum\":%lld}",
             (long long)cs);
    res = proxy_call(&t, head, "");
    cr_assert_not_null(res);
    h = arg_json(res, 1);
    cr_expect_eq(json_integer_value(json_object_get(h, "statusCode")), 404);
    json_decref(h);
    sr_tch_call_free(res);
    tch_close(&t);

    cr_expect_eq(stat_of(1, "proxy_in_bad_head"), (json_int_t)nbad);
    cr_expect_eq(stat_of(1, "proxy_in_checksum_differs"), 1);
    cr_expect_eq(stat_of(1, "proxy_in_refused"), 1);
    cr_expect_eq(stat_of(1, "proxy_in_served"), 1);
    cr_expect_geq(stat_of(1, "port_tchannel"), 3);
    cr_expect_geq(stat_of(2, "port_rpc"), 1, "node 2 got no RPC on its shared port");
    /* ... and still serves. */
    char path[64];
    snprintf(path, sizeof path, "/v1/echo/%s", key2);
    json_t *j = sr_tk_http(cluster.nodes[1].http, "GET", path);
    cr_assert_not_null(j, "node 1 stopped serving after bad /proxy/req heads");
    json_decref(j);
}

/* tls.enabled with the ringpop wire: our RPC is TLS on the shared port (a
 * ClientHello is sniffed as ours), membership stays TChannel. Keys entering
 * node 0 reach owners on node 1 that way. */
static struct tls_pki pki;

static void kill_all_tls(void)
{
    sr_tk_destroy(&cluster);
    tls_pki_destroy(&pki);
}

Test(ringd_ringpop, tls_rpc_on_the_shared_port, .timeout = 60, .fini = kill_all_tls)
{
    cr_assert_eq(tls_pki_init(&pki), 0);
    cr_assert_eq(tls_pki_ca(&pki, "ca"), 0);
    cr_assert_eq(tls_pki_leaf(&pki, "ca", "node", "-days 30"), 0);
    char cert[400], key[400], ca[400];
    snprintf(cert, sizeof cert, "tls.cert_file=%s", tls_pki_path(&pki, "node", "pem"));
    snprintf(key, sizeof key, "tls.key_file=%s", tls_pki_path(&pki, "node", "key"));
    snprintf(ca, sizeof ca, "tls.ca_file=%s", tls_pki_path(&pki, "ca", "pem"));
    const char *flags[] = {"--set", "node.wire=ringpop", "--services", "echo",
                           "--set", "tls.enabled=true", "--set", cert, "--set", key,
                           "--set", ca, NULL};
    sr_tk_init(&cluster, RINGD, "local");
    cluster.extra = flags;
    cr_assert_geq(sr_tk_spawn(&cluster, NULL), 0);
    cr_assert_geq(sr_tk_spawn(&cluster, cluster.nodes[0].gossip), 0);
    cr_assert(sr_tk_wait(&cluster, sr_time_mono_us() + 20 * SR_US_PER_S, all_converged, NULL),
              "no convergence (logs in %s)", cluster.logdir);
    int remote = 0;
    for (int k = 0; k < 20; k++) {
        char path[64], owner[64], kk[16];
        snprintf(kk, sizeof kk, "t-%d", k);
        owner_of(0, kk, owner, sizeof owner);
        snprintf(path, sizeof path, "/v1/echo/%s", kk);
        json_t *j = sr_tk_http(cluster.nodes[0].http, "GET", path);
        cr_assert_not_null(j, "GET %s (logs in %s)", path, cluster.logdir);
        cr_expect_str_eq(json_string_value(json_object_get(j, "node")), owner);
        remote += strcmp(owner, cluster.nodes[1].gossip) == 0;
        json_decref(j);
    }
    cr_assert_gt(remote, 0, "node 1 owns none of 20 keys");
    cr_expect_geq(stat_of(1, "port_rpc"), 1, "no RPC (TLS) connection sniffed on node 1");
    json_t *s = sr_tk_http(cluster.nodes[1].http, "GET", "/admin/stats");
    cr_assert_not_null(s);
    cr_expect_geq(json_integer_value(json_object_get(s, "tls_handshakes")), 1,
                  "no TLS handshake on node 1");
    json_decref(s);
}

/* Combinations the ringpop wire cannot carry are refused by sr_node_new
 * with a message naming the key (ringd prints it and exits 2). */
Test(ringd_ringpop, refuses_what_cannot_work)
{
    const char *cases[][3] = {
        {"ring.points_per_member", "50", "ring.points_per_member must be 100"},
        {"ring.suspect_on_ring", "false", "suspect_on_ring must be true"},
        {"node.listen", "0.0.0.0:7946", "concrete IPv4"},
        {"gossip.key", "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
         "gossip encryption"},
        {"node.seeds", "localhost:7000", "node.seeds must be IPv4"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct sr_node_config cfg;
        char err[512] = "";
        sr_node_config_default(&cfg);
        cr_assert_eq(sr_node_config_set(&cfg, "node.wire", "ringpop", err, sizeof err), 0, "%s", err);
        cr_assert_eq(sr_node_config_set(&cfg, cases[i][0], cases[i][1], err, sizeof err), 0,
                     "%s: %s", cases[i][0], err);
        int rc = 0;
        struct sr_node *n = sr_node_new(NULL, &cfg, &rc, err, sizeof err);
        cr_expect_null(n, "case %s accepted", cases[i][0]);
        sr_node_delete(n);
        cr_expect_eq(rc, SR_ECONFIG, "case %s: %d", cases[i][0], rc);
        cr_expect(strstr(err, cases[i][2]) != NULL, "case %s: \"%s\"", cases[i][0], err);
    }
    /* the native wire takes them (points, name) as before */
    struct sr_node_config cfg;
    char err[512] = "";
    sr_node_config_default(&cfg);
    cr_assert_eq(sr_node_config_set(&cfg, "ring.points_per_member", "50", err, sizeof err), 0);
    int rc = 0;
    struct sr_node *n = sr_node_new(NULL, &cfg, &rc, err, sizeof err);
    cr_expect_not_null(n, "%s", err);
    sr_node_delete(n);
}
