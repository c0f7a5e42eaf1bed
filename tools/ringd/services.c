/* The table of services ringd can host (--services a,b). */
#include <stddef.h>
#include <string.h>
#include "geo.h"
#include "presence.h"
#include "services.h"

/* The one instance of each service in this process: ringd_services_free()
 * takes no argument, so attach keeps them here (one node per process). */
static struct presence *presence_instance;
static struct geo_service *geo_instance;

static int attach_presence(struct sr_node *node)
{
    int err = 0;
    if (presence_instance)
        return 0; /* named twice */
    presence_instance = presence_attach(node, NULL, &err);
    return presence_instance ? 0 : err;
}

static int attach_geo(struct sr_node *node)
{
    struct geo_config cfg;
    int err = 0;
    if (geo_instance)
        return 0; /* named twice */
    geo_config_default(&cfg);
    geo_instance = geo_service_attach(node, &cfg, &err);
    return geo_instance ? 0 : err;
}

static const struct ringd_service services[] = {
    {"presence", attach_presence},
    {"geo", attach_geo},
    {"echo", ringd_echo_attach},
    {NULL, NULL},
};

const struct ringd_service *ringd_service_find(const char *name)
{
    for (const struct ringd_service *s = services; s->name; s++)
        if (strcmp(s->name, name) == 0)
            return s;
    return NULL;
}

/* Keep in step with the table above. */
const char *ringd_services_list(void)
{
    return "presence, geo, echo";
}

void ringd_services_free(void)
{
    presence_free(presence_instance);
    presence_instance = NULL;
    geo_service_free(geo_instance);
    geo_instance = NULL;
    ringd_echo_free();
}
