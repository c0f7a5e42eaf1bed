/* libFuzzer target for the sealed-datagram opener (gossip_crypto.h).
 *
 * The first byte picks what the rest feeds:
 *   0: sr_gossip_open on the raw bytes, as the UDP driver does with what a
 *      stranger sends (header, key id, tag, window), then the SWIM decoder
 *      on whatever opens;
 *   1: the bytes sealed with the fuzzer's key (so they get past the tag),
 *      opened again (must give them back unchanged), then decoded;
 *   2: like 1, but data[1..2] pick a bit to flip after sealing: the open
 *      must fail.
 * Opening happens at a fixed wall clock, so the window is exercised by the
 * timestamps the fuzzer writes. Build: cmake -DSWIMRING_FUZZ=ON
 * -DCMAKE_C_COMPILER=clang; seeds in tests/fuzz/seeds/fuzz_gossip_open/. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "swim/wire.h"
#include "swimring/gossip_crypto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW_MS 1800000000000ULL
#define MAXLEN 65536

/* The fuzzer's key is bytes 00..1f (key id 630dcd29); a second key makes
 * the keyring search real. */
static struct sr_gossip *ring(void)
{
    static struct sr_gossip *g;
    if (!g) {
        uint8_t k[SR_GOSSIP_KEY_LEN];
        g = sr_gossip_new(5000, 1000);
        for (int i = 0; i < SR_GOSSIP_KEY_LEN; i++)
            k[i] = (uint8_t)(0xff - i);
        sr_gossip_install(g, k, NULL);
        for (int i = 0; i < SR_GOSSIP_KEY_LEN; i++)
            k[i] = (uint8_t)i;
        sr_gossip_install(g, k, NULL);
        sr_gossip_use(g, sr_gossip_key_id(k));
    }
    return g;
}

static void decode(const uint8_t *p, size_t n)
{
    static struct sr_swim_update ups[MAXLEN / SR_SWIM_WIRE_MIN_UPDATE + 1];
    struct sr_swim_msg m;
    (void)sr_swim_wire_decode(p, n, &m, ups, sizeof ups / sizeof ups[0]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t buf[MAXLEN + SR_GOSSIP_OVERHEAD], copy[MAXLEN];
    struct sr_gossip *g = ring();
    const uint8_t *plain;
    size_t plen;
    if (size < 1 || size - 1 > MAXLEN)
        return 0;
    uint8_t mode = data[0] % 3;
    const uint8_t *in = data + 1;
    size_t n = size - 1;
    if (mode == 0) {
        memcpy(buf, in, n);
        if (sr_gossip_open(g, NOW_MS, buf, n, &plain, &plen) == SR_GOSSIP_OK)
            decode(plain, plen);
        return 0;
    }
    size_t pos = 0, bit = 0;
    if (mode == 2) {
        if (n < 2)
            return 0;
        pos = (size_t)in[0] << 8 | in[1];
        bit = in[0] % 8;
        in += 2, n -= 2;
    }
    memcpy(copy, in, n);
    int sl = sr_gossip_seal(g, NOW_MS, copy, n, buf, sizeof buf);
    if (sl != (int)(n + SR_GOSSIP_OVERHEAD))
        abort();
    if (mode == 2)
        buf[pos % (size_t)sl] ^= (uint8_t)(1u << bit);
    enum sr_gossip_verdict v = sr_gossip_open(g, NOW_MS, buf, (size_t)sl, &plain, &plen);
    if (mode == 2) {
        if (v == SR_GOSSIP_OK)
            abort(); /* a flipped bit got through */
        return 0;
    }
    if (v != SR_GOSSIP_OK || plen != n || memcmp(plain, copy, n) != 0)
        abort(); /* a round trip lost or changed bytes */
    decode(plain, plen);
    return 0;
}
