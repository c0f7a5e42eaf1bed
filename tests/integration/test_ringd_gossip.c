/* Gossip encryption across real ringd processes (issue 10):
 *  - a node with another key cannot join; the seed's log names it and says
 *    "unknown key id"; the same node with the cluster's key joins (so the
 *    test could fail); restarted with the wrong key it names its peers in
 *    its own log;
 *  - a key rotation on a live 3-node cluster (install everywhere, use
 *    everywhere, remove everywhere) with /admin/members polled throughout:
 *    nobody faulty, nothing dropped, and the old key is refused after;
 *  - datagrams really sent by the nodes (the test binds a killed member's
 *    port and catches what the others send it) replayed later: inside the
 *    window they are opened and change nothing (stale incarnations), past
 *    it they are refused and counted as stale.
 * Bounds come from the local profile the nodes run. */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "swimring/gossip_crypto.h"
#include "swimring/swim.h"
#include "swimring/testkit.h"
#include "swim/wire.h"

#define RINGD SR_BINARY_DIR "/tools/ringd/ringd"
#define SLACK 3 /* sanitizer builds on 2 shared cores: upper bounds only */
#define CAP_MAX 32

static struct sr_tk_cluster cluster;
static struct sr_swim_cfg cfg;
static char key1[64], key2[64]; /* key file paths */

static void kill_all(void)
{
    sr_tk_destroy(&cluster);
    unlink(key1);
    unlink(key2);
}

static sr_time_us periods(uint32_t n) { return (sr_time_us)n * cfg.period_ms * SR_US_PER_MS; }

static void write_key(char *path, size_t cap, const char *name, const char *hex)
{
    snprintf(path, cap, "/tmp/sr-gk-%d-%s", (int)getpid(), name);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fprintf(f, "%s\n", hex);
    fclose(f);
    chmod(path, 0600);
}

static const char *HEX1 = "8f1c2a3b4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8";
static const char *HEX2 = "11223344556677889900aabbccddeeff00112233445566778899aabbccddeeff";

static void setup(void)
{
    sr_swim_cfg_default_local(&cfg);
    write_key(key1, sizeof key1, "k1", HEX1);
    write_key(key2, sizeof key2, "k2", HEX2);
    sr_tk_init(&cluster, RINGD, "local");
}

static uint64_t stat_of(size_t i, const char *key)
{
    json_t *j = sr_tk_http(cluster.nodes[i].http, "GET", "/admin/stats");
    uint64_t v = (uint64_t)json_integer_value(json_object_get(j, key));
    json_decref(j);
    return v;
}

static int post_keys(size_t i, const char *body, json_t **out)
{
    return sr_tk_http_body(cluster.nodes[i].http, "POST", "/admin/gossip-keys", body, out);
}

static const char *key_id_of(const char *hex, char out[SR_GOSSIP_ID_HEX + 1])
{
    uint8_t k[SR_GOSSIP_KEY_LEN];
    char err[128];
    cr_assert_eq(sr_gossip_key_parse(hex, strlen(hex), k, err, sizeof err), 0);
    sr_gossip_id_format(sr_gossip_key_id(k), out);
    return out;
}

/* Whether node i's log, from byte `from` on, has a line with all of a, b, c. */
static bool log_has(size_t i, long from, const char *a, const char *b, const char *c)
{
    char path[256], line[1024];
    snprintf(path, sizeof path, "%s/%s.log", cluster.logdir, cluster.nodes[i].name);
    FILE *f = fopen(path, "r");
    bool hit = false;
    if (!f)
        return false;
    fseek(f, from, SEEK_SET);
    while (!hit && fgets(line, sizeof line, f))
        hit = strstr(line, a) && strstr(line, b) && strstr(line, c);
    fclose(f);
    return hit;
}

static long log_size(size_t i)
{
    char path[256];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s.log", cluster.logdir, cluster.nodes[i].name);
    return stat(path, &st) == 0 ? (long)st.st_size : 0;
}

/* Status and incarnation node i reports for addr ("" / -1 if unknown). */
static void member_of(size_t i, const char *addr, char *status, size_t cap, long long *inc)
{
    json_t *j = sr_tk_http(cluster.nodes[i].http, "GET", "/admin/members"), *m;
    size_t k;
    snprintf(status, cap, "%s", j ? "" : "?");
    *inc = -1;
    json_array_foreach(json_object_get(j, "members"), k, m) {
        if (strcmp(json_string_value(json_object_get(m, "address")), addr) == 0) {
            snprintf(status, cap, "%s", json_string_value(json_object_get(m, "status")));
            *inc = (long long)json_integer_value(json_object_get(m, "incarnation"));
        }
    }
    json_decref(j);
}

