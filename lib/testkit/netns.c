/* testkit network-namespace mode (see swimring/testkit.h).
 *
 *   this (the host) namespace:  <prefix>h  198.18.K.254/24   (the only thing added here)
 *                                   |
 *   <prefix>-sw:    host -- bridge br0 -- v0 -- v1 -- ... -- v63
 *                                          |     |
 *   <prefix>-nI:                          eth0  eth0          198.18.K.(I+1)/24
 *
 * Addresses come from 198.18.0.0/15, set aside for benchmark networks
 * (RFC 2544): never routed and nobody's LAN. K (0..511) is picked so that
 * no address of this host is in its /24 yet. Every node namespace holds
 *
 *   table inet swimring { set blocked; chain loss; chain input; chain output }
 *
 * input drops packets from @blocked and sends packets from the other nodes
 * (eth0, not the host's admin traffic) through loss (numgen random); output
 * drops packets to @blocked. A partition fills the sets and heal empties
 * them, so a restarted node keeps its partition: it lives in the namespace,
 * not in the process. Every command is `ip`, `nft` or `tc` run with a 10 s
 * limit; their output goes to LOGDIR/net.log. */
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "tk_int.h"

#define NET_BASE 0xC6120000u /* 198.18.0.0/15 */
#define NET_SUBNETS 512
#define NET_HOST 254
#define NET_GOSSIP_PORT 7000
#define NET_HTTP_PORT 8000
#define NET_CMD_TIMEOUT_US (10 * SR_US_PER_S)
#define NET_ARGS_MAX 24
#define CAP_NET_ADMIN_BIT 12
#define CAP_SYS_ADMIN_BIT 21

/* ---- running ip / nft / tc ------------------------------------------------ */

/* `name` in PATH, else in the sbin directories a non-login shell may lack. */
static bool net_tool(const char *name, char *out, size_t len)
{
    const char *path = getenv("PATH");
    char dirs[2048], *save = NULL;
    snprintf(dirs, sizeof dirs, "%s:/usr/sbin:/sbin:/usr/bin:/bin", path ? path : "");
    for (char *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
        snprintf(out, len, "%s/%s", d, name);
        if (access(out, X_OK) == 0)
            return true;
    }
    return false;
}

int tk_net_enter(const char *ns)
{
    char path[96];
    snprintf(path, sizeof path, "/run/netns/%s", ns);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = setns(fd, CLONE_NEWNET);
    int e = errno;
    close(fd);
    errno = e;
    return rc;
}

/* Wait for pid until the deadline; SIGKILL it past that. Exit status or -1. */
static int net_wait(pid_t pid)
{
    sr_time_us end = sr_time_mono_us() + NET_CMD_TIMEOUT_US;
    int st;
    for (;;) {
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid)
            return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
        if (r < 0 && errno != EINTR)
            return -1;
        if (sr_time_mono_us() >= end) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            return -1;
        }
        usleep(2000);
    }
}

/* Run argv (argv[0] found with net_tool) in namespace `ns` (NULL: this
 * one); stdout and stderr appended to `out`, or to LOGDIR/net.log after the
 * command line itself. Exit status, or -1 (not found, not run, killed). */
static int net_run(const char *logdir, const char *ns, const char *const *argv, const char *out)
{
    char tool[256], log[256];
    if (!net_tool(argv[0], tool, sizeof tool))
        return -1;
    snprintf(log, sizeof log, "%s/net.log", logdir ? logdir : "/tmp");
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int fd = open(out ? out : log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        int nul = open("/dev/null", O_RDONLY);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        if (nul >= 0)
            dup2(nul, 0);
        close_range(3, ~0u, 0);
        if (!out) {
            printf("+%s%s", ns ? " [" : "", ns ? ns : "");
            printf("%s", ns ? "]" : "");
            for (size_t k = 0; argv[k]; k++)
                printf(" %s", argv[k]);
            printf("\n");
            fflush(stdout);
        }
        if (ns && tk_net_enter(ns) != 0) {
            fprintf(stderr, "cannot enter network namespace %s: %s\n", ns, strerror(errno));
            _exit(126);
        }
        execv(tool, (char *const *)argv);
        _exit(127);
    }
    return net_wait(pid);
}

/* net_cmd(h, ns, "ip", "link", ..., NULL): net_run with a list; 0 if it
 * exited 0. */
