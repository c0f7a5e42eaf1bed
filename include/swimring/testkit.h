/* testkit: local clusters of a swimring daemon for tests and tools.
 *
 * Start N processes of any daemon that takes the standard flags (ringd,
 * kvd, your own: see sr_node_args_parse) on 127.0.0.1, wait until their
 * rings agree, kill -9 / SIGSTOP / restart them, partition and heal them
 * (through /admin/faults, no root needed), run a bounded chaos loop, and
 * talk HTTP to them. With `netns` set (root, iproute2, nftables: check with
 * sr_tk_netns_usable) every node runs in a network namespace of its own with
 * its own address, and partitions and packet loss are made by the kernel.
 * Only processes the cluster started are ever signalled,
 * always by pid. Used by our integration tests and by `ringctl cluster`;
 * link with -lswimring_testkit before the flags of `pkg-config --libs swimring`.
 *
 *   struct sr_tk_cluster c;
 *   sr_tk_init(&c, "/path/to/mydaemon", "local");
 *   for (i = 0; i < 5; i++) sr_tk_spawn(&c, i ? c.nodes[0].gossip : NULL);
 *   sr_tk_wait_converged(&c, sr_time_mono_us() + 30 * SR_US_PER_S);
 *   sr_tk_signal(&c, 3, SIGKILL); ... sr_tk_restart(&c, 3);
 *   sr_tk_destroy(&c);                    // SIGKILL + reap every node
 *
 * Waits poll a condition against a deadline (never sleep-and-hope). Not
 * thread-safe; one cluster object per thread. */
#ifndef SWIMRING_TESTKIT_H
#define SWIMRING_TESTKIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <jansson.h>
#include "swimring/time.h"

#define SR_TK_MAX_NODES 64
/* Every HTTP request of the testkit (and of ringctl, which uses it) carries
 * "Authorization: Bearer $SWIMRING_ADMIN_TOKEN" when that is set and the
 * caller gave no headers of its own. In netns mode, whose admin listeners
 * are beyond loopback and so need a token, a random one is made and set in
 * this process's environment if there is none, and given to every node. */
#define SR_TK_ADMIN_TOKEN_ENV "SWIMRING_ADMIN_TOKEN"

struct sr_tk_node {
    pid_t pid;                 /* 0 when not running (never started, reaped) */
    bool stopped;              /* SIGSTOP sent, no SIGCONT since */
    char gossip[32];           /* "127.0.0.1:PORT": UDP gossip + TCP RPC, the identity */
    char http[32];             /* "127.0.0.1:PORT": HTTP front (and admin, on loopback) */
    char admin[32];            /* admin address: = http, except in netns mode
                                  (admin.listen: admin is for loopback clients only) */
    char name[32];
    char seeds[64];            /* what it joined through ("" for none) */
    char netns[40];            /* netns mode: the node's namespace, else "" */
};

/* Netns mode bookkeeping (filled by the first spawn; read-only for users).
 * Namespaces are "<prefix>-sw" (the switch: a bridge) and "<prefix>-nI";
 * the host's link to the switch is the interface "<prefix>h". */
struct sr_tk_net {
    char prefix[24];           /* "sr<pid>-<subnet>": unique per process and cluster */
    int subnet;                /* nodes at 198.18.0.0/15 + subnet * 256 + I + 1 */
    bool up;                   /* switch namespace and host link exist */
    uint64_t made;             /* bit I: namespace of node I exists */
    int janitor_fd;            /* pipe to the process that deletes what is left
                                  if this one dies (-1: none, e.g. detach) */
    pid_t janitor;
};

struct sr_tk_cluster {
    const char *ringd;         /* the daemon binary */
    const char *profile;       /* "local" or "lan" */
    const char *const *extra;  /* more flags for every node (NULL-terminated), or NULL */
    bool detach;               /* nodes outlive this process (ringctl cluster up);
                                  default: they get SIGKILL when it dies */
    bool no_faults;            /* do not pass --set admin.faults=true */
    bool netns;                /* each node in its own network namespace (set
                                  before the first spawn; see sr_tk_netns_usable) */
    char logdir[128];          /* node logs: logdir/NAME.log */
    size_t n;
    struct sr_tk_node nodes[SR_TK_MAX_NODES];
    struct sr_tk_net net;
};

/* Prepare a cluster (no process yet); logs go to /tmp/sr-tk-PID. */
void sr_tk_init(struct sr_tk_cluster *h, const char *daemon, const char *profile);
/* SIGKILL and reap every node still running; in netns mode then delete
 * the namespaces and the host link this cluster made. Removes nothing else. */
void sr_tk_destroy(struct sr_tk_cluster *h);

/* A loopback port free for both UDP and TCP right now (kernel-chosen). */
int sr_tk_free_port(void);
/* Start one node joining through `seeds` (may be NULL). Every node gets
 * --set admin.faults=true (unless no_faults) so partitions work. Returns its index or -1. */
int sr_tk_spawn(struct sr_tk_cluster *h, const char *seeds);
/* The same on given ports (0 = pick a free one; in netns mode every node
 * has its own address, so ports default to 7000 gossip, 8000 HTTP, and
 * admin is always HTTP + 1). */
int sr_tk_spawn_at(struct sr_tk_cluster *h, const char *seeds, int gossip_port, int http_port);
/* Send `sig` to node i (only ever a pid this cluster started); tracks
 * SIGSTOP/SIGCONT. */
int sr_tk_signal(struct sr_tk_cluster *h, size_t i, int sig);
/* Reap node i, waiting at most until `deadline`; exit status or -1. */
int sr_tk_reap(struct sr_tk_cluster *h, size_t i, sr_time_us deadline);
/* kill -9 node i if running, then start it again on the same addresses
 * (same identity), joining through a running node. 0 or -1. */
