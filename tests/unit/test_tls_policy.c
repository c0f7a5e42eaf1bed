/* The certificate exception table and the text forms (lib/forward/
 * tls_policy.c): pure functions, the clock passed in. */
#include <criterion/criterion.h>
#include <string.h>
#include "forward/tls_policy.h"
#include "swimring/error.h"
#include "swimring/tls.h"

#define FP_HEX "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
#define DAY_MS (86400LL * 1000)
#define T0 1800000000000LL /* 2027-01-15T08:00:00Z */

Test(tls_policy, fingerprints_parse_both_forms_and_nothing_else)
{
    uint8_t fp[SR_TLS_FP_LEN], fp2[SR_TLS_FP_LEN];
    char out[SR_TLS_FP_HEX];
    cr_assert_eq(sr_tls_fp_parse(FP_HEX, fp), 0);
    cr_expect_str_eq(sr_tls_fp_format(fp, out), FP_HEX);
    cr_assert_eq(sr_tls_fp_parse("00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:"
                                 "00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff", fp2), 0);
    cr_expect_eq(memcmp(fp, fp2, SR_TLS_FP_LEN), 0);
    static const char *const bad[] = {
        "", "00", FP_HEX "0", "g0112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
        "00-11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff",
        "00112233445566778899aabbccddeeff00112233445566778899aabbccddee f",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_expect_eq(sr_tls_fp_parse(bad[i], fp), SR_EINVAL, "accepted '%s'", bad[i]);
    cr_expect_eq(sr_tls_fp_parse(NULL, fp), SR_EINVAL);
}

Test(tls_policy, allowances)
{
    uint32_t a;
    char out[64];
    cr_assert_eq(sr_tls_allow_parse("expired", &a), 0);
    cr_expect_eq(a, SR_TLS_ALLOW_EXPIRED);
    cr_assert_eq(sr_tls_allow_parse("weak-signature,expired", &a), 0);
    cr_expect_eq(a, SR_TLS_ALLOW_ALL);
    cr_expect_str_eq(sr_tls_allow_format(a, out, sizeof out), "expired,weak-signature");
    static const char *const bad[] = {"", "all", "expired,", ",expired", "expired,all", "EXPIRED",
                                      "untrusted"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_expect_eq(sr_tls_allow_parse(bad[i], &a), SR_EINVAL, "accepted '%s'", bad[i]);
}

Test(tls_policy, times_absolute_and_relative)
{
    int64_t t;
    cr_assert_eq(sr_tls_time_parse("2027-01-15T08:00:00Z", -1, &t), 0);
    cr_expect_eq(t, T0);
    cr_assert_eq(sr_tls_time_parse("2027-01-15T08:00:00.250Z", -1, &t), 0);
    cr_expect_eq(t, T0 + 250);
    cr_assert_eq(sr_tls_time_parse("+90s", T0, &t), 0);
    cr_expect_eq(t, T0 + 90000);
    cr_assert_eq(sr_tls_time_parse("+7d", T0, &t), 0);
    cr_expect_eq(t, T0 + 7 * DAY_MS);
    cr_expect_eq(sr_tls_time_parse("+7d", -1, &t), SR_EINVAL, "relative needs a clock");
    static const char *const bad[] = {"2027-02-30T00:00:00Z", "2027-01-15T08:00:00",
                                      "2027-01-15 08:00:00Z", "2027-01-15T08:00:00+01:00",
                                      "2027-01-15T24:00:00Z", "2027-13-01T00:00:00Z", "+0s",
                                      "+5w", "+s", "+5sx", "1800000000", ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_expect_eq(sr_tls_time_parse(bad[i], T0, &t), SR_EINVAL, "accepted '%s'", bad[i]);
}

Test(tls_policy, one_exception_and_lists_name_the_bad_field)
{
    struct sr_tls_exception e, list[4];
    char err[160];
    const char *text = FP_HEX " expired,weak-signature 2027-01-15T08:00:00Z";
    cr_assert_eq(sr_tls_exception_parse(text, strlen(text), -1, &e, err, sizeof err), 0, "%s", err);
    cr_expect_eq(e.allow, SR_TLS_ALLOW_ALL);
    cr_expect_eq(e.until_ms, T0);
    cr_expect_eq(e.fp[31], 0xff);
    text = FP_HEX " forever 2027-01-15T08:00:00Z";
    cr_expect_eq(sr_tls_exception_parse(text, strlen(text), -1, &e, err, sizeof err), SR_EINVAL);
    cr_expect(strstr(err, "allow") != NULL, "%s", err);
    text = "abc expired 2027-01-15T08:00:00Z";
    cr_expect_eq(sr_tls_exception_parse(text, strlen(text), -1, &e, err, sizeof err), SR_EINVAL);
    cr_expect(strstr(err, "fingerprint") != NULL, "%s", err);
    text = FP_HEX " expired";
    cr_expect_eq(sr_tls_exception_parse(text, strlen(text), -1, &e, err, sizeof err), SR_EINVAL);
    text = FP_HEX " expired +1d";
    cr_expect_eq(sr_tls_exception_parse(text, strlen(text), -1, &e, err, sizeof err), SR_EINVAL);
    cr_expect(strstr(err, "until") != NULL, "%s", err);

    const char *two = " " FP_HEX " expired 2027-01-15T08:00:00Z ;; "
                      "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100 "
                      "weak-signature 2027-01-16T08:00:00Z ; ";
    cr_expect_eq(sr_tls_exceptions_parse(two, -1, list, 4, err, sizeof err), 2, "%s", err);
    cr_expect_eq(list[1].allow, SR_TLS_ALLOW_WEAK);
    cr_expect_eq(sr_tls_exceptions_parse(two, -1, list, 1, err, sizeof err), SR_EFULL);
    cr_expect_eq(sr_tls_exceptions_parse("  ", -1, list, 4, err, sizeof err), 0);
    cr_expect_eq(sr_tls_exceptions_parse(FP_HEX " expired 2027-01-15T08:00:00Z; junk", -1, list,
                                         4, err, sizeof err), SR_EINVAL);
    cr_expect(strstr(err, "exception 2") != NULL, "%s", err);
}

static struct sr_tls_exception exc(uint8_t first, uint32_t allow, int64_t until)
{
    struct sr_tls_exception e = {.allow = allow, .until_ms = until};
    e.fp[0] = first;
    return e;
}

Test(tls_policy, table_matches_one_fingerprint_for_its_allowance_until_its_time)
{
    struct sr_tls_policy p = {0};
    struct sr_tls_exception e = exc(1, SR_TLS_ALLOW_EXPIRED, T0 + 1000);
    cr_assert_eq(sr_tls_policy_set(&p, &e, T0), 0);
    uint8_t fp[SR_TLS_FP_LEN] = {1}, other[SR_TLS_FP_LEN] = {2};
    cr_expect_not_null(sr_tls_policy_match(&p, fp, SR_TLS_ALLOW_EXPIRED, T0 + 999));
    cr_expect_null(sr_tls_policy_match(&p, fp, SR_TLS_ALLOW_WEAK, T0), "not what it allows");
    cr_expect_null(sr_tls_policy_match(&p, other, SR_TLS_ALLOW_EXPIRED, T0), "another certificate");
    cr_expect_null(sr_tls_policy_match(&p, fp, 0, T0), "a problem no exception covers");
    cr_expect_null(sr_tls_policy_match(&p, fp, SR_TLS_ALLOW_EXPIRED, T0 + 1000), "ended");
    cr_expect_eq(p.n, 0, "and dropped");
}

Test(tls_policy, table_refuses_bad_windows_and_replaces_by_fingerprint)
{
    struct sr_tls_policy p = {0};
    struct sr_tls_exception e = exc(1, SR_TLS_ALLOW_EXPIRED, T0);
    cr_expect_eq(sr_tls_policy_set(&p, &e, T0), SR_EINVAL, "until must be ahead");
    e.until_ms = T0 + SR_TLS_EXCEPTION_MAX_DAYS * DAY_MS + 1;
    cr_expect_eq(sr_tls_policy_set(&p, &e, T0), SR_EINVAL, "too far ahead");
    e.until_ms = T0 + DAY_MS;
    e.allow = 0;
    cr_expect_eq(sr_tls_policy_set(&p, &e, T0), SR_EINVAL, "allows nothing");
    e.allow = 0x80;
    cr_expect_eq(sr_tls_policy_set(&p, &e, T0), SR_EINVAL, "unknown bit");
    e.allow = SR_TLS_ALLOW_EXPIRED;
    cr_assert_eq(sr_tls_policy_set(&p, &e, T0), 0);
    e.allow = SR_TLS_ALLOW_WEAK;
    cr_assert_eq(sr_tls_policy_set(&p, &e, T0), 0);
    cr_expect_eq(p.n, 1);
    cr_expect_eq(p.e[0].allow, SR_TLS_ALLOW_WEAK);
    uint8_t fp[SR_TLS_FP_LEN] = {1};
    cr_expect_eq(sr_tls_policy_remove(&p, fp), 0);
    cr_expect_eq(sr_tls_policy_remove(&p, fp), SR_ENOTFOUND);
}

Test(tls_policy, full_table_makes_room_only_from_ended_entries)
{
    struct sr_tls_policy p = {0};
    for (int i = 0; i < SR_TLS_EXCEPTIONS_MAX; i++) {
        struct sr_tls_exception e = exc((uint8_t)(i + 1), SR_TLS_ALLOW_EXPIRED,
                                        T0 + (i == 0 ? 10 : DAY_MS));
        cr_assert_eq(sr_tls_policy_set(&p, &e, T0), 0);
    }
    struct sr_tls_exception extra = exc(200, SR_TLS_ALLOW_EXPIRED, T0 + DAY_MS);
    cr_expect_eq(sr_tls_policy_set(&p, &extra, T0), SR_EFULL);
    cr_expect_eq(sr_tls_policy_set(&p, &extra, T0 + 10), 0, "the first one ended");
    cr_expect_eq(p.n, SR_TLS_EXCEPTIONS_MAX);
    cr_expect_eq(sr_tls_policy_prune(&p, T0 + DAY_MS), SR_TLS_EXCEPTIONS_MAX);
    cr_expect_eq(p.n, 0);
}
