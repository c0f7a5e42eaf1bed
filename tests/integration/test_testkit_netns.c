/* testkit's network-namespace mode: every node in a namespace of its own
 * with its own address, partitions and loss made by the kernel (nftables).
 * Skips, saying why, where the machine does not allow it (not root, no
 * CAP_NET_ADMIN, no ip or nft program). Every namespace made here has the
 * test's pid in its name and is deleted in fini (and by testkit's janitor
 * if this process dies first). */
#include <criterion/criterion.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "swimring/testkit.h"

#define RINGD SR_BINARY_DIR "/tools/ringd/ringd"
#define RINGCTL SR_BINARY_DIR "/tools/ringctl/ringctl"
#define NODES 5

static struct sr_tk_cluster cluster;
static void teardown(void) { sr_tk_destroy(&cluster); }

static void skip_unless_usable(void)
{
    char why[256];
    if (!sr_tk_netns_usable(why, sizeof why))
        cr_skip_test("network-namespace mode not usable here: %s", why);
}

static bool ns_exists(const char *name)
{
    char path[16 + 256];
    snprintf(path, sizeof path, "/run/netns/%s", name);
    return access(path, F_OK) == 0;
}

/* ---- ringctl as a child process ------------------------------------------ */

static char out[65536];

static int ringctl(const char *const *args)
{
    return sr_tk_run(RINGCTL, args, NULL, out, sizeof out);
}

/* `ringctl checksums --json` against `admin` until it exits `want` with
 * `groups` groups (0 = any), or the deadline. */
static bool checksums_become(const char *admin, int want, size_t groups, double seconds)
{
    const char *a[] = {"checksums", "--node", admin, "--json", NULL};
    sr_time_us end = sr_time_mono_us() + (sr_time_us)(seconds * 1e6);
    while (sr_time_mono_us() < end) {
        if (ringctl(a) == want) {
            json_t *j = json_loads(out, 0, NULL);
            size_t g = json_object_size(json_object_get(j, "groups"));
            json_decref(j);
            if (!groups || g == groups)
                return true;
        }
        usleep(200000);
    }
    return false;
}

/* ---- the partition as each side sees it ----------------------------------- */

static const int side[NODES] = {0, 0, 1, 1, 1};

static long ring_of(size_t i, long *checksum)
{
    json_t *j = sr_tk_http(cluster.nodes[i].admin, "GET", "/admin/status");
    json_t *r = json_object_get(j, "ring");
    long members = json_is_integer(json_object_get(r, "members"))
                       ? (long)json_integer_value(json_object_get(r, "members")) : -1;
    *checksum = (long)json_integer_value(json_object_get(r, "checksum"));
    json_decref(j);
    return members;
}

/* Every node holds every node of the other side faulty, and each side's
 * nodes have one ring of their side only, the two rings differing. */
static bool split_seen(struct sr_tk_cluster *h, void *ud)
{
    long sum[2] = {-1, -1};
    (void)ud;
    for (size_t i = 0; i < NODES; i++) {
        for (size_t k = 0; k < NODES; k++) {
            char st[16];
            if (side[k] == side[i])
                continue;
            sr_tk_status_of(h, i, h->nodes[k].gossip, st, sizeof st);
            if (strcmp(st, "faulty") != 0)
                return false;
        }
        long cs, members = ring_of(i, &cs);
        if (members != (side[i] ? 3 : 2) || (sum[side[i]] >= 0 && sum[side[i]] != cs))
            return false;
        sum[side[i]] = cs;
    }
    return sum[0] != sum[1];
}

