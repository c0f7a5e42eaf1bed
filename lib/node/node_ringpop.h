/* node.wire: ringpop (node_ringpop.c; docs/ringpop.md). */
#ifndef SWIMRING_NODE_RINGPOP_H
#define SWIMRING_NODE_RINGPOP_H

#include <jansson.h>
#include "node_impl.h"

struct node_call;

/* SR_ECONFIG with msg for combinations the ringpop wire cannot carry; 0
 * for the native wire. */
int node_ringpop_check_config(const struct sr_node_config *cfg, char *msg, size_t msglen);
/* Membership through lib/ringpop on node.listen (after the RPC exists: it
 * adopts our RPC connections from the shared port). */
int node_ringpop_start(struct sr_node *node, char *msg, size_t msglen);
void node_ringpop_delete(struct sr_node *node);
/* Forward c to owner with /proxy/req when owner is not known to be ours
 * and the endpoint has an HTTP route; false: use the RPC path. */
bool node_ringpop_forward(struct node_call *c, const char *owner);
/* c completes: a /proxy/req still out will find no call. */
void node_ringpop_call_done(struct node_call *c);
/* "ringpop": {...} counters into an admin stats object. */
void node_ringpop_stats_json(struct sr_node *node, json_t *j);

#endif
