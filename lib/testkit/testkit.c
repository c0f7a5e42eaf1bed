/* testkit: local clusters of a swimring daemon (see swimring/testkit.h). */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <time.h>
#include "tk_int.h"

void sr_tk_init(struct sr_tk_cluster *h, const char *ringd, const char *profile)
{
    memset(h, 0, sizeof(*h));
    h->ringd = ringd;
    h->profile = profile;
    h->net.subnet = -1;
    h->net.janitor_fd = -1;
    snprintf(h->logdir, sizeof(h->logdir), "/tmp/sr-tk-%d", (int)getpid());
}

void sr_tk_destroy(struct sr_tk_cluster *h)
{
    for (size_t i = 0; i < h->n; i++) {
        if (h->nodes[i].pid > 0) {
            kill(h->nodes[i].pid, SIGKILL);
            waitpid(h->nodes[i].pid, NULL, 0);
            h->nodes[i].pid = 0;
        }
    }
    if (h->netns)
        tk_net_down(h);
}

static int bind_port(int type, int port)
{
    struct sockaddr_in sa = {0};
    socklen_t sl = sizeof(sa);
    int fd = socket(AF_INET, type, 0);
    if (fd < 0)
        return -1;
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &sl) != 0) {
        close(fd);
        return -1;
    }
    close(fd);
    return ntohs(sa.sin_port);
}

int sr_tk_free_port(void)
{
    /* The kernel picks a free TCP port; keep it only if UDP is free there too. */
    for (int tries = 0; tries < 100; tries++) {
        int p = bind_port(SOCK_STREAM, 0);
        if (p > 0 && bind_port(SOCK_DGRAM, p) == p)
            return p;
    }
    return -1;
}

/* A free port not yet given to one of our nodes: a node that has not bound
 * its ports yet leaves them looking free to the kernel. */
static int harness_new_port(const struct sr_tk_cluster *h, int also_not)
{
    for (int tries = 0; tries < 100; tries++) {
        int p = sr_tk_free_port();
        char g[16];
        bool used = p == also_not;
        snprintf(g, sizeof(g), ":%d", p);
        for (size_t i = 0; i < h->n && !used; i++)
            used = strstr(h->nodes[i].gossip, g) || strstr(h->nodes[i].http, g);
        if (p > 0 && !used)
            return p;
    }
    return -1;
}

/* fork + exec node i with its stored addresses and seeds. */
static int tk_exec(struct sr_tk_cluster *h, size_t i)
{
    struct sr_tk_node *nd = &h->nodes[i];
    char logpath[192];
    snprintf(logpath, sizeof(logpath), "%s/%s.log", h->logdir, nd->name);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        /* Die with the test process, so a crashed or aborted test leaks no
         * node; a parent that died before the prctl took effect is seen
         * by getppid (the signal would never come). */
        if (!h->detach) {
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            if (getppid() != parent)
                _exit(125);
        } else
            setsid(); /* ringctl cluster up: not in the caller's terminal session */
        int fd = open(logpath, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        close_range(3, ~0u, 0); /* no inherited sockets or pipes in the node */
        if (nd->netns[0] && tk_net_enter(nd->netns) != 0) {
            fprintf(stderr, "testkit: cannot enter network namespace %s\n", nd->netns);
            _exit(126);
        }
        const char *argv[40] = {h->ringd, "--listen", nd->gossip, "--http", nd->http,
                                "--name", nd->name, "--profile", h->profile,
                                "--log-level", "info", "--set", "admin.faults=true"};
        int a = h->no_faults ? 11 : 13;
        char admin[64], token[160];
        if (strcmp(nd->admin, nd->http) != 0) {
            /* admin answers loopback clients only unless on a listener of its
             * own, which beyond loopback needs a token (made by the parent) */
            snprintf(admin, sizeof admin, "admin.listen=%s", nd->admin);
            snprintf(token, sizeof token, "admin.token=%s", tk_admin_token(false));
            argv[a++] = "--set";
            argv[a++] = admin;
            argv[a++] = "--set";
            argv[a++] = token;
        }
        if (nd->seeds[0]) {
            argv[a++] = "--seeds";
            argv[a++] = nd->seeds;
        }
        for (size_t k = 0; h->extra && h->extra[k] && a < 38; k++)
            argv[a++] = h->extra[k];
        argv[a] = NULL;
        execv(h->ringd, (char *const *)argv);
        _exit(127);
    }
    nd->pid = pid;
    nd->stopped = false;
    return 0;
}