Test(netns, five_nodes_split_by_nftables_and_healed, .timeout = 240, .fini = teardown)
{
    skip_unless_usable();
    sr_tk_init(&cluster, RINGD, "local");
    cluster.netns = true;
    cluster.no_faults = true; /* /admin/faults off: any partition is the kernel's */
    cr_assert_eq(sr_tk_start(&cluster, NODES, sr_time_mono_us() + 30 * SR_US_PER_S), 0,
                 "no convergence (logs in %s)", cluster.logdir);
    for (size_t i = 0; i < NODES; i++) {
        const struct sr_tk_node *nd = &cluster.nodes[i];
        cr_assert(ns_exists(nd->netns), "namespace %s", nd->netns);
        cr_assert(strstr(nd->netns, "-n") && strncmp(nd->gossip, "198.1", 5) == 0, "%s %s",
                  nd->netns, nd->gossip);
        for (size_t k = 0; k < i; k++) /* an address of its own */
            cr_assert(strcmp(strchr(nd->gossip, '.'), strchr(cluster.nodes[k].gossip, '.')) != 0);
        cr_assert_eq(sr_tk_http_body(nd->admin, "POST", "/admin/faults", "{}", NULL), 403);
    }

    sr_time_us t0 = sr_time_mono_us();
    cr_assert_eq(sr_tk_partition(&cluster, "0,1|2,3,4"), 0, "nft (see %s/net.log)", cluster.logdir);
    cr_assert(sr_tk_wait(&cluster, t0 + 30 * SR_US_PER_S, split_seen, NULL),
              "the two sides did not see each other faulty (logs in %s)", cluster.logdir);
    cr_log_info("partition seen on both sides %.1f s after the nft rules",
                (double)(sr_time_mono_us() - t0) / 1e6);
    for (size_t i = 0; i < NODES; i++)
        cr_expect_gt(sr_tk_dropped(&cluster, i, NULL, NULL), 0,
                     "node %zu: the kernel dropped nothing", i);
    /* the host reaches both sides, so ringctl shows the two groups */
    cr_expect(checksums_become(cluster.nodes[0].admin, 1, 2, 10), "checksums: %s", out);
    cr_expect(strstr(out, cluster.nodes[0].gossip) && strstr(out, cluster.nodes[4].gossip),
              "both sides listed: %s", out);

    t0 = sr_time_mono_us();
    cr_assert_eq(sr_tk_heal(&cluster), 0);
    cr_assert(sr_tk_wait_converged(&cluster, t0 + 30 * SR_US_PER_S), "no convergence after heal");
    cr_log_info("one ring again %.1f s after the heal", (double)(sr_time_mono_us() - t0) / 1e6);
    cr_expect(checksums_become(cluster.nodes[0].admin, 0, 1, 10), "checksums: %s", out);

    /* 30 % loss on every node's input from the other nodes: count what the
     * loss rule saw and dropped until a few hundred packets went by */
    cr_assert_eq(sr_tk_loss(&cluster, 30), 0);
    long seen = 0, dropped = 0;
    sr_time_us end = sr_time_mono_us() + 30 * SR_US_PER_S;
    while (seen < 600 && sr_time_mono_us() < end) {
        usleep(200000);
        seen = dropped = 0;
        for (size_t i = 0; i < NODES; i++) {
            long s = 0, d = 0;
            cr_assert_geq(sr_tk_dropped(&cluster, i, &s, &d), 0);
            seen += s;
            dropped += d;
        }
    }
    cr_assert_geq(seen, 600, "the loss rule saw %ld packets in 30 s", seen);
    double frac = (double)dropped / (double)seen;
    cr_log_info("loss 30%%: %ld of %ld packets dropped (%.3f)", dropped, seen, frac);
    /* 600+ draws at p = 0.3: sd < 0.019, so 0.2..0.4 is over 5 sd */
    cr_expect(frac > 0.2 && frac < 0.4, "dropped %ld of %ld", dropped, seen);
    cr_assert_eq(sr_tk_loss(&cluster, 0), 0);
    cr_assert(sr_tk_wait_converged(&cluster, sr_time_mono_us() + 30 * SR_US_PER_S),
              "no convergence after the loss");

    char names[NODES + 1][40], hostif[32];
    for (size_t i = 0; i < NODES; i++)
        snprintf(names[i], sizeof names[i], "%s", cluster.nodes[i].netns);
    snprintf(names[NODES], sizeof names[NODES], "%s-sw", cluster.net.prefix);
    snprintf(hostif, sizeof hostif, "%sh", cluster.net.prefix);
    cr_assert_neq(if_nametoindex(hostif), 0u, "host link %s", hostif);
    sr_tk_destroy(&cluster);
    for (size_t i = 0; i <= NODES; i++)
        cr_expect_not(ns_exists(names[i]), "%s left behind", names[i]);
    cr_expect_eq(if_nametoindex(hostif), 0u, "host link %s left behind", hostif);
}

