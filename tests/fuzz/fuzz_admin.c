/* The admin API's request parsing: PUT /admin/killswitches and POST
 * /admin/faults bodies (JSON) and the cluster-settings exchange (msgpack
 * from peers). The first byte (mod 3) picks the parser. One node object (never started) serves every input. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include "swimring/error.h"
#include "node/node_admin.h"
#include "node/node_settings.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void noop(void *ud, struct sr_node_reply *r, const struct sr_node_request *q)
{
    (void)ud;
    (void)q;
    sr_node_reply(r, 0, NULL, 0);
}

static const struct sr_endpoint_def eps[] = {{"put", 0, noop, "PUT", "/v1/kv/{key}", NULL},
                                             {"get", 1, noop, "GET", "/v1/kv/{key}", NULL}};
static const struct sr_service_def svc = {.name = "kv", .endpoints = eps, .nendpoints = 2};

static struct sr_node *fuzz_node(void)
{
    static struct sr_node *node; /* one per process: the fuzzer calls us millions of times */
    if (!node) {
        struct sr_node_config cfg;
        char msg[128];
        int err;
        sr_node_config_default(&cfg);
        cfg.node.log_level = SR_NODE_LOG_ERROR;
        node = sr_node_new(NULL, &cfg, &err, msg, sizeof msg);
        if (!node || sr_node_add_service(node, &svc) < 0)
            abort();
    }
    return node;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sr_node *node = fuzz_node();
    char err[256];
    if (size < 1)
        return 0;
    struct node_faults f;
    switch (data[0] % 3) {
    case 0:
        (void)node_killswitch_apply_json(node, (const char *)data + 1, size - 1, err, sizeof err);
        break;
    case 1:
        (void)node_settings_merge(node, data + 1, size - 1);
        break;
    default:
        (void)node_faults_parse((const char *)data + 1, size - 1, &f, err, sizeof err);
        break;
    }
    return 0;
}
