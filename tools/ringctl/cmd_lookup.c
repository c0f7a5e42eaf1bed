/* ringctl lookup --offline: placement without a cluster. Builds a ring from
 * a members file and prints each key's owner (and replica set with -n), for
 * capacity planning and for checking placement against other nodes or
 * ringpop itself. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/http.h>
#include "live.h"
#include "ringctl.h"
#include "swimring/error.h"
#include "swimring/hashring.h"

#define LOOKUP_N_MAX 1024

struct lookup_opts {
    int offline;
    const char *node;   /* online: a node's admin address */
    const char *members;
    unsigned long points;
    unsigned long n; /* 0: owner only */
};

static void lookup_usage(FILE *out)
{
    fprintf(out,
        "usage: ringctl lookup [--node HOST:PORT] [-n N] [KEY...]\n"
        "       ringctl lookup --offline --members FILE [--points R] [-n N] [KEY...]\n"
        "\n"
        "Prints KEY<TAB>OWNER for each key, or with -n N also a third column\n"
        "with the N distinct members clockwise (owner first, comma-separated).\n"
        "Keys come from the arguments, or one per line from stdin.\n"
        "\n"
        "  --node HOST:PORT ask this node's admin (default 127.0.0.1:8080)\n"
        "  --offline        compute locally, no cluster needed\n"
        "  --members FILE   member addresses, one per line; an optional second\n"
        "                   field is the weight; '#' starts a comment\n"
        "  --points R       replica points per member (default %u)\n"
        "  -n N             replica set size (1..%d)\n",
        SR_RING_POINTS_DEFAULT, LOOKUP_N_MAX);
}

static int parse_ulong(const char *s, unsigned long max, unsigned long *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || s[0] == '-' || v == 0 ||
        v > max)
        return -1;
    *out = v;
    return 0;
}

static int parse_opts(int argc, char **argv, struct lookup_opts *o)
{
    static const struct option longopts[] = {
        {"offline", no_argument, NULL, 'o'},
        {"node", required_argument, NULL, 'N'},
        {"members", required_argument, NULL, 'm'},
        {"points", required_argument, NULL, 'p'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    o->points = SR_RING_POINTS_DEFAULT;
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "+n:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'o': o->offline = 1; break;
        case 'N': o->node = optarg; break;
        case 'm': o->members = optarg; break;
        case 'p':
            if (parse_ulong(optarg, SR_RING_POINTS_MAX, &o->points) < 0) {
                fprintf(stderr, "ringctl lookup: bad --points '%s'\n", optarg);
                return -1;
            }
            break;
        case 'n':
            if (parse_ulong(optarg, LOOKUP_N_MAX, &o->n) < 0) {
                fprintf(stderr, "ringctl lookup: bad -n '%s'\n", optarg);
                return -1;
            }
            break;
        case 'h': lookup_usage(stdout); exit(RINGCTL_OK);
        default:
            fprintf(stderr, "ringctl lookup: bad option '%s'\n",
                    argv[optind - 1]);
            return -1;
        }
    }
    if (!o->offline && (o->members || o->points != SR_RING_POINTS_DEFAULT)) {
        fprintf(stderr, "ringctl lookup: --members and --points need --offline\n");
        return -1;
    }
    if (!o->offline)
        return 0;
    if (o->members == NULL) {
        fprintf(stderr, "ringctl lookup: --members FILE is required\n");
        return -1;
    }
    return 0;
}

static void chomp(char *s)
{
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r'))
        s[--n] = '\0';
}

/* One members-file line: "ADDRESS [WEIGHT]", blank or '#' lines skipped.
 * Returns 1 with *c filled, 0 to skip, -1 on a bad line. */
static int parse_member(char *line, struct sr_ring_change *c)
{
    char *hash = strchr(line, '#');
    if (hash)
        *hash = '\0';
    char *save, *addr = strtok_r(line, " \t\r\n", &save);
    if (addr == NULL)
        return 0;
    *c = (struct sr_ring_change){.op = SR_RING_ADD, .address = addr}; /* no point key */
    char *w = strtok_r(NULL, " \t\r\n", &save);
    if (w != NULL) {
        char *end;
        c->weight = strtod(w, &end);
        if (*end != '\0' || strtok_r(NULL, " \t\r\n", &save) != NULL)
            return -1;
    }
    return 1;
}

