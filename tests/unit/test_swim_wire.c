/* The datagram and full-sync codecs: round trips, exact sizes, and hostile
 * input (truncated at every length, wrong version, flipped bits, oversize,
 * random bytes) always rejected with the right error, never a crash. */
#include <criterion/criterion.h>
#include <string.h>
#include "swim/wire.h"
#include "swimring/error.h"

#define CAP 256
static struct sr_swim_update ups[CAP];

static const struct sr_swim_label labels[2] = {{"zone", "a"}, {"service", "presence"}};

/* A ping-req with three updates (one with labels, one suspect with from). */
static void build(struct sr_buf *b)
{
    struct sr_swim_msg m = {.type = SR_SWIM_MSG_PING_REQ, .seq = 77, .checksum = 0xdeadbeefcafef00dULL,
                            .flags = SR_SWIM_FLAG_PENDING, .target = "10.0.0.9:7946",
                            .target_len = 13, .timeout_ms = 480};
    int off = sr_swim_wire_begin(b, &m);
    cr_assert_geq(off, 0);
    struct sr_buf u;
    sr_buf_create(&u, 0);
    struct sr_mp_writer w;
    sr_mp_writer_init(&w, &u);
    sr_swim_wire_put_update(&w, "10.0.0.1:7946", "n1", 5, SR_SWIM_ALIVE, labels, 2, NULL);
    sr_swim_wire_put_update(&w, "10.0.0.2:7946", "n2", 9, SR_SWIM_SUSPECT, NULL, 0, "10.0.0.1:7946");
    sr_swim_wire_put_update(&w, "[::1]:7946", "", 1ULL << 40, SR_SWIM_LEFT, NULL, 0, NULL);
    cr_assert_eq(sr_mp_writer_error(&w), 0);
    sr_buf_append(b, u.data, u.len);
    cr_assert_eq(sr_swim_wire_finish(b, (size_t)off, 3), 0);
    sr_buf_destroy(&u);
}

Test(swim_wire, round_trip)
{
    struct sr_buf b;
    sr_buf_create(&b, 0);
    build(&b);
    struct sr_swim_msg m;
    cr_assert_eq(sr_swim_wire_decode(b.data, b.len, &m, ups, CAP), 0);
    cr_expect_eq(m.type, SR_SWIM_MSG_PING_REQ);
    cr_expect_eq(m.seq, 77);
    cr_expect_eq(m.checksum, 0xdeadbeefcafef00dULL);
    cr_expect_eq(m.flags, SR_SWIM_FLAG_PENDING);
    cr_expect_eq(m.timeout_ms, 480);
    cr_expect_eq(m.target_len, 13);
    cr_expect(memcmp(m.target, "10.0.0.9:7946", 13) == 0);
    cr_assert_eq(m.nupdates, 3);
    cr_expect_eq(ups[0].incarnation, 5);
    cr_expect_eq(ups[0].status, SR_SWIM_ALIVE);
    cr_expect(memcmp(ups[0].name, "n1", 2) == 0 && ups[0].name_len == 2);
    struct sr_swim_label out[SR_SWIM_LABELS_MAX];
    cr_assert_eq(sr_swim_wire_labels(&ups[0], out), 2);
    cr_expect_str_eq(out[1].key, "service");
    cr_expect_str_eq(out[1].value, "presence");
    cr_expect_eq(ups[1].status, SR_SWIM_SUSPECT);
    cr_expect(ups[1].from_len == 13 && memcmp(ups[1].from, "10.0.0.1:7946", 13) == 0);
    cr_expect_eq(ups[2].incarnation, 1ULL << 40);
    cr_expect_eq(ups[2].addr_len, 10);
    cr_expect_eq(ups[2].from, NULL);
    sr_buf_destroy(&b);
}

Test(swim_wire, sizes_match_the_header_arithmetic)
{
    /* wire.h: a ping's fixed part is 33 bytes with a uint32 seq, an alive
     * update for a 13-byte address, 2-byte name and small incarnation is 24
     * bytes, a suspect one 39. */
    struct sr_buf b;
    sr_buf_create(&b, 0);
    struct sr_swim_msg m = {.type = SR_SWIM_MSG_PING, .seq = 70000, .checksum = UINT64_MAX};
    int off = sr_swim_wire_begin(&b, &m);
    cr_assert_geq(off, 0);
    cr_expect_eq(b.len, 33);
    size_t before = b.len;
    struct sr_mp_writer w;
    sr_mp_writer_init(&w, &b);
    sr_swim_wire_put_update(&w, "10.0.0.1:7946", "n1", 5, SR_SWIM_ALIVE, NULL, 0, NULL);
    cr_expect_eq(b.len - before, 24);
    before = b.len;
    sr_swim_wire_put_update(&w, "10.0.0.1:7946", "n1", 5, SR_SWIM_SUSPECT, NULL, 0, "10.0.0.2:7946");
    cr_expect_eq(b.len - before, 39);
    sr_buf_destroy(&b);
}

Test(swim_wire, truncated_at_every_length)
{
    struct sr_buf b;
    sr_buf_create(&b, 0);
    build(&b);
    struct sr_swim_msg m;
    for (size_t len = 0; len < b.len; len++) {
        int rc = sr_swim_wire_decode(b.data, len, &m, ups, CAP);
        cr_expect_eq(rc, SR_ETRUNC, "len %zu: %s", len, sr_err_name(rc));
    }
    sr_buf_destroy(&b);
}