static int net_cmd(const char *logdir, const char *ns, ...)
{
    const char *argv[NET_ARGS_MAX];
    size_t n = 0;
    va_list ap;
    va_start(ap, ns);
    while (n < NET_ARGS_MAX - 1 && (argv[n] = va_arg(ap, const char *)) != NULL)
        n++;
    va_end(ap);
    argv[n] = NULL;
    return net_run(logdir, ns, argv, NULL) == 0 ? 0 : -1;
}

/* Write `text` to LOGDIR/nft-NAME.rules and load it with `nft -f` in ns. */
static int net_nft(const char *logdir, const char *ns, const char *text)
{
    char path[256];
    snprintf(path, sizeof path, "%s/nft-%s.rules", logdir, ns);
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    bool ok = fputs(text, f) >= 0;
    ok &= fclose(f) == 0;
    return ok ? net_cmd(logdir, ns, "nft", "-f", path, (char *)NULL) : -1;
}

/* ---- names and addresses -------------------------------------------------- */

static void net_addr(int subnet, int host, char *out, size_t len)
{
    uint32_t a = NET_BASE + (uint32_t)subnet * 256 + (uint32_t)host;
    snprintf(out, len, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
}

static void net_switch(const struct sr_tk_cluster *h, char *out, size_t len)
{
    snprintf(out, len, "%s-sw", h->net.prefix);
}

static void net_hostif(const struct sr_tk_cluster *h, char *out, size_t len)
{
    snprintf(out, len, "%sh", h->net.prefix); /* <= 15 bytes: sr4194304-511h */
}

/* A host address already in 198.18.K.0/24, or our own name for K taken. */
static bool net_subnet_taken(int k)
{
    struct ifaddrs *ifa = NULL;
    bool taken = false;
    char path[96];
    if (getifaddrs(&ifa) == 0) {
        for (struct ifaddrs *p = ifa; p && !taken; p = p->ifa_next) {
            if (!p->ifa_addr || p->ifa_addr->sa_family != AF_INET)
                continue;
            uint32_t a = ntohl(((struct sockaddr_in *)(void *)p->ifa_addr)->sin_addr.s_addr);
            taken = (a & 0xFFFE0000u) == NET_BASE && (int)((a - NET_BASE) >> 8) == k;
        }
        freeifaddrs(ifa);
    }
    snprintf(path, sizeof path, "/run/netns/sr%d-%d-sw", (int)getpid(), k);
    return taken || access(path, F_OK) == 0;
}

/* ---- the janitor ---------------------------------------------------------- */

/* Deletes the namespaces it was told about ("+NAME\n") when the pipe closes,
 * unless told "x\n" first (the cluster cleaned up itself): a test that
 * crashes or times out leaves nothing behind. Out of the session, so a ^C to
 * the test's process group does not stop it. */
static void janitor_main(int fd, const char *logdir)
{
    char names[SR_TK_MAX_NODES + 1][40], buf[4096];
    size_t n = 0, have = 0;
    bool done = false;
    for (;;) {
        ssize_t r = read(fd, buf + have, sizeof buf - have);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        have += (size_t)r;
        char *nl;
        while ((nl = memchr(buf, '\n', have)) != NULL) {
            *nl = '\0';
            if (buf[0] == '+' && n < SR_TK_MAX_NODES + 1)
                snprintf(names[n++], sizeof names[0], "%.39s", buf + 1);
            else if (buf[0] == 'x')
                done = true;
            size_t used = (size_t)(nl + 1 - buf);
            memmove(buf, nl + 1, have - used);
            have -= used;
        }
        if (have == sizeof buf)
            have = 0; /* no line that long is ours */
    }
    for (size_t i = n; !done && i-- > 0;)
        (void)net_cmd(logdir, NULL, "ip", "netns", "del", names[i], (char *)NULL);
    _exit(0);
}

static int janitor_start(struct sr_tk_cluster *h)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0) {
        close(p[0]);
        close(p[1]);
        return -1;
    }
    if (pid == 0) {
        setsid();
        signal(SIGINT, SIG_IGN);
        signal(SIGHUP, SIG_IGN);
        int nul = open("/dev/null", O_RDWR);
        if (nul >= 0) {
            dup2(nul, 0);
            dup2(nul, 1);
            dup2(nul, 2);
        }
        dup2(p[0], 3);
        close_range(4, ~0u, 0);
        janitor_main(3, h->logdir);
    }
    close(p[0]);
    h->net.janitor_fd = p[1];
    h->net.janitor = pid;
    return 0;
}

