/* The HTTP front (libevent evhttp, JSON with jansson): service routes,
 * /admin/ and /metrics. Any node accepts any request and routes it by key.
 *
 * A service request is answered asynchronously (the owner may be another
 * node). The evhttp request can vanish meanwhile if the client hangs up, so
 * each pending request gets a small record; the connection's close
 * callback clears its pointer and the late answer is dropped and counted. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include "swimring/error.h"
#include "node_admin.h"
#include "node_fwd.h"
#include "node_http.h"

struct http_pending {
    struct sr_node *node;
    struct evhttp_request *req;   /* NULL once the client is gone */
    struct evhttp_connection *conn;
    const struct node_ep *ep;
    sr_time_us t0;
};

/* ---- replies ------------------------------------------------------------- */

static const char *reason(int code)
{
    switch (code) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 413: return "Payload Too Large";
    case 429: return "Too Many Requests";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    default: return code < 500 ? "Error" : "Internal Server Error";
    }
}

static void http_send(struct evhttp_request *req, int code, const char *ctype, const void *body,
                      size_t len)
{
    struct evbuffer *b = evbuffer_new();
    if (!b) {
        evhttp_send_error(req, 500, NULL);
        return;
    }
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", ctype);
    if (len)
        evbuffer_add(b, body, len);
    evhttp_send_reply(req, code, reason(code), b);
    evbuffer_free(b);
}

void node_http_json(struct evhttp_request *req, int code, json_t *j)
{
    char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
    if (!s) {
        evhttp_send_error(req, 500, "out of memory");
    } else {
        size_t n = strlen(s);
        s[n] = '\n'; /* replaces the NUL: a line for curl users */
        http_send(req, code, "application/json", s, n + 1);
    }
    free(s);
    json_decref(j);
}

void node_http_error(struct evhttp_request *req, int code, const char *err, const char *msg,
                     unsigned retry_after_s)
{
    if (retry_after_s) {
        char ra[16];
        snprintf(ra, sizeof ra, "%u", retry_after_s);
        evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", ra);
    }
    node_http_json(req, code, json_pack("{s:s, s:s}", "error", err, "message", msg));
}

/* An SR_E* status from a handler or the forward layer -> HTTP. */
static int status_code(int st, bool idempotent, unsigned *retry_after)
{
    *retry_after = 0;
    switch (st) {
    case 0: return 200;
    case SR_ENOTFOUND: return 404;
    case SR_EINVAL: case SR_ETYPE: case SR_ERANGE: case SR_EPROTO: case SR_ETRUNC: return 400;
    case SR_ETOOBIG: return 413;
    case SR_EAUTH: return 403;
    case SR_ECONNLOST:
        if (!idempotent)
            return 502; /* it may have run: the client must decide */
        /* fall through */
    case SR_EBUSY: case SR_ENOTOWNER: case SR_EUNREACH: case SR_ETIMEDOUT: case SR_EAGAIN:
    case SR_ECLOSED: case SR_EFULL:
        *retry_after = 1;
        return 503;
    default: return 500;
    }
}

/* ---- service routes ------------------------------------------------------- */

/* Match `path` against a route pattern with one {key}; the key segment is
 * returned percent-decoded (malloc'd) or NULL when it does not match. */
static char *route_match(const char *pattern, const char *path, size_t *keylen)
{
    const char *k = strstr(pattern, "{key}");
    size_t pre = (size_t)(k - pattern), post = strlen(k + 5), plen = strlen(path);
    if (plen <= pre + post || strncmp(path, pattern, pre) != 0 ||
        strcmp(path + plen - post, k + 5) != 0)
        return NULL;
    size_t rawlen = plen - pre - post;
    if (memchr(path + pre, '/', rawlen))
        return NULL;
    char raw[1024];
    if (rawlen >= sizeof raw)
        return NULL;
    memcpy(raw, path + pre, rawlen);
    raw[rawlen] = '\0';
    return evhttp_uridecode(raw, 0, keylen);
}

static void pending_close(struct evhttp_connection *conn, void *arg)
{
    struct http_pending *p = arg;
    (void)conn;
    p->req = NULL;
}

static void service_done(void *ud, const struct sr_node_result *res)
{
    struct http_pending *p = ud;
    struct sr_node *node = p->node;
    node_guard_release(node, p->ep);
    if (!p->req) {
        node->hst.client_gone++;
        free(p);
        return;
    }
    evhttp_connection_set_closecb(p->conn, NULL, NULL);
    unsigned ra;
    bool idem = (p->ep->def->flags & SR_ENDPOINT_IDEMPOTENT) != 0;
    int code = status_code(res->status, idem, &ra);
    if (code == 200) {
        const char *ct = p->ep->def->content_type ? p->ep->def->content_type : "application/json";
        if (res->served_by)
            evhttp_add_header(evhttp_request_get_output_headers(p->req), "X-Served-By",
                              res->served_by);
        if (res->body_len)
            http_send(p->req, 200, ct, res->body, res->body_len);
        else
            evhttp_send_reply(p->req, 204, "No Content", NULL);
    } else {
        node_http_error(p->req, code, sr_err_name(res->status), sr_strerror(res->status), ra);
    }
    node->hst.by_class[code / 100 < 6 ? code / 100 : 5]++;
    free(p);
}

