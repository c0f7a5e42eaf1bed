/* Node-to-node RPC transport (lib/forward).
 *
 * One sr_rpc object is both ends of a node's RPC: a server that listens on
 * host:port and dispatches requests to handlers, and a client that keeps one
 * pooled connection per peer ("host:port") with many requests in flight on
 * it, answered in any order and matched by request id. Everything runs on
 * the caller's libevent event_base, in its thread; nothing here is
 * thread-safe, and nothing needs to be.
 *
 * Wire format and error semantics: docs/rpc.md and lib/forward/frame.h.
 *
 * CALLBACK CONTRACT (CONVENTIONS item 8)
 *   sr_rpc_call: if it returns an error, the callback never runs. Otherwise
 *   it runs exactly once, never from inside sr_rpc_call itself, with one of:
 *     0 / the peer's status   the peer answered (res->remote is true);
 *                             SR_EBUSY from the peer means its in-flight
 *                             limit refused it unrun: retry after a pause
 *     SR_ETIMEDOUT            the deadline passed first; a response arriving
 *                             later is discarded and counted (late_responses)
 *     SR_ECONNLOST            the connection was lost after the request was
 *                             written whole to the socket: it MAY have been
 *                             delivered and run; retry only if idempotent
 *     SR_EUNREACH             the request was never written whole (connect
 *                             failed, or the connection died while it was
 *                             queued): it was surely NOT delivered; any
 *                             request may be retried
 *     SR_ECANCELED            sr_rpc_cancel or sr_rpc_delete ran first
 *   res->maybe_delivered says the same for every outcome (a timed-out
 *   request may or may not have been written).
 *
 *   Handlers: each request is handed to its handler once, with a reply
 *   handle. The handler must call sr_rpc_respond exactly once per handle,
 *   now or later, in any order; the handle stays valid until then even if
 *   the connection or the sr_rpc object is gone (the answer is then
 *   dropped). Until answered, a request counts against the connection's
 *   in-flight limit; requests past it are answered SR_EBUSY by the
 *   transport without reaching a handler.
 *
 *   CANCELLATION: when a call the transport has already written is given
 *   up (sr_rpc_cancel, or its deadline passes) a cancel frame follows it on
 *   the connection. The receiver marks the request's reply: its answer is
 *   not sent (answers_canceled) and sr_rpc_reply_canceled says so. A
 *   handler already running is not interrupted, and a call cancelled while
 *   still queued here is simply never sent. A cancel that crosses the
 *   answer on the wire finds nothing; that answer is dropped as late.
 *
 *   Do not call sr_rpc_delete from inside an sr_rpc callback or handler:
 *   break out of the loop (or schedule it with event_base_once) first.
 *
 * Addresses are numeric: "127.0.0.1:7000", "[::1]:7000" (no DNS on the
 * event loop). */
#ifndef SWIMRING_RPC_H
#define SWIMRING_RPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "swimring/export.h"

struct event_base;
struct sr_log;
struct sr_rpc;
struct sr_rpc_reply;

/* Longest "host:port" text, NUL included ("[v6]:port" fits). */
#define SR_RPC_ADDR_MAX 64
/* Longest client request id (idempotency key), bytes. */
#define SR_RPC_RID_MAX 64

/* Request flags (carried on the wire). */
#define SR_RPC_IDEMPOTENT 0x1u
/* A backup read (lib/node): the receiver answers from its own copy of the
 * key (it must be in the key's replica set by its own ring) and never
 * forwards it to the owner. A node that does not know the bit forwards it
 * as usual: slower, still correct. */
#define SR_RPC_REPLICA_READ 0x2u

struct sr_rpc_cfg {
    uint32_t max_frame;          /* largest frame payload accepted or sent, bytes */
    uint32_t max_inflight;       /* server: unanswered requests per connection */
    uint32_t max_pending;        /* client: queued + in-flight requests per peer */
    uint32_t max_outbuf;         /* unsent bytes per connection: a server stops
                                    reading a client whose answers pile up past
                                    it; a client refuses calls (SR_EFULL) to a
                                    peer with this much queued, unless none */
    uint32_t connect_timeout_ms; /* a connect (TLS: and handshake) slower fails */
    uint32_t backoff_min_ms;     /* first reconnect delay after a failure */
    uint32_t backoff_max_ms;     /* the delay doubles up to this */
};