int sr_tk_spawn(struct sr_tk_cluster *h, const char *seeds)
{
    return sr_tk_spawn_at(h, seeds, 0, 0);
}

int sr_tk_spawn_at(struct sr_tk_cluster *h, const char *seeds, int gossip_port, int http_port)
{
    if (h->n >= SR_TK_MAX_NODES)
        return -1;
    struct sr_tk_node *nd = &h->nodes[h->n];
    if (h->netns) {
        /* its own namespace and address: any port is free there */
        if (tk_net_node(h, h->n, gossip_port, http_port) < 0)
            return -1;
    } else {
        int gp = gossip_port > 0 ? gossip_port : harness_new_port(h, -1);
        int hp = http_port > 0 ? http_port : harness_new_port(h, gp);
        if (gp < 0 || hp < 0)
            return -1;
        snprintf(nd->gossip, sizeof(nd->gossip), "127.0.0.1:%d", gp);
        snprintf(nd->http, sizeof(nd->http), "127.0.0.1:%d", hp);
        memcpy(nd->admin, nd->http, sizeof(nd->admin));
    }
    snprintf(nd->name, sizeof(nd->name), "n%zu", h->n);
    snprintf(nd->seeds, sizeof(nd->seeds), "%s", seeds ? seeds : "");
    mkdir(h->logdir, 0755); /* may exist */
    if (strcmp(nd->admin, nd->http) != 0 && !tk_admin_token(true))
        return -1;
    if (tk_exec(h, h->n) < 0)
        return -1;
    return (int)h->n++;
}

size_t sr_tk_running(const struct sr_tk_cluster *h)
{
    size_t n = 0;
    for (size_t i = 0; i < h->n; i++)
        n += h->nodes[i].pid > 0 && !h->nodes[i].stopped;
    return n;
}

int sr_tk_restart(struct sr_tk_cluster *h, size_t i)
{
    if (i >= h->n)
        return -1;
    struct sr_tk_node *nd = &h->nodes[i];
    if (nd->pid > 0) {
        kill(nd->pid, SIGKILL);
        if (sr_tk_reap(h, i, sr_time_mono_us() + 5 * SR_US_PER_S) < 0)
            return -1;
    }
    /* join through any running node (the first one may be the one down) */
    nd->seeds[0] = '\0';
    for (size_t k = 0; k < h->n; k++)
        if (k != i && h->nodes[k].pid > 0 && !h->nodes[k].stopped) {
            memcpy(nd->seeds, h->nodes[k].gossip, sizeof(h->nodes[k].gossip));
            break;
        }
    return tk_exec(h, i);
}

int sr_tk_signal(struct sr_tk_cluster *h, size_t i, int sig)
{
    if (i >= h->n || h->nodes[i].pid <= 0)
        return -1;
    int rc = kill(h->nodes[i].pid, sig);
    if (rc == 0 && (sig == SIGSTOP || sig == SIGCONT))
        h->nodes[i].stopped = sig == SIGSTOP;
    return rc;
}

int sr_tk_reap(struct sr_tk_cluster *h, size_t i, sr_time_us deadline)
{
    int st;
    if (i >= h->n || h->nodes[i].pid <= 0)
        return -1;
    while (sr_time_mono_us() < deadline) {
        pid_t r = waitpid(h->nodes[i].pid, &st, WNOHANG);
        if (r == h->nodes[i].pid) {
            h->nodes[i].pid = 0;
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        }
        /* not our child (ringctl cluster, a later invocation): wait until
         * the pid is gone; its parent (init) collects it */
        if (r < 0 && errno == ECHILD && kill(h->nodes[i].pid, 0) != 0 && errno == ESRCH) {
            h->nodes[i].pid = 0;
            return 0;
        }
        usleep(20000);
    }
    return -1;
}

int sr_tk_connect(const char *hostport)
{
    char host[32];
    const char *colon = strrchr(hostport, ':');
    if (!colon || (size_t)(colon - hostport) >= sizeof(host))
        return -1;
    memcpy(host, hostport, (size_t)(colon - hostport));
    host[colon - hostport] = '\0';
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)atoi(colon + 1));
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
        return -1;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct timeval tv = {2, 0}; /* a live node answers in microseconds */
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

const char *tk_admin_token(bool make)
{
    const char *t = getenv(SR_TK_ADMIN_TOKEN_ENV);
    if ((t && t[0]) || !make)
        return t && t[0] ? t : "";
    unsigned char raw[16];
    char hex[33];
    FILE *f = fopen("/dev/urandom", "r");
    size_t got = f ? fread(raw, 1, sizeof raw, f) : 0;
    if (f)
        fclose(f);
    if (got != sizeof raw)
        return NULL;
    for (size_t i = 0; i < sizeof raw; i++)
        snprintf(hex + 2 * i, 3, "%02x", raw[i]);
    return setenv(SR_TK_ADMIN_TOKEN_ENV, hex, 0) == 0 ? getenv(SR_TK_ADMIN_TOKEN_ENV) : NULL;
}

