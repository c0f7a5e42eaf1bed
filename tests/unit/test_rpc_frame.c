/* The RPC frame codec: round trips, the sizes promised in frame.h, and
 * hostile input (every truncation, bad lengths, bad fields, unknown and
 * repeated keys, random bytes) always refused with the right error. */
#include <criterion/criterion.h>
#include <string.h>
#include "forward/frame.h"
#include "swimring/error.h"
#include "swimring/mp.h"

#define MAX_FRAME (1u << 20)

static const uint8_t key8[8] = {1, 2, 3, 4, 5, 6, 7, 8};
static uint8_t body100[100];

static struct sr_rpc_frame sample_request(void)
{
    return (struct sr_rpc_frame){
        .kind = SR_RPC_KIND_REQUEST, .id = 70000, .flags = 1, .deadline_ms = 250,
        .checksum = 0xdeadbeefcafef00dULL, .service = "kv", .service_len = 2,
        .endpoint = "get", .endpoint_len = 3, .key = key8, .key_len = 8,
        .body = body100, .body_len = 100,
    };
}

static void encode(struct sr_buf *b, const struct sr_rpc_frame *f)
{
    sr_buf_create(b, 0);
    cr_assert_eq(sr_rpc_frame_encode(b, f, MAX_FRAME, NULL), 0);
}

static int decode_whole(const struct sr_buf *b, struct sr_rpc_frame *f, const char **field)
{
    uint32_t n;
    int rc = sr_rpc_frame_peek(b->data, b->len, MAX_FRAME, &n);
    if (rc < 0)
        return rc;
    cr_assert_eq(n + SR_RPC_FRAME_HEADER, b->len);
    return sr_rpc_frame_decode(b->data + SR_RPC_FRAME_HEADER, n, f, field);
}

Test(rpc_frame, request_round_trip)
{
    for (int i = 0; i < 100; i++)
        body100[i] = (uint8_t)i;
    struct sr_rpc_frame in = sample_request();
    in.hops = 2;
    in.id = UINT64_MAX;
    struct sr_buf b;
    encode(&b, &in);
    struct sr_rpc_frame out;
    cr_assert_eq(decode_whole(&b, &out, NULL), 0);
    cr_expect_eq(out.kind, SR_RPC_KIND_REQUEST);
    cr_expect_eq(out.id, UINT64_MAX);
    cr_expect_eq(out.flags, 1);
    cr_expect_eq(out.deadline_ms, 250);
    cr_expect_eq(out.hops, 2);
    cr_expect_eq(out.checksum, 0xdeadbeefcafef00dULL);
    cr_expect(out.service_len == 2 && memcmp(out.service, "kv", 2) == 0);
    cr_expect(out.endpoint_len == 3 && memcmp(out.endpoint, "get", 3) == 0);
    cr_expect(out.key_len == 8 && memcmp(out.key, key8, 8) == 0);
    cr_expect(out.body_len == 100 && memcmp(out.body, body100, 100) == 0);
    cr_expect_eq(out.status, 0);
    sr_buf_destroy(&b);
}

/* Flag bit 1 (replica read, a backup read in lib/node) travels like bit 0
 * and costs no byte: flags below 128 are one fixint. Bits this build does
 * not know pass through for the receiver to ignore. */
Test(rpc_frame, replica_read_flag_round_trips)
{
    struct sr_rpc_frame in = sample_request();
    struct sr_buf b1, b3, bx;
    encode(&b1, &in);
    in.flags = SR_RPC_IDEMPOTENT | SR_RPC_REPLICA_READ;
    in.rid = (const uint8_t *)"req-1";
    in.rid_len = 5;
    encode(&b3, &in);
    struct sr_rpc_frame out;
    cr_assert_eq(decode_whole(&b3, &out, NULL), 0);
    cr_expect_eq(out.flags, SR_RPC_IDEMPOTENT | SR_RPC_REPLICA_READ);
    cr_expect(out.rid_len == 5 && memcmp(out.rid, "req-1", 5) == 0);
    cr_expect_eq(b3.len, b1.len + 1 + 2 + 5, "only the rid is added: key, bin8 header, bytes");
    in.flags = 0x80000003u;
    encode(&bx, &in);
    cr_assert_eq(decode_whole(&bx, &out, NULL), 0);
    cr_expect_eq(out.flags, 0x80000003u);
    sr_buf_destroy(&b1);
    sr_buf_destroy(&b3);
    sr_buf_destroy(&bx);
}

