/* Growable byte buffers: append, printf, consume, limits. */
#include <criterion/criterion.h>
#include <string.h>
#include "swimring/buf.h"
#include "swimring/error.h"

Test(core_buf, append_grows_and_keeps_bytes)
{
    struct sr_buf b;
    sr_buf_create(&b, 0);
    cr_expect_eq(b.len, 0);
    for (int i = 0; i < 10000; i++) {
        uint8_t c = (uint8_t)i;
        cr_assert_eq(sr_buf_append(&b, &c, 1), 0);
    }
    cr_assert_eq(b.len, 10000);
    for (int i = 0; i < 10000; i++)
        cr_assert_eq(b.data[i], (uint8_t)i);
    sr_buf_destroy(&b);
}

Test(core_buf, printf_appends_text)
{
    struct sr_buf b;
    sr_buf_create(&b, 0);
    cr_assert_geq(sr_buf_printf(&b, "a=%d", 1), 0);
    cr_assert_geq(sr_buf_printf(&b, " b=%s", "two"), 0);
    cr_assert_eq(b.len, strlen("a=1 b=two"));
    cr_expect(memcmp(b.data, "a=1 b=two", b.len) == 0);
    sr_buf_destroy(&b);
}

Test(core_buf, consume_drops_the_front)
{
    struct sr_buf b;
    sr_buf_create(&b, 0);
    cr_assert_eq(sr_buf_append(&b, "hello world", 11), 0);
    sr_buf_consume(&b, 6);
    cr_assert_eq(b.len, 5);
    cr_expect(memcmp(b.data, "world", 5) == 0);
    sr_buf_consume(&b, 5);
    cr_expect_eq(b.len, 0);
    sr_buf_destroy(&b);
}

Test(core_buf, limit_refuses_growth)
{
    struct sr_buf b;
    sr_buf_create(&b, 16);
    cr_assert_eq(sr_buf_append(&b, "0123456789abcdef", 16), 0);
    cr_expect_eq(sr_buf_append(&b, "x", 1), SR_ETOOBIG);
    cr_expect_eq(b.len, 16, "a refused append changes nothing");
    cr_expect_eq(sr_buf_reserve(&b, SIZE_MAX), SR_ETOOBIG);
    sr_buf_destroy(&b);
    sr_buf_create(&b, 0);
    cr_assert_eq(sr_buf_append(&b, "x", 1), 0);
    /* len + extra would wrap: refused before any allocation is tried */
    cr_expect_eq(sr_buf_reserve(&b, SIZE_MAX), SR_ETOOBIG, "overflow is refused");
    sr_buf_destroy(&b);
}
