/* ringd: one swimring membership node (SWIM over UDP) with an HTTP admin.
 *
 *   ringd --listen HOST:PORT [--seeds A,B,...] [--name N] [--http HOST:PORT]
 *         [--profile lan|local] [--log-level debug|info|warn|error] [--config FILE]
 *
 * SIGTERM/SIGINT: graceful leave, a short wait so the news goes out, exit 0. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/event.h>
#include <event2/http.h>
#include "swimring/error.h"
#include "swimring/swim_udp.h"
#include "admin_http.h"

#define RINGD_MAX_SEEDS 64
#define RINGD_LEAVE_WAIT_MS 500 /* long enough for the leave datagrams to be sent */

struct ringd_opts {
    const char *listen, *seeds, *name, *http, *profile, *level, *config;
};

struct ringd {
    struct event_base *base;
    struct sr_swim_udp *udp;
    struct event *ev_term, *ev_int, *ev_exit;
    int leaving;
};

static void usage(FILE *f)
{
    fprintf(f, "usage: ringd --listen HOST:PORT [--seeds A,B,...] [--name N] [--http HOST:PORT]\n"
               "             [--profile lan|local] [--log-level LEVEL] [--config FILE]\n");
}

static int parse_opts(int argc, char **argv, struct ringd_opts *o)
{
    static const struct option longopts[] = {
        {"listen", required_argument, NULL, 'l'}, {"seeds", required_argument, NULL, 's'},
        {"name", required_argument, NULL, 'n'},   {"http", required_argument, NULL, 'H'},
        {"profile", required_argument, NULL, 'p'}, {"log-level", required_argument, NULL, 'L'},
        {"config", required_argument, NULL, 'c'}, {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    int c;
    memset(o, 0, sizeof(*o));
    o->profile = "lan";
    o->level = "info";
    while ((c = getopt_long(argc, argv, "l:s:n:H:p:L:c:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'l': o->listen = optarg; break;
        case 's': o->seeds = optarg; break;
        case 'n': o->name = optarg; break;
        case 'H': o->http = optarg; break;
        case 'p': o->profile = optarg; break;
        case 'L': o->level = optarg; break;
        case 'c': o->config = optarg; break;
        case 'h': usage(stdout); exit(0);
        default: return -1;
        }
    }
    if (!o->listen || optind != argc)
        return -1;
    if (!o->name)
        o->name = o->listen;
    return 0;
}

static void on_exit_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    event_base_loopexit(((struct ringd *)arg)->base, NULL);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    struct ringd *r = arg;
    (void)what;
    if (r->leaving) /* second signal: stop now */
        event_base_loopexit(r->base, NULL);
    r->leaving = 1;
    (void)sig;
    sr_swim_leave(sr_swim_udp_core(r->udp));
    struct timeval tv = {0, RINGD_LEAVE_WAIT_MS * 1000};
    evtimer_add(r->ev_exit, &tv);
}

static int join_seeds(struct sr_swim *s, const char *list)
{
    char *copy = strdup(list), *save = NULL;
    const char *seeds[RINGD_MAX_SEEDS];
    size_t n = 0;
    if (!copy)
        return SR_ENOMEM;
    for (char *t = strtok_r(copy, ",", &save); t && n < RINGD_MAX_SEEDS;
         t = strtok_r(NULL, ",", &save))
        seeds[n++] = t;
    int rc = n ? sr_swim_join(s, seeds, n) : 0;
    free(copy);
    return rc;
}

static int http_bind(struct evhttp *http, const char *addr)
{
    char host[SR_SWIM_ADDR_MAX];
    const char *colon = strrchr(addr, ':');
    if (!colon || (size_t)(colon - addr) >= sizeof(host))
        return -1;
    memcpy(host, addr, (size_t)(colon - addr));
    host[colon - addr] = '\0';
    return evhttp_bind_socket(http, host, (ev_uint16_t)atoi(colon + 1));
}

static int run(struct ringd *r, const struct ringd_opts *o, struct sr_log *log)
{
    struct sr_swim_cfg cfg;
    struct evhttp *http = NULL;
    int err = 0;
    if (strcmp(o->profile, "local") == 0)
        sr_swim_cfg_default_local(&cfg);
    else
        sr_swim_cfg_default_lan(&cfg);
    r->udp = sr_swim_udp_new(r->base, &cfg, o->listen, o->name, log, &err);
    if (!r->udp) {
        fprintf(stderr, "ringd: cannot listen on %s: %s\n", o->listen, sr_strerror(err));
        return 1;
    }
    if (o->http) {
        http = evhttp_new(r->base);
        if (!http || http_bind(http, o->http) != 0 || ringd_admin_register(http, r->udp) != 0) {
            fprintf(stderr, "ringd: cannot serve HTTP on %s\n", o->http);
            err = SR_ESYS;
            goto out;
        }
        SR_INFO(log, "ringd_http", "addr=%s", o->http);
    }
    struct sr_swim *s = sr_swim_udp_core(r->udp);
    if ((err = sr_swim_start(s)) != 0 || (o->seeds && (err = join_seeds(s, o->seeds)) != 0)) {
        fprintf(stderr, "ringd: start/join failed: %s\n", sr_strerror(err));
        goto out;
    }
    r->ev_term = evsignal_new(r->base, SIGTERM, on_signal, r);
    r->ev_int = evsignal_new(r->base, SIGINT, on_signal, r);
    r->ev_exit = evtimer_new(r->base, on_exit_timer, r);
    if (!r->ev_term || !r->ev_int || !r->ev_exit) {
        err = SR_ENOMEM;
        goto out;
    }
    evsignal_add(r->ev_term, NULL);
    evsignal_add(r->ev_int, NULL);
    event_base_dispatch(r->base);
out:
    if (r->ev_term)
        event_free(r->ev_term);
    if (r->ev_int)
        event_free(r->ev_int);
    if (r->ev_exit)
        event_free(r->ev_exit);
    if (http)
        evhttp_free(http);
    sr_swim_udp_delete(r->udp);
    return err ? 1 : 0;
}

int main(int argc, char **argv)
{
    struct ringd_opts o;
    struct ringd r = {0};
    int err = 0, rc;
    if (parse_opts(argc, argv, &o) != 0) {
        usage(stderr);
        return 2;
    }
    if (o.config) {
        fprintf(stderr, "ringd: --config is not yet supported (the YAML loader has not landed)\n");
        return 2;
    }
    int level = sr_log_level_parse(o.level);
    if (level < 0) {
        fprintf(stderr, "ringd: bad --log-level %s\n", o.level);
        return 2;
    }
    struct sr_log *log = sr_log_new((enum sr_log_level)level, NULL, o.name, &err);
    r.base = event_base_new();
    if (!log || !r.base) {
        fprintf(stderr, "ringd: init failed\n");
        return 1;
    }
    rc = run(&r, &o, log);
    event_base_free(r.base);
    sr_log_delete(log);
    return rc;
}
