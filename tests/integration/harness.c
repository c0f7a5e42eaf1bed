/* Multi-process test helpers, see harness.h. */
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
#include "integration/harness.h"

void sr_harness_init(struct sr_harness *h, const char *ringd, const char *profile)
{
    memset(h, 0, sizeof(*h));
    h->ringd = ringd;
    h->profile = profile;
    snprintf(h->logdir, sizeof(h->logdir), "/tmp/sr-harness-%d", (int)getpid());
    mkdir(h->logdir, 0755);
}

void sr_harness_destroy(struct sr_harness *h)
{
    for (size_t i = 0; i < h->n; i++) {
        if (h->nodes[i].pid > 0) {
            kill(h->nodes[i].pid, SIGKILL);
            waitpid(h->nodes[i].pid, NULL, 0);
            h->nodes[i].pid = 0;
        }
    }
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

int sr_harness_free_port(void)
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
static int harness_new_port(const struct sr_harness *h, int also_not)
{
    for (int tries = 0; tries < 100; tries++) {
        int p = sr_harness_free_port();
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

int sr_harness_spawn(struct sr_harness *h, const char *seeds)
{
    if (h->n >= SR_HARNESS_MAX_NODES)
        return -1;
    struct sr_harness_node *nd = &h->nodes[h->n];
    int gp = harness_new_port(h, -1), hp = harness_new_port(h, gp);
    if (gp < 0 || hp < 0)
        return -1;
    snprintf(nd->gossip, sizeof(nd->gossip), "127.0.0.1:%d", gp);
    snprintf(nd->http, sizeof(nd->http), "127.0.0.1:%d", hp);
    snprintf(nd->name, sizeof(nd->name), "n%zu", h->n);
    char logpath[128];
    snprintf(logpath, sizeof(logpath), "%s/%s.log", h->logdir, nd->name);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        /* Die with the test process, so a crashed or aborted test leaks no node. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        int fd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        const char *argv[32] = {h->ringd, "--listen", nd->gossip, "--http", nd->http,
                                "--name", nd->name, "--profile", h->profile,
                                "--log-level", "info"};
        int a = 11;
        if (seeds) {
            argv[a++] = "--seeds";
            argv[a++] = seeds;
        }
        for (size_t k = 0; h->extra && h->extra[k] && a < 30; k++)
            argv[a++] = h->extra[k];
        argv[a] = NULL;
        execv(h->ringd, (char *const *)argv);
        _exit(127);
    }
    nd->pid = pid;
    return (int)h->n++;
}

int sr_harness_signal(struct sr_harness *h, size_t i, int sig)
{
    if (i >= h->n || h->nodes[i].pid <= 0)
        return -1;
    return kill(h->nodes[i].pid, sig);
}

int sr_harness_reap(struct sr_harness *h, size_t i, sr_time_us deadline)
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
        usleep(20000);
    }
    return -1;
}

static int http_connect(const char *hostport)
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

json_t *sr_harness_http(const char *hostport, const char *method, const char *path)
{
    char req[256], *resp = NULL;
    size_t len = 0, cap = 0;
    int fd = http_connect(hostport);
    if (fd < 0)
        return NULL;
    int n = snprintf(req, sizeof(req),
                     "%s %s HTTP/1.0\r\nHost: %s\r\nContent-Length: 0\r\n\r\n", method, path,
                     hostport);
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

void sr_harness_conn_init(struct sr_harness_conn *c, const char *hostport)
{
    c->fd = -1;
    c->headers = NULL;
    c->head[0] = '\0';
    snprintf(c->hostport, sizeof(c->hostport), "%s", hostport);
}

void sr_harness_conn_close(struct sr_harness_conn *c)
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
            snprintf(head, headcap, "%s", buf);
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

int sr_harness_conn_request(struct sr_harness_conn *c, const char *method, const char *path,
                            const void *body, size_t len, char *out, size_t cap, size_t *outlen)
{
    char head[512];
    if (c->fd < 0 && (c->fd = http_connect(c->hostport)) < 0)
        return -1;
    int n = snprintf(head, sizeof(head),
                     "%s %s HTTP/1.1\r\nHost: %s\r\n%sContent-Length: %zu\r\n\r\n", method,
                     path, c->hostport, c->headers ? c->headers : "", len);
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
        sr_harness_conn_close(c);
    return status;
}

bool sr_harness_wait(struct sr_harness *h, sr_time_us deadline, sr_harness_cond_f cond, void *ud)
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

void sr_harness_status_of(struct sr_harness *h, size_t i, const char *addr, char *out, size_t outlen)
{
    json_t *j = sr_harness_http(h->nodes[i].http, "GET", "/admin/members");
    size_t k;
    json_t *m;
    snprintf(out, outlen, "%s", j ? "" : "?");
    json_array_foreach(json_object_get(j, "members"), k, m) {
        if (strcmp(jstr(m, "address"), addr) == 0)
            snprintf(out, outlen, "%s", jstr(m, "status"));
    }
    json_decref(j);
}
