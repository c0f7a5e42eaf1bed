/* Plain TCP implementation of struct sr_conn_ops: socket bufferevents. */
#include "forward/conn.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>

void sr_conn_tune_socket(evutil_socket_t fd)
{
    int one = 1;
    /* Best effort: a socket without NODELAY still works, only slower. */
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static struct bufferevent *tcp_wrap_accepted(void *ctx, struct event_base *base,
                                             evutil_socket_t fd)
{
    (void)ctx;
    if (evutil_make_socket_nonblocking(fd) < 0) {
        evutil_closesocket(fd);
        return NULL;
    }
    sr_conn_tune_socket(fd);
    struct bufferevent *bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
    if (bev == NULL)
        evutil_closesocket(fd);
    return bev;
}

static struct bufferevent *tcp_new_client(void *ctx, struct event_base *base)
{
    (void)ctx;
    return bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
}

int sr_conn_socket_connect(void *ctx, struct bufferevent *bev, const struct sockaddr *sa,
                           int salen)
{
    (void)ctx;
    if (bufferevent_socket_connect(bev, sa, salen) < 0)
        return -1;
    evutil_socket_t fd = bufferevent_getfd(bev);
    if (fd >= 0)
        sr_conn_tune_socket(fd);
    return 0;
}

static const char *tcp_last_error(void *ctx, struct bufferevent *bev, char *out, size_t len)
{
    (void)ctx;
    (void)bev;
    int e = EVUTIL_SOCKET_ERROR();
    snprintf(out, len, "%s", e != 0 ? evutil_socket_error_to_string(e) : "closed by peer");
    return out;
}

const struct sr_conn_ops sr_conn_tcp_ops = {
    .name = "tcp",
    .wrap_accepted = tcp_wrap_accepted,
    .new_client = tcp_new_client,
    .connect = sr_conn_socket_connect,
    .last_error = tcp_last_error,
    .confirm_first = NULL,
    .ctx_free = NULL,
};
