/* /proxy/req, ringpop-node's request proxy (lib/request-proxy), both ways.
 *
 * Out: sr_ringpop_proxy sends arg2 = the JSON head {url, headers, method,
 * httpVersion, ringpopChecksum, ringpopKeys}, arg3 = the body, and hands
 * the answer's head (statusCode, headers) and body to the callback.
 * In: a head is checked field by field (a bad one is answered not ok and
 * counted, never reaching the handler), then given to the handler, which
 * answers through a reply that outlives the caller's connection. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "ringpop/rp_impl.h"
#include "swimring/error.h"

#define PROXY_TIMEOUT_MS 30000 /* ringpop-node proxyReqTimeout */

const char *sr_ringpop_req_header(const struct sr_ringpop_proxy_req *req, const char *name)
{
    for (size_t i = 0; i < req->nheaders; i++)
        if (strcasecmp(req->headers[i][0], name) == 0)
            return req->headers[i][1];
    return NULL;
}

void sr_ringpop_proxy_stats(const struct sr_ringpop *rp, struct sr_ringpop_proxy_stats *out)
{
    *out = rp->stats.proxy;
}

void sr_ringpop_set_proxy_handler(struct sr_ringpop *rp, sr_ringpop_serve_f fn, void *ud)
{
    rp->serve = fn;
    rp->serve_ud = ud;
}

/* ---- out ------------------------------------------------------------------ */

static json_t *head_of(const struct sr_ringpop_proxy_req *req)
{
    json_t *h = json_object(), *keys = json_array();
    for (size_t i = 0; i < req->nheaders; i++)
        json_object_set_new(h, req->headers[i][0], json_string(req->headers[i][1]));
    for (size_t i = 0; i < req->nkeys; i++)
        json_array_append_new(keys, json_string(req->keys[i]));
    return json_pack("{s:s, s:o, s:s, s:s, s:I, s:o}", "url", req->url, "headers", h, "method",
                     req->method, "httpVersion", "1.1", "ringpopChecksum",
                     (json_int_t)req->checksum, "ringpopKeys", keys);
}

int sr_ringpop_proxy(struct sr_ringpop *rp, const char *peer, const struct sr_ringpop_proxy_req *req,
                     sr_ringpop_proxy_f cb, void *ud)
{
    if (peer == NULL || req == NULL || req->url == NULL || req->method == NULL || cb == NULL ||
        req->nheaders > SR_RINGPOP_PROXY_HEADERS_MAX || req->nkeys > SR_RINGPOP_PROXY_KEYS_MAX)
        return SR_EINVAL;
    json_t *h = head_of(req);
    char *head = h ? json_dumps(h, JSON_COMPACT) : NULL;
    json_decref(h);
    if (head == NULL)
        return SR_ENOMEM;
    struct rp_call_args a = {"/proxy/req", head, req->body, strlen(head), req->body_len,
                             req->timeout_ms ? req->timeout_ms : PROXY_TIMEOUT_MS};
    struct rp_call *k = NULL;
    int rc = rp_call_ex(rp, peer, &a, RP_K_PROXY, 0, NULL, &k);
    free(head);
    if (rc != 0)
        return rc;
    k->proxy_cb = cb;
    k->proxy_ud = ud;
    rp->stats.proxy.sent++;
    return 0;
}