Test(swim_wire, wrong_magic_version_and_trailing_bytes)
{
    struct sr_buf b;
    sr_buf_create(&b, 0);
    build(&b);
    struct sr_swim_msg m;
    b.data[1] = 2;
    cr_expect_eq(sr_swim_wire_decode(b.data, b.len, &m, ups, CAP), SR_EVERSION);
    b.data[1] = SR_SWIM_WIRE_VERSION;
    b.data[0] = 0x5a;
    cr_expect_eq(sr_swim_wire_decode(b.data, b.len, &m, ups, CAP), SR_EPROTO);
    b.data[0] = SR_SWIM_WIRE_MAGIC;
    uint8_t zero = 0;
    sr_buf_append(&b, &zero, 1);
    cr_expect_eq(sr_swim_wire_decode(b.data, b.len, &m, ups, CAP), SR_EPROTO);
    sr_buf_destroy(&b);
}

Test(swim_wire, every_flipped_bit_is_caught)
{
    struct sr_buf b;
    sr_buf_create(&b, 0);
    build(&b);
    struct sr_swim_msg m;
    for (size_t i = 0; i < b.len * 8; i++) {
        b.data[i / 8] ^= (uint8_t)(1u << (i % 8));
        int rc = sr_swim_wire_decode(b.data, b.len, &m, ups, CAP);
        cr_expect(rc < 0, "bit %zu accepted", i);
        b.data[i / 8] ^= (uint8_t)(1u << (i % 8));
    }
    cr_expect_eq(sr_swim_wire_decode(b.data, b.len, &m, ups, CAP), 0);
    sr_buf_destroy(&b);
}

Test(swim_wire, crc32c_check_value)
{
    cr_expect_eq(sr_swim_crc32c(0, "123456789", 9), 0xE3069283u);
    cr_expect_eq(sr_swim_crc32c(0, "", 0), 0);
}

/* Wrap a hostile body in a valid header so it reaches the msgpack decoder. */
static int decode_body_framed(const uint8_t *body, size_t n)
{
    uint8_t pkt[2048];
    struct sr_swim_msg m;
    uint32_t crc = sr_swim_crc32c(0, body, n);
    pkt[0] = SR_SWIM_WIRE_MAGIC;
    pkt[1] = SR_SWIM_WIRE_VERSION;
    pkt[2] = (uint8_t)(n >> 8);
    pkt[3] = (uint8_t)n;
    pkt[4] = (uint8_t)(crc >> 24);
    pkt[5] = (uint8_t)(crc >> 16);
    pkt[6] = (uint8_t)(crc >> 8);
    pkt[7] = (uint8_t)crc;
    memcpy(pkt + 8, body, n);
    return sr_swim_wire_decode(pkt, n + 8, &m, ups, CAP);
}

Test(swim_wire, hostile_bodies)
{
    static const struct { const char *what; uint8_t bytes[24]; size_t n; } rows[] = {
        {"not a map", {0x91, 0x01}, 2},
        {"no type", {0x81, 0x01, 0x05}, 3},
        {"unknown type", {0x81, 0x00, 0x09}, 3},
        {"ping-req without target", {0x81, 0x00, 0x03}, 3},
        {"map count beyond input", {0x8f, 0x00, 0x01}, 3},
        {"huge array count", {0x82, 0x00, 0x01, 0x06, 0xdd, 0xff, 0xff, 0xff, 0xff}, 9},
        {"update is not a map", {0x82, 0x00, 0x01, 0x06, 0x91, 0x01}, 6},
        {"update without addr", {0x82, 0x00, 0x01, 0x06, 0x91, 0x82, 0x02, 0x01, 0x03, 0x00}, 10},
        {"status out of range", {0x82, 0x00, 0x01, 0x06, 0x91, 0x83, 0x00, 0xa1, 'x', 0x02, 0x01, 0x03, 0x07}, 13},
        {"addr with NUL", {0x82, 0x00, 0x01, 0x06, 0x91, 0x83, 0x00, 0xa2, 'x', 0, 0x02, 0x01, 0x03, 0x00}, 14},
        {"invalid byte 0xc1", {0x81, 0x00, 0xc1}, 3},
        {"negative seq", {0x82, 0x00, 0x01, 0x01, 0xff}, 5},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        int rc = decode_body_framed(rows[i].bytes, rows[i].n);
        cr_expect_eq(rc, SR_EPROTO, "%s: %s", rows[i].what, sr_err_name(rc));
    }
    /* unknown keys (integer and string) are skipped */
    static const uint8_t ok[] = {0x83, 0x00, 0x01, 0x09, 0x92, 0x01, 0x02, 0xa1, 'k', 0xc0};
    cr_expect_eq(decode_body_framed(ok, sizeof(ok)), 0);
}

Test(swim_wire, random_bytes_never_crash)
{
    uint64_t x = 0x9e3779b97f4a7c15ULL;
    uint8_t buf[1500];
    struct sr_swim_msg m;
    for (int round = 0; round < 20000; round++) {
        size_t n = (size_t)(x % sizeof(buf));
        for (size_t i = 0; i < n; i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            buf[i] = (uint8_t)x;
        }
        if (round % 2 && n > 8) { /* half with a valid header, to reach the body */
            cr_expect(decode_body_framed(buf, n > 1400 ? 1400 : n) <= 0);
            continue;
        }
        cr_expect(sr_swim_wire_decode(buf, n, &m, ups, CAP) <= 0);
    }
}
