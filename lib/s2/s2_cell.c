/* S2 cell ids: coordinates, the Hilbert curve, levels, tokens, neighbours.
 * Every conversion follows S2's own arithmetic (s2coords.h, s2cell_id.cc)
 * so that ids agree bit for bit, including points on cell boundaries. */
#include <math.h>
#include <string.h>

#include "s2/s2_hilbert_table.h"
#include "s2/s2_internal.h"
#include "swimring/error.h"

#define POS_BITS (2 * SR_S2_MAX_LEVEL + 1) /* 61: Hilbert position + 1 */
#define LOOKUP_BITS 4
#define SWAP_MASK 1
#define INVERT_MASK 2

/* ---- points and coordinates ------------------------------------------ */

sr_s2_point sr_s2_point_from_latlng(double lat_deg, double lng_deg) {
    /* S1Angle::Degrees multiplies by (pi / 180), a constant rounded once. */
    double phi = (M_PI / 180) * lat_deg;
    double theta = (M_PI / 180) * lng_deg;
    double cosphi = cos(phi);
    sr_s2_point p = {cos(theta) * cosphi, sin(theta) * cosphi, sin(phi)};
    return p;
}

sr_s2_latlng sr_s2_point_to_latlng(sr_s2_point p) {
    sr_s2_latlng ll;
    ll.lat = atan2(p.z, sqrt(p.x * p.x + p.y * p.y)) * (180 / M_PI);
    ll.lng = atan2(p.y, p.x) * (180 / M_PI);
    return ll;
}

int sr_s2_point_face(sr_s2_point p) {
    double ax = fabs(p.x), ay = fabs(p.y), az = fabs(p.z);
    /* Ties go to the later axis only when strictly larger, as in S2's
     * LargestAbsComponent: a point exactly on a face diagonal keeps S2's
     * face choice. */
    int face = ax > ay ? (ax > az ? 0 : 2) : (ay > az ? 1 : 2);
    double c = face == 0 ? p.x : face == 1 ? p.y : p.z;
    return c < 0 ? face + 3 : face;
}

int sr_s2_point_to_face_uv(sr_s2_point p, double *u, double *v) {
    int face = sr_s2_point_face(p);
    sr_s2_face_xyz_to_uv(face, p, u, v);
    return face;
}

sr_s2_point sr_s2_face_uv_to_point(int face, double u, double v) {
    sr_s2_point p;
    switch (face) {
    case 0: p.x = 1; p.y = u; p.z = v; break;
    case 1: p.x = -u; p.y = 1; p.z = v; break;
    case 2: p.x = -u; p.y = -v; p.z = 1; break;
    case 3: p.x = -1; p.y = -v; p.z = -u; break;
    case 4: p.x = v; p.y = -1; p.z = -u; break;
    default: p.x = v; p.y = u; p.z = -1; break;
    }
    return p;
}

double sr_s2_uv_to_st(double u) {
    if (u >= 0) return 0.5 * sqrt(1 + 3 * u);
    return 1 - 0.5 * sqrt(1 - 3 * u);
}

double sr_s2_st_to_uv(double s) {
    if (s >= 0.5) return (1 / 3.) * (4 * s * s - 1);
    return (1 / 3.) * (1 - 4 * (1 - s) * (1 - s));
}

int sr_s2_st_to_ij(double s) {
    /* S2 rounds with cvtsd2si (round half to even), which is lrint in the
     * default rounding mode; lround would differ on exact halves. */
    long r = lrint((double)SR_S2_MAX_SIZE * s - 0.5);
    if (r < 0) return 0;
    if (r > SR_S2_MAX_SIZE - 1) return SR_S2_MAX_SIZE - 1;
    return (int)r;
}

/* ---- cell ids --------------------------------------------------------- */

