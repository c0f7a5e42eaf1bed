/* /admin/faults: make this node drop or delay its traffic with given
 * members, for chaos tests (off unless admin.faults is true).
 *
 *   POST /admin/faults {"drop": ["host:port", ...], "delay_ms": {"host:port": 50}}
 *
 * replaces the whole fault set ({} clears it). Dropping covers gossip in
 * both directions (datagrams to and from the member), membership full
 * syncs, settings gossip and forwarded requests to it; a request that would
 * be forwarded to a dropped member fails over like an unreachable one.
 * Delay applies to requests forwarded to the member. A partition is a drop
 * set on the nodes of each side naming the other side. */
#include <stdio.h>
#include <string.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include "swimring/error.h"
#include "node_admin.h"
#include "node_http.h"

static int fault_find(const struct node_faults *f, const char *addr)
{
    for (size_t i = 0; i < f->n; i++)
        if (strcmp(f->addr[i], addr) == 0)
            return (int)i;
    return -1;
}

bool node_fault_drop(const struct sr_node *node, const char *addr)
{
    int i = node->faults.n ? fault_find(&node->faults, addr) : -1;
    return i >= 0 && node->faults.drop[i];
}

uint32_t node_fault_delay_ms(const struct sr_node *node, const char *addr)
{
    int i = node->faults.n ? fault_find(&node->faults, addr) : -1;
    return i >= 0 ? node->faults.delay_ms[i] : 0;
}

bool node_fault_filter(void *ud, const char *peer, bool out)
{
    (void)out;
    return node_fault_drop(ud, peer);
}

static int fault_slot(struct node_faults *f, const char *addr, char *err, size_t errlen)
{
    int i = fault_find(f, addr);
    if (i >= 0)
        return i;
    if (f->n == NODE_FAULTS_MAX || strlen(addr) >= SR_SWIM_ADDR_MAX || !strchr(addr, ':')) {
        snprintf(err, errlen, "bad or too many addresses (at most %d host:port)", NODE_FAULTS_MAX);
        return SR_EINVAL;
    }
    i = (int)f->n++;
    snprintf(f->addr[i], SR_SWIM_ADDR_MAX, "%s", addr);
    f->drop[i] = false;
    f->delay_ms[i] = 0;
    return i;
}

int node_faults_parse(const char *text, size_t len, struct node_faults *out, char *err,
                      size_t errlen)
{
    json_error_t je;
    json_t *drop = NULL, *delay = NULL, *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    int rc = 0;
    memset(out, 0, sizeof(*out));
    if (!root) {
        snprintf(err, errlen, "bad JSON at line %d column %d: %s", je.line, je.column, je.text);
        return SR_EINVAL;
    }
    if (json_unpack_ex(root, &je, JSON_STRICT, "{s?o, s?o}", "drop", &drop, "delay_ms", &delay) != 0 ||
        (drop && !json_is_array(drop)) || (delay && !json_is_object(delay))) {
        snprintf(err, errlen, "want {\"drop\": [addresses], \"delay_ms\": {address: ms}}");
        rc = SR_EINVAL;
    }
    size_t i;
    json_t *v;
    const char *k;
    json_array_foreach(drop, i, v) {
        int s = rc == 0 && json_is_string(v) ? fault_slot(out, json_string_value(v), err, errlen)
                                             : SR_EINVAL;
        if (s < 0) {
            rc = SR_EINVAL;
            break;
        }
        out->drop[s] = true;
    }
    json_object_foreach(delay, k, v) {
        json_int_t ms = json_is_integer(v) ? json_integer_value(v) : -1;
        int s = rc == 0 && ms >= 0 && ms <= 60000 ? fault_slot(out, k, err, errlen) : SR_EINVAL;
        if (s < 0) {
            if (rc == 0)
                snprintf(err, errlen, "delay_ms values are 0..60000");
            rc = SR_EINVAL;
            break;
        }
        out->delay_ms[s] = (uint32_t)ms;
    }
    json_decref(root);
    return rc;
}

void node_admin_faults_get(struct sr_node *node, struct evhttp_request *req)
{
    json_t *drop = json_array(), *delay = json_object();
    for (size_t i = 0; i < node->faults.n; i++) {
        if (node->faults.drop[i])
            json_array_append_new(drop, json_string(node->faults.addr[i]));
        if (node->faults.delay_ms[i])
            json_object_set_new(delay, node->faults.addr[i], json_integer(node->faults.delay_ms[i]));
    }
    node_http_json(req, 200, json_pack("{s:b, s:o, s:o}", "enabled", node->cfg.admin.faults,
                                       "drop", drop, "delay_ms", delay));
}

void node_admin_faults_post(struct sr_node *node, struct evhttp_request *req)
{
    if (!node->cfg.admin.faults) {
        node_http_error(req, 403, "SR_EAUTH", "fault injection is off (admin.faults: false)", 0);
        return;
    }
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    const char *body = len ? (const char *)evbuffer_pullup(in, -1) : "{}";
    struct node_faults f;
    char err[256];
    if (node_faults_parse(body, len ? len : 2, &f, err, sizeof err) < 0) {
        node_http_error(req, 400, "SR_EINVAL", err, 0);
        return;
    }
    node->faults = f;
    SR_WARN(node->log, "faults.set", "members=%zu", f.n);
    node_admin_faults_get(node, req);
}
