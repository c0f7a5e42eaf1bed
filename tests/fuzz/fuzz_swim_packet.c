/* libFuzzer target for the SWIM datagram decoder and the core behind it.
 *
 * The first byte picks what the rest feeds:
 *   0: sr_swim_wire_decode on the raw bytes (header, length, CRC, body);
 *   1: the same bytes as a body under a valid header, so the msgpack decoder
 *      and then a live core (sr_swim_receive: updates applied, replies sent)
 *      see them past the CRC;
 *   2: sr_swim_merge_state (full-sync input) into a live core.
 * Build: cmake -DSWIMRING_FUZZ=ON -DCMAKE_C_COMPILER=clang; seeds live in
 * tests/fuzz/seeds/fuzz_swim_packet/. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "swim/wire.h"
#include "swimring/swim.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static sr_time_us clock_us;
static uint64_t rng = 88172645463325252ULL;

static sr_time_us f_now(void *ctx) { (void)ctx; return clock_us; }
static uint64_t f_random(void *ctx)
{
    (void)ctx;
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return rng;
}
static void f_send(void *ctx, const char *to, const void *d, size_t n) { (void)ctx, (void)to, (void)d, (void)n; }
static void f_schedule(void *ctx, sr_time_us at) { (void)ctx, (void)at; }
static void f_sync(void *ctx, const char *peer) { (void)ctx, (void)peer; }

static const struct sr_swim_vtab vt = {f_now, f_random, f_send, f_schedule, NULL, f_sync};

static struct sr_swim *core(void)
{
    static struct sr_swim *s;
    if (s == NULL) {
        struct sr_swim_cfg cfg;
        sr_swim_cfg_default_lan(&cfg);
        s = sr_swim_new(&cfg, "10.0.0.1:7946", "fuzz", &vt, NULL, NULL, NULL);
        sr_swim_start(s);
    }
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct sr_swim_update ups[65536 / SR_SWIM_WIRE_MIN_UPDATE + 1];
    static uint8_t pkt[65536 + SR_SWIM_WIRE_HEADER];
    struct sr_swim_msg m;
    if (size < 1)
        return 0;
    uint8_t mode = data[0] % 3;
    data++, size--;
    clock_us += 100000; /* time moves, so timers inside the core run too */
    if (mode == 0) {
        sr_swim_wire_decode(data, size, &m, ups, sizeof(ups) / sizeof(ups[0]));
        sr_swim_receive(core(), "10.0.0.2:7946", data, size);
    } else if (mode == 1 && size <= 0xffff) {
        uint32_t crc = sr_swim_crc32c(0, data, size);
        uint8_t head[SR_SWIM_WIRE_HEADER] = {SR_SWIM_WIRE_MAGIC, SR_SWIM_WIRE_VERSION,
                                             (uint8_t)(size >> 8), (uint8_t)size,
                                             (uint8_t)(crc >> 24), (uint8_t)(crc >> 16),
                                             (uint8_t)(crc >> 8), (uint8_t)crc};
        memcpy(pkt, head, sizeof(head));
        memcpy(pkt + sizeof(head), data, size);
        sr_swim_wire_decode(pkt, size + sizeof(head), &m, ups, sizeof(ups) / sizeof(ups[0]));
        sr_swim_receive(core(), "10.0.0.3:7946", pkt, size + sizeof(head));
        sr_swim_tick(core());
    } else if (mode == 2) {
        sr_swim_merge_state(core(), data, size);
    }
    return 0;
}
