/* node.wire: ringpop -- the same node, membership spoken with ringpop's
 * TChannel + JSON wire (lib/ringpop) instead of msgpack over UDP
 * (docs/ringpop.md, "A node on the ringpop wire").
 *
 *   address    the member address is node.listen, a TCP host:port: the
 *              TChannel address ringpop peers know us by
 *   one port   lib/ringpop listens there and sniffs each new connection's
 *              first bytes: a TChannel init req stays with it, anything
 *              else (our RPC, plain or TLS) goes to sr_rpc_adopt, so
 *              forwarding, replication, handoff reach node.listen as ever
 *   ring       fed by the same events, placed as ringpop does: the points
 *              of "identity#i" for a member with an __identity label, else
 *              of its address (ringfeed identity_label), no weights
 *   forwarding to a member whose TChannel init named a swimring process:
 *              our RPC; to any other (ringpop-node, or one of ours not
 *              connected yet): /proxy/req with the endpoint's HTTP route
 *   /proxy/req arriving here: checked (ring checksum, as ringpop-node's
 *              enforceConsistency), then sent to our own HTTP front as the
 *              HTTP request it describes, and its answer returned in
 *              ringpop's format -- whatever route serves that URL serves it */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include "swimring/error.h"
#include "swimring/ringpop.h"
#include "node_fwd.h"
#include "node_ringpop.h"

#define NODE_RP_PROCESS "swimring-node"

/* ---- configuration -------------------------------------------------------- */

static bool ipv4_hostport(const char *hp)
{
    const char *colon = strrchr(hp, ':');
    if (!colon || colon == hp || atoi(colon + 1) <= 0)
        return false;
    char host[64];
    size_t n = (size_t)(colon - hp);
    if (n >= sizeof host)
        return false;
    memcpy(host, hp, n);
    host[n] = '\0';
    unsigned a, b, c, d;
    char tail;
    return sscanf(host, "%u.%u.%u.%u%c", &a, &b, &c, &d, &tail) == 4 && a <= 255 && b <= 255 &&
           c <= 255 && d <= 255 && !(a == 0 && b == 0 && c == 0 && d == 0);
}

int node_ringpop_check_config(const struct sr_node_config *cfg, char *msg, size_t msglen)
{
    const struct sr_node_cfg *n = &cfg->node;
    const char *why = NULL;
    if (n->wire != SR_NODE_WIRE_RINGPOP)
        return 0;
    if (!ipv4_hostport(n->listen))
        why = "node.listen must be a concrete IPv4 host:port (ringpop peers know a member by it)";
    else if (cfg->gossip.key[0] || cfg->gossip.key_file[0])
        why = "gossip encryption (gossip.key, gossip.key_file) is for the native UDP wire; "
              "ringpop peers speak plain TChannel";
    else if (cfg->ring.points_per_member != SR_RING_POINTS_DEFAULT)
        why = "ring.points_per_member must be 100 (ringpop's replica points) or lookups disagree";
    else if (!cfg->ring.suspect_on_ring)
        why = "ring.suspect_on_ring must be true (ringpop keeps suspects on the ring)";
    else if (n->seeds.n == 0)
        why = NULL; /* alone is fine: ringpop bootstraps with an own-only host list */
    for (size_t i = 0; !why && i < n->seeds.n; i++)
        if (!ipv4_hostport(n->seeds.addr[i]))
            why = "node.seeds must be IPv4 host:port (the ringpop hosts list)";
    if (!why)
        return 0;
    snprintf(msg, msglen, "node.wire ringpop: %s", why);
    return SR_ECONFIG;
}

/* ---- start / stop ----------------------------------------------------------- */

static void adopt(void *ud, int fd, const struct sockaddr *sa, int salen)
{
    struct sr_node *node = ud;
    if (sr_rpc_adopt(node->rpc, fd, sa, salen) < 0)
        evutil_closesocket(fd);
}

static void serve(void *ud, struct sr_ringpop_reply *reply, const struct sr_ringpop_proxy_req *req);

