/* Transports behind one ops table (CONVENTIONS item 4, redis ConnectionType).
 *
 * Every RPC connection is a libevent bufferevent. Plain TCP (conn_tcp.c)
 * makes socket bufferevents; TLS (conn_tls.c) makes bufferevent_openssl ones
 * with the same table, so the RPC code reads, writes, frees and gets events
 * the same way for both: BEV_EVENT_CONNECTED means "ready for frames" (for
 * TLS, after the handshake; an accepted TLS connection reports it too, a
 * plain one never does), BEV_EVENT_EOF / ERROR mean the connection is gone,
 * BEV_EVENT_TIMEOUT on an accepted connection means its handshake took too
 * long.
 *
 * What TLS adds lives behind `ctx` (struct sr_tls: SSL_CTX, exceptions),
 * `last_error` (the openssl error queue) and `confirm_first`. */
#ifndef SWIMRING_FORWARD_CONN_H
#define SWIMRING_FORWARD_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <event2/bufferevent.h>
#include <event2/util.h>

struct sr_conn_ops {
    const char *name;  /* "tcp", "tls": for logs */
    /* Wrap an accepted socket. Takes the fd: on failure it is closed and NULL
     * is returned. */
    struct bufferevent *(*wrap_accepted)(void *ctx, struct event_base *base,
                                         evutil_socket_t fd);
    /* A not yet connected bufferevent for an outgoing connection. */
    struct bufferevent *(*new_client)(void *ctx, struct event_base *base);
    /* Start a non-blocking connect. 0 if started (the result comes as a
     * bufferevent event); -1 if it failed at once (no event follows). */
    int (*connect)(void *ctx, struct bufferevent *bev,
                   const struct sockaddr *sa, int salen);
    /* Describe the last error on `bev` into out[len] (errno text for TCP,
     * the openssl queue for TLS). Returns out. */
    const char *(*last_error)(void *ctx, struct bufferevent *bev, char *out, size_t len);
    /* Optional (NULL: never). After BEV_EVENT_CONNECTED on an outgoing
     * connection: must the client hear from the peer before it writes
     * anything that counts? A TLS 1.3 client is done with its handshake
     * before the server has checked the client's certificate: a refusal
     * then arrives as an alert after the client's first write, or is lost
     * in a reset. The RPC client answers by confirming with a ping first. */
    bool (*confirm_first)(void *ctx, struct bufferevent *bev);
    /* Free `ctx` (may be NULL). */
    void (*ctx_free)(void *ctx);
};

/* A transport: the ops and their context, chosen once per RPC object. */
struct sr_conn_transport {
    const struct sr_conn_ops *ops;
    void *ctx;
};

extern const struct sr_conn_ops sr_conn_tcp_ops;
extern const struct sr_conn_ops sr_conn_tls_ops; /* ctx: struct sr_tls (swimring/tls.h) */

/* Socket options every transport wants on a stream socket: TCP_NODELAY,
 * because pipelined small frames must not wait for Nagle. */
void sr_conn_tune_socket(evutil_socket_t fd);
/* The `connect` op of every socket-backed transport: start a non-blocking
 * connect of `bev` and tune its socket (TLS then handshakes on connect). */
int sr_conn_socket_connect(void *ctx, struct bufferevent *bev, const struct sockaddr *sa,
                           int salen);

static inline struct bufferevent *sr_conn_wrap_accepted(const struct sr_conn_transport *t,
                                                        struct event_base *base,
                                                        evutil_socket_t fd)
{
    return t->ops->wrap_accepted(t->ctx, base, fd);
}

static inline struct bufferevent *sr_conn_new_client(const struct sr_conn_transport *t,
                                                     struct event_base *base)
{
    return t->ops->new_client(t->ctx, base);
}

static inline int sr_conn_connect(const struct sr_conn_transport *t, struct bufferevent *bev,
                                  const struct sockaddr *sa, int salen)
{
    return t->ops->connect(t->ctx, bev, sa, salen);
}

static inline const char *sr_conn_last_error(const struct sr_conn_transport *t,
                                             struct bufferevent *bev, char *out, size_t len)
{
    return t->ops->last_error(t->ctx, bev, out, len);
}

static inline bool sr_conn_confirm_first(const struct sr_conn_transport *t,
                                         struct bufferevent *bev)
{
    return t->ops->confirm_first != NULL && t->ops->confirm_first(t->ctx, bev);
}

static inline void sr_conn_transport_destroy(struct sr_conn_transport *t)
{
    if (t->ops != NULL && t->ops->ctx_free != NULL)
        t->ops->ctx_free(t->ctx);
    t->ops = NULL;
    t->ctx = NULL;
}

#endif
