/* ringctl geo: which S2 cell (the geo service's shard) serves a place.
 *
 *   ringctl geo cell LAT LNG [--level L] [--node HOST:PORT]
 *       the cell id (decimal) and token; with --node also the member that
 *       owns the level-12 cell, asked from that node (GET /v1/geo/cells/TOKEN)
 *   ringctl geo cover LAT LNG RADIUS_M
 *       the level-12 cells that intersect the circle, "id<TAB>token" per
 *       line, sorted by id (what a nearby query asks)
 *
 * Offline except --node. Input is checked like the service checks it. */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "swimring/error.h"
#include "swimring/s2.h"
#include "live.h"
#include "ringctl.h"

#define GEO_LEVEL 12
#define COVER_MAX 1000000

static void geo_usage(FILE *out)
{
    fprintf(out, "usage: ringctl geo cell LAT LNG [--level L] [--node HOST:PORT]\n"
                 "       ringctl geo cover LAT LNG RADIUS_M\n"
                 "cell: the S2 cell id and token of a point (level 12 = the geo shard);\n"
                 "      --node: also the member owning its level-12 cell.\n"
                 "cover: the level-12 cells a circle touches, id<TAB>token, sorted by id.\n");
}

static bool number(const char *s, double lo, double hi, double *out)
{
    char *end;
    *out = strtod(s, &end);
    return *s && *end == '\0' && isfinite(*out) && *out >= lo && *out <= hi;
}

static int bad(const char *what, const char *v)
{
    fprintf(stderr, "ringctl geo: bad %s '%s'\n", what, v);
    return RINGCTL_USAGE;
}

/* The owner of the level-12 cell from a node running the geo service. */
static int print_owner(const char *node, uint64_t cell12)
{
    char tok[SR_S2_TOKEN_MAX], path[64];
    int st;
    sr_s2_cell_to_token(cell12, tok);
    snprintf(path, sizeof path, "/v1/geo/cells/%s", tok);
    json_t *j = live_call(node, "GET", path, NULL, &st);
    const char *owner = json_string_value(json_object_get(j, "owner"));
    if (!owner) {
        fprintf(stderr, "ringctl geo: %s did not name an owner (HTTP %d; geo service on?)\n",
                node, st);
        json_decref(j);
        return st < 0 ? RINGCTL_UNREACHABLE : RINGCTL_FAIL;
    }
    printf("\t%s", owner);
    json_decref(j);
    return RINGCTL_OK;
}

/* Options may come anywhere; "-122.4" is a longitude, not an option, so
 * this is parsed by hand rather than with getopt. */
static int run_cell(int argc, char **argv)
{
    double lat, lng, lv = GEO_LEVEL;
    const char *node = NULL, *pos[2];
    int npos = 0;
    for (int i = 1; i < argc; i++) {
        bool has_val = i + 1 < argc;
        if (strcmp(argv[i], "--level") == 0 && has_val) {
            if (!number(argv[++i], 0, SR_S2_MAX_LEVEL, &lv) || lv != floor(lv))
                return bad("--level (0..30)", argv[i]);
        } else if (strcmp(argv[i], "--node") == 0 && has_val) {
            node = argv[++i];
        } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            geo_usage(stdout);
            return RINGCTL_OK;
        } else if (npos < 2 && !(argv[i][0] == '-' && argv[i][1] == '-')) {
            pos[npos++] = argv[i];
        } else {
            geo_usage(stderr);
            return RINGCTL_USAGE;
        }
    }
    if (npos != 2) {
        geo_usage(stderr);
        return RINGCTL_USAGE;
    }
    if (!number(pos[0], -90, 90, &lat))
        return bad("LAT (-90..90)", pos[0]);
    if (!number(pos[1], -180, 180, &lng))
        return bad("LNG (-180..180)", pos[1]);
    uint64_t id = sr_s2_cell_from_latlng(lat, lng, (int)lv);
    char tok[SR_S2_TOKEN_MAX];
    sr_s2_cell_to_token(id, tok);
    printf("%" PRIu64 "\t%s", id, tok);
    int rc = node ? print_owner(node, sr_s2_cell_from_latlng(lat, lng, GEO_LEVEL)) : RINGCTL_OK;
    putchar('\n');
    return fflush(stdout) == 0 ? rc : RINGCTL_FAIL;
}

static int run_cover(int argc, char **argv)
{
    double lat, lng, r;
    if (argc != 4) {
        geo_usage(stderr);
        return RINGCTL_USAGE;
    }
    if (!number(argv[1], -90, 90, &lat))
        return bad("LAT (-90..90)", argv[1]);
    if (!number(argv[2], -180, 180, &lng))
        return bad("LNG (-180..180)", argv[2]);
    if (!number(argv[3], 0, 1e8, &r) || r <= 0)
        return bad("RADIUS_M (> 0)", argv[3]);
    sr_s2_cap cap = sr_s2_cap_from_latlng_m(lat, lng, r);
    uint64_t *cells = malloc(COVER_MAX * sizeof(*cells));
    int n = cells ? sr_s2_cap_cover(&cap, GEO_LEVEL, cells, COVER_MAX) : SR_ENOMEM;
    if (n < 0) {
        fprintf(stderr, "ringctl geo: cover: %s\n", sr_strerror(n));
        free(cells);
        return RINGCTL_FAIL;
    }
    char tok[SR_S2_TOKEN_MAX];
    for (int i = 0; i < n; i++) {
        sr_s2_cell_to_token(cells[i], tok);
        printf("%" PRIu64 "\t%s\n", cells[i], tok);
    }
    free(cells);
    return fflush(stdout) == 0 ? RINGCTL_OK : RINGCTL_FAIL;
}

static int run_geo(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "cell") == 0)
        return run_cell(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "cover") == 0)
        return run_cover(argc - 1, argv + 1);
    if (argc >= 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
        geo_usage(stdout);
        return RINGCTL_OK;
    }
    geo_usage(stderr);
    return RINGCTL_USAGE;
}

const struct ringctl_cmd ringctl_cmd_geo = {
    .name = "geo",
    .summary = "S2 cell of a point and the cells covering a circle (geo shards)",
    .run = run_geo,
    .usage = geo_usage,
};
