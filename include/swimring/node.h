/* The node: everything a sharded daemon needs, in one object.
 *
 * A node owns (or borrows) a libevent loop and on it: membership (SWIM over
 * UDP), the hash ring fed by membership, node-to-node RPC with
 * handle-or-forward, an HTTP front with admin endpoints and /metrics, and a
 * registry of services. One address per node, "host:port": UDP gossip and
 * TCP RPC share it, and it is the member's identity on the ring.
 *
 * Writing a daemon (examples/kvd is the walk-through):
 *
 *   struct sr_node_config cfg;
 *   sr_node_config_default(&cfg);
 *   sr_node_config_load_file(&cfg, "node.yaml", err, sizeof err);   // optional
 *   struct sr_node *node = sr_node_new(NULL, &cfg, &rc, err, sizeof err);
 *   sr_node_add_service(node, &my_service);     // endpoints + handlers
 *   sr_node_start(node);                        // listen, join the seeds
 *   sr_node_run(node);                          // until SIGTERM: leave, exit
 *   sr_node_delete(node);
 *
 * A request for key K that reaches any node over HTTP is admitted by the
 * endpoint's limits there, routed to K's owner (forwarded over RPC if that
 * is another node, retried across ring changes up to the deadline) and
 * answered by the endpoint's handler on the owner. A write (endpoint flag
 * SR_ENDPOINT_WRITE) to a service with state hooks is then copied to the
 * key's replicas; an "Idempotency-Key" header makes a retried write run once. Handlers run on the loop
 * thread, one at a time: service state needs no locks.
 *
 * CALLBACK CONTRACT: a handler is called once per request with a reply
 * handle and must call sr_node_reply() exactly once, now or later; the
 * handle stays valid until then even if the client went away. sr_node_call:
 * if it returns an error the callback never runs; otherwise it runs exactly
 * once, from the loop, never inside sr_node_call, before the deadline (plus
 * a few ms), with SR_ECANCELED when the node is deleted first.
 *
 * Threading: everything on the loop thread. */
#ifndef SWIMRING_NODE_H
#define SWIMRING_NODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "swimring/config.h"
#include "swimring/export.h"
#include "swimring/gossip_crypto.h"
#include "swimring/hashring.h"
#include "swimring/swim.h"

struct event_base;
struct sr_node;
struct sr_node_reply;

/* ---- configuration ------------------------------------------------------ */

#define SR_NODE_SERVICES_MAX 16
#define SR_NODE_TOKEN_MAX 128
#define SR_NODE_TLS_PATH_MAX 256
#define SR_NODE_TLS_EXCEPTIONS_TEXT_MAX 1024

/* Everything a node reads from YAML, section by section (docs/configuration.md
 * lists every key with its default). */
