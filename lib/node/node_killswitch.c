/* Kill switches: GET/PUT /admin/killswitches. A switch is set per
 * endpoint: off, drop (answer success, discard), reject (503) or log
 * (append the request to a file, answer 202). A PUT on any node becomes
 * the cluster setting "ks/<service>/<endpoint>", which gossip carries to
 * every node (node_settings.c); each node applies it when it learns it. */
#include <stdio.h>
#include <string.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include "swimring/error.h"
#include "node_admin.h"
#include "node_fwd.h"
#include "node_http.h"
#include "node_settings.h"

static int kill_parse(const char *s, enum node_kill *out)
{
    for (int k = NODE_KILL_OFF; k <= NODE_KILL_LOG; k++)
        if (strcmp(s, node_kill_name((enum node_kill)k)) == 0) {
            *out = (enum node_kill)k;
            return 0;
        }
    return SR_EINVAL;
}

struct ks_change {
    struct node_ep *ep;
    enum node_kill mode;
    const char *file;
};

static int ks_check(struct sr_node *node, json_t *o, struct ks_change *ch, char *err, size_t len)
{
    const char *svc = NULL, *epn = NULL, *mode = NULL, *file = NULL;
    json_error_t je;
    if (json_unpack_ex(o, &je, JSON_STRICT, "{s:s, s:s, s:s, s?:s}", "service", &svc,
                       "endpoint", &epn, "mode", &mode, "file", &file) != 0) {
        snprintf(err, len, "each entry is {\"service\",\"endpoint\",\"mode\"[,\"file\"]}: %s", je.text);
        return SR_EINVAL;
    }
    const struct node_ep *ep = node_fwd_find(node, svc, strlen(svc), epn, strlen(epn));
    if (!ep) {
        snprintf(err, len, "no endpoint %s/%s", svc, epn);
        return SR_EINVAL;
    }
    if (kill_parse(mode, &ch->mode) < 0) {
        snprintf(err, len, "mode '%s': one of off, drop, reject, log", mode);
        return SR_EINVAL;
    }
    if ((ch->mode == NODE_KILL_LOG) != (file != NULL) ||
        (file && (file[0] != '/' || strlen(file) >= sizeof(ep->kill_file)))) {
        snprintf(err, len, "mode log needs \"file\" (an absolute path), other modes none");
        return SR_EINVAL;
    }
    ch->ep = &node->ep[ep - node->ep];
    ch->file = file;
    return 0;
}

#define KS_BATCH_MAX 64

int node_killswitch_apply_json(struct sr_node *node, const char *text, size_t len, char *err,
                               size_t errlen)
{
    json_error_t je;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        snprintf(err, errlen, "bad JSON at line %d column %d: %s", je.line, je.column, je.text);
        return SR_EINVAL;
    }
    struct ks_change ch[KS_BATCH_MAX];
    size_t n = json_is_array(root) ? json_array_size(root) : 1;
    int rc = 0;
    if (n == 0 || n > KS_BATCH_MAX) {
        snprintf(err, errlen, "1..%d entries", KS_BATCH_MAX);
        rc = SR_EINVAL;
    }
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = ks_check(node, json_is_array(root) ? json_array_get(root, i) : root, &ch[i], err,
                      errlen);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        char key[NODE_SETTING_KEY_MAX], val[NODE_SETTING_VALUE_MAX];
        snprintf(key, sizeof key, "ks/%s/%s", ch[i].ep->svc->name, ch[i].ep->def->name);
        snprintf(val, sizeof val, "%s%s%s", node_kill_name(ch[i].mode), ch[i].file ? ":" : "",
                 ch[i].file ? ch[i].file : "");
        if ((rc = node_setting_set(node, key, val)) < 0)
            snprintf(err, errlen, "cannot store %s: %s", key, sr_strerror(rc));
    }
    json_decref(root);
    return rc;
}

void node_admin_killswitches_get(struct sr_node *node, struct evhttp_request *req)
{
    json_t *a = json_array();
    for (size_t i = 0; i < node->nep; i++) {
        const struct node_ep *ep = &node->ep[i];
        json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:s, s:I}", "service", ep->svc->name,
                                           "endpoint", ep->def->name, "mode",
                                           node_kill_name(ep->kill), "file", ep->kill_file,
                                           "version", (json_int_t)ep->kill_version));
    }
    node_http_json(req, 200, json_pack("{s:o}", "killswitches", a));
}

void node_admin_killswitches_put(struct sr_node *node, struct evhttp_request *req)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    const char *body = len ? (const char *)evbuffer_pullup(in, -1) : "";
    char err[256];
    if (node_killswitch_apply_json(node, body, len, err, sizeof err) < 0) {
        node_http_error(req, 400, "SR_EINVAL", err, 0);
        return;
    }
    node_admin_killswitches_get(node, req);
}

/* The endpoint a "<prefix>/<service>/<endpoint>" setting names, if this
 * node hosts it (else NULL: it applies when the service registers). */
struct node_ep *node_setting_endpoint(struct sr_node *node, const struct node_setting *s,
                                      size_t prefix_len)
{
    const char *svc = s->key + prefix_len, *slash = strchr(svc, '/');
    const struct node_ep *ep =
        slash ? node_fwd_find(node, svc, (size_t)(slash - svc), slash + 1, strlen(slash + 1))
              : NULL;
    return ep ? &node->ep[ep - node->ep] : NULL;
}

/* Apply a "ks/..." setting to the endpoint it names, if this node hosts it. */
void node_killswitch_setting(struct sr_node *node, const struct node_setting *s)
{
    struct node_ep *ep = node_setting_endpoint(node, s, 3);
    if (!ep)
        return;
    enum node_kill mode = NODE_KILL_OFF;
    const char *colon = strchr(s->value, ':');
    char name[16];
    snprintf(name, sizeof name, "%.*s", (int)(colon ? (size_t)(colon - s->value) : strlen(s->value)),
             s->value);
    if (!s->deleted && kill_parse(name, &mode) < 0) {
        SR_WARN(node->log, "killswitch.bad_setting", "key=%s value=\"%s\"", s->key, s->value);
        return;
    }
    ep->kill = mode;
    ep->kill_version = s->version;
    snprintf(ep->kill_file, sizeof ep->kill_file, "%s", mode == NODE_KILL_LOG && colon ? colon + 1 : "");
    SR_WARN(node->log, "killswitch.set", "endpoint=%s/%s mode=%s version=%llu origin=%s",
            ep->svc->name, ep->def->name, node_kill_name(mode), (unsigned long long)s->version,
            s->origin);
}

void node_settings_changed(struct sr_node *node, const struct node_setting *s)
{
    if (strncmp(s->key, "ks/", 3) == 0)
        node_killswitch_setting(node, s);
    else if (strncmp(s->key, "lim/", 4) == 0)
        node_limits_setting(node, s);
    else if (strncmp(s->key, "tlsx/", 5) == 0)
        node_tls_setting(node, s);
}