static void janitor_note(struct sr_tk_cluster *h, char op, const char *name)
{
    char line[64];
    int n = snprintf(line, sizeof line, "%c%s\n", op, name);
    if (h->net.janitor_fd >= 0 && write(h->net.janitor_fd, line, (size_t)n) != n) {
        close(h->net.janitor_fd); /* janitor gone: nothing to tell it any more */
        h->net.janitor_fd = -1;
    }
}

static void janitor_stop(struct sr_tk_cluster *h)
{
    if (h->net.janitor_fd >= 0) {
        janitor_note(h, 'x', "");
        close(h->net.janitor_fd);
        h->net.janitor_fd = -1;
    }
    if (h->net.janitor > 0) {
        sr_time_us end = sr_time_mono_us() + 5 * SR_US_PER_S;
        while (waitpid(h->net.janitor, NULL, WNOHANG) == 0 && sr_time_mono_us() < end)
            usleep(2000);
        h->net.janitor = 0;
    }
}

/* ---- the switch and the nodes --------------------------------------------- */

/* The switch namespace with its bridge and the host's link to it. */
static int net_up(struct sr_tk_cluster *h)
{
    int start = (int)getpid() % NET_SUBNETS, k = -1;
    for (int t = 0; t < NET_SUBNETS && k < 0; t++)
        if (!net_subnet_taken((start + t) % NET_SUBNETS))
            k = (start + t) % NET_SUBNETS;
    if (k < 0)
        return -1;
    h->net.subnet = k;
    snprintf(h->net.prefix, sizeof h->net.prefix, "sr%d-%d", (int)getpid(), k);
    mkdir(h->logdir, 0755); /* may exist */
    if (!h->detach && h->net.janitor <= 0 && janitor_start(h) < 0)
        return -1;
    char sw[48], hostif[32], cidr[32];
    const char *d = h->logdir;
    net_switch(h, sw, sizeof sw);
    net_hostif(h, hostif, sizeof hostif);
    net_addr(k, NET_HOST, cidr, sizeof cidr);
    strcat(cidr, "/24");
    if (net_cmd(d, NULL, "ip", "netns", "add", sw, (char *)NULL) < 0)
        return -1;
    janitor_note(h, '+', sw);
    h->net.up = true; /* from here on tk_net_down removes it */
    if (net_cmd(d, sw, "ip", "link", "add", "br0", "type", "bridge", (char *)NULL) < 0 ||
        net_cmd(d, sw, "ip", "link", "set", "br0", "up", (char *)NULL) < 0 ||
        net_cmd(d, NULL, "ip", "link", "add", hostif, "type", "veth", "peer", "name", "host",
                "netns", sw, (char *)NULL) < 0 ||
        net_cmd(d, sw, "ip", "link", "set", "host", "master", "br0", "up", (char *)NULL) < 0 ||
        net_cmd(d, NULL, "ip", "addr", "add", cidr, "dev", hostif, (char *)NULL) < 0 ||
        net_cmd(d, NULL, "ip", "link", "set", hostif, "up", (char *)NULL) < 0)
        return -1;
    return 0;
}

static int net_node_rules(struct sr_tk_cluster *h, const char *ns)
{
    char host[24], text[1024];
    net_addr(h->net.subnet, NET_HOST, host, sizeof host);
    snprintf(text, sizeof text,
             "table inet swimring {\n"
             "  set blocked { type ipv4_addr; }\n"
             "  chain loss { }\n"
             "  chain input {\n"
             "    type filter hook input priority 0; policy accept;\n"
             "    ip saddr @blocked counter drop\n"
             "    iifname \"eth0\" ip saddr != %s jump loss\n"
             "  }\n"
             "  chain output {\n"
             "    type filter hook output priority 0; policy accept;\n"
             "    ip daddr @blocked counter drop\n"
             "  }\n"
             "}\n",
             host);
    return net_nft(h->logdir, ns, text);
}