/* "Authorization: Bearer T\r\n" for the admin token, or "". */
static const char *tk_auth_header(char *out, size_t len)
{
    const char *t = tk_admin_token(false);
    if (!t[0] || (size_t)snprintf(out, len, "Authorization: Bearer %s\r\n", t) >= len)
        out[0] = '\0';
    return out;
}

json_t *sr_tk_http(const char *hostport, const char *method, const char *path)
{
    char req[512], auth[160], *resp = NULL;
    size_t len = 0, cap = 0;
    int fd = sr_tk_connect(hostport);
    if (fd < 0)
        return NULL;
    int n = snprintf(req, sizeof(req),
                     "%s %s HTTP/1.0\r\nHost: %s\r\n%sContent-Length: 0\r\n\r\n", method, path,
                     hostport, tk_auth_header(auth, sizeof auth));
    if (write(fd, req, (size_t)n) != n) {
        close(fd);
        return NULL;
    }
    for (;;) { /* HTTP/1.0: the server closes when done */
        if (cap - len < 4096) {
            cap = cap ? cap * 2 : 16384;
            char *p = realloc(resp, cap + 1);
            if (!p)
                break;
            resp = p;
        }
        ssize_t r = read(fd, resp + len, cap - len);
        if (r <= 0)
            break;
        len += (size_t)r;
    }
    close(fd);
    json_t *j = NULL;
    if (resp) {
        resp[len] = '\0';
        char *body = strstr(resp, "\r\n\r\n");
        if (body && strncmp(resp, "HTTP/1.", 7) == 0 && strncmp(resp + 9, "200", 3) == 0)
            j = json_loads(body + 4, 0, NULL);
    }
    free(resp);
    return j;
}

void sr_tk_conn_init(struct sr_tk_conn *c, const char *hostport)
{
    c->fd = -1;
    c->headers = NULL;
    c->head[0] = '\0';
    snprintf(c->hostport, sizeof(c->hostport), "%s", hostport);
}

void sr_tk_conn_close(struct sr_tk_conn *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
}

static int conn_write_all(int fd, const void *p, size_t len)
{
    const char *b = p;
    while (len > 0) {
        ssize_t w = write(fd, b, len);
        if (w <= 0)
            return -1;
        b += w;
        len -= (size_t)w;
    }
    return 0;
}

/* Reads until the header block and Content-Length bytes of body are in. */
static int conn_read_answer(int fd, char *out, size_t cap, size_t *outlen, char *head,
                            size_t headcap)
{
    char buf[65536];
    size_t have = 0;
    char *hdr_end = NULL;
    long clen = -1;
    for (;;) {
        if (have == sizeof(buf))
            return -1;
        ssize_t r = read(fd, buf + have, sizeof(buf) - have);
        if (r <= 0)
            return -1;
        have += (size_t)r;
        if (!hdr_end && (hdr_end = memmem(buf, have, "\r\n\r\n", 4))) {
            *hdr_end = '\0';
            size_t hl = (size_t)(hdr_end - buf) < headcap - 1 ? (size_t)(hdr_end - buf) : headcap - 1;
            memcpy(head, buf, hl); /* the header block, cut to fit */
            head[hl] = '\0';
            const char *cl = strcasestr(buf, "\r\ncontent-length:");
            clen = cl ? strtol(cl + 17, NULL, 10) : 0;
        }
        if (hdr_end && (long)(have - (size_t)(hdr_end + 4 - buf)) >= clen)
            break;
    }
    int status = strncmp(buf, "HTTP/1.", 7) == 0 ? atoi(buf + 9) : -1;
    size_t n = (size_t)clen < cap ? (size_t)clen : cap - 1;
    memcpy(out, hdr_end + 4, n);
    out[n] = '\0';
    if (outlen)
        *outlen = (size_t)clen;
    return status;
}

