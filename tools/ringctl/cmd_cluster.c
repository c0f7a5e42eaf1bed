/* ringctl cluster: local clusters for development and chaos, on testkit.
 *
 *   ringctl cluster up N [--daemon PATH] [--services a,b] [--base-port P]
 *                        [--dir D] [--profile local|lan] [--netns]
 *   ringctl cluster status|down [--dir D] [--json]
 *   ringctl cluster kill I [--signal KILL|TERM|STOP|CONT] [--dir D]
 *   ringctl cluster restart I [--dir D]
 *   ringctl cluster partition 'I,J|K,L' [--dir D]      ringctl cluster heal
 *   ringctl cluster loss PERCENT [--dir D]             (--netns clusters)
 *   ringctl cluster chaos [--kills K] [--every S] [--duration S] [--dir D]
 *
 * `up` writes D/cluster.json (daemon, profile, flags, and per node: name,
 * addresses, pid, namespace); every later command reads it, so only
 * processes this tool started are ever signalled, by pid, and only while
 * their command line still names the daemon (a recycled pid is left
 * alone); `down` deletes only the namespaces listed there. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <jansson.h>
#include "live.h"
#include "ringctl.h"
#include "swimring/testkit.h"

#define STATE "cluster.json"
#define EXTRA_MAX 8

struct cl {
    struct sr_tk_cluster tk;
    char dir[256];
    char daemon[512];
    char profile[16];
    char services[128];
    const char *extra[EXTRA_MAX];
    json_t *state;               /* keeps the strings extra points to */
};

struct cl_opts {
    const char *dir, *daemon, *services, *profile, *signal, *spec;
    long n, index, base_port, kills;
    double every_s, duration_s;
    bool json, netns;
};

static void cluster_usage(FILE *out)
{
    fprintf(out,
            "usage: ringctl cluster up N [--daemon PATH] [--services a,b] [--base-port P]\n"
            "                            [--dir D] [--profile local|lan] [--netns] [--json]\n"
            "       ringctl cluster status|down|heal [--dir D] [--json]\n"
            "       ringctl cluster kill I [--signal KILL|TERM|STOP|CONT] [--dir D]\n"
            "       ringctl cluster restart I [--dir D]\n"
            "       ringctl cluster partition 'I,J|K,L' [--dir D]\n"
            "       ringctl cluster loss PERCENT [--dir D]          (--netns clusters only)\n"
            "       ringctl cluster chaos [--kills K] [--every S] [--duration S] [--dir D]\n"
            "Default dir ./ringctl-cluster; default daemon: the ringd beside ringctl.\n"
            "--netns (root, iproute2, nftables): each node in its own network namespace\n"
            "with its own address (198.18.K.I+1, gossip port P, HTTP P+1000, admin\n"
            "P+1001; default P 7000); partition, heal and loss are then nftables rules.\n"
            "Exit: 0 ok, 1 failed (status: not converged), 2 usage.\n");
}

static int parse(int argc, char **argv, struct cl_opts *o)
{
    *o = (struct cl_opts){.dir = "ringctl-cluster", .profile = "local", .signal = "KILL",
                          .n = -1, .index = -1, .kills = 5, .every_s = 3, .duration_s = 30};
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--json") == 0)
            o->json = true;
        else if (strcmp(a, "--netns") == 0)
            o->netns = true;
        else if (a[0] == '-' && a[1] == '-' && !v)
            return -1;
        else if (strcmp(a, "--dir") == 0) o->dir = v, i++;
        else if (strcmp(a, "--daemon") == 0) o->daemon = v, i++;
        else if (strcmp(a, "--services") == 0) o->services = v, i++;
        else if (strcmp(a, "--profile") == 0) o->profile = v, i++;
        else if (strcmp(a, "--signal") == 0) o->signal = v, i++;
        else if (strcmp(a, "--base-port") == 0) o->base_port = strtol(v, NULL, 10), i++;
        else if (strcmp(a, "--kills") == 0) o->kills = strtol(v, NULL, 10), i++;
        else if (strcmp(a, "--every") == 0) o->every_s = atof(v), i++;
        else if (strcmp(a, "--duration") == 0) o->duration_s = atof(v), i++;
        else if (a[0] == '-')
            return -1;
        else if (strcmp(argv[1], "partition") == 0 && !o->spec)
            o->spec = a;
        else if (strcmp(argv[1], "loss") == 0 && o->index < 0) {
            char *end;
            o->index = strtol(a, &end, 10);
            if (*end || o->index < 0 || o->index > 100)
                return -1;
        }
        else if (o->n < 0 && o->index < 0) {
            char *end;
            long x = strtol(a, &end, 10);
            if (*end || x < 0)
                return -1;
            if (strcmp(argv[1], "up") == 0)
                o->n = x;
            else
                o->index = x;
        } else
            return -1;
    }
    return 0;
}

