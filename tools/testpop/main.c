/* testpop: one ringpop-wire node for ringpop-common's it-tests.js.
 *
 *   testpop --listen=HOST:PORT --hosts=FILE [--suspect-period=MS]
 *           [--faulty-period=MS] [--tombstone-period=MS] [--identity=ID]
 *           [--log=LEVEL]
 *
 * TESTPOP_LOG=LEVEL in the environment sets the log level too (the suite
 * cannot pass --log). FILE is a JSON array of "host:port" strings. SIGTERM
 * self-evicts (declares the node faulty to 40 % of the members) and exits 0;
 * SIGINT exits 0 at once. Logs go to stderr. */
#include <errno.h>
#include <time.h>
#include <event2/event.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "swimring/error.h"
#include "swimring/ringpop.h"

struct opts {
    const char *listen, *hosts, *identity, *log;
    long suspect, faulty, tombstone;
};

static const char *arg_val(const char *a, const char *name)
{
    size_t n = strlen(name);
    return strncmp(a, name, n) == 0 && a[n] == '=' ? a + n + 1 : NULL;
}

static int parse_ms(const char *v, long *out)
{
    char *end;
    long x = strtol(v, &end, 10);
    if (*v == '\0' || *end != '\0' || x < 0 || x > 86400000L)
        return -1;
    *out = x;
    return 0;
}

static int parse_args(int argc, char **argv, struct opts *o)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        int bad = 0;
        if ((v = arg_val(a, "--listen")))
            o->listen = v;
        else if ((v = arg_val(a, "--hosts")))
            o->hosts = v;
        else if ((v = arg_val(a, "--identity")))
            o->identity = v;
        else if ((v = arg_val(a, "--log")))
            o->log = v;
        else if ((v = arg_val(a, "--suspect-period")))
            bad = parse_ms(v, &o->suspect);
        else if ((v = arg_val(a, "--faulty-period")))
            bad = parse_ms(v, &o->faulty);
        else if ((v = arg_val(a, "--tombstone-period")))
            bad = parse_ms(v, &o->tombstone);
        else
            bad = 1;
        if (bad) {
            fprintf(stderr, "testpop: bad argument '%s'\n", a);
            return -1;
        }
    }
    if (o->listen == NULL || o->hosts == NULL) {
        fprintf(stderr, "usage: testpop --listen=HOST:PORT --hosts=FILE [--suspect-period=MS]"
                        " [--faulty-period=MS] [--tombstone-period=MS] [--identity=ID]\n");
        return -1;
    }
    return 0;
}

struct run {
    struct event_base *base;
    struct sr_ringpop *rp;
};

static void on_evicted(void *ud) { event_base_loopbreak(ud); }

static void on_term(evutil_socket_t sig, short what, void *ud)
{
    (void)sig, (void)what;
    struct run *r = ud;
    /* graceful: self-evict first (ringpop-go does the same on SIGTERM) */
    if (sr_ringpop_self_evict(r->rp, on_evicted, r->base) != 0)
        event_base_loopbreak(r->base);
}

static void on_int(evutil_socket_t sig, short what, void *ud)
{
    (void)sig, (void)what;
    event_base_loopbreak(ud);
}

int main(int argc, char **argv)
{
    struct opts o = {.suspect = 5000, .faulty = 86400000L, .tombstone = 60000, .log = "warn"};
    if (getenv("TESTPOP_LOG") != NULL) /* the suite passes no --log flag */
        o.log = getenv("TESTPOP_LOG");
    if (parse_args(argc, argv, &o) != 0)
        return 2;
    json_error_t jerr;
    json_t *hosts = json_load_file(o.hosts, 0, &jerr);
    if (!json_is_array(hosts)) {
        fprintf(stderr, "testpop: %s: not a JSON array of \"host:port\" (%s)\n", o.hosts, jerr.text);
        json_decref(hosts);
        return 2;
    }
    size_t n = json_array_size(hosts), k = 0;
    const char **list = calloc(n ? n : 1, sizeof(*list));
    for (size_t i = 0; list && i < n; i++)
        if (json_is_string(json_array_get(hosts, i)))
            list[k++] = json_string_value(json_array_get(hosts, i));
    srandom((unsigned)getpid() ^ (unsigned)time(NULL));
    int lvl = sr_log_level_parse(o.log), err = 0;
    struct sr_log *log = sr_log_new(lvl < 0 ? SR_LOG_WARN : (enum sr_log_level)lvl, NULL,
                                    o.listen, &err);
    struct event_base *base = event_base_new();
    struct sr_ringpop_cfg cfg;
    sr_ringpop_cfg_default(&cfg);
    cfg.listen = o.listen;
    cfg.identity = o.identity;
    cfg.hosts = list;
    cfg.hosts_file = o.hosts;
    cfg.nhosts = k;
    cfg.suspect_ms = (uint32_t)o.suspect;
    cfg.faulty_ms = (uint32_t)o.faulty;
    cfg.tombstone_ms = (uint32_t)o.tombstone;
    struct sr_ringpop *rp = base ? sr_ringpop_new(base, &cfg, log, &err) : NULL;
    /* the suite picks a random port; one still held by an earlier run's
     * connections frees within seconds: retry a bounded number of times */
    for (int tries = 0; base && rp == NULL && err == SR_ESYS && errno == EADDRINUSE && tries < 50; tries++) {
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
        rp = sr_ringpop_new(base, &cfg, log, &err);
    }
    int rc = 0;
    if (rp == NULL) {
        fprintf(stderr, "testpop: cannot start on %s: %s (%s)\n", o.listen, sr_strerror(err),
                strerror(errno));
        rc = 1;
    } else {
        signal(SIGPIPE, SIG_IGN);
        struct run r = {base, rp};
        struct event *term = evsignal_new(base, SIGTERM, on_term, &r);
        struct event *intr = evsignal_new(base, SIGINT, on_int, base);
        event_add(term, NULL);
        event_add(intr, NULL);
        event_base_dispatch(base);
        event_free(term);
        event_free(intr);
        sr_ringpop_delete(rp);
    }
    if (base)
        event_base_free(base);
    sr_log_delete(log);
    free(list);
    json_decref(hosts);
    return rc;
}
