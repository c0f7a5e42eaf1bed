/* The node object's insides, shared by the files of lib/node only. */
#ifndef SWIMRING_NODE_IMPL_H
#define SWIMRING_NODE_IMPL_H

#include <stdbool.h>
#include "swimring/log.h"
#include "swimring/node.h"
#include "swimring/ringfeed.h"
#include "swimring/rpc.h"
#include "swimring/swim_udp.h"
#include "swimring/time.h"

struct event;

/* How long a leaving node keeps its loop running so the "left" news and
 * answers already under way go out. */
#define SR_NODE_LEAVE_WAIT_MS 500

#define NODE_ENDPOINTS_MAX 128

enum node_kill { NODE_KILL_OFF, NODE_KILL_DROP, NODE_KILL_REJECT, NODE_KILL_LOG };

/* Recent latency of an endpoint's answered forwards, for the backup-read
 * delay (node_backup.c): counts per bucket, bucket i holding samples up to
 * 100 us * 2^(i/3) (the last one everything above, 5.2 s); halved when the
 * total reaches NODE_LAT_WINDOW, so old samples fade. */
#define NODE_LAT_BUCKETS 48
#define NODE_LAT_WINDOW 1024
struct node_lat_est {
    uint32_t count[NODE_LAT_BUCKETS];
    uint32_t total;
};

/* A registered endpoint: limits, kill switch, counters. */
struct node_ep {
    const struct sr_service_def *svc;
    const struct sr_endpoint_def *def;
    enum node_kill kill;
    char kill_file[256];        /* NODE_KILL_LOG: where requests are appended */
    uint64_t kill_version;
    uint32_t inflight;          /* admitted over HTTP, not yet answered */
    uint32_t max_body, rate_per_s, burst, max_inflight; /* from "limits", or lim/ setting */
    uint64_t limits_version;
    uint64_t refused_body, refused_rate, refused_inflight, killed_drop, killed_reject,
        killed_log, kill_log_errors;
    uint64_t local, forwarded, ok, failed, retryable, rejected;
    uint64_t lat_count, lat_sum_us, lat_bucket[16]; /* forwarded request latency */
    struct node_lat_est owner_lat; /* the owner's answers, for backup reads */
};

/* Forwarding counters. */
struct node_fwd_stats {
    uint64_t received;          /* requests from peers */
    uint64_t reforwarded;       /* ... sent on because our ring disagreed */
    uint64_t not_owner;         /* ... answered SR_ENOTOWNER at max hops */
    uint64_t retries;
};

#define NODE_SETTINGS_MAX 256
#define NODE_SETTING_KEY_MAX 128
#define NODE_SETTING_VALUE_MAX 288

/* A cluster setting (node_settings.c). */
struct node_setting {
    char key[NODE_SETTING_KEY_MAX];
    char value[NODE_SETTING_VALUE_MAX];
    uint64_t version;
    char origin[SR_SWIM_ADDR_MAX];
    bool deleted;
};

#define NODE_FAULTS_MAX 64

/* Injected faults (node_faults.c). */
struct node_faults {
    size_t n;
    char addr[NODE_FAULTS_MAX][SR_SWIM_ADDR_MAX];
    bool drop[NODE_FAULTS_MAX];
    uint32_t delay_ms[NODE_FAULTS_MAX];
};

struct node_call;
struct node_state;
struct evhttp;
struct node_buckets;

/* HTTP front counters. */
struct node_http_stats {
    uint64_t requests;
    uint64_t by_class[6];       /* service answers by status class (index = code / 100) */
    uint64_t client_gone;       /* answers dropped: the client hung up first */
    uint64_t admin_denied;
};

struct node_stats {
    uint64_t ring_changes;      /* batches that changed the ring */
    uint64_t ranges_moved;      /* moved ranges reported to services */
    uint64_t full_syncs_rpc;    /* full syncs done over RPC */
};

/* node.wire ringpop counters (node_ringpop.c). */
struct node_rp_stats {
    uint64_t proxied, proxied_ok, proxied_retry, proxied_failed; /* /proxy/req sent */
    uint64_t in_requests, in_checksum_differs, in_refused, in_served, in_failed; /* received */
};

struct sr_ringpop;

