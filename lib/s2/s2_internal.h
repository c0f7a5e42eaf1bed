/* Private helpers shared by the S2 files. Each formula repeats S2's own
 * order of floating-point operations, because a cell id is decided by the
 * last bit of a division: a reordered sum would put points on a boundary
 * into the neighbouring cell and break agreement with S2. */
#ifndef SR_S2_INTERNAL_H
#define SR_S2_INTERNAL_H

#include <float.h>
#include <math.h>
#include "swimring/s2.h"

/* A cell decoded once for geometry: its face and (u, v) rectangle. */
typedef struct sr_s2_cellgeo {
    int face;
    int level;
    double u[2];  /* lo, hi */
    double v[2];
} sr_s2_cellgeo;

static inline double sr_s2_dot(sr_s2_point a, sr_s2_point b) {
    return a.x * b.x + a.y * b.y + a.z * b.z;
}

static inline sr_s2_point sr_s2_cross(sr_s2_point a, sr_s2_point b) {
    sr_s2_point r = {a.y * b.z - a.z * b.y, a.z * b.x - a.x * b.z,
                     a.x * b.y - a.y * b.x};
    return r;
}

/* S2's Normalize multiplies by the reciprocal of the norm (not divides):
 * the vertices it tests against a cap differ in the last bit otherwise. */
static inline sr_s2_point sr_s2_normalize(sr_s2_point p) {
    double n = sqrt(sr_s2_dot(p, p));
    if (n != 0.0) n = 1.0 / n;
    sr_s2_point r = {p.x * n, p.y * n, p.z * n};
    return r;
}

/* (u, v) of a point projected onto `face` (S2's ValidFaceXYZtoUV). */
static inline void sr_s2_face_xyz_to_uv(int face, sr_s2_point p, double *u,
                                        double *v) {
    switch (face) {
    case 0: *u = p.y / p.x; *v = p.z / p.x; break;
    case 1: *u = -p.x / p.y; *v = p.z / p.y; break;
    case 2: *u = -p.x / p.z; *v = -p.y / p.z; break;
    case 3: *u = p.z / p.x; *v = p.y / p.x; break;
    case 4: *u = p.z / p.y; *v = -p.x / p.y; break;
    default: *u = -p.y / p.z; *v = -p.x / p.z; break;
    }
}

/* Decodes a valid cell into its face and (u, v) bounds. */
void sr_s2_cellgeo_init(sr_s2_cellgeo *g, uint64_t id);
/* The same from a cell's face, level and lowest leaf coordinates. */
void sr_s2_cellgeo_from_fij(sr_s2_cellgeo *g, int face, int i_lo, int j_lo, int level);

/* A cell as face, level and its lowest leaf coordinates (multiples of the
 * cell's size): neighbours in this form are found by adding the size,
 * with no Hilbert encoding, which is what makes the flood fill cheap. */
typedef struct sr_s2_fij {
    int face, i, j;
} sr_s2_fij;

sr_s2_fij sr_s2_fij_from_cell(uint64_t id);
uint64_t sr_s2_fij_to_cell(sr_s2_fij c, int level);
/* Edge neighbour k (down, right, up, left) as sr_s2_cell_edge_neighbors
 * gives it; across a face edge it goes through the wrapping code. */
sr_s2_fij sr_s2_fij_neighbor(sr_s2_fij c, int level, int k);
/* Vertex k (0..3, CCW from lower left), not normalized. */
sr_s2_point sr_s2_cellgeo_vertex_raw(const sr_s2_cellgeo *g, int k);

#endif
