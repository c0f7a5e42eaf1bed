/* The node's gossip keyring (gossip_crypto.h): made from the "gossip"
 * section, handed to the UDP driver, changed at run time through
 * GET/POST /admin/gossip-keys, counted in /admin/stats and /metrics.
 * Key bytes never leave the keyring: views and logs show key ids. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <openssl/crypto.h>
#include "swimring/buf.h"
#include "swimring/error.h"
#include "node_admin.h"
#include "node_http.h"

int node_gossip_new(struct sr_node *node, int *err, char *msg, size_t msglen)
{
    int e = 0;
    node->gossip = sr_gossip_from_cfg(&node->cfg.gossip, &e, msg, msglen);
    /* the keyring holds the key now; the copy in the config goes */
    OPENSSL_cleanse(node->cfg.gossip.key, sizeof(node->cfg.gossip.key));
    if (e < 0) {
        if (err)
            *err = e;
        return e;
    }
    uint32_t id;
    char hex[SR_GOSSIP_ID_HEX + 1];
    if (node->gossip && sr_gossip_primary(node->gossip, &id)) {
        sr_gossip_id_format(id, hex);
        SR_INFO(node->log, "gossip.encrypted",
                "primary=%s keys=%zu accept_plaintext=%d send_plaintext=%d window_ms=%u skew_ms=%u",
                hex, sr_gossip_ids(node->gossip, NULL, 0),
                sr_gossip_accepts_plaintext(node->gossip), sr_gossip_sends_plaintext(node->gossip),
                sr_gossip_replay_window_ms(node->gossip), sr_gossip_clock_skew_ms(node->gossip));
    }
    return 0;
}

void node_gossip_delete(struct sr_node *node)
{
    sr_gossip_delete(node->gossip);
    node->gossip = NULL;
}

static json_t *id_json(uint32_t id)
{
    char hex[SR_GOSSIP_ID_HEX + 1];
    sr_gossip_id_format(id, hex);
    return json_string(hex);
}

/* {"encrypted", "primary", "keys": [{"id", "primary"}], switches, window} */
json_t *node_gossip_keys_json(struct sr_node *node)
{
    const struct sr_gossip *g = node->gossip;
    uint32_t ids[SR_GOSSIP_KEYS_MAX], primary = 0;
    json_t *keys = json_array();
    if (!g)
        return json_pack("{s:b, s:n, s:o}", "encrypted", 0, "primary", "keys", keys);
    bool have = sr_gossip_primary(g, &primary);
    size_t n = sr_gossip_ids(g, ids, SR_GOSSIP_KEYS_MAX);
    for (size_t i = 0; i < n && i < SR_GOSSIP_KEYS_MAX; i++)
        json_array_append_new(keys, json_pack("{s:o, s:b}", "id", id_json(ids[i]), "primary",
                                              have && ids[i] == primary));
    return json_pack("{s:b, s:o, s:o, s:b, s:b, s:I, s:I}", "encrypted", have, "primary",
                     have ? id_json(primary) : json_null(), "keys", keys, "accept_plaintext",
                     sr_gossip_accepts_plaintext(g), "send_plaintext", sr_gossip_sends_plaintext(g),
                     "replay_window_ms", (json_int_t)sr_gossip_replay_window_ms(g),
                     "clock_skew_ms", (json_int_t)sr_gossip_clock_skew_ms(g));
}

void node_admin_gossip_keys_get(struct sr_node *node, struct evhttp_request *req)
{
    node_http_json(req, 200, node_gossip_keys_json(node));
}

static int http_code(int rc)
{
    switch (rc) {
    case SR_ENOTFOUND: return 404;
    case SR_EBUSY: case SR_EEXIST: case SR_EFULL: return 409;
    default: return 400;
    }
}

static int op_id(json_t *body, uint32_t *id, char *err, size_t errlen)
{
    if (sr_gossip_id_parse(json_string_value(json_object_get(body, "id")), id) < 0) {
        snprintf(err, errlen, "\"id\" must be a key id: 8 hex characters (GET lists them)");
        return SR_EINVAL;
    }
    return 0;
}

