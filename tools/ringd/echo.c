/* "echo": a stateless service that answers which node served a key, for
 * routing checks (a mixed cluster with ringpop nodes, docs/ringpop.md).
 *   GET  /v1/echo/{key}  -> {"node": "<member address>", "key": "<key>"}
 *   POST /v1/echo/{key}  -> the same plus "body": the request body (text) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "swimring/error.h"
#include "swimring/node.h"
#include "services.h"

static void echo_answer(void *ud, struct sr_node_reply *r, const struct sr_node_request *q)
{
    struct sr_node *node = ud;
    json_t *j = json_pack("{s:s, s:s#}", "node", sr_node_self(node), "key", (const char *)q->key,
                          (int)q->key_len);
    if (j && q->body_len)
        json_object_set_new(j, "body", json_stringn((const char *)q->body, q->body_len));
    char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    sr_node_reply(r, s ? 0 : SR_ENOMEM, s, s ? strlen(s) : 0);
    free(s);
}

static const struct sr_endpoint_def echo_endpoints[] = {
    {"get", SR_ENDPOINT_IDEMPOTENT, echo_answer, "GET", "/v1/echo/{key}", NULL},
    {"post", SR_ENDPOINT_IDEMPOTENT, echo_answer, "POST", "/v1/echo/{key}", NULL},
};

/* One node per process: the definition lives as long as the process. */
static struct sr_service_def echo_def = {.name = "echo", .endpoints = echo_endpoints,
                                         .nendpoints = 2};

int ringd_echo_attach(struct sr_node *node)
{
    if (echo_def.ud)
        return 0; /* named twice */
    echo_def.ud = node;
    return sr_node_add_service(node, &echo_def);
}

void ringd_echo_free(void)
{
    echo_def.ud = NULL;
}
