/* ringctl tls: the RPC TLS of a live node and its certificate exceptions.
 *
 *   ringctl tls [status]                       what is loaded, counters
 *   ringctl tls exceptions [list]              exceptions in force
 *   ringctl tls exceptions add FP --allow expired|weak-signature[,..] --until TIME
 *   ringctl tls exceptions remove FP
 *   ringctl tls fingerprint CERT.pem           the SHA-256 an exception names
 *
 * add and remove are cluster settings: one node spreads them to all. TIME
 * is RFC 3339 UTC (2026-12-01T20:00:00Z) or relative to the node's clock
 * (+30m, +12h, +7d). The admin token, if the node needs one, comes from
 * $SWIMRING_ADMIN_TOKEN. Exit codes: 0 ok, 1 refused, 2 usage, 3 no answer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "live.h"
#include "ringctl.h"
#include "swimring/tls.h"

struct tls_opts {
    const char *node, *until;
    char allow[64];
    bool json;
    int nargs;
    const char *args[4];
};

static void tls_usage(FILE *out)
{
    fprintf(out,
            "usage: ringctl tls [status] [--node ADMIN] [--json]\n"
            "       ringctl tls exceptions [list] [--node ADMIN] [--json]\n"
            "       ringctl tls exceptions add FINGERPRINT --allow expired|weak-signature "
            "--until TIME [--node ADMIN]\n"
            "       ringctl tls exceptions remove FINGERPRINT [--node ADMIN]\n"
            "       ringctl tls fingerprint CERT.pem\n"
            "An exception accepts ONE peer certificate (by its SHA-256) while expired and/or\n"
            "with a weak signature, until TIME (RFC 3339 UTC, or +30m, +12h, +7d; at most %d\n"
            "days). Every node learns it; each use is logged at error level. --allow may be\n"
            "given twice or comma-separated. The admin token comes from $SWIMRING_ADMIN_TOKEN.\n",
            SR_TLS_EXCEPTION_MAX_DAYS);
}

static int opts_parse(int argc, char **argv, struct tls_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->node = "127.0.0.1:8080";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has = i + 1 < argc;
        if (strcmp(a, "--node") == 0 && has) {
            o->node = argv[++i];
        } else if (strcmp(a, "--until") == 0 && has) {
            o->until = argv[++i];
        } else if (strcmp(a, "--allow") == 0 && has) {
            size_t k = strlen(o->allow);
            snprintf(o->allow + k, sizeof o->allow - k, "%s%s", k ? "," : "", argv[++i]);
        } else if (strcmp(a, "--json") == 0) {
            o->json = true;
        } else if (a[0] == '-' && a[1] == '-') {
            fprintf(stderr, "ringctl tls: unknown option %s\n", a);
            return RINGCTL_USAGE;
        } else if (o->nargs < 4) {
            o->args[o->nargs++] = a;
        } else {
            return RINGCTL_USAGE;
        }
    }
    return 0;
}

static const char *jstr(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

static void status_table(json_t *j)
{
    if (!json_is_true(json_object_get(j, "enabled"))) {
        printf("tls         off (plain TCP between nodes)\n");
        return;
    }
    json_t *c = json_object_get(j, "certificate"), *s = json_object_get(j, "stats");
    printf("certificate %s\n            %s, issued by %s\n", jstr(c, "fingerprint"),
           jstr(c, "subject"), jstr(c, "issuer"));
    printf("valid       %s .. %s\n", jstr(c, "not_before"), jstr(c, "not_after"));
    printf("files       %s %s %s (loaded %s)\n", jstr(c, "cert_file"), jstr(c, "key_file"),
           jstr(c, "ca_file"), jstr(c, "loaded_at"));
    printf("handshakes  %lld ok, %lld failed; refused %lld untrusted, %lld expired, %lld weak\n",
           json_integer_value(json_object_get(s, "handshakes")),
           json_integer_value(json_object_get(s, "handshake_failures")),
           json_integer_value(json_object_get(s, "refused_untrusted")),
           json_integer_value(json_object_get(s, "refused_expired")),
           json_integer_value(json_object_get(s, "refused_weak")));
    printf("exceptions  %lld in force, used %lld times\n",
           json_integer_value(json_object_get(j, "exceptions")),
           json_integer_value(json_object_get(s, "exceptions_used")));
    printf("reloads     %lld ok, %lld refused\n", json_integer_value(json_object_get(s, "reloads")),
           json_integer_value(json_object_get(s, "reload_failures")));
}

static void exceptions_table(json_t *j)
{
    size_t i;
    json_t *e;
    printf("%-64s  %-22s %-24s %s\n", "FINGERPRINT", "ALLOW", "UNTIL", "ORIGIN");
    json_array_foreach(json_object_get(j, "exceptions"), i, e)
        printf("%-64s  %-22s %-24s %s\n", jstr(e, "fingerprint"), jstr(e, "allow"),
               jstr(e, "until"), jstr(e, "origin"));
}

/* One admin call; prints the answer as a table or JSON. */
static int call(const struct tls_opts *o, const char *method, const char *path, const char *body,
                void (*table)(json_t *))
{
    int st;
    json_t *j = live_call(o->node, method, path, body, &st);
    int rc = st < 0 ? RINGCTL_UNREACHABLE : st / 100 == 2 ? RINGCTL_OK : RINGCTL_FAIL;
    if (rc == RINGCTL_OK && j) {
        if (o->json)
            live_print_json(j);
        else
            table(j);
    }
    json_decref(j);
    return rc;
}