struct sr_node {
    struct event_base *base;
    bool own_base;
    struct sr_node_config cfg;
    struct sr_log *log;
    struct sr_swim_udp *udp;      /* membership driver; NULL before start */
    struct sr_ringpop *rp;        /* ... or this one with node.wire ringpop */
    struct node_rp_stats rps;
    struct sr_swim *swim;         /* its core */
    struct sr_ring *ring;
    struct sr_ringfeed *feed;
    struct sr_rpc *rpc;
    struct event *ev_flush;       /* one ring batch per loop turn */
    struct event *ev_term, *ev_int, *ev_exit;
    const struct sr_service_def *svc[SR_NODE_SERVICES_MAX];
    size_t nsvc;
    struct sr_swim_label labels[SR_SWIM_LABELS_MAX]; /* set before start */
    size_t nlabels;
    bool started, leaving;
    bool leave_stay;              /* /admin/leave: keep the process after leaving */
    sr_time_us started_at;        /* monotonic */
    char self[SR_SWIM_ADDR_MAX];
    struct node_stats st;
    struct node_ep ep[NODE_ENDPOINTS_MAX];
    size_t nep;
    struct node_call *calls;      /* in progress here */
    struct node_fwd_stats fst;
    struct evhttp *http, *admin_http;
    char http_addr[SR_CFG_ADDR_MAX], admin_addr[SR_CFG_ADDR_MAX];
    struct node_http_stats hst;
    struct node_buckets *buckets; /* per-client rate limits */
    struct node_setting settings[NODE_SETTINGS_MAX];
    size_t nsettings;
    struct event *ev_settings;
    uint64_t setting_changes, settings_exchanges, settings_bad;
    struct node_faults faults;
    struct node_state *state;     /* handoff, replication, request ids */
    struct node_route *routes;    /* raw HTTP routes and metrics (node_route.c), or NULL */
    struct sr_gossip *gossip;     /* gossip keyring (node_gossip.c), NULL = unencrypted */
    struct sr_tls *tls;           /* RPC TLS material and exceptions (node_tls.c), NULL = off */
    struct event *ev_hup;         /* SIGHUP: sr_node_reload */
};

/* node_faults.c */
bool node_fault_drop(const struct sr_node *node, const char *addr);
uint32_t node_fault_delay_ms(const struct sr_node *node, const char *addr);
bool node_fault_filter(void *ud, const char *peer, bool out);
int node_faults_parse(const char *text, size_t len, struct node_faults *out, char *err,
                      size_t errlen);

/* node_guard.c */
int node_guard_new(struct sr_node *node);
void node_guard_delete(struct sr_node *node);
void node_guard_release(struct sr_node *node, const struct node_ep *ep);
const char *node_kill_name(enum node_kill k);
/* node_metrics.c */
struct sr_buf;
int node_metrics_write(struct sr_node *node, struct sr_buf *out);

/* node.c: membership events -> ring feed. */
void node_on_swim_event(void *ud, const struct sr_swim_event *ev);
/* node_fwd.c / node_http.c: the forward layer and the HTTP front + admin. */
int node_start_fwd(struct sr_node *node, char *msg, size_t msglen);
void node_stop_fwd(struct sr_node *node);
int node_start_http(struct sr_node *node, char *msg, size_t msglen);
void node_stop_http(struct sr_node *node);
const char *node_admin_addr(const struct sr_node *node);

/* node_tls.c: mutual TLS on the RPC port and the admin token rule. */
struct sr_tls;
struct sr_buf;
int node_tls_check_config(const struct sr_node_config *cfg, char *msg, size_t msglen);
int node_tls_start(struct sr_node *node, char *msg, size_t msglen); /* before sr_rpc_listen */
void node_tls_delete(struct sr_node *node);
void node_tls_setting(struct sr_node *node, const struct node_setting *s); /* "tlsx/<fp>" */
int node_tls_metrics(struct sr_node *node, struct sr_buf *out);

/* node_sync.c: membership full sync over RPC. */
void node_full_sync(void *ud, const char *peer);
int node_sync_register(struct sr_node *node);
/* node_services.c: a service's endpoints onto forward and HTTP. */
int node_services_register(struct sr_node *node, const struct sr_service_def *svc);

#endif