int node_ringpop_start(struct sr_node *node, char *msg, size_t msglen)
{
    const struct sr_node_cfg *c = &node->cfg.node;
    struct sr_ringpop_cfg rc;
    sr_ringpop_cfg_default(&rc);
    const char *hosts[SR_CFG_ADDR_LIST_MAX];
    for (size_t i = 0; i < c->seeds.n; i++)
        hosts[i] = c->seeds.addr[i];
    rc.listen = c->listen;
    rc.identity = node->cfg.ringpop.identity[0] ? node->cfg.ringpop.identity : NULL;
    rc.hosts = hosts;
    rc.nhosts = c->seeds.n;
    rc.suspect_ms = node->cfg.ringpop.suspect_ms;
    rc.faulty_ms = node->cfg.ringpop.faulty_ms;
    rc.tombstone_ms = node->cfg.ringpop.tombstone_ms;
    rc.process_name = NODE_RP_PROCESS;
    rc.adopt = adopt;
    rc.adopt_ud = node;
    int err = 0;
    node->rp = sr_ringpop_new(node->base, &rc, node->log, &err);
    if (!node->rp) {
        snprintf(msg, msglen, "cannot listen (TCP, ringpop wire) on %s: %s", c->listen,
                 sr_strerror(err));
        return err ? err : SR_ENOMEM;
    }
    node->swim = sr_ringpop_swim(node->rp);
    snprintf(node->self, sizeof(node->self), "%s", sr_swim_self(node->swim));
    sr_ringpop_set_event_cb(node->rp, node_on_swim_event, node);
    sr_ringpop_set_proxy_handler(node->rp, serve, node);
    /* node.name stays the log tag only: ringpop members are named by address */
    SR_INFO(node->log, "node.wire", "wire=ringpop listen=%s identity=%s suspect_ms=%u "
            "off=\"swim section timings, Lifeguard, gossip encryption, ring weights, "
            "node.name as member name, membership over TLS\" proxy=/proxy/req",
            c->listen, rc.identity ? rc.identity : "-", rc.suspect_ms);
    return 0;
}

void node_ringpop_delete(struct sr_node *node)
{
    sr_ringpop_delete(node->rp);
    node->rp = NULL;
}

/* ---- out: a forward to a ringpop member ------------------------------------ */

struct node_rp_ticket {
    struct node_call *c;        /* NULL once the call completed without us */
    char owner[SR_SWIM_ADDR_MAX];
};

/* The endpoint's HTTP route with the key in place of {key}. */
static char *route_url(const struct node_ep *ep, const uint8_t *key, size_t klen)
{
    const char *pat = ep->def->http_path, *k = pat ? strstr(pat, "{key}") : NULL;
    if (!k || !ep->def->http_method)
        return NULL;
    char *enc = evhttp_uriencode((const char *)key, (ev_ssize_t)klen, 0);
    if (!enc)
        return NULL;
    size_t n = (size_t)(k - pat) + strlen(enc) + strlen(k + 5) + 1;
    char *url = malloc(n);
    if (url)
        snprintf(url, n, "%.*s%s%s", (int)(k - pat), pat, enc, k + 5);
    free(enc);
    return url;
}

/* An HTTP status from a ringpop node -> our status codes (node_http.c maps
 * them back: 404, 400, 413 stay; busy is retried; the rest is a 500). */
static int status_of_code(int code)
{
    if (code >= 200 && code < 300)
        return 0;
    switch (code) {
    case 400: return SR_EINVAL;
    case 404: return SR_ENOTFOUND;
    case 413: return SR_ETOOBIG;
    case 429: case 503: return SR_EBUSY;
    default: return SR_EIO;
    }
}

static void proxied(void *ud, const struct sr_ringpop_proxy_res *res)
{
    struct node_rp_ticket *t = ud;
    struct node_call *c = t->c;
    if (!c) {
        free(t);
        return;
    }
    c->rp_ticket = NULL;
    struct sr_node *node = c->node;
    bool idem = (c->ep->def->flags & SR_ENDPOINT_IDEMPOTENT) != 0;
    int st = res->status == 0 ? status_of_code(res->status_code) : res->status;
    if (res->status == 0 && st != SR_EBUSY) {
        node->rps.proxied_ok++;
        node_call_done(c, st, res->body, res->body_len, t->owner);
    } else if (st == SR_EBUSY || st == SR_EAGAIN) {
        /* busy, or not ok: ringpop-node refuses while our rings' checksums
         * differ (they converge within a few periods) */
        node->rps.proxied_retry++;
        node_call_retry(c, st == SR_EAGAIN ? SR_ENOTOWNER : SR_EBUSY, false);
    } else if (st == SR_EUNREACH) {
        node->rps.proxied_failed++;
        node_call_retry(c, st, true);
    } else if (st == SR_ECONNLOST && idem) {
        node->rps.proxied_failed++;
        node_call_retry(c, st, false);
    } else {
        node->rps.proxied_failed++;
        node_call_done(c, st, NULL, 0, NULL);
    }
    free(t);
}

