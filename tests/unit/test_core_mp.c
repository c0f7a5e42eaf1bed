/* msgpack helpers: every type and width round-trips; every truncation gives
 * SR_ETRUNC without reading past the end (each prefix is copied into an
 * exactly-sized heap buffer, so ASan catches any overread); hostile counts;
 * skip over nesting; the cursor never moves on error. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "swimring/error.h"
#include "swimring/mp.h"

/* One of everything, at every width boundary. */
static void write_all(struct sr_mp_writer *w)
{
    static const uint64_t u[] = {0, 127, 128, 255, 256, 65535, 65536, 0xffffffffull,
                                 0x100000000ull, UINT64_MAX};
    static const int64_t s[] = {-1, -32, -33, -128, -129, -32768, -32769,
                                INT32_MIN, (int64_t)INT32_MIN - 1, INT64_MIN};
    static const size_t slen[] = {0, 31, 32, 255, 256, 65535, 65536};
    static char big[65536];
    memset(big, 'x', sizeof big);
    sr_mp_write_array(w, 10 + 10 + 3 + 7 + 7 + 1 + 3);
    for (size_t i = 0; i < 10; i++) sr_mp_write_uint(w, u[i]);
    for (size_t i = 0; i < 10; i++) sr_mp_write_int(w, s[i]);
    sr_mp_write_nil(w);
    sr_mp_write_bool(w, true);
    sr_mp_write_double(w, -2.5);
    for (size_t i = 0; i < 7; i++) sr_mp_write_str(w, big, slen[i]);
    for (size_t i = 0; i < 7; i++) sr_mp_write_bin(w, big, slen[i]);
    sr_mp_write_map(w, 1);
    sr_mp_write_cstr(w, "k");
    sr_mp_write_array(w, 0);
    sr_mp_write_array(w, 16);
    for (int i = 0; i < 16; i++) sr_mp_write_uint(w, (uint64_t)i);
    sr_mp_write_map(w, 16);
    for (int i = 0; i < 32; i++) sr_mp_write_int(w, -i);
    sr_mp_write_array(w, 65536);
    for (int i = 0; i < 65536; i++) sr_mp_write_nil(w);
}

static int read_all(struct sr_mp_reader *r)
{
    static const uint64_t u[] = {0, 127, 128, 255, 256, 65535, 65536, 0xffffffffull,
                                 0x100000000ull, UINT64_MAX};
    static const int64_t s[] = {-1, -32, -33, -128, -129, -32768, -32769,
                                INT32_MIN, (int64_t)INT32_MIN - 1, INT64_MIN};
    static const uint32_t slen[] = {0, 31, 32, 255, 256, 65535, 65536};
    uint32_t n;
    int rc;
#define R(call) do { if ((rc = (call)) != 0) return rc; } while (0)
    R(sr_mp_read_array(r, &n));
    cr_assert_eq(n, 41);
    for (size_t i = 0; i < 10; i++) {
        uint64_t v;
        R(sr_mp_read_uint(r, &v));
        cr_assert_eq(v, u[i]);
    }
    for (size_t i = 0; i < 10; i++) {
        int64_t v;
        R(sr_mp_read_int(r, &v));
        cr_assert_eq(v, s[i]);
    }
    R(sr_mp_read_nil(r));
    bool b;
    R(sr_mp_read_bool(r, &b));
    cr_assert(b);
    double d;
    R(sr_mp_read_double(r, &d));
    cr_assert_eq(d, -2.5);
    for (size_t i = 0; i < 7; i++) {
        const char *p;
        R(sr_mp_read_str(r, &p, &n));
        cr_assert_eq(n, slen[i]);
    }
    for (size_t i = 0; i < 7; i++) {
        const uint8_t *p;
        R(sr_mp_read_bin(r, &p, &n));
        cr_assert_eq(n, slen[i]);
    }
    char key[4];
    R(sr_mp_read_map(r, &n));
    R(sr_mp_read_str_copy(r, key, sizeof key));
    cr_assert_str_eq(key, "k");
    R(sr_mp_read_array(r, &n));
    cr_assert_eq(n, 0);
    R(sr_mp_skip(r)); /* array16 of 16 */
    R(sr_mp_skip(r)); /* map16 of 16 */
    R(sr_mp_skip(r)); /* array32 of nils */
#undef R
    return 0;
}

Test(core_mp, round_trip_every_type_and_width)
{
    struct sr_buf b;
    sr_buf_create(&b, 0);
    struct sr_mp_writer w;
    sr_mp_writer_init(&w, &b);
    write_all(&w);
    cr_assert_eq(sr_mp_writer_error(&w), 0);
    struct sr_mp_reader r;
    sr_mp_reader_init(&r, b.data, b.len);
    cr_assert_eq(read_all(&r), 0);
    cr_assert_eq(sr_mp_left(&r), 0);
    sr_mp_reader_init(&r, b.data, b.len);
    cr_assert_eq(sr_mp_skip(&r), 0);
    cr_assert_eq(sr_mp_left(&r), 0);
    sr_buf_destroy(&b);
}