struct sr_node_config {
    struct sr_node_cfg node;        /* "node": name, listen, http, seeds, log */
    struct sr_swim_cfg swim;        /* "swim": protocol timings */
    struct sr_gossip_cfg gossip;    /* "gossip": encryption key(s), replay window */
    struct {                        /* "ring" */
        uint32_t points_per_member;
        bool suspect_on_ring;
    } ring;
    struct {                        /* "forward" */
        uint32_t max_hops;
        uint32_t max_tries;
        uint32_t timeout_ms;        /* default request deadline */
        uint32_t max_frame;         /* RPC frame limit, bytes */
        uint32_t max_inflight;      /* per RPC connection */
    } forward;
    struct {                        /* "limits": every endpoint's default */
        uint32_t max_body;          /* bytes; larger -> 413 */
        uint32_t rate_per_s;        /* per client; 0 = unlimited */
        uint32_t burst;
        uint32_t max_inflight;      /* per endpoint on this node; 0 = unlimited */
    } limits;
    struct {                        /* "admin" */
        char listen[SR_CFG_ADDR_MAX]; /* "" = served on node.http, loopback clients only */
        char token[SR_NODE_TOKEN_MAX]; /* "" = none; else "Authorization: Bearer <token>" */
        bool faults;                /* enable /admin/faults (chaos tests) */
    } admin;
    struct {                        /* "tls": mutual TLS on the RPC port (docs/security.md) */
        bool enabled;
        char cert_file[SR_NODE_TLS_PATH_MAX]; /* PEM: certificate, then intermediates */
        char key_file[SR_NODE_TLS_PATH_MAX];  /* PEM: private key */
        char ca_file[SR_NODE_TLS_PATH_MAX];   /* PEM: CAs whose certificates peers present */
        char exceptions[SR_NODE_TLS_EXCEPTIONS_TEXT_MAX]; /* "FP ALLOW UNTIL; ..." */
    } tls;
    struct {                        /* "state": handoff, replication, idempotency */
        uint32_t replicas;          /* copies of each key (owner included), 1..5 */
        uint32_t ack_replicas;      /* copies written before a write is answered */
        uint32_t rebalance_delay_ms; /* quiet time after a ring change before handoff */
        uint32_t sync_interval_ms;  /* anti-entropy between replicas; 0 = off */
        uint32_t batch_bytes;       /* records per handoff batch, bytes */
        uint32_t batch_window;      /* batches in flight per peer */
        uint32_t leave_timeout_ms;  /* a graceful leave waits this long for handoff */
        uint32_t idem_window_ms;    /* how long request ids are remembered */
        uint32_t idem_max;          /* ... at most this many */
        uint32_t backup_after_ms;   /* backup read after this long; 0 = observed p95 */
        bool backup_reads;          /* send idempotent reads to a replica when slow */
    } state;
    struct {                        /* "ringpop": node.wire ringpop only (docs/ringpop.md) */
        char identity[SR_SWIM_LABEL_MAX]; /* "" = none; else placed on the ring as "identity#" */
        uint32_t suspect_ms;        /* suspect -> faulty */
        uint32_t faulty_ms;         /* faulty kept before it becomes a tombstone */
        uint32_t tombstone_ms;      /* tombstone kept before it is forgotten */
    } ringpop;
    char swim_profile[16];          /* "lan" or "local": base of the swim section */
};

/* Defaults: the node section's table, the LAN swim profile, ringpop's ring. */
SR_API void sr_node_config_default(struct sr_node_config *cfg);
/* Switch the swim section to a profile ("lan", "local"); SR_EINVAL if unknown. */
SR_API int sr_node_config_profile(struct sr_node_config *cfg, const char *profile);
/* Load a YAML file over the current values ("FILE:LINE:COL: msg" in err). */
SR_API int sr_node_config_load_file(struct sr_node_config *cfg, const char *path, char *err,
                                    size_t errlen);
/* One override: "section.key" = value (YAML scalar; lists comma-separated). */
SR_API int sr_node_config_set(struct sr_node_config *cfg, const char *key, const char *value,
                              char *err, size_t errlen);
/* The sections (for tools that document or load them); returns how many. */
SR_API size_t sr_node_config_sections(struct sr_node_config *cfg, struct sr_cfg_section *out,
                                      size_t cap);

/* ---- services ------------------------------------------------------------ */

#define SR_ENDPOINT_IDEMPOTENT 0x1u /* may be retried after it may have run */
#define SR_ENDPOINT_WRITE 0x2u      /* changes state: replicated before the answer */
/* Never send a backup request for it (state.backup_reads): a held answer
 * (long poll), or a read only the owner can answer (one call carrying
 * several keys of one owner, routed by one of them). Idempotent reads of
 * services with replicas >= 2 are otherwise backed up to a replica when the
 * owner is slow. */
#define SR_ENDPOINT_NO_BACKUP 0x4u

/* What a handler on the owner sees. Pointers valid during the call only. */
struct sr_node_request {
    const char *service, *endpoint;
    const uint8_t *key;
    size_t key_len;
    const uint8_t *body;
    size_t body_len;
    uint32_t deadline_ms;   /* time left when it arrived */
    bool forwarded;         /* came from another node */
    const uint8_t *rid;     /* client request id (Idempotency-Key), or NULL */
    size_t rid_len;
};

typedef void (*sr_node_handler_f)(void *ud, struct sr_node_reply *reply,
                                  const struct sr_node_request *req);

struct sr_endpoint_def {
    const char *name;         /* e.g. "get"; [a-z0-9_.-], <= 63 bytes */
    uint32_t flags;           /* SR_ENDPOINT_IDEMPOTENT, _WRITE, _NO_BACKUP */
    sr_node_handler_f handler;
    /* HTTP binding (optional: NULL method = RPC only). The key is the path
     * segment named {key}; the body is passed as is. */
    const char *http_method;  /* "GET", "PUT", "POST", "DELETE" */
    const char *http_path;    /* e.g. "/v1/kv/{key}" */
    const char *content_type; /* of successful answers; NULL = application/json */
};