/* Defaults for a LAN cluster: 1 MiB frames, 1024 in flight per connection,
 * 4096 pending per peer, 4 MiB output, 1 s connect, backoff 20 ms .. 2 s. */
SR_API struct sr_rpc_cfg sr_rpc_cfg_default_lan(void);

struct sr_rpc_stats {
    /* client side */
    uint64_t requests_sent;      /* calls accepted by sr_rpc_call */
    uint64_t responses_received; /* responses matched to a waiting call */
    uint64_t timeouts;           /* calls completed SR_ETIMEDOUT */
    uint64_t late_responses;     /* responses for no waiting call (late, bogus) */
    uint64_t conn_lost;          /* calls completed SR_ECONNLOST */
    uint64_t not_sent;           /* calls completed SR_EUNREACH */
    uint64_t connects;           /* connections established */
    uint64_t reconnects;         /* ... of them to a peer connected before */
    uint64_t connect_failures;
    uint64_t cancels_sent;       /* cancel frames sent: a written call was
                                    cancelled or timed out */
    /* server side */
    uint64_t accepted;           /* connections accepted */
    uint64_t requests_received;  /* requests handed to a handler */
    uint64_t responses_sent;
    uint64_t busy;               /* requests refused SR_EBUSY (in-flight limit) */
    uint64_t unknown_endpoint;   /* requests answered SR_ENOTFOUND */
    uint64_t cancels_received;   /* cancel frames read (matched or not) */
    uint64_t answers_canceled;   /* answers not sent: their request was cancelled */
    /* both sides */
    uint64_t bytes_sent;         /* frame bytes handed to the transport */
    uint64_t bytes_received;     /* frame bytes read */
    uint64_t frame_errors;       /* connections closed for a bad frame ... */
    uint64_t oversize_frames;    /* ... of them for a length above max_frame */
};

/* What a call's callback gets. Pointers are valid during the callback only. */
struct sr_rpc_result {
    int status;             /* 0 or negative SR_E* (see the contract above) */
    bool remote;            /* status and body come from the peer's answer */
    bool maybe_delivered;   /* the request was written whole to the socket */
    uint64_t id;            /* the request id */
    uint64_t checksum;      /* the responder's ring checksum, 0 if unknown */
    const uint8_t *body;
    size_t body_len;
};

typedef void (*sr_rpc_done_f)(void *ud, const struct sr_rpc_result *res);

struct sr_rpc_call_args {
    const char *service;    /* NUL-terminated, <= 255 bytes */
    const char *endpoint;   /* NUL-terminated, <= 255 bytes */
    const void *key;        /* routing key, may be NULL */
    size_t key_len;
    const void *body;       /* copied before sr_rpc_call returns */
    size_t body_len;
    uint32_t timeout_ms;    /* > 0: the deadline, also sent to the peer */
    uint32_t hops;          /* times already forwarded */
    uint32_t flags;         /* SR_RPC_IDEMPOTENT, SR_RPC_REPLICA_READ */
    const void *rid;        /* client request id (idempotency key), or NULL */
    size_t rid_len;         /* <= SR_RPC_RID_MAX (64) */
};

/* What a handler gets. Pointers are valid during the handler call only:
 * copy what an asynchronous answer needs. */
struct sr_rpc_request {
    uint64_t id;
    const char *service;
    size_t service_len;
    const char *endpoint;
    size_t endpoint_len;
    const uint8_t *key;
    size_t key_len;
    const uint8_t *body;
    size_t body_len;
    uint32_t deadline_ms;   /* what the caller had left when it sent it */
    uint32_t hops;
    uint32_t flags;
    uint64_t checksum;      /* the caller's ring checksum */
    const char *peer;       /* the caller's address, "ip:port" */
    const uint8_t *rid;     /* client request id, rid_len bytes (0: none) */
    size_t rid_len;
};

typedef void (*sr_rpc_handler_f)(void *ud, struct sr_rpc_reply *reply,
                                 const struct sr_rpc_request *req);

/* Create an RPC object on `base` (cfg NULL = sr_rpc_cfg_default_lan(); log
 * may be NULL). NULL with *err (SR_EINVAL, SR_ENOMEM) on failure. */
SR_API struct sr_rpc *sr_rpc_new(struct event_base *base, const struct sr_rpc_cfg *cfg,
                                 struct sr_log *log, int *err);
/* Close everything: the listener, every connection; every pending call
 * completes SR_ECANCELED before this returns. No event of ours stays
 * registered (libevent finalises freed connections on the loop's next turn,
 * or in event_base_free). Unanswered reply handles stay valid. */