Test(rpc_frame, response_round_trip_with_error_status)
{
    struct sr_rpc_frame in = {.kind = SR_RPC_KIND_RESPONSE, .id = 9, .status = SR_EBUSY,
                              .checksum = 7};
    struct sr_buf b;
    encode(&b, &in);
    struct sr_rpc_frame out;
    cr_assert_eq(decode_whole(&b, &out, NULL), 0);
    cr_expect_eq(out.kind, SR_RPC_KIND_RESPONSE);
    cr_expect_eq(out.id, 9);
    cr_expect_eq(out.status, SR_EBUSY);
    cr_expect_eq(out.body_len, 0);
    cr_expect_null(out.service);
    sr_buf_destroy(&b);
}

Test(rpc_frame, sizes_match_the_header_arithmetic)
{
    /* frame.h: the sample request is 154 bytes, its response 126. */
    struct sr_rpc_frame req = sample_request();
    struct sr_buf b;
    encode(&b, &req);
    cr_expect_eq(b.len, 154);
    sr_buf_destroy(&b);
    struct sr_rpc_frame resp = {.kind = SR_RPC_KIND_RESPONSE, .id = 70000,
                                .checksum = req.checksum, .body = body100, .body_len = 100};
    encode(&b, &resp);
    cr_expect_eq(b.len, 126);
    sr_buf_destroy(&b);
}

Test(rpc_frame, truncation_at_every_prefix_is_refused)
{
    struct sr_rpc_frame req = sample_request();
    struct sr_buf b;
    encode(&b, &req);
    const uint8_t *payload = b.data + SR_RPC_FRAME_HEADER;
    size_t n = b.len - SR_RPC_FRAME_HEADER;
    for (size_t len = 0; len < n; len++) {
        struct sr_rpc_frame out;
        const char *field = NULL;
        int rc = sr_rpc_frame_decode(payload, len, &out, &field);
        cr_expect_eq(rc, SR_ETRUNC, "prefix %zu: %s (field %s)", len, sr_err_name(rc), field);
        cr_expect_not_null(field);
    }
    /* And the length header itself, cut. */
    for (size_t len = 0; len < SR_RPC_FRAME_HEADER; len++) {
        uint32_t plen;
        cr_expect_eq(sr_rpc_frame_peek(b.data, len, MAX_FRAME, &plen), SR_ETRUNC);
    }
    sr_buf_destroy(&b);
}

Test(rpc_frame, length_header_limits)
{
    uint8_t h[4] = {0, 0, 0, 0};
    uint32_t n;
    cr_expect_eq(sr_rpc_frame_peek(h, 4, 100, &n), SR_EPROTO);
    h[3] = 100;
    cr_expect_eq(sr_rpc_frame_peek(h, 4, 100, &n), 0);
    cr_expect_eq(n, 100);
    h[3] = 101;
    cr_expect_eq(sr_rpc_frame_peek(h, 4, 100, &n), SR_ETOOBIG);
    memcpy(h, "GET ", 4);
    cr_expect_eq(sr_rpc_frame_peek(h, 4, MAX_FRAME, &n), SR_ETOOBIG);
}

Test(rpc_frame, encoder_refuses_oversize_and_bad_input)
{
    struct sr_buf b;
    sr_buf_create(&b, 0);
    sr_buf_append(&b, "x", 1);
    struct sr_rpc_frame req = sample_request();
    cr_expect_eq(sr_rpc_frame_encode(&b, &req, 120, NULL), SR_ETOOBIG);
    cr_expect_eq(b.len, 1, "a failed encode leaves the buffer as it was");
    cr_expect_eq(sr_rpc_frame_encode(&b, &req, 150, NULL), 0, "payload is exactly 150 bytes");
    req.kind = 9;
    cr_expect_eq(sr_rpc_frame_encode(&b, &req, MAX_FRAME, NULL), SR_EINVAL);
    req = sample_request();
    req.service_len = SR_RPC_NAME_MAX + 1;
    char big[SR_RPC_NAME_MAX + 1];
    memset(big, 'a', sizeof(big));
    req.service = big;
    cr_expect_eq(sr_rpc_frame_encode(&b, &req, MAX_FRAME, NULL), SR_EINVAL);
    req = sample_request();
    req.kind = SR_RPC_KIND_RESPONSE;
    req.status = 5;
    cr_expect_eq(sr_rpc_frame_encode(&b, &req, MAX_FRAME, NULL), SR_EINVAL);
    sr_buf_destroy(&b);
}

