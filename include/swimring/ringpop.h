/* The ringpop wire for the SWIM core: TChannel over TCP with ringpop's JSON
 * bodies on the "ringpop" service (/protocol/join, /protocol/ping,
 * /protocol/ping-req) plus the admin endpoints (/admin/stats etc.) ringpop-common's
 * integration suite calls. The core (swim.h) stays the same sans-I/O
 * object; this driver translates its datagrams to and from ringpop calls.
 * docs/ringpop.md says what is compatible and what is not.
 *
 * Threading: one libevent loop; every call on the loop's thread.
 * Callback contract: membership calls have none (sr_ringpop_delete closes
 * every connection and drops them). sr_ringpop_proxy: if it returns an
 * error its callback never runs; otherwise it runs exactly once, from the
 * loop, SR_ECANCELED when the driver is deleted first. A proxy handler
 * gets each /proxy/req once and must answer it exactly once
 * (sr_ringpop_reply_send or sr_ringpop_reply_error), now or later; the
 * reply stays valid until then even if the caller hung up. */
#ifndef SWIMRING_RINGPOP_H
#define SWIMRING_RINGPOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "swimring/export.h"
#include "swimring/log.h"
#include "swimring/swim.h"

struct event_base;
struct sockaddr;
struct sr_ringpop;
struct sr_ringpop_reply;

/* A new connection on the listen port whose first bytes are not a TChannel
 * init req (docs/ringpop.md, "One port"): handed over unread with its
 * socket (now the callee's to close). */
typedef void (*sr_ringpop_adopt_f)(void *ud, int fd, const struct sockaddr *sa, int salen);

struct sr_ringpop_cfg {
    const char *listen;          /* "host:port" to bind and advertise */
    const char *identity;        /* ringpop identity label (NULL: none) */
    const char *const *hosts;    /* bootstrap list (own address may be in it) */
    const char *hosts_file;      /* JSON list re-read by partition healing (NULL: hosts) */
    size_t nhosts;
    uint32_t suspect_ms;         /* suspect -> faulty (ringpop: 5000) */
    uint32_t faulty_ms;          /* faulty kept before it is reaped */
    uint32_t tombstone_ms;       /* tombstone kept before it is evicted */
    uint32_t join_size;          /* seeds asked at once (ringpop-go: 3 x 2 = 6) */
    uint32_t max_reverse_syncs;  /* concurrent reverse full syncs (ringpop-go: 5) */
    const char *process_name;    /* TChannel init process_name (NULL: "swimring-testpop");
                                    peers naming a process "swimring..." are ours */
    sr_ringpop_adopt_f adopt;    /* NULL: non-TChannel connections are closed */
    void *adopt_ud;
};

SR_API void sr_ringpop_cfg_default(struct sr_ringpop_cfg *cfg);

/* Bind, then join through cfg->hosts. NULL with *err on failure (SR_ESYS:
 * errno says why, e.g. EADDRINUSE). */
SR_API struct sr_ringpop *sr_ringpop_new(struct event_base *base, const struct sr_ringpop_cfg *cfg,
                                         struct sr_log *log, int *err);
SR_API void sr_ringpop_delete(struct sr_ringpop *rp);
SR_API struct sr_swim *sr_ringpop_swim(struct sr_ringpop *rp);
/* The member address owning `key` on the ring (identity-aware), or NULL. */
SR_API const char *sr_ringpop_lookup(struct sr_ringpop *rp, const void *key, size_t len);

/* Membership events of the core (after the driver's own ring bookkeeping),
 * for a node that keeps its own ring. */
typedef void (*sr_ringpop_event_f)(void *ud, const struct sr_swim_event *ev);
SR_API void sr_ringpop_set_event_cb(struct sr_ringpop *rp, sr_ringpop_event_f fn, void *ud);

/* Whether the member at addr runs swimring: the last TChannel init seen
 * from it (either direction) named a process "swimring...". False for
 * ringpop-go/-node peers and for peers not connected yet. */
SR_API bool sr_ringpop_peer_native(const struct sr_ringpop *rp, const char *addr);