static int load_members(struct sr_ring *ring, const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        fprintf(stderr, "ringctl lookup: %s: %s\n", path, strerror(errno));
        return -1;
    }
    char line[1024];
    int rc = 0;
    for (unsigned lineno = 1; rc == 0 && fgets(line, sizeof line, f); lineno++) {
        struct sr_ring_change c;
        int p = parse_member(line, &c);
        if (p == 0)
            continue;
        int err = p < 0 ? SR_EINVAL : sr_ring_apply(ring, &c, 1);
        if (err < 0) {
            fprintf(stderr, "ringctl lookup: %s:%u: bad member line (%s)\n",
                    path, lineno, sr_strerror(err));
            rc = -1;
        }
    }
    fclose(f);
    if (rc == 0 && sr_ring_member_count(ring) == 0) {
        fprintf(stderr, "ringctl lookup: %s: no members\n", path);
        rc = -1;
    }
    return rc;
}

static void print_key(const struct sr_ring *ring, const char *key,
                      unsigned long n, const char **rep)
{
    size_t len = strlen(key);
    printf("%s\t%s", key, sr_ring_lookup(ring, key, len));
    if (n > 0) {
        size_t got = sr_ring_lookup_n(ring, key, len, rep, n);
        for (size_t i = 0; i < got; i++)
            printf("%c%s", i == 0 ? '\t' : ',', rep[i]);
    }
    putchar('\n');
}

/* One key through the node's /admin/lookup. */
static int online_key(const char *node, const char *key, unsigned long n)
{
    char *enc = evhttp_encode_uri(key), path[1200];
    int st;
    snprintf(path, sizeof path, "/admin/lookup?key=%s&n=%lu", enc ? enc : "", n ? n : 1);
    free(enc);
    json_t *j = live_call(node, "GET", path, NULL, &st);
    if (!j || st != 200) {
        json_decref(j);
        return st < 0 ? RINGCTL_UNREACHABLE : RINGCTL_FAIL;
    }
    const char *owner = json_string_value(json_object_get(j, "owner"));
    printf("%s\t%s", key, owner ? owner : "-");
    if (n) {
        size_t i;
        json_t *r;
        printf("\t");
        json_array_foreach(json_object_get(j, "replicas"), i, r)
            printf("%s%s", i ? "," : "", json_string_value(r));
    }
    putchar('\n');
    json_decref(j);
    return RINGCTL_OK;
}

static int run_online(const struct lookup_opts *o, int argc, char **argv)
{
    const char *node = o->node ? o->node : "127.0.0.1:8080";
    int rc = RINGCTL_OK;
    if (o->n > 16) {
        fprintf(stderr, "ringctl lookup: a node answers -n up to 16\n");
        return RINGCTL_USAGE;
    }
    if (optind < argc) {
        for (int i = optind; i < argc && rc == RINGCTL_OK; i++)
            rc = online_key(node, argv[i], o->n);
        return rc;
    }
    char *line = NULL;
    size_t cap = 0;
    while (rc == RINGCTL_OK && getline(&line, &cap, stdin) != -1) {
        chomp(line);
        if (line[0] != '\0')
            rc = online_key(node, line, o->n);
    }
    free(line);
    return rc;
}

static int run_lookup(int argc, char **argv)
{
    struct lookup_opts o = {0};
    if (parse_opts(argc, argv, &o) < 0) {
        lookup_usage(stderr);
        return RINGCTL_USAGE;
    }
    if (!o.offline)
        return run_online(&o, argc, argv);
    struct sr_ring_cfg cfg;
    sr_ring_cfg_default(&cfg);
    cfg.points_per_member = (uint32_t)o.points;
    int err;
    struct sr_ring *ring = sr_ring_new(&cfg, &err);
    if (ring == NULL) {
        fprintf(stderr, "ringctl lookup: %s\n", sr_strerror(err));
        return RINGCTL_FAIL;
    }
    static const char *rep[LOOKUP_N_MAX];
    int rc = RINGCTL_OK;
    if (load_members(ring, o.members) < 0) {
        rc = RINGCTL_FAIL;
    } else if (optind < argc) {
        for (int i = optind; i < argc; i++)
            print_key(ring, argv[i], o.n, rep);
    } else {
        char *line = NULL;
        size_t cap = 0;
        while (getline(&line, &cap, stdin) != -1) {
            chomp(line);
            if (line[0] != '\0')
                print_key(ring, line, o.n, rep);
        }
        free(line);
    }
    sr_ring_delete(ring);
    if (fflush(stdout) != 0)
        rc = RINGCTL_FAIL;
    return rc;
}

const struct ringctl_cmd ringctl_cmd_lookup = {
    .name = "lookup",
    .summary = "owner and replica set of keys (from a node, or --offline from a file)",
    .run = run_lookup,
    .usage = lookup_usage,
};