Test(rpc_frame, deadline_is_patchable_in_place)
{
    struct sr_rpc_frame req = sample_request();
    struct sr_buf b;
    sr_buf_create(&b, 0);
    sr_buf_append(&b, "prefix", 6);
    size_t off = 0;
    cr_assert_eq(sr_rpc_frame_encode(&b, &req, MAX_FRAME, &off), 0);
    cr_assert_gt(off, 0);
    sr_rpc_frame_patch_deadline(b.data + 6 + off, 0x01020304);
    struct sr_rpc_frame out;
    cr_assert_eq(sr_rpc_frame_decode(b.data + 6 + 4, b.len - 10, &out, NULL), 0);
    cr_expect_eq(out.deadline_ms, 0x01020304);
    sr_buf_destroy(&b);
}

/* Hand-built payloads for the field rules. */
static int decode_mp(void (*build)(struct sr_mp_writer *), const char **field)
{
    struct sr_buf b;
    sr_buf_create(&b, 0);
    struct sr_mp_writer w;
    sr_mp_writer_init(&w, &b);
    build(&w);
    cr_assert_eq(sr_mp_writer_error(&w), 0);
    struct sr_rpc_frame f;
    int rc = sr_rpc_frame_decode(b.data, b.len, &f, field);
    sr_buf_destroy(&b);
    return rc;
}

static void kv(struct sr_mp_writer *w, uint64_t k, uint64_t v)
{
    sr_mp_write_uint(w, k);
    sr_mp_write_uint(w, v);
}

static void build_unknown_keys(struct sr_mp_writer *w)
{
    sr_mp_write_map(w, 5);
    kv(w, 0, SR_RPC_KIND_PONG);
    sr_mp_write_uint(w, 42);          /* unknown numeric key, nested value */
    sr_mp_write_map(w, 1);
    sr_mp_write_cstr(w, "a");
    sr_mp_write_array(w, 2);
    sr_mp_write_nil(w);
    sr_mp_write_bool(w, true);
    sr_mp_write_cstr(w, "extension"); /* a string key */
    sr_mp_write_int(w, -5);
    kv(w, 1, 77);
    sr_mp_write_int(w, -1);           /* a negative key */
    sr_mp_write_nil(w);
}

static void build_duplicate(struct sr_mp_writer *w)
{
    sr_mp_write_map(w, 3);
    kv(w, 0, SR_RPC_KIND_PONG);
    kv(w, 1, 1);
    kv(w, 1, 2);
}

static void build_no_kind(struct sr_mp_writer *w)
{
    sr_mp_write_map(w, 1);
    kv(w, 1, 1);
}

static void build_no_id(struct sr_mp_writer *w)
{
    sr_mp_write_map(w, 1);
    kv(w, 0, SR_RPC_KIND_PING);
}

static void build_bad_kind(struct sr_mp_writer *w)
{
    sr_mp_write_map(w, 2);
    kv(w, 0, 6);
    kv(w, 1, 1);
}

static void build_request_without_endpoint(struct sr_mp_writer *w)
{
    sr_mp_write_map(w, 3);
    kv(w, 0, SR_RPC_KIND_REQUEST);
    kv(w, 1, 1);
    sr_mp_write_uint(w, 7);
    sr_mp_write_cstr(w, "svc");
}

static void build_positive_status(struct sr_mp_writer *w)
{
    sr_mp_write_map(w, 3);
    kv(w, 0, SR_RPC_KIND_RESPONSE);
    kv(w, 1, 1);
    kv(w, 2, 3);
}

static void build_wide_hops(struct sr_mp_writer *w)
{
    sr_mp_write_map(w, 3);
    kv(w, 0, SR_RPC_KIND_RESPONSE);
    kv(w, 1, 1);
    kv(w, 5, 1ULL << 32);
}

