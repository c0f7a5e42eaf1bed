/* The YAML loader on arbitrary bytes: it returns 0 or SR_ECONFIG, and an
 * error always comes with a non-empty "FILE:LINE:COLUMN: message". */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "swimring/config.h"
#include "swimring/error.h"
#include "swimring/swim_cfg.h"

/* The library is not built with -fsanitize=fuzzer-no-link, so compile the
 * loader and its tables here: libFuzzer then sees their coverage. */
#include "../../lib/core/config.c"
#include "../../lib/core/config_node.c"
#include "../../lib/swim/swim_cfg_table.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sr_node_cfg node;
    struct sr_swim_cfg swim;
    struct sr_cfg_section secs[2] = {sr_node_cfg_section(&node), sr_swim_cfg_section(&swim)};
    if (sr_cfg_defaults(secs, 2) != 0)
        abort();
    char err[256];
    memset(err, 0, sizeof err);
    int rc = sr_cfg_load_string(secs, 2, (const char *)data, size, err, sizeof err);
    if (rc != 0 && rc != SR_ECONFIG)
        abort();
    if (rc == SR_ECONFIG && (err[0] == '\0' || strncmp(err, "<string>:", 9) != 0))
        abort();
    /* strings stay NUL-terminated whatever was loaded */
    if (memchr(node.name, '\0', sizeof node.name) == NULL ||
        memchr(node.log_file, '\0', sizeof node.log_file) == NULL)
        abort();
    return 0;
}
