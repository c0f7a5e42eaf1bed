/* HTTP front internals shared by node_http.c, node_admin_http.c and the
 * guard glue. */
#ifndef SWIMRING_NODE_HTTP_H
#define SWIMRING_NODE_HTTP_H

#include <jansson.h>
#include "node_impl.h"

struct evhttp_request;

/* Reply with JSON (steals the reference) / the standard error body
 * {"error": NAME, "message": TEXT}, with Retry-After when retry_after_s > 0. */
void node_http_json(struct evhttp_request *req, int code, json_t *j);
void node_http_error(struct evhttp_request *req, int code, const char *err, const char *msg,
                     unsigned retry_after_s);
/* Route one request to an endpoint (after matching). */
void node_http_serve_endpoint(struct sr_node *node, struct evhttp_request *req,
                              const struct node_ep *ep, const char *key, size_t klen);
/* The same with a body other than the request's (raw routes, node_route.c). */
void node_http_serve_body(struct sr_node *node, struct evhttp_request *req,
                          const struct node_ep *ep, const char *key, size_t klen,
                          const uint8_t *body, size_t blen);
uint32_t node_http_timeout_ms(struct evhttp_request *req);
/* Raw routes (node_route.c): true if one took the request. */
bool node_route_dispatch(struct sr_node *node, struct evhttp_request *req, const char *path);
/* Extra /metrics families from services (node_route.c). */
int node_route_metrics(struct sr_node *node, struct sr_buf *out);
/* /admin/... and /metrics. */
void node_admin_serve(struct sr_node *node, struct evhttp_request *req, const char *path,
                      const char *method);
/* Limits and kill switches at admission: 0 = go on, else already answered. */
int node_guard_admit(struct sr_node *node, struct evhttp_request *req, const struct node_ep *ep,
                     const char *key, size_t klen, size_t body_len);

#endif