/* The ringd next to this ringctl: build tree (tools/ringctl/../ringd/ringd)
 * or an install (bin/ringd). */
static void default_daemon(char *out, size_t len)
{
    char self[256];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    snprintf(out, len, "ringd");
    if (n <= 0)
        return;
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    if (!slash)
        return;
    *slash = '\0';
    snprintf(out, len, "%s/../ringd/ringd", self);
    if (access(out, X_OK) != 0)
        snprintf(out, len, "%s/ringd", self);
}

/* ---- state file ---------------------------------------------------------- */

static int state_save(struct cl *c)
{
    char path[300];
    json_t *nodes = json_array(), *extra = json_array();
    for (size_t i = 0; i < c->tk.n; i++) {
        const struct sr_tk_node *nd = &c->tk.nodes[i];
        json_array_append_new(nodes, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:i}", "name",
                                               nd->name, "gossip", nd->gossip, "http", nd->http,
                                               "admin", nd->admin, "netns", nd->netns, "seeds",
                                               nd->seeds, "pid", (int)nd->pid));
    }
    for (size_t i = 0; i < EXTRA_MAX && c->extra[i]; i++)
        json_array_append_new(extra, json_string(c->extra[i]));
    json_t *s = json_pack("{s:s, s:s, s:s, s:o, s:o}", "daemon", c->daemon, "profile", c->profile,
                          "logdir", c->tk.logdir, "extra", extra, "nodes", nodes);
    const char *token = getenv(SR_TK_ADMIN_TOKEN_ENV);
    if (c->tk.netns) /* what `down` deletes: only what `up` made */
        json_object_set_new(s, "netns",
                            json_pack("{s:s, s:i, s:b}", "prefix", c->tk.net.prefix, "subnet",
                                      c->tk.net.subnet, "up", c->tk.net.up));
    if (c->tk.netns && token) /* its nodes' admin needs it (beyond loopback) */
        json_object_set_new(s, "admin_token", json_string(token));
    snprintf(path, sizeof path, "%s/" STATE, c->dir);
    mode_t old = umask(077); /* the file may hold the admin token */
    int rc = json_dump_file(s, path, JSON_INDENT(2));
    umask(old);
    if (rc == 0 && c->tk.netns && token)
        rc = chmod(path, 0600); /* also when an older file was there */
    json_decref(s);
    if (rc != 0)
        fprintf(stderr, "ringctl cluster: cannot write %s\n", path);
    return rc ? RINGCTL_FAIL : RINGCTL_OK;
}

