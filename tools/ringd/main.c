/* ringd: the generic swimring daemon. One node (membership, ring, RPC,
 * HTTP front, admin, /metrics) plus the services named by --services or
 * the config.
 *
 *   ringd --listen HOST:PORT [--seeds A,B] [--http HOST:PORT] [--config FILE]
 *         [--profile lan|local] [--label K=V ...] [--services a,b] [--set K=V ...]
 *
 * Exit codes: 0 after a graceful leave (SIGTERM/SIGINT), 1 when the node
 * cannot start (address in use, ...), 2 for bad flags or configuration. */
#include <stdio.h>
#include <string.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <event2/event.h>
#include "swimring/error.h"
#include "swimring/node.h"
#include "services.h"

static int add_services(struct sr_node *node, const char *list, char *err, size_t errlen)
{
    char copy[256], *save = NULL;
    if (!list)
        return 0;
    snprintf(copy, sizeof copy, "%s", list);
    for (char *name = strtok_r(copy, ",", &save); name; name = strtok_r(NULL, ",", &save)) {
        const struct ringd_service *s = ringd_service_find(name);
        if (!s) {
            snprintf(err, errlen, "unknown service '%s' (available: %s)", name,
                     ringd_services_list());
            return SR_EINVAL;
        }
        int rc = s->attach(node);
        if (rc < 0) {
            snprintf(err, errlen, "service %s: %s", name, sr_strerror(rc));
            return rc;
        }
    }
    return 0;
}

/* A node's heap is small and its big buffers short-lived (ring rebuilds,
 * JSON answers, full syncs): with glibc's defaults (mmap threshold that
 * rises to 32 MiB, 128 KiB trim and top pad) their pages stay resident once
 * freed. Blocks from 32 KiB are mapped and unmapped on free, and a free top
 * of the heap beyond 64 KiB goes back to the kernel (100 members: anon RSS
 * 600 -> 530 KiB). */
static void tune_malloc(void)
{
#ifdef __GLIBC__
    (void)mallopt(M_MMAP_THRESHOLD, 32 * 1024);
    (void)mallopt(M_TRIM_THRESHOLD, 64 * 1024);
    (void)mallopt(M_TOP_PAD, 16 * 1024);
#endif
}

#ifdef __GLIBC__
/* glibc gives back only the free top of the heap (M_TRIM_THRESHOLD); the
 * holes that short-lived buffers leave below live blocks (JSON answers to
 * /admin polls, full syncs, gossip bursts) stay resident until a
 * malloc_trim(), which also returns the free pages inside the heap. A node
 * has a few hundred KiB of heap, so one walk of its free lists every few
 * seconds costs microseconds (100 members: anon RSS ~590 -> ~480 KiB). */
#define RINGD_TRIM_INTERVAL_S 5

static void on_trim(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    (void)malloc_trim(0);
}

static struct event *start_trim_timer(struct sr_node *node)
{
    struct timeval every = {RINGD_TRIM_INTERVAL_S, 0};
    struct event *ev = event_new(sr_node_base(node), -1, EV_PERSIST, on_trim, NULL);
    if (ev && event_add(ev, &every) != 0) {
        event_free(ev);
        ev = NULL;
    }
    return ev; /* NULL: no trimming, the node runs as before */
}
#else
static struct event *start_trim_timer(struct sr_node *node)
{
    (void)node;
    return NULL;
}
#endif

int main(int argc, char **argv)
{
    tune_malloc();
    struct sr_node_config cfg;
    struct sr_node_args args;
    char err[512] = "";
    int rc;
    sr_node_config_default(&cfg);
    rc = sr_node_args_parse(&cfg, &args, argc, argv, err, sizeof err);
    if (rc == 1)
        return 0;
    if (rc < 0) {
        fprintf(stderr, "ringd: %s\n(ringd --help lists the flags)\n", err);
        return 2;
    }
    struct sr_node *node = sr_node_new(NULL, &cfg, &rc, err, sizeof err);
    if (!node) {
        fprintf(stderr, "ringd: %s\n", err);
        return 2;
    }
    for (size_t i = 0; i < args.nlabels && rc >= 0; i++)
        rc = sr_node_set_label(node, args.labels[i].key, args.labels[i].value);
    if (rc < 0) {
        fprintf(stderr, "ringd: label: %s\n", sr_strerror(rc));
        sr_node_delete(node);
        return 2;
    }
    const char *services = args.services ? args.services
                           : cfg.node.services[0] ? cfg.node.services : NULL;
    if (add_services(node, services, err, sizeof err) < 0) {
        fprintf(stderr, "ringd: %s\n", err);
        sr_node_delete(node);
        return 2;
    }
    if (sr_node_start(node, err, sizeof err) < 0) {
        fprintf(stderr, "ringd: %s\n", err);
        sr_node_delete(node);
        return 1;
    }
    struct event *trim = start_trim_timer(node);
    rc = sr_node_run(node);
    if (trim)
        event_free(trim);
    ringd_services_free();
    sr_node_delete(node);
    return rc < 0 ? 1 : 0;
}
