/* Cluster settings spread by gossip (node_settings.c). */
#ifndef SWIMRING_NODE_SETTINGS_H
#define SWIMRING_NODE_SETTINGS_H

#include "node_impl.h"

int node_settings_start(struct sr_node *node);
void node_settings_stop(struct sr_node *node);
/* Set (value NULL: delete) with a version above the current one, and push
 * it out at once. SR_ETOOBIG, SR_EFULL. */
int node_setting_set(struct sr_node *node, const char *key, const char *value);
const struct node_setting *node_setting_get(struct sr_node *node, const char *key);
/* Merge a peer's encoded settings (hostile input). */
int node_settings_merge(struct sr_node *node, const void *data, size_t len);
/* A setting changed (set here or learned): the node applies it. */
void node_settings_changed(struct sr_node *node, const struct node_setting *s);

#endif