static const char *js(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

/* A pid still ours: alive and still running the daemon we started. */
static bool pid_is_ours(pid_t pid, const char *daemon)
{
    char path[64], cmd[1024] = "";
    if (pid <= 0 || kill(pid, 0) != 0)
        return false;
    snprintf(path, sizeof path, "/proc/%d/cmdline", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    size_t n = fread(cmd, 1, sizeof cmd - 1, f);
    fclose(f);
    cmd[n] = '\0';
    const char *base = strrchr(daemon, '/');
    return strstr(cmd, base ? base + 1 : daemon) != NULL;
}

static int state_load(struct cl *c, const char *dir)
{
    char path[300];
    json_error_t je;
    memset(c, 0, sizeof(*c));
    snprintf(c->dir, sizeof c->dir, "%s", dir);
    snprintf(path, sizeof path, "%s/" STATE, dir);
    c->state = json_load_file(path, 0, &je);
    if (!c->state) {
        fprintf(stderr, "ringctl cluster: no cluster in %s (%s); start one with `cluster up N`\n",
                dir, je.text);
        return RINGCTL_FAIL;
    }
    snprintf(c->daemon, sizeof c->daemon, "%s", js(c->state, "daemon"));
    snprintf(c->profile, sizeof c->profile, "%s", js(c->state, "profile"));
    sr_tk_init(&c->tk, c->daemon, c->profile);
    c->tk.detach = true;
    snprintf(c->tk.logdir, sizeof c->tk.logdir, "%s", js(c->state, "logdir"));
    json_t *net = json_object_get(c->state, "netns");
    if (js(c->state, "admin_token")[0]) /* every request of this process sends it */
        setenv(SR_TK_ADMIN_TOKEN_ENV, js(c->state, "admin_token"), 0);
    if (net) {
        c->tk.netns = true;
        snprintf(c->tk.net.prefix, sizeof c->tk.net.prefix, "%s", js(net, "prefix"));
        c->tk.net.subnet = (int)json_integer_value(json_object_get(net, "subnet"));
        c->tk.net.up = json_is_true(json_object_get(net, "up"));
    }
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(c->state, "extra"), i, v)
        if (i < EXTRA_MAX - 1)
            c->extra[i] = json_string_value(v);
    c->tk.extra = c->extra;
    json_array_foreach(json_object_get(c->state, "nodes"), i, v) {
        if (i >= SR_TK_MAX_NODES)
            break;
        struct sr_tk_node *nd = &c->tk.nodes[i];
        snprintf(nd->name, sizeof nd->name, "%s", js(v, "name"));
        snprintf(nd->gossip, sizeof nd->gossip, "%s", js(v, "gossip"));
        snprintf(nd->http, sizeof nd->http, "%s", js(v, "http"));
        snprintf(nd->admin, sizeof nd->admin, "%s", js(v, "admin")[0] ? js(v, "admin") : nd->http);
        snprintf(nd->netns, sizeof nd->netns, "%s", js(v, "netns"));
        if (nd->netns[0])
            c->tk.net.made |= 1ull << i;
        snprintf(nd->seeds, sizeof nd->seeds, "%s", js(v, "seeds"));
        pid_t pid = (pid_t)json_integer_value(json_object_get(v, "pid"));
        nd->pid = pid_is_ours(pid, c->daemon) ? pid : 0;
        c->tk.n = i + 1;
    }
    return RINGCTL_OK;
}

/* ---- commands -------------------------------------------------------------- */

/* The services a node hosts, from its /admin/status ("presence,geo"). */
static void services_of(json_t *st, char *out, size_t len)
{
    const char *k;
    json_t *v;
    size_t used = 0;
    out[0] = '\0';
    json_object_foreach(json_object_get(st, "services"), k, v)
        if (used < len)
            used += (size_t)snprintf(out + used, len - used, "%s%s", used ? "," : "", k);
}

static void print_nodes(struct cl *c, bool json)
{
    json_t *a = json_array();
    for (size_t i = 0; i < c->tk.n; i++) {
        const struct sr_tk_node *nd = &c->tk.nodes[i];
        json_t *st = nd->pid > 0 && !nd->stopped ? sr_tk_http(nd->admin, "GET", "/admin/status") : NULL;
        json_t *ring = json_object_get(st, "ring");
        char svc[128];
        services_of(st, svc, sizeof svc);
        json_array_append_new(a, json_pack("{s:i, s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:b, s:I, s:I}",
                                           "index", (int)i, "name", nd->name, "gossip", nd->gossip,
                                           "http", nd->http, "admin", nd->admin, "netns",
                                           nd->netns, "services", svc, "pid", (int)nd->pid, "up",
                                           st != NULL, "ring_members",
                                           (json_int_t)json_integer_value(json_object_get(ring, "members")),
                                           "ring_checksum",
                                           (json_int_t)json_integer_value(json_object_get(ring, "checksum"))));
        json_decref(st);
    }
    if (json) {
        json_t *o = json_pack("{s:o, s:b, s:s}", "nodes", a, "converged", sr_tk_converged(&c->tk),
                              "logs", c->tk.logdir);
        live_print_json(o);
        json_decref(o);
        return;
    }
    printf("%-5s %-6s %-21s %-27s %-8s %-4s %-15s %s\n", "INDEX", "NAME", "GOSSIP/RPC",
           "HTTP/ADMIN", "PID", "UP", "SERVICES", "RING");
    size_t i;
    json_t *r;
    json_array_foreach(a, i, r) {
        char web[64];
        const char *http = js(r, "http"), *admin = js(r, "admin"), *port = strrchr(admin, ':');
        if (strcmp(http, admin) == 0 || !port)
            snprintf(web, sizeof web, "%s", http);
        else
            snprintf(web, sizeof web, "%s admin %s", http, port); /* same host */
        bool up = json_is_true(json_object_get(r, "up"));
        printf("%-5zu %-6s %-21s %-27s %-8d %-4s %-15s ", i, js(r, "name"), js(r, "gossip"), web,
               (int)json_integer_value(json_object_get(r, "pid")), up ? "yes" : "no",
               js(r, "services")[0] ? js(r, "services") : "-");
        if (up)
            printf("%lld members, checksum %lld\n",
                   (long long)json_integer_value(json_object_get(r, "ring_members")),
                   (long long)json_integer_value(json_object_get(r, "ring_checksum")));
        else
            printf("-\n");
    }
    if (c->tk.netns)
        printf("network namespaces %s-n0..n%zu on the bridge in %s-sw (ip netns exec NAME ...)\n",
               c->tk.net.prefix, c->tk.n ? c->tk.n - 1 : 0, c->tk.net.prefix);
    printf("logs in %s\n", c->tk.logdir);
    json_decref(a);
}

/* A cluster still running in `dir` (its state file names a live pid of ours). */
static bool running_in(const char *dir)
{
    struct cl old;
    bool any = false;
    char path[300];
    snprintf(path, sizeof path, "%s/" STATE, dir);
    if (access(path, F_OK) != 0 || state_load(&old, dir) != RINGCTL_OK)
        return false;
    for (size_t i = 0; i < old.tk.n; i++)
        any |= old.tk.nodes[i].pid > 0;
    any |= old.tk.netns && (old.tk.net.up || old.tk.net.made);
    json_decref(old.state);
    return any;
}

/* --netns: say why not, and what the kernel lacks for delays. */
static bool netns_check(bool json)
{
    char why[256];
    if (!sr_tk_netns_usable(why, sizeof why)) {
        fprintf(stderr, "ringctl cluster up --netns: network namespaces not usable: %s\n", why);
        return false;
    }
    if (!json && !sr_tk_netem_usable(why, sizeof why))
        printf("note: %s\n      (loss is made with nftables: cluster loss; no delays)\n", why);
    return true;
}

static int cluster_up(const struct cl_opts *o)
{
    struct cl c;
    memset(&c, 0, sizeof c);
    if (o->n < 1 || o->n > SR_TK_MAX_NODES - (o->netns ? 1 : 0)) {
        fprintf(stderr, "ringctl cluster up: N must be 1..%d\n", SR_TK_MAX_NODES - (o->netns ? 1 : 0));
        return RINGCTL_USAGE;
    }
    if (o->base_port < 0 || o->base_port + 1001 + o->n > 65535) {
        fprintf(stderr, "ringctl cluster up: --base-port must leave room for P+1000+N\n");
        return RINGCTL_USAGE;
    }
    snprintf(c.dir, sizeof c.dir, "%s", o->dir);
    if (mkdir(o->dir, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "ringctl cluster up: cannot create %s: %s\n", o->dir, strerror(errno));
        return RINGCTL_FAIL;
    }
    if (running_in(o->dir)) {
        fprintf(stderr, "ringctl cluster up: a cluster is still running in %s; stop it first: "
                        "ringctl cluster down --dir %s\n", o->dir, o->dir);
        return RINGCTL_FAIL;
    }
    if (o->netns && !netns_check(o->json))
        return RINGCTL_FAIL;
    if (o->daemon)
        snprintf(c.daemon, sizeof c.daemon, "%s", o->daemon);
    else
        default_daemon(c.daemon, sizeof c.daemon);
    snprintf(c.profile, sizeof c.profile, "%s", o->profile);
    size_t ne = 0;
    c.extra[ne++] = "--log-level";
    c.extra[ne++] = "info";
    if (o->services) {
        snprintf(c.services, sizeof c.services, "%s", o->services);
        c.extra[ne++] = "--services";
        c.extra[ne++] = c.services;
    }
    sr_tk_init(&c.tk, c.daemon, c.profile);
    c.tk.detach = true;
    c.tk.netns = o->netns;
    c.tk.extra = c.extra;
    char *abs = realpath(o->dir, NULL);
    snprintf(c.tk.logdir, sizeof c.tk.logdir, "%s", abs ? abs : o->dir);
    free(abs);
    for (long i = 0; i < o->n; i++) {
        /* --netns: one address per node, so every node takes the same ports */
        long step = o->netns ? 0 : i;
        int gp = o->base_port ? (int)(o->base_port + step) : 0;
        int hp = o->base_port ? (int)(o->base_port + 1000 + step) : 0;
        if (sr_tk_spawn_at(&c.tk, i ? c.tk.nodes[0].gossip : NULL, gp, hp) < 0) {
            fprintf(stderr, "ringctl cluster up: cannot start node %ld (%s; logs in %s); "
                            "ringctl cluster down --dir %s removes what was started\n",
                    i, c.daemon, c.tk.logdir, o->dir);
            state_save(&c);
            return RINGCTL_FAIL;
        }
    }
    int rc = state_save(&c);
    bool ok = sr_tk_wait_converged(&c.tk, sr_time_mono_us() + 30 * SR_US_PER_S);
    print_nodes(&c, o->json);
    if (!ok)
        fprintf(stderr, "ringctl cluster up: not converged after 30 s (logs in %s)\n", c.tk.logdir);
    return rc ? rc : ok ? RINGCTL_OK : RINGCTL_FAIL;
}

static int signal_of(const char *name)
{
    static const struct { const char *n; int s; } t[] = {
        {"KILL", SIGKILL}, {"TERM", SIGTERM}, {"STOP", SIGSTOP}, {"CONT", SIGCONT}, {"INT", SIGINT}};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (strcmp(name, t[i].n) == 0 || (strncmp(name, "SIG", 3) == 0 && strcmp(name + 3, t[i].n) == 0))
            return t[i].s;
    return -1;
}

static int cluster_cmd(const char *verb, const struct cl_opts *o)
{
    struct cl c;
    int rc = state_load(&c, o->dir);
    if (rc)
        return rc;
    bool need_index = !strcmp(verb, "kill") || !strcmp(verb, "restart");
    if (need_index && (o->index < 0 || (size_t)o->index >= c.tk.n)) {
        fprintf(stderr, "ringctl cluster %s: node index 0..%zu\n", verb, c.tk.n ? c.tk.n - 1 : 0);
        rc = RINGCTL_USAGE;
    } else if (!strcmp(verb, "status")) {
        print_nodes(&c, o->json);
        rc = sr_tk_converged(&c.tk) ? RINGCTL_OK : RINGCTL_DISAGREE;
    } else if (!strcmp(verb, "kill")) {
        int sig = signal_of(o->signal);
        if (sig < 0 || c.tk.nodes[o->index].pid <= 0) {
            fprintf(stderr, "ringctl cluster kill: %s\n", sig < 0 ? "bad --signal" : "node not running");
            rc = RINGCTL_USAGE;
        } else {
            rc = sr_tk_signal(&c.tk, (size_t)o->index, sig) == 0 ? RINGCTL_OK : RINGCTL_FAIL;
            if (sig == SIGKILL || sig == SIGTERM)
                (void)sr_tk_reap(&c.tk, (size_t)o->index, sr_time_mono_us() + 5 * SR_US_PER_S);
            printf("node %ld (%s): sent SIG%s\n", o->index, c.tk.nodes[o->index].name, o->signal);
        }
    } else if (!strcmp(verb, "restart")) {
        rc = sr_tk_restart(&c.tk, (size_t)o->index) == 0 ? RINGCTL_OK : RINGCTL_FAIL;
        printf("node %ld (%s): restarted, pid %d\n", o->index, c.tk.nodes[o->index].name,
               (int)c.tk.nodes[o->index].pid);
    } else if (!strcmp(verb, "partition")) {
        rc = o->spec && sr_tk_partition(&c.tk, o->spec) == 0 ? RINGCTL_OK : RINGCTL_FAIL;
        if (rc)
            fprintf(stderr, "ringctl cluster partition: want 'I,J|K,L' and nodes with admin.faults\n");
    } else if (!strcmp(verb, "heal")) {
        rc = sr_tk_heal(&c.tk) == 0 ? RINGCTL_OK : RINGCTL_FAIL;
    } else if (!strcmp(verb, "loss")) {
        if (!c.tk.netns || o->index < 0) {
            fprintf(stderr, "ringctl cluster loss: %s\n",
                    o->index < 0 ? "give a PERCENT 0..100" : "only for clusters started with --netns");
            rc = RINGCTL_USAGE;
        } else {
            rc = sr_tk_loss(&c.tk, (int)o->index) == 0 ? RINGCTL_OK : RINGCTL_FAIL;
            printf("loss %ld%% on every node's input from the other nodes%s\n", o->index,
                   rc ? " FAILED (see net.log in the log dir)" : "");
        }
    } else if (!strcmp(verb, "chaos")) {
        int kills = sr_tk_chaos(&c.tk, (int)o->kills, (uint32_t)(o->every_s * 1000),
                                (uint32_t)(o->duration_s * 1000), (uint64_t)getpid(), NULL, NULL);
        printf("chaos: %d kill -9 + restart\n", kills);
    } else if (!strcmp(verb, "down")) {
        for (size_t i = 0; i < c.tk.n; i++)
            if (c.tk.nodes[i].pid > 0) {
                sr_tk_signal(&c.tk, i, SIGCONT);
                sr_tk_signal(&c.tk, i, SIGTERM); /* graceful leave first */
            }
        for (size_t i = 0; i < c.tk.n; i++)
            if (c.tk.nodes[i].pid > 0 &&
                sr_tk_reap(&c.tk, i, sr_time_mono_us() + 3 * SR_US_PER_S) < 0) {
                sr_tk_signal(&c.tk, i, SIGKILL);
                (void)sr_tk_reap(&c.tk, i, sr_time_mono_us() + 3 * SR_US_PER_S);
            }
        bool netns = c.tk.netns;
        sr_tk_destroy(&c.tk); /* what is left: SIGKILL; the namespaces up made */
        printf("stopped %zu node(s) of %s%s\n", c.tk.n, o->dir,
               netns ? ", deleted their network namespaces" : "");
    } else {
        cluster_usage(stderr);
        rc = RINGCTL_USAGE;
    }
    if (strcmp(verb, "status") != 0 && rc != RINGCTL_USAGE)
        state_save(&c);
    json_decref(c.state);
    return rc;
}

static int run_cluster(int argc, char **argv)
{
    struct cl_opts o;
    if (argc < 2 || parse(argc, argv, &o) < 0) {
        cluster_usage(stderr);
        return RINGCTL_USAGE;
    }
    if (strcmp(argv[1], "up") == 0)
        return cluster_up(&o);
    return cluster_cmd(argv[1], &o);
}

const struct ringctl_cmd ringctl_cmd_cluster = {"cluster", "start, inspect, break and stop a local cluster", run_cluster, cluster_usage};
