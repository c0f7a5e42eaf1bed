/* Private state of the ringpop driver: TChannel connections and calls
 * (rp_conn.c), the protocol translation (ringpop.c) and the admin
 * endpoints (rp_admin.c). */
#ifndef SWIMRING_RINGPOP_IMPL_H
#define SWIMRING_RINGPOP_IMPL_H

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <sys/socket.h>
#include <jansson.h>
#include "ringpop/rp_msg.h"
#include "ringpop/tchannel.h"
#include "swimring/hashring.h"
#include "swimring/ringpop.h"

#define RP_ARG_LIMIT (4u << 20)      /* bytes of args per call */
#define RP_INBOUND_MAX 64            /* ping-reqs served at once */
#define RP_CALL_TIMEOUT_MS 6000
#define RP_PING_TIMEOUT_MS 1500      /* ringpop-go PingTimeout */
#define RP_PING_REQ_TIMEOUT_MS 5000  /* ringpop-go PingRequestTimeout */
#define RP_MTU 65000
#define RP_JOIN_BACKOFF_MS 100       /* first retry of a join nobody answered */
#define RP_JOIN_BACKOFF_MAX_MS 5000
#define RP_JOIN_MAX_MS 120000        /* ringpop-go maxJoinDuration */                 /* core datagrams never leave the process */

struct rp_conn {
    struct sr_ringpop *rp;
    struct bufferevent *bev;
    struct sr_tch_asm as;
    char peer[SR_SWIM_ADDR_MAX];     /* advertised host_port */
    bool outgoing, ready;
    bool native;                     /* its init named a "swimring..." process */
    struct sr_buf outq;              /* frames queued until init res */
    struct rp_conn *next;
};

enum rp_kind {
    RP_K_PING, RP_K_GOSSIP, RP_K_PING_REQ, RP_K_JOIN, RP_K_REVERSE_JOIN, RP_K_EVICT,
    RP_K_HEAL_JOIN, RP_K_HEAL_PING, RP_K_PROXY,
};

/* A running /admin/healpartition/disco (rp_heal.c). */
struct rp_heal {
    bool active, waiting;
    struct rp_conn *conn;            /* the admin caller, NULL once gone */
    uint32_t id;
    json_t *targets, *done;
    int failures;
};

struct rp_call {
    struct sr_ringpop *rp;
    struct rp_conn *conn;
    uint32_t id;
    enum rp_kind kind;
    uint64_t seq;
    char peer[SR_SWIM_ADDR_MAX];
    char target[SR_SWIM_ADDR_MAX];
    struct event *timer;
    int fail_status;                 /* why it failed (SR_EUNREACH unless set) */
    sr_ringpop_proxy_f proxy_cb;     /* RP_K_PROXY */
    void *proxy_ud;
    struct rp_call *next;
};

/* An inbound /proxy/req the handler has not answered yet (rp_proxy.c). */
struct sr_ringpop_reply {
    struct sr_ringpop *rp;
    struct rp_conn *conn;            /* NULL once the caller's connection is gone */
    uint32_t id;
    struct sr_ringpop_reply *next;
};

/* A connection accepted, its first bytes not read yet (rp_conn.c). */
struct rp_sniff {
    struct sr_ringpop *rp;
    int fd;
    struct sockaddr_storage sa;
    int salen;
    struct event *ev;
    sr_time_us deadline;
    struct rp_sniff *next;
};

/* Addresses whose TChannel init named a swimring process. */
struct rp_native {
    char addr[SR_SWIM_ADDR_MAX];
    bool native;
};

/* An inbound ping-req waiting for the core's ack or nack. */
struct rp_inbound {
    bool used;
    struct rp_conn *conn;
    uint32_t id;
    uint64_t seq;
    char from[SR_SWIM_ADDR_MAX];
    char target[SR_SWIM_ADDR_MAX];
};

/* A member's key on the ring: its address, or "identity#" when it has an
 * __identity label (ringpop-go hashes identity + "#" + i for point i). */
#define RP_RINGKEY_MAX (SR_SWIM_ADDR_MAX + SR_SWIM_LABEL_MAX + 1)
struct rp_ringkey {
    char addr[SR_SWIM_ADDR_MAX];
    char key[RP_RINGKEY_MAX];
};

struct rp_stats {
    uint64_t frames_in, calls_in, calls_out, bad_frames, bad_bodies, call_errors;
    struct sr_rp_drops drops;
    struct sr_ringpop_proxy_stats proxy;
};

