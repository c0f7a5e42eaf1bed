/* ringctl commands against a live node: status, members, ring, checksums,
 * killswitch, leave, top. Human tables by default, --json for scripts.
 * Exit codes: 0 ok, 1 the cluster does not agree (checksums), 2 usage,
 * 3 the node did not answer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "live.h"
#include "swimring/testkit.h"
#include "ringctl.h"

#define BAR_WIDTH 40

static const char *jstr(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

static long jint(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_integer(v) ? (long)json_integer_value(v) : -1;
}

/* GET one admin path, print it as JSON or with `table`. */
static int show(int argc, char **argv, const char *path, void (*table)(json_t *, bool))
{
    struct live_opts o;
    int st, rc = live_parse(argc, argv, &o);
    if (rc)
        return rc;
    json_t *j = live_call(o.node, "GET", path, NULL, &st);
    if (st < 0 || !j) {
        json_decref(j);
        return st < 0 ? RINGCTL_UNREACHABLE : RINGCTL_FAIL;
    }
    if (o.json)
        live_print_json(j);
    else
        table(j, o.color);
    json_decref(j);
    return st / 100 == 2 ? RINGCTL_OK : RINGCTL_FAIL;
}

/* ---- status ---------------------------------------------------------------- */

static void status_table(json_t *j, bool color)
{
    json_t *m = json_object_get(j, "members"), *r = json_object_get(j, "ring");
    (void)color;
    printf("node        %s (%s)\n", jstr(j, "self"), jstr(j, "name"));
    printf("version     %s, up %.0f s%s\n", jstr(j, "version"),
           json_real_value(json_object_get(j, "uptime_s")),
           json_is_true(json_object_get(j, "leaving")) ? ", LEAVING" : "");
    printf("members     %ld alive, %ld suspect, %ld faulty, %ld left\n", jint(m, "alive"),
           jint(m, "suspect"), jint(m, "faulty"), jint(m, "left"));
    printf("ring        %ld members, checksum %ld, %ld changes\n", jint(r, "members"),
           jint(r, "checksum"), jint(r, "changes"));
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(j, "services"), k, v)
        printf("service     %-12s %ld keys\n", k, jint(v, "keys"));
}

static int run_status(int argc, char **argv) { return show(argc, argv, "/admin/status", status_table); }

/* ---- members ----------------------------------------------------------------- */

static void members_table(json_t *j, bool color)
{
    size_t i;
    json_t *m;
    printf("%-22s %-16s %-8s %5s  %s\n", "ADDRESS", "NAME", "STATUS", "INC", "LABELS");
    json_array_foreach(json_object_get(j, "members"), i, m) {
        const char *st = jstr(m, "status");
        const char *on = "", *off = "";
        if (color && strcmp(st, "alive") != 0) {
            on = strcmp(st, "suspect") == 0 ? "\033[33m" : "\033[31m";
            off = "\033[0m";
        }
        printf("%-22s %-16s %s%-8s%s %5ld  ", jstr(m, "address"), jstr(m, "name"), on, st, off,
               jint(m, "incarnation"));
        const char *k;
        json_t *v;
        int first = 1;
        json_object_foreach(json_object_get(m, "labels"), k, v) {
            printf("%s%s=%s", first ? "" : ",", k, json_string_value(v));
            first = 0;
        }
        printf("\n");
    }
    printf("membership checksum %s\n", jstr(j, "checksum"));
}

static int run_members(int argc, char **argv) { return show(argc, argv, "/admin/members", members_table); }

/* ---- ring ------------------------------------------------------------------- */

static int by_fraction(const void *a, const void *b)
{
    double x = json_real_value(json_object_get(*(json_t *const *)a, "fraction"));
    double y = json_real_value(json_object_get(*(json_t *const *)b, "fraction"));
    return x < y ? 1 : x > y ? -1 : 0;
}