/* ---- a node with the wrong key ---------------------------------------------- */

struct log_want {
    size_t node;
    long from;
    const char *a, *b, *c;
};

static bool log_cond(struct sr_tk_cluster *h, void *ud)
{
    struct log_want *w = ud;
    (void)h;
    return log_has(w->node, w->from, w->a, w->b, w->c);
}

static bool knows(size_t i, const char *addr)
{
    char st[16];
    long long inc;
    member_of(i, addr, st, sizeof st, &inc);
    return st[0] && strcmp(st, "?") != 0;
}

struct alive_want {
    size_t node;
    const char *addr;
    long long min_inc;
};

static bool alive_cond(struct sr_tk_cluster *h, void *ud)
{
    struct alive_want *w = ud;
    char st[16];
    long long inc;
    (void)h;
    member_of(w->node, w->addr, st, sizeof st, &inc);
    return strcmp(st, "alive") == 0 && inc >= w->min_inc;
}

Test(ringd_gossip, wrong_key_cannot_join_and_the_log_says_why, .init = setup, .fini = kill_all,
     .timeout = 180)
{
    const char *k1[] = {"--gossip-key-file", key1, NULL}, *k2[] = {"--gossip-key-file", key2, NULL};
    char id1[SR_GOSSIP_ID_HEX + 1], id2[SR_GOSSIP_ID_HEX + 1], why[96];
    key_id_of(HEX1, id1);
    key_id_of(HEX2, id2);
    cluster.extra = k1;
    cr_assert_eq(sr_tk_start(&cluster, 2, sr_time_mono_us() + SLACK * periods(50)), 0);
    cluster.extra = k2;
    cr_assert_eq(sr_tk_spawn(&cluster, cluster.nodes[0].gossip), 2);
    const char *stranger = cluster.nodes[2].gossip;

    /* the seed refuses it and says so, naming the peer and the reason */
    char peer[48];
    snprintf(peer, sizeof peer, "peer=%s ", stranger);
    snprintf(why, sizeof why, "key_id=%s our_key_id=%s", id2, id1);
    struct log_want lw = {0, 0, "event=gossip.rejected", peer, "why=\"unknown key id\""};
    cr_assert(sr_tk_wait(&cluster, sr_time_mono_us() + SLACK * periods(50), log_cond, &lw),
              "node 0's log never named %s with \"unknown key id\"", stranger);
    cr_expect(log_has(0, 0, peer, why, "reason=unknown_key"), "no key ids in the line");
    cr_expect_gt(stat_of(0, "gossip_drop_unknown_key"), 0);

    /* and it stays out: a node with the right key joins within ~1 join
     * round trip + sync; give the stranger 20 periods of join retries */
    sr_time_us until = sr_time_mono_us() + periods(20);
    while (sr_time_mono_us() < until) {
        cr_assert_not(knows(0, stranger), "the stranger got into node 0's membership");
        cr_assert_not(knows(1, stranger), "the stranger got into node 1's membership");
        usleep(50000);
    }
    json_t *m = sr_tk_http(cluster.nodes[2].http, "GET", "/admin/members");
    cr_expect_eq(json_array_size(json_object_get(m, "members")), 1, "the stranger learnt members");
    json_decref(m);
    cr_expect(log_has(2, 0, "event=swim.join_retry", "", ""), "the stranger never retried");

    /* control: the same node with the cluster's key joins at once */
    cluster.extra = k1;
    cr_assert_eq(sr_tk_restart(&cluster, 2), 0);
    struct alive_want aw = {0, stranger, 0};
    cr_assert(sr_tk_wait(&cluster, sr_time_mono_us() + SLACK * periods(50), alive_cond, &aw),
              "with the right key the node did not join");

    /* restarted with the wrong key, it is the one that sees strangers: the
     * others keep probing its address, and its log names them */
    long from = log_size(2);
    cluster.extra = k2;
    cr_assert_eq(sr_tk_restart(&cluster, 2), 0);
    char peer0[48];
    snprintf(peer0, sizeof peer0, "peer=%s ", cluster.nodes[0].gossip);
    struct log_want lw2 = {2, from, "event=gossip.rejected", "why=\"unknown key id\"",
                           "peer=127.0.0.1:"};
    cr_assert(sr_tk_wait(&cluster, sr_time_mono_us() + SLACK * periods(50), log_cond, &lw2),
              "the wrong-key node never logged why the cluster's datagrams are refused");
    cr_expect_gt(stat_of(2, "gossip_drop_unknown_key"), 0);
    sr_tk_destroy(&cluster);
}

