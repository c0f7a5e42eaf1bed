/* Mutual TLS on a node's RPC port: the configuration rules (and the one
 * for the admin token), start, reload on SIGHUP, certificate exceptions as
 * cluster settings, /metrics and /admin/stats figures. The TLS itself is
 * lib/forward/conn_tls.c; the admin endpoints are node_tls_admin.c.
 *
 * Every node-to-node exchange rides on the one RPC object (forwarded
 * requests, membership full sync, handoff, replication, settings), so with
 * tls.enabled all of it is mutually authenticated.
 *
 * Exceptions set at run time are cluster settings "tlsx/<fingerprint>" =
 * "ALLOW UNTIL" (node_settings.c spreads them like kill switches), so an
 * operator excepts a partner's expired certificate once, not per node. They
 * arrive over that mutually authenticated RPC. Those of tls.exceptions are
 * this node's own; a cluster setting for the same fingerprint replaces it. */
#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include "swimring/buf.h"
#include "swimring/error.h"
#include "swimring/tls.h"
#include "node_admin.h"

_Static_assert(SR_NODE_TLS_PATH_MAX == SR_TLS_PATH_MAX, "one path limit for config and TLS");

/* ---- configuration --------------------------------------------------------- */

/* Is the host part of "host:port" a loopback address? An empty host binds
 * every interface, so it is not. */
static bool host_is_loopback(const char *addr)
{
    char host[SR_CFG_ADDR_MAX];
    const char *colon = strrchr(addr, ':');
    size_t n = colon ? (size_t)(colon - addr) : strlen(addr);
    if (n >= 2 && addr[0] == '[' && addr[n - 1] == ']') {
        addr++;
        n -= 2;
    }
    if (n == 0 || n >= sizeof host)
        return false;
    memcpy(host, addr, n);
    host[n] = '\0';
    struct in_addr v4;
    struct in6_addr v6;
    if (strcmp(host, "localhost") == 0)
        return true;
    if (inet_pton(AF_INET, host, &v4) == 1)
        return (ntohl(v4.s_addr) >> 24) == 127;
    return inet_pton(AF_INET6, host, &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6);
}

int node_tls_check_config(const struct sr_node_config *cfg, char *msg, size_t msglen)
{
    if (cfg->admin.listen[0] && !cfg->admin.token[0] && !host_is_loopback(cfg->admin.listen)) {
        snprintf(msg, msglen,
                 "admin.listen %s is not a loopback address: set admin.token (the admin API "
                 "can make the node leave, switch endpoints off and accept certificates)",
                 cfg->admin.listen);
        return SR_ECONFIG;
    }
    if (cfg->tls.enabled && (!cfg->tls.cert_file[0] || !cfg->tls.key_file[0] ||
                             !cfg->tls.ca_file[0])) {
        snprintf(msg, msglen, "tls.enabled needs tls.cert_file, tls.key_file and tls.ca_file");
        return SR_ECONFIG;
    }
    struct sr_tls_exception e[SR_TLS_EXCEPTIONS_MAX];
    char why[200];
    if (sr_tls_exceptions_parse(cfg->tls.exceptions, -1, e, SR_TLS_EXCEPTIONS_MAX, why,
                                sizeof why) < 0) {
        snprintf(msg, msglen, "tls.exceptions: %s", why);
        return SR_ECONFIG;
    }
    return 0;
}

/* ---- life ------------------------------------------------------------------- */

static void log_exception(struct sr_node *node, const char *event, const struct sr_tls_exception *e)
{
    char fp[SR_TLS_FP_HEX], allow[48], until[32];
    SR_WARN(node->log, event, "fingerprint=%s allow=%s until=%s origin=%s",
            sr_tls_fp_format(e->fp, fp), sr_tls_allow_format(e->allow, allow, sizeof allow),
            sr_time_format_utc((sr_time_us)e->until_ms * SR_US_PER_MS, until, sizeof until),
            e->origin);
}

/* tls.exceptions: one whose time has passed is skipped (loudly), so a
 * restart months later does not fail on an old entry. */