SR_API void sr_rpc_delete(struct sr_rpc *rpc);

/* Listen on "host:port" (port 0 picks one; read it with sr_rpc_listen_addr).
 * SR_EINVAL for a bad address, SR_EEXIST if already listening, SR_ESYS. */
SR_API int sr_rpc_listen(struct sr_rpc *rpc, const char *addr);
/* The bound address as "host:port" into out[len]. SR_ENOTFOUND if not
 * listening. */
SR_API int sr_rpc_listen_addr(const struct sr_rpc *rpc, char *out, size_t len);
/* Serve an already accepted connection as if our listener had accepted it
 * (TLS included): the socket becomes ours. For a node whose port is shared
 * with the ringpop wire, which sniffs the first bytes and hands ours here
 * (docs/ringpop.md). sa is the peer's address (for logs), salen its size. */
struct sockaddr;
SR_API int sr_rpc_adopt(struct sr_rpc *rpc, int fd, const struct sockaddr *sa, int salen);

/* Route requests for (service, endpoint) to `fn`. Both NULL registers the
 * catch-all for requests no other handler takes. SR_EEXIST if taken. */
SR_API int sr_rpc_handle(struct sr_rpc *rpc, const char *service, const char *endpoint,
                         sr_rpc_handler_f fn, void *ud);
/* Answer a request and release `reply` (always, even on error). `status` is
 * 0 or a negative SR_E* code. SR_ETOOBIG if the body does not fit a frame
 * (the caller then gets SR_ETOOBIG instead of the body); 0 if the answer was
 * queued or the connection is gone (the answer is dropped). */
SR_API int sr_rpc_respond(struct sr_rpc_reply *reply, int status,
                          const void *body, size_t body_len);

/* Whether the caller cancelled this request (sr_rpc_cancel, or its
 * deadline passed, on its side): a cancel frame came for it. Its answer
 * will not be sent, so an asynchronous handler may stop working on it; it
 * must still call sr_rpc_respond to release the handle. See CANCELLATION
 * above. */
SR_API bool sr_rpc_reply_canceled(const struct sr_rpc_reply *reply);

/* Send a request to `peer` ("host:port"), connecting if needed. On success
 * the callback runs exactly once (see the contract above) and *id (if not
 * NULL) receives the request id. Errors: SR_EINVAL (bad address or args),
 * SR_ETOOBIG (frame too large), SR_EFULL (max_pending calls or max_outbuf
 * unsent bytes reached for this
 * peer), SR_ECLOSED (inside sr_rpc_delete), SR_ENOMEM. */
SR_API int sr_rpc_call(struct sr_rpc *rpc, const char *peer, const struct sr_rpc_call_args *args,
                       sr_rpc_done_f cb, void *ud, uint64_t *id);
/* A round trip without a handler (the transport answers): a health probe
 * with the same contract as sr_rpc_call. */
SR_API int sr_rpc_ping(struct sr_rpc *rpc, const char *peer, uint32_t timeout_ms,
                       sr_rpc_done_f cb, void *ud);

/* Give up on call `id` (from sr_rpc_call): its callback runs from the loop,
 * soon after this returns, with SR_ECANCELED (maybe_delivered says whether
 * the peer may still act on it); an answer arriving later is dropped as
 * late. SR_ENOTFOUND if the call already completed or its callback is
 * already scheduled to run. */
SR_API int sr_rpc_cancel(struct sr_rpc *rpc, uint64_t id);
/* Close the pooled connection to `peer` (a member left or was declared
 * faulty): its calls complete from the loop, soon after this returns, with
 * SR_ECONNLOST or SR_EUNREACH as for a lost connection; calls made
 * meanwhile share their fate. The next call dials again. 0, or SR_ENOTFOUND
 * for a peer never called. */
SR_API int sr_rpc_disconnect(struct sr_rpc *rpc, const char *peer);
/* The ring checksum stamped on every frame this object sends. */
SR_API void sr_rpc_set_checksum(struct sr_rpc *rpc, uint64_t checksum);
/* Queued + in-flight calls to `peer` (0 if unknown). */
SR_API uint32_t sr_rpc_pending(const struct sr_rpc *rpc, const char *peer);
SR_API void sr_rpc_stats_get(const struct sr_rpc *rpc, struct sr_rpc_stats *out);

#endif
