/* The TChannel codec (lib/ringpop/tchannel.c): round trips of every frame
 * type, fragmentation across continue frames at every split size, checksums
 * (none, CRC-32, CRC-32C) and hostile input: every truncation and bad field
 * refused with an error, never a crash. */
#include <criterion/criterion.h>
#include <string.h>
#include "ringpop/tchannel.h"
#include "swimring/error.h"

static const struct sr_tch_kv hdrs[] = {{"as", "raw"}, {"cn", "ringpop"}};

static struct sr_tch_call_out sample(bool res, const void *a3, size_t n3, size_t fmax)
{
    return (struct sr_tch_call_out){
        .is_res = res, .id = 7, .ttl_ms = 4000, .code = res ? 1 : 0, .service = "ringpop",
        .headers = hdrs, .nheaders = 2, .csum_type = SR_TCH_CSUM_CRC32C,
        .arg = {"/protocol/ping", "", a3}, .arg_len = {14, 0, n3}, .frame_max = fmax,
    };
}

/* Feed every frame of b to a fresh assembler; returns the call or NULL. */
static struct sr_tch_call *assemble(const struct sr_buf *b, int *err, size_t *nframes)
{
    struct sr_tch_asm a;
    struct sr_tch_call *done = NULL;
    size_t off = 0;
    sr_tch_asm_init(&a, 1u << 24);
    *err = 0;
    *nframes = 0;
    while (off < b->len && done == NULL) {
        struct sr_tch_frame f;
        int n = sr_tch_frame_split(b->data + off, b->len - off, &f);
        if (n <= 0) {
            *err = n == 0 ? SR_ETRUNC : n;
            break;
        }
        (*nframes)++;
        off += (size_t)n;
        if ((*err = sr_tch_asm_feed(&a, &f, &done)) != 0)
            break;
    }
    sr_tch_asm_destroy(&a);
    return done;
}

Test(tchannel, crc32_known_value)
{
    /* the standard check value of CRC-32 and of CRC-32C over "123456789" */
    cr_assert_eq(sr_tch_crc32(0, "123456789", 9), 0xCBF43926u);
}

Test(tchannel, call_round_trip_single_frame)
{
    struct sr_buf b;
    sr_buf_create(&b, 0);
    struct sr_tch_call_out c = sample(false, "{\"a\":1}", 7, 0);
    cr_assert_eq(sr_tch_call_encode(&b, &c), 0);
    /* 16 + 1 + 4 + 25 + 1+7 + 1 + (1+2+1+3)+(1+2+1+7) + 1 + 4 + 2+14 + 2 + 2+7 */
    cr_assert_eq(b.len, 105u);
    int err;
    size_t nf;
    struct sr_tch_call *got = assemble(&b, &err, &nf);
    cr_assert_eq(err, 0);
    cr_assert_not_null(got);
    cr_assert_eq(nf, 1u);
    cr_assert_eq(got->id, 7u);
    cr_assert_eq(got->ttl_ms, 4000u);
    cr_assert_str_eq(got->service, "ringpop");
    size_t l;
    const char *as = sr_tch_call_header(got, "as", &l);
    cr_assert(as != NULL && l == 3 && memcmp(as, "raw", 3) == 0);
    cr_assert_null(sr_tch_call_header(got, "zz", &l));
    cr_assert_eq(got->arg[0].len, 14u);
    cr_assert_eq(got->arg[1].len, 0u);
    cr_assert_eq(got->arg[2].len, 7u);
    cr_assert(memcmp(got->arg[2].data, "{\"a\":1}", 7) == 0);
    sr_tch_call_free(got);
    sr_buf_destroy(&b);
}

Test(tchannel, call_res_round_trip)
{
    struct sr_buf b;
    sr_buf_create(&b, 0);
    struct sr_tch_call_out c = sample(true, "x", 1, 0);
    c.csum_type = SR_TCH_CSUM_CRC32;
    cr_assert_eq(sr_tch_call_encode(&b, &c), 0);
    int err;
    size_t nf;
    struct sr_tch_call *got = assemble(&b, &err, &nf);
    cr_assert_eq(err, 0);
    cr_assert(got->is_res);
    cr_assert_eq(got->code, 1);
    cr_assert_eq(got->csum_type, SR_TCH_CSUM_CRC32);
    sr_tch_call_free(got);
    sr_buf_destroy(&b);
}

/* Every frame size from the smallest that fits the fixed fields up: the
 * args come back byte for byte, including args ending on frame boundaries. */
