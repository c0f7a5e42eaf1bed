/* Admin endpoints of the RPC TLS (docs/http.md, docs/security.md):
 *   GET    /admin/tls                 what is loaded (no secret), counters
 *   GET    /admin/tls/exceptions      the exceptions in force
 *   POST   /admin/tls/exceptions      {"fingerprint","allow","until"}: add or replace
 *   DELETE /admin/tls/exceptions?fingerprint=FP
 * POST and DELETE become the cluster setting "tlsx/<fp>" (node_tls.c), so
 * they reach every node. */
#include <stdio.h>
#include <string.h>
#include <sys/queue.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include "swimring/error.h"
#include "swimring/tls.h"
#include "node_admin.h"
#include "node_http.h"
#include "node_settings.h"

#define MS_PER_DAY (86400LL * 1000)

static int64_t now_ms(void) { return (int64_t)(sr_time_wall_us() / SR_US_PER_MS); }

static json_t *time_json(int64_t ms)
{
    char t[32];
    return json_string(sr_time_format_utc((sr_time_us)ms * SR_US_PER_MS, t, sizeof t));
}

static json_t *exception_json(const struct sr_tls_exception *e)
{
    char fp[SR_TLS_FP_HEX], allow[48];
    return json_pack("{s:s, s:s, s:o, s:s}", "fingerprint", sr_tls_fp_format(e->fp, fp), "allow",
                     sr_tls_allow_format(e->allow, allow, sizeof allow), "until",
                     time_json(e->until_ms), "origin", e->origin);
}

/* With TLS off here the settings still say what would apply. */
static size_t exceptions_from_settings(struct sr_node *node, struct sr_tls_exception *out,
                                       size_t cap)
{
    size_t n = 0;
    int64_t now = now_ms();
    for (size_t i = 0; i < node->nsettings && n < cap; i++) {
        const struct node_setting *s = &node->settings[i];
        char text[NODE_SETTING_KEY_MAX + NODE_SETTING_VALUE_MAX + 2];
        if (s->deleted || strncmp(s->key, "tlsx/", 5) != 0)
            continue;
        snprintf(text, sizeof text, "%s %s", s->key + 5, s->value);
        if (sr_tls_exception_parse(text, strlen(text), -1, &out[n], NULL, 0) == 0 &&
            out[n].until_ms > now) {
            snprintf(out[n].origin, sizeof out[n].origin, "%s", s->origin);
            n++;
        }
    }
    return n;
}

static json_t *exceptions_json(struct sr_node *node)
{
    struct sr_tls_exception e[SR_TLS_EXCEPTIONS_MAX];
    size_t n = node->tls ? sr_tls_exception_list(node->tls, e, SR_TLS_EXCEPTIONS_MAX)
                         : exceptions_from_settings(node, e, SR_TLS_EXCEPTIONS_MAX);
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, exception_json(&e[i]));
    return json_pack("{s:b, s:o}", "enabled", node->tls != NULL, "exceptions", a);
}

void node_admin_tls_get(struct sr_node *node, struct evhttp_request *req)
{
    if (!node->tls) {
        node_http_json(req, 200, json_pack("{s:b}", "enabled", 0));
        return;
    }
    struct sr_tls_info i;
    struct sr_tls_stats s;
    struct sr_tls_exception e[SR_TLS_EXCEPTIONS_MAX];
    sr_tls_info_get(node->tls, &i);
    sr_tls_stats_get(node->tls, &s);
    size_t n = sr_tls_exception_list(node->tls, e, SR_TLS_EXCEPTIONS_MAX);
    json_t *cert = json_pack("{s:s, s:s, s:s, s:o, s:o, s:o, s:s, s:s, s:s, s:I}", "fingerprint",
                             i.fingerprint, "subject", i.subject, "issuer", i.issuer, "not_before",
                             time_json(i.not_before_ms), "not_after", time_json(i.not_after_ms),
                             "loaded_at", time_json(i.loaded_at_ms), "cert_file", i.cert_file,
                             "key_file", i.key_file, "ca_file", i.ca_file, "ca_count",
                             (json_int_t)i.ca_count);
    json_t *st = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "handshakes",
                           (json_int_t)s.handshakes, "handshake_failures",
                           (json_int_t)s.handshake_failures, "refused_untrusted",
                           (json_int_t)s.refused_untrusted, "refused_expired",
                           (json_int_t)s.refused_expired, "refused_weak",
                           (json_int_t)s.refused_weak, "exceptions_used",
                           (json_int_t)s.exceptions_used, "reloads", (json_int_t)s.reloads,
                           "reload_failures", (json_int_t)s.reload_failures);
    node_http_json(req, 200, json_pack("{s:b, s:o, s:o, s:I}", "enabled", 1, "certificate", cert,
                                       "stats", st, "exceptions", (json_int_t)n));
}

void node_admin_tls_exceptions_get(struct sr_node *node, struct evhttp_request *req)
{
    node_http_json(req, 200, exceptions_json(node));
}

/* "allow": "expired,weak-signature" or ["expired", "weak-signature"]. */
static int allow_from_json(json_t *v, uint32_t *allow)
{
    if (json_is_string(v))
        return sr_tls_allow_parse(json_string_value(v), allow);
    if (!json_is_array(v) || json_array_size(v) == 0)
        return SR_EINVAL;
    *allow = 0;
    size_t i;
    json_t *x;
    json_array_foreach(v, i, x) {
        uint32_t one;
        if (!json_is_string(x) || sr_tls_allow_parse(json_string_value(x), &one) < 0)
            return SR_EINVAL;
        *allow |= one;
    }
    return 0;
}

