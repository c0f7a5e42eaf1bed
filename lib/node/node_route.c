/* Raw HTTP routes and service metrics (include/swimring/node_route.h): the
 * small door for services whose HTTP shape an endpoint's {key} path cannot
 * express. Kept apart from node_http.c so the endpoint front stays simple. */
#include <stdlib.h>
#include <string.h>
#include "swimring/error.h"
#include "swimring/node_route.h"
#include "node_fwd.h"
#include "node_http.h"

struct node_route {
    size_t nroutes, nmetrics;
    struct {
        char prefix[SR_NODE_ROUTE_PREFIX_MAX];
        size_t len;
        sr_node_route_f fn;
        void *ud;
    } route[SR_NODE_ROUTES_MAX];
    struct {
        sr_node_metrics_f fn;
        void *ud;
    } metrics[SR_NODE_METRICS_MAX];
};

/* Made on first use: nodes without raw routes pay nothing. */
static struct node_route *routes_of(struct sr_node *node)
{
    if (!node->routes)
        node->routes = calloc(1, sizeof(*node->routes));
    return node->routes;
}

int sr_node_add_route(struct sr_node *node, const char *prefix, sr_node_route_f fn, void *ud)
{
    size_t len = prefix ? strlen(prefix) : 0;
    if (!fn || len < 2 || len >= SR_NODE_ROUTE_PREFIX_MAX || prefix[0] != '/' ||
        strncmp(prefix, "/admin/", 7) == 0 || strncmp(prefix, "/metrics", 8) == 0)
        return SR_EINVAL;
    struct node_route *r = routes_of(node);
    if (!r)
        return SR_ENOMEM;
    if (r->nroutes == SR_NODE_ROUTES_MAX)
        return SR_EFULL;
    memcpy(r->route[r->nroutes].prefix, prefix, len + 1);
    r->route[r->nroutes].len = len;
    r->route[r->nroutes].fn = fn;
    r->route[r->nroutes].ud = ud;
    r->nroutes++;
    return 0;
}

bool node_route_dispatch(struct sr_node *node, struct evhttp_request *req, const char *path)
{
    struct node_route *r = node->routes;
    for (size_t i = 0; r && i < r->nroutes; i++)
        if (strncmp(path, r->route[i].prefix, r->route[i].len) == 0) {
            r->route[i].fn(r->route[i].ud, req, path);
            return true;
        }
    return false;
}

int sr_node_add_metrics(struct sr_node *node, sr_node_metrics_f fn, void *ud)
{
    struct node_route *r = fn ? routes_of(node) : NULL;
    if (!fn)
        return SR_EINVAL;
    if (!r)
        return SR_ENOMEM;
    if (r->nmetrics == SR_NODE_METRICS_MAX)
        return SR_EFULL;
    r->metrics[r->nmetrics].fn = fn;
    r->metrics[r->nmetrics].ud = ud;
    r->nmetrics++;
    return 0;
}

int node_route_metrics(struct sr_node *node, struct sr_buf *out)
{
    struct node_route *r = node->routes;
    int rc = 0;
    for (size_t i = 0; r && i < r->nmetrics && rc == 0; i++)
        rc = r->metrics[i].fn(r->metrics[i].ud, out);
    return rc;
}

static const struct node_ep *find_ep(struct sr_node *node, const char *service,
                                     const char *endpoint)
{
    return node_fwd_find(node, service, strlen(service), endpoint, strlen(endpoint));
}

void sr_node_http_serve(struct sr_node *node, struct evhttp_request *req, const char *service,
                        const char *endpoint, const void *key, size_t key_len, const void *body,
                        size_t body_len)
{
    const struct node_ep *ep = find_ep(node, service, endpoint);
    if (!ep) {
        node_http_error(req, 500, "SR_ENOTFOUND", "raw route names no registered endpoint", 0);
        return;
    }
    node_http_serve_body(node, req, ep, key, key_len, body, body_len);
}

int sr_node_http_admit(struct sr_node *node, struct evhttp_request *req, const char *service,
                       const char *endpoint, const void *key, size_t key_len, size_t body_len)
{
    const struct node_ep *ep = find_ep(node, service, endpoint);
    if (!ep)
        return SR_ENOTFOUND;
    return node_guard_admit(node, req, ep, key, key_len, body_len) != 0 ? 1 : 0;
}

void sr_node_http_release(struct sr_node *node, const char *service, const char *endpoint)
{
    const struct node_ep *ep = find_ep(node, service, endpoint);
    if (ep)
        node_guard_release(node, ep);
}

void sr_node_http_error(struct evhttp_request *req, int code, const char *error,
                        const char *message)
{
    node_http_error(req, code, error, message, 0);
}