/* ---- service state: handoff and replication ------------------------------
 *
 * A service that keeps state per key gives the node these hooks; the node
 * then keeps `replicas` copies of every key on the members lookup_n(key)
 * names, moves them when the ring changes (handoff), copies every write to
 * the replicas before answering, and repairs replicas that drifted apart
 * (anti-entropy). A record is a byte string the service defines (one
 * session, one object, a whole small value); the node never looks inside.
 * All hooks run on the loop thread and must not call back into the node. */

typedef int (*sr_state_emit_f)(void *arg, const void *rec, size_t len);
typedef int (*sr_state_key_f)(void *arg, const void *key, size_t len);

struct sr_state_ops {
    /* Call fn once per key this node holds (owned or replica). fn does not
     * change the state; a nonzero return from fn stops the walk. */
    void (*keys)(void *ud, sr_state_key_f fn, void *arg);
    /* Emit every record of `key` through emit (nothing if the key is gone).
     * Returns 0, or the first error emit returned. */
    int (*export_key)(void *ud, const void *key, size_t len, sr_state_emit_f emit, void *arg);
    /* Merge one record made by export_key or sr_node_reply_record, maybe on
     * another node, into the key's state. Must be idempotent and
     * order-independent (last writer wins by a timestamp in the record;
     * deletes are tombstone records). SR_EPROTO for a record it cannot read. */
    int (*merge)(void *ud, const void *key, size_t len, const void *rec, size_t rec_len);
    /* Forget the key: this node no longer holds a replica of it. */
    void (*drop)(void *ud, const void *key, size_t len);
    /* Optional: a digest equal on two nodes exactly when the key's state is
     * (anti-entropy compares them). NULL: a hash of export_key's records. */
    uint64_t (*digest)(void *ud, const void *key, size_t len);
};

/* A service: a name, endpoints, and the hooks the node calls. */
struct sr_service_def {
    const char *name;
    const struct sr_endpoint_def *endpoints;
    size_t nendpoints;
    void *ud;                 /* passed to every handler and hook */
    /* The ring changed: keys with hash in the ranges changed owner (see
     * hashring.h). Called after the ring already answers with the new
     * owners. Optional. (Handoff of the state uses it.) */
    void (*ring_changed)(void *ud, const struct sr_ring_range *ranges, size_t n);
    /* Debug/admin: how many keys of this service this node holds. Optional. */
    size_t (*key_count)(void *ud);
    /* Debug/admin: whether this node holds `key` (/admin/keys). Optional. */
    bool (*has_key)(void *ud, const void *key, size_t len);
    /* State hooks (NULL: stateless, nothing is moved or replicated). */
    const struct sr_state_ops *state;
    /* Copies per key and copies written before a write's answer; 0 = the
     * node's state.replicas / state.ack_replicas. */
    uint32_t replicas, ack_replicas;
};

/* ---- daemon flags ------------------------------------------------------- */

#define SR_NODE_ARGS_LABELS_MAX SR_SWIM_LABELS_MAX

/* What the standard flags set besides the configuration. */
struct sr_node_args {
    struct sr_swim_label labels[SR_NODE_ARGS_LABELS_MAX]; /* --label k=v */
    size_t nlabels;
    const char *services;   /* --services a,b (points into argv), or NULL */
};

/* The flags every swimring daemon takes (ringd, kvd, presence, geo):
 *   --listen HOST:PORT  --seeds A,B,...  --name N  --http HOST:PORT
 *   --config FILE  --profile lan|local  --log-level L  --label K=V (repeat)
 *   --services a,b  --replicas R  --ack-replicas A  --set section.key=value (repeat)
 *   --gossip-key-file FILE (gossip.key_file; clears a gossip.key from the file)
 * Applied in this order whatever the order on the command line: the
 * profile, then the file, then every other flag (so flags win). Returns 0,
 * 1 for --help (usage already printed to stdout), or SR_ECONFIG/SR_EINVAL
 * with the message in err ("FILE:LINE:COL: ..." for the file). */
