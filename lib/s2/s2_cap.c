/* Caps (circles on the sphere), cap/cell intersection, coverings by flood
 * fill, distances and lat/lng bounds of cells. The intersection test is
 * S2Cap::MayIntersect(S2Cell) step for step, so the covering is the one
 * Google's S2RegionCoverer returns at a fixed level. */
#include <stdlib.h>
#include <string.h>

#include "s2/s2_internal.h"
#include "swimring/error.h"

/* ---- distances -------------------------------------------------------- */

double sr_s2_point_angle_rad(sr_s2_point a, sr_s2_point b) {
    sr_s2_point c = sr_s2_cross(a, b);
    return atan2(sqrt(sr_s2_dot(c, c)), sr_s2_dot(a, b));
}

double sr_s2_distance_m(double lat1_deg, double lng1_deg, double lat2_deg,
                        double lng2_deg) {
    /* Vincenty's formula on a sphere: atan2 keeps full precision both for
     * tiny distances (where acos loses it) and antipodes (where haversine's
     * asin does). */
    double phi1 = (M_PI / 180) * lat1_deg, phi2 = (M_PI / 180) * lat2_deg;
    double dl = (M_PI / 180) * (lng2_deg - lng1_deg);
    double s1 = sin(phi1), c1 = cos(phi1), s2 = sin(phi2), c2 = cos(phi2);
    double sdl = sin(dl), cdl = cos(dl);
    double a = c2 * sdl;
    double b = c1 * s2 - s1 * c2 * cdl;
    double num = sqrt(a * a + b * b);
    double den = s1 * s2 + c1 * c2 * cdl;
    return atan2(num, den) * SR_S2_EARTH_RADIUS_M;
}

/* ---- caps ------------------------------------------------------------- */

sr_s2_cap sr_s2_cap_from_point_rad(sr_s2_point center, double radius_rad) {
    sr_s2_cap cap;
    cap.center = center;
    if (radius_rad < 0 || radius_rad != radius_rad) {
        cap.length2 = -1; /* empty (S1ChordAngle::Negative) */
    } else {
        /* S1ChordAngle(S1Angle): chord = 2 sin(angle / 2), squared. */
        double length = 2 * sin(0.5 * fmin(M_PI, radius_rad));
        cap.length2 = fmin(4.0, length * length);
    }
    return cap;
}

sr_s2_cap sr_s2_cap_from_latlng_m(double lat_deg, double lng_deg, double radius_m) {
    return sr_s2_cap_from_point_rad(sr_s2_point_from_latlng(lat_deg, lng_deg),
                                    radius_m / SR_S2_EARTH_RADIUS_M);
}

bool sr_s2_cap_contains(const sr_s2_cap *cap, sr_s2_point p) {
    /* S1ChordAngle(center, p) <= radius, in squared chord lengths. */
    sr_s2_point d = {cap->center.x - p.x, cap->center.y - p.y, cap->center.z - p.z};
    double d2 = sr_s2_dot(d, d);
    return (d2 < 4.0 ? d2 : 4.0) <= cap->length2; /* std::min(4.0, d2) */
}

/* S2Cell::Contains(S2Point): p's (u, v) on the cell's face, inside the
 * cell's rectangle grown by DBL_EPSILON so a point is always in the cell
 * its own id names, and in both cells when on their shared edge. */
static bool cell_contains(const sr_s2_cellgeo *g, sr_s2_point p) {
    double c = g->face % 3 == 0 ? p.x : g->face % 3 == 1 ? p.y : p.z;
    if (g->face < 3 ? c <= 0 : c >= 0) return false;
    double u, v;
    sr_s2_face_xyz_to_uv(g->face, p, &u, &v);
    return u >= g->u[0] - DBL_EPSILON && u <= g->u[1] + DBL_EPSILON &&
           v >= g->v[0] - DBL_EPSILON && v <= g->v[1] + DBL_EPSILON;
}