int tk_net_node(struct sr_tk_cluster *h, size_t i, int gossip_port, int http_port)
{
    if (i >= 63 || (!h->net.up && net_up(h) < 0)) /* .1 .. .63: below the host's .254 */
        return -1;
    struct sr_tk_node *nd = &h->nodes[i];
    char sw[48], veth[8], ip[16], cidr[32];
    const char *d = h->logdir;
    net_switch(h, sw, sizeof sw);
    snprintf(nd->netns, sizeof nd->netns, "%s-n%zu", h->net.prefix, i);
    snprintf(veth, sizeof veth, "v%zu", i);
    net_addr(h->net.subnet, (int)i + 1, ip, sizeof ip);
    snprintf(cidr, sizeof cidr, "%s/24", ip);
    int gp = gossip_port > 0 ? gossip_port : NET_GOSSIP_PORT;
    int hp = http_port > 0 ? http_port : NET_HTTP_PORT;
    snprintf(nd->gossip, sizeof nd->gossip, "%s:%d", ip, gp);
    snprintf(nd->http, sizeof nd->http, "%s:%d", ip, hp);
    snprintf(nd->admin, sizeof nd->admin, "%s:%d", ip, hp + 1);
    if (h->net.made & (1ull << i))
        return 0;
    if (net_cmd(d, NULL, "ip", "netns", "add", nd->netns, (char *)NULL) < 0)
        return -1;
    janitor_note(h, '+', nd->netns);
    h->net.made |= 1ull << i;
    if (net_cmd(d, sw, "ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns",
                nd->netns, (char *)NULL) < 0 ||
        net_cmd(d, sw, "ip", "link", "set", veth, "master", "br0", "up", (char *)NULL) < 0 ||
        net_cmd(d, nd->netns, "ip", "addr", "add", cidr, "dev", "eth0", (char *)NULL) < 0 ||
        net_cmd(d, nd->netns, "ip", "link", "set", "eth0", "up", (char *)NULL) < 0 ||
        net_cmd(d, nd->netns, "ip", "link", "set", "lo", "up", (char *)NULL) < 0 ||
        net_node_rules(h, nd->netns) < 0)
        return -1;
    return 0;
}

void tk_net_down(struct sr_tk_cluster *h)
{
    const char *d = h->logdir;
    for (size_t i = 0; i < SR_TK_MAX_NODES; i++)
        if (h->net.made & (1ull << i)) {
            (void)net_cmd(d, NULL, "ip", "netns", "del", h->nodes[i].netns, (char *)NULL);
            h->net.made &= ~(1ull << i);
        }
    if (h->net.up) {
        char sw[48], hostif[32];
        net_switch(h, sw, sizeof sw);
        net_hostif(h, hostif, sizeof hostif);
        /* the host end first: a deleted namespace's links go asynchronously */
        (void)net_cmd(d, NULL, "ip", "link", "del", hostif, (char *)NULL);
        (void)net_cmd(d, NULL, "ip", "netns", "del", sw, (char *)NULL);
        h->net.up = false;
    }
    janitor_stop(h);
}

/* ---- partitions, loss, counters ------------------------------------------- */

int tk_net_partition(struct sr_tk_cluster *h, const char *spec)
{
    for (size_t i = 0; i < h->n; i++) {
        if (!(h->net.made & (1ull << i)))
            continue;
        int gi = tk_group_of(spec, i);
        char text[4096], ip[24];
        size_t used = (size_t)snprintf(text, sizeof text, "flush set inet swimring blocked\n");
        bool any = false;
        for (size_t k = 0; gi >= 0 && k < h->n; k++) {
            int gk = tk_group_of(spec, k);
            if (gk < 0 || gk == gi)
                continue;
            net_addr(h->net.subnet, (int)k + 1, ip, sizeof ip);
            used += (size_t)snprintf(text + used, sizeof text - used, "%s%s",
                                     any ? ", " : "add element inet swimring blocked { ", ip);
            any = true;
        }
        if (any)
            snprintf(text + used, sizeof text - used, " }\n");
        if (net_nft(h->logdir, h->nodes[i].netns, text) < 0)
            return -1;
    }
    return 0;
}

int tk_net_heal(struct sr_tk_cluster *h)
{
    int rc = 0;
    for (size_t i = 0; i < h->n; i++)
        if ((h->net.made & (1ull << i)) &&
            net_nft(h->logdir, h->nodes[i].netns,
                    "flush set inet swimring blocked\nflush chain inet swimring loss\n") < 0)
            rc = -1;
    return rc;
}

int sr_tk_loss(struct sr_tk_cluster *h, int percent)
{
    char text[256];
    if (!h->netns || percent < 0 || percent > 100)
        return -1;
    snprintf(text, sizeof text, "flush chain inet swimring loss\n"
                                "add rule inet swimring loss counter\n");
    if (percent > 0)
        snprintf(text + strlen(text), sizeof text - strlen(text),
                 "add rule inet swimring loss numgen random mod 100 < %d counter drop\n", percent);
    for (size_t i = 0; i < h->n; i++)
        if ((h->net.made & (1ull << i)) && net_nft(h->logdir, h->nodes[i].netns, text) < 0)
            return -1;
    return 0;
}