int sr_tk_conn_request(struct sr_tk_conn *c, const char *method, const char *path,
                            const void *body, size_t len, char *out, size_t cap, size_t *outlen)
{
    char head[640], auth[160];
    if (c->fd < 0 && (c->fd = sr_tk_connect(c->hostport)) < 0)
        return -1;
    int n = snprintf(head, sizeof(head),
                     "%s %s HTTP/1.1\r\nHost: %s\r\n%sContent-Length: %zu\r\n\r\n", method,
                     path, c->hostport,
                     c->headers ? c->headers : tk_auth_header(auth, sizeof auth), len);
    int status = -1;
    /* one write: a separate small body write would wait for the delayed ACK */
    char *msg = n > 0 && (size_t)n < sizeof(head) ? malloc((size_t)n + len) : NULL;
    if (msg) {
        memcpy(msg, head, (size_t)n);
        if (len)
            memcpy(msg + n, body, len);
        if (conn_write_all(c->fd, msg, (size_t)n + len) == 0)
            status = conn_read_answer(c->fd, out, cap, outlen, c->head, sizeof c->head);
        free(msg);
    }
    if (status < 0)
        sr_tk_conn_close(c);
    return status;
}

bool sr_tk_wait(struct sr_tk_cluster *h, sr_time_us deadline, sr_tk_cond_f cond, void *ud)
{
    for (;;) {
        if (cond(h, ud))
            return true;
        if (sr_time_mono_us() >= deadline)
            return false;
        usleep(50000);
    }
}

static const char *jstr(json_t *o, const char *key)
{
    const char *v = json_string_value(json_object_get(o, key));
    return v ? v : "";
}

void sr_tk_status_of(struct sr_tk_cluster *h, size_t i, const char *addr, char *out, size_t outlen)
{
    json_t *j = sr_tk_http(h->nodes[i].admin, "GET", "/admin/members");
    size_t k;
    json_t *m;
    snprintf(out, outlen, "%s", j ? "" : "?");
    json_array_foreach(json_object_get(j, "members"), k, m) {
        if (strcmp(jstr(m, "address"), addr) == 0)
            snprintf(out, outlen, "%s", jstr(m, "status"));
    }
    json_decref(j);
}

/* ---- cluster-wide conditions and faults --------------------------------- */

static long ring_field(json_t *status, const char *key)
{
    json_t *v = json_object_get(json_object_get(status, "ring"), key);
    return json_is_integer(v) ? (long)json_integer_value(v) : -1;
}

bool sr_tk_converged(struct sr_tk_cluster *h)
{
    long want = (long)sr_tk_running(h), sum = -1;
    for (size_t i = 0; i < h->n; i++) {
        if (h->nodes[i].pid <= 0 || h->nodes[i].stopped)
            continue;
        json_t *j = sr_tk_http(h->nodes[i].admin, "GET", "/admin/status");
        long members = ring_field(j, "members"), cs = ring_field(j, "checksum");
        json_decref(j);
        if (members != want || cs < 0 || (sum >= 0 && cs != sum))
            return false;
        sum = cs;
    }
    return want > 0;
}

static bool tk_cond_converged(struct sr_tk_cluster *h, void *ud)
{
    (void)ud;
    return sr_tk_converged(h);
}

bool sr_tk_wait_converged(struct sr_tk_cluster *h, sr_time_us deadline)
{
    return sr_tk_wait(h, deadline, tk_cond_converged, NULL);
}

int sr_tk_start(struct sr_tk_cluster *h, size_t n, sr_time_us deadline)
{
    for (size_t i = 0; i < n; i++)
        if (sr_tk_spawn(h, h->n ? h->nodes[0].gossip : NULL) < 0)
            return -1;
    return sr_tk_wait_converged(h, deadline) ? 0 : -1;
}

int sr_tk_http_body(const char *hostport, const char *method, const char *path,
                    const char *body, json_t **out)
{
    struct sr_tk_conn c;
    static const size_t cap = 65536;
    char *buf = malloc(cap);
    size_t len = 0;
    if (!buf)
        return -1;
    sr_tk_conn_init(&c, hostport);
    int st = sr_tk_conn_request(&c, method, path, body, body ? strlen(body) : 0, buf, cap, &len);
    sr_tk_conn_close(&c);
    if (out)
        *out = st > 0 ? json_loads(buf, 0, NULL) : NULL;
    free(buf);
    return st;
}

int tk_group_of(const char *spec, size_t i)
{
    int g = 0;
    for (const char *p = spec; *p;) {
        if (*p == '|') {
            g++;
            p++;
            continue;
        }
        if (*p == ',' || *p == ' ') {
            p++;
            continue;
        }
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p)
            return -2; /* malformed */
        if (v == (long)i)
            return g;
        p = end;
    }
    return -1;
}