bool node_ringpop_forward(struct node_call *c, const char *owner)
{
    struct sr_node *node = c->node;
    if (!node->rp || sr_ringpop_peer_native(node->rp, owner))
        return false; /* ours: the RPC path */
    char *url = route_url(c->ep, c->key, c->key_len);
    if (!url)
        return false; /* no HTTP route to describe it: only our RPC can carry it */
    struct node_rp_ticket *t = calloc(1, sizeof(*t));
    if (!t) {
        free(url);
        node_call_done(c, SR_ENOMEM, NULL, 0, NULL);
        return true;
    }
    char key[1024];
    snprintf(key, sizeof key, "%.*s", (int)c->key_len, (const char *)c->key);
    char rid[SR_RPC_RID_MAX + 1];
    snprintf(rid, sizeof rid, "%.*s", (int)c->rid_len, (const char *)c->rid);
    char tmo[16];
    snprintf(tmo, sizeof tmo, "%u", node_call_left_ms(c));
    const char *ct = c->ep->def->content_type ? c->ep->def->content_type : "application/json";
    struct sr_ringpop_proxy_req q = {
        .url = url, .method = c->ep->def->http_method,
        .headers = {{"content-type", ct}, {"x-timeout-ms", tmo}, {"idempotency-key", rid}},
        .nheaders = c->rid_len ? 3 : 2, .has_checksum = true,
        .checksum = sr_ring_checksum(node->ring), .keys = {key}, .nkeys = 1,
        .body = c->body, .body_len = c->body_len, .timeout_ms = node_call_left_ms(c)};
    t->c = c;
    snprintf(t->owner, sizeof t->owner, "%s", owner);
    snprintf(c->target, sizeof(c->target), "%s", owner);
    c->forwarded = true;
    int rc = sr_ringpop_proxy(node->rp, owner, &q, proxied, t);
    free(url);
    if (rc < 0) {
        free(t);
        node->rps.proxied_failed++;
        node_call_retry(c, SR_EUNREACH, true);
        return true;
    }
    node->rps.proxied++;
    c->rp_ticket = t;
    return true;
}

void node_ringpop_call_done(struct node_call *c)
{
    if (c->rp_ticket) { /* the answer may still come: it finds no call */
        c->rp_ticket->c = NULL;
        c->rp_ticket = NULL;
    }
}

/* ---- in: /proxy/req through our own HTTP front ------------------------------ */

struct loop_req {
    struct sr_node *node;
    struct sr_ringpop_reply *reply;
    struct evhttp_connection *conn;
};

static void loop_done(struct evhttp_request *req, void *ud)
{
    struct loop_req *l = ud;
    struct sr_node *node = l->node;
    if (!req || evhttp_request_get_response_code(req) == 0) {
        node->rps.in_failed++;
        sr_ringpop_reply_error(l->reply, "ringpop.request-proxy.local-http",
                               "the node's HTTP front did not answer");
    } else {
        struct evbuffer *b = evhttp_request_get_input_buffer(req);
        size_t n = evbuffer_get_length(b);
        const char *ct = evhttp_find_header(evhttp_request_get_input_headers(req), "Content-Type");
        node->rps.in_served++;
        sr_ringpop_reply_send(l->reply, evhttp_request_get_response_code(req), ct,
                              n ? evbuffer_pullup(b, -1) : NULL, n);
    }
    free(l); /* the connection frees itself once this request is complete */
}

static enum evhttp_cmd_type method_type(const char *m, bool *ok)
{
    *ok = true;
    if (strcasecmp(m, "GET") == 0) return EVHTTP_REQ_GET;
    if (strcasecmp(m, "PUT") == 0) return EVHTTP_REQ_PUT;
    if (strcasecmp(m, "POST") == 0) return EVHTTP_REQ_POST;
    if (strcasecmp(m, "DELETE") == 0) return EVHTTP_REQ_DELETE;
    if (strcasecmp(m, "HEAD") == 0) return EVHTTP_REQ_HEAD;
    *ok = false;
    return EVHTTP_REQ_GET;
}

/* Headers that describe the hop, not the request: evhttp sets its own. */
static bool hop_header(const char *name)
{
    static const char *const skip[] = {"host", "content-length", "connection",
                                       "transfer-encoding", "keep-alive", "upgrade", NULL};
    for (size_t i = 0; skip[i]; i++)
        if (strcasecmp(name, skip[i]) == 0)
            return true;
    return false;
}

/* Where to reach our own HTTP front: its bound address, a wildcard bind
 * reached through loopback. */
static void http_target(const struct sr_node *node, char *host, size_t hlen, int *port)
{
    const char *a = sr_node_http_addr(node), *colon = strrchr(a, ':');
    size_t n = colon ? (size_t)(colon - a) : 0;
    snprintf(host, hlen, "%.*s", (int)n, a);
    if (n == 0 || strcmp(host, "0.0.0.0") == 0)
        snprintf(host, hlen, "127.0.0.1");
    *port = colon ? atoi(colon + 1) : 0;
}

