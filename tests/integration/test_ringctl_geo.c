/* ringctl geo cell / cover: the same ids and tokens as Google's S2 (the
 * shared vectors), the owner with --node from a 3-node geo cluster (every
 * node names the same one), bad input -> exit 2. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "swimring/testkit.h"

#define RINGCTL SR_BINARY_DIR "/tools/ringctl/ringctl"
#define RINGD SR_BINARY_DIR "/tools/ringd/ringd"
#define LINES 40

static char out[1 << 16];

/* Run ringctl with `args`; its stdout in out; its exit code. */
static int ringctl(const char *args)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s %s 2>/dev/null", RINGCTL, args);
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p);
    size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static FILE *vectors(const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", SR_VECTORS_DIR, name);
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "%s", path);
    return f;
}

Test(ringctl_geo, cell_matches_s2_vectors)
{
    FILE *f = vectors("s2-level12.tsv");
    char line[1024], lat[64], lng[64], id[32], tok[32], args[256], want[128];
    int n = 0;
    while (n < LINES && fgets(line, sizeof line, f)) {
        if (line[0] == '#' || sscanf(line, "%63s\t%63s\t%31s\t%31s", lat, lng, id, tok) != 4)
            continue;
        snprintf(args, sizeof args, "geo cell %s %s", lat, lng);
        cr_assert_eq(ringctl(args), 0, "%s", args);
        snprintf(want, sizeof want, "%s\t%s\n", id, tok);
        cr_assert_str_eq(out, want, "%s", args);
        n++;
    }
    fclose(f);
    cr_assert_eq(n, LINES);
}

Test(ringctl_geo, cover_matches_s2_vectors)
{
    FILE *f = vectors("s2-cover12.tsv");
    static char line[1 << 16], ids[1 << 15], toks[1 << 15], want[1 << 16];
    char lat[64], lng[64], rad[64], args[256];
    int n = 0, count;
    while (n < LINES && fgets(line, sizeof line, f)) {
        if (line[0] == '#' ||
            sscanf(line, "%63s\t%63s\t%63s\t%d\t%32767s\t%32767s", lat, lng, rad, &count, ids,
                   toks) != 6)
            continue;
        snprintf(args, sizeof args, "geo cover %s %s %s", lat, lng, rad);
        cr_assert_eq(ringctl(args), 0, "%s", args);
        /* want: one "id<TAB>token" line per cell, in the file's (sorted) order */
        size_t w = 0;
        char *si = NULL, *st = NULL;
        char *i = strtok_r(ids, ",", &si), *t = strtok_r(toks, ",", &st);
        for (; i && t; i = strtok_r(NULL, ",", &si), t = strtok_r(NULL, ",", &st))
            w += (size_t)snprintf(want + w, sizeof want - w, "%s\t%s\n", i, t);
        cr_assert_str_eq(out, want, "%s", args);
        n++;
    }
    fclose(f);
    cr_assert_eq(n, LINES);
}

Test(ringctl_geo, bad_input_is_a_usage_error)
{
    const char *bad[] = {"geo", "geo cell", "geo cell 1", "geo cell 91 0", "geo cell 0 181",
                         "geo cell nan 0", "geo cell 0 0 --level 31", "geo cell 0 0 --level 1.5",
                         "geo cover 0 0", "geo cover 0 0 0", "geo cover 0 0 -1", "geo cover x 0 5",
                         "geo frob"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_assert_eq(ringctl(bad[i]), 2, "'%s' accepted", bad[i]);
    cr_assert_eq(ringctl("geo cell 0 0 --level 0"), 0);
    cr_assert_eq(ringctl("geo cell -90 -180"), 0, "exact poles and antimeridian are inputs too");
}

static struct sr_tk_cluster cluster;
static void kill_all(void) { sr_tk_destroy(&cluster); }

Test(ringctl_geo, node_names_the_owner, .timeout = 60, .fini = kill_all)
{
    static const char *const extra[] = {"--services", "geo", "--log-level", "warn", NULL};
    sr_tk_init(&cluster, RINGD, "local");
    cluster.extra = extra;
    cr_assert_eq(sr_tk_start(&cluster, 3, sr_time_mono_us() + 30 * SR_US_PER_S), 0);
    const char *places[] = {"37.77 -122.42", "-33.86 151.2", "0 180", "89.99 10", "51.5 -0.12"};
    for (size_t p = 0; p < sizeof places / sizeof places[0]; p++) {
        char args[256];
        static char first[sizeof out];
        for (size_t i = 0; i < 3; i++) {
            snprintf(args, sizeof args, "geo cell %s --node %s", places[p], cluster.nodes[i].http);
            cr_assert_eq(ringctl(args), 0, "%s", args);
            char *owner = strrchr(out, '\t');
            cr_assert_not_null(owner);
            bool member = false;
            for (size_t k = 0; k < 3; k++)
                member = member || strncmp(owner + 1, cluster.nodes[k].gossip,
                                           strlen(cluster.nodes[k].gossip)) == 0;
            cr_assert(member, "owner '%s' is not a member", owner + 1);
            if (i == 0)
                memcpy(first, out, sizeof out);
            cr_assert_str_eq(out, first, "nodes disagree on the owner");
        }
    }
    char args[128];
    snprintf(args, sizeof args, "geo cell 1 2 --node 127.0.0.1:1");
    cr_assert_eq(ringctl(args), 3, "an unreachable node is exit 3");
}