static void apply_config_exceptions(struct sr_node *node)
{
    struct sr_tls_exception e[SR_TLS_EXCEPTIONS_MAX];
    int n = sr_tls_exceptions_parse(node->cfg.tls.exceptions, -1, e, SR_TLS_EXCEPTIONS_MAX, NULL, 0);
    for (int i = 0; i < n; i++) {
        snprintf(e[i].origin, sizeof e[i].origin, "config");
        int rc = sr_tls_exception_set(node->tls, &e[i]);
        log_exception(node, rc == 0 ? "tls.exception_set" : "tls.exception_skipped", &e[i]);
    }
}

int node_tls_start(struct sr_node *node, char *msg, size_t msglen)
{
    const struct sr_node_config *c = &node->cfg;
    if (!c->tls.enabled)
        return 0;
    struct sr_tls_cfg tc = {.cert_file = c->tls.cert_file, .key_file = c->tls.key_file,
                            .ca_file = c->tls.ca_file};
    node->tls = sr_tls_new(&tc, node->log, msg, msglen);
    if (!node->tls)
        return SR_ECONFIG;
    apply_config_exceptions(node);
    int rc = sr_rpc_use_tls(node->rpc, node->tls);
    if (rc < 0)
        snprintf(msg, msglen, "tls: cannot use it on the RPC object: %s", sr_strerror(rc));
    return rc;
}

void node_tls_delete(struct sr_node *node)
{
    sr_tls_unref(node->tls);
    node->tls = NULL;
}

int sr_node_reload(struct sr_node *node, char *msg, size_t msglen)
{
    if (!node->tls) {
        SR_INFO(node->log, "node.reload", "tls=off");
        return 0;
    }
    return sr_tls_reload(node->tls, msg, msglen);
}

/* ---- cluster settings ---------------------------------------------------------- */

int node_tls_setting_value(const struct sr_tls_exception *e, char *out, size_t len)
{
    char allow[48], until[32];
    sr_time_format_utc((sr_time_us)e->until_ms * SR_US_PER_MS, until, sizeof until);
    int n = snprintf(out, len, "%s %s", sr_tls_allow_format(e->allow, allow, sizeof allow), until);
    return n > 0 && (size_t)n < len ? 0 : SR_ETOOBIG;
}

/* A "tlsx/<fp>" setting, set here or learned from a peer (hostile text:
 * parsed like the config, refused with a warning). */
void node_tls_setting(struct sr_node *node, const struct node_setting *s)
{
    struct sr_tls_exception e;
    char text[NODE_SETTING_KEY_MAX + NODE_SETTING_VALUE_MAX + 2];
    if (!node->tls)
        return; /* kept in the settings table; applies only where TLS is on */
    if (sr_tls_fp_parse(s->key + 5, e.fp) < 0) {
        SR_WARN(node->log, "tls.bad_setting", "key=%s reason=\"not a fingerprint\"", s->key);
        return;
    }
    if (s->deleted) {
        if (sr_tls_exception_remove(node->tls, e.fp) == 0) {
            char fp[SR_TLS_FP_HEX];
            SR_WARN(node->log, "tls.exception_removed", "fingerprint=%s origin=%s",
                    sr_tls_fp_format(e.fp, fp), s->origin);
        }
        return;
    }
    char why[160];
    snprintf(text, sizeof text, "%s %s", s->key + 5, s->value);
    if (sr_tls_exception_parse(text, strlen(text), -1, &e, why, sizeof why) < 0) {
        SR_WARN(node->log, "tls.bad_setting", "key=%s reason=\"%s\"", s->key, why);
        return;
    }
    snprintf(e.origin, sizeof e.origin, "%s", s->origin);
    int rc = sr_tls_exception_set(node->tls, &e);
    if (rc == SR_EINVAL) /* its time has passed: whatever we held for it ends too */
        (void)sr_tls_exception_remove(node->tls, e.fp);
    log_exception(node, rc == 0 ? "tls.exception_set" : "tls.exception_skipped", &e);
}

/* ---- figures ----------------------------------------------------------------------- */