/* ---- rotation on a live cluster ------------------------------------------- */

struct watch {
    uint64_t polls, faulty_seen;
    char last_bad[160];
};

/* One poll of every node's /admin/members: count any faulty record. */
static void watch_once(struct watch *w)
{
    for (size_t i = 0; i < cluster.n; i++) {
        json_t *j = sr_tk_http(cluster.nodes[i].http, "GET", "/admin/members"), *m;
        size_t k;
        cr_assert_not_null(j, "node %zu did not answer", i);
        json_array_foreach(json_object_get(j, "members"), k, m) {
            const char *st = json_string_value(json_object_get(m, "status"));
            if (strcmp(st, "alive") != 0 && strcmp(st, "suspect") != 0) {
                w->faulty_seen++;
                snprintf(w->last_bad, sizeof w->last_bad, "node %zu sees %s %s", i,
                         json_string_value(json_object_get(m, "address")), st);
            }
        }
        json_decref(j);
        w->polls++;
    }
}

/* Poll members while waiting until every node sealed `more` datagrams
 * beyond `base[i]` (traffic under the current keys really flowed). */
static void watch_until_sealed(struct watch *w, const uint64_t *base, uint64_t more)
{
    sr_time_us deadline = sr_time_mono_us() + SLACK * periods(50);
    for (;;) {
        watch_once(w);
        size_t done = 0;
        for (size_t i = 0; i < cluster.n; i++)
            done += stat_of(i, "gossip_sealed") >= base[i] + more;
        if (done == cluster.n)
            return;
        cr_assert_lt(sr_time_mono_us(), deadline, "gossip stopped flowing");
        usleep(50000);
    }
}

static void sealed_now(uint64_t *base)
{
    for (size_t i = 0; i < cluster.n; i++)
        base[i] = stat_of(i, "gossip_sealed");
}

static void step_all(const char *body, struct watch *w)
{
    for (size_t i = 0; i < cluster.n; i++) {
        cr_assert_eq(post_keys(i, body, NULL), 200, "node %zu refused %s", i, body);
        watch_once(w);
    }
}

