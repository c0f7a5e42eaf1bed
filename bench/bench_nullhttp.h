/* A "null" HTTP/1.1 server for the benchmarks' floor figures: a child
 * process with one thread on raw epoll (level-triggered, each connection
 * registered once) that answers every request with the same small 200 JSON
 * answer. Per request it does one read and one write and no parsing beyond
 * finding the end of the request (the blank line, then Content-Length bytes
 * of body). No real HTTP server can do less per request, so its rate over
 * the same client and connections is the ceiling any HTTP front could reach
 * on this machine.
 *
 * The evhttp variant (evhttp = true) answers the same bytes of body from
 * libevent's evhttp on an event base like the node's (epoll changelist):
 * what evhttp itself costs per request, without the node behind it. */
#ifndef SWIMRING_BENCH_NULLHTTP_H
#define SWIMRING_BENCH_NULLHTTP_H

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#define NULLHTTP_CONNS 1024
#define NULLHTTP_BUF 8192

/* About the size of geo's PUT answer and evhttp's headers for it. */
static const char nullhttp_answer[] =
    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nDate: Wed, 02 Dec 2026 00:00:00 "
    "GMT\r\nContent-Length: 73\r\n\r\n"
    "{\"id\":\"o123456\",\"applied\":true,\"ts\":1764633600000000,\"cell\":\"808f7c\"}   \n";

struct nullhttp_conn {
    size_t got;
    char buf[NULLHTTP_BUF];
};

/* Length of the first whole request in b, or 0 if it is not all in yet. */
static size_t nullhttp_request_len(const char *b, size_t n)
{
    const char *end = memmem(b, n, "\r\n\r\n", 4);
    if (!end)
        return 0;
    size_t head = (size_t)(end + 4 - b), body = 0;
    for (const char *p = b; p + 16 <= end; p++)
        if ((p == b || p[-1] == '\n') && strncasecmp(p, "content-length:", 15) == 0) {
            body = strtoul(p + 15, NULL, 10);
            break;
        }
    return n >= head + body ? head + body : 0;
}

/* Serve one readable connection: 0, or -1 when it should be closed. */
static int nullhttp_serve(int fd, struct nullhttp_conn *c)
{
    ssize_t k = read(fd, c->buf + c->got, sizeof c->buf - c->got);
    if (k <= 0)
        return -1;
    c->got += (size_t)k;
    size_t len;
    while ((len = nullhttp_request_len(c->buf, c->got)) > 0) {
        if (write(fd, nullhttp_answer, sizeof nullhttp_answer - 1) !=
            (ssize_t)(sizeof nullhttp_answer - 1))
            return -1;
        memmove(c->buf, c->buf + len, c->got - len);
        c->got -= len;
    }
    return c->got == sizeof c->buf ? -1 : 0; /* a request too big for us */
}

static void nullhttp_loop(int lfd)
{
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = lfd}, evs[64];
    struct nullhttp_conn **conns = calloc(NULLHTTP_CONNS, sizeof(*conns));
    if (ep < 0 || !conns || epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) < 0)
        _exit(1);
    for (;;) {
        int n = epoll_wait(ep, evs, 64, -1);
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            if (fd == lfd) {
                int c = accept(lfd, NULL, NULL), one = 1;
                if (c < 0)
                    continue;
                if (c >= NULLHTTP_CONNS || !(conns[c] = calloc(1, sizeof(**conns)))) {
                    close(c);
                    continue;
                }
                setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                ev = (struct epoll_event){.events = EPOLLIN, .data.fd = c};
                epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev);
            } else if (nullhttp_serve(fd, conns[fd]) < 0) {
                epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
                close(fd);
                free(conns[fd]);
                conns[fd] = NULL;
            }
        }
    }
}

static void nullhttp_evhttp_cb(struct evhttp_request *req, void *arg)
{
    static const char body[] =
        "{\"id\":\"o123456\",\"applied\":true,\"ts\":1764633600000000,\"cell\":\"808f7c\"}   \n";
    (void)arg;
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/json");
    evbuffer_add(evhttp_request_get_output_buffer(req), body, sizeof body - 1);
    evhttp_send_reply(req, 200, "OK", NULL);
}

static void nullhttp_evhttp_loop(int lfd)
{
    struct event_config *ec = event_config_new();
    event_config_set_flag(ec, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
    struct event_base *base = event_base_new_with_config(ec);
    struct evhttp *h = base ? evhttp_new(base) : NULL;
    evutil_make_socket_nonblocking(lfd);
    if (!h || !evhttp_accept_socket_with_handle(h, lfd))
        _exit(1);
    evhttp_set_allowed_methods(h, EVHTTP_REQ_GET | EVHTTP_REQ_PUT);
    evhttp_set_gencb(h, nullhttp_evhttp_cb, NULL);
    event_base_dispatch(base);
    _exit(0);
}

/* Start the server (evhttp: the evhttp variant) on 127.0.0.1 (a port the
 * kernel picks) in a child that dies with us; its address into addr.
 * Returns its pid or -1. */
static pid_t nullhttp_start(char *addr, size_t addrlen, bool evhttp)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof sa;
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(lfd, 128) < 0 ||
        getsockname(lfd, (struct sockaddr *)&sa, &sl) < 0) {
        if (lfd >= 0)
            close(lfd);
        return -1;
    }
    snprintf(addr, addrlen, "127.0.0.1:%u", ntohs(sa.sin_port));
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (evhttp)
            nullhttp_evhttp_loop(lfd);
        nullhttp_loop(lfd);
        _exit(0);
    }
    close(lfd);
    return pid;
}

static void nullhttp_stop(pid_t pid)
{
    if (pid > 0) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
}

#endif