/* Every proper prefix: the value is incomplete, so skip says SR_ETRUNC and
 * leaves the cursor; the typed reads fail somewhere with SR_ETRUNC. */
Test(core_mp, every_prefix_is_truncated)
{
    struct sr_buf b;
    sr_buf_create(&b, 0);
    struct sr_mp_writer w;
    sr_mp_writer_init(&w, &b);
    /* smaller than write_all so all prefixes run quickly */
    sr_mp_write_array(&w, 8);
    sr_mp_write_uint(&w, UINT64_MAX);
    sr_mp_write_int(&w, -129);
    sr_mp_write_double(&w, 1.25);
    sr_mp_write_cstr(&w, "hello world, a str8 string of more than 31 bytes");
    sr_mp_write_bin(&w, "\x01\x02\x03", 3);
    sr_mp_write_map(&w, 1);
    sr_mp_write_cstr(&w, "k");
    sr_mp_write_array(&w, 2);
    sr_mp_write_nil(&w);
    sr_mp_write_bool(&w, false);
    sr_mp_write_uint(&w, 70000);
    sr_mp_write_int(&w, INT64_MIN);
    cr_assert_eq(sr_mp_writer_error(&w), 0);
    for (size_t len = 0; len < b.len; len++) {
        uint8_t *p = malloc(len ? len : 1);
        memcpy(p, b.data, len);
        struct sr_mp_reader r;
        sr_mp_reader_init(&r, p, len);
        cr_assert_eq(sr_mp_skip(&r), SR_ETRUNC, "prefix %zu", len);
        cr_assert_eq(sr_mp_left(&r), len, "cursor moved at prefix %zu", len);
        /* walk it value by value until something fails */
        int rc = 0;
        while (rc == 0 && sr_mp_left(&r) > 0) {
            const uint8_t *before = r.p;
            int t = sr_mp_peek(&r);
            uint32_t n; uint64_t u; int64_t i; double d; bool bo;
            const char *s; const uint8_t *bin;
            switch (t) {
            case SR_MP_ARRAY: rc = sr_mp_read_array(&r, &n); break;
            case SR_MP_MAP: rc = sr_mp_read_map(&r, &n); break;
            case SR_MP_UINT: rc = sr_mp_read_uint(&r, &u); break;
            case SR_MP_INT: rc = sr_mp_read_int(&r, &i); break;
            case SR_MP_FLOAT: rc = sr_mp_read_double(&r, &d); break;
            case SR_MP_STR: rc = sr_mp_read_str(&r, &s, &n); break;
            case SR_MP_BIN: rc = sr_mp_read_bin(&r, &bin, &n); break;
            case SR_MP_NIL: rc = sr_mp_read_nil(&r); break;
            case SR_MP_BOOL: rc = sr_mp_read_bool(&r, &bo); break;
            default: rc = t; break;
            }
            if (rc != 0)
                cr_assert_eq(r.p, before, "cursor moved on error at prefix %zu", len);
        }
        if (rc != 0)
            cr_assert_eq(rc, SR_ETRUNC, "prefix %zu: %s", len, sr_err_name(rc));
        free(p);
    }
    sr_buf_destroy(&b);
}

static uint8_t *heap_copy(const void *src, size_t len)
{
    uint8_t *p = malloc(len);
    memcpy(p, src, len);
    return p;
}

Test(core_mp, hostile_counts)
{
    static const uint8_t cases[][5] = {
        {0xdd, 0xff, 0xff, 0xff, 0xff}, /* array32 of 4G */
        {0xdf, 0xff, 0xff, 0xff, 0xff}, /* map32 of 4G */
        {0xdc, 0xff, 0xff, 0xc0, 0xc0}, /* array16 of 65535, two elements */
        {0xdb, 0xff, 0xff, 0xff, 0xff}, /* str32 of 4G */
        {0xc6, 0x7f, 0xff, 0xff, 0xff}, /* bin32 of 2G */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t *p = heap_copy(cases[i], 5);
        struct sr_mp_reader r;
        sr_mp_reader_init(&r, p, 5);
        cr_expect_eq(sr_mp_skip(&r), SR_ETRUNC, "case %zu", i);
        cr_expect_eq(sr_mp_left(&r), 5);
        uint32_t n;
        if (i < 3) {
            int rc = i == 1 ? sr_mp_read_map(&r, &n) : sr_mp_read_array(&r, &n);
            cr_expect_eq(rc, SR_ETRUNC, "case %zu", i);
            cr_expect_eq(sr_mp_left(&r), 5);
        }
        free(p);
    }
    /* deep nesting: skip is iterative, so no stack overflow */
    size_t deep = 100000;
    uint8_t *p = malloc(deep + 1);
    memset(p, 0x91, deep);
    p[deep] = 0xc0;
    struct sr_mp_reader r;
    sr_mp_reader_init(&r, p, deep + 1);
    cr_expect_eq(sr_mp_skip(&r), 0);
    cr_expect_eq(sr_mp_left(&r), 0);
    free(p);
}