/* Inward normal (not unit) of edge k: bottom, right, top, left. */
static sr_s2_point cell_edge_raw(const sr_s2_cellgeo *g, int k) {
    sr_s2_point n;
    double w;
    bool u_norm = k & 1;
    switch (k) {
    case 0: w = g->v[0]; break;
    case 1: w = g->u[1]; break;
    case 2: w = g->v[1]; break;
    default: w = g->u[0]; break;
    }
    if (u_norm) { /* S2::GetUNorm(face, u) */
        switch (g->face) {
        case 0: n = (sr_s2_point){w, -1, 0}; break;
        case 1: n = (sr_s2_point){1, w, 0}; break;
        case 2: n = (sr_s2_point){1, 0, w}; break;
        case 3: n = (sr_s2_point){-w, 0, 1}; break;
        case 4: n = (sr_s2_point){0, -w, 1}; break;
        default: n = (sr_s2_point){0, -1, -w}; break;
        }
    } else { /* S2::GetVNorm(face, v) */
        switch (g->face) {
        case 0: n = (sr_s2_point){-w, 0, 1}; break;
        case 1: n = (sr_s2_point){0, -w, 1}; break;
        case 2: n = (sr_s2_point){0, -1, -w}; break;
        case 3: n = (sr_s2_point){w, -1, 0}; break;
        case 4: n = (sr_s2_point){1, w, 0}; break;
        default: n = (sr_s2_point){1, 0, w}; break;
        }
    }
    /* Top and left normals point outward as computed: flip them inward. */
    if (k >= 2) {
        n.x = -n.x;
        n.y = -n.y;
        n.z = -n.z;
    }
    return n;
}

/* S2Cap::Intersects(cell, vertices): no vertex is in the cap; they meet
 * only if the centre is in the cell or the cap crosses an edge's inside. */
static bool cap_crosses_cell(const sr_s2_cap *cap, const sr_s2_cellgeo *g,
                             const sr_s2_point vert[4]) {
    /* A cap of a hemisphere or more has a convex complement; that holds
     * all four vertices, hence the whole cell: no intersection. */
    if (cap->length2 >= 2.0) return false;
    if (cap->length2 < 0) return false;
    if (cell_contains(g, cap->center)) return true;
    double l2 = cap->length2;
    double sin2 = l2 * (1 - 0.25 * l2);
    for (int k = 0; k < 4; k++) {
        sr_s2_point edge = cell_edge_raw(g, k);
        double dot = sr_s2_dot(cap->center, edge);
        /* Centre on the inner side of this edge: if the cap crosses this
         * edge it also crosses the opposite one, tested in its turn. */
        if (dot > 0) continue;
        /* Whole cap outside this edge's great circle (|edge| not 1). */
        if (dot * dot > sin2 * sr_s2_dot(edge, edge)) return false;
        /* The circle crosses the cap: is the closest approach between the
         * edge's endpoints? */
        sr_s2_point dir = sr_s2_cross(edge, cap->center);
        if (sr_s2_dot(dir, vert[k]) < 0 && sr_s2_dot(dir, vert[(k + 1) & 3]) > 0)
            return true;
    }
    return false;
}

static bool cap_intersects_geo(const sr_s2_cap *cap, const sr_s2_cellgeo *g) {
    sr_s2_point vert[4];
    for (int k = 0; k < 4; k++) {
        vert[k] = sr_s2_normalize(sr_s2_cellgeo_vertex_raw(g, k));
        if (sr_s2_cap_contains(cap, vert[k])) return true;
    }
    return cap_crosses_cell(cap, g, vert);
}

bool sr_s2_cap_intersects_cell(const sr_s2_cap *cap, uint64_t id) {
    sr_s2_cellgeo g;
    sr_s2_cellgeo_init(&g, id);
    return cap_intersects_geo(cap, &g);
}

/* ---- coverings -------------------------------------------------------- */

/* Open-addressing set of the cells the flood fill has already tested,
 * kept or not, so no cell is tested twice. Small coverings (the common
 * case: a few cells) stay in the inline slots and never allocate. */
#define SEEN_INLINE 128 /* power of two */

typedef struct seen_set {
    uint64_t *slots; /* 0 = free (0 is never a cell id) */
    unsigned bits;   /* log2 of the slot count */
    size_t n;
    uint64_t inline_slots[SEEN_INLINE];
} seen_set;

static void seen_init(seen_set *s) {
    memset(s->inline_slots, 0, sizeof s->inline_slots);
    s->slots = s->inline_slots;
    s->bits = 7;
    s->n = 0;
}

static void seen_free(seen_set *s) {
    if (s->slots != s->inline_slots) free(s->slots);
}

/* Fibonacci hashing: the high bits of id * 2^64/phi mix the cell's
 * position bits well even though low id bits are constant per level. */
static size_t seen_slot(uint64_t id, unsigned bits) {
    return (size_t)((id * 0x9E3779B97F4A7C15ULL) >> (64 - bits));
}

static void seen_put(uint64_t *slots, unsigned bits, uint64_t id) {
    size_t mask = ((size_t)1 << bits) - 1;
    size_t k = seen_slot(id, bits);
    while (slots[k] != 0) k = (k + 1) & mask;
    slots[k] = id;
}

