/* Hostile datagrams to a live ringd: truncated, oversized (64 KiB), random
 * and wrong-version input is counted in /admin/stats and dropped, and the
 * node keeps working (a new node can still join through it). */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include "swimring/swim.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "swimring/testkit.h"

#define RINGD SR_BINARY_DIR "/tools/ringd/ringd"

static struct sr_tk_cluster cluster;

static void kill_all(void)
{
    sr_tk_destroy(&cluster);
}

static uint64_t stat_of(const char *http, const char *key)
{
    json_t *j = sr_tk_http(http, "GET", "/admin/stats");
    uint64_t v = (uint64_t)json_integer_value(json_object_get(j, key));
    json_decref(j);
    return v;
}

static void send_to(const char *hostport, const void *p, size_t n)
{
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)atoi(strchr(hostport, ':') + 1));
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    cr_assert_geq(fd, 0);
    (void)sendto(fd, p, n, 0, (struct sockaddr *)&sa, sizeof(sa));
    close(fd);
}

static bool two_alive(struct sr_tk_cluster *h, void *ud)
{
    (void)ud;
    for (size_t i = 0; i < h->n; i++) {
        json_t *j = sr_tk_http(h->nodes[i].http, "GET", "/admin/members");
        size_t k, alive = 0;
        json_t *m;
        json_array_foreach(json_object_get(j, "members"), k, m)
            alive += strcmp(json_string_value(json_object_get(m, "status")) ?
                                json_string_value(json_object_get(m, "status")) : "", "alive") == 0;
        json_decref(j);
        if (alive != 2)
            return false;
    }
    return true;
}

static bool answers(struct sr_tk_cluster *h, void *ud)
{
    json_t *j = sr_tk_http(ud, "GET", "/admin/stats");
    (void)h;
    json_decref(j);
    return j != NULL;
}

struct grew {
    const char *http;
    const char *key;
    uint64_t before;
};

static bool stat_grew(struct sr_tk_cluster *h, void *ud)
{
    struct grew *g = ud;
    (void)h;
    return stat_of(g->http, g->key) > g->before;
}

Test(ringd_hostile, counts_drops_and_keeps_working, .timeout = 120, .fini = kill_all)
{
    struct sr_swim_cfg cfg;
    sr_swim_cfg_default_local(&cfg);
    sr_tk_init(&cluster, RINGD, "local");
    cr_assert_geq(sr_tk_spawn(&cluster, NULL), 0);
    const char *gossip = cluster.nodes[0].gossip, *http = cluster.nodes[0].http;
    sr_time_us deadline = sr_time_mono_us() + 50ULL * cfg.period_ms * SR_US_PER_MS;
    struct grew up = {http, "packets_in", 0};
    /* Wait until the admin port answers (process started). */
    cr_assert(sr_tk_wait(&cluster, deadline, answers, (void *)http), "node did not start");

    uint64_t before_in = stat_of(http, "packets_in");
    uint64_t drops_before = stat_of(http, "drop_truncated") + stat_of(http, "drop_version") +
                            stat_of(http, "drop_checksum") + stat_of(http, "drop_malformed") +
                            stat_of(http, "drop_oversize") + stat_of(http, "recv_oversize");
    static uint8_t big[65507]; /* largest IPv4 UDP payload: 65535 - 20 - 8 */
    uint8_t junk[512];
    unsigned seed = 12345;
    memset(big, 0xa5, sizeof(big));
    send_to(gossip, "", 0);                 /* empty */
    send_to(gossip, "\x01", 1);             /* truncated header */
    send_to(gossip, "\x93\x01\x02", 3);     /* truncated msgpack */
    send_to(gossip, big, sizeof(big));      /* oversized: > MTU */
    send_to(gossip, big, 1500);             /* just over the 1400 MTU */
    for (int i = 0; i < 50; i++) {          /* random */
        for (size_t k = 0; k < sizeof(junk); k++)
            junk[k] = (uint8_t)rand_r(&seed);
        send_to(gossip, junk, 1 + (size_t)rand_r(&seed) % sizeof(junk));
    }
    /* Wrong version: a plausible header with version 0xff in every leading byte. */
    uint8_t wv[64];
    memset(wv, 0xff, sizeof(wv));
    send_to(gossip, wv, sizeof(wv));
    wv[0] = 0x99;
    send_to(gossip, wv, sizeof(wv));

    up.before = before_in;
    cr_assert(sr_tk_wait(&cluster, deadline, stat_grew, &up), "node saw no input");
    usleep(200000); /* the loop drains the rest in the same few turns */
    uint64_t drops_after = stat_of(http, "drop_truncated") + stat_of(http, "drop_version") +
                           stat_of(http, "drop_checksum") + stat_of(http, "drop_malformed") +
                           stat_of(http, "drop_oversize") + stat_of(http, "recv_oversize");
    cr_log_info("drops: truncated=%llu version=%llu checksum=%llu malformed=%llu oversize=%llu",
                (unsigned long long)stat_of(http, "drop_truncated"),
                (unsigned long long)stat_of(http, "drop_version"),
                (unsigned long long)stat_of(http, "drop_checksum"),
                (unsigned long long)stat_of(http, "drop_malformed"),
                (unsigned long long)stat_of(http, "drop_oversize"));
    /* Every hostile datagram is dropped and counted (55 sent). */
    cr_assert_geq(drops_after - drops_before, 50, "only %llu drops counted",
                  (unsigned long long)(drops_after - drops_before));
    cr_assert_gt(stat_of(http, "drop_oversize") + stat_of(http, "recv_oversize"), 0);
    cr_assert_gt(stat_of(http, "drop_truncated") + stat_of(http, "drop_malformed"), 0);

    /* Still alive and working: a new node joins through it. */
    cr_assert_geq(sr_tk_spawn(&cluster, gossip), 0);
    cr_assert(sr_tk_wait(&cluster, sr_time_mono_us() + 3 * 50ULL * cfg.period_ms * SR_US_PER_MS,
                              two_alive, NULL),
              "a new node could not join the attacked node");
    sr_tk_destroy(&cluster);
}
