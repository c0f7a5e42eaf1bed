/* Table tests for the pure Lifeguard maths (lib/swim/lifeguard.c), checked
 * against values worked out from memberlist's formulas. */
#include <criterion/criterion.h>
#include "swim/lifeguard.h"

#define S SR_US_PER_S
#define MS SR_US_PER_MS

Test(swim_math, suspicion_min_scales_with_log10_n)
{
    static const struct { uint32_t mult, n; sr_time_us period, want; } rows[] = {
        {4, 0, 1 * S, 4 * S},     /* max(1, log10(max(n,1))) keeps small clusters at mult */
        {4, 1, 1 * S, 4 * S},
        {4, 10, 1 * S, 4 * S},
        {4, 100, 1 * S, 8 * S},
        {4, 1000, 1 * S, 12 * S},
        {5, 1000, 200 * MS, 3 * S},
        {4, 10000, 500 * MS, 8 * S},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
        cr_expect_eq(sr_swim_suspicion_min_us(rows[i].mult, rows[i].n, rows[i].period),
                     rows[i].want, "row %zu", i);
    cr_expect_eq(sr_swim_suspicion_max_us(6, 12 * S), 72 * S);
}

Test(swim_math, suspicion_k_needs_enough_members)
{
    static const struct { uint32_t mult, n, want; } rows[] = {
        {4, 0, 0}, {4, 1, 0}, {4, 3, 0}, {4, 4, 2}, {4, 1000, 2}, {2, 100, 0}, {6, 7, 4}, {6, 5, 0},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
        cr_expect_eq(sr_swim_suspicion_k(rows[i].mult, rows[i].n), rows[i].want, "row %zu", i);
}

Test(swim_math, suspicion_timeout_shrinks_with_confirmations)
{
    /* memberlist suspicion_test.go style: min 2 s, max 30 s, k = 3 */
    static const struct { uint32_t c, k; sr_time_us min, max, want; } rows[] = {
        {0, 3, 2 * S, 30 * S, 30 * S},
        {1, 3, 2 * S, 30 * S, 16 * S},      /* 30 - 28 * log 2 / log 4 = 16 */
        {2, 3, 2 * S, 30 * S, 7810 * MS},   /* 30 - 28 * log 3 / log 4 = 7.8104 */
        {3, 3, 2 * S, 30 * S, 2 * S},
        {4, 3, 2 * S, 30 * S, 2 * S},       /* never below min */
        {5, 0, 2 * S, 30 * S, 2 * S},       /* k = 0: min at once */
        {0, 2, 12 * S, 72 * S, 72 * S},
        {2, 2, 12 * S, 72 * S, 12 * S},
        {1, 2, 5 * S, 5 * S, 5 * S},        /* max == min */
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
        cr_expect_eq(sr_swim_suspicion_timeout_us(rows[i].c, rows[i].k, rows[i].min, rows[i].max),
                     rows[i].want, "row %zu: got %llu", i,
                     (unsigned long long)sr_swim_suspicion_timeout_us(rows[i].c, rows[i].k,
                                                                      rows[i].min, rows[i].max));
}

Test(swim_math, retransmit_limit)
{
    static const struct { uint32_t mult, n, want; } rows[] = {
        {4, 0, 1},    /* ceil(log10(1)) = 0, but at least once */
        {4, 1, 4}, {4, 9, 4}, {4, 10, 8}, {4, 99, 8}, {4, 100, 12}, {4, 1000, 16}, {3, 50, 6},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
        cr_expect_eq(sr_swim_retransmit_limit(rows[i].mult, rows[i].n), rows[i].want, "row %zu", i);
}

Test(swim_math, awareness)
{
    static const struct { uint32_t score; int delta; uint32_t max, want; } rows[] = {
        {0, -1, 8, 0}, {0, 1, 8, 1}, {6, 3, 8, 7}, {7, 1, 8, 7}, {3, -2, 8, 1}, {0, 5, 1, 0},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
        cr_expect_eq(sr_swim_awareness_apply(rows[i].score, rows[i].delta, rows[i].max),
                     rows[i].want, "row %zu", i);
    cr_expect_eq(sr_swim_awareness_scale(500 * MS, 0), 500 * MS);
    cr_expect_eq(sr_swim_awareness_scale(500 * MS, 3), 2 * S);
}
