/* The service registry: validation and endpoint registration. */
#include <string.h>
#include "swimring/error.h"
#include "node_fwd.h"

#define NAME_MAX_LEN 63

/* [a-z0-9_.-], 1..63 bytes; a leading '_' is reserved for swimring. */
static bool name_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > NAME_MAX_LEN || s[0] == '_')
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
              c == '-'))
            return false;
    }
    return true;
}

static bool route_ok(const struct sr_endpoint_def *ep)
{
    if (!ep->http_method)
        return true;
    static const char *const methods[] = {"GET", "PUT", "POST", "DELETE"};
    bool m = false;
    for (size_t i = 0; i < 4; i++)
        m = m || strcmp(ep->http_method, methods[i]) == 0;
    const char *k = ep->http_path ? strstr(ep->http_path, "{key}") : NULL;
    /* exactly one {key}, the path absolute, nothing under /admin/ */
    return m && k && ep->http_path[0] == '/' && !strstr(k + 5, "{key}") &&
           strncmp(ep->http_path, "/admin/", 7) != 0;
}

/* State hooks: all four required ones, and sane copy counts. */
static bool state_ok(const struct sr_service_def *svc)
{
    const struct sr_state_ops *o = svc->state;
    if (!o)
        return svc->replicas == 0 && svc->ack_replicas == 0;
    return o->keys && o->export_key && o->merge && o->drop && svc->replicas <= 5 &&
           svc->ack_replicas <= 5 && (!svc->replicas || svc->ack_replicas <= svc->replicas);
}

int node_services_register(struct sr_node *node, const struct sr_service_def *svc)
{
    if (!name_ok(svc->name) || !svc->endpoints || svc->nendpoints == 0 || !state_ok(svc))
        return SR_EINVAL;
    if (node->nep + svc->nendpoints > NODE_ENDPOINTS_MAX)
        return SR_EFULL;
    for (size_t i = 0; i < svc->nendpoints; i++) {
        const struct sr_endpoint_def *ep = &svc->endpoints[i];
        if (!name_ok(ep->name) || !ep->handler || !route_ok(ep))
            return SR_EINVAL;
        for (size_t j = 0; j < i; j++)
            if (strcmp(svc->endpoints[j].name, ep->name) == 0)
                return SR_EEXIST;
    }
    for (size_t i = 0; i < svc->nendpoints; i++)
        (void)node_fwd_add(node, svc, &svc->endpoints[i]);
    return 0;
}