struct sr_ringpop {
    struct event_base *base;
    struct sr_ringpop_cfg cfg;
    struct sr_log *log;
    char self[SR_SWIM_ADDR_MAX];
    char identity[SR_SWIM_LABEL_MAX];
    char **hosts;
    size_t nhosts;
    struct evconnlistener *listener;
    struct sr_swim *swim;
    struct sr_ring *ring;
    struct event *tick_ev;
    sr_time_us timer_at;             /* what the core last asked for */
    struct rp_ringkey *keys;
    size_t nkeys, capkeys;
    struct rp_conn *conns;
    struct rp_call *calls;
    uint32_t next_id;
    uint64_t next_seq;               /* seqs of datagrams we synthesise */
    struct rp_inbound inbound[RP_INBOUND_MAX];
    bool gossip_stopped, started, evicting;
    bool closing;                    /* in sr_ringpop_delete: calls fail SR_ECANCELED */
    uint32_t evict_pending;
    struct event *evict_ev;
    sr_ringpop_done_f evict_done;
    void *evict_ud;
    uint32_t joins_pending, reverse_pending;
    /* ringpop-go joinCluster: while no seed answered, try again with
     * exponential backoff for up to RP_JOIN_MAX_MS */
    bool joined_any;
    uint32_t join_backoff_ms;
    struct event *join_ev;
    sr_time_us started_at;
    /* capture of the core's synchronous ack to a synthesised ping */
    bool cap_active, cap_done;
    char cap_to[SR_SWIM_ADDR_MAX];
    uint64_t cap_seq;
    struct sr_buf cap;
    struct sr_buf dgram;             /* scratch for synthesised datagrams */
    struct sr_swim_update *ups;      /* decode scratch */
    size_t capups;
    struct rp_heal heal;
    struct rp_stats stats;
    sr_ringpop_event_f ev_cb;
    void *ev_ud;
    sr_ringpop_serve_f serve;
    void *serve_ud;
    struct sr_ringpop_reply *replies;
    struct rp_sniff *sniffs;
    struct rp_native *natives;
    size_t nnatives, capnatives;
};

/* rp_conn.c */
int rp_listen(struct sr_ringpop *rp);
void rp_conns_close(struct sr_ringpop *rp);
/* Send a call to peer; the response comes to rp_on_response (or
 * rp_on_call_failed). body is JSON text (NULL: empty arg3). */
int rp_call(struct sr_ringpop *rp, const char *peer, const char *endpoint, const char *body,
            enum rp_kind kind, uint64_t seq, const char *target);
/* The general form: any arg2/arg3 bytes and a timeout; *out is the call. */
struct rp_call_args {
    const char *endpoint;
    const void *arg2, *arg3;
    size_t len2, len3;
    uint32_t timeout_ms;
};
int rp_call_ex(struct sr_ringpop *rp, const char *peer, const struct rp_call_args *a,
               enum rp_kind kind, uint64_t seq, const char *target, struct rp_call **out);
/* Answer an inbound call with raw arg2/arg3 (code 0 ok, 1 not ok). */
void rp_respond_raw(struct rp_conn *c, uint32_t id, uint8_t code, const void *arg2, size_t len2,
                    const void *arg3, size_t len3);
/* A TChannel init from addr named process (len bytes). */
void rp_note_process(struct sr_ringpop *rp, const char *addr, const char *process, size_t len);
void rp_sniffs_close(struct sr_ringpop *rp);
/* The first 5 bytes of a connection are a TChannel init req (rp_conn.c). */
bool rp_sniff_is_tchannel(const uint8_t *b);
/* Answer an inbound call (code 0 ok, 1 application error). */
void rp_respond(struct rp_conn *c, uint32_t id, uint8_t code, const char *body);
void rp_respond_json(struct rp_conn *c, uint32_t id, json_t *body); /* steals body */

/* ringpop.c */
void rp_on_request(struct rp_conn *c, struct sr_tch_call *call);
void rp_on_response(struct rp_call *k, struct sr_tch_call *res);
void rp_on_call_failed(struct rp_call *k);
void rp_conn_gone(struct sr_ringpop *rp, struct rp_conn *c);
json_t *rp_member_changes(struct sr_ringpop *rp, bool with_source);
uint64_t rp_self_inc(struct sr_ringpop *rp);
/* The member address owning a ring key (identity keys map back). */
const char *rp_ring_addr(struct sr_ringpop *rp, const char *key);
void rp_kick(struct sr_ringpop *rp);

/* Feed changes to the core as gossip from `from` (spread as news). */
void rp_feed_gossip(struct sr_ringpop *rp, const char *from, const json_t *changes);
/* /protocol/ping to target carrying exactly `changes` (not the core's). */
int rp_ping_with(struct sr_ringpop *rp, const char *target, const json_t *changes, enum rp_kind kind);
int rp_join_to(struct sr_ringpop *rp, const char *target, enum rp_kind kind);

/* rp_proxy.c */
/* Fill req (zeroed by the caller) from a /proxy/req head; NULL, or what the
 * first bad field should be. req's strings point into h. */
const char *rp_proxy_parse_head(const json_t *h, struct sr_ringpop_proxy_req *req);
void rp_proxy_serve(struct rp_conn *c, const struct sr_tch_call *call);
void rp_proxy_on_response(struct rp_call *k, const struct sr_tch_call *res);
void rp_proxy_on_failed(struct rp_call *k);
void rp_proxy_conn_gone(struct sr_ringpop *rp, struct rp_conn *c);
void rp_proxy_close(struct sr_ringpop *rp);

/* rp_heal.c */
void rp_heal_start(struct sr_ringpop *rp, struct rp_conn *c, uint32_t id);
void rp_heal_on_join(struct sr_ringpop *rp, const char *target, const json_t *membership);
void rp_heal_step_done(struct sr_ringpop *rp, bool join_failed);
void rp_heal_conn_gone(struct sr_ringpop *rp, struct rp_conn *c);

/* rp_admin.c */
bool rp_admin(struct rp_conn *c, const struct sr_tch_call *call, const char *endpoint,
              const json_t *body);

#endif
