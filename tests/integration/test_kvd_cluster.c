/* examples/kvd as a 5-process cluster on 127.0.0.1: any node answers for
 * any key, each key lives exactly on its replica set (owner + 1, the
 * default state.replicas 2), and a kill -9 under 2,000 concurrent requests
 * leaves none unanswered or late. */
#include <criterion/criterion.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "swimring/testkit.h"

#define NODES 5
#define KVD SR_BINARY_DIR "/examples/kvd/kvd"
#define KEYS 10000
#define INFLIGHT 2000
#define REPLICAS 2
/* Sanitizer builds on 2 shared cores: upper time bounds get this slack. */
#define SLACK_MS 3000

static struct sr_tk_cluster cluster;
static void kill_all(void) { sr_tk_destroy(&cluster); }

static long jint(json_t *o, const char *path1, const char *path2)
{
    json_t *v = json_object_get(o, path1);
    if (path2)
        v = json_object_get(v, path2);
    return json_is_integer(v) ? (long)json_integer_value(v) : -1;
}

/* Every node has all NODES alive members on its ring, with one checksum. */
static bool rings_agree(struct sr_tk_cluster *h, void *ud)
{
    long first = -1;
    (void)ud;
    for (size_t i = 0; i < h->n; i++) {
        if (h->nodes[i].pid <= 0)
            continue;
        json_t *j = sr_tk_http(h->nodes[i].http, "GET", "/admin/status");
        long members = j ? jint(json_object_get(j, "ring"), "members", NULL) : -1;
        long sum = j ? jint(json_object_get(j, "ring"), "checksum", NULL) : -1;
        json_decref(j);
        if (members != NODES || sum < 0 || (first >= 0 && sum != first))
            return false;
        first = sum;
    }
    return true;
}

static void start_kvd(size_t n)
{
    static const char *const extra[] = {"--log-level", "warn", NULL};
    struct rlimit rl = {8192, 8192};
    setrlimit(RLIMIT_NOFILE, &rl); /* 2,000 client connections; nodes inherit it */
    sr_tk_init(&cluster, KVD, "local");
    cluster.extra = extra;
    cr_assert_geq(sr_tk_spawn(&cluster, NULL), 0);
    for (size_t i = 1; i < n; i++)
        cr_assert_geq(sr_tk_spawn(&cluster, cluster.nodes[0].gossip), 0);
    cr_assert(sr_tk_wait(&cluster, sr_time_mono_us() + 30 * SR_US_PER_S, rings_agree, NULL),
              "rings did not agree (logs in %s)", cluster.logdir);
}

