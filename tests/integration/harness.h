/* Multi-process test helpers: start ringd processes, remember their pids,
 * signal only those, and wait for conditions (polled over HTTP
 * /admin/members) against deadlines. A later issue grows this into
 * include/swimring/testkit.h. Not thread-safe; one harness per test. */
#ifndef SR_TEST_HARNESS_H
#define SR_TEST_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <jansson.h>
#include "swimring/time.h"

#define SR_HARNESS_MAX_NODES 64

struct sr_harness_node {
    pid_t pid;                 /* 0 once reaped */
    char gossip[32];           /* "127.0.0.1:PORT" (UDP + TCP) */
    char http[32];             /* "127.0.0.1:PORT" */
    char name[32];
};

struct sr_harness {
    const char *ringd;         /* path of the ringd binary */
    const char *profile;       /* "local" or "lan" */
    const char *const *extra;  /* more flags for every node (NULL-terminated), or NULL */
    char logdir[64];           /* per-harness directory for node logs */
    size_t n;
    struct sr_harness_node nodes[SR_HARNESS_MAX_NODES];
};

/* Prepare a harness (no process yet). */
void sr_harness_init(struct sr_harness *h, const char *ringd, const char *profile);
/* SIGKILL and reap every node still running; remove nothing else. */
void sr_harness_destroy(struct sr_harness *h);

/* A loopback port free for both UDP and TCP right now (kernel-chosen). */
int sr_harness_free_port(void);
/* Start one ringd joining through `seeds` (may be NULL). Returns its index
 * or -1. Its stderr goes to logdir/NAME.log. */
int sr_harness_spawn(struct sr_harness *h, const char *seeds);
/* Send `sig` to node i (only ever a pid this harness started). */
int sr_harness_signal(struct sr_harness *h, size_t i, int sig);
/* Reap node i, waiting at most until `deadline`; exit status or -1. */
int sr_harness_reap(struct sr_harness *h, size_t i, sr_time_us deadline);

/* GET (or POST) `path` on "host:port"; parsed JSON body or NULL. Bounded by
 * a short socket timeout. */
json_t *sr_harness_http(const char *hostport, const char *method, const char *path);

/* A keep-alive HTTP/1.1 client connection (one request at a time). */
struct sr_harness_conn {
    int fd;                    /* -1 until connected */
    char hostport[32];
    const char *headers;       /* extra request header lines ("K: V\r\n..."), or NULL */
    char head[2048];           /* the last answer's status line and headers */
};
void sr_harness_conn_init(struct sr_harness_conn *c, const char *hostport);
void sr_harness_conn_close(struct sr_harness_conn *c);
/* Send one request (connecting if needed) and read the whole answer. Returns
 * the HTTP status, or -1 (then the connection is closed). The body (NUL-
 * terminated, truncated to cap-1) goes to out, its full length to *outlen. */
int sr_harness_conn_request(struct sr_harness_conn *c, const char *method, const char *path,
                            const void *body, size_t len, char *out, size_t cap, size_t *outlen);

/* Poll `cond` every 50 ms until it returns true or `deadline` passes. */
typedef bool (*sr_harness_cond_f)(struct sr_harness *h, void *ud);
bool sr_harness_wait(struct sr_harness *h, sr_time_us deadline, sr_harness_cond_f cond, void *ud);

/* Status ("alive", "faulty", ...) node i reports for address `addr`; writes
 * "" when unknown, "?" when node i did not answer. */
void sr_harness_status_of(struct sr_harness *h, size_t i, const char *addr, char *out, size_t outlen);

#endif