/* ---- /proxy/req (ringpop-node lib/request-proxy) ---------------------------
 * The call on service "ringpop", arg1 "/proxy/req", arg2 the JSON head
 *   {"url":..., "headers":{...}, "method":..., "httpVersion":"1.1",
 *    "ringpopChecksum": <the sender's ring checksum>, "ringpopKeys":[...]}
 * arg3 the body. The answer: ok, arg2 {"statusCode":N,"headers":{...}},
 * arg3 the body; or not ok (TChannel code 1), arg3 a JSON error
 * {"type":..., "message":...}. */
#define SR_RINGPOP_PROXY_HEADERS_MAX 32
#define SR_RINGPOP_PROXY_KEYS_MAX 8
struct sr_ringpop_proxy_req {
    const char *url;             /* path and query */
    const char *method;
    const char *headers[SR_RINGPOP_PROXY_HEADERS_MAX][2]; /* name, value */
    size_t nheaders;
    bool has_checksum;
    uint32_t checksum;           /* ringpopChecksum */
    const char *keys[SR_RINGPOP_PROXY_KEYS_MAX];          /* ringpopKeys */
    size_t nkeys;
    const void *body;
    size_t body_len;
    uint32_t timeout_ms;         /* outgoing only; 0: 30 s (ringpop-node proxyReqTimeout) */
};
/* A header of req by name (ASCII case-insensitive), or NULL. */
SR_API const char *sr_ringpop_req_header(const struct sr_ringpop_proxy_req *req, const char *name);

struct sr_ringpop_proxy_res {
    int status;                  /* 0: answered; SR_EAGAIN: not ok (body = error text);
                                    SR_EUNREACH, SR_ECONNLOST, SR_ETIMEDOUT, SR_EPROTO,
                                    SR_ECANCELED */
    int status_code;             /* head.statusCode (200 when absent) */
    const char *content_type;    /* head.headers content-type, or NULL */
    const uint8_t *body;
    size_t body_len;
};
typedef void (*sr_ringpop_proxy_f)(void *ud, const struct sr_ringpop_proxy_res *res);
/* Send req to peer as /proxy/req. Errors: SR_EINVAL, SR_EUNREACH (bad
 * address), SR_ENOMEM. */
SR_API int sr_ringpop_proxy(struct sr_ringpop *rp, const char *peer,
                            const struct sr_ringpop_proxy_req *req, sr_ringpop_proxy_f cb, void *ud);

/* Serve /proxy/req arriving here. Without a handler they are answered not
 * ok. Bad heads never reach the handler: they are answered not ok and
 * counted (sr_ringpop_proxy_stats). req and its strings live during the
 * call only. */
typedef void (*sr_ringpop_serve_f)(void *ud, struct sr_ringpop_reply *reply,
                                   const struct sr_ringpop_proxy_req *req);
SR_API void sr_ringpop_set_proxy_handler(struct sr_ringpop *rp, sr_ringpop_serve_f fn, void *ud);
/* Answer ok: statusCode, content-type header (NULL: none), body. */
SR_API void sr_ringpop_reply_send(struct sr_ringpop_reply *reply, int status_code,
                                  const char *content_type, const void *body, size_t len);
/* Answer not ok with ringpop's error body {"type": type, "message": message}. */
SR_API void sr_ringpop_reply_error(struct sr_ringpop_reply *reply, const char *type,
                                   const char *message);

struct sr_ringpop_proxy_stats {
    uint64_t sent, answered, failed;        /* outgoing */
    uint64_t received, bad_head, no_handler, replied, errors, caller_gone; /* incoming */
    uint64_t sniffed_tchannel, sniffed_other, sniff_dropped; /* the shared port */
};
SR_API void sr_ringpop_proxy_stats(const struct sr_ringpop *rp, struct sr_ringpop_proxy_stats *out);

/* ringpop's ring checksum of the driver's own ring (what ringpop-node puts
 * in ringpopChecksum and compares): fingerprint32 of the sorted member
 * addresses joined by ';'. */
SR_API uint32_t sr_ringpop_ring_checksum(const struct sr_ringpop *rp);

/* Self-eviction (ringpop-go SelfEvict, run on SIGTERM): declare ourselves
 * faulty straight to ceil(40 %) of the reachable members, wait for their
 * answers (at most the ping timeout), then call done(ud) once. Returns an
 * error, and done never runs, if an eviction is already under way. */
typedef void (*sr_ringpop_done_f)(void *ud);
SR_API int sr_ringpop_self_evict(struct sr_ringpop *rp, sr_ringpop_done_f done, void *ud);

#endif