static void build_wrong_type(struct sr_mp_writer *w)
{
    sr_mp_write_map(w, 2);
    kv(w, 0, SR_RPC_KIND_RESPONSE);
    sr_mp_write_uint(w, 1);
    sr_mp_write_cstr(w, "one");
}

static void build_trailing(struct sr_mp_writer *w)
{
    build_no_id(w);
    sr_mp_write_nil(w);
}

static void build_key_as_str(struct sr_mp_writer *w)
{
    sr_mp_write_map(w, 5);
    kv(w, 0, SR_RPC_KIND_REQUEST);
    kv(w, 1, 3);
    sr_mp_write_uint(w, 7);
    sr_mp_write_cstr(w, "");
    sr_mp_write_uint(w, 8);
    sr_mp_write_cstr(w, "e");
    sr_mp_write_uint(w, 9);
    sr_mp_write_cstr(w, "user:42");
}

static void build_long_name(struct sr_mp_writer *w)
{
    char big[SR_RPC_NAME_MAX + 1];
    memset(big, 'n', sizeof(big));
    sr_mp_write_map(w, 3);
    kv(w, 0, SR_RPC_KIND_RESPONSE);
    kv(w, 1, 1);
    sr_mp_write_uint(w, 8);
    sr_mp_write_str(w, big, sizeof(big));
}

static void build_not_a_map(struct sr_mp_writer *w) { sr_mp_write_array(w, 0); }

Test(rpc_frame, field_rules)
{
    const char *field = NULL;
    cr_expect_eq(decode_mp(build_unknown_keys, &field), 0, "unknown keys are skipped");
    cr_expect_eq(decode_mp(build_key_as_str, &field), 0, "a str key is accepted");
    struct { void (*build)(struct sr_mp_writer *); int rc; const char *field; } cases[] = {
        {build_duplicate, SR_EPROTO, "id"},
        {build_no_kind, SR_EPROTO, "kind"},
        {build_no_id, SR_EPROTO, "id"},
        {build_bad_kind, SR_ERANGE, "kind"},
        {build_request_without_endpoint, SR_EPROTO, "endpoint"},
        {build_positive_status, SR_ERANGE, "status"},
        {build_wide_hops, SR_ERANGE, "hops"},
        {build_wrong_type, SR_ETYPE, "id"},
        {build_trailing, SR_EPROTO, "trailing bytes"},
        {build_long_name, SR_ETOOBIG, "endpoint"},
        {build_not_a_map, SR_ETYPE, "map"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        field = NULL;
        int rc = decode_mp(cases[i].build, &field);
        cr_expect_eq(rc, cases[i].rc, "case %zu: got %s", i, sr_err_name(rc));
        cr_expect(field != NULL && strcmp(field, cases[i].field) == 0, "case %zu: field %s", i,
                  field ? field : "(null)");
    }
}

Test(rpc_frame, flipped_bytes_and_random_input_never_crash)
{
    struct sr_rpc_frame req = sample_request();
    struct sr_buf b;
    encode(&b, &req);
    uint8_t *payload = b.data + SR_RPC_FRAME_HEADER;
    size_t n = b.len - SR_RPC_FRAME_HEADER;
    uint64_t x = 0x9e3779b97f4a7c15ULL;
    for (size_t i = 0; i < n; i++) {
        for (int bit = 0; bit < 8; bit++) {
            payload[i] ^= (uint8_t)(1u << bit);
            struct sr_rpc_frame out;
            const char *field = NULL;
            int rc = sr_rpc_frame_decode(payload, n, &out, &field);
            if (rc < 0)
                cr_expect_not_null(field);
            payload[i] ^= (uint8_t)(1u << bit);
        }
    }
    uint8_t rnd[256];
    for (int round = 0; round < 20000; round++) {
        for (size_t i = 0; i < sizeof(rnd); i++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            rnd[i] = (uint8_t)x;
        }
        /* Start most inputs with a map header so decoding gets past byte 0. */
        rnd[0] = (uint8_t)(0x80 | (rnd[0] & 0x0f));
        struct sr_rpc_frame out;
        (void)sr_rpc_frame_decode(rnd, (size_t)(x % sizeof(rnd)), &out, NULL);
    }
    sr_buf_destroy(&b);
}