static void ring_table(json_t *j, bool color)
{
    json_t *members = json_object_get(j, "members");
    size_t n = json_array_size(members);
    json_t **rows = calloc(n ? n : 1, sizeof(*rows));
    if (!rows)
        return;
    for (size_t i = 0; i < n; i++)
        rows[i] = json_array_get(members, i);
    qsort(rows, n, sizeof(*rows), by_fraction);
    double top = n ? json_real_value(json_object_get(rows[0], "fraction")) : 1;
    printf("%-22s %7s %8s  %s\n", "MEMBER", "POINTS", "OWNS", "");
    for (size_t i = 0; i < n; i++) {
        double f = json_real_value(json_object_get(rows[i], "fraction"));
        int bar = top > 0 ? (int)(f / top * BAR_WIDTH + 0.5) : 0;
        printf("%-22s %7ld %7.2f%%  %s", jstr(rows[i], "address"), jint(rows[i], "points"),
               f * 100.0, color ? "\033[36m" : "");
        for (int b = 0; b < bar; b++)
            fputs(color ? "\u2588" : "#", stdout);
        printf("%s\n", color ? "\033[0m" : "");
    }
    printf("ring checksum %ld, %ld points\n", jint(j, "checksum"), jint(j, "points"));
    free(rows);
}

static int run_ring(int argc, char **argv) { return show(argc, argv, "/admin/ring", ring_table); }

/* ---- checksums ---------------------------------------------------------------- */

/* Ask every member (through its "admin" label) for its ring checksum and
 * group members by it: one group = the cluster agrees. Members the node
 * holds faulty are asked too: one that answers is alive behind a partition
 * and shows up in its own group (ringpop-admin's partition view); one that
 * does not is listed as down and is no disagreement (a node killed and
 * removed from the ring). Alive or suspect members that do not answer are
 * unreachable, and that is a disagreement. */
static int run_checksums(int argc, char **argv)
{
    struct live_opts o;
    int st, rc = live_parse(argc, argv, &o);
    if (rc)
        return rc;
    json_t *m = live_call(o.node, "GET", "/admin/members", NULL, &st);
    if (st < 0 || !m) {
        json_decref(m);
        return RINGCTL_UNREACHABLE;
    }
    json_t *groups = json_object(), *unreachable = json_array(), *down = json_array();
    size_t i;
    json_t *mem;
    json_array_foreach(json_object_get(m, "members"), i, mem) {
        const char *status = jstr(mem, "status");
        bool faulty = strcmp(status, "faulty") == 0;
        if (strcmp(status, "alive") != 0 && strcmp(status, "suspect") != 0 && !faulty)
            continue;
        const char *admin = jstr(json_object_get(mem, "labels"), "admin");
        int s2 = -1;
        json_t *stj = !admin[0] ? NULL
                      : faulty  ? sr_tk_http(admin, "GET", "/admin/status") /* quietly */
                                : live_call(admin, "GET", "/admin/status", NULL, &s2);
        long sum = stj ? jint(json_object_get(stj, "ring"), "checksum") : -1;
        if (sum < 0) {
            json_array_append_new(faulty ? down : unreachable, json_string(jstr(mem, "address")));
        } else {
            char key[24];
            snprintf(key, sizeof key, "%ld", sum);
            json_t *g = json_object_get(groups, key);
            if (!g)
                json_object_set_new(groups, key, g = json_array());
            json_array_append_new(g, json_string(jstr(mem, "address")));
        }
        json_decref(stj);
    }
    size_t ngroups = json_object_size(groups);
    bool agree = ngroups == 1 && json_array_size(unreachable) == 0;
    if (o.json) {
        json_t *out = json_pack("{s:o, s:o, s:o, s:b}", "groups", groups, "unreachable",
                                unreachable, "down", down, "agree", agree);
        live_print_json(out);
        json_decref(out);
    } else {
        const char *k;
        json_t *g;
        json_object_foreach(groups, k, g) {
            printf("checksum %-12s %zu member(s):", k, json_array_size(g));
            json_array_foreach(g, i, mem)
                printf(" %s", json_string_value(mem));
            printf("\n");
        }
        json_array_foreach(unreachable, i, mem)
            printf("unreachable %s\n", json_string_value(mem));
        json_array_foreach(down, i, mem)
            printf("down        %s (faulty, does not answer)\n", json_string_value(mem));
        printf(agree ? "the cluster agrees\n" : "the cluster does NOT agree (%zu groups)\n",
               ngroups);
        json_decref(groups);
        json_decref(unreachable);
        json_decref(down);
    }
    json_decref(m);
    return agree ? RINGCTL_OK : RINGCTL_DISAGREE;
}

