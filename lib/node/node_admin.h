/* JSON views for the admin endpoints (node_admin.c). Each returns a new
 * reference (NULL only when out of memory). */
#ifndef SWIMRING_NODE_ADMIN_H
#define SWIMRING_NODE_ADMIN_H

#include <jansson.h>
#include "node_impl.h"

json_t *node_admin_status(struct sr_node *node);
json_t *node_admin_members(struct sr_node *node);
json_t *node_admin_ring(struct sr_node *node);
/* Protocol counters of the swim core and its UDP driver. */
json_t *node_admin_stats(struct sr_node *node);
/* Owner and replica set of a key (n replicas, 1..16). */
json_t *node_admin_lookup(struct sr_node *node, const char *key, size_t len, unsigned n);
/* Whether this node holds `key` for `service`; *status 200 or 404. */
json_t *node_admin_keys(struct sr_node *node, const char *service, const char *key, size_t len,
                        int *status);
const struct sr_service_def *node_service(const struct sr_node *node, const char *name);
/* Adds forward/limits/peer-agreement figures to a status object. */
void node_admin_status_extra(struct sr_node *node, json_t *status);

struct evhttp_request;
/* GET and PUT /admin/killswitches (node_killswitch.c). */
void node_admin_killswitches_get(struct sr_node *node, struct evhttp_request *req);
void node_admin_killswitches_put(struct sr_node *node, struct evhttp_request *req);
/* Parse a PUT body: one object or an array of them. 0, or SR_EINVAL with a
 * message. Applies nothing unless every entry is valid. */
int node_killswitch_apply_json(struct sr_node *node, const char *text, size_t len, char *err,
                               size_t errlen);

/* GET and POST /admin/faults (node_faults.c). */
void node_admin_faults_get(struct sr_node *node, struct evhttp_request *req);
void node_admin_faults_post(struct sr_node *node, struct evhttp_request *req);
/* GET and PUT /admin/limits, and the "lim/" setting (node_limits.c). */
void node_admin_limits_get(struct sr_node *node, struct evhttp_request *req);
void node_admin_limits_put(struct sr_node *node, struct evhttp_request *req);
void node_limits_setting(struct sr_node *node, const struct node_setting *s);
struct node_ep *node_setting_endpoint(struct sr_node *node, const struct node_setting *s,
                                      size_t prefix_len);
/* Apply a "ks/<service>/<endpoint>" cluster setting here. */
void node_killswitch_setting(struct sr_node *node, const struct node_setting *s);

/* node_gossip.c: the gossip keyring, GET/POST /admin/gossip-keys and its
 * counters in /admin/stats, /admin/status and /metrics. */
int node_gossip_new(struct sr_node *node, int *err, char *msg, size_t msglen);
void node_gossip_delete(struct sr_node *node);
json_t *node_gossip_keys_json(struct sr_node *node);
void node_admin_gossip_keys_get(struct sr_node *node, struct evhttp_request *req);
void node_admin_gossip_keys_post(struct sr_node *node, struct evhttp_request *req);
void node_gossip_stats_json(struct sr_node *node, json_t *stats);
int node_gossip_metrics(struct sr_node *node, struct sr_buf *out);

/* node_tls.c / node_tls_admin.c: GET /admin/tls, GET/POST/DELETE
 * /admin/tls/exceptions, tls_* counters in /admin/stats. */
void node_admin_tls_get(struct sr_node *node, struct evhttp_request *req);
void node_admin_tls_exceptions_get(struct sr_node *node, struct evhttp_request *req);
void node_admin_tls_exceptions_post(struct sr_node *node, struct evhttp_request *req);
void node_admin_tls_exceptions_delete(struct sr_node *node, struct evhttp_request *req);
void node_tls_stats_json(struct sr_node *node, json_t *stats);
/* The "tlsx/<fp>" setting value for an exception: "ALLOW UNTIL". */
struct sr_tls_exception;
int node_tls_setting_value(const struct sr_tls_exception *e, char *out, size_t len);

#endif