static int check_fp(const char *fp)
{
    uint8_t raw[SR_TLS_FP_LEN];
    if (fp && sr_tls_fp_parse(fp, raw) == 0)
        return 0;
    fprintf(stderr, "ringctl tls: '%s' is not a SHA-256 fingerprint (64 hex digits, colons "
                    "allowed; `ringctl tls fingerprint CERT.pem` prints one)\n", fp ? fp : "");
    return RINGCTL_USAGE;
}

static int exceptions_add(const struct tls_opts *o)
{
    uint32_t allow;
    int64_t until;
    if (check_fp(o->args[2]) != 0)
        return RINGCTL_USAGE;
    if (sr_tls_allow_parse(o->allow, &allow) < 0 || !o->until ||
        sr_tls_time_parse(o->until, 0, &until) < 0) {
        fprintf(stderr, "ringctl tls: add needs --allow expired|weak-signature and --until "
                        "TIME (RFC 3339 UTC or +N{s,m,h,d})\n");
        return RINGCTL_USAGE;
    }
    json_t *body = json_pack("{s:s, s:s, s:s}", "fingerprint", o->args[2], "allow", o->allow,
                             "until", o->until);
    char *text = json_dumps(body, JSON_COMPACT);
    int rc = call(o, "POST", "/admin/tls/exceptions", text, exceptions_table);
    free(text);
    json_decref(body);
    return rc;
}

static int exceptions_remove(const struct tls_opts *o)
{
    if (check_fp(o->args[2]) != 0)
        return RINGCTL_USAGE;
    char path[160];
    snprintf(path, sizeof path, "/admin/tls/exceptions?fingerprint=%s", o->args[2]);
    return call(o, "DELETE", path, NULL, exceptions_table);
}

static int fingerprint(const struct tls_opts *o)
{
    uint8_t fp[SR_TLS_FP_LEN];
    char hex[SR_TLS_FP_HEX];
    if (o->nargs < 2) {
        tls_usage(stderr);
        return RINGCTL_USAGE;
    }
    if (sr_tls_fp_file(o->args[1], fp) < 0) {
        fprintf(stderr, "ringctl tls: no PEM certificate in %s\n", o->args[1]);
        return RINGCTL_FAIL;
    }
    printf("%s\n", sr_tls_fp_format(fp, hex));
    return RINGCTL_OK;
}

static int run_tls(int argc, char **argv)
{
    struct tls_opts o;
    int rc = opts_parse(argc, argv, &o);
    if (rc)
        return rc;
    const char *what = o.nargs ? o.args[0] : "status";
    const char *verb = o.nargs > 1 ? o.args[1] : "list";
    if (strcmp(what, "status") == 0)
        return call(&o, "GET", "/admin/tls", NULL, status_table);
    if (strcmp(what, "fingerprint") == 0)
        return fingerprint(&o);
    if (strcmp(what, "exceptions") == 0 && strcmp(verb, "list") == 0)
        return call(&o, "GET", "/admin/tls/exceptions", NULL, exceptions_table);
    if (strcmp(what, "exceptions") == 0 && strcmp(verb, "add") == 0)
        return exceptions_add(&o);
    if (strcmp(what, "exceptions") == 0 && strcmp(verb, "remove") == 0)
        return exceptions_remove(&o);
    tls_usage(stderr);
    return RINGCTL_USAGE;
}

const struct ringctl_cmd ringctl_cmd_tls = {
    .name = "tls",
    .summary = "RPC TLS of a node; certificate exceptions (list, add, remove)",
    .run = run_tls,
    .usage = tls_usage,
};
