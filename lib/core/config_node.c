/* The "node" section: every node default lives in this table. */
#include <stddef.h>
#include "swimring/config.h"

#define F(k, t, m, lo, hi, d, doc) \
    {k, t, offsetof(struct sr_node_cfg, m), sizeof(((struct sr_node_cfg *)0)->m), lo, hi, d, doc, NULL}

static const char *const log_levels[] = {"debug", "info", "warn", "error", NULL};
static const char *const wires[] = {"native", "ringpop", NULL};

static const struct sr_cfg_field node_fields[] = {
    F("name", SR_CFG_STRING, name, 0, 0, "", "node name (empty: use the listen address)"),
    F("listen", SR_CFG_ADDR, listen, 0, 0, "127.0.0.1:7946", "gossip address host:port (UDP and TCP)"),
    F("http", SR_CFG_ADDR, http, 0, 0, "127.0.0.1:8080", "HTTP front and admin address host:port"),
    F("seeds", SR_CFG_ADDR_LIST, seeds, 1, SR_CFG_ADDR_LIST_MAX, "",
      "addresses to join through; optional, but if given at least one"),
    {"log.level", SR_CFG_ENUM, offsetof(struct sr_node_cfg, log_level), sizeof(int), 0, 0, "info",
     "least severe level logged", log_levels},
    {"wire", SR_CFG_ENUM, offsetof(struct sr_node_cfg, wire), sizeof(int), 0, 0, "native",
     "membership wire: native (msgpack over UDP) or ringpop (TChannel + JSON over TCP, "
     "joins ringpop-go/ringpop-node clusters; docs/ringpop.md)", wires},
    F("log.file", SR_CFG_STRING, log_file, 0, 0, "-", "log file path (\"-\" = stderr)"),
    F("services", SR_CFG_STRING, services, 0, 0, "",
      "services a multi-service daemon (ringd) runs, comma-separated; --services overrides"),
};

struct sr_cfg_section sr_node_cfg_section(struct sr_node_cfg *cfg)
{
    return (struct sr_cfg_section){"node", node_fields, sizeof node_fields / sizeof node_fields[0], cfg};
}

void sr_node_cfg_default(struct sr_node_cfg *cfg)
{
    struct sr_cfg_section s = sr_node_cfg_section(cfg);
    (void)sr_cfg_defaults(&s, 1);
}