Test(core_mp, skip_nested_then_read_next)
{
    struct sr_buf b;
    sr_buf_create(&b, 0);
    struct sr_mp_writer w;
    sr_mp_writer_init(&w, &b);
    sr_mp_write_map(&w, 2);
    sr_mp_write_cstr(&w, "a");
    sr_mp_write_array(&w, 2);
    sr_mp_write_map(&w, 1);
    sr_mp_write_cstr(&w, "x");
    sr_mp_write_bin(&w, "zz", 2);
    sr_mp_write_double(&w, 3.0);
    sr_mp_write_cstr(&w, "b");
    sr_mp_write_nil(&w);
    sr_mp_write_uint(&w, 42);
    struct sr_mp_reader r;
    sr_mp_reader_init(&r, b.data, b.len);
    cr_assert_eq(sr_mp_skip(&r), 0);
    uint64_t v;
    cr_assert_eq(sr_mp_read_uint(&r, &v), 0);
    cr_assert_eq(v, 42);
    cr_assert_eq(sr_mp_left(&r), 0);
    /* ext values are skipped too: fixext1 and ext8 */
    static const uint8_t ext[] = {0xd4, 0x01, 0x02, 0xc7, 0x03, 0x05, 'a', 'b', 'c'};
    uint8_t *p = heap_copy(ext, sizeof ext);
    sr_mp_reader_init(&r, p, sizeof ext);
    cr_assert_eq(sr_mp_skip(&r), 0);
    cr_assert_eq(sr_mp_skip(&r), 0);
    cr_assert_eq(sr_mp_left(&r), 0);
    free(p);
    sr_buf_destroy(&b);
}

Test(core_mp, errors_leave_cursor)
{
    static const uint8_t d[] = {0xd0, 0xff, 0xc1, 0xa2, 'h', 'i'};
    uint8_t *p = heap_copy(d, sizeof d);
    struct sr_mp_reader r;
    sr_mp_reader_init(&r, p, sizeof d);
    uint64_t u;
    cr_expect_eq(sr_mp_read_uint(&r, &u), SR_ERANGE); /* int8 -1 */
    cr_expect_eq(sr_mp_left(&r), sizeof d);
    const char *s; uint32_t n;
    cr_expect_eq(sr_mp_read_str(&r, &s, &n), SR_ETYPE);
    cr_expect_eq(sr_mp_left(&r), sizeof d);
    int64_t i;
    cr_assert_eq(sr_mp_read_int(&r, &i), 0);
    cr_expect_eq(i, -1);
    cr_expect_eq(sr_mp_peek(&r), SR_EPROTO);
    cr_expect_eq(sr_mp_skip(&r), SR_EPROTO);
    cr_expect_eq(sr_mp_left(&r), 4);
    r.p++;
    char small[2];
    cr_expect_eq(sr_mp_read_str_copy(&r, small, sizeof small), SR_ETOOBIG);
    cr_expect_eq(sr_mp_left(&r), 3);
    char ok[3];
    cr_expect_eq(sr_mp_read_str_copy(&r, ok, sizeof ok), 0);
    cr_expect_str_eq(ok, "hi");
    /* uint64 above INT64_MAX does not fit read_int */
    static const uint8_t big[] = {0xcf, 0xff, 0, 0, 0, 0, 0, 0, 0};
    uint8_t *q = heap_copy(big, sizeof big);
    sr_mp_reader_init(&r, q, sizeof big);
    cr_expect_eq(sr_mp_read_int(&r, &i), SR_ERANGE);
    cr_expect_eq(sr_mp_left(&r), sizeof big);
    free(q);
    free(p);
}

Test(core_mp, writer_limit_is_sticky)
{
    struct sr_buf b;
    sr_buf_create(&b, 8);
    struct sr_mp_writer w;
    sr_mp_writer_init(&w, &b);
    sr_mp_write_cstr(&w, "this string is longer than eight bytes");
    int e = sr_mp_writer_error(&w);
    cr_expect(e == SR_ETOOBIG || e == SR_ENOMEM, "%d", e);
    sr_mp_write_nil(&w);
    cr_expect_eq(sr_mp_writer_error(&w), e);
    sr_buf_destroy(&b);
}
