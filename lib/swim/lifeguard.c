#include "swim/lifeguard.h"

#include <math.h>

sr_time_us sr_swim_suspicion_min_us(uint32_t mult, uint32_t n, sr_time_us period)
{
    double scale = log10(n > 1 ? (double)n : 1.0);
    if (scale < 1.0)
        scale = 1.0;
    return (sr_time_us)((double)mult * scale * (double)period);
}

sr_time_us sr_swim_suspicion_max_us(uint32_t max_mult, sr_time_us min)
{
    return (sr_time_us)max_mult * min;
}

uint32_t sr_swim_suspicion_k(uint32_t mult, uint32_t n)
{
    uint32_t k = mult > 2 ? mult - 2 : 0;
    if (n < 2 || n - 2 < k)
        return 0;
    return k;
}

sr_time_us sr_swim_suspicion_timeout_us(uint32_t confirmations, uint32_t k,
                                        sr_time_us min, sr_time_us max)
{
    if (k == 0 || max <= min)
        return min;
    double frac = log((double)confirmations + 1.0) / log((double)k + 1.0);
    double raw = (double)max - frac * (double)(max - min);
    sr_time_us t = raw <= (double)min ? min : (sr_time_us)raw;
    t -= t % SR_US_PER_MS;
    return t < min ? min : t;
}

uint32_t sr_swim_retransmit_limit(uint32_t mult, uint32_t n)
{
    uint32_t scale = (uint32_t)ceil(log10((double)n + 1.0));
    uint32_t limit = mult * scale;
    return limit ? limit : 1;
}

sr_time_us sr_swim_awareness_scale(sr_time_us timeout, uint32_t score)
{
    return timeout * ((sr_time_us)score + 1);
}

uint32_t sr_swim_awareness_apply(uint32_t score, int delta, uint32_t max)
{
    int64_t v = (int64_t)score + delta;
    int64_t hi = max > 0 ? (int64_t)max - 1 : 0;
    if (v < 0)
        v = 0;
    if (v > hi)
        v = hi;
    return (uint32_t)v;
}