int sr_tk_restart(struct sr_tk_cluster *h, size_t i);
/* Spawn n nodes (node 0 first, the others joining through it) and wait
 * until their rings agree. 0, or -1 if a spawn failed or `deadline` passed. */
int sr_tk_start(struct sr_tk_cluster *h, size_t n, sr_time_us deadline);
/* Running (started, not reaped, not stopped) nodes. */
size_t sr_tk_running(const struct sr_tk_cluster *h);

/* Every running node has exactly the running nodes on its ring, all with
 * one ring checksum (from /admin/status). */
bool sr_tk_converged(struct sr_tk_cluster *h);
bool sr_tk_wait_converged(struct sr_tk_cluster *h, sr_time_us deadline);
/* Partition: spec "0,1|2,3,4" (node indices; nodes not named keep talking
 * to everyone). With /admin/faults, or in netns mode with nftables drop
 * rules in each node's namespace (they outlive a restart of the node).
 * 0, or -1 with nothing applied past the first failure. */
int sr_tk_partition(struct sr_tk_cluster *h, const char *spec);
/* Clear every running node's faults (netns mode: every drop and loss rule). */
int sr_tk_heal(struct sr_tk_cluster *h);

/* ---- network-namespace mode --------------------------------------------------- */

/* Whether netns mode can run here: root or CAP_NET_ADMIN + CAP_SYS_ADMIN,
 * `ip` and `nft` found, and a trial namespace can be made (and is deleted
 * again). If not, false with the reason in `why` (for a test's skip). */
bool sr_tk_netns_usable(char *why, size_t whylen);
/* Whether this kernel has the netem qdisc (`tc netem`: delay, loss,
 * reordering), tried on a trial namespace's loopback; false with the reason
 * otherwise. Loss here is made with nftables either way (sr_tk_loss). */
bool sr_tk_netem_usable(char *why, size_t whylen);
/* Netns mode: drop `percent` (0..100) of the packets every node receives
 * from the other nodes (nftables numgen random; admin traffic from the
 * host is never dropped); 0 removes it. 0 or -1. */
int sr_tk_loss(struct sr_tk_cluster *h, int percent);
/* Netns mode: packets the partition and loss rules of node i's namespace
 * dropped so far (nftables counters), or -1. The loss rule's own figures
 * since the last sr_tk_loss or heal (both reset them) go to *loss_seen
 * (packets from other nodes it saw) and *loss_dropped, where not NULL. */
long sr_tk_dropped(struct sr_tk_cluster *h, size_t i, long *loss_seen, long *loss_dropped);

/* Chaos: every `every_ms`, kill -9 one random running node (never the
 * last one) and restart it `every_ms / 2` later; at most `kills` kills,
 * for at most `duration_ms`. `tick` (may be NULL) runs about every 20 ms
 * meanwhile, so a test can keep writing. Returns the number of kills. */
int sr_tk_chaos(struct sr_tk_cluster *h, int kills, uint32_t every_ms, uint32_t duration_ms,
                uint64_t seed, void (*tick)(void *ud), void *ud);

/* ---- tools ----------------------------------------------------------------- */

/* Run `prog` with `args` (NULL-terminated, at most 30; argv[0] is prog),
 * `in` on its stdin (NULL: empty), its stdout into `out` (NUL-terminated,
 * cut at cap - 1 bytes); waits for it to exit. Returns its exit code, -1 if
 * it could not run or died by a signal. Blocks until the program closes its
 * stdout: for tools (ringctl), not daemons. */
int sr_tk_run(const char *prog, const char *const *args, const char *in, char *out, size_t cap);

/* ---- HTTP ------------------------------------------------------------------ */

/* A blocking TCP connection to "host:port" with 2 s send/receive timeouts. */
int sr_tk_connect(const char *hostport);
/* One HTTP/1.0 request without a body; the parsed JSON body of a 2xx
 * answer, else NULL. */
json_t *sr_tk_http(const char *hostport, const char *method, const char *path);
/* Same with a body; returns the HTTP status or -1 (body JSON to *out if
 * out is not NULL and it parses). */
int sr_tk_http_body(const char *hostport, const char *method, const char *path,
                    const char *body, json_t **out);

/* A keep-alive HTTP/1.1 client connection (one request at a time). */
struct sr_tk_conn {
    int fd;                    /* -1 until connected */
    char hostport[32];
    const char *headers;       /* extra request header lines ("K: V\r\n..."), or NULL */
    char head[2048];           /* the last answer's status line and headers */
};
void sr_tk_conn_init(struct sr_tk_conn *c, const char *hostport);
void sr_tk_conn_close(struct sr_tk_conn *c);
/* Send one request (connecting if needed) and read the whole answer. Returns
 * the HTTP status, or -1 (then the connection is closed). The body (NUL-
 * terminated, truncated to cap-1) goes to out, its full length to *outlen. */
int sr_tk_conn_request(struct sr_tk_conn *c, const char *method, const char *path,
                       const void *body, size_t len, char *out, size_t cap, size_t *outlen);

/* Poll `cond` every 50 ms until it returns true or `deadline` passes. */
typedef bool (*sr_tk_cond_f)(struct sr_tk_cluster *h, void *ud);
bool sr_tk_wait(struct sr_tk_cluster *h, sr_time_us deadline, sr_tk_cond_f cond, void *ud);

/* Status ("alive", "faulty", ...) node i reports for address `addr`; writes
 * "" when unknown, "?" when node i did not answer. */
void sr_tk_status_of(struct sr_tk_cluster *h, size_t i, const char *addr, char *out, size_t outlen);

#endif
