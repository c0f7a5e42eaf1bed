/* Transports behind one ops table (CONVENTIONS item 4, redis ConnectionType).
 *
 * Every RPC connection is a libevent bufferevent. Plain TCP makes socket
 * bufferevents; TLS (a later issue) will make bufferevent_openssl ones with
 * the same table, so the RPC code reads, writes, frees and gets events the
 * same way for both: BEV_EVENT_CONNECTED means "ready for frames" (for TLS,
 * after the handshake), BEV_EVENT_EOF / ERROR mean the connection is gone.
 *
 * What a TLS implementation adds lives entirely behind `ctx` (SSL_CTX,
 * verification settings) and `last_error` (the openssl error queue). */
#ifndef SWIMRING_FORWARD_CONN_H
#define SWIMRING_FORWARD_CONN_H

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
    /* Free `ctx` (may be NULL). */
    void (*ctx_free)(void *ctx);
};

/* A transport: the ops and their context, chosen once per RPC object. */
struct sr_conn_transport {
    const struct sr_conn_ops *ops;
    void *ctx;
};

extern const struct sr_conn_ops sr_conn_tcp_ops;

/* Socket options every transport wants on a stream socket: TCP_NODELAY,
 * because pipelined small frames must not wait for Nagle. */
void sr_conn_tune_socket(evutil_socket_t fd);

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

static inline void sr_conn_transport_destroy(struct sr_conn_transport *t)
{
    if (t->ops != NULL && t->ops->ctx_free != NULL)
        t->ops->ctx_free(t->ctx);
    t->ops = NULL;
    t->ctx = NULL;
}

#endif