void rp_proxy_on_response(struct rp_call *k, const struct sr_tch_call *res)
{
    struct sr_ringpop *rp = k->rp;
    struct sr_ringpop_proxy_res r = {.status = 0, .status_code = 200,
                                     .body = res->arg[2].data, .body_len = res->arg[2].len};
    json_t *head = NULL;
    if (res->code != 0) {
        r.status = SR_EAGAIN; /* not ok: the body is ringpop's error object */
    } else if (res->arg[1].len > 0) {
        head = json_loadb((const char *)res->arg[1].data, res->arg[1].len, 0, NULL);
        const json_t *sc = json_object_get(head, "statusCode");
        if (!json_is_object(head) || (sc && !json_is_integer(sc))) {
            r.status = SR_EPROTO;
            rp->stats.bad_bodies++;
        } else if (sc) {
            json_int_t v = json_integer_value(sc);
            r.status_code = v >= 100 && v <= 599 ? (int)v : 502;
        }
        const json_t *hs = json_object_get(head, "headers");
        const char *key;
        const json_t *v;
        if (json_is_object(hs))
            json_object_foreach((json_t *)hs, key, v)
                if (strcasecmp(key, "content-type") == 0 && json_is_string(v))
                    r.content_type = json_string_value(v);
    }
    if (r.status == 0)
        rp->stats.proxy.answered++;
    else
        rp->stats.proxy.failed++;
    sr_ringpop_proxy_f cb = k->proxy_cb;
    k->proxy_cb = NULL;
    if (cb)
        cb(k->proxy_ud, &r);
    json_decref(head);
}

void rp_proxy_on_failed(struct rp_call *k)
{
    sr_ringpop_proxy_f cb = k->proxy_cb;
    k->proxy_cb = NULL;
    k->rp->stats.proxy.failed++;
    struct sr_ringpop_proxy_res r = {.status = k->fail_status ? k->fail_status : SR_EUNREACH};
    if (cb)
        cb(k->proxy_ud, &r);
}

/* ---- in ------------------------------------------------------------------- */

static void reply_error_now(struct rp_conn *c, uint32_t id, const char *type, const char *msg)
{
    json_t *e = json_pack("{s:s, s:s}", "type", type, "message", msg);
    char *s = e ? json_dumps(e, JSON_COMPACT) : NULL;
    json_decref(e);
    rp_respond_raw(c, id, 1, "", 0, s ? s : "{}", s ? strlen(s) : 2);
    free(s);
}

const char *rp_proxy_parse_head(const json_t *h, struct sr_ringpop_proxy_req *req)
{
    if (!json_is_object(h))
        return "head: a JSON object";
    req->url = json_string_value(json_object_get(h, "url"));
    if (req->url == NULL || req->url[0] != '/')
        return "url: a string starting with /";
    req->method = json_string_value(json_object_get(h, "method"));
    if (req->method == NULL || req->method[0] == '\0')
        return "method: a non-empty string";
    const json_t *hs = json_object_get(h, "headers");
    if (hs && !json_is_object(hs) && !json_is_null(hs))
        return "headers: an object";
    const char *key;
    const json_t *v;
    if (json_is_object(hs))
        json_object_foreach((json_t *)hs, key, v) {
            if (!json_is_string(v))
                continue; /* node's arrays (set-cookie) are not routed on */
            if (req->nheaders == SR_RINGPOP_PROXY_HEADERS_MAX)
                return "headers: too many";
            req->headers[req->nheaders][0] = key;
            req->headers[req->nheaders++][1] = json_string_value(v);
        }
    const json_t *cs = json_object_get(h, "ringpopChecksum");
    if (cs && !json_is_integer(cs) && !json_is_null(cs))
        return "ringpopChecksum: an integer";
    if (json_is_integer(cs)) {
        json_int_t n = json_integer_value(cs);
        if (n < 0 || n > 0xffffffffLL)
            return "ringpopChecksum: out of range";
        req->has_checksum = true;
        req->checksum = (uint32_t)n;
    }
    const json_t *ks = json_object_get(h, "ringpopKeys");
    if (ks && !json_is_array(ks) && !json_is_null(ks))
        return "ringpopKeys: an array";
    for (size_t i = 0; json_is_array(ks) && i < json_array_size(ks); i++) {
        const char *k = json_string_value(json_array_get(ks, i));
        if (k == NULL)
            return "ringpopKeys: strings";
        if (req->nkeys == SR_RINGPOP_PROXY_KEYS_MAX)
            return "ringpopKeys: too many";
        req->keys[req->nkeys++] = k;
    }
    return NULL;
}