uint64_t sr_s2_cell_from_face_ij(int face, int i, int j) {
    /* Walk the Hilbert curve 4 levels at a time, high bits first; the
     * table carries the orientation from one 4-level block to the next. */
    uint64_t n = (uint64_t)face << (POS_BITS - 1);
    unsigned bits = (unsigned)face & SWAP_MASK;
    const unsigned mask = (1u << LOOKUP_BITS) - 1;
    for (int k = 7; k >= 0; k--) {
        bits += (((unsigned)i >> (k * LOOKUP_BITS)) & mask) << (LOOKUP_BITS + 2);
        bits += (((unsigned)j >> (k * LOOKUP_BITS)) & mask) << 2;
        bits = sr_s2_lookup_pos[bits];
        n |= (uint64_t)(bits >> 2) << (k * 2 * LOOKUP_BITS);
        bits &= SWAP_MASK | INVERT_MASK;
    }
    return n * 2 + 1;
}

static inline uint64_t lsb(uint64_t id) {
    return id & (~id + 1);
}

int sr_s2_cell_to_face_ij(uint64_t id, int *pi, int *pj, int *orientation) {
    int face = (int)(id >> (POS_BITS));
    unsigned bits = (unsigned)face & SWAP_MASK;
    unsigned i = 0, j = 0;
    for (int k = 7; k >= 0; k--) {
        /* The top block holds only 2 levels (30 = 7 * 4 + 2). */
        int nbits = k == 7 ? SR_S2_MAX_LEVEL - 7 * LOOKUP_BITS : LOOKUP_BITS;
        bits += (unsigned)((id >> (k * 2 * LOOKUP_BITS + 1)) &
                           ((1u << (2 * nbits)) - 1)) << 2;
        bits = sr_s2_lookup_ij[bits];
        i += (bits >> (LOOKUP_BITS + 2)) << (k * LOOKUP_BITS);
        j += ((bits >> 2) & ((1u << LOOKUP_BITS) - 1)) << (k * LOOKUP_BITS);
        bits &= SWAP_MASK | INVERT_MASK;
    }
    /* Below a non-leaf cell's level the id reads "10 00 00 ...": each "00"
     * pair flips the swap bit, so an odd count of them flips it overall. */
    if (orientation) {
        if (lsb(id) & 0x1111111111111110ULL) bits ^= SWAP_MASK;
        *orientation = (int)bits;
    }
    *pi = (int)i;
    *pj = (int)j;
    return face;
}

uint64_t sr_s2_cell_from_point(sr_s2_point p) {
    double u, v;
    int face = sr_s2_point_to_face_uv(p, &u, &v);
    return sr_s2_cell_from_face_ij(face, sr_s2_st_to_ij(sr_s2_uv_to_st(u)),
                                   sr_s2_st_to_ij(sr_s2_uv_to_st(v)));
}

uint64_t sr_s2_cell_from_latlng(double lat_deg, double lng_deg, int level) {
    uint64_t leaf = sr_s2_cell_from_point(sr_s2_point_from_latlng(lat_deg, lng_deg));
    return sr_s2_cell_parent(leaf, level);
}

bool sr_s2_cell_is_valid(uint64_t id) {
    return (id >> POS_BITS) < SR_S2_NUM_FACES && (lsb(id) & 0x1555555555555555ULL);
}

int sr_s2_cell_level(uint64_t id) {
    return SR_S2_MAX_LEVEL - (__builtin_ctzll(id) >> 1);
}

int sr_s2_cell_face(uint64_t id) {
    return (int)(id >> POS_BITS);
}

static inline uint64_t lsb_for_level(int level) {
    return 1ULL << (2 * (SR_S2_MAX_LEVEL - level));
}

uint64_t sr_s2_cell_parent(uint64_t id, int level) {
    uint64_t new_lsb = lsb_for_level(level);
    return (id & (~new_lsb + 1)) | new_lsb;
}

uint64_t sr_s2_cell_child(uint64_t id, int k) {
    /* Child k starts at id - lsb + lsb/4 and children are lsb/2 apart. */
    uint64_t new_lsb = lsb(id) >> 2;
    return id + (uint64_t)(2 * k + 1) * new_lsb - 4 * new_lsb;
}

uint64_t sr_s2_cell_range_min(uint64_t id) {
    return id - (lsb(id) - 1);
}

uint64_t sr_s2_cell_range_max(uint64_t id) {
    return id + (lsb(id) - 1);
}

