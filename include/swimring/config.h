/* Schema-driven YAML configuration (libyaml).
 *
 * Each layer describes its part of the configuration as a section: a name
 * (the top-level YAML key), a table of fields and the struct they fill. The
 * loader takes an array of sections, so lib/core never includes a higher
 * layer. The table is the single place for defaults and documentation
 * (tools/cfgdoc prints docs/configuration.md from it).
 *
 *   node:
 *     name: n1
 *     listen: 127.0.0.1:7946
 *     seeds: [10.0.0.1:7946, 10.0.0.2:7946]
 *     log: {level: info, file: "-"}
 *   swim:
 *     period_ms: 1s
 *
 * Nested keys are joined with dots in field keys ("log.level").
 * Every error message is "FILE:LINE:COLUMN: message" (1-based; FILE is
 * "<string>" for sr_cfg_load_string, "<set>" for sr_cfg_set) and the call
 * returns SR_ECONFIG. ADDR_LIST values live in fixed arrays inside the
 * struct (struct sr_cfg_addr_list), so there is nothing to free. */
#ifndef SWIMRING_CONFIG_H
#define SWIMRING_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include "swimring/export.h"

enum sr_cfg_type {
    SR_CFG_BOOL,        /* bool */
    SR_CFG_INT,         /* int64_t, [min, max] */
    SR_CFG_UINT32,      /* uint32_t, [min, max] */
    SR_CFG_PORT,        /* uint16_t, 1..65535 */
    SR_CFG_DURATION_MS, /* uint32_t ms; "500ms", "2s", "1m" or an integer */
    SR_CFG_DOUBLE,      /* double, [min, max] */
    SR_CFG_STRING,      /* char[size] */
    SR_CFG_ADDR,        /* char[size], "host:port" */
    SR_CFG_ADDR_LIST,   /* struct sr_cfg_addr_list; min = least count if present */
    SR_CFG_ENUM,        /* int index into choices */
};

#define SR_CFG_ADDR_MAX 64     /* "host:port" incl. NUL */
#define SR_CFG_ADDR_LIST_MAX 16

struct sr_cfg_addr_list {
    size_t n;
    char addr[SR_CFG_ADDR_LIST_MAX][SR_CFG_ADDR_MAX];
};

struct sr_cfg_field {
    const char *key;      /* within the section; dots for nesting */
    enum sr_cfg_type type;
    size_t offset;        /* in the section's struct */
    size_t size;          /* bytes at offset */
    int64_t min, max;     /* ranges (DOUBLE: whole numbers) */
    const char *def;      /* default, as YAML text ("" for empty/none) */
    const char *doc;      /* one line for the docs */
    const char *const *choices; /* ENUM: NULL-terminated */
};

struct sr_cfg_section {
    const char *name;
    const struct sr_cfg_field *fields;
    size_t nfields;
    void *base;           /* the struct to fill; may be NULL for docs only */
};

/* Apply every default. Returns 0 or SR_ECONFIG (a bad table). */
SR_API int sr_cfg_defaults(const struct sr_cfg_section *secs, size_t n);
/* Parse YAML and set the fields it names (defaults are NOT applied first). */
SR_API int sr_cfg_load_string(const struct sr_cfg_section *secs, size_t n,
                              const char *text, size_t len, char *err, size_t errlen);
SR_API int sr_cfg_load_file(const struct sr_cfg_section *secs, size_t n,
                            const char *path, char *err, size_t errlen);
/* Command-line override: key "section.field", value as YAML scalar text. */
SR_API int sr_cfg_set(const struct sr_cfg_section *secs, size_t n,
                      const char *key, const char *value, char *err, size_t errlen);
/* Human name of a type ("duration", "address list", ...). */
SR_API const char *sr_cfg_type_name(enum sr_cfg_type t);

/* The "node" section, owned by lib/core. */
enum sr_node_log_level { SR_NODE_LOG_DEBUG, SR_NODE_LOG_INFO, SR_NODE_LOG_WARN, SR_NODE_LOG_ERROR };
/* node.wire: how membership is spoken (docs/ringpop.md). */
enum sr_node_wire { SR_NODE_WIRE_NATIVE, SR_NODE_WIRE_RINGPOP };

struct sr_node_cfg {
    char name[64];
    char listen[SR_CFG_ADDR_MAX];
    char http[SR_CFG_ADDR_MAX];
    struct sr_cfg_addr_list seeds;
    int log_level;        /* enum sr_node_log_level */
    int wire;             /* enum sr_node_wire */
    char log_file[256];
    char services[128];   /* "presence,geo" for ringd; "" = none */
};

/* The section describing `cfg` (cfg may be NULL for docs). */
SR_API struct sr_cfg_section sr_node_cfg_section(struct sr_node_cfg *cfg);
/* Profile: every default from the table. */
SR_API void sr_node_cfg_default(struct sr_node_cfg *cfg);

#endif
