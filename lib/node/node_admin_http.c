/* The admin endpoints and /metrics over HTTP: access control, query
 * views of node_admin.c. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include "swimring/error.h"
#include "node_admin.h"
#include "node_state.h"
#include "node_http.h"

static bool peer_is_loopback(struct evhttp_request *req)
{
    struct evhttp_connection *c = evhttp_request_get_connection(req);
    const char *addr = NULL;
    ev_uint16_t port = 0;
    if (!c)
        return false;
    evhttp_connection_get_peer(c, (char **)&addr, &port);
    return addr && (strncmp(addr, "127.", 4) == 0 || strcmp(addr, "::1") == 0);
}

/* Admin is for operators: loopback clients only unless it has its own
 * listener (admin.listen), and a bearer token when one is configured. */
static bool admin_allowed(struct sr_node *node, struct evhttp_request *req)
{
    if (!node->admin_http && !peer_is_loopback(req)) {
        node_http_error(req, 403, "SR_EAUTH", "admin is served to loopback clients only", 0);
        return false;
    }
    if (node->cfg.admin.token[0]) {
        const char *h = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
        if (!h || strncmp(h, "Bearer ", 7) != 0 || strcmp(h + 7, node->cfg.admin.token) != 0) {
            evhttp_add_header(evhttp_request_get_output_headers(req), "WWW-Authenticate", "Bearer");
            node_http_error(req, 401, "SR_EAUTH", "missing or wrong bearer token", 0);
            return false;
        }
    }
    return true;
}

struct query {
    struct evkeyvalq kv;
};

static int query_parse(struct evhttp_request *req, struct query *q)
{
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *qs = uri ? evhttp_uri_get_query(uri) : NULL;
    TAILQ_INIT(&q->kv);
    if (qs && evhttp_parse_query_str(qs, &q->kv) != 0) {
        node_http_error(req, 400, "SR_EINVAL", "malformed query string", 0);
        return -1;
    }
    return 0;
}

static void lookup(struct sr_node *node, struct evhttp_request *req)
{
    struct query q;
    if (query_parse(req, &q) < 0)
        return;
    const char *key = evhttp_find_header(&q.kv, "key");
    const char *n = evhttp_find_header(&q.kv, "n");
    long nv = n ? strtol(n, NULL, 10) : 1;
    if (!key || !key[0])
        node_http_error(req, 400, "SR_EINVAL", "lookup needs ?key=", 0);
    else if (nv < 1 || nv > 16)
        node_http_error(req, 400, "SR_ERANGE", "n must be 1..16", 0);
    else
        node_http_json(req, 200, node_admin_lookup(node, key, strlen(key), (unsigned)nv));
    evhttp_clear_headers(&q.kv);
}

static void keys(struct sr_node *node, struct evhttp_request *req)
{
    struct query q;
    if (query_parse(req, &q) < 0)
        return;
    const char *svc = evhttp_find_header(&q.kv, "service");
    const char *key = evhttp_find_header(&q.kv, "key");
    if (!svc || !key || !key[0]) {
        node_http_error(req, 400, "SR_EINVAL", "keys needs ?service=&key=", 0);
    } else {
        int code;
        json_t *j = node_admin_keys(node, svc, key, strlen(key), &code);
        node_http_json(req, code, j);
    }
    evhttp_clear_headers(&q.kv);
}

/* Leave the cluster but keep the process (and admin) up: state is handed
 * off first, then "left" goes out and new requests are refused. */
static void leave(struct sr_node *node, struct evhttp_request *req)
{
    bool handing = false;
    if (node->swim && !node->leaving && node->state->leave_phase == 0) {
        node->leave_stay = true;
        if (!(handing = node_handoff_leave(node)))
            node_leave_now(node);
    }
    node_http_json(req, 200, json_pack("{s:s, s:s}", "self", node->self, "status",
                                       handing ? "handing_off" : "leaving"));
}

static void state(struct sr_node *n, struct evhttp_request *r) { node_http_json(r, 200, node_state_json(n)); }

static void metrics(struct sr_node *node, struct evhttp_request *req)
{
    struct sr_buf b;
    sr_buf_create(&b, 0);
    if (node_metrics_write(node, &b) < 0 || node_route_metrics(node, &b) < 0 ||
        node_gossip_metrics(node, &b) < 0 || node_tls_metrics(node, &b) < 0) {
        node_http_error(req, 500, "SR_ENOMEM", "out of memory", 0);
    } else {
        struct evbuffer *out = evbuffer_new();
        evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                          "text/plain; version=0.0.4");
        evbuffer_add(out, b.data, b.len);
        evhttp_send_reply(req, 200, "OK", out);
        evbuffer_free(out);
    }
    sr_buf_destroy(&b);
}

struct admin_route {
    const char *path, *method;
    void (*fn)(struct sr_node *, struct evhttp_request *);
};

static void status(struct sr_node *n, struct evhttp_request *r) { node_http_json(r, 200, node_admin_status(n)); }
static void members(struct sr_node *n, struct evhttp_request *r) { node_http_json(r, 200, node_admin_members(n)); }
static void ring(struct sr_node *n, struct evhttp_request *r) { node_http_json(r, 200, node_admin_ring(n)); }
static void stats(struct sr_node *n, struct evhttp_request *r) { node_http_json(r, 200, node_admin_stats(n)); }

static const struct admin_route routes[] = {
    {"/admin/status", "GET", status},
    {"/admin/members", "GET", members},
    {"/admin/ring", "GET", ring},
    {"/admin/stats", "GET", stats},
    {"/admin/lookup", "GET", lookup},
    {"/admin/keys", "GET", keys},
    {"/admin/leave", "POST", leave},
    {"/admin/state", "GET", state},
    {"/admin/killswitches", "GET", node_admin_killswitches_get},
    {"/admin/killswitches", "PUT", node_admin_killswitches_put},
    {"/admin/limits", "GET", node_admin_limits_get},
    {"/admin/limits", "PUT", node_admin_limits_put},
    {"/admin/faults", "GET", node_admin_faults_get},
    {"/admin/faults", "POST", node_admin_faults_post},
    {"/admin/gossip-keys", "GET", node_admin_gossip_keys_get},
    {"/admin/gossip-keys", "POST", node_admin_gossip_keys_post},
    {"/admin/tls", "GET", node_admin_tls_get},
    {"/admin/tls/exceptions", "GET", node_admin_tls_exceptions_get},
    {"/admin/tls/exceptions", "POST", node_admin_tls_exceptions_post},
    {"/admin/tls/exceptions", "DELETE", node_admin_tls_exceptions_delete},
    {"/metrics", "GET", metrics},
};

void node_admin_serve(struct sr_node *node, struct evhttp_request *req, const char *path,
                      const char *method)
{
    if (!admin_allowed(node, req)) {
        node->hst.admin_denied++;
        return;
    }
    bool known = false;
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        if (strcmp(routes[i].path, path) != 0)
            continue;
        known = true;
        if (strcmp(routes[i].method, method) == 0) {
            routes[i].fn(node, req);
            return;
        }
    }
    if (known)
        node_http_error(req, 405, "SR_EINVAL", "method not allowed here", 0);
    else
        node_http_error(req, 404, "SR_ENOTFOUND", "no such admin endpoint", 0);
}
