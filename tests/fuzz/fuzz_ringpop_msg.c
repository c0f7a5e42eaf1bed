/* libFuzzer entry point for the ringpop JSON translation (lib/ringpop/
 * rp_msg.c): any JSON (or not) as a ringpop changes array. Whatever the
 * input, the datagram and the full-sync state built from it must decode
 * again with the core's own decoders (so a hostile change can never make
 * the driver feed the core something malformed), and the number of updates
 * must equal the changes accepted. The same input as a /proxy/req head
 * (rp_proxy.c): accepted only with a url starting with '/', a method, and
 * header/key counts and strings within bounds. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "ringpop/rp_impl.h"
#include "ringpop/rp_msg.h"
#include "swim/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct sr_swim_update ups[65536 / SR_SWIM_WIRE_MIN_UPDATE + 1];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *changes = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
    struct sr_buf b;
    struct sr_rp_drops d = {0};
    sr_buf_create(&b, 0);
    if (sr_rp_changes_to_datagram(&b, SR_SWIM_MSG_PING, 7, 1, changes, "10.0.0.1:1", 100, &d) == 0) {
        struct sr_swim_msg m;
        if (sr_swim_wire_decode(b.data, b.len, &m, ups, sizeof(ups) / sizeof(ups[0])) != 0)
            abort();
        for (size_t i = 0; i < m.nupdates; i++) {
            json_t *c = sr_rp_update_to_change(&ups[i], "10.0.0.1:1", 1);
            if (c == NULL)
                abort();
            json_decref(c);
        }
    }
    struct sr_rp_drops d2 = {0};
    if (sr_rp_changes_to_state(&b, "10.0.0.2:1", changes, &d2) != 0 && json_is_array(changes) &&
        json_array_size(changes) < 1000)
        abort();
    struct sr_ringpop_proxy_req q;
    memset(&q, 0, sizeof q);
    if (rp_proxy_parse_head(changes, &q) == NULL) {
        if (q.url == NULL || q.url[0] != '/' || q.method == NULL || q.method[0] == '\0' ||
            q.nheaders > SR_RINGPOP_PROXY_HEADERS_MAX || q.nkeys > SR_RINGPOP_PROXY_KEYS_MAX)
            abort();
        for (size_t i = 0; i < q.nheaders; i++)
            if (q.headers[i][0] == NULL || q.headers[i][1] == NULL)
                abort();
        for (size_t i = 0; i < q.nkeys; i++)
            if (q.keys[i] == NULL)
                abort();
        (void)sr_ringpop_req_header(&q, "Content-Type");
    }
    json_decref(changes);
    sr_buf_destroy(&b);
    return 0;
}