/* ---- killswitch ----------------------------------------------------------------- */

static void ks_table(json_t *j, bool color)
{
    size_t i;
    json_t *e;
    (void)color;
    printf("%-24s %-8s %s\n", "ENDPOINT", "MODE", "FILE");
    json_array_foreach(json_object_get(j, "killswitches"), i, e) {
        char name[128];
        snprintf(name, sizeof name, "%s/%s", jstr(e, "service"), jstr(e, "endpoint"));
        printf("%-24s %-8s %s\n", name, jstr(e, "mode"), jstr(e, "file"));
    }
}

static int run_killswitch(int argc, char **argv)
{
    struct live_opts o;
    int st, rc = live_parse(argc, argv, &o);
    if (rc)
        return rc;
    const char *verb = o.nargs ? o.args[0] : "list";
    if (strcmp(verb, "list") == 0)
        return show(argc, argv, "/admin/killswitches", ks_table);
    bool set = strcmp(verb, "set") == 0, clear = strcmp(verb, "clear") == 0;
    const char *slash = o.nargs >= 2 ? strchr(o.args[1], '/') : NULL;
    if ((!set && !clear) || !slash || (set && o.nargs < 3)) {
        fprintf(stderr, "usage: ringctl killswitch [list | set SERVICE/ENDPOINT MODE [FILE] | "
                        "clear SERVICE/ENDPOINT]\n");
        return RINGCTL_USAGE;
    }
    json_t *body = json_pack("{s:s%, s:s, s:s}", "service", o.args[1],
                             (size_t)(slash - o.args[1]), "endpoint", slash + 1, "mode",
                             clear ? "off" : o.args[2]);
    if (set && o.nargs >= 4)
        json_object_set_new(body, "file", json_string(o.args[3]));
    char *text = json_dumps(body, JSON_COMPACT);
    json_t *j = live_call(o.node, "PUT", "/admin/killswitches", text, &st);
    free(text);
    json_decref(body);
    if (j && st == 200) {
        if (o.json)
            live_print_json(j);
        else
            ks_table(j, o.color);
    }
    json_decref(j);
    return st < 0 ? RINGCTL_UNREACHABLE : st == 200 ? RINGCTL_OK : RINGCTL_FAIL;
}

/* ---- leave --------------------------------------------------------------------- */

static int run_leave(int argc, char **argv)
{
    struct live_opts o;
    int st, rc = live_parse(argc, argv, &o);
    if (rc)
        return rc;
    json_t *j = live_call(o.node, "POST", "/admin/leave", NULL, &st);
    if (j && st == 200) {
        if (o.json)
            live_print_json(j);
        else
            printf("%s is leaving the cluster\n", jstr(j, "self"));
    }
    json_decref(j);
    return st < 0 ? RINGCTL_UNREACHABLE : st == 200 ? RINGCTL_OK : RINGCTL_FAIL;
}

/* ---- top ----------------------------------------------------------------------- */

static long req_total(json_t *status)
{
    json_t *r = json_object_get(status, "requests");
    return jint(r, "local") + jint(r, "forwarded");
}