Test(ringd_gossip, key_rotation_on_a_live_cluster, .init = setup, .fini = kill_all, .timeout = 240)
{
    const char *k1[] = {"--gossip-key-file", key1, NULL};
    char id1[SR_GOSSIP_ID_HEX + 1], id2[SR_GOSSIP_ID_HEX + 1], body[160];
    key_id_of(HEX1, id1);
    key_id_of(HEX2, id2);
    cluster.extra = k1;
    cr_assert_eq(sr_tk_start(&cluster, 3, sr_time_mono_us() + SLACK * periods(50)), 0);
    struct watch w = {0};
    uint64_t base[3], faulty0[3];
    for (size_t i = 0; i < 3; i++)
        faulty0[i] = stat_of(i, "faulty_declared");
    sealed_now(base);
    watch_until_sealed(&w, base, 10);

    /* removing the primary is refused, with a reason */
    json_t *err = NULL;
    snprintf(body, sizeof body, "{\"op\":\"remove\",\"id\":\"%s\"}", id1);
    cr_expect_eq(post_keys(0, body, &err), 409);
    cr_expect(strstr(json_string_value(json_object_get(err, "message")), "primary") != NULL);
    json_decref(err);

    snprintf(body, sizeof body, "{\"op\":\"install\",\"key\":\"%s\"}", HEX2);
    step_all(body, &w);
    sealed_now(base);
    watch_until_sealed(&w, base, 10);
    snprintf(body, sizeof body, "{\"op\":\"use\",\"id\":\"%s\"}", id2);
    step_all(body, &w);
    /* every node now seals with the new key; let that traffic flow before
     * the old key goes, so nothing still in flight is sealed with it */
    sealed_now(base);
    watch_until_sealed(&w, base, 10);
    snprintf(body, sizeof body, "{\"op\":\"remove\",\"id\":\"%s\"}", id1);
    step_all(body, &w);
    sealed_now(base);
    watch_until_sealed(&w, base, 20);

    cr_log_info("rotation: %llu member polls", (unsigned long long)w.polls);
    cr_expect_eq(w.faulty_seen, 0, "a member was faulty during the rotation: %s", w.last_bad);
    for (size_t i = 0; i < 3; i++) {
        json_t *j = sr_tk_http(cluster.nodes[i].http, "GET", "/admin/gossip-keys");
        cr_expect_str_eq(json_string_value(json_object_get(j, "primary")), id2);
        cr_expect_eq(json_array_size(json_object_get(j, "keys")), 1, "node %zu keeps the old key", i);
        char *text = json_dumps(j, JSON_COMPACT);
        cr_expect(strstr(text, HEX2) == NULL && strstr(text, HEX1) == NULL, "key bytes shown");
        free(text);
        json_decref(j);
        cr_expect_eq(stat_of(i, "faulty_declared"), faulty0[i], "node %zu declared a member faulty", i);
        cr_expect_eq(stat_of(i, "gossip_drop_unknown_key"), 0, "node %zu got a key it lacked", i);
        cr_expect_eq(stat_of(i, "gossip_drop_auth"), 0);
        cr_log_info("node %zu: suspicions %llu", i, (unsigned long long)stat_of(i, "suspicions"));
    }
    cr_expect(sr_tk_converged(&cluster));

    /* the old key is now a stranger's key */
    cluster.extra = k1;
    cr_assert_eq(sr_tk_spawn(&cluster, cluster.nodes[0].gossip), 3);
    sr_time_us deadline = sr_time_mono_us() + SLACK * periods(50);
    while (stat_of(0, "gossip_drop_unknown_key") == 0) {
        cr_assert_lt(sr_time_mono_us(), deadline, "a node with the removed key was not refused");
        usleep(50000);
    }
    cr_expect_not(knows(0, cluster.nodes[3].gossip));
    sr_tk_destroy(&cluster);
}

/* ---- replays ----------------------------------------------------------------- */

/* Open a copy of a caught datagram with the cluster key and find the
 * lowest-incarnation doubt (suspect/faulty) about `addr` in it; -1 if none. */
static long long doubt_about(const uint8_t *d, size_t len, const char *addr)
{
    uint8_t k[SR_GOSSIP_KEY_LEN], copy[1500];
    char err[128];
    struct sr_gossip *g = sr_gossip_new(60000, 60000);
    cr_assert_not_null(g);
    cr_assert_eq(sr_gossip_key_parse(HEX1, strlen(HEX1), k, err, sizeof err), 0);
    cr_assert_eq(sr_gossip_install(g, k, NULL), 0);
    memcpy(copy, d, len);
    const uint8_t *plain;
    size_t plen;
    long long inc = -1;
    struct sr_swim_msg m;
    struct sr_swim_update ups[256];
    if (sr_gossip_open(g, sr_time_wall_us() / SR_US_PER_MS, copy, len, &plain, &plen) == SR_GOSSIP_OK &&
        sr_swim_wire_decode(plain, plen, &m, ups, 256) == 0)
        for (size_t i = 0; i < m.nupdates; i++)
            if (ups[i].addr_len == strlen(addr) && memcmp(ups[i].addr, addr, ups[i].addr_len) == 0 &&
                (ups[i].status == SR_SWIM_SUSPECT || ups[i].status == SR_SWIM_FAULTY) &&
                (inc < 0 || (long long)ups[i].incarnation < inc))
                inc = (long long)ups[i].incarnation;
    sr_gossip_delete(g);
    return inc;
}

struct capture {
    size_t n;
    uint8_t d[CAP_MAX][1500];
    size_t len[CAP_MAX];
    uint64_t ts_min, ts_max;
};

static int udp_bind(const char *hostport)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_port = htons((uint16_t)atoi(strchr(hostport, ':') + 1));
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    cr_assert_geq(fd, 0);
    cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0, "cannot bind %s", hostport);
    return fd;
}

static void send_all(int fd, const char *hostport, const struct capture *c)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_port = htons((uint16_t)atoi(strchr(hostport, ':') + 1));
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (size_t i = 0; i < c->n; i++)
        cr_assert_eq(sendto(fd, c->d[i], c->len[i], 0, (struct sockaddr *)&sa, sizeof sa),
                     (ssize_t)c->len[i]);
}