int sr_tk_partition(struct sr_tk_cluster *h, const char *spec)
{
    for (size_t i = 0; i < h->n; i++)
        if (tk_group_of(spec, i) == -2)
            return -1;
    if (h->netns)
        return tk_net_partition(h, spec);
    for (size_t i = 0; i < h->n; i++) {
        int gi = tk_group_of(spec, i);
        if (gi < 0 || h->nodes[i].pid <= 0)
            continue;
        char body[2048] = "{\"drop\":[";
        size_t used = strlen(body);
        bool first = true;
        for (size_t k = 0; k < h->n; k++) {
            int gk = tk_group_of(spec, k);
            if (gk < 0 || gk == gi)
                continue;
            used += (size_t)snprintf(body + used, sizeof(body) - used, "%s\"%s\"",
                                     first ? "" : ",", h->nodes[k].gossip);
            first = false;
        }
        snprintf(body + used, sizeof(body) - used, "]}");
        if (sr_tk_http_body(h->nodes[i].admin, "POST", "/admin/faults", body, NULL) != 200)
            return -1;
    }
    return 0;
}

int sr_tk_heal(struct sr_tk_cluster *h)
{
    int rc = 0;
    if (h->netns)
        return tk_net_heal(h);
    for (size_t i = 0; i < h->n; i++)
        if (h->nodes[i].pid > 0 && !h->nodes[i].stopped &&
            sr_tk_http_body(h->nodes[i].admin, "POST", "/admin/faults", "{}", NULL) != 200)
            rc = -1;
    return rc;
}

/* Run `tick` every ~20 ms until `until`. */
static void tk_pause(sr_time_us until, void (*tick)(void *), void *ud)
{
    while (sr_time_mono_us() < until) {
        if (tick)
            tick(ud);
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

int sr_tk_chaos(struct sr_tk_cluster *h, int kills, uint32_t every_ms, uint32_t duration_ms,
                uint64_t seed, void (*tick)(void *ud), void *ud)
{
    sr_time_us end = sr_time_mono_us() + (sr_time_us)duration_ms * SR_US_PER_MS;
    uint64_t x = seed | 1;
    int done = 0;
    while (done < kills && sr_time_mono_us() + (sr_time_us)every_ms * SR_US_PER_MS <= end) {
        tk_pause(sr_time_mono_us() + (sr_time_us)every_ms * SR_US_PER_MS / 2, tick, ud);
        if (sr_tk_running(h) < 2)
            break;
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        size_t victim = (size_t)(x % h->n);
        while (h->nodes[victim].pid <= 0 || h->nodes[victim].stopped)
            victim = (victim + 1) % h->n;
        if (sr_tk_signal(h, victim, SIGKILL) != 0)
            break;
        (void)sr_tk_reap(h, victim, sr_time_mono_us() + 5 * SR_US_PER_S);
        done++;
        tk_pause(sr_time_mono_us() + (sr_time_us)every_ms * SR_US_PER_MS / 2, tick, ud);
        if (sr_tk_restart(h, victim) != 0)
            break;
    }
    return done;
}

/* ---- tools ------------------------------------------------------------------ */

static void run_child(const char *prog, const char *const *args, int out_w, int in_r)
{
    dup2(out_w, 1);
    dup2(in_r, 0);
    close(out_w);
    close(in_r);
    const char *argv[32] = {prog};
    int a = 1;
    for (int i = 0; args[i] && a < 31; i++)
        argv[a++] = args[i];
    argv[a] = NULL;
    execv(prog, (char *const *)argv);
    _exit(127);
}

int sr_tk_run(const char *prog, const char *const *args, const char *in, char *out, size_t cap)
{
    int o[2], i[2];
    if (cap == 0 || pipe(o) != 0)
        return -1;
    if (pipe(i) != 0) {
        close(o[0]), close(o[1]);
        return -1;
    }
    pid_t pid = fork();
    if (pid == 0) {
        close(o[0]), close(i[1]);
        run_child(prog, args, o[1], i[0]);
    }
    close(o[1]), close(i[0]);
    if (pid < 0) {
        close(o[0]), close(i[1]);
        return -1;
    }
    size_t len = in ? strlen(in) : 0, put = 0;
    while (put < len) {
        ssize_t w = write(i[1], in + put, len - put);
        if (w <= 0)
            break; /* it stopped reading: its answer says why */
        put += (size_t)w;
    }
    close(i[1]);
    size_t n = 0;
    ssize_t r;
    while (n + 1 < cap && (r = read(o[0], out + n, cap - 1 - n)) > 0)
        n += (size_t)r;
    out[n] = '\0';
    close(o[0]);
    int st;
    if (waitpid(pid, &st, 0) != pid)
        return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}