/* Refresh every second until interrupted (or --count N frames). */
static int run_top(int argc, char **argv)
{
    struct live_opts o;
    int st, rc = live_parse(argc, argv, &o);
    if (rc)
        return rc;
    long frames = -1;
    for (int i = 0; i + 1 < o.nargs; i++)
        if (strcmp(o.args[i], "count") == 0)
            frames = strtol(o.args[i + 1], NULL, 10);
    long prev = -1, prev_changes = -1;
    for (long f = 0; frames < 0 || f < frames; f++) {
        json_t *j = live_call(o.node, "GET", "/admin/status", NULL, &st);
        if (!j || st != 200) {
            json_decref(j);
            return st < 0 ? RINGCTL_UNREACHABLE : RINGCTL_FAIL;
        }
        long total = req_total(j), changes = jint(json_object_get(j, "ring"), "changes");
        json_t *m = json_object_get(j, "members");
        if (o.json) {
            json_t *row = json_pack("{s:s, s:I, s:I, s:I, s:I}", "self", jstr(j, "self"),
                                    "alive", (json_int_t)jint(m, "alive"), "requests_per_s",
                                    (json_int_t)(prev < 0 ? 0 : total - prev), "ring_changes",
                                    (json_int_t)(prev_changes < 0 ? 0 : changes - prev_changes),
                                    "ring_members",
                                    (json_int_t)jint(json_object_get(j, "ring"), "members"));
            char *s = json_dumps(row, JSON_COMPACT | JSON_SORT_KEYS);
            printf("%s\n", s ? s : "{}");
            free(s);
            json_decref(row);
        } else {
            if (o.color)
                printf("\033[H\033[2J");
            printf("%s  alive %ld suspect %ld faulty %ld  ring %ld members  %ld req/s  "
                   "%ld ring changes/s\n",
                   jstr(j, "self"), jint(m, "alive"), jint(m, "suspect"), jint(m, "faulty"),
                   jint(json_object_get(j, "ring"), "members"), prev < 0 ? 0 : total - prev,
                   prev_changes < 0 ? 0 : changes - prev_changes);
        }
        fflush(stdout);
        prev = total;
        prev_changes = changes;
        json_decref(j);
        if (frames < 0 || f + 1 < frames) {
            struct timespec ts = {1, 0};
            nanosleep(&ts, NULL);
        }
    }
    return RINGCTL_OK;
}

static void live_usage(FILE *out)
{
    fprintf(out, "usage: ringctl COMMAND [--node HOST:PORT] [--json]\n"
                 "  status | members | ring | checksums | leave\n"
                 "  killswitch [list | set SERVICE/ENDPOINT drop|reject|log|off [FILE] | clear SERVICE/ENDPOINT]\n"
                 "  top [count N]\n"
                 "--node: a node's admin address (default 127.0.0.1:8080).\n"
                 "Exit: 0 ok, 1 cluster disagrees (checksums) or the request failed, 2 usage,\n"
                 "3 node unreachable.\n");
}

const struct ringctl_cmd ringctl_cmd_status = {"status", "a node's view: members, ring, services", run_status, live_usage};
const struct ringctl_cmd ringctl_cmd_members = {"members", "membership as one node sees it", run_members, live_usage};
const struct ringctl_cmd ringctl_cmd_ring = {"ring", "ownership per member, with a bar chart", run_ring, live_usage};
const struct ringctl_cmd ringctl_cmd_checksums = {"checksums", "group members by ring checksum (exit 1 if several)", run_checksums, live_usage};
const struct ringctl_cmd ringctl_cmd_killswitch = {"killswitch", "list or set kill switches (cluster-wide)", run_killswitch, live_usage};
const struct ringctl_cmd ringctl_cmd_leave = {"leave", "make the node leave the cluster gracefully", run_leave, live_usage};
const struct ringctl_cmd ringctl_cmd_top = {"top", "status and rates, refreshed every second", run_top, live_usage};
