/* include/swimring/node_route.h: raw HTTP routes, serving a rewritten body
 * through an endpoint, admission, extra /metrics families. One node on
 * 127.0.0.1; a client thread talks HTTP while the test thread runs the
 * loop. */
#include <criterion/criterion.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include "swimring/error.h"
#include "swimring/node.h"
#include "swimring/node_route.h"
#include "swimring/testkit.h"

struct world {
    struct event_base *base;
    struct sr_node *node;
    int hits;
};

static void on_echo(void *ud, struct sr_node_reply *r, const struct sr_node_request *q)
{
    (void)ud;
    char out[256];
    int n = snprintf(out, sizeof out, "%.*s|%.*s", (int)q->key_len, (const char *)q->key,
                     (int)q->body_len, (const char *)q->body);
    sr_node_reply(r, 0, out, (size_t)n);
}

static const struct sr_endpoint_def eps[] = {
    {"echo", SR_ENDPOINT_IDEMPOTENT, on_echo, NULL, NULL, "text/plain"},
};

/* /v1/raw/serve/KEY -> echo(KEY, "rewritten"); /v1/raw/self -> answered here */
static void on_raw(void *ud, struct evhttp_request *req, const char *path)
{
    struct world *w = ud;
    w->hits++;
    if (strncmp(path, "/v1/raw/serve/", 14) == 0) {
        sr_node_http_serve(w->node, req, "t", "echo", path + 14, strlen(path + 14), "rewritten", 9);
    } else if (strcmp(path, "/v1/raw/self") == 0) {
        if (sr_node_http_admit(w->node, req, "t", "echo", "k", 1, 0) != 0)
            return;
        struct evbuffer *b = evbuffer_new();
        evbuffer_add_printf(b, "self");
        evhttp_send_reply(req, 200, "OK", b);
        evbuffer_free(b);
        sr_node_http_release(w->node, "t", "echo");
    } else {
        sr_node_http_error(req, 404, "SR_ENOTFOUND", "no raw thing here");
    }
}

static int on_metrics(void *ud, struct sr_buf *out)
{
    struct world *w = ud;
    return sr_buf_printf(out, "# HELP raw_hits_total Raw route hits.\n"
                              "# TYPE raw_hits_total counter\nraw_hits_total %d\n", w->hits);
}

static struct sr_service_def svc = {.name = "t", .endpoints = eps, .nendpoints = 1};

struct client {
    const char *http;
    atomic_int done;
    int st_serve, st_self, st_other, st_none, st_metrics;
    char serve[256], metrics[1 << 16];
};

static void *client_main(void *arg)
{
    struct client *c = arg;
    struct sr_tk_conn k;
    size_t len;
    char buf[256];
    sr_tk_conn_init(&k, c->http);
    c->st_serve = sr_tk_conn_request(&k, "PUT", "/v1/raw/serve/abc", "ignored", 7, c->serve,
                                     sizeof c->serve, &len);
    c->st_self = sr_tk_conn_request(&k, "GET", "/v1/raw/self", NULL, 0, buf, sizeof buf, &len);
    c->st_other = sr_tk_conn_request(&k, "GET", "/v1/raw/zzz", NULL, 0, buf, sizeof buf, &len);
    c->st_none = sr_tk_conn_request(&k, "GET", "/v2/none", NULL, 0, buf, sizeof buf, &len);
    c->st_metrics = sr_tk_conn_request(&k, "GET", "/metrics", NULL, 0, c->metrics,
                                       sizeof c->metrics, &len);
    sr_tk_conn_close(&k);
    atomic_store(&c->done, 1);
    return NULL;
}

Test(node_route, raw_routes_serve_admit_and_add_metrics, .timeout = 30)
{
    struct world w = {0};
    struct sr_node_config cfg;
    char msg[256] = "";
    int err = 0, rc = -1;
    w.base = event_base_new();
    for (int attempt = 0; attempt < 10 && rc < 0; attempt++) {
        sr_node_config_default(&cfg);
        sr_node_config_profile(&cfg, "local");
        cfg.node.log_level = SR_NODE_LOG_ERROR;
        snprintf(cfg.node.listen, sizeof cfg.node.listen, "127.0.0.1:%d", sr_tk_free_port());
        snprintf(cfg.node.http, sizeof cfg.node.http, "127.0.0.1:0");
        w.node = sr_node_new(w.base, &cfg, &err, msg, sizeof msg);
        cr_assert_not_null(w.node, "%s", msg);
        svc.ud = &w;
        cr_assert_eq(sr_node_add_service(w.node, &svc), 0);
        /* refused: reserved or malformed prefixes */
        cr_assert_eq(sr_node_add_route(w.node, "/admin/x", on_raw, &w), SR_EINVAL);
        cr_assert_eq(sr_node_add_route(w.node, "/metrics", on_raw, &w), SR_EINVAL);
        cr_assert_eq(sr_node_add_route(w.node, "v1", on_raw, &w), SR_EINVAL);
        cr_assert_eq(sr_node_add_route(w.node, "/v1/raw", NULL, &w), SR_EINVAL);
        cr_assert_eq(sr_node_add_route(w.node, "/v1/raw", on_raw, &w), 0);
        for (int i = 1; i < SR_NODE_ROUTES_MAX; i++)
            cr_assert_eq(sr_node_add_route(w.node, "/unused", on_raw, &w), 0);
        cr_assert_eq(sr_node_add_route(w.node, "/one-too-many", on_raw, &w), SR_EFULL);
        cr_assert_eq(sr_node_add_metrics(w.node, on_metrics, &w), 0);
        rc = sr_node_start(w.node, msg, sizeof msg);
        if (rc < 0)
            sr_node_delete(w.node);
    }
    cr_assert_eq(rc, 0, "%s", msg);
    struct client *c = calloc(1, sizeof *c);
    c->http = sr_node_http_addr(w.node);
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, client_main, c), 0);
    sr_time_us end = sr_time_mono_us() + 10 * SR_US_PER_S;
    while (!atomic_load(&c->done) && sr_time_mono_us() < end) {
        struct timeval tv = {0, 10000};
        event_base_loopexit(w.base, &tv);
        event_base_dispatch(w.base);
    }
    pthread_join(t, NULL);
    cr_assert_eq(c->st_serve, 200);
    cr_assert_str_eq(c->serve, "abc|rewritten", "the route's body, not the request's");
    cr_assert_eq(c->st_self, 200);
    cr_assert_eq(c->st_other, 404);
    cr_assert_eq(c->st_none, 404, "paths under no prefix still 404");
    cr_assert_eq(w.hits, 3);
    cr_assert(strstr(c->metrics, "\nraw_hits_total 3\n") != NULL, "metrics: %.200s", c->metrics);
    cr_assert(strstr(c->metrics, "swimring_") != NULL, "the node's own families stay");
    free(c);
    sr_node_delete(w.node);
    event_base_free(w.base);
}
