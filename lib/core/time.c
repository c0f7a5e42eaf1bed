#include "swimring/time.h"

#include <stdio.h>
#include <time.h>

static sr_time_us read_clock(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (sr_time_us)ts.tv_sec * SR_US_PER_S + (sr_time_us)ts.tv_nsec / 1000;
}

sr_time_us sr_time_mono_us(void) { return read_clock(CLOCK_MONOTONIC); }

sr_time_us sr_time_wall_us(void) { return read_clock(CLOCK_REALTIME); }

char *sr_time_format_utc(sr_time_us wall, char *out, unsigned long outlen)
{
    time_t secs = (time_t)(wall / SR_US_PER_S);
    unsigned ms = (unsigned)((wall % SR_US_PER_S) / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    snprintf(out, outlen, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ",
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
             tm.tm_min, tm.tm_sec, ms);
    return out;
}