static int seen_grow(seen_set *s) {
    unsigned bits = s->bits + 1;
    uint64_t *slots = calloc((size_t)1 << bits, sizeof *slots);
    if (!slots) return SR_ENOMEM;
    for (size_t k = 0; k < ((size_t)1 << s->bits); k++)
        if (s->slots[k]) seen_put(slots, bits, s->slots[k]);
    seen_free(s);
    s->slots = slots;
    s->bits = bits;
    return 0;
}

/* Adds id; returns 1 if it was new, 0 if already there, SR_ENOMEM. */
static int seen_add(seen_set *s, uint64_t id) {
    size_t mask = ((size_t)1 << s->bits) - 1;
    size_t k = seen_slot(id, s->bits);
    for (; s->slots[k] != 0; k = (k + 1) & mask)
        if (s->slots[k] == id) return 0;
    /* Keep the load under one half so probe runs stay short. */
    if (2 * (s->n + 1) > mask + 1) {
        int rc = seen_grow(s);
        if (rc < 0) return rc;
        seen_put(s->slots, s->bits, id);
    } else {
        s->slots[k] = id;
    }
    s->n++;
    return 1;
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static void sort_ids(uint64_t *ids, size_t n) {
    if (n > 16) {
        qsort(ids, n, sizeof *ids, cmp_u64);
        return;
    }
    for (size_t k = 1; k < n; k++) { /* small n: insertion sort wins */
        uint64_t x = ids[k];
        size_t m = k;
        for (; m > 0 && ids[m - 1] > x; m--) ids[m] = ids[m - 1];
        ids[m] = x;
    }
}

/* Breadth-first flood fill: `out` doubles as the queue. Each kept cell's
 * four edge neighbours are tested once, so the work is about 4 tests per
 * cell of the result. The cells meeting a cap form one edge-connected
 * set (a cap is convex; where it touches diagonal cells only through a
 * shared vertex, that vertex is in the cap and so are all cells around
 * it), so the fill finds them all. */
static uint64_t fij_key(sr_s2_fij c) {
    /* face (3 bits) | i (30) | j (30), with bit 63 set so it is never 0. */
    return 1ULL << 63 | (uint64_t)c.face << 60 | (uint64_t)c.i << 30 | (uint64_t)c.j;
}

static int flood_fill(const sr_s2_cap *cap, int level, uint64_t *out,
                      size_t max_cells, seen_set *seen) {
    uint64_t start = sr_s2_cell_parent(sr_s2_cell_from_point(cap->center), level);
    sr_s2_fij c = sr_s2_fij_from_cell(start);
    int rc = seen_add(seen, fij_key(c));
    if (rc < 0) return rc;
    if (!sr_s2_cap_intersects_cell(cap, start)) return 0; /* see cap_crosses_cell */
    if (max_cells < 1) return SR_EFULL;
    out[0] = start;
    size_t n = 1;
    /* Cells are tested in (face, i, j) form and Hilbert-encoded only when
     * kept; the queue is `out`, decoded back once per kept cell. */
    for (size_t head = 0; head < n; head++) {
        c = sr_s2_fij_from_cell(out[head]);
        for (int k = 0; k < 4; k++) {
            sr_s2_fij nb = sr_s2_fij_neighbor(c, level, k);
            rc = seen_add(seen, fij_key(nb));
            if (rc < 0) return rc;
            if (rc == 0) continue;
            sr_s2_cellgeo g;
            sr_s2_cellgeo_from_fij(&g, nb.face, nb.i, nb.j, level);
            if (!cap_intersects_geo(cap, &g)) continue;
            if (n == max_cells) return SR_EFULL;
            out[n++] = sr_s2_fij_to_cell(nb, level);
        }
    }
    return (int)n;
}

int sr_s2_cap_cover(const sr_s2_cap *cap, int level, uint64_t *out,
                    size_t max_cells) {
    if (!cap || !out || level < 0 || level > SR_S2_MAX_LEVEL) return SR_EINVAL;
    if (!(cap->length2 >= 0)) return SR_EINVAL; /* empty, or NaN */
    if (max_cells > (size_t)0x7fffffff) max_cells = 0x7fffffff;
    seen_set seen;
    seen_init(&seen);
    int n = flood_fill(cap, level, out, max_cells, &seen);
    seen_free(&seen);
    if (n > 0) sort_ids(out, (size_t)n);
    return n;
}
