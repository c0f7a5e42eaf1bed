/* Error table: names, messages, unknown codes. */
#include <criterion/criterion.h>
#include <string.h>
#include "swimring/error.h"

Test(core_error, every_code_has_a_name_and_message)
{
#define CHECK(name, val, msg)                                                  \
    cr_expect_str_eq(sr_err_name(val), "SR_" #name);                           \
    cr_expect_str_eq(sr_strerror(val), msg);                                   \
    cr_expect_lt(val, 0);
    SR_ERRNO_MAP(CHECK)
#undef CHECK
}

Test(core_error, unknown_codes)
{
    cr_expect_str_eq(sr_strerror(0 - 1000), "unknown error");
    cr_expect_str_eq(sr_err_name(0 - 1000), "SR_UNKNOWN");
    cr_expect_str_eq(sr_err_name(1), "SR_UNKNOWN");
}

Test(core_error, values_are_distinct)
{
    static const int v[] = {
#define VAL(name, val, msg) val,
        SR_ERRNO_MAP(VAL)
#undef VAL
    };
    size_t n = sizeof v / sizeof v[0];
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++)
            cr_expect_neq(v[i], v[j]);
}