static int op_install(struct sr_node *node, json_t *body, char *err, size_t errlen)
{
    const char *hex = json_string_value(json_object_get(body, "key"));
    uint8_t key[SR_GOSSIP_KEY_LEN];
    uint32_t id = 0;
    char why[128], idhex[SR_GOSSIP_ID_HEX + 1];
    if (!hex || sr_gossip_key_parse(hex, strlen(hex), key, why, sizeof why) < 0) {
        snprintf(err, errlen, "\"key\": %s", hex ? why : "missing (64 hex characters)");
        return SR_EINVAL;
    }
    int rc = sr_gossip_install(node->gossip, key, &id);
    OPENSSL_cleanse(key, sizeof key);
    sr_gossip_id_format(id, idhex);
    if (rc == SR_EEXIST)
        snprintf(err, errlen, "another installed key has the key id %s", idhex);
    else if (rc == SR_EFULL)
        snprintf(err, errlen, "the keyring is full (%d keys): remove one first", SR_GOSSIP_KEYS_MAX);
    else if (rc == 0)
        SR_WARN(node->log, "gossip.key_installed", "id=%s", idhex);
    return rc;
}

static int op_use(struct sr_node *node, json_t *body, char *err, size_t errlen)
{
    uint32_t id;
    char hex[SR_GOSSIP_ID_HEX + 1];
    if (op_id(body, &id, err, errlen) < 0)
        return SR_EINVAL;
    sr_gossip_id_format(id, hex);
    int rc = sr_gossip_use(node->gossip, id);
    if (rc == SR_ENOTFOUND)
        snprintf(err, errlen, "no installed key has the id %s (install it first)", hex);
    else if (rc == 0)
        SR_WARN(node->log, "gossip.key_primary", "id=%s", hex);
    return rc;
}

static int op_remove(struct sr_node *node, json_t *body, char *err, size_t errlen)
{
    uint32_t id;
    char hex[SR_GOSSIP_ID_HEX + 1];
    if (op_id(body, &id, err, errlen) < 0)
        return SR_EINVAL;
    sr_gossip_id_format(id, hex);
    int rc = sr_gossip_remove(node->gossip, id);
    if (rc == SR_ENOTFOUND)
        snprintf(err, errlen, "no installed key has the id %s", hex);
    else if (rc == SR_EBUSY)
        snprintf(err, errlen, "%s is the primary key: make another key primary (op \"use\") first", hex);
    else if (rc == 0)
        SR_WARN(node->log, "gossip.key_removed", "id=%s", hex);
    return rc;
}

static int op_plaintext(struct sr_node *node, json_t *body, char *err, size_t errlen)
{
    json_t *a = json_object_get(body, "accept"), *s = json_object_get(body, "send");
    if (!json_is_boolean(a) || !json_is_boolean(s) ||
        sr_gossip_set_plaintext(node->gossip, json_is_true(a), json_is_true(s)) < 0) {
        snprintf(err, errlen, "want {\"op\": \"plaintext\", \"accept\": bool, \"send\": bool}; "
                              "send needs accept");
        return SR_EINVAL;
    }
    SR_WARN(node->log, "gossip.plaintext", "accept=%d send=%d", json_is_true(a), json_is_true(s));
    return 0;
}

/* One keyring change: install (key), use (id), remove (id), plaintext. */
static int gossip_op(struct sr_node *node, const char *text, size_t len, char *err, size_t errlen)
{
    json_error_t je;
    json_t *body = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    const char *op = json_string_value(json_object_get(body, "op"));
    int rc = SR_EINVAL;
    if (!node->gossip) {
        snprintf(err, errlen, "gossip encryption is off on this node: start it with gossip.key "
                              "or --gossip-key-file");
        rc = SR_EBUSY;
    } else if (!json_is_object(body) || !op) {
        snprintf(err, errlen, "want {\"op\": \"install\"|\"use\"|\"remove\"|\"plaintext\", ...}");
    } else if (strcmp(op, "install") == 0) {
        rc = op_install(node, body, err, errlen);
    } else if (strcmp(op, "use") == 0) {
        rc = op_use(node, body, err, errlen);
    } else if (strcmp(op, "remove") == 0) {
        rc = op_remove(node, body, err, errlen);
    } else if (strcmp(op, "plaintext") == 0) {
        rc = op_plaintext(node, body, err, errlen);
    } else {
        snprintf(err, errlen, "unknown op \"%s\" (install, use, remove, plaintext)", op);
    }
    json_decref(body);
    return rc;
}