static bool loop_send(struct sr_node *node, struct sr_ringpop_reply *reply,
                      const struct sr_ringpop_proxy_req *q, enum evhttp_cmd_type type)
{
    char host[64];
    int port;
    http_target(node, host, sizeof host, &port);
    struct loop_req *l = calloc(1, sizeof(*l));
    if (!l)
        return false;
    *l = (struct loop_req){node, reply, evhttp_connection_base_new(node->base, NULL, host,
                                                                   (ev_uint16_t)port)};
    struct evhttp_request *r = l->conn ? evhttp_request_new(loop_done, l) : NULL;
    if (!r) {
        if (l->conn)
            evhttp_connection_free(l->conn);
        free(l);
        return false;
    }
    struct evkeyvalq *h = evhttp_request_get_output_headers(r);
    for (size_t i = 0; i < q->nheaders; i++)
        if (!hop_header(q->headers[i][0]))
            evhttp_add_header(h, q->headers[i][0], q->headers[i][1]);
    evhttp_add_header(h, "Host", host);
    evhttp_add_header(h, "Connection", "close");
    if (q->body_len)
        evbuffer_add(evhttp_request_get_output_buffer(r), q->body, q->body_len);
    evhttp_connection_free_on_completion(l->conn);
    if (evhttp_make_request(l->conn, r, type, q->url) != 0) {
        free(l); /* libevent freed the request and, on completion, the connection */
        return false;
    }
    return true;
}

static void serve(void *ud, struct sr_ringpop_reply *reply, const struct sr_ringpop_proxy_req *q)
{
    struct sr_node *node = ud;
    node->rps.in_requests++;
    uint32_t mine = sr_ring_checksum(node->ring);
    char msg[160];
    bool ok;
    enum evhttp_cmd_type type = method_type(q->method, &ok);
    if (!q->has_checksum || q->checksum != mine) {
        /* ringpop-node's enforceConsistency (its default): the rings differ,
         * so the sender's idea of the owner may be wrong; it retries */
        node->rps.in_checksum_differs++;
        snprintf(msg, sizeof msg, "Expected the remote checksum to match local checksum. "
                 "The expected checksum (%u) did not match actual checksum (%s%u).", mine,
                 q->has_checksum ? "" : "none: ", q->has_checksum ? q->checksum : 0);
        sr_ringpop_reply_error(reply, "ringpop.request-proxy.invalid-checksum", msg);
    } else if (!ok) {
        node->rps.in_refused++;
        sr_ringpop_reply_error(reply, "ringpop.request-proxy.bad-method",
                               "method: GET, PUT, POST, DELETE or HEAD");
    } else if (strncmp(q->url, "/admin/", 7) == 0 || strncmp(q->url, "/metrics", 8) == 0) {
        node->rps.in_refused++; /* admin is for operators, never reached through a peer */
        static const char body[] = "{\"error\":\"SR_ENOTFOUND\",\"message\":\"no such route\"}";
        sr_ringpop_reply_send(reply, 404, "application/json", body, sizeof body - 1);
    } else if (!loop_send(node, reply, q, type)) {
        node->rps.in_failed++;
        sr_ringpop_reply_error(reply, "ringpop.request-proxy.local-http", "out of memory");
    }
}

void node_ringpop_stats_json(struct sr_node *node, json_t *j)
{
    if (!node->rp)
        return;
    struct sr_ringpop_proxy_stats p;
    sr_ringpop_proxy_stats(node->rp, &p);
    json_t *o = json_pack(
        "{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
        "wire", "ringpop", "ring_checksum", (json_int_t)sr_ring_checksum(node->ring),
        "proxied", (json_int_t)node->rps.proxied, "proxied_ok", (json_int_t)node->rps.proxied_ok,
        "proxied_retry", (json_int_t)node->rps.proxied_retry,
        "proxied_failed", (json_int_t)node->rps.proxied_failed,
        "proxy_in", (json_int_t)p.received, "proxy_in_bad_head", (json_int_t)p.bad_head,
        "proxy_in_checksum_differs", (json_int_t)node->rps.in_checksum_differs,
        "proxy_in_refused", (json_int_t)node->rps.in_refused,
        "proxy_in_served", (json_int_t)node->rps.in_served,
        "proxy_in_failed", (json_int_t)node->rps.in_failed,
        "proxy_in_caller_gone", (json_int_t)p.caller_gone,
        "port_tchannel", (json_int_t)p.sniffed_tchannel, "port_rpc", (json_int_t)p.sniffed_other,
        "port_dropped", (json_int_t)p.sniff_dropped);
    json_object_set_new(j, "ringpop", o);
}
