/* Raw HTTP routes and extra metrics: for services whose HTTP shape does not
 * fit an endpoint's one-{key} path (several path parameters, a route with no
 * key, a streaming answer such as Server-Sent Events).
 *
 * A raw route gets the evhttp request itself. It usually parses the path,
 * checks the input, builds an RPC body and hands the request back to the
 * node with sr_node_http_serve(), which then does exactly what an
 * endpoint's own {key} route does (limits, kill switch, Idempotency-Key,
 * routing to the owner, status mapping, X-Served-By). A route that answers
 * by itself (a fan-out, a stream) uses libevent's evhttp calls directly.
 *
 *   static void on_http(void *ud, struct evhttp_request *req, const char *path) {...}
 *   sr_node_add_route(node, "/v1/presence", on_http, svc);
 *   sr_node_add_metrics(node, write_my_counters, svc);
 *
 * CALLBACK CONTRACT: fn is called on the loop thread once per request whose
 * path starts with `prefix` and matched no endpoint route; it must answer the
 * request exactly once (now or later, as evhttp requires). A metrics
 * callback appends whole Prometheus families (HELP, TYPE, samples) to out
 * and returns 0 or an SR_E* code (then /metrics answers 500). */
#ifndef SWIMRING_NODE_ROUTE_H
#define SWIMRING_NODE_ROUTE_H

#include <stddef.h>
#include "swimring/buf.h"
#include "swimring/export.h"

struct sr_node;
struct evhttp_request;

#define SR_NODE_ROUTES_MAX 8
#define SR_NODE_ROUTE_PREFIX_MAX 64
#define SR_NODE_METRICS_MAX 8

typedef void (*sr_node_route_f)(void *ud, struct evhttp_request *req, const char *path);
typedef int (*sr_node_metrics_f)(void *ud, struct sr_buf *out);

/* Send requests under `prefix` (any method; "/admin/" and "/metrics" are
 * reserved) to fn. Routes are tried in the order they were added, after
 * the endpoints' own routes. SR_EINVAL, SR_EFULL. */
SR_API int sr_node_add_route(struct sr_node *node, const char *prefix, sr_node_route_f fn,
                             void *ud);

/* Serve `req` as a request to `service`/`endpoint` for `key` with `body`
 * (copied; the request's own body is ignored), exactly as that endpoint's
 * HTTP route would. Answers req itself, also on error. */
SR_API void sr_node_http_serve(struct sr_node *node, struct evhttp_request *req,
                               const char *service, const char *endpoint, const void *key,
                               size_t key_len, const void *body, size_t body_len);

/* Admit a request a raw route answers itself through `service`/`endpoint`'s
 * limits and kill switch: 0 = go on, and call sr_node_http_release() once
 * when it is answered (or the client went away); 1 = already answered
 * (413/429/503, or the kill switch's answer); SR_ENOTFOUND = no such
 * endpoint (nothing answered). */
SR_API int sr_node_http_admit(struct sr_node *node, struct evhttp_request *req,
                              const char *service, const char *endpoint, const void *key,
                              size_t key_len, size_t body_len);
SR_API void sr_node_http_release(struct sr_node *node, const char *service, const char *endpoint);

/* The node's standard error answer: HTTP `code` with the JSON body
 * {"error": error, "message": message}. */
SR_API void sr_node_http_error(struct evhttp_request *req, int code, const char *error,
                               const char *message);

/* Append fn's families to every /metrics answer. SR_EFULL. */
SR_API int sr_node_add_metrics(struct sr_node *node, sr_node_metrics_f fn, void *ud);

#endif