Test(tchannel, fragmentation_every_split)
{
    uint8_t big[700];
    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (uint8_t)(i * 31 + 7);
    size_t multi = 0;
    for (size_t fmax = 110; fmax <= 900; fmax++) {
        struct sr_buf b;
        sr_buf_create(&b, 0);
        struct sr_tch_call_out c = sample(fmax % 2, big, sizeof(big), fmax);
        cr_assert_eq(sr_tch_call_encode(&b, &c), 0, "fmax %zu", fmax);
        int err;
        size_t nf;
        struct sr_tch_call *got = assemble(&b, &err, &nf);
        cr_assert_eq(err, 0, "fmax %zu: %s", fmax, sr_err_name(err));
        cr_assert_not_null(got, "fmax %zu", fmax);
        cr_assert_eq(got->arg[0].len, 14u);
        cr_assert_eq(got->arg[2].len, sizeof(big), "fmax %zu", fmax);
        cr_assert(memcmp(got->arg[2].data, big, sizeof(big)) == 0);
        /* one frame exactly when the unsplit call fits */
        struct sr_buf whole;
        sr_buf_create(&whole, 0);
        c.frame_max = 0;
        cr_assert_eq(sr_tch_call_encode(&whole, &c), 0);
        cr_assert_eq(nf > 1, fmax < whole.len, "fmax %zu: %zu frames", fmax, nf);
        sr_buf_destroy(&whole);
        multi += nf > 1;
        sr_tch_call_free(got);
        sr_buf_destroy(&b);
    }
    cr_assert_gt(multi, 600u);
}

Test(tchannel, large_arg_uses_continue_frames)
{
    size_t n = 200000;
    uint8_t *big = malloc(n);
    memset(big, 'q', n);
    struct sr_buf b;
    sr_buf_create(&b, 0);
    struct sr_tch_call_out c = sample(false, big, n, 0);
    cr_assert_eq(sr_tch_call_encode(&b, &c), 0);
    int err;
    size_t nf;
    struct sr_tch_call *got = assemble(&b, &err, &nf);
    cr_assert_eq(err, 0);
    cr_assert_eq(nf, 4u); /* 200,000 / 65,519 -> 4 frames */
    cr_assert_eq(got->arg[2].len, n);
    sr_tch_call_free(got);
    sr_buf_destroy(&b);
    free(big);
}

Test(tchannel, every_truncation_rejected)
{
    struct sr_buf b;
    sr_buf_create(&b, 0);
    struct sr_tch_call_out c = sample(false, "{\"a\":1}", 7, 0);
    cr_assert_eq(sr_tch_call_encode(&b, &c), 0);
    for (size_t cut = 0; cut < b.len; cut++) {
        struct sr_tch_frame f;
        cr_assert_eq(sr_tch_frame_split(b.data, cut, &f), 0, "cut %zu", cut);
        /* the same bytes with the size field saying they are whole */
        uint8_t tmp[256];
        memcpy(tmp, b.data, cut);
        if (cut < SR_TCH_HEADER)
            continue;
        tmp[0] = (uint8_t)(cut >> 8);
        tmp[1] = (uint8_t)cut;
        cr_assert_eq(sr_tch_frame_split(tmp, cut, &f), (int)cut);
        struct sr_tch_asm a;
        struct sr_tch_call *done = NULL;
        sr_tch_asm_init(&a, 1u << 20);
        int rc = sr_tch_asm_feed(&a, &f, &done);
        cr_assert(rc < 0, "cut %zu accepted", cut);
        cr_assert_null(done);
        sr_tch_asm_destroy(&a);
    }
    sr_buf_destroy(&b);
}

Test(tchannel, corrupt_checksum_rejected)
{
    struct sr_buf b;
    sr_buf_create(&b, 0);
    struct sr_tch_call_out c = sample(false, "{\"a\":1}", 7, 0);
    cr_assert_eq(sr_tch_call_encode(&b, &c), 0);
    b.data[b.len - 1] ^= 1;
    int err;
    size_t nf;
    cr_assert_null(assemble(&b, &err, &nf));
    cr_assert_eq(err, SR_ECHECKSUM);
    sr_buf_destroy(&b);
}

