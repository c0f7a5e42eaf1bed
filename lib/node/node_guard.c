/* Admission at the HTTP front: kill switches, body limit, per-client rate
 * limit, per-endpoint in-flight limit (configured in the "limits" section).
 *
 * Rate limits are token buckets per (client, endpoint). The client is the
 * X-Client-Id header when present, else the peer address. Buckets live in a
 * fixed table (open addressing, 8 probes, the stalest of them is replaced),
 * so no client traffic can grow memory; evictions are counted. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/queue.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include "swimring/error.h"
#include "swimring/hashring.h"
#include "node_http.h"

#define BUCKETS 8192u   /* power of two */
#define PROBES 8u
#define CLIENT_MAX 64u
#define LOG_BODY_MAX 4096u

struct bucket {
    uint32_t hash;        /* 0 = empty */
    uint16_t ep;
    double tokens;
    sr_time_us at;        /* last refill */
    char client[CLIENT_MAX];
};

struct node_buckets {
    struct bucket b[BUCKETS];
    uint64_t evictions;
};

int node_guard_new(struct sr_node *node)
{
    node->buckets = calloc(1, sizeof(*node->buckets));
    return node->buckets ? 0 : SR_ENOMEM;
}

void node_guard_delete(struct sr_node *node)
{
    free(node->buckets);
    node->buckets = NULL;
}

const char *node_kill_name(enum node_kill k)
{
    static const char *const names[] = {"off", "drop", "reject", "log"};
    return names[k];
}

/* Take one token; 0, or the seconds until one is available. */
static unsigned bucket_take(struct node_buckets *t, const char *client, uint16_t ep, double rate,
                            double burst, sr_time_us now)
{
    char k[CLIENT_MAX + 8];
    int klen = snprintf(k, sizeof k, "%u/%.*s", ep, (int)CLIENT_MAX - 1, client);
    uint32_t h = sr_ring_hash(k, (size_t)klen) | 1u;
    struct bucket *victim = NULL;
    for (uint32_t i = 0; i < PROBES; i++) {
        struct bucket *b = &t->b[(h + i) & (BUCKETS - 1)];
        if (b->hash == h && b->ep == ep && strncmp(b->client, client, CLIENT_MAX - 1) == 0) {
            victim = b;
            break;
        }
        if (!victim || b->hash == 0 || (victim->hash != 0 && b->at < victim->at))
            victim = b;
    }
    struct bucket *b = victim;
    if (b->hash != h || b->ep != ep || strncmp(b->client, client, CLIENT_MAX - 1) != 0) {
        if (b->hash)
            t->evictions++;
        *b = (struct bucket){.hash = h, .ep = ep, .tokens = burst, .at = now};
        snprintf(b->client, CLIENT_MAX, "%s", client);
    }
    b->tokens += rate * (double)(now - b->at) / 1e6;
    if (b->tokens > burst)
        b->tokens = burst;
    b->at = now;
    if (b->tokens >= 1.0) {
        b->tokens -= 1.0;
        return 0;
    }
    double wait = (1.0 - b->tokens) / rate;
    return (unsigned)wait + 1u;
}

static const char *client_of(struct evhttp_request *req)
{
    const char *id = evhttp_find_header(evhttp_request_get_input_headers(req), "X-Client-Id");
    if (id && id[0])
        return id;
    struct evhttp_connection *c = evhttp_request_get_connection(req);
    char *addr = NULL;
    ev_uint16_t port;
    if (c)
        evhttp_connection_get_peer(c, &addr, &port);
    return addr ? addr : "?";
}

/* One line per request: time, client, service/endpoint, key, body with
 * non-printable bytes escaped, cut at LOG_BODY_MAX. */
static int kill_log(struct node_ep *ep, const char *client, const char *key, size_t klen,
                    struct evhttp_request *req)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t blen = evbuffer_get_length(in);
    const unsigned char *body = blen ? evbuffer_pullup(in, -1) : NULL;
    FILE *f = fopen(ep->kill_file, "a");
    if (!f)
        return SR_EIO;
    char ts[32];
    fprintf(f, "%s client=%s endpoint=%s/%s key=%.*s body=\"", sr_time_format_utc(sr_time_wall_us(), ts, sizeof ts),
            client, ep->svc->name, ep->def->name, (int)(klen < 256 ? klen : 256), key);
    for (size_t i = 0; i < blen && i < LOG_BODY_MAX; i++) {
        unsigned char ch = body[i];
        if (ch >= 0x20 && ch < 0x7f && ch != '"' && ch != '\\')
            fputc(ch, f);
        else
            fprintf(f, "\\x%02x", ch);
    }
    fprintf(f, "\"%s\n", blen > LOG_BODY_MAX ? " truncated=1" : "");
    return fclose(f) == 0 ? 0 : SR_EIO;
}

static int kill_switch(struct sr_node *node, struct evhttp_request *req, struct node_ep *ep,
                       const char *key, size_t klen)
{
    (void)node;
    switch (ep->kill) {
    case NODE_KILL_DROP:
        ep->killed_drop++;
        node_http_json(req, 200, json_pack("{s:b}", "dropped", 1));
        return 1;
    case NODE_KILL_REJECT:
        ep->killed_reject++;
        node_http_error(req, 503, "SR_EAGAIN", "endpoint switched off (kill switch: reject)", 5);
        return 1;
    case NODE_KILL_LOG:
        ep->killed_log++;
        if (kill_log(ep, client_of(req), key, klen, req) < 0) {
            ep->kill_log_errors++;
            node_http_error(req, 503, "SR_EIO", "kill switch log not writable", 5);
        } else {
            node_http_json(req, 202, json_pack("{s:b}", "logged", 1));
        }
        return 1;
    default:
        return 0;
    }
}

int node_guard_admit(struct sr_node *node, struct evhttp_request *req, const struct node_ep *cep,
                     const char *key, size_t klen, size_t body_len)
{
    struct node_ep *ep = (struct node_ep *)cep; /* the registry is ours */
    if (node->leaving) {
        node_http_error(req, 503, "SR_ECLOSED", "node is leaving", 1);
        return 1;
    }
    if (kill_switch(node, req, ep, key, klen))
        return 1;
    if (ep->max_body && body_len > ep->max_body) {
        ep->refused_body++;
        node_http_error(req, 413, "SR_ETOOBIG", "request body over the endpoint's max_body (limits)", 0);
        return 1;
    }
    if (ep->rate_per_s) {
        double burst = ep->burst ? ep->burst : ep->rate_per_s;
        unsigned wait = bucket_take(node->buckets, client_of(req), (uint16_t)(ep - node->ep),
                                    ep->rate_per_s, burst, sr_time_mono_us());
        if (wait) {
            ep->refused_rate++;
            node_http_error(req, 429, "SR_EBUSY", "rate limit (rate_per_s) exceeded", wait);
            return 1;
        }
    }
    if (ep->max_inflight && ep->inflight >= ep->max_inflight) {
        ep->refused_inflight++;
        node_http_error(req, 503, "SR_EBUSY", "too many requests in progress (max_inflight)", 1);
        return 1;
    }
    ep->inflight++;
    return 0;
}

void node_guard_release(struct sr_node *node, const struct node_ep *cep)
{
    struct node_ep *ep = &node->ep[cep - node->ep];
    if (ep->inflight)
        ep->inflight--;
}
