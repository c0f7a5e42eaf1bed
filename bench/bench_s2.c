/* S2 benchmarks: level-12 cell ids from lat/lng per second, and level-12
 * coverings of 1 km (and 5 km) circles per second, over random points
 * inside a box around San Francisco and over the whole globe.
 *
 * Prints a human line per figure, then one BENCH JSON line per figure.
 * SWIMRING_BENCH_SECONDS (default 0.5) sets the time per figure. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "swimring/s2.h"
#include "swimring/time.h"

#define NPOINTS 4096

static uint64_t rng_next(uint64_t *s) {
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ULL;
}

static double rng_uniform(uint64_t *s, double lo, double hi) {
    return lo + (hi - lo) * ((double)(rng_next(s) >> 11) / 9007199254740992.0);
}

static void fill(sr_s2_latlng *pts, double lat_lo, double lat_hi, double lng_lo, double lng_hi) {
    uint64_t s = 0x5eed;
    for (int k = 0; k < NPOINTS; k++) {
        pts[k].lat = rng_uniform(&s, lat_lo, lat_hi);
        pts[k].lng = rng_uniform(&s, lng_lo, lng_hi);
    }
}

static void report(const char *name, double ops_per_s, const char *what, double extra,
                   const char *extra_name) {
    printf("%-22s %12.0f %s/s", name, ops_per_s, what);
    if (extra_name) printf("  (%s %.2f)", extra_name, extra);
    printf("\n");
    printf("BENCH {\"name\":\"%s\",\"value\":%.1f,\"unit\":\"ops/s\"", name, ops_per_s);
    if (extra_name) printf(",\"%s\":%.2f", extra_name, extra);
    printf("}\n");
}

/* Runs batches of NPOINTS cell-id computations until `seconds` pass. */
static double bench_cell_id(const sr_s2_latlng *pts, double seconds, uint64_t *sink) {
    uint64_t ops = 0, t0 = sr_time_mono_us(), t;
    do {
        for (int k = 0; k < NPOINTS; k++)
            *sink ^= sr_s2_cell_from_latlng(pts[k].lat, pts[k].lng, 12);
        ops += NPOINTS;
        t = sr_time_mono_us();
    } while ((double)(t - t0) < seconds * 1e6);
    return (double)ops * 1e6 / (double)(t - t0);
}

static double bench_cover(const sr_s2_latlng *pts, double radius_m, double seconds,
                          double *avg_cells) {
    uint64_t out[4096];
    uint64_t ops = 0, cells = 0, t0 = sr_time_mono_us(), t;
    do {
        for (int k = 0; k < 256; k++) {
            const sr_s2_latlng *p = &pts[(ops + (uint64_t)k) % NPOINTS];
            sr_s2_cap cap = sr_s2_cap_from_latlng_m(p->lat, p->lng, radius_m);
            int n = sr_s2_cap_cover(&cap, 12, out, 4096);
            if (n < 0) {
                fprintf(stderr, "cover failed: %d\n", n);
                exit(1);
            }
            cells += (uint64_t)n;
        }
        ops += 256;
        t = sr_time_mono_us();
    } while ((double)(t - t0) < seconds * 1e6);
    *avg_cells = (double)cells / (double)ops;
    return (double)ops * 1e6 / (double)(t - t0);
}

int main(void) {
    const char *env = getenv("SWIMRING_BENCH_SECONDS");
    double seconds = env ? atof(env) : 0.5;
    static sr_s2_latlng sf[NPOINTS], globe[NPOINTS];
    /* 15 x 14.5 km around San Francisco, as the geo benchmark uses. */
    fill(sf, 37.70, 37.83, -122.52, -122.35);
    fill(globe, -90, 90, -180, 180);
    uint64_t sink = 0;
    double avg;

    report("s2.cell_id", bench_cell_id(sf, seconds, &sink), "ids", 0, NULL);
    report("s2.cell_id_globe", bench_cell_id(globe, seconds, &sink), "ids", 0, NULL);
    double r = bench_cover(sf, 1000, seconds, &avg);
    report("s2.cover_1km", r, "coverings", avg, "cells");
    printf("  = %.2f us per 1 km covering\n", 1e6 / r);
    r = bench_cover(globe, 1000, seconds, &avg);
    report("s2.cover_1km_globe", r, "coverings", avg, "cells");
    r = bench_cover(sf, 5000, seconds, &avg);
    report("s2.cover_5km", r, "coverings", avg, "cells");
    return sink == 42; /* keeps the id loop from being optimised away */
}