void rp_proxy_serve(struct rp_conn *c, const struct sr_tch_call *call)
{
    struct sr_ringpop *rp = c->rp;
    rp->stats.proxy.received++;
    json_t *h = call->arg[1].len
                    ? json_loadb((const char *)call->arg[1].data, call->arg[1].len, 0, NULL)
                    : NULL;
    struct sr_ringpop_proxy_req req;
    memset(&req, 0, sizeof req);
    const char *bad = rp_proxy_parse_head(h, &req);
    if (bad) {
        rp->stats.proxy.bad_head++;
        SR_DEBUG(rp->log, "ringpop.proxy_bad_head", "peer=%s why=\"%s\"", c->peer, bad);
        reply_error_now(c, call->id, "ringpop.request-proxy.bad-head", bad);
    } else if (rp->serve == NULL) {
        rp->stats.proxy.no_handler++;
        reply_error_now(c, call->id, "ringpop.request-proxy.no-handler",
                        "this node does not serve /proxy/req");
    } else {
        struct sr_ringpop_reply *r = calloc(1, sizeof(*r));
        if (r == NULL) {
            reply_error_now(c, call->id, "ringpop.request-proxy.no-memory", "out of memory");
        } else {
            *r = (struct sr_ringpop_reply){rp, c, call->id, rp->replies};
            rp->replies = r;
            req.body = call->arg[2].data;
            req.body_len = call->arg[2].len;
            rp->serve(rp->serve_ud, r, &req);
        }
    }
    json_decref(h);
}

static void reply_unlink_free(struct sr_ringpop_reply *r)
{
    for (struct sr_ringpop_reply **p = &r->rp->replies; *p; p = &(*p)->next)
        if (*p == r) {
            *p = r->next;
            break;
        }
    free(r);
}

void sr_ringpop_reply_send(struct sr_ringpop_reply *r, int status_code, const char *content_type,
                           const void *body, size_t len)
{
    struct sr_ringpop *rp = r->rp;
    if (r->conn == NULL) {
        rp->stats.proxy.caller_gone++;
        reply_unlink_free(r);
        return;
    }
    json_t *hs = json_object();
    if (content_type)
        json_object_set_new(hs, "content-type", json_string(content_type));
    json_t *h = json_pack("{s:i, s:o}", "statusCode", status_code, "headers", hs);
    char *head = h ? json_dumps(h, JSON_COMPACT) : NULL;
    json_decref(h);
    if (head == NULL) {
        reply_error_now(r->conn, r->id, "ringpop.request-proxy.no-memory", "out of memory");
    } else {
        rp_respond_raw(r->conn, r->id, 0, head, strlen(head), body, len);
        rp->stats.proxy.replied++;
    }
    free(head);
    reply_unlink_free(r);
}

void sr_ringpop_reply_error(struct sr_ringpop_reply *r, const char *type, const char *message)
{
    struct sr_ringpop *rp = r->rp;
    if (r->conn == NULL) {
        rp->stats.proxy.caller_gone++;
    } else {
        rp->stats.proxy.errors++;
        reply_error_now(r->conn, r->id, type, message);
    }
    reply_unlink_free(r);
}

void rp_proxy_conn_gone(struct sr_ringpop *rp, struct rp_conn *c)
{
    for (struct sr_ringpop_reply *r = rp->replies; r; r = r->next)
        if (r->conn == c)
            r->conn = NULL;
}

void rp_proxy_close(struct sr_ringpop *rp)
{
    /* replies still with a handler: their owner answers them later only if
     * it outlives us, which a node does not (it deletes us last) */
    while (rp->replies) {
        struct sr_ringpop_reply *r = rp->replies;
        rp->replies = r->next;
        free(r);
    }
}
