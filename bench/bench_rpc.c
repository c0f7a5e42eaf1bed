/* RPC transport benchmark: echo requests over loopback TCP, one pooled
 * connection, 1 / 16 / 128 requests kept in flight. Client and server are
 * two processes (fork), each with its own event loop, as two nodes are.
 *
 * Prints a human table, then BENCH lines (CONVENTIONS item 16):
 *   BENCH {"name":"rpc.echo_rps","value":...,"unit":"req/s","inflight":16}
 *   BENCH {"name":"rpc.echo_p50_us",...} and rpc.echo_p99_us
 * BENCH_RPC_SECONDS sets the measured time per row (default 2), BENCH_RPC_BODY
 * the body size in bytes (default 64). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <event2/event.h>
#include "swimring/error.h"
#include "swimring/rpc.h"
#include "swimring/time.h"

static void echo(void *ud, struct sr_rpc_reply *reply, const struct sr_rpc_request *req)
{
    (void)ud;
    sr_rpc_respond(reply, 0, req->body, req->body_len);
}

static void ctl_closed(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    event_base_loopbreak(arg);
}

/* Child: serve echo until the parent closes the control pipe. */
static int server_main(int addr_fd, int ctl_fd)
{
    struct event_base *base = event_base_new();
    int err = 0;
    struct sr_rpc *rpc = sr_rpc_new(base, NULL, NULL, &err);
    if (rpc == NULL || sr_rpc_handle(rpc, "bench", "echo", echo, NULL) < 0 ||
        sr_rpc_listen(rpc, "127.0.0.1:0") < 0)
        return 1;
    char addr[SR_RPC_ADDR_MAX] = {0};
    sr_rpc_listen_addr(rpc, addr, sizeof(addr));
    if (write(addr_fd, addr, sizeof(addr)) != (ssize_t)sizeof(addr))
        return 1;
    close(addr_fd);
    struct event *ctl = event_new(base, ctl_fd, EV_READ, ctl_closed, base);
    event_add(ctl, NULL);
    event_base_dispatch(base);
    event_free(ctl);
    sr_rpc_delete(rpc);
    event_base_free(base);
    return 0;
}

struct slot {
    struct run *run;
    sr_time_us start;
};

struct run {
    struct event_base *base;
    struct sr_rpc *rpc;
    const char *addr;
    uint8_t *body;
    size_t body_len;
    sr_time_us measure_from, stop_at;
    uint64_t done, errors;
    int outstanding;
    sr_time_us *lat;          /* latencies in the measured window */
    size_t nlat, caplat;
};

static void issue(struct slot *s);

static void on_done(void *ud, const struct sr_rpc_result *res)
{
    struct slot *s = ud;
    struct run *r = s->run;
    sr_time_us now = sr_time_mono_us();
    r->outstanding--;
    if (res->status != 0)
        r->errors++;
    if (s->start >= r->measure_from && now <= r->stop_at) {
        r->done++;
        if (r->nlat == r->caplat) {
            r->caplat = r->caplat ? r->caplat * 2 : 1 << 16;
            r->lat = realloc(r->lat, r->caplat * sizeof(*r->lat));
            if (r->lat == NULL)
                abort();
        }
        r->lat[r->nlat++] = now - s->start;
    }
    if (now < r->stop_at)
        issue(s);
    else if (r->outstanding == 0)
        event_base_loopbreak(r->base);
}

static void issue(struct slot *s)
{
    struct run *r = s->run;
    struct sr_rpc_call_args a = {.service = "bench", .endpoint = "echo", .body = r->body,
                                 .body_len = r->body_len, .timeout_ms = 5000};
    s->start = sr_time_mono_us();
    if (sr_rpc_call(r->rpc, r->addr, &a, on_done, s, NULL) == 0)
        r->outstanding++;
    else
        r->errors++;
}

static int cmp_lat(const void *a, const void *b)
{
    sr_time_us x = *(const sr_time_us *)a, y = *(const sr_time_us *)b;
    return x < y ? -1 : x > y;
}

static double pct(const struct run *r, double p)
{
    if (r->nlat == 0)
        return 0;
    size_t i = (size_t)(p * (double)(r->nlat - 1));
    return (double)r->lat[i];
}

