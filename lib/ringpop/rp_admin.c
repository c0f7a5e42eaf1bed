/* ringpop admin endpoints, bodies shaped to ringpop-common's schemas
 * (admin-stats-response.json, admin-lookup.json: no extra fields). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "ringpop/rp_impl.h"
#include "swimring/time.h"

static long rss_bytes(void)
{
    long pages = 0, rss = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f != NULL) {
        if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
            rss = 0;
        fclose(f);
    }
    return rss * sysconf(_SC_PAGESIZE);
}

static void stat_member(void *ud, const struct sr_swim_member_info *m)
{
    json_t *a = ud;
    json_t *o = json_pack("{s:s, s:s, s:I}", "address", m->addr, "status",
                          sr_rp_status_name(m->status), "incarnationNumber",
                          (json_int_t)m->incarnation);
    if (o == NULL)
        return;
    if (m->nlabels > 0) {
        json_t *l = json_object();
        for (size_t i = 0; i < m->nlabels; i++)
            json_object_set_new(l, m->labels[i].key, json_string(m->labels[i].value));
        json_object_set_new(o, "labels", l);
    }
    json_array_append_new(a, o);
}

static json_t *stats_body(struct sr_ringpop *rp)
{
    json_t *members = json_array(), *servers = json_array();
    sr_swim_foreach(rp->swim, stat_member, members);
    for (size_t i = 0; i < sr_ring_member_count(rp->ring); i++)
        json_array_append_new(servers, json_string(rp_ring_addr(rp, sr_ring_member_at(rp->ring, i))));
    long rss = rss_bytes();
    sr_time_us now = sr_time_mono_us();
    return json_pack(
        "{s:n, s:{s:I, s:o}, s:{s:{s:I, s:I, s:I}, s:I}, s:{s:{}, s:i, s:i, s:i, s:i},"
        " s:{s:I, s:o}, s:s, s:I, s:I, s:s}",
        "hooks",
        "membership", "checksum", (json_int_t)sr_rp_checksum(rp->swim), "members", members,
        "process", "memory", "rss", (json_int_t)rss, "heapTotal", (json_int_t)rss, "heapUsed",
        (json_int_t)rss, "pid", (json_int_t)getpid(),
        "protocol", "timing", "protocolRate", 0, "clientRate", 0, "serverRate", 0, "totalRate", 0,
        "ring", "checksum", (json_int_t)sr_ring_checksum(rp->ring), "servers", servers,
        "version", "swimring-0.1.0",
        "timestamp", (json_int_t)(sr_time_wall_us() / 1000),
        "uptime", (json_int_t)((now - rp->started_at) / 1000),
        "tchannelVersion", "2.0.0");
}

bool rp_admin(struct rp_conn *c, const struct sr_tch_call *call, const char *ep, const json_t *b)
{
    struct sr_ringpop *rp = c->rp;
    if (strcmp(ep, "/admin/stats") == 0) {
        rp_respond_json(c, call->id, stats_body(rp));
    } else if (strcmp(ep, "/admin/lookup") == 0) {
        const char *key = json_string_value(json_object_get(b, "key"));
        if (key == NULL)
            return false;
        const char *dest = sr_ring_lookup(rp->ring, key, strlen(key));
        dest = rp_ring_addr(rp, dest);
        rp_respond_json(c, call->id, json_pack("{s:s}", "dest", dest ? dest : rp->self));
    } else if (strcmp(ep, "/admin/gossip/stop") == 0) {
        rp->gossip_stopped = true;
        rp_respond_json(c, call->id, json_pack("{s:s}", "status", "ok"));
    } else if (strcmp(ep, "/admin/gossip/start") == 0) {
        rp->gossip_stopped = false;
        rp_respond_json(c, call->id, json_pack("{s:s}", "status", "ok"));
        rp_kick(rp);
    } else if (strcmp(ep, "/admin/gossip/tick") == 0) {
        rp_respond_json(c, call->id, json_pack("{s:s}", "status", "ok"));
        sr_swim_probe_now(rp->swim); /* one protocol period, even while stopped */
    } else if (strcmp(ep, "/admin/member/leave") == 0) {
        sr_swim_leave(rp->swim);
        rp_respond_json(c, call->id, json_pack("{s:s}", "status", "ok"));
    } else if (strcmp(ep, "/admin/member/join") == 0) {
        sr_swim_rejoin(rp->swim);
        rp_respond_json(c, call->id, json_pack("{s:s}", "status", "rejoined"));
    } else if (strcmp(ep, "/admin/reap") == 0) {
        size_t n = sr_swim_reap_faulty(rp->swim);
        rp_respond_json(c, call->id, json_pack("{s:s, s:I}", "status", "ok", "reaped", (json_int_t)n));
    } else if (strcmp(ep, "/admin/healpartition/disco") == 0) {
        rp_heal_start(rp, c, call->id);
    } else {
        return false;
    }
    return true;
}