/* The body as an exception, or 400 already sent. */
static int post_parse(struct evhttp_request *req, struct sr_tls_exception *e, char *err,
                      size_t errlen)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    const char *body = len ? (const char *)evbuffer_pullup(in, -1) : "";
    json_error_t je;
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je), *allow = NULL;
    const char *fp = NULL, *until = NULL;
    int rc = SR_EINVAL;
    int64_t now = now_ms();
    memset(e, 0, sizeof(*e));
    if (!root || json_unpack_ex(root, &je, JSON_STRICT, "{s:s, s:o, s:s}", "fingerprint", &fp,
                                "allow", &allow, "until", &until) != 0)
        snprintf(err, errlen, "body is {\"fingerprint\", \"allow\", \"until\"}: %.120s", je.text);
    else if (sr_tls_fp_parse(fp, e->fp) < 0)
        snprintf(err, errlen, "fingerprint: the SHA-256 of the certificate, 64 hex digits "
                              "(colons allowed)");
    else if (allow_from_json(allow, &e->allow) < 0)
        snprintf(err, errlen, "allow: \"expired\", \"weak-signature\" or both");
    else if (sr_tls_time_parse(until, now, &e->until_ms) < 0)
        snprintf(err, errlen, "until: RFC 3339 UTC (2026-12-01T20:00:00Z) or +N{s,m,h,d}");
    else if (e->until_ms <= now || e->until_ms - now > SR_TLS_EXCEPTION_MAX_DAYS * MS_PER_DAY)
        snprintf(err, errlen, "until: in the future and at most %d days ahead",
                 SR_TLS_EXCEPTION_MAX_DAYS);
    else
        rc = 0;
    json_decref(root);
    return rc;
}

static bool table_full_for(struct sr_node *node, const uint8_t *fp)
{
    struct sr_tls_exception e[SR_TLS_EXCEPTIONS_MAX];
    size_t n = node->tls ? sr_tls_exception_list(node->tls, e, SR_TLS_EXCEPTIONS_MAX)
                         : exceptions_from_settings(node, e, SR_TLS_EXCEPTIONS_MAX);
    for (size_t i = 0; i < n; i++)
        if (memcmp(e[i].fp, fp, SR_TLS_FP_LEN) == 0)
            return false;
    return n >= SR_TLS_EXCEPTIONS_MAX;
}

/* Is an exception for fp in force here (from the config or a setting)? */
static bool holds(struct sr_node *node, const uint8_t *fp)
{
    struct sr_tls_exception e[SR_TLS_EXCEPTIONS_MAX];
    size_t n = node->tls ? sr_tls_exception_list(node->tls, e, SR_TLS_EXCEPTIONS_MAX) : 0;
    for (size_t i = 0; i < n; i++)
        if (memcmp(e[i].fp, fp, SR_TLS_FP_LEN) == 0)
            return true;
    return false;
}

static void setting_key(const uint8_t *fp, char *out, size_t len)
{
    char hex[SR_TLS_FP_HEX];
    snprintf(out, len, "tlsx/%s", sr_tls_fp_format(fp, hex));
}

void node_admin_tls_exceptions_post(struct sr_node *node, struct evhttp_request *req)
{
    struct sr_tls_exception e;
    char err[200], key[NODE_SETTING_KEY_MAX], value[NODE_SETTING_VALUE_MAX];
    if (post_parse(req, &e, err, sizeof err) < 0) {
        node_http_error(req, 400, "SR_EINVAL", err, 0);
        return;
    }
    if (table_full_for(node, e.fp)) {
        snprintf(err, sizeof err, "%d exceptions in force already", SR_TLS_EXCEPTIONS_MAX);
        node_http_error(req, 409, "SR_EFULL", err, 0);
        return;
    }
    setting_key(e.fp, key, sizeof key);
    int rc = node_tls_setting_value(&e, value, sizeof value);
    if (rc == 0)
        rc = node_setting_set(node, key, value);
    if (rc < 0) {
        snprintf(err, sizeof err, "cannot store %s: %s", key, sr_strerror(rc));
        node_http_error(req, 500, sr_err_name(rc), err, 0);
        return;
    }
    node_admin_tls_exceptions_get(node, req);
}

void node_admin_tls_exceptions_delete(struct sr_node *node, struct evhttp_request *req)
{
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *qs = uri ? evhttp_uri_get_query(uri) : NULL;
    struct evkeyvalq kv;
    TAILQ_INIT(&kv);
    uint8_t fp[SR_TLS_FP_LEN];
    char key[NODE_SETTING_KEY_MAX];
    const char *text = qs && evhttp_parse_query_str(qs, &kv) == 0
                           ? evhttp_find_header(&kv, "fingerprint") : NULL;
    if (!text || sr_tls_fp_parse(text, fp) < 0) {
        node_http_error(req, 400, "SR_EINVAL", "DELETE needs ?fingerprint= (64 hex digits)", 0);
        evhttp_clear_headers(&kv);
        return;
    }
    evhttp_clear_headers(&kv);
    setting_key(fp, key, sizeof key);
    const struct node_setting *s = node_setting_get(node, key);
    if (!holds(node, fp) && (!s || s->deleted)) {
        node_http_error(req, 404, "SR_ENOTFOUND", "no exception for this fingerprint", 0);
        return;
    }
    /* The tombstone removes it here (node_tls_setting) and on every node. */
    int rc = node_setting_set(node, key, NULL);
    if (rc < 0) {
        node_http_error(req, 500, sr_err_name(rc), "cannot store the removal", 0);
        return;
    }
    node_admin_tls_exceptions_get(node, req);
}