SR_API int sr_node_args_parse(struct sr_node_config *cfg, struct sr_node_args *args, int argc,
                              char **argv, char *err, size_t errlen);
/* The flag summary, for a daemon's usage text. */
SR_API const char *sr_node_args_usage(void);

/* ---- life cycle ---------------------------------------------------------- */

/* Create a node on `base` (NULL: the node creates and owns its own loop).
 * Validates the configuration; binds nothing yet. NULL with *err and a
 * message on failure. */
SR_API struct sr_node *sr_node_new(struct event_base *base, const struct sr_node_config *cfg,
                                   int *err, char *msg, size_t msglen);
/* Register a service (before or after start). The definition and everything
 * it points to must outlive the node. SR_EEXIST, SR_EFULL, SR_EINVAL. */
SR_API int sr_node_add_service(struct sr_node *node, const struct sr_service_def *svc);
/* Set one of this node's membership labels before or after start. */
SR_API int sr_node_set_label(struct sr_node *node, const char *key, const char *value);
/* Bind UDP+TCP on node.listen and HTTP on node.http, start gossip, join the
 * seeds (retrying in the background), log the listening addresses. */
SR_API int sr_node_start(struct sr_node *node, char *msg, size_t msglen);
/* Run the loop until sr_node_stop() or SIGTERM/SIGINT (which first leave
 * the cluster gracefully); SIGHUP runs sr_node_reload. Only for a node that
 * owns its loop. */
SR_API int sr_node_run(struct sr_node *node);
/* Leave gracefully (the others see "left" at once), then stop the loop after
 * the news has gone out. */
SR_API void sr_node_stop(struct sr_node *node);
/* Re-read what can change without a restart: the TLS certificate, key and
 * CA bundle (sr_node_run does this on SIGHUP). New connections use the new
 * material, open ones keep theirs; a bad file is refused (logged, message
 * in msg, SR_ECONFIG) and the old material kept. 0 also when TLS is off. */
SR_API int sr_node_reload(struct sr_node *node, char *msg, size_t msglen);
SR_API void sr_node_delete(struct sr_node *node);

/* ---- requests ------------------------------------------------------------ */

/* From a SR_ENDPOINT_WRITE handler, before sr_node_reply: one record that
 * changed (call it once per record). The replicas merge exactly these; a
 * write answered 0 without any gets the key's whole export instead. */
SR_API int sr_node_reply_record(struct sr_node_reply *reply, const void *rec, size_t len);

/* A last-writer-wins timestamp: wall-clock microseconds, above `prev` (the
 * key's current stamp) even if the clock went back. */
SR_API uint64_t sr_state_stamp(uint64_t prev);

/* Answer a request (exactly once per handle). status 0 = success with body;
 * a negative SR_E* code maps to an HTTP error at the entry node
 * (SR_ENOTFOUND 404, SR_EINVAL 400, SR_ETOOBIG 413, retryable codes 503). */
SR_API void sr_node_reply(struct sr_node_reply *reply, int status, const void *body, size_t len);

struct sr_node_result {
    int status;
    const uint8_t *body;
    size_t body_len;
    const char *served_by;    /* address of the node that ran the handler */
};
typedef void (*sr_node_done_f)(void *ud, const struct sr_node_result *res);

/* Send a request for `key` to its owner (locally or forwarded). timeout_ms 0
 * means forward.timeout_ms. Used by services that fan out (geo). */
SR_API int sr_node_call(struct sr_node *node, const char *service, const char *endpoint,
                        const void *key, size_t key_len, const void *body, size_t body_len,
                        uint32_t timeout_ms, sr_node_done_f cb, void *ud);

/* ---- queries ------------------------------------------------------------- */

SR_API struct event_base *sr_node_base(struct sr_node *node);
SR_API const char *sr_node_self(const struct sr_node *node);
SR_API struct sr_swim *sr_node_swim(struct sr_node *node);
SR_API const struct sr_ring *sr_node_ring(const struct sr_node *node);
/* Whether this node owns `key` now. */
SR_API bool sr_node_owns(const struct sr_node *node, const void *key, size_t len);
/* The bound HTTP address ("host:port"), for tests that listen on port 0. */
SR_API const char *sr_node_http_addr(const struct sr_node *node);

#endif
