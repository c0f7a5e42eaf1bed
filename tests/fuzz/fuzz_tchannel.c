/* libFuzzer entry point for the TChannel codec (lib/ringpop/tchannel.c).
 *
 * The input is read as a TCP stream of frames, the way a connection reads
 * it: split, then init / error decode or call reassembly. Every call that
 * assembles is encoded again (in small frames, so it fragments) and
 * reassembled; its args must survive the round trip. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "ringpop/tchannel.h"
#include "swimring/buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_round_trip(const struct sr_tch_call *c)
{
    struct sr_tch_call_out o = {
        .is_res = c->is_res, .id = c->id, .ttl_ms = c->ttl_ms, .code = c->code,
        .tracing = c->tracing, .service = c->service, .csum_type = SR_TCH_CSUM_CRC32C,
        .frame_max = 200,
    };
    for (int i = 0; i < 3; i++) {
        o.arg[i] = c->arg[i].data;
        o.arg_len[i] = c->arg[i].len;
    }
    if (c->arg[0].len > 16384 || strlen(c->service) > 120)
        return; /* would not fit a 200-byte first frame: nothing to check */
    struct sr_buf b;
    sr_buf_create(&b, 0);
    if (sr_tch_call_encode(&b, &o) != 0)
        abort();
    struct sr_tch_asm a;
    sr_tch_asm_init(&a, 1u << 24);
    struct sr_tch_call *got = NULL;
    size_t off = 0;
    while (off < b.len && got == NULL) {
        struct sr_tch_frame f;
        int n = sr_tch_frame_split(b.data + off, b.len - off, &f);
        if (n <= 0 || sr_tch_asm_feed(&a, &f, &got) != 0)
            abort();
        off += (size_t)n;
    }
    if (got == NULL || off != b.len)
        abort();
    for (int i = 0; i < 3; i++)
        if (got->arg[i].len != c->arg[i].len ||
            (c->arg[i].len && memcmp(got->arg[i].data, c->arg[i].data, c->arg[i].len) != 0))
            abort();
    sr_tch_call_free(got);
    sr_tch_asm_destroy(&a);
    sr_buf_destroy(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sr_tch_asm a;
    sr_tch_asm_init(&a, 1u << 20);
    size_t off = 0;
    while (off < size) {
        struct sr_tch_frame f;
        int n = sr_tch_frame_split(data + off, size - off, &f);
        if (n <= 0)
            break;
        off += (size_t)n;
        if (f.type == SR_TCH_INIT_REQ || f.type == SR_TCH_INIT_RES) {
            struct sr_tch_init in;
            (void)sr_tch_init_decode(&f, &in);
        } else if (f.type == SR_TCH_ERROR) {
            struct sr_tch_error e;
            (void)sr_tch_error_decode(&f, &e);
        } else {
            struct sr_tch_call *c = NULL;
            if (sr_tch_asm_feed(&a, &f, &c) == 0 && c != NULL) {
                check_round_trip(c);
                sr_tch_call_free(c);
            }
        }
    }
    sr_tch_asm_destroy(&a);
    return 0;
}
