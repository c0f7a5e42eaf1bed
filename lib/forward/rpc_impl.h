/* Private state of the RPC object, shared by rpc.c (object, config, frame
 * reading), rpc_client.c (pooled connections, calls) and rpc_server.c
 * (listener, dispatch, replies). */
#ifndef SWIMRING_FORWARD_RPC_IMPL_H
#define SWIMRING_FORWARD_RPC_IMPL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/event_struct.h>
#include <event2/listener.h>
#include "forward/conn.h"
#include "forward/frame.h"
#include "forward/rpc_htab.h"
#include "swimring/buf.h"
#include "swimring/rpc.h"
#include "swimring/time.h"

/* A call from this node, from sr_rpc_call to its callback. */
struct rpc_call {
    struct sr_rpc_htab_node hnode;  /* rpc->calls, by id */
    TAILQ_ENTRY(rpc_call) link;     /* peer->pending or peer->sent */
    struct rpc_peer *peer;
    uint64_t id;
    sr_time_us deadline;            /* monotonic */
    struct event timer;             /* the deadline */
    sr_rpc_done_f cb;
    void *ud;
    bool sent;                      /* encoded into the peer's bufferevent */
    bool canceled;                  /* sr_rpc_cancel: the timer completes it */
    bool unlinked;                  /* canceled while pending: on no list */
    uint64_t end;                   /* sent: stream offset just past the frame */
    /* pending only: the encoded frame, waiting for a connection */
    uint8_t *frame;
    size_t frame_len;
    size_t deadline_off;
};

TAILQ_HEAD(rpc_call_list, rpc_call);

enum rpc_peer_state {
    PEER_IDLE,        /* no connection, nothing queued */
    PEER_BACKOFF,     /* calls queued, waiting for the backoff timer */
    PEER_CONNECTING,  /* connect (TLS: handshake) in progress */
    PEER_CONFIRMING,  /* TLS 1.3: our ping is out, the server's pong proves it
                         accepted our certificate; calls still wait */
    PEER_CONNECTED,
    PEER_FAILING,     /* connect failed at once: the timer fails the queue */
};

/* One pooled outgoing connection, by "host:port". Peers live until the RPC
 * object is deleted (a cluster has few, and a peer remembers its backoff). */
struct rpc_peer {
    struct sr_rpc_htab_node hnode;  /* rpc->peers, by FNV-1a of addr */
    struct sr_rpc *rpc;
    char addr[SR_RPC_ADDR_MAX];
    struct sockaddr_storage sa;
    int salen;
    enum rpc_peer_state state;
    struct bufferevent *bev;        /* NULL unless CONNECTING / CONNECTED */
    struct event timer;             /* backoff, or the deferred failure */
    uint64_t out_total;             /* bytes ever written into bev */
    struct rpc_call_list pending;   /* not yet in bev, in call order */
    struct rpc_call_list sent;      /* in bev, in stream order */
    uint32_t outstanding;           /* pending + sent */
    uint64_t pending_bytes;         /* frames held by pending calls */
    uint32_t failures;              /* consecutive failed connects */
    sr_time_us retry_at;            /* no connect before this */
    bool was_connected;             /* for the reconnects counter */
    bool close_requested;           /* sr_rpc_disconnect: fail on the timer */
};

/* An accepted connection. Reply handles point here, so it outlives both its
 * socket and the RPC object until the last reply is answered. */
struct rpc_sconn {
    TAILQ_ENTRY(rpc_sconn) link;
    struct sr_rpc *rpc;             /* NULL once the RPC object is deleted */
    struct bufferevent *bev;        /* NULL once closed */
    uint32_t refs;                  /* 1 while open + 1 per unanswered reply */
    uint32_t inflight;              /* unanswered requests */
    bool paused;                    /* reading stopped: output too large */
    struct sr_rpc_htab replies;     /* unanswered replies, by request id, so a
                                       cancel frame finds its request */
    char peer[SR_RPC_ADDR_MAX];
};

