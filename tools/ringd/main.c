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
#ifdef __linux__
#include <sys/mman.h>
#include <unistd.h>
#endif
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

#ifdef __linux__
/* Start-up code and tables (config parsing, service set-up, TLS and YAML
 * set-up, the join) are read once and then stay mapped: the kernel maps
 * file pages in 64 KiB runs around each fault ("fault-around"), so most of
 * the binary ends up resident though a settled node runs a small part of
 * it (static ringd: ~1 MiB of .text/.rodata resident, ~0.5 MiB used).
 * Once, RINGD_SETTLE_S after start, the clean read-only mappings of our own
 * executable are released; what the node still runs faults back in from
 * the page cache on first use. Only mappings smaps shows without anonymous
 * (copied-on-write) pages are touched, so relocated data (RELRO) is never
 * dropped: dropping a clean file page loses nothing. */
#define RINGD_SETTLE_S 10

/* One smaps line: -1 if it is not a mapping's header line ("Rss: ..."),
 * else whether the mapping is a read-only one of our executable. */
static int own_readonly_mapping(const char *line, const char *exe, uintptr_t *lo, uintptr_t *hi)
{
    char perms[8], path[512] = "";
    unsigned long a, b;
    if (sscanf(line, "%lx-%lx %7s %*s %*s %*s %511s", &a, &b, perms, path) < 3)
        return -1;
    *lo = a, *hi = b;
    return perms[1] != 'w' && strcmp(path, exe) == 0;
}

static void release_startup_pages(void)
{
    char exe[512], line[640];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    FILE *f = n > 0 ? fopen("/proc/self/smaps", "r") : NULL;
    if (!f)
        return;
    exe[n] = '\0';
    uintptr_t lo = 0, hi = 0;
    int mine = 0, k;
    unsigned long anon;
    while (fgets(line, sizeof line, f)) {
        if ((k = own_readonly_mapping(line, exe, &lo, &hi)) >= 0)
            mine = k;
        else if (mine && sscanf(line, "Anonymous: %lu kB", &anon) == 1) {
            if (anon == 0)
                (void)madvise((void *)lo, hi - lo, MADV_DONTNEED);
            mine = 0;
        }
    }
    fclose(f);
}

static void on_settled(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    release_startup_pages();
}

static struct event *start_settle_timer(struct sr_node *node)
{
    struct timeval after = {RINGD_SETTLE_S, 0};
    struct event *ev = event_new(sr_node_base(node), -1, 0, on_settled, NULL);
    if (ev && event_add(ev, &after) != 0) {
        event_free(ev);
        ev = NULL;
    }
    return ev; /* NULL: the pages stay, the node runs as before */
}
#else
static struct event *start_settle_timer(struct sr_node *node)
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
    struct event *settle = start_settle_timer(node);
    rc = sr_node_run(node);
    if (trim)
        event_free(trim);
    if (settle)
        event_free(settle);
    ringd_services_free();
    sr_node_delete(node);
    return rc < 0 ? 1 : 0;
}
