/* Per-endpoint limits changed at run time: GET/PUT /admin/limits.
 *
 *   PUT {"service":"kv","endpoint":"get","rate_per_s":100,"burst":200,
 *        "max_body":65536,"max_inflight":50}          (any subset; 0 = unlimited)
 *
 * Like kill switches, a PUT on any node becomes the cluster setting
 * "lim/<service>/<endpoint>" = "rate_per_s=R,burst=B,max_body=M,max_inflight=I"
 * (every field, the current value for those not given), gossiped to every
 * node and applied there. Endpoints start from the "limits" section. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include "swimring/error.h"
#include "node_admin.h"
#include "node_fwd.h"
#include "node_http.h"
#include "node_settings.h"

static json_t *limits_json(const struct node_ep *ep)
{
    return json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:I}", "service", ep->svc->name, "endpoint",
                     ep->def->name, "rate_per_s", (json_int_t)ep->rate_per_s, "burst",
                     (json_int_t)ep->burst, "max_body", (json_int_t)ep->max_body, "max_inflight",
                     (json_int_t)ep->max_inflight, "version", (json_int_t)ep->limits_version);
}

void node_admin_limits_get(struct sr_node *node, struct evhttp_request *req)
{
    json_t *a = json_array();
    for (size_t i = 0; i < node->nep; i++)
        json_array_append_new(a, limits_json(&node->ep[i]));
    node_http_json(req, 200, json_pack("{s:o}", "limits", a));
}

static int limit_field(json_t *o, const char *k, uint32_t cur, uint32_t *out, char *err,
                       size_t errlen)
{
    json_t *v = json_object_get(o, k);
    if (!v) {
        *out = cur;
        return 0;
    }
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 1000000000) {
        snprintf(err, errlen, "%s: an integer 0..1000000000", k);
        return SR_EINVAL;
    }
    *out = (uint32_t)json_integer_value(v);
    return 0;
}

void node_admin_limits_put(struct sr_node *node, struct evhttp_request *req)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    const char *body = len ? (const char *)evbuffer_pullup(in, -1) : "";
    char err[256] = "", key[NODE_SETTING_KEY_MAX], val[NODE_SETTING_VALUE_MAX];
    json_error_t je;
    json_t *o = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
    const char *svc = NULL, *epn = NULL;
    uint32_t rate, burst, max_body, max_inflight;
    int rc = SR_EINVAL;
    if (!o) {
        snprintf(err, sizeof err, "bad JSON: %s", je.text);
    } else if (json_unpack_ex(o, &je, 0, "{s:s, s:s}", "service", &svc, "endpoint", &epn) != 0) {
        snprintf(err, sizeof err, "want {\"service\",\"endpoint\", limits...}");
    } else {
        const struct node_ep *ep = node_fwd_find(node, svc, strlen(svc), epn, strlen(epn));
        const char *k;
        json_t *v;
        rc = ep ? 0 : SR_EINVAL;
        if (!ep)
            snprintf(err, sizeof err, "no endpoint %s/%s", svc, epn);
        json_object_foreach(o, k, v)
            if (rc == 0 && strcmp(k, "service") && strcmp(k, "endpoint") && strcmp(k, "rate_per_s") &&
                strcmp(k, "burst") && strcmp(k, "max_body") && strcmp(k, "max_inflight")) {
                snprintf(err, sizeof err, "unknown field '%s'", k);
                rc = SR_EINVAL;
            }
        if (rc == 0 && (limit_field(o, "rate_per_s", ep->rate_per_s, &rate, err, sizeof err) ||
                        limit_field(o, "burst", ep->burst, &burst, err, sizeof err) ||
                        limit_field(o, "max_body", ep->max_body, &max_body, err, sizeof err) ||
                        limit_field(o, "max_inflight", ep->max_inflight, &max_inflight, err, sizeof err)))
            rc = SR_EINVAL;
        if (rc == 0) {
            snprintf(key, sizeof key, "lim/%s/%s", svc, epn);
            snprintf(val, sizeof val, "rate_per_s=%u,burst=%u,max_body=%u,max_inflight=%u", rate,
                     burst, max_body, max_inflight);
            if ((rc = node_setting_set(node, key, val)) < 0)
                snprintf(err, sizeof err, "cannot store %s: %s", key, sr_strerror(rc));
        }
    }
    json_decref(o);
    if (rc < 0)
        node_http_error(req, 400, "SR_EINVAL", err, 0);
    else
        node_admin_limits_get(node, req);
}

/* Apply a "lim/<service>/<endpoint>" setting here, if hosted. */
void node_limits_setting(struct sr_node *node, const struct node_setting *s)
{
    struct node_ep *ep = node_setting_endpoint(node, s, 4);
    if (!ep)
        return;
    unsigned r, b, m, i;
    if (s->deleted) { /* back to the configured defaults */
        r = node->cfg.limits.rate_per_s, b = node->cfg.limits.burst;
        m = node->cfg.limits.max_body, i = node->cfg.limits.max_inflight;
    } else if (sscanf(s->value, "rate_per_s=%u,burst=%u,max_body=%u,max_inflight=%u", &r, &b, &m,
                      &i) != 4) {
        SR_WARN(node->log, "limits.bad_setting", "key=%s value=\"%s\"", s->key, s->value);
        return;
    }
    ep->rate_per_s = r, ep->burst = b, ep->max_body = m, ep->max_inflight = i;
    ep->limits_version = s->version;
    SR_WARN(node->log, "limits.set", "endpoint=%s/%s %s version=%" PRIu64, ep->svc->name,
            ep->def->name, s->value, s->version);
}