/* S2CellId::FromFaceIJWrap: (i, j) may lie one cell beyond the face; the
 * point is rebuilt in (x, y, z) and projected onto whichever face it is
 * on. Linear s = (u + 1) / 2 is fine here (any projection gives the same
 * leaf), and u, v are clamped just outside [-1, 1] so the re-projection
 * cannot move the point by more than it should. */
static uint64_t from_face_ij_wrap(int face, int i, int j) {
    const double scale = 1.0 / SR_S2_MAX_SIZE;
    const double limit = 1.0 + DBL_EPSILON;
    if (i < -1) i = -1;
    if (i > SR_S2_MAX_SIZE) i = SR_S2_MAX_SIZE;
    if (j < -1) j = -1;
    if (j > SR_S2_MAX_SIZE) j = SR_S2_MAX_SIZE;
    double u = scale * (2 * (i - SR_S2_MAX_SIZE / 2) + 1);
    double v = scale * (2 * (j - SR_S2_MAX_SIZE / 2) + 1);
    u = fmax(-limit, fmin(limit, u));
    v = fmax(-limit, fmin(limit, v));
    sr_s2_point p = sr_s2_face_uv_to_point(face, u, v);
    face = sr_s2_point_to_face_uv(p, &u, &v);
    return sr_s2_cell_from_face_ij(face, sr_s2_st_to_ij(0.5 * (u + 1)),
                                   sr_s2_st_to_ij(0.5 * (v + 1)));
}

static uint64_t from_face_ij_same(int face, int i, int j, bool same_face) {
    return same_face ? sr_s2_cell_from_face_ij(face, i, j)
                     : from_face_ij_wrap(face, i, j);
}

void sr_s2_cell_edge_neighbors(uint64_t id, uint64_t out[4]) {
    int i, j;
    int level = sr_s2_cell_level(id);
    int size = 1 << (SR_S2_MAX_LEVEL - level);
    int face = sr_s2_cell_to_face_ij(id, &i, &j, NULL);
    /* (i, j) is a leaf inside the cell; stepping by the cell size lands
     * inside the neighbour, whose ancestor at `level` is the answer. */
    out[0] = sr_s2_cell_parent(from_face_ij_same(face, i, j - size, j - size >= 0), level);
    out[1] = sr_s2_cell_parent(
        from_face_ij_same(face, i + size, j, i + size < SR_S2_MAX_SIZE), level);
    out[2] = sr_s2_cell_parent(
        from_face_ij_same(face, i, j + size, j + size < SR_S2_MAX_SIZE), level);
    out[3] = sr_s2_cell_parent(from_face_ij_same(face, i - size, j, i - size >= 0), level);
}

/* ---- tokens ----------------------------------------------------------- */

size_t sr_s2_cell_to_token(uint64_t id, char out[SR_S2_TOKEN_MAX]) {
    static const char hex[] = "0123456789abcdef";
    if (id == 0) {
        memcpy(out, "X", 2);
        return 1;
    }
    size_t ndigits = 16 - (size_t)(__builtin_ctzll(id) / 4);
    for (size_t k = 0; k < ndigits; k++)
        out[k] = hex[(id >> (60 - 4 * k)) & 0xf];
    out[ndigits] = '\0';
    return ndigits;
}

static int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

int sr_s2_cell_from_token(const char *token, size_t len, uint64_t *id) {
    if (!token || len == 0 || len > 16) return SR_EINVAL;
    uint64_t v = 0;
    for (size_t k = 0; k < len; k++) {
        int d = hex_value(token[k]);
        if (d < 0) return SR_EINVAL;
        v |= (uint64_t)d << (60 - 4 * k);
    }
    if (!sr_s2_cell_is_valid(v)) return SR_EINVAL;
    *id = v;
    return 0;
}

/* ---- cell geometry ---------------------------------------------------- */

