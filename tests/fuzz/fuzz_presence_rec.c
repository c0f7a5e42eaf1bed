/* services/presence records from peers (replication, handoff, anti-entropy)
 * are hostile input: read a stream of msgpack records, merge each into a
 * store under a user named by the first byte, expire at times taken from
 * the input, and check the store's counts stay consistent. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "presence_store.h"
#include "swimring/mp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ps_store *st = ps_store_new(1000, NULL, NULL);
    struct sr_mp_reader r;
    sr_mp_reader_init(&r, data, size);
    uint64_t now = 0;
    while (sr_mp_left(&r) > 0) {
        const uint8_t *start = r.p;
        if (sr_mp_skip(&r) < 0)
            break;
        struct ps_rec rec;
        char user[2] = {(char)('a' + (start[0] & 7)), 0};
        if (ps_rec_read(start, (size_t)(r.p - start), &rec) == 0)
            (void)ps_store_apply(st, user, 1, &rec, now);
        now += start[0];
        ps_store_expire(st, now);
        if (ps_store_sessions(st) > ps_store_keys(st) * 1000 || ps_store_users(st) > ps_store_keys(st))
            abort();
    }
    ps_store_expire(st, UINT64_MAX);
    if (ps_store_keys(st) != 0 || ps_store_sessions(st) != 0)
        abort(); /* everything expires and is forgotten in the end */
    ps_store_delete(st);
    return 0;
}
