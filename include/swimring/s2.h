/* S2 geometry in plain C: cell ids on the unit sphere, bit-for-bit the
 * same as Google's S2 library (checked against vectors it produced).
 *
 * A point on the sphere goes to a cell id like this:
 *
 *   lat/lng (degrees) -> unit point (x, y, z)
 *   -> face (0..5: the cube face the point's largest axis points at),
 *      (u, v) in [-1, 1]: the point projected onto that face
 *   -> (s, t) in [0, 1]: u, v through S2's quadratic projection, which
 *      makes cells of one level close to equal in area
 *   -> (i, j) in [0, 2^30): leaf-cell coordinates, 30 bits each
 *   -> position along the face's Hilbert curve (60 bits)
 *   -> id = face (3 bits) | position (60 bits) | 1
 *
 *    63    61 60                                               1  0
 *   +-------+--------------------------------------------------+---+
 *   | face  |  Hilbert position: 2 bits per level, 30 levels    | 1 |
 *   +-------+--------------------------------------------------+---+
 *
 * A cell at level L keeps the first 2L position bits, then a 1, then
 * zeros: the lowest set bit says the level. A level-12 cell (about 2 km
 * across) is therefore a 28-bit prefix and its token is 7 hex digits.
 *
 * All functions are pure (no state, no allocation) except
 * sr_s2_cap_cover, which may allocate scratch memory for large coverings.
 * Inputs are not clamped: latitude 90 or longitude 180 are used as given,
 * as S2 does. Angles are in degrees unless the name says radians. */
#ifndef SWIMRING_S2_H
#define SWIMRING_S2_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "swimring/export.h"

#define SR_S2_MAX_LEVEL 30
#define SR_S2_NUM_FACES 6
/* Leaf cells along one side of a face: i and j are in [0, 2^30). */
#define SR_S2_MAX_SIZE (1 << SR_S2_MAX_LEVEL)
/* The Earth's mean radius as S2 (s2earth.h) uses it. */
#define SR_S2_EARTH_RADIUS_M 6371010.0
/* Longest token (16 hex digits) plus the terminating NUL. */
#define SR_S2_TOKEN_MAX 17

/* A point in R^3; on the sphere when unit length. */
typedef struct sr_s2_point {
    double x, y, z;
} sr_s2_point;

/* A point in degrees. */
typedef struct sr_s2_latlng {
    double lat, lng;
} sr_s2_latlng;

/* ---- points and coordinates ------------------------------------------ */

/* The unit point for a latitude and longitude in degrees, computed exactly
 * as S2LatLng::FromDegrees(lat, lng).ToPoint() (no clamping). */
SR_API sr_s2_point sr_s2_point_from_latlng(double lat_deg, double lng_deg);
/* Latitude and longitude in degrees of a (not necessarily unit) point. */
SR_API sr_s2_latlng sr_s2_point_to_latlng(sr_s2_point p);
/* Face 0..5 of a point: the axis of its largest component, +3 if negative. */
SR_API int sr_s2_point_face(sr_s2_point p);
/* Face of a point and its (u, v) projection onto that face. */
SR_API int sr_s2_point_to_face_uv(sr_s2_point p, double *u, double *v);
/* The (not unit length) point at (u, v) on a face. */
SR_API sr_s2_point sr_s2_face_uv_to_point(int face, double u, double v);
/* S2's quadratic projection between u in [-1, 1] and s in [0, 1]. */
SR_API double sr_s2_uv_to_st(double u);
SR_API double sr_s2_st_to_uv(double s);
/* The leaf coordinate in [0, 2^30) of an s (rounded as S2 rounds). */
SR_API int sr_s2_st_to_ij(double s);

/* ---- cell ids --------------------------------------------------------- */

/* Leaf cell (level 30) of face/i/j; i and j must be in [0, 2^30). */
SR_API uint64_t sr_s2_cell_from_face_ij(int face, int i, int j);
/* Face, leaf coordinates (of the leaf at the cell's centre of the Hilbert
 * range) and Hilbert orientation (0..3) of a valid cell; orientation may
 * be NULL. Returns the face. */
SR_API int sr_s2_cell_to_face_ij(uint64_t id, int *i, int *j, int *orientation);
/* Leaf cell containing a point (need not be unit length). */
SR_API uint64_t sr_s2_cell_from_point(sr_s2_point p);
/* Cell at `level` (0..30) containing a latitude/longitude in degrees. */
SR_API uint64_t sr_s2_cell_from_latlng(double lat_deg, double lng_deg, int level);
/* True if `id` is a cell id: face 0..5 and a trailing 1 at an even bit. */
SR_API bool sr_s2_cell_is_valid(uint64_t id);
/* Level 0..30 of a valid cell. */
SR_API int sr_s2_cell_level(uint64_t id);
/* Face 0..5 of a valid cell. */
SR_API int sr_s2_cell_face(uint64_t id);
/* Ancestor of a valid cell at `level` (0..the cell's level). */
SR_API uint64_t sr_s2_cell_parent(uint64_t id, int level);
/* Child k (0..3, in Hilbert order) of a valid non-leaf cell. */
SR_API uint64_t sr_s2_cell_child(uint64_t id, int k);
/* First and last leaf ids inside a cell: a cell's descendants (and the
 * leaves of every point in it) are exactly the ids in [min, max], which
 * lets an index find a cell's contents with one range scan. */