static bool service_route(struct sr_node *node, struct evhttp_request *req, const char *path,
                          const char *method, bool *path_known, char *allow, size_t allowlen)
{
    for (size_t i = 0; i < node->nep; i++) {
        const struct node_ep *ep = &node->ep[i];
        if (!ep->def->http_method)
            continue;
        size_t klen = 0;
        char *key = route_match(ep->def->http_path, path, &klen);
        if (!key)
            continue;
        *path_known = true;
        if (strcmp(ep->def->http_method, method) != 0) {
            size_t used = strlen(allow);
            snprintf(allow + used, allowlen - used, "%s%s", used ? ", " : "", ep->def->http_method);
            free(key);
            continue;
        }
        node_http_serve_endpoint(node, req, ep, key, klen);
        free(key);
        return true;
    }
    return false;
}

/* A request id: 1..64 printable ASCII bytes (it is logged and stored). */
static bool rid_ok(const char *s)
{
    size_t n = strlen(s);
    for (size_t i = 0; i < n; i++)
        if (s[i] < 0x21 || s[i] > 0x7e)
            return false;
    return n > 0 && n <= SR_RPC_RID_MAX;
}

void node_http_serve_endpoint(struct sr_node *node, struct evhttp_request *req,
                              const struct node_ep *ep, const char *key, size_t klen)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t blen = evbuffer_get_length(in);
    node_http_serve_body(node, req, ep, key, klen, blen ? evbuffer_pullup(in, -1) : NULL, blen);
}

void node_http_serve_body(struct sr_node *node, struct evhttp_request *req,
                          const struct node_ep *ep, const char *key, size_t klen,
                          const uint8_t *body, size_t blen)
{
    if (klen == 0) {
        node_http_error(req, 400, "SR_EINVAL", "empty key", 0);
        return;
    }
    if (node_guard_admit(node, req, ep, key, klen, blen) != 0)
        return; /* the guard answered */
    struct http_pending *p = calloc(1, sizeof(*p));
    if (!p) {
        node_guard_release(node, ep);
        node_http_error(req, 500, "SR_ENOMEM", "out of memory", 0);
        return;
    }
    *p = (struct http_pending){node, req, evhttp_request_get_connection(req), ep,
                               sr_time_mono_us()};
    const char *rid = evhttp_find_header(evhttp_request_get_input_headers(req), "Idempotency-Key");
    int rc = rid && !rid_ok(rid) ? SR_EINVAL
                                 : node_fwd_call(node, ep, key, klen, body, blen,
                                                 node_http_timeout_ms(req), 0, rid,
                                                 rid ? strlen(rid) : 0, service_done, p);
    if (rc == SR_EINVAL && rid && !rid_ok(rid)) {
        node_http_error(req, 400, "SR_EINVAL", "Idempotency-Key: 1..64 printable bytes", 0);
        node_guard_release(node, ep);
        free(p);
        return;
    }
    if (rc < 0) {
        unsigned ra;
        int code = status_code(rc, true, &ra);
        node_http_error(req, code, sr_err_name(rc), sr_strerror(rc), ra);
        node_guard_release(node, ep);
        free(p);
        return;
    }
    evhttp_connection_set_closecb(p->conn, pending_close, p);
}

/* X-Timeout-Ms: the client's own deadline, bounded by the configured one. */
uint32_t node_http_timeout_ms(struct evhttp_request *req)
{
    const char *t = evhttp_find_header(evhttp_request_get_input_headers(req), "X-Timeout-Ms");
    long v = t ? strtol(t, NULL, 10) : 0;
    return v > 0 && v < 600000 ? (uint32_t)v : 0;
}

/* ---- dispatch ------------------------------------------------------------- */

static const char *method_name(enum evhttp_cmd_type t)
{
    switch (t) {
    case EVHTTP_REQ_GET: return "GET";
    case EVHTTP_REQ_PUT: return "PUT";
    case EVHTTP_REQ_POST: return "POST";
    case EVHTTP_REQ_DELETE: return "DELETE";
    case EVHTTP_REQ_HEAD: return "HEAD";
    default: return "OTHER";
    }
}