TAILQ_HEAD(rpc_sconn_list, rpc_sconn);

struct sr_rpc_reply {
    struct sr_rpc_htab_node hnode;  /* sc->replies, by id */
    struct rpc_sconn *sc;
    uint64_t id;
    bool canceled;                  /* a cancel frame came: the answer is not sent */
};

struct rpc_handler {
    char *service;                  /* NULL for the catch-all */
    char *endpoint;
    sr_rpc_handler_f fn;
    void *ud;
};

struct sr_rpc {
    struct event_base *base;
    struct sr_log *log;
    struct sr_rpc_cfg cfg;
    struct sr_conn_transport transport;
    uint64_t checksum;
    uint64_t next_id;
    uint64_t rand_state;            /* xorshift, for backoff jitter */
    bool closing;
    struct sr_rpc_stats stats;
    struct sr_buf scratch;          /* frame encoding */
    /* client */
    struct sr_rpc_htab calls;
    struct sr_rpc_htab peers;
    /* server */
    struct evconnlistener *listener;
    char listen_addr[SR_RPC_ADDR_MAX];
    struct rpc_sconn_list sconns;
    struct rpc_handler *handlers;
    size_t nhandlers;
    struct rpc_handler catch_all;
};

/* Bytes libevent reads (writes) per socket call; its default, 4096, costs
 * one loop turn per 30 small pipelined frames. */
#define SR_RPC_IO_CHUNK (64 * 1024)

/* Settings every RPC bufferevent gets, whatever the transport. */
void sr_rpc_tune_bev(struct bufferevent *bev);

/* rpc.c: the frame reader shared by both sides. Looks at the front of
 * `in`: 1 and a contiguous frame in *payload and *len when a whole frame is
 * there (drain 4 + *len after use), 0 when more bytes are needed, or a
 * negative error after logging and counting it (the caller closes). */
int sr_rpc_next_frame(struct sr_rpc *rpc, struct evbuffer *in, const char *peer,
                      const uint8_t **payload, uint32_t *len);
/* Decode a payload; on error log the field, count it, return the error (the
 * caller closes the connection). */
int sr_rpc_decode(struct sr_rpc *rpc, const uint8_t *p, uint32_t len, const char *peer,
                  struct sr_rpc_frame *f);
/* Encode `f` into rpc->scratch (reset first); its checksum is stamped. */
int sr_rpc_encode(struct sr_rpc *rpc, struct sr_rpc_frame *f, size_t *deadline_off);
/* Parse a numeric "host:port". 0 or SR_EINVAL. */
int sr_rpc_parse_addr(const char *addr, struct sockaddr_storage *sa, int *salen);
void sr_rpc_format_addr(const struct sockaddr *sa, char *out, size_t len);
/* A random number in [0, 1) for jitter. */
double sr_rpc_rand01(struct sr_rpc *rpc);

/* Swap the transport (sr_rpc_use_tls calls this with its ops and sr_tls). Only
 * before sr_rpc_listen and the first call: SR_EINVAL after. The RPC object
 * frees `ctx` with ops->ctx_free on delete. */
int sr_rpc_use_transport(struct sr_rpc *rpc, const struct sr_conn_ops *ops, void *ctx);

/* rpc_client.c */
int sr_rpc_client_init(struct sr_rpc *rpc);
void sr_rpc_client_shutdown(struct sr_rpc *rpc);
int sr_rpc_call_kind(struct sr_rpc *rpc, const char *peer, uint32_t kind,
                     const struct sr_rpc_call_args *args, sr_rpc_done_f cb, void *ud,
                     uint64_t *id);

/* rpc_server.c */
void sr_rpc_server_shutdown(struct sr_rpc *rpc);
int sr_rpc_server_listen(struct sr_rpc *rpc, const char *addr);

#endif
