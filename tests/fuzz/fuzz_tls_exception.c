/* libFuzzer target for the certificate exception text (tls.exceptions in
 * the config, and the "tlsx/<fingerprint>" cluster settings that arrive from
 * peers). Any byte string must be refused or yield exceptions whose text
 * forms (fingerprint, allowance, time) parse back to the same values.
 * Build: cmake -DSWIMRING_FUZZ=ON -DCMAKE_C_COMPILER=clang; seeds live in
 * tests/fuzz/seeds/fuzz_tls_exception/. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "swimring/time.h"
#include "swimring/tls.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void round_trip(const struct sr_tls_exception *e)
{
    char fp[SR_TLS_FP_HEX], allow[64], when[40];
    uint8_t fp2[SR_TLS_FP_LEN];
    uint32_t allow2;
    int64_t until2;
    if (sr_tls_fp_parse(sr_tls_fp_format(e->fp, fp), fp2) != 0 ||
        memcmp(fp2, e->fp, SR_TLS_FP_LEN) != 0)
        abort();
    if (sr_tls_allow_parse(sr_tls_allow_format(e->allow, allow, sizeof allow), &allow2) != 0 ||
        allow2 != e->allow)
        abort();
    if (e->until_ms < 0)
        abort();
    sr_time_format_utc((sr_time_us)e->until_ms * SR_US_PER_MS, when, sizeof when);
    if (sr_tls_time_parse(when, -1, &until2) != 0 || until2 != e->until_ms)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    struct sr_tls_exception e[SR_TLS_EXCEPTIONS_MAX];
    char err[160];
    int n = sr_tls_exceptions_parse(text, 1800000000000LL, e, SR_TLS_EXCEPTIONS_MAX, err,
                                    sizeof err);
    for (int i = 0; i < n; i++)
        round_trip(&e[i]);
    struct sr_tls_exception one;
    if (sr_tls_exception_parse((const char *)data, size, -1, &one, err, sizeof err) == 0)
        round_trip(&one);
    free(text);
    return 0;
}