void node_admin_gossip_keys_post(struct sr_node *node, struct evhttp_request *req)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    char err[256];
    const char *body = len ? (const char *)evbuffer_pullup(in, -1) : "";
    int rc = gossip_op(node, body, len, err, sizeof err);
    /* the body may hold a key: do not leave it in the input buffer */
    if (len)
        OPENSSL_cleanse(evbuffer_pullup(in, -1), len);
    if (rc < 0)
        node_http_error(req, http_code(rc), sr_err_name(rc), err, 0);
    else
        node_admin_gossip_keys_get(node, req);
}

/* ---- counters --------------------------------------------------------------- */

void node_gossip_stats_json(struct sr_node *node, json_t *j)
{
    static const struct sr_gossip_stats zero;
    const struct sr_gossip_stats *s = node->gossip ? sr_gossip_stats(node->gossip) : &zero;
    char key[48];
    json_object_set_new(j, "gossip_sealed", json_integer((json_int_t)s->sealed));
    json_object_set_new(j, "gossip_opened", json_integer((json_int_t)s->opened));
    json_object_set_new(j, "gossip_plaintext_accepted", json_integer((json_int_t)s->plaintext_accepted));
    for (int v = 1; v < SR_GOSSIP_VERDICTS; v++) {
        snprintf(key, sizeof key, "gossip_drop_%s", sr_gossip_verdict_name(v));
        json_object_set_new(j, key, json_integer((json_int_t)s->dropped[v]));
    }
}

int node_gossip_metrics(struct sr_node *node, struct sr_buf *b)
{
    static const struct sr_gossip_stats zero;
    const struct sr_gossip_stats *s = node->gossip ? sr_gossip_stats(node->gossip) : &zero;
    int rc = sr_buf_printf(b, "# HELP swimring_gossip_encrypted Whether this node seals gossip "
                              "(1) or not (0).\n# TYPE swimring_gossip_encrypted gauge\n"
                              "swimring_gossip_encrypted %d\n"
                              "# HELP swimring_gossip_keys Gossip keys installed.\n"
                              "# TYPE swimring_gossip_keys gauge\nswimring_gossip_keys %zu\n",
                           node->gossip != NULL,
                           node->gossip ? sr_gossip_ids(node->gossip, NULL, 0) : 0);
    rc |= sr_buf_printf(b, "# HELP swimring_gossip_crypto_total Gossip datagrams sealed, "
                           "opened, or taken unsealed (transition).\n"
                           "# TYPE swimring_gossip_crypto_total counter\n"
                           "swimring_gossip_crypto_total{result=\"sealed\"} %" PRIu64 "\n"
                           "swimring_gossip_crypto_total{result=\"opened\"} %" PRIu64 "\n"
                           "swimring_gossip_crypto_total{result=\"plaintext_accepted\"} %" PRIu64 "\n"
                           "# HELP swimring_gossip_crypto_dropped_total Received gossip datagrams "
                           "refused by the keyring, by reason.\n"
                           "# TYPE swimring_gossip_crypto_dropped_total counter\n",
                        s->sealed, s->opened, s->plaintext_accepted);
    for (int v = 1; v < SR_GOSSIP_VERDICTS; v++)
        rc |= sr_buf_printf(b, "swimring_gossip_crypto_dropped_total{reason=\"%s\"} %" PRIu64 "\n",
                            sr_gossip_verdict_name(v), s->dropped[v]);
    return rc ? SR_ENOMEM : 0;
}
