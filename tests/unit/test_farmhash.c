/* Fingerprint32 against values made by Google's FarmHash (Debian
 * libfarmhash-dev): lengths 0..64, 100 and 1000, two byte patterns. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdint.h>
#include "swimring/farmhash.h"

static void fill(uint8_t *buf, int len, char pattern)
{
    for (int i = 0; i < len; i++)
        buf[i] = pattern == 'b' ? (uint8_t)((i * 31 + 7) & 0xff) : (uint8_t)('a' + i % 26);
}

Test(farmhash, matches_reference_vectors)
{
    FILE *f = fopen(SR_VECTORS_DIR "/farmhash32.tsv", "r");
    cr_assert_not_null(f);
    char line[256];
    int checked = 0;
    while (fgets(line, sizeof(line), f)) {
        if (line[0] == '#')
            continue;
        int len;
        char pattern;
        unsigned want;
        cr_assert_eq(sscanf(line, "%d\t%c\t%u", &len, &pattern, &want), 3);
        uint8_t buf[1000];
        fill(buf, len, pattern);
        cr_expect_eq(sr_farmhash_fingerprint32(buf, (size_t)len), want,
                     "len %d pattern %c", len, pattern);
        checked++;
    }
    fclose(f);
    cr_assert_eq(checked, 134);
}

Test(farmhash, ringpop_ring_checksum)
{
    /* ringpop's ring checksum: Fingerprint32 of the sorted addresses joined
     * by ';'. The placement vector file's header gives 1905934758 for
     * 127.0.0.1:3000..3099. */
    char joined[2048] = "";
    for (int p = 3000; p < 3100; p++) {
        char a[32];
        snprintf(a, sizeof(a), "%s127.0.0.1:%d", p == 3000 ? "" : ";", p);
        strcat(joined, a);
    }
    cr_assert_eq(sr_farmhash_fingerprint32(joined, strlen(joined)), 1905934758u);
}