Test(tchannel, hostile_fields)
{
    struct sr_tch_frame f;
    uint8_t small[16] = {0, 15};
    cr_assert_eq(sr_tch_frame_split(small, 16, &f), SR_EPROTO); /* size < 16 */

    /* continue frame without a first frame */
    struct sr_buf b;
    sr_buf_create(&b, 0);
    uint8_t big[300];
    memset(big, 1, sizeof(big));
    struct sr_tch_call_out c = sample(false, big, sizeof(big), 150);
    cr_assert_eq(sr_tch_call_encode(&b, &c), 0);
    int n = sr_tch_frame_split(b.data, b.len, &f);
    cr_assert_gt(n, 0);
    struct sr_tch_frame g;
    cr_assert_gt(sr_tch_frame_split(b.data + n, b.len - (size_t)n, &g), 0);
    struct sr_tch_asm a;
    struct sr_tch_call *done;
    sr_tch_asm_init(&a, 1u << 20);
    cr_assert_eq(sr_tch_asm_feed(&a, &g, &done), SR_EPROTO);
    /* arg limit */
    sr_tch_asm_destroy(&a);
    sr_tch_asm_init(&a, 10);
    cr_assert_eq(sr_tch_asm_feed(&a, &f, &done), SR_ETOOBIG);
    sr_tch_asm_destroy(&a);
    /* unknown checksum type */
    sr_buf_reset(&b);
    c = sample(false, "x", 1, 0);
    cr_assert_eq(sr_tch_call_encode(&b, &c), 0);
    size_t csum_at = 16 + 1 + 4 + 25 + 8 + 1 + 7 + 11;
    cr_assert_eq(b.data[csum_at], SR_TCH_CSUM_CRC32C);
    b.data[csum_at] = 9;
    cr_assert_gt(sr_tch_frame_split(b.data, b.len, &f), 0);
    sr_tch_asm_init(&a, 1u << 20);
    cr_assert_eq(sr_tch_asm_feed(&a, &f, &done), SR_EPROTO);
    /* duplicate header key */
    sr_buf_reset(&b);
    struct sr_tch_kv dup[] = {{"as", "raw"}, {"as", "json"}};
    c = sample(false, "x", 1, 0);
    c.headers = dup;
    cr_assert_eq(sr_tch_call_encode(&b, &c), 0);
    cr_assert_gt(sr_tch_frame_split(b.data, b.len, &f), 0);
    cr_assert_eq(sr_tch_asm_feed(&a, &f, &done), SR_EPROTO);
    /* too many fragmented calls at once */
    for (uint32_t id = 0; id <= SR_TCH_PENDING_MAX; id++) {
        sr_buf_reset(&b);
        c = sample(false, big, sizeof(big), 150);
        c.id = id;
        cr_assert_eq(sr_tch_call_encode(&b, &c), 0);
        cr_assert_gt(sr_tch_frame_split(b.data, b.len, &f), 0);
        int rc = sr_tch_asm_feed(&a, &f, &done);
        cr_assert_eq(rc, id < SR_TCH_PENDING_MAX ? 0 : SR_EFULL);
    }
    sr_tch_asm_destroy(&a);
    sr_buf_destroy(&b);
}

Test(tchannel, init_error_ping_round_trip)
{
    struct sr_buf b;
    sr_buf_create(&b, 0);
    cr_assert_eq(sr_tch_init_encode(&b, true, 1, "127.0.0.1:3000", "testpop"), 0);
    struct sr_tch_frame f;
    cr_assert_eq(sr_tch_frame_split(b.data, b.len, &f), (int)b.len);
    cr_assert_eq(f.type, SR_TCH_INIT_RES);
    struct sr_tch_init in;
    cr_assert_eq(sr_tch_init_decode(&f, &in), 0);
    cr_assert_eq(in.host_port_len, 14u);
    cr_assert(memcmp(in.host_port, "127.0.0.1:3000", 14) == 0);
    for (size_t cut = 0; cut < f.len; cut++) {
        struct sr_tch_frame g = f;
        g.len = cut;
        cr_assert(sr_tch_init_decode(&g, &in) < 0, "init cut %zu", cut);
    }
    sr_buf_reset(&b);
    cr_assert_eq(sr_tch_error_encode(&b, 9, SR_TCH_ERR_BAD_REQUEST, "no such endpoint"), 0);
    cr_assert_eq(sr_tch_frame_split(b.data, b.len, &f), (int)b.len);
    struct sr_tch_error e;
    cr_assert_eq(sr_tch_error_decode(&f, &e), 0);
    cr_assert_eq(e.code, SR_TCH_ERR_BAD_REQUEST);
    cr_assert_eq(e.message_len, 16u);
    for (size_t cut = 0; cut < f.len; cut++) {
        struct sr_tch_frame g = f;
        g.len = cut;
        cr_assert(sr_tch_error_decode(&g, &e) < 0, "error cut %zu", cut);
    }
    sr_buf_reset(&b);
    cr_assert_eq(sr_tch_empty_encode(&b, SR_TCH_PING_RES, 5), 0);
    cr_assert_eq(b.len, 16u);
    cr_assert_eq(sr_tch_frame_split(b.data, b.len, &f), 16);
    cr_assert_eq(f.type, SR_TCH_PING_RES);
    cr_assert_eq(f.id, 5u);
    sr_buf_destroy(&b);
}