static void on_request(struct evhttp_request *req, void *arg)
{
    struct sr_node *node = arg;
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    const char *method = method_name(evhttp_request_get_command(req));
    node->hst.requests++;
    if (!path) {
        node_http_error(req, 400, "SR_EINVAL", "bad request URI", 0);
        return;
    }
    if (strncmp(path, "/admin/", 7) == 0 || strcmp(path, "/metrics") == 0) {
        if (!node->admin_http)
            node_admin_serve(node, req, path, method);
        else
            node_http_error(req, 404, "SR_ENOTFOUND", "admin is served on admin.listen", 0);
        return;
    }
    bool known = false;
    char allow[64] = "";
    if (service_route(node, req, path, method, &known, allow, sizeof allow))
        return;
    if (!known && node_route_dispatch(node, req, path))
        return;
    if (known) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", allow);
        node_http_error(req, 405, "SR_EINVAL", "method not allowed here", 0);
    } else {
        node_http_error(req, 404, "SR_ENOTFOUND", "no such route", 0);
    }
}

static void on_admin_request(struct evhttp_request *req, void *arg)
{
    struct sr_node *node = arg;
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    if (!path) {
        node_http_error(req, 400, "SR_EINVAL", "bad request URI", 0);
        return;
    }
    node_admin_serve(node, req, path, method_name(evhttp_request_get_command(req)));
}

/* ---- start / stop ----------------------------------------------------------- */

static int http_bind(struct evhttp *h, const char *addr, char *bound, size_t boundlen)
{
    char host[64];
    const char *colon = strrchr(addr, ':');
    if (!colon || (size_t)(colon - addr) >= sizeof(host))
        return SR_EINVAL;
    memcpy(host, addr, (size_t)(colon - addr));
    host[colon - addr] = '\0';
    struct evhttp_bound_socket *s = evhttp_bind_socket_with_handle(h, host, (ev_uint16_t)atoi(colon + 1));
    if (!s)
        return SR_ESYS;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    char ip[INET_ADDRSTRLEN];
    evutil_socket_t fd = evhttp_bound_socket_get_fd(s);
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0 && ss.ss_family == AF_INET) {
        struct sockaddr_in *in = (struct sockaddr_in *)&ss;
        inet_ntop(AF_INET, &in->sin_addr, ip, sizeof ip);
        snprintf(bound, boundlen, "%s:%u", ip, ntohs(in->sin_port));
    } else {
        snprintf(bound, boundlen, "%s", addr);
    }
    return 0;
}

static struct evhttp *http_new(struct sr_node *node, void (*cb)(struct evhttp_request *, void *))
{
    struct evhttp *h = evhttp_new(node->base);
    if (!h)
        return NULL;
    evhttp_set_gencb(h, cb, node);
    evhttp_set_allowed_methods(h, EVHTTP_REQ_GET | EVHTTP_REQ_PUT | EVHTTP_REQ_POST |
                                      EVHTTP_REQ_DELETE | EVHTTP_REQ_HEAD);
    /* evhttp's own cap only stops giant bodies early; the guard answers
     * (and counts) everything over limits.max_body below that. */
    if (node->cfg.limits.max_body)
        evhttp_set_max_body_size(h, (ev_ssize_t)node->cfg.limits.max_body * 2 + 65536);
    evhttp_set_max_headers_size(h, 16384);
    evhttp_set_timeout(h, 60); /* idle keep-alive connections */
    return h;
}

int node_start_http(struct sr_node *node, char *msg, size_t msglen)
{
    int rc;
    if (!(node->http = http_new(node, on_request)))
        return SR_ENOMEM;
    if ((rc = http_bind(node->http, node->cfg.node.http, node->http_addr, sizeof node->http_addr)) < 0) {
        snprintf(msg, msglen, "cannot serve HTTP on %s: %s", node->cfg.node.http, sr_strerror(rc));
        return rc;
    }
    if (!node->cfg.admin.listen[0])
        return 0;
    if (!(node->admin_http = http_new(node, on_admin_request)))
        return SR_ENOMEM;
    if ((rc = http_bind(node->admin_http, node->cfg.admin.listen, node->admin_addr,
                        sizeof node->admin_addr)) < 0) {
        snprintf(msg, msglen, "cannot serve admin on %s: %s", node->cfg.admin.listen,
                 sr_strerror(rc));
        return rc;
    }
    return 0;
}

void node_stop_http(struct sr_node *node)
{
    if (node->http)
        evhttp_free(node->http);
    if (node->admin_http)
        evhttp_free(node->admin_http);
    node->http = node->admin_http = NULL;
}

const char *sr_node_http_addr(const struct sr_node *node)
{
    return node->http_addr[0] ? node->http_addr : node->cfg.node.http;
}

const char *node_admin_addr(const struct sr_node *node)
{
    return node->admin_addr[0] ? node->admin_addr : sr_node_http_addr(node);
}
