/* Time in microseconds. Protocol cores never read a clock themselves: the
 * driver (or the simulator) passes `now` in, so these are for drivers. */
#ifndef SWIMRING_TIME_H
#define SWIMRING_TIME_H

#include <stdint.h>
#include "swimring/export.h"

typedef uint64_t sr_time_us;  /* a point or span of time in microseconds */

#define SR_US_PER_MS 1000ULL
#define SR_US_PER_S 1000000ULL

/* Monotonic clock (CLOCK_MONOTONIC): for timeouts and intervals. */
SR_API sr_time_us sr_time_mono_us(void);
/* Wall clock (CLOCK_REALTIME) since the Unix epoch: for logs and LWW stamps. */
SR_API sr_time_us sr_time_wall_us(void);
/* Format a wall time as RFC 3339 UTC with milliseconds into `out` (>= 25
 * bytes): "2026-11-22T11:00:00.123Z". Returns `out`. */
SR_API char *sr_time_format_utc(sr_time_us wall, char *out, unsigned long outlen);

#endif
