/* The RPC object: configuration, lifetime, handler registry, and the frame
 * reader both sides use. Client logic is in rpc_client.c, server logic in
 * rpc_server.c. */
#include "forward/rpc_impl.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/buffer.h>
#include "swimring/error.h"
#include "swimring/log.h"

struct sr_rpc_cfg sr_rpc_cfg_default_lan(void)
{
    return (struct sr_rpc_cfg){
        .max_frame = 1u << 20,
        .max_inflight = 1024,
        .max_pending = 4096,
        .max_outbuf = 4u << 20,
        .connect_timeout_ms = 1000,
        .backoff_min_ms = 20,
        .backoff_max_ms = 2000,
    };
}

static int cfg_check(const struct sr_rpc_cfg *c)
{
    if (c->max_frame < 64 || c->max_inflight == 0 || c->max_pending == 0 ||
        c->max_outbuf == 0 || c->connect_timeout_ms == 0 || c->backoff_min_ms == 0 ||
        c->backoff_max_ms < c->backoff_min_ms)
        return SR_EINVAL;
    return 0;
}

struct sr_rpc *sr_rpc_new(struct event_base *base, const struct sr_rpc_cfg *cfg,
                          struct sr_log *log, int *err)
{
    struct sr_rpc_cfg c = cfg != NULL ? *cfg : sr_rpc_cfg_default_lan();
    if (base == NULL || cfg_check(&c) < 0) {
        *err = SR_EINVAL;
        return NULL;
    }
    struct sr_rpc *rpc = calloc(1, sizeof(*rpc));
    if (rpc == NULL) {
        *err = SR_ENOMEM;
        return NULL;
    }
    rpc->base = base;
    rpc->log = log;
    rpc->cfg = c;
    rpc->transport.ops = &sr_conn_tcp_ops;
    rpc->next_id = 1;
    /* Jitter only needs to differ between nodes, not to be unpredictable. */
    rpc->rand_state = sr_rpc_htab_mix64((uint64_t)(uintptr_t)rpc ^ sr_time_mono_us()) | 1;
    sr_buf_create(&rpc->scratch, 0);
    TAILQ_INIT(&rpc->sconns);
    if (sr_rpc_client_init(rpc) < 0) {
        sr_buf_destroy(&rpc->scratch);
        free(rpc);
        *err = SR_ENOMEM;
        return NULL;
    }
    return rpc;
}

void sr_rpc_delete(struct sr_rpc *rpc)
{
    if (rpc == NULL)
        return;
    rpc->closing = true;
    sr_rpc_server_shutdown(rpc);
    sr_rpc_client_shutdown(rpc);
    for (size_t i = 0; i < rpc->nhandlers; i++) {
        free(rpc->handlers[i].service);
        free(rpc->handlers[i].endpoint);
    }
    free(rpc->handlers);
    sr_conn_transport_destroy(&rpc->transport);
    sr_buf_destroy(&rpc->scratch);
    free(rpc);
}

int sr_rpc_use_transport(struct sr_rpc *rpc, const struct sr_conn_ops *ops, void *ctx)
{
    if (ops == NULL || rpc->listener != NULL || rpc->peers.count != 0)
        return SR_EINVAL;
    sr_conn_transport_destroy(&rpc->transport);
    rpc->transport.ops = ops;
    rpc->transport.ctx = ctx;
    return 0;
}

int sr_rpc_listen(struct sr_rpc *rpc, const char *addr)
{
    if (rpc->closing)
        return SR_ECLOSED;
    return sr_rpc_server_listen(rpc, addr);
}

int sr_rpc_listen_addr(const struct sr_rpc *rpc, char *out, size_t len)
{
    if (rpc->listener == NULL)
        return SR_ENOTFOUND;
    if ((size_t)snprintf(out, len, "%s", rpc->listen_addr) >= len)
        return SR_ETOOBIG;
    return 0;
}