/* Datagrams arriving on fd within `wait_us`; with `c`, keep them. */
static size_t drain(int fd, sr_time_us wait_us, struct capture *c, size_t want)
{
    sr_time_us end = sr_time_mono_us() + wait_us;
    size_t got = 0;
    uint8_t scratch[2048];
    while (sr_time_mono_us() < end && got < want) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 20) <= 0)
            continue;
        uint8_t *buf = c && c->n < CAP_MAX ? c->d[c->n] : scratch;
        ssize_t n = recv(fd, buf, c ? sizeof c->d[0] : sizeof scratch, 0);
        if (n <= 0)
            continue;
        got++;
        if (c && c->n < CAP_MAX)
            c->len[c->n++] = (size_t)n;
    }
    return got;
}

/* The newest (at most 8) datagrams sent to `victim`, caught until one of
 * them doubts it (says suspect or faulty): the first pings to a dead node
 * come before anyone suspects it, and how many depends on the machine. */
static void capture_doubt(int fd, sr_time_us wait_us, struct capture *c, const char *victim)
{
    enum { KEEP = 8 };
    sr_time_us end = sr_time_mono_us() + wait_us;
    bool doubted = false;
    while (sr_time_mono_us() < end && !(doubted && c->n >= 3)) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 20) <= 0)
            continue;
        if (c->n == KEEP) { /* forget the oldest */
            memmove(c->d[0], c->d[1], (KEEP - 1) * sizeof c->d[0]);
            memmove(&c->len[0], &c->len[1], (KEEP - 1) * sizeof c->len[0]);
            c->n--;
        }
        ssize_t n = recv(fd, c->d[c->n], sizeof c->d[0], 0);
        if (n <= 0)
            continue;
        c->len[c->n++] = (size_t)n;
        doubted = false;
        for (size_t i = 0; i < c->n && !doubted; i++)
            doubted = doubt_about(c->d[i], c->len[i], victim) >= 0;
    }
}

struct view {
    char status[3][3][16];
    long long inc[3][3];
};

static void view_now(struct view *v)
{
    for (size_t i = 0; i < 3; i++)
        for (size_t k = 0; k < 3; k++)
            member_of(i, cluster.nodes[k].gossip, v->status[i][k], sizeof v->status[i][k],
                      &v->inc[i][k]);
}

static void expect_same_view(const struct view *a, const char *when)
{
    struct view b;
    view_now(&b);
    for (size_t i = 0; i < 3; i++)
        for (size_t k = 0; k < 3; k++) {
            cr_assert_str_eq(b.status[i][k], a->status[i][k], "%s: node %zu sees node %zu %s, was %s",
                             when, i, k, b.status[i][k], a->status[i][k]);
            cr_assert_eq(b.inc[i][k], a->inc[i][k], "%s: node %zu sees node %zu at inc %lld, was %lld",
                         when, i, k, b.inc[i][k], a->inc[i][k]);
        }
}