Test(kvd_cluster, any_node_answers_and_keys_live_on_their_replicas, .timeout = 240, .fini = kill_all)
{
    start_kvd(NODES);
    struct sr_tk_conn conn[NODES];
    for (size_t i = 0; i < NODES; i++)
        sr_tk_conn_init(&conn[i], cluster.nodes[i].http);
    char path[64], val[64], out[256];
    size_t outlen;
    for (int k = 0; k < KEYS; k++) {
        snprintf(path, sizeof path, "/v1/kv/key-%d", k);
        int vl = snprintf(val, sizeof val, "value-%d-%d", k, (int)getpid());
        int st = sr_tk_conn_request(&conn[k % NODES], "PUT", path, val, (size_t)vl, out,
                                         sizeof out, &outlen);
        cr_assert(st >= 200 && st < 300, "PUT %s via node %d: %d %s", path, k % NODES, st, out);
    }
    for (int k = 0; k < KEYS; k++) {
        snprintf(path, sizeof path, "/v1/kv/key-%d", k);
        snprintf(val, sizeof val, "value-%d-%d", k, (int)getpid());
        int st = sr_tk_conn_request(&conn[(k + 1) % NODES], "GET", path, NULL, 0, out,
                                         sizeof out, &outlen);
        cr_assert_eq(st, 200, "GET %s via node %d: %d %s", path, (k + 1) % NODES, st, out);
        cr_assert_str_eq(out, val, "GET %s", path);
    }
    for (size_t i = 0; i < NODES; i++)
        sr_tk_conn_close(&conn[i]);
    /* Stored REPLICAS times in all: the per-node counts add up to exactly
     * REPLICAS x KEYS (writes are acknowledged by the owner alone, so wait
     * for the copies to land). */
    sr_time_us until = sr_time_mono_us() + 20 * SR_US_PER_S;
    long total = 0;
    do {
        total = 0;
        for (size_t i = 0; i < NODES; i++) {
            json_t *j = sr_tk_http(cluster.nodes[i].http, "GET", "/admin/status");
            total += j ? jint(json_object_get(j, "services"), "kv", "keys") : 0;
            json_decref(j);
        }
    } while (total != REPLICAS * KEYS && sr_time_mono_us() < until && usleep(50000) == 0);
    total = 0;
    for (size_t i = 0; i < NODES; i++) {
        json_t *j = sr_tk_http(cluster.nodes[i].http, "GET", "/admin/status");
        long keys = j ? jint(json_object_get(j, "services"), "kv", "keys") : -1;
        cr_assert_geq(keys, 0, "node %zu status has no services.kv.keys", i);
        cr_log_info("node %zu holds %ld keys", i, keys);
        total += keys;
        json_decref(j);
    }
    cr_assert_eq(total, REPLICAS * KEYS);
    /* And each sampled key is held by its replica set only. */
    for (int k = 0; k < KEYS; k += 37) {
        snprintf(path, sizeof path, "/admin/lookup?key=key-%d&n=%d", k, REPLICAS);
        json_t *lk = sr_tk_http(cluster.nodes[0].http, "GET", path);
        json_t *set = json_object_get(lk, "replicas");
        cr_assert_eq(json_array_size(set), REPLICAS, "lookup key-%d", k);
        int holders = 0;
        for (size_t i = 0; i < NODES; i++) {
            snprintf(path, sizeof path, "/admin/keys?service=kv&key=key-%d", k);
            json_t *j = sr_tk_http(cluster.nodes[i].http, "GET", path);
            cr_assert_not_null(j, "admin/keys on node %zu", i);
            if (json_is_true(json_object_get(j, "local"))) {
                holders++;
                bool in_set = false;
                for (size_t r = 0; r < REPLICAS; r++)
                    in_set |= strcmp(json_string_value(json_array_get(set, r)),
                                     cluster.nodes[i].gossip) == 0;
                cr_assert(in_set, "key-%d held by %s, not in its replica set", k,
                          cluster.nodes[i].gossip);
            }
            json_decref(j);
        }
        cr_assert_eq(holders, REPLICAS, "key-%d held by %d nodes", k, holders);
        json_decref(lk);
    }
}

/* ---- 2,000 concurrent requests, one node killed meanwhile ---------------- */

struct req {
    int fd;
    size_t sent, got, want_len;
    char out[1024];
    char in[2048];
    sr_time_us t_sent, t_done;
    int status;
};

static int nb_connect(const char *hostport)
{
    int fd = sr_tk_connect(hostport); /* blocking connect on loopback: immediate */
    if (fd >= 0)
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    return fd;
}

/* Returns true once the whole answer is in (or the connection ended). */
static bool req_read(struct req *r)
{
    ssize_t n = read(r->fd, r->in + r->got, sizeof(r->in) - 1 - r->got);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return false;
    if (n <= 0) {
        r->status = r->status ? r->status : -1; /* closed without an answer */
        return true;
    }
    r->got += (size_t)n;
    r->in[r->got] = '\0';
    char *end = strstr(r->in, "\r\n\r\n");
    if (!end)
        return r->got >= sizeof(r->in) - 1;
    const char *cl = strcasestr(r->in, "\r\ncontent-length:");
    size_t body = cl ? (size_t)strtol(cl + 17, NULL, 10) : 0;
    if (r->got < (size_t)(end + 4 - r->in) + body)
        return false;
    r->status = atoi(r->in + 9);
    return true;
}