long sr_tk_dropped(struct sr_tk_cluster *h, size_t i, long *loss_seen, long *loss_dropped)
{
    char path[256], buf[8192];
    if (!h->netns || i >= h->n || !(h->net.made & (1ull << i)))
        return -1;
    snprintf(path, sizeof path, "%s/nft-%s.list", h->logdir, h->nodes[i].netns);
    unlink(path);
    const char *argv[] = {"nft", "list", "table", "inet", "swimring", NULL};
    if (net_run(h->logdir, h->nodes[i].netns, argv, path) != 0)
        return -1;
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* a counter on a drop rule counts drops; the loss chain's first rule
     * (a bare counter) counts what the loss rule saw, its numgen rule what
     * it dropped */
    long sum = 0, seen = 0, lost = 0;
    char *save = NULL;
    for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        const char *c = strstr(line, "counter packets ");
        if (!c)
            continue;
        long v = strtol(c + strlen("counter packets "), NULL, 10);
        if (!strstr(c, " drop"))
            seen += v;
        else if (strstr(line, "numgen"))
            lost += v;
        sum += strstr(c, " drop") ? v : 0;
    }
    if (loss_seen)
        *loss_seen = seen;
    if (loss_dropped)
        *loss_dropped = lost;
    return sum;
}

/* ---- can it run here? ----------------------------------------------------- */

static bool net_caps_ok(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    unsigned long long eff = 0;
    if (!f)
        return geteuid() == 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "CapEff: %llx", &eff) == 1)
            break;
    fclose(f);
    return (eff >> CAP_NET_ADMIN_BIT & 1) && (eff >> CAP_SYS_ADMIN_BIT & 1);
}

/* Make a trial namespace, run `probe` in it, delete it. On failure `why`
 * gets `what` and the first line the failing command printed. Output goes
 * to a temporary file, removed again: a probe leaves nothing behind. */
static bool net_trial(const char *const *probe, const char *what, char *why, size_t whylen)
{
    char out[] = "/tmp/sr-tk-probe-XXXXXX", ns[48], line[160] = "";
    int fd = mkstemp(out);
    if (fd < 0) {
        snprintf(why, whylen, "cannot make a temporary file: %s", strerror(errno));
        return false;
    }
    snprintf(ns, sizeof ns, "sr%d-probe", (int)getpid());
    const char *add[] = {"ip", "netns", "add", ns, NULL}, *del[] = {"ip", "netns", "del", ns, NULL};
    bool made = net_run(NULL, NULL, add, out) == 0;
    bool ok = made && net_run(NULL, ns, probe, out) == 0;
    if (made)
        (void)net_run(NULL, NULL, del, out);
    FILE *f = ok ? NULL : fdopen(fd, "r");
    if (f) {
        if (!fgets(line, sizeof line, f))
            line[0] = '\0';
        line[strcspn(line, "\n")] = '\0';
        fclose(f);
    } else {
        close(fd);
    }
    if (!ok)
        snprintf(why, whylen, "%s%s%s", made ? what : "`ip netns add` failed", line[0] ? ": " : "",
                 line);
    unlink(out);
    return ok;
}

bool sr_tk_netns_usable(char *why, size_t whylen)
{
    char tool[256];
    if (!net_caps_ok()) {
        snprintf(why, whylen, "needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN); uid %d has not",
                 (int)geteuid());
        return false;
    }
    if (!net_tool("ip", tool, sizeof tool)) {
        snprintf(why, whylen, "no `ip` program (Debian package iproute2)");
        return false;
    }
    if (!net_tool("nft", tool, sizeof tool)) {
        snprintf(why, whylen, "no `nft` program (Debian package nftables)");
        return false;
    }
    const char *probe[] = {"nft", "add", "table", "inet", "probe", NULL};
    return net_trial(probe, "nftables does not work in a network namespace here", why, whylen);
}

bool sr_tk_netem_usable(char *why, size_t whylen)
{
    char tool[256];
    if (!net_caps_ok() || !net_tool("ip", tool, sizeof tool)) {
        snprintf(why, whylen, "network namespaces not usable (root and iproute2 needed)");
        return false;
    }
    if (!net_tool("tc", tool, sizeof tool)) {
        snprintf(why, whylen, "no `tc` program (Debian package iproute2)");
        return false;
    }
    const char *probe[] = {"tc", "qdisc", "add", "dev", "lo", "root", "netem", "delay", "1ms", NULL};
    return net_trial(probe, "this kernel has no netem qdisc (sch_netem): `tc netem` cannot run",
                     why, whylen);
}