SR_API uint64_t sr_s2_cell_range_min(uint64_t id);
SR_API uint64_t sr_s2_cell_range_max(uint64_t id);
/* The four cells of the same level that share an edge with `id`, in S2's
 * order: down, right, up, left (in the cell's own (i, j) frame; across a
 * cube face edge the neighbour is on the adjacent face). */
SR_API void sr_s2_cell_edge_neighbors(uint64_t id, uint64_t out[4]);

/* ---- tokens ----------------------------------------------------------- */

/* Writes the token of `id` (hex, trailing zero digits dropped; "X" for
 * id 0) into out[SR_S2_TOKEN_MAX]. Returns its length. */
SR_API size_t sr_s2_cell_to_token(uint64_t id, char out[SR_S2_TOKEN_MAX]);
/* Parses a token of `len` bytes (not necessarily NUL-terminated; hex
 * digits of either case). Input is treated as hostile: returns 0 and sets
 * *id on success, SR_EINVAL if it is empty, longer than 16, has a non-hex
 * byte, or does not name a valid cell (so "X", S2's "none", is refused). */
SR_API int sr_s2_cell_from_token(const char *token, size_t len, uint64_t *id);

/* ---- cell geometry ---------------------------------------------------- */

/* The cell's (u, v) bounds on its face: uv[0..1] = u lo/hi, uv[2..3] = v. */
SR_API int sr_s2_cell_bound_uv(uint64_t id, double uv[4]);
/* Unit centre of the cell (the point where it splits into children). */
SR_API sr_s2_point sr_s2_cell_center(uint64_t id);
SR_API sr_s2_latlng sr_s2_cell_center_latlng(uint64_t id);
/* Unit vertices counter-clockwise from the lower left in (u, v). */
SR_API void sr_s2_cell_vertices(uint64_t id, sr_s2_point out[4]);
SR_API void sr_s2_cell_vertices_latlng(uint64_t id, sr_s2_latlng out[4]);
/* A latitude/longitude box containing the cell: lo/hi latitude and a
 * longitude interval from lng_lo eastwards to lng_hi (lng_lo > lng_hi when
 * it crosses the antimeridian; -180..180 when the cell holds a pole).
 * Conservative: the box may be slightly larger than the cell, never
 * smaller (edges of a cell are great-circle arcs, which bulge poleward). */
SR_API void sr_s2_cell_bound_latlng(uint64_t id, double *lat_lo, double *lat_hi,
                                    double *lng_lo, double *lng_hi);

/* ---- distances -------------------------------------------------------- */

/* Angle in radians between two points (need not be unit length), accurate
 * for all angles (atan2 of |a x b| and a . b). */
SR_API double sr_s2_point_angle_rad(sr_s2_point a, sr_s2_point b);
/* Great-circle distance in metres on a sphere of SR_S2_EARTH_RADIUS_M,
 * accurate for all distances (Vincenty's formula on the sphere). */
SR_API double sr_s2_distance_m(double lat1_deg, double lng1_deg,
                               double lat2_deg, double lng2_deg);

/* ---- caps (circles) and coverings ------------------------------------ */

/* A spherical cap: the points within an angle of `center`, the angle held
 * as a squared chord length (S1ChordAngle) exactly as S2Cap holds it. */
typedef struct sr_s2_cap {
    sr_s2_point center;  /* unit length */
    double length2;      /* squared chord of the radius, in [0, 4]; <0 empty */
} sr_s2_cap;

/* The cap around a point with a radius in metres on a sphere of
 * SR_S2_EARTH_RADIUS_M, as S2Cap(center, S1Angle::Radians(m / R)). A
 * negative radius gives an empty cap, a radius beyond half the Earth's
 * circumference the whole sphere. */
SR_API sr_s2_cap sr_s2_cap_from_latlng_m(double lat_deg, double lng_deg,
                                         double radius_m);
SR_API sr_s2_cap sr_s2_cap_from_point_rad(sr_s2_point center, double radius_rad);
/* True if the unit point `p` is in the cap (boundary included). */
SR_API bool sr_s2_cap_contains(const sr_s2_cap *cap, sr_s2_point p);
/* True if the cap and the cell intersect, decided exactly as
 * S2Cap::MayIntersect(S2Cell) decides it: a cell vertex in the cap, the
 * cap centre in the cell, or the cap crossing the inside of a cell edge. */
SR_API bool sr_s2_cap_intersects_cell(const sr_s2_cap *cap, uint64_t id);
/* The covering: every cell of `level` that intersects the cap (in the
 * sense of sr_s2_cap_intersects_cell), sorted by id, written to `out`.
 * Found by flood fill from the cell of the cap centre over edge
 * neighbours, so the work is proportional to the number of cells found.
 * It equals S2RegionCoverer's covering with min_level = max_level =
 * `level` (for any max_cells) and S2RegionCoverer::GetSimpleCovering.
 * Returns the number of cells, SR_EFULL if there are more than `max_cells`
 * (nothing useful in `out` then; the work stops at max_cells), SR_EINVAL
 * for a bad level or an empty cap, SR_ENOMEM. */
SR_API int sr_s2_cap_cover(const sr_s2_cap *cap, int level, uint64_t *out,
                           size_t max_cells);

#endif