static bool same_name(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

int sr_rpc_handle(struct sr_rpc *rpc, const char *service, const char *endpoint,
                  sr_rpc_handler_f fn, void *ud)
{
    if (fn == NULL || (service == NULL) != (endpoint == NULL))
        return SR_EINVAL;
    if (service == NULL) {
        if (rpc->catch_all.fn != NULL)
            return SR_EEXIST;
        rpc->catch_all = (struct rpc_handler){.fn = fn, .ud = ud};
        return 0;
    }
    if (strlen(service) > SR_RPC_NAME_MAX || strlen(endpoint) > SR_RPC_NAME_MAX)
        return SR_EINVAL;
    for (size_t i = 0; i < rpc->nhandlers; i++)
        if (same_name(rpc->handlers[i].service, service) &&
            same_name(rpc->handlers[i].endpoint, endpoint))
            return SR_EEXIST;
    struct rpc_handler *h = realloc(rpc->handlers, (rpc->nhandlers + 1) * sizeof(*h));
    if (h == NULL)
        return SR_ENOMEM;
    rpc->handlers = h;
    struct rpc_handler *n = &h[rpc->nhandlers];
    *n = (struct rpc_handler){.service = strdup(service), .endpoint = strdup(endpoint),
                              .fn = fn, .ud = ud};
    if (n->service == NULL || n->endpoint == NULL) {
        free(n->service);
        free(n->endpoint);
        return SR_ENOMEM;
    }
    rpc->nhandlers++;
    return 0;
}

int sr_rpc_ping(struct sr_rpc *rpc, const char *peer, uint32_t timeout_ms,
                sr_rpc_done_f cb, void *ud)
{
    struct sr_rpc_call_args a = {.service = "", .endpoint = "", .timeout_ms = timeout_ms};
    return sr_rpc_call_kind(rpc, peer, SR_RPC_KIND_PING, &a, cb, ud, NULL);
}

int sr_rpc_call(struct sr_rpc *rpc, const char *peer, const struct sr_rpc_call_args *args,
                sr_rpc_done_f cb, void *ud, uint64_t *id)
{
    return sr_rpc_call_kind(rpc, peer, SR_RPC_KIND_REQUEST, args, cb, ud, id);
}

void sr_rpc_set_checksum(struct sr_rpc *rpc, uint64_t checksum) { rpc->checksum = checksum; }

void sr_rpc_stats_get(const struct sr_rpc *rpc, struct sr_rpc_stats *out) { *out = rpc->stats; }

int sr_rpc_parse_addr(const char *addr, struct sockaddr_storage *sa, int *salen)
{
    if (addr == NULL || strlen(addr) >= SR_RPC_ADDR_MAX || strchr(addr, ':') == NULL)
        return SR_EINVAL;
    memset(sa, 0, sizeof(*sa));
    *salen = (int)sizeof(*sa);
    /* libevent refuses port 0, which listen uses for "any free port":
     * parse it as port 1 and clear the port afterwards. */
    char tmp[SR_RPC_ADDR_MAX + 1];
    size_t n = strlen(addr);
    bool any_port = n >= 2 && strcmp(addr + n - 2, ":0") == 0;
    snprintf(tmp, sizeof(tmp), "%.*s%s", (int)(any_port ? n - 1 : n), addr, any_port ? "1" : "");
    if (evutil_parse_sockaddr_port(tmp, (struct sockaddr *)sa, salen) < 0)
        return SR_EINVAL;
    if (sa->ss_family == AF_INET && any_port)
        ((struct sockaddr_in *)sa)->sin_port = 0;
    else if (sa->ss_family == AF_INET6 && any_port)
        ((struct sockaddr_in6 *)sa)->sin6_port = 0;
    else if (sa->ss_family != AF_INET && sa->ss_family != AF_INET6)
        return SR_EINVAL;
    return 0;
}

void sr_rpc_format_addr(const struct sockaddr *sa, char *out, size_t len)
{
    char ip[INET6_ADDRSTRLEN] = "?";
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof(ip));
        snprintf(out, len, "%s:%u", ip, ntohs(s4->sin_port));
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof(ip));
        snprintf(out, len, "[%s]:%u", ip, ntohs(s6->sin6_port));
    } else {
        snprintf(out, len, "unknown");
    }
}

double sr_rpc_rand01(struct sr_rpc *rpc)
{
    uint64_t x = rpc->rand_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    rpc->rand_state = x;
    return (double)(x >> 11) / (double)(1ULL << 53);
}

int sr_rpc_encode(struct sr_rpc *rpc, struct sr_rpc_frame *f, size_t *deadline_off)
{
    sr_buf_reset(&rpc->scratch);
    f->checksum = rpc->checksum;
    return sr_rpc_frame_encode(&rpc->scratch, f, rpc->cfg.max_frame, deadline_off);
}

void sr_rpc_tune_bev(struct bufferevent *bev)
{
    bufferevent_set_max_single_read(bev, SR_RPC_IO_CHUNK);
    bufferevent_set_max_single_write(bev, SR_RPC_IO_CHUNK);
}

int sr_rpc_next_frame(struct sr_rpc *rpc, struct evbuffer *in, const char *peer,
                      const uint8_t **payload, uint32_t *len)
{
    uint8_t head[SR_RPC_FRAME_HEADER];
    if (evbuffer_copyout(in, head, sizeof(head)) < (ev_ssize_t)sizeof(head))
        return 0;
    int rc = sr_rpc_frame_peek(head, sizeof(head), rpc->cfg.max_frame, len);
    if (rc < 0) {
        rpc->stats.frame_errors++;
        if (rc == SR_ETOOBIG)
            rpc->stats.oversize_frames++;
        uint32_t n = (uint32_t)head[0] << 24 | (uint32_t)head[1] << 16 |
                     (uint32_t)head[2] << 8 | head[3];
        SR_WARN(rpc->log, "rpc.frame_error",
                "peer=%s reason=\"%s\" length=%u max_frame=%u action=close", peer,
                rc == SR_ETOOBIG ? "frame longer than max_frame" : "zero-length frame",
                n, rpc->cfg.max_frame);
        return rc;
    }
    size_t total = SR_RPC_FRAME_HEADER + (size_t)*len;
    if (evbuffer_get_length(in) < total)
        return 0;
    const uint8_t *p = evbuffer_pullup(in, (ev_ssize_t)total);
    if (p == NULL)
        return SR_ENOMEM;
    *payload = p + SR_RPC_FRAME_HEADER;
    rpc->stats.bytes_received += total;
    return 1;
}

int sr_rpc_decode(struct sr_rpc *rpc, const uint8_t *p, uint32_t len, const char *peer,
                  struct sr_rpc_frame *f)
{
    const char *field = "?";
    int rc = sr_rpc_frame_decode(p, len, f, &field);
    if (rc < 0) {
        rpc->stats.frame_errors++;
        SR_WARN(rpc->log, "rpc.frame_error", "peer=%s reason=\"%s\" field=%s length=%u action=close",
                peer, sr_strerror(rc), field, len);
    }
    return rc;
}
