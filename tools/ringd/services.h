/* The services ringd can host (--services a,b). Each entry attaches one
 * service to a node; services/presence and services/geo add theirs here. */
#ifndef RINGD_SERVICES_H
#define RINGD_SERVICES_H

struct sr_node;

struct ringd_service {
    const char *name;
    int (*attach)(struct sr_node *node);
};

const struct ringd_service *ringd_service_find(const char *name);
/* "a, b" or "none" */
const char *ringd_services_list(void);
/* Free whatever attach() allocated (after the node stopped). */
void ringd_services_free(void);

/* echo.c: which node served a key (routing checks). */
int ringd_echo_attach(struct sr_node *node);
void ringd_echo_free(void);

#endif
