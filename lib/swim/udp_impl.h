/* Private to the UDP driver (udp.c) and its TCP full sync (tcp_sync.c). */
#ifndef SR_SWIM_UDP_IMPL_H
#define SR_SWIM_UDP_IMPL_H

#include <sys/socket.h>
#include <event2/event.h>
#include <event2/listener.h>
#include "swimring/gossip_crypto.h"
#include "swimring/swim_udp.h"

struct sr_swim_udp_addr {          /* resolved member address, cached */
    char text[SR_SWIM_ADDR_MAX];
    struct sockaddr_storage ss;
    socklen_t len;
    int ok;
};

struct sr_swim_udp_sync;            /* one TCP exchange, see tcp_sync.c */

struct sr_swim_udp {
    struct event_base *base;
    struct sr_swim *swim;
    struct sr_log *log;
    int fd;
    struct event *ev_read;
    struct event *ev_timer;
    sr_time_us timer_at;            /* when the core asked to be ticked */
    struct evconnlistener *listener;
    struct sr_swim_udp_addr *addrs;
    size_t naddrs, addrs_cap;
    uint64_t rng[2];                /* xorshift128+ state */
    sr_swim_udp_event_f event_fn;
    void *event_ud;
    struct sr_swim_udp_sync *syncs; /* in-flight exchanges, for teardown */
    struct sr_swim_udp_opts opts;
    sr_swim_udp_filter_f filter;
    void *filter_ud;
    struct sr_swim_udp_stats stats;
    uint8_t *sealbuf;               /* gossip encryption: one sealed datagram */
    size_t sealcap;
    sr_time_us gossip_log_at[SR_GOSSIP_VERDICTS];      /* last rejection line, by reason (mono) */
    uint64_t gossip_log_skipped[SR_GOSSIP_VERDICTS];   /* rejections not logged since */
    uint8_t rbuf[65536];
};

/* "ip:port" / "[v6]:port" -> sockaddr; SR_EINVAL if it does not parse. */
int sr_swim_udp_parse_addr(const char *text, struct sockaddr_storage *ss, socklen_t *len);
const struct sr_swim_udp_addr *sr_swim_udp_resolve(struct sr_swim_udp *u, const char *text);

int sr_swim_udp_sync_listen(struct sr_swim_udp *u, const struct sockaddr *sa, socklen_t len);
void sr_swim_udp_sync_start(struct sr_swim_udp *u, const char *peer);
void sr_swim_udp_sync_close_all(struct sr_swim_udp *u);

/* udp_gossip.c: gossip encryption around the core (opts.gossip). */
int sr_swim_udp_gossip_init(struct sr_swim_udp *u, struct sr_swim_cfg *core_cfg);
void sr_swim_udp_gossip_free(struct sr_swim_udp *u);
/* The bytes to send for one core datagram; false: drop it (counted). */
bool sr_swim_udp_gossip_out(struct sr_swim_udp *u, const void **data, size_t *len);
/* Open one received datagram in place; false: drop it (counted, logged). */
bool sr_swim_udp_gossip_in(struct sr_swim_udp *u, const char *from, const uint8_t **data,
                           size_t *len);

#endif