static void bench_line(const char *name, double v, const char *unit, int inflight)
{
    printf("BENCH {\"name\":\"%s\",\"value\":%.1f,\"unit\":\"%s\",\"inflight\":%d}\n", name, v,
           unit, inflight);
}

static int run_one(struct run *r, int inflight, double seconds, double *rps, double *p50,
                   double *p99)
{
    struct slot *slots = calloc((size_t)inflight, sizeof(*slots));
    sr_time_us now = sr_time_mono_us();
    r->measure_from = now + 300 * SR_US_PER_MS;  /* warm-up */
    r->stop_at = r->measure_from + (sr_time_us)(seconds * (double)SR_US_PER_S);
    r->done = r->errors = 0;
    r->nlat = 0;
    for (int i = 0; i < inflight; i++) {
        slots[i].run = r;
        issue(&slots[i]);
    }
    event_base_dispatch(r->base);
    free(slots);
    qsort(r->lat, r->nlat, sizeof(*r->lat), cmp_lat);
    *rps = (double)r->done / seconds;
    *p50 = pct(r, 0.50);
    *p99 = pct(r, 0.99);
    return r->errors == 0 ? 0 : -1;
}

static int client_main(const char *addr, double seconds, size_t body_len)
{
    struct run r = {.addr = addr, .body_len = body_len};
    r.base = event_base_new();
    int err = 0;
    r.rpc = sr_rpc_new(r.base, NULL, NULL, &err);
    r.body = calloc(1, body_len + 1);
    if (r.rpc == NULL || r.body == NULL)
        return 1;
    static const int levels[] = {1, 16, 128};
    double rps[3], p50[3], p99[3];
    int rc = 0;
    printf("rpc echo over loopback TCP: 2 processes, 1 connection, %zu-byte body, %.1f s per row\n",
           body_len, seconds);
    printf("%9s %12s %10s %10s\n", "inflight", "req/s", "p50 us", "p99 us");
    for (int i = 0; i < 3; i++) {
        if (run_one(&r, levels[i], seconds, &rps[i], &p50[i], &p99[i]) < 0) {
            fprintf(stderr, "bench_rpc: %llu calls failed at inflight %d\n",
                    (unsigned long long)r.errors, levels[i]);
            rc = 1;
        }
        printf("%9d %12.0f %10.1f %10.1f\n", levels[i], rps[i], p50[i], p99[i]);
    }
    for (int i = 0; i < 3; i++) {
        bench_line("rpc.echo_rps", rps[i], "req/s", levels[i]);
        bench_line("rpc.echo_p50_us", p50[i], "us", levels[i]);
        bench_line("rpc.echo_p99_us", p99[i], "us", levels[i]);
    }
    struct sr_rpc_stats st;
    sr_rpc_stats_get(r.rpc, &st);
    printf("client: %llu requests, %llu connects, %llu timeouts, %.1f MB sent\n",
           (unsigned long long)st.requests_sent, (unsigned long long)st.connects,
           (unsigned long long)st.timeouts, (double)st.bytes_sent / 1e6);
    sr_rpc_delete(r.rpc);
    event_base_free(r.base);
    free(r.body);
    free(r.lat);
    return rc;
}

int main(void)
{
    const char *env = getenv("BENCH_RPC_SECONDS");
    double seconds = env != NULL ? atof(env) : 2.0;
    env = getenv("BENCH_RPC_BODY");
    size_t body_len = env != NULL ? (size_t)atol(env) : 64;
    if (seconds <= 0)
        seconds = 2.0;
    int addr_pipe[2], ctl_pipe[2];
    if (pipe(addr_pipe) < 0 || pipe(ctl_pipe) < 0)
        return 1;
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        return 1;
    if (pid == 0) {
        close(addr_pipe[0]);
        close(ctl_pipe[1]);
        _exit(server_main(addr_pipe[1], ctl_pipe[0]));
    }
    close(addr_pipe[1]);
    close(ctl_pipe[0]);
    char addr[SR_RPC_ADDR_MAX] = {0};
    if (read(addr_pipe[0], addr, sizeof(addr)) != (ssize_t)sizeof(addr)) {
        fprintf(stderr, "bench_rpc: server did not start\n");
        return 1;
    }
    int rc = client_main(addr, seconds, body_len);
    close(ctl_pipe[1]);  /* the server's loop ends on EOF */
    int status = 0;
    waitpid(pid, &status, 0);
    return rc != 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0;
}