void sr_s2_cellgeo_from_fij(sr_s2_cellgeo *g, int face, int i_lo, int j_lo, int level) {
    int size = 1 << (SR_S2_MAX_LEVEL - level);
    g->face = face;
    g->level = level;
    /* (1.0 / 2^30) * i is exact, then through the projection: the same
     * (u, v) S2Cell computes (IJLevelToBoundUV). */
    g->u[0] = sr_s2_st_to_uv((1.0 / SR_S2_MAX_SIZE) * i_lo);
    g->u[1] = sr_s2_st_to_uv((1.0 / SR_S2_MAX_SIZE) * (i_lo + size));
    g->v[0] = sr_s2_st_to_uv((1.0 / SR_S2_MAX_SIZE) * j_lo);
    g->v[1] = sr_s2_st_to_uv((1.0 / SR_S2_MAX_SIZE) * (j_lo + size));
}

void sr_s2_cellgeo_init(sr_s2_cellgeo *g, uint64_t id) {
    sr_s2_fij c = sr_s2_fij_from_cell(id);
    sr_s2_cellgeo_from_fij(g, c.face, c.i, c.j, sr_s2_cell_level(id));
}

sr_s2_fij sr_s2_fij_from_cell(uint64_t id) {
    sr_s2_fij c;
    int size = 1 << (SR_S2_MAX_LEVEL - sr_s2_cell_level(id));
    c.face = sr_s2_cell_to_face_ij(id, &c.i, &c.j, NULL);
    c.i &= -size;
    c.j &= -size;
    return c;
}

uint64_t sr_s2_fij_to_cell(sr_s2_fij c, int level) {
    return sr_s2_cell_parent(sr_s2_cell_from_face_ij(c.face, c.i, c.j), level);
}

sr_s2_fij sr_s2_fij_neighbor(sr_s2_fij c, int level, int k) {
    int size = 1 << (SR_S2_MAX_LEVEL - level);
    int di = k == 1 ? size : k == 3 ? -size : 0;
    int dj = k == 2 ? size : k == 0 ? -size : 0;
    int i = c.i + di, j = c.j + dj;
    if (i >= 0 && j >= 0 && i < SR_S2_MAX_SIZE && j < SR_S2_MAX_SIZE) {
        sr_s2_fij r = {c.face, i, j};
        return r;
    }
    /* Off the face: S2 steps from the cell's decoded leaf (not its lowest
     * one), but any leaf of the cell lands in the same neighbour. */
    return sr_s2_fij_from_cell(sr_s2_cell_parent(from_face_ij_wrap(c.face, i, j), level));
}

sr_s2_point sr_s2_cellgeo_vertex_raw(const sr_s2_cellgeo *g, int k) {
    /* CCW: (u0,v0), (u1,v0), (u1,v1), (u0,v1). */
    int iu = (k >> 1) ^ (k & 1);
    int iv = k >> 1;
    return sr_s2_face_uv_to_point(g->face, g->u[iu], g->v[iv]);
}

int sr_s2_cell_bound_uv(uint64_t id, double uv[4]) {
    sr_s2_cellgeo g;
    sr_s2_cellgeo_init(&g, id);
    uv[0] = g.u[0];
    uv[1] = g.u[1];
    uv[2] = g.v[0];
    uv[3] = g.v[1];
    return g.face;
}

sr_s2_point sr_s2_cell_center(uint64_t id) {
    int i, j;
    int face = sr_s2_cell_to_face_ij(id, &i, &j, NULL);
    /* S2CellId::GetCenterSiTi: the centre in units of half a leaf. The
     * decoded (i, j) is the leaf just above and right of the centre for a
     * non-leaf cell, or just below-left, depending on the curve's
     * direction; bit 1 of the id (the lowest position bit) tells which. */
    int delta = sr_s2_cell_level(id) == SR_S2_MAX_LEVEL ? 1
                : ((i ^ (int)((uint32_t)id >> 2)) & 1) ? 2
                                                        : 0;
    unsigned si = 2u * (unsigned)i + (unsigned)delta;
    unsigned ti = 2u * (unsigned)j + (unsigned)delta;
    double u = sr_s2_st_to_uv((1.0 / (2.0 * SR_S2_MAX_SIZE)) * si);
    double v = sr_s2_st_to_uv((1.0 / (2.0 * SR_S2_MAX_SIZE)) * ti);
    return sr_s2_normalize(sr_s2_face_uv_to_point(face, u, v));
}

sr_s2_latlng sr_s2_cell_center_latlng(uint64_t id) {
    return sr_s2_point_to_latlng(sr_s2_cell_center(id));
}

