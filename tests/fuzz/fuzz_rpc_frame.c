/* libFuzzer entry point for the RPC frame decoder (lib/forward/frame.c).
 *
 * The input is read as a TCP stream of frames, the way a connection reads
 * it: length header, limit check, decode, next. Every frame that decodes is
 * encoded again and decoded a second time; the fields must survive the
 * round trip, so the fuzzer also checks the encoder and the zero-copy
 * pointers. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "forward/frame.h"
#include "swimring/buf.h"

#define FUZZ_MAX_FRAME (64u * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int same_bytes(const void *a, uint32_t alen, const void *b, uint32_t blen)
{
    return alen == blen && (alen == 0 || memcmp(a, b, alen) == 0);
}

static void check_round_trip(const struct sr_rpc_frame *f)
{
    struct sr_buf b;
    sr_buf_create(&b, 0);
    size_t off = 0;
    /* Re-encoding may take a few bytes more (fixed-width deadline, str key
     * sent back as bin), hence the larger limit. */
    if (sr_rpc_frame_encode(&b, f, 2 * FUZZ_MAX_FRAME, &off) != 0)
        abort();
    uint32_t n;
    if (sr_rpc_frame_peek(b.data, b.len, 2 * FUZZ_MAX_FRAME, &n) != 0 ||
        n + SR_RPC_FRAME_HEADER != b.len)
        abort();
    if (off != 0)
        sr_rpc_frame_patch_deadline(b.data + off, f->deadline_ms);
    struct sr_rpc_frame g;
    if (sr_rpc_frame_decode(b.data + SR_RPC_FRAME_HEADER, n, &g, NULL) != 0)
        abort();
    if (g.kind != f->kind || g.id != f->id || g.status != f->status || g.flags != f->flags ||
        g.deadline_ms != f->deadline_ms || g.hops != f->hops || g.checksum != f->checksum ||
        !same_bytes(g.service, g.service_len, f->service, f->service_len) ||
        !same_bytes(g.endpoint, g.endpoint_len, f->endpoint, f->endpoint_len) ||
        !same_bytes(g.key, g.key_len, f->key, f->key_len) ||
        !same_bytes(g.body, g.body_len, f->body, f->body_len) ||
        !same_bytes(g.rid, g.rid_len, f->rid, f->rid_len))
        abort();
    sr_buf_destroy(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    while (size > 0) {
        uint32_t n;
        if (sr_rpc_frame_peek(data, size, FUZZ_MAX_FRAME, &n) != 0)
            return 0;  /* a real connection closes here */
        if (size - SR_RPC_FRAME_HEADER < n)
            return 0;  /* waits for more bytes */
        struct sr_rpc_frame f;
        const char *field = NULL;
        int rc = sr_rpc_frame_decode(data + SR_RPC_FRAME_HEADER, n, &f, &field);
        if (rc != 0) {
            if (field == NULL || rc >= 0)
                abort();  /* every refusal names a field */
            return 0;
        }
        check_round_trip(&f);
        data += SR_RPC_FRAME_HEADER + n;
        size -= SR_RPC_FRAME_HEADER + n;
    }
    return 0;
}
