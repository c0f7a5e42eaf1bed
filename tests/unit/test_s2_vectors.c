/* Every line of the S2 reference vectors (made by Google's S2 library)
 * must match: cell ids, tokens, faces, leaf ids, the leaf's margin inside
 * its level-12 cell, edge neighbours, and level-12 coverings of circles. */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "swimring/s2.h"

#define MAX_FIELDS 16
#define LINE_MAX_BYTES 65536

typedef struct tsv {
    FILE *f;
    char line[LINE_MAX_BYTES];
    char *field[MAX_FIELDS];
    int nfields;
    int lineno;
} tsv;

static void tsv_open(tsv *t, const char *name) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", SR_VECTORS_DIR, name);
    t->f = fopen(path, "r");
    cr_assert_not_null(t->f, "cannot open %s", path);
    t->lineno = 0;
}

/* Next data line split on tabs; false at end of file. */
static bool tsv_next(tsv *t) {
    while (fgets(t->line, sizeof t->line, t->f)) {
        t->lineno++;
        t->line[strcspn(t->line, "\r\n")] = '\0';
        if (t->line[0] == '#' || t->line[0] == '\0') continue;
        t->nfields = 0;
        char *save = NULL;
        for (char *tok = strtok_r(t->line, "\t", &save); tok && t->nfields < MAX_FIELDS;
             tok = strtok_r(NULL, "\t", &save))
            t->field[t->nfields++] = tok;
        return true;
    }
    return false;
}

/* The leaf's distance, in leaves, to the nearest edge of its level-12
 * cell: min(i - i_lo, i_hi - 1 - i, j - j_lo, j_hi - 1 - j). The
 * reference gives it so a test can tell boundary cases apart. */
static int leaf_margin(uint64_t leaf) {
    int i, j;
    sr_s2_cell_to_face_ij(leaf, &i, &j, NULL);
    int size = 1 << (SR_S2_MAX_LEVEL - 12);
    int di = i & (size - 1), dj = j & (size - 1);
    int m = di;
    if (size - 1 - di < m) m = size - 1 - di;
    if (dj < m) m = dj;
    if (size - 1 - dj < m) m = size - 1 - dj;
    return m;
}

Test(s2_vectors, level12_every_line) {
    tsv t;
    tsv_open(&t, "s2-level12.tsv");
    int lines = 0, bad = 0;
    while (tsv_next(&t)) {
        cr_assert_eq(t.nfields, 8, "line %d: %d fields", t.lineno, t.nfields);
        double lat = strtod(t.field[0], NULL), lng = strtod(t.field[1], NULL);
        uint64_t want12 = strtoull(t.field[2], NULL, 10);
        uint64_t want_leaf = strtoull(t.field[5], NULL, 10);
        uint64_t leaf = sr_s2_cell_from_point(sr_s2_point_from_latlng(lat, lng));
        uint64_t id = sr_s2_cell_from_latlng(lat, lng, 12);
        char tok[SR_S2_TOKEN_MAX], nbtoks[4 * SR_S2_TOKEN_MAX + 4] = "";
        sr_s2_cell_to_token(id, tok);
        uint64_t nb[4];
        sr_s2_cell_edge_neighbors(id, nb);
        for (int k = 0; k < 4; k++) {
            char nt[SR_S2_TOKEN_MAX];
            sr_s2_cell_to_token(nb[k], nt);
            if (k) strcat(nbtoks, ",");
            strcat(nbtoks, nt);
        }
        bool ok = id == want12 && leaf == want_leaf && strcmp(tok, t.field[3]) == 0 &&
                  sr_s2_cell_face(id) == atoi(t.field[4]) &&
                  leaf_margin(leaf) == atoi(t.field[6]) && strcmp(nbtoks, t.field[7]) == 0;
        if (!ok) {
            bad++;
            cr_log_error("line %d (%s, %s): got %" PRIu64 " %s leaf %" PRIu64
                         " margin %d nb %s; want %s %s leaf %s margin %s nb %s",
                         t.lineno, t.field[0], t.field[1], id, tok, leaf,
                         leaf_margin(leaf), nbtoks, t.field[2], t.field[3], t.field[5],
                         t.field[6], t.field[7]);
        }
        lines++;
    }
    fclose(t.f);
    cr_log_info("s2-level12.tsv: %d lines, %d mismatches", lines, bad);
    cr_assert_eq(bad, 0, "%d of %d lines differ", bad, lines);
    cr_assert_gt(lines, 1000);
}

/* Parses a comma-separated list of decimal ids. */
static int parse_ids(char *s, uint64_t *ids, int max) {
    int n = 0;
    char *save = NULL;
    for (char *tok = strtok_r(s, ",", &save); tok && n < max; tok = strtok_r(NULL, ",", &save))
        ids[n++] = strtoull(tok, NULL, 10);
    return n;
}

