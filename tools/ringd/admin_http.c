/* HTTP admin handlers for ringd; JSON built with jansson. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/buffer.h>
#include <jansson.h>
#include "admin_http.h"

static void reply_json(struct evhttp_request *req, int code, json_t *j)
{
    char *s = json_dumps(j, JSON_COMPACT);
    struct evbuffer *b = evbuffer_new();
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                      "application/json");
    if (s && b) {
        evbuffer_add(b, s, strlen(s));
        evbuffer_add(b, "\n", 1);
        evhttp_send_reply(req, code, code == 200 ? "OK" : "Error", b);
    } else {
        evhttp_send_error(req, 500, "out of memory");
    }
    if (b)
        evbuffer_free(b);
    free(s);
    json_decref(j);
}

static void add_member(void *ud, const struct sr_swim_member_info *m)
{
    json_t *labels = json_object();
    for (size_t i = 0; i < m->nlabels; i++)
        json_object_set_new(labels, m->labels[i].key, json_string(m->labels[i].value));
    json_array_append_new(ud, json_pack("{s:s, s:s, s:s, s:I, s:o}", "address", m->addr,
                                        "name", m->name, "status",
                                        sr_swim_status_name(m->status), "incarnation",
                                        (json_int_t)m->incarnation, "labels", labels));
}

static void on_members(struct evhttp_request *req, void *arg)
{
    struct sr_swim *s = sr_swim_udp_core(arg);
    char sum[24];
    if (evhttp_request_get_command(req) != EVHTTP_REQ_GET) {
        evhttp_send_error(req, 405, "GET only");
        return;
    }
    snprintf(sum, sizeof(sum), "%016" PRIx64, sr_swim_checksum(s));
    json_t *members = json_array();
    sr_swim_foreach(s, add_member, members);
    reply_json(req, 200, json_pack("{s:s, s:s, s:o}", "self", sr_swim_self(s), "checksum", sum,
                                   "members", members));
}

#define STAT(obj, st, f) json_object_set_new(obj, #f, json_integer((json_int_t)(st)->f))

static void on_stats(struct evhttp_request *req, void *arg)
{
    const struct sr_swim_stats *c = sr_swim_stats(sr_swim_udp_core(arg));
    const struct sr_swim_udp_stats *d = sr_swim_udp_stats(arg);
    json_t *j = json_object();
    STAT(j, c, packets_in); STAT(j, c, packets_out); STAT(j, c, bytes_in); STAT(j, c, bytes_out);
    STAT(j, c, pings_sent); STAT(j, c, ping_reqs_sent); STAT(j, c, acks_sent);
    STAT(j, c, nacks_sent); STAT(j, c, drop_truncated); STAT(j, c, drop_version);
    STAT(j, c, drop_checksum); STAT(j, c, drop_malformed); STAT(j, c, drop_oversize);
    STAT(j, c, suspicions); STAT(j, c, faulty_declared); STAT(j, c, refutations);
    STAT(j, c, full_syncs_requested); STAT(j, c, full_syncs_merged);
    STAT(j, c, updates_sent); STAT(j, c, updates_received); STAT(j, c, awareness);
    STAT(j, d, send_eagain); STAT(j, d, send_errors); STAT(j, d, resolve_failed);
    STAT(j, d, recv_errors); STAT(j, d, recv_oversize); STAT(j, d, syncs_out);
    STAT(j, d, syncs_in); STAT(j, d, sync_failed);
    reply_json(req, 200, j);
}

static void on_leave(struct evhttp_request *req, void *arg)
{
    if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
        evhttp_send_error(req, 405, "POST only");
        return;
    }
    int rc = sr_swim_leave(sr_swim_udp_core(arg));
    reply_json(req, rc == 0 ? 200 : 500, json_pack("{s:b}", "ok", rc == 0));
}

int ringd_admin_register(struct evhttp *http, struct sr_swim_udp *u)
{
    if (evhttp_set_cb(http, "/admin/members", on_members, u) != 0 ||
        evhttp_set_cb(http, "/admin/stats", on_stats, u) != 0 ||
        evhttp_set_cb(http, "/admin/leave", on_leave, u) != 0)
        return -1;
    return 0;
}