Test(kvd_cluster, kill9_under_2000_concurrent_requests_loses_none, .timeout = 240,
     .fini = kill_all)
{
    start_kvd(NODES);
    const size_t victim = NODES - 1;
    json_t *st = sr_tk_http(cluster.nodes[0].http, "GET", "/admin/status");
    long deadline_ms = jint(st, "request_timeout_ms", NULL);
    json_decref(st);
    cr_assert_gt(deadline_ms, 0, "/admin/status has no request_timeout_ms");
    static struct req reqs[INFLIGHT];
    static struct pollfd pfd[INFLIGHT];
    static bool on_victim[INFLIGHT];
    int victim_owned = 0;
    for (int i = 0; i < INFLIGHT; i++) { /* who owns what, before the kill */
        char path[64];
        snprintf(path, sizeof path, "/admin/lookup?key=flight-%d", i);
        json_t *lk = sr_tk_http(cluster.nodes[0].http, "GET", path);
        const char *owner = json_string_value(json_object_get(lk, "owner"));
        cr_assert_not_null(owner);
        on_victim[i] = strcmp(owner, cluster.nodes[victim].gossip) == 0;
        victim_owned += on_victim[i];
        json_decref(lk);
    }
    cr_assert_gt(victim_owned, 0);
    for (int i = 0; i < INFLIGHT; i++) {
        struct req *r = &reqs[i];
        memset(r, 0, sizeof(*r));
        r->fd = nb_connect(cluster.nodes[i % (NODES - 1)].http); /* survivors only */
        cr_assert_geq(r->fd, 0, "connect %d", i);
        int n = snprintf(r->out, sizeof r->out,
                         "PUT /v1/kv/flight-%d HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\n\r\nvalue%d",
                         i, i % 10);
        r->want_len = (size_t)n;
    }
    /* Send everything as fast as possible, killing the victim halfway. */
    for (int i = 0; i < INFLIGHT; i++) {
        struct req *r = &reqs[i];
        r->t_sent = sr_time_mono_us();
        cr_assert_eq(write(r->fd, r->out, r->want_len), (ssize_t)r->want_len);
        if (i == INFLIGHT / 2) {
            cr_assert_eq(sr_tk_signal(&cluster, victim, SIGKILL), 0);
        }
    }
    int pending = INFLIGHT;
    sr_time_us end = sr_time_mono_us() + ((sr_time_us)deadline_ms + SLACK_MS) * SR_US_PER_MS;
    while (pending > 0 && sr_time_mono_us() < end) {
        int np = 0;
        for (int i = 0; i < INFLIGHT; i++)
            if (!reqs[i].t_done)
                pfd[np++] = (struct pollfd){reqs[i].fd, POLLIN, 0};
        if (poll(pfd, (nfds_t)np, 100) <= 0)
            continue;
        for (int i = 0, k = 0; i < INFLIGHT; i++) {
            if (reqs[i].t_done)
                continue;
            if ((pfd[k++].revents & (POLLIN | POLLHUP | POLLERR)) && req_read(&reqs[i])) {
                reqs[i].t_done = sr_time_mono_us();
                pending--;
            }
        }
    }
    int ok = 0, retryable = 0, other = 0, victim_ok = 0;
    sr_time_us worst = 0;
    for (int i = 0; i < INFLIGHT; i++) {
        struct req *r = &reqs[i];
        cr_assert(r->t_done, "request %d never answered", i);
        sr_time_us took = r->t_done - r->t_sent;
        worst = took > worst ? took : worst;
        if (r->status >= 200 && r->status < 300) {
            ok++;
            victim_ok += on_victim[i];
        }
        else if (r->status == 503 && strcasestr(r->in, "\r\nretry-after:"))
            retryable++;
        else
            other++;
        close(r->fd);
    }
    cr_log_info("%d requests (%d for keys of the killed node, %d of those succeeded elsewhere): "
                "%d ok, %d retryable 503, %d other; slowest %.1f ms (deadline %ld ms)", INFLIGHT,
                victim_owned, victim_ok, ok, retryable, other, (double)worst / 1000.0,
                deadline_ms);
    cr_assert_eq(other, 0, "answers that are neither success nor a retryable error");
    cr_assert_leq(worst, ((sr_time_us)deadline_ms + SLACK_MS) * SR_US_PER_MS);
}