static int family(struct sr_buf *b, const char *name, const char *type, const char *help)
{
    return sr_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

int node_tls_metrics(struct sr_node *node, struct sr_buf *b)
{
    int rc = family(b, "swimring_tls_enabled", "gauge", "1 if the RPC port speaks mutual TLS.");
    rc |= sr_buf_printf(b, "swimring_tls_enabled %d\n", node->tls != NULL);
    if (rc || !node->tls)
        return rc ? SR_ENOMEM : 0;
    struct sr_tls_stats s;
    struct sr_tls_info info;
    struct sr_tls_exception ex[SR_TLS_EXCEPTIONS_MAX];
    sr_tls_stats_get(node->tls, &s);
    sr_tls_info_get(node->tls, &info);
    size_t live = sr_tls_exception_list(node->tls, ex, SR_TLS_EXCEPTIONS_MAX);
    rc |= family(b, "swimring_tls_handshakes_total", "counter",
                 "TLS handshakes completed, and connections ended by a fatal alert.");
    rc |= sr_buf_printf(b, "swimring_tls_handshakes_total{result=\"ok\"} %" PRIu64 "\n"
                           "swimring_tls_handshakes_total{result=\"failed\"} %" PRIu64 "\n",
                        s.handshakes, s.handshake_failures);
    rc |= family(b, "swimring_tls_peer_refused_total", "counter",
                 "Peer certificates refused, by problem.");
    rc |= sr_buf_printf(b, "swimring_tls_peer_refused_total{reason=\"untrusted\"} %" PRIu64 "\n"
                           "swimring_tls_peer_refused_total{reason=\"expired\"} %" PRIu64 "\n"
                           "swimring_tls_peer_refused_total{reason=\"weak\"} %" PRIu64 "\n",
                        s.refused_untrusted, s.refused_expired, s.refused_weak);
    rc |= family(b, "swimring_tls_exceptions_used_total", "counter",
                 "Handshakes accepted only thanks to a certificate exception.");
    rc |= sr_buf_printf(b, "swimring_tls_exceptions_used_total %" PRIu64 "\n", s.exceptions_used);
    rc |= family(b, "swimring_tls_exceptions", "gauge", "Certificate exceptions in force.");
    rc |= sr_buf_printf(b, "swimring_tls_exceptions %zu\n", live);
    rc |= family(b, "swimring_tls_reloads_total", "counter",
                 "Reloads of the TLS files (SIGHUP), taken or refused.");
    rc |= sr_buf_printf(b, "swimring_tls_reloads_total{result=\"ok\"} %" PRIu64 "\n"
                           "swimring_tls_reloads_total{result=\"failed\"} %" PRIu64 "\n",
                        s.reloads, s.reload_failures);
    rc |= family(b, "swimring_tls_cert_not_after_seconds", "gauge",
                 "When this node's certificate expires, Unix seconds.");
    rc |= sr_buf_printf(b, "swimring_tls_cert_not_after_seconds %" PRId64 "\n",
                        info.not_after_ms / 1000);
    return rc ? SR_ENOMEM : 0;
}

void node_tls_stats_json(struct sr_node *node, json_t *j)
{
    if (!node->tls)
        return;
    struct sr_tls_stats s;
    sr_tls_stats_get(node->tls, &s);
    json_object_set_new(j, "tls_handshakes", json_integer((json_int_t)s.handshakes));
    json_object_set_new(j, "tls_handshake_failures", json_integer((json_int_t)s.handshake_failures));
    json_object_set_new(j, "tls_refused_untrusted", json_integer((json_int_t)s.refused_untrusted));
    json_object_set_new(j, "tls_refused_expired", json_integer((json_int_t)s.refused_expired));
    json_object_set_new(j, "tls_refused_weak", json_integer((json_int_t)s.refused_weak));
    json_object_set_new(j, "tls_exceptions_used", json_integer((json_int_t)s.exceptions_used));
    json_object_set_new(j, "tls_reloads", json_integer((json_int_t)s.reloads));
    json_object_set_new(j, "tls_reload_failures", json_integer((json_int_t)s.reload_failures));
}