void sr_s2_cell_vertices(uint64_t id, sr_s2_point out[4]) {
    sr_s2_cellgeo g;
    sr_s2_cellgeo_init(&g, id);
    for (int k = 0; k < 4; k++)
        out[k] = sr_s2_normalize(sr_s2_cellgeo_vertex_raw(&g, k));
}

void sr_s2_cell_vertices_latlng(uint64_t id, sr_s2_latlng out[4]) {
    sr_s2_point v[4];
    sr_s2_cell_vertices(id, v);
    for (int k = 0; k < 4; k++)
        out[k] = sr_s2_point_to_latlng(v[k]);
}

/* Longitude interval [lo, hi] (eastwards, may wrap) holding the four
 * vertex longitudes: for a cell of level >= 1 (under 90 degrees wide) it
 * is the shortest one, which starts at a vertex just after the largest
 * gap between them going round the circle. */
static void lng_interval(const double lng[4], double *lo, double *hi) {
    double s[4];
    memcpy(s, lng, sizeof s);
    for (int k = 1; k < 4; k++) /* sort 4 values */
        for (int m = k; m > 0 && s[m - 1] > s[m]; m--) {
            double t = s[m];
            s[m] = s[m - 1];
            s[m - 1] = t;
        }
    int best = 3; /* gap from s[3] round to s[0] */
    double gap = s[0] + 360 - s[3];
    for (int k = 0; k < 3; k++)
        if (s[k + 1] - s[k] > gap) {
            gap = s[k + 1] - s[k];
            best = k;
        }
    *lo = s[(best + 1) & 3];
    *hi = s[best];
}

void sr_s2_cell_bound_latlng(uint64_t id, double *lat_lo, double *lat_hi,
                             double *lng_lo, double *lng_hi) {
    int face = sr_s2_cell_face(id);
    if (sr_s2_cell_level(id) == 0) {
        /* Whole faces: the equatorial ones reach 45 degrees at their edge
         * midpoints; the polar ones go down to the cube corners' latitude
         * atan(1/sqrt(2)) and round every longitude. */
        const double corner = 35.26438968275465;
        if (face == 2 || face == 5) {
            *lat_lo = face == 2 ? corner - 1e-9 : -90;
            *lat_hi = face == 2 ? 90 : -corner + 1e-9;
            *lng_lo = -180;
            *lng_hi = 180;
        } else {
            double c = face == 0 ? 0 : face == 1 ? 90 : face == 3 ? 180 : -90;
            *lat_lo = -45 - 1e-9;
            *lat_hi = 45 + 1e-9;
            *lng_lo = remainder(c - 45 - 1e-9, 360.0);
            *lng_hi = remainder(c + 45 + 1e-9, 360.0);
        }
        return;
    }
    /* Below level 0, S2 (S2Cell::GetRectBound) notes the extremes of
     * latitude and longitude are at the vertices; the margin covers the
     * rounding of the vertex coordinates. */
    sr_s2_latlng v[4];
    sr_s2_cell_vertices_latlng(id, v);
    double lng[4], margin = 1e-12;
    *lat_lo = *lat_hi = v[0].lat;
    for (int k = 0; k < 4; k++) {
        *lat_lo = fmin(*lat_lo, v[k].lat);
        *lat_hi = fmax(*lat_hi, v[k].lat);
        lng[k] = v[k].lng;
    }
    *lat_lo = fmax(-90, *lat_lo - margin);
    *lat_hi = fmin(90, *lat_hi + margin);
    /* A pole is a vertex of the cells around it: they span all longitudes. */
    if (*lat_hi >= 90 - 1e-9 || *lat_lo <= -90 + 1e-9) {
        *lat_hi = *lat_hi >= 90 - 1e-9 ? 90 : *lat_hi;
        *lat_lo = *lat_lo <= -90 + 1e-9 ? -90 : *lat_lo;
        *lng_lo = -180;
        *lng_hi = 180;
        return;
    }
    lng_interval(lng, lng_lo, lng_hi);
    *lng_lo = remainder(*lng_lo - margin, 360.0);
    *lng_hi = remainder(*lng_hi + margin, 360.0);
}