/* ---- ringctl cluster up --netns ------------------------------------------- */

static char dir[128];
static void ringctl_down(void)
{
    const char *a[] = {"cluster", "down", "--dir", dir, NULL};
    if (dir[0])
        ringctl(a);
}

Test(netns, ringctl_cluster_up_netns_partition_loss_down, .timeout = 240, .fini = ringctl_down)
{
    skip_unless_usable();
    snprintf(dir, sizeof dir, "/tmp/sr-ctlns-%d", (int)getpid());
    /* admin beyond loopback needs a token: `up` gives it to the nodes, and
     * every later ringctl sends it, as an operator's shell would */
    setenv(SR_TK_ADMIN_TOKEN_ENV, "ctlns-test-token", 1);
    const char *up[] = {"cluster", "up", "3", "--netns", "--daemon", RINGD, "--dir", dir,
                        "--json", NULL};
    cr_assert_eq(ringctl(up), 0, "%s", out);
    json_t *j = json_loads(out, 0, NULL), *nodes = json_object_get(j, "nodes");
    cr_assert_eq(json_array_size(nodes), 3, "%s", out);
    char ns[3][40], admin[32];
    for (size_t i = 0; i < 3; i++) {
        json_t *n = json_array_get(nodes, i);
        snprintf(ns[i], sizeof ns[i], "%s", json_string_value(json_object_get(n, "netns")));
        cr_assert(ns_exists(ns[i]), "namespace '%s'", ns[i]);
        cr_expect_str_neq(json_string_value(json_object_get(n, "admin")),
                          json_string_value(json_object_get(n, "http")));
    }
    snprintf(admin, sizeof admin, "%s",
             json_string_value(json_object_get(json_array_get(nodes, 0), "admin")));
    json_decref(j);

    const char *part[] = {"cluster", "partition", "0|1,2", "--dir", dir, NULL};
    cr_assert_eq(ringctl(part), 0, "%s", out);
    cr_assert(checksums_become(admin, 1, 2, 30), "checksums did not see the partition: %s", out);
    const char *loss[] = {"cluster", "loss", "10", "--dir", dir, NULL};
    cr_expect_eq(ringctl(loss), 0, "%s", out);
    const char *heal[] = {"cluster", "heal", "--dir", dir, NULL};
    cr_assert_eq(ringctl(heal), 0, "%s", out);
    cr_assert(checksums_become(admin, 0, 1, 30), "checksums after the heal: %s", out);

    const char *down[] = {"cluster", "down", "--dir", dir, NULL};
    cr_assert_eq(ringctl(down), 0, "%s", out);
    char sw[48], hostif[32];
    snprintf(sw, sizeof sw, "%.*s-sw", (int)(strrchr(ns[0], '-') - ns[0]), ns[0]);
    snprintf(hostif, sizeof hostif, "%.*sh", (int)(strrchr(ns[0], '-') - ns[0]), ns[0]);
    for (size_t i = 0; i < 3; i++)
        cr_expect_not(ns_exists(ns[i]), "%s left behind", ns[i]);
    cr_expect_not(ns_exists(sw), "%s left behind", sw);
    cr_expect_eq(if_nametoindex(hostif), 0u, "host link %s left behind", hostif);
    dir[0] = '\0';
}

/* ---- a test that dies leaves nothing behind -------------------------------- */

/* Running (not a zombie waiting for init to reap it). */
static bool node_alive(pid_t pid)
{
    char path[64], stat[256];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    bool alive = fgets(stat, sizeof stat, f) && !strstr(stat, ") Z ");
    fclose(f);
    return alive;
}

