/* testkit internals shared by testkit.c and netns.c. */
#ifndef SR_TK_INT_H
#define SR_TK_INT_H

#include <stdbool.h>
#include <stddef.h>
#include "swimring/testkit.h"

/* The admin token every testkit client sends (SR_TK_ADMIN_TOKEN_ENV), ""
 * if none; with `make`, one is made and put in the environment when unset
 * (nodes whose admin listens beyond loopback need one). NULL if that fails. */
const char *tk_admin_token(bool make);

/* Group of node i in a partition spec "0,1|2,3": its index, -1 if not
 * named, -2 if the spec is malformed. */
int tk_group_of(const char *spec, size_t i);

/* Netns mode: make node i's namespace (and, first time, the switch and the
 * host link) and fill its addresses; ports 0 = the defaults. 0 or -1. */
int tk_net_node(struct sr_tk_cluster *h, size_t i, int gossip_port, int http_port);
/* In a forked child: move into namespace `ns`. 0 or -1 (errno set). */
int tk_net_enter(const char *ns);
/* nftables partition / heal in every node namespace. 0 or -1. */
int tk_net_partition(struct sr_tk_cluster *h, const char *spec);
int tk_net_heal(struct sr_tk_cluster *h);
/* Delete every namespace and the host link this cluster made. */
void tk_net_down(struct sr_tk_cluster *h);

#endif