Test(s2_vectors, cover12_every_line) {
    tsv t;
    tsv_open(&t, "s2-cover12.tsv");
    int lines = 0, bad = 0;
    static uint64_t want[4096], got[4096];
    while (tsv_next(&t)) {
        cr_assert_eq(t.nfields, 8, "line %d: %d fields", t.lineno, t.nfields);
        double lat = strtod(t.field[0], NULL), lng = strtod(t.field[1], NULL);
        double radius_m = strtod(t.field[2], NULL);
        int n_want = atoi(t.field[3]);
        /* The covering is the same for any max_cells (same_as_all = 1 and
         * n_cover_default8 = n_cover on every line): a fixed-level
         * covering cannot be coarsened. */
        cr_assert_eq(atoi(t.field[6]), 1);
        cr_assert_eq(atoi(t.field[7]), n_want);
        cr_assert_eq(parse_ids(t.field[4], want, 4096), n_want);
        sr_s2_cap cap = sr_s2_cap_from_latlng_m(lat, lng, radius_m);
        int n = sr_s2_cap_cover(&cap, 12, got, 4096);
        char toks[4096 * 8] = "";
        for (int k = 0; k < n; k++) {
            char tok[SR_S2_TOKEN_MAX];
            sr_s2_cell_to_token(got[k], tok);
            if (k) strcat(toks, ",");
            strcat(toks, tok);
        }
        bool ok = n == n_want && memcmp(got, want, (size_t)n * sizeof *got) == 0 &&
                  strcmp(toks, t.field[5]) == 0;
        if (!ok) {
            bad++;
            cr_log_error("line %d (%s, %s, %s m): got %d cells %s; want %d %s", t.lineno,
                         t.field[0], t.field[1], t.field[2], n, toks, n_want, t.field[5]);
        }
        lines++;
    }
    fclose(t.f);
    cr_log_info("s2-cover12.tsv: %d lines, %d mismatches", lines, bad);
    cr_assert_eq(bad, 0, "%d of %d lines differ", bad, lines);
    cr_assert_gt(lines, 50);
}

/* Extra vectors generated with Google S2 0.10 (Debian libs2-dev) by a
 * throwaway program (see the header line of each file): boundary points
 * at cell vertices and centres of every level, and coverings at levels
 * 10-14 including caps whose edge passes through a cell vertex. */
Test(s2_vectors, extra_points_every_line) {
    tsv t;
    tsv_open(&t, "s2-extra-points.tsv");
    int lines = 0, bad = 0;
    while (tsv_next(&t)) {
        cr_assert_eq(t.nfields, 6, "line %d", t.lineno);
        double lat = strtod(t.field[0], NULL), lng = strtod(t.field[1], NULL);
        int level = atoi(t.field[3]);
        uint64_t leaf = sr_s2_cell_from_point(sr_s2_point_from_latlng(lat, lng));
        uint64_t id = sr_s2_cell_parent(leaf, level);
        char tok[SR_S2_TOKEN_MAX], nbtoks[4 * SR_S2_TOKEN_MAX + 4] = "";
        sr_s2_cell_to_token(id, tok);
        uint64_t nb[4];
        sr_s2_cell_edge_neighbors(id, nb);
        for (int k = 0; k < 4; k++) {
            char nt[SR_S2_TOKEN_MAX];
            sr_s2_cell_to_token(nb[k], nt);
            if (k) strcat(nbtoks, ",");
            strcat(nbtoks, nt);
        }
        if (leaf != strtoull(t.field[2], NULL, 10) || strcmp(tok, t.field[4]) != 0 ||
            strcmp(nbtoks, t.field[5]) != 0) {
            bad++;
            cr_log_error("line %d: got %" PRIu64 " %s %s", t.lineno, leaf, tok, nbtoks);
        }
        lines++;
    }
    fclose(t.f);
    cr_log_info("s2-extra-points.tsv: %d lines, %d mismatches", lines, bad);
    cr_assert_eq(bad, 0);
    cr_assert_gt(lines, 1000);
}

Test(s2_vectors, extra_cover_every_line) {
    tsv t;
    tsv_open(&t, "s2-extra-cover.tsv");
    int lines = 0, bad = 0;
    static uint64_t got[4096];
    static char toks[4096 * 17];
    while (tsv_next(&t)) {
        cr_assert_eq(t.nfields, 6, "line %d", t.lineno);
        sr_s2_cap cap = sr_s2_cap_from_latlng_m(strtod(t.field[0], NULL), strtod(t.field[1], NULL),
                                                strtod(t.field[2], NULL));
        int n = sr_s2_cap_cover(&cap, atoi(t.field[3]), got, 4096);
        toks[0] = '\0';
        for (int k = 0; k < n; k++) {
            char tok[SR_S2_TOKEN_MAX];
            sr_s2_cell_to_token(got[k], tok);
            if (k) strcat(toks, ",");
            strcat(toks, tok);
        }
        if (n != atoi(t.field[4]) || strcmp(toks, t.field[5]) != 0) {
            bad++;
            cr_log_error("line %d: got %d %s", t.lineno, n, toks);
        }
        lines++;
    }
    fclose(t.f);
    cr_log_info("s2-extra-cover.tsv: %d lines, %d mismatches", lines, bad);
    cr_assert_eq(bad, 0);
    cr_assert_gt(lines, 1000);
}