Test(netns, janitor_deletes_the_namespaces_of_a_killed_test, .timeout = 60)
{
    skip_unless_usable();
    int p[2];
    cr_assert_eq(pipe(p), 0);
    pid_t pid = fork();
    if (pid == 0) { /* a "test" that makes a netns cluster and is killed */
        static struct sr_tk_cluster c;
        close(p[0]);
        sr_tk_init(&c, RINGD, "local");
        c.netns = true;
        bool ok = sr_tk_spawn(&c, NULL) == 0;
        char line[64];
        int n = snprintf(line, sizeof line, "%s %d", ok ? c.net.prefix : "-",
                         ok ? (int)c.nodes[0].pid : 0);
        ssize_t w = write(p[1], line, (size_t)n);
        (void)w;
        raise(SIGKILL);
    }
    close(p[1]);
    char line[64], prefix[64] = "";
    int node = 0;
    ssize_t n = read(p[0], line, sizeof line - 1);
    line[n > 0 ? n : 0] = '\0';
    close(p[0]);
    int st;
    waitpid(pid, &st, 0);
    cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    cr_assert(sscanf(line, "%63s %d", prefix, &node) == 2 && node > 0,
              "the child made no cluster: '%s'", line);
    char sw[80], n0[80], hostif[80];
    snprintf(sw, sizeof sw, "%s-sw", prefix);
    snprintf(n0, sizeof n0, "%s-n0", prefix);
    snprintf(hostif, sizeof hostif, "%sh", prefix);
    sr_time_us end = sr_time_mono_us() + 15 * SR_US_PER_S;
    while ((ns_exists(sw) || ns_exists(n0)) && sr_time_mono_us() < end)
        usleep(50000);
    cr_expect_not(ns_exists(n0), "%s left behind", n0);
    cr_expect_not(ns_exists(sw), "%s left behind", sw);
    while (if_nametoindex(hostif) != 0 && sr_time_mono_us() < end)
        usleep(50000); /* goes with its namespace, asynchronously */
    cr_expect_eq(if_nametoindex(hostif), 0u, "host link %s left behind", hostif);
    /* the node dies with its test process, even one killed right after the
     * fork (parent-death signal, checked against a parent already gone) */
    while (node_alive(node) && sr_time_mono_us() < end)
        usleep(20000);
    cr_expect_not(node_alive(node), "node pid %d outlived its killed test", node);
    if (node_alive(node))
        kill(node, SIGKILL); /* ours: started by the child above */
}

/* ---- the skip path --------------------------------------------------------- */

Test(netns, not_usable_without_privilege_and_says_why)
{
    char why[256] = "";
    if (geteuid() != 0) {
        cr_assert_not(sr_tk_netns_usable(why, sizeof why));
        cr_expect(strstr(why, "root") != NULL, "%s", why);
        return;
    }
    int p[2];
    cr_assert_eq(pipe(p), 0);
    pid_t pid = fork();
    if (pid == 0) { /* as nobody: no capabilities left */
        close(p[0]);
        bool ok = setgid(65534) == 0 && setuid(65534) == 0 && sr_tk_netns_usable(why, sizeof why);
        ssize_t w = write(p[1], why, strlen(why));
        (void)w;
        _exit(ok ? 1 : 0);
    }
    close(p[1]);
    ssize_t n = read(p[0], why, sizeof why - 1);
    why[n > 0 ? n : 0] = '\0';
    close(p[0]);
    int st;
    waitpid(pid, &st, 0);
    cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "usable as uid 65534?");
    cr_expect(strstr(why, "needs root") != NULL, "reason: %s", why);

    char probe[48];
    bool netem = sr_tk_netem_usable(why, sizeof why);
    cr_log_info("tc netem: %s", netem ? "available" : why);
    cr_expect(netem || why[0], "no reason given");
    snprintf(probe, sizeof probe, "sr%d-probe", (int)getpid());
    cr_expect_not(ns_exists(probe), "the probe namespace was left behind");
}
