/* The table of services ringd can host (--services a,b). */
#include <stddef.h>
#include <string.h>
#include "presence.h"
#include "services.h"

/* The one presence instance of this process: ringd_services_free() takes
 * no argument, so attach keeps it here (one node per process). */
static struct presence *presence_instance;

static int attach_presence(struct sr_node *node)
{
    int err = 0;
    if (presence_instance)
        return 0; /* named twice */
    presence_instance = presence_attach(node, NULL, &err);
    return presence_instance ? 0 : err;
}

static const struct ringd_service services[] = {
    {"presence", attach_presence},
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
    return "presence";
}

void ringd_services_free(void)
{
    presence_free(presence_instance);
    presence_instance = NULL;
}