Test(ringd_gossip, replays_inside_the_window_change_nothing_older_ones_are_refused,
     .init = setup, .fini = kill_all, .timeout = 240)
{
    /* a window long enough to restart a node inside it */
    const uint32_t window_ms = 8000, skew_ms = 500;
    const char *extra[] = {"--gossip-key-file", key1, "--set", "gossip.replay_window_ms=8s",
                           "--set", "gossip.clock_skew_ms=500ms", NULL};
    char id1[SR_GOSSIP_ID_HEX + 1], hex[SR_GOSSIP_ID_HEX + 1];
    key_id_of(HEX1, id1);
    cluster.extra = extra;
    cr_assert_eq(sr_tk_start(&cluster, 3, sr_time_mono_us() + SLACK * periods(50)), 0);

    /* kill -9 node 2 and take its UDP port: what 0 and 1 send it is ours */
    const char *victim = cluster.nodes[2].gossip;
    cr_assert_eq(sr_tk_signal(&cluster, 2, SIGKILL), 0);
    cr_assert_geq(sr_tk_reap(&cluster, 2, sr_time_mono_us() + 5 * SR_US_PER_S), 0);
    int fd = udp_bind(victim);
    static struct capture cap;
    memset(&cap, 0, sizeof cap);
    capture_doubt(fd, SLACK * periods(20), &cap, victim);
    close(fd);
    cr_assert_geq(cap.n, 3, "caught only %zu datagrams for the dead node", cap.n);
    cap.ts_min = UINT64_MAX;
    for (size_t i = 0; i < cap.n; i++) {
        struct sr_gossip_header h;
        cr_assert_eq(sr_gossip_header_get(cap.d[i], cap.len[i], &h), SR_GOSSIP_OK, "not sealed");
        sr_gossip_id_format(h.key_id, hex);
        cr_assert_str_eq(hex, id1);
        cr_assert_leq(cap.len[i], cfg.mtu, "a sealed datagram of %zu bytes > mtu %u", cap.len[i],
                      cfg.mtu);
        cap.ts_min = h.ts_ms < cap.ts_min ? h.ts_ms : cap.ts_min;
        cap.ts_max = h.ts_ms > cap.ts_max ? h.ts_ms : cap.ts_max;
    }
    long long doubt = -1;
    for (size_t i = 0; i < cap.n; i++) {
        long long d = doubt_about(cap.d[i], cap.len[i], victim);
        doubt = d >= 0 && (doubt < 0 || d < doubt) ? d : doubt;
    }
    cr_log_info("caught %zu datagrams sent to %s over %llu ms; they doubt it at inc %lld", cap.n,
                victim, (unsigned long long)(cap.ts_max - cap.ts_min), doubt);
    cr_assert_geq(doubt, 0, "no caught datagram says the dead node is suspect or faulty");

    /* node 2 comes back and refutes: its incarnation rises above what the
     * caught datagrams say about it */
    cr_assert_eq(sr_tk_restart(&cluster, 2), 0);
    for (size_t i = 0; i < 3; i++) {
        struct alive_want aw = {i, victim, doubt + 1};
        cr_assert(sr_tk_wait(&cluster, sr_time_mono_us() + SLACK * periods(50), alive_cond, &aw),
                  "node %zu never saw node 2 back at a higher incarnation", i);
    }
    for (size_t i = 0; i < 3; i++) {
        struct alive_want aw = {i, cluster.nodes[(i + 1) % 3].gossip, 0};
        cr_assert(sr_tk_wait(&cluster, sr_time_mono_us() + SLACK * periods(50), alive_cond, &aw));
    }
    cr_assert(sr_tk_wait_converged(&cluster, sr_time_mono_us() + SLACK * periods(50)));
    struct view before;
    view_now(&before);

    /* replay inside the window: the datagrams open (node 0 answers the
     * pings), and membership and incarnations stay exactly as they were */
    uint64_t now_ms = sr_time_wall_us() / SR_US_PER_MS;
    cr_assert_lt(now_ms, cap.ts_min + window_ms, "restart took longer than the window");
    uint64_t stale0 = stat_of(0, "gossip_drop_stale"), stale2 = stat_of(2, "gossip_drop_stale");
    int me = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    cr_assert_geq(me, 0);
    send_all(me, cluster.nodes[0].gossip, &cap);
    send_all(me, victim, &cap);
    size_t answers = drain(me, periods(5), NULL, 1000); /* all of them, for the check below */
    cr_expect_geq(answers, 1, "no node answered a replayed ping: were they opened?");
    cr_expect_eq(stat_of(0, "gossip_drop_stale"), stale0);
    cr_expect_eq(stat_of(2, "gossip_drop_stale"), stale2);
    sr_time_us until = sr_time_mono_us() + periods(10);
    while (sr_time_mono_us() < until) {
        expect_same_view(&before, "after a replay inside the window");
        usleep(50000);
    }

    /* past the window (plus skew): refused, each one counted as stale */
    while (sr_time_wall_us() / SR_US_PER_MS <= cap.ts_max + window_ms + skew_ms)
        usleep(50000); /* a deadline on the wall clock, not a guess */
    stale0 = stat_of(0, "gossip_drop_stale");
    send_all(me, cluster.nodes[0].gossip, &cap);
    sr_time_us deadline = sr_time_mono_us() + SLACK * periods(10);
    while (stat_of(0, "gossip_drop_stale") < stale0 + cap.n) {
        cr_assert_lt(sr_time_mono_us(), deadline, "stale replays were not all counted");
        usleep(20000);
    }
    cr_expect_eq(stat_of(0, "gossip_drop_stale"), stale0 + cap.n);
    cr_expect_eq(drain(me, periods(2), NULL, 1), 0, "a stale replay was answered");
    expect_same_view(&before, "after a replay past the window");
    close(me);
    sr_tk_destroy(&cluster);
}
