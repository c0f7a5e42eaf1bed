/* services/presence: endpoints on the owner, the HTTP front on every node,
 * batchGet fan-out, metrics, attach/free.
 *
 * The HTTP front checks the input where it arrives (so bad input is named
 * and counted there), turns it into a small msgpack body and hands it to
 * the node, which routes it to the user's owner like any endpoint request.
 * The owner's handlers only see well-formed bodies from other nodes, but
 * still check them (a peer may run another version). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include "swimring/error.h"
#include "swimring/mp.h"
#include "swimring/node_route.h"
#include "swimring/time.h"
#include "presence_int.h"

#define PREFIX "/v1/presence"

void presence_cfg_default(struct presence_cfg *c)
{
    *c = (struct presence_cfg){.ttl_default_s = 30, .ttl_min_s = 1, .ttl_max_s = 3600,
                               .meta_max = 512, .batch_max = 1000, .watch_max = 1000,
                               .poll_hold_ms = 15000, .keepalive_ms = 15000, .events_kept = 64};
}

static uint64_t tomb_keep_us(const struct presence_cfg *c)
{
    return ((uint64_t)c->ttl_max_s + 60) * SR_US_PER_S;
}

/* ---- errors ------------------------------------------------------------------------ */

static const char *const problem_names[] = {
#define PP_NAME(name) #name,
    PRESENCE_PROBLEMS(PP_NAME)
#undef PP_NAME
};

static void send_json(struct evhttp_request *req, int code, json_t *j)
{
    char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (!s) {
        evhttp_send_error(req, 500, "out of memory");
        return;
    }
    struct evbuffer *b = evbuffer_new();
    if (b) {
        evbuffer_add(b, s, strlen(s));
        evbuffer_add(b, "\n", 1);
        evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                          "application/json");
        evhttp_send_reply(req, code, code == 200 ? "OK" : "Error", b);
        evbuffer_free(b);
    } else {
        evhttp_send_error(req, 500, "out of memory");
    }
    free(s);
}

void presence_bad(struct presence *p, struct evhttp_request *req, int code,
                  enum presence_problem what, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    p->st.bad[what]++;
    send_json(req, code, json_pack("{s:s, s:s, s:s}", "error", code == 413 ? "SR_ETOOBIG"
                                   : code == 404 ? "SR_ENOTFOUND" : "SR_EINVAL",
                                   "problem", problem_names[what], "message", msg));
}

bool presence_id_ok(const char *s, size_t len)
{
    if (len == 0 || len > PS_ID_MAX)
        return false;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return false;
    json_t *j = json_stringn(s, len); /* NULL unless valid UTF-8 */
    json_decref(j);
    return j != NULL;
}

/* ---- expiry ------------------------------------------------------------------------- */

static void on_expire(evutil_socket_t fd, short what, void *arg)
{
    struct presence *p = arg;
    (void)fd;
    (void)what;
    p->st.expired += ps_store_expire(p->store, sr_time_wall_us());
    presence_arm_expiry(p);
}

/* One timer at the heap's earliest deadline (not a scan of all users). */
void presence_arm_expiry(struct presence *p)
{
    uint64_t next = ps_store_next_expiry(p->store), now = sr_time_wall_us();
    if (!next) {
        evtimer_del(p->ev_expire);
        return;
    }
    uint64_t in = next > now ? next - now : 0;
    struct timeval tv = {(time_t)(in / SR_US_PER_S), (suseconds_t)(in % SR_US_PER_S)};
    evtimer_add(p->ev_expire, &tv);
}

static void on_store_change(void *ud, const struct ps_user *u, const struct ps_sess *s,
                            enum ps_change what, uint8_t old)
{
    presence_watch_on_change(ud, u, s, what, old);
}

/* ---- owner-side endpoints ------------------------------------------------------------ */

static void reply_view(struct presence *p, struct sr_node_reply *r, const uint8_t *key,
                       size_t klen, int status)
{
    json_t *j = ps_user_json(ps_store_find(p->store, key, klen), key, klen);
    char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    sr_node_reply(r, s ? status : SR_ENOMEM, s, s ? strlen(s) : 0);
    free(s);
}

/* Apply a record made here and tell the node it is the one that changed. */
static int write_rec(struct presence *p, struct sr_node_reply *r, const uint8_t *key, size_t klen,
                     const struct ps_rec *rec)
{
    int rc = ps_store_apply(p->store, key, klen, rec, sr_time_wall_us());
    if (rc < 0)
        return rc;
    presence_arm_expiry(p);
    struct ps_sess *s = ps_user_session(ps_store_find(p->store, key, klen), rec->sid,
                                        rec->sid_len);
    struct sr_buf b;
    sr_buf_create(&b, 0);
    rc = s ? ps_rec_write(s, &b) : 0;
    if (rc == 0 && s)
        rc = sr_node_reply_record(r, b.data, b.len);
    sr_buf_destroy(&b);
    return rc;
}

/* body: msgpack [session, status, meta, ttl_ms] */
static void on_heartbeat(void *ud, struct sr_node_reply *r, const struct sr_node_request *q)
{
    struct presence *p = ud;
    struct sr_mp_reader m;
    uint32_t n, sl, ml;
    uint64_t st, ttl_ms;
    struct ps_rec rec = {0};
    sr_mp_reader_init(&m, q->body, q->body_len);
    if (sr_mp_read_array(&m, &n) < 0 || n < 4 || sr_mp_read_str(&m, &rec.sid, &sl) < 0 ||
        sr_mp_read_uint(&m, &st) < 0 || sr_mp_read_str(&m, &rec.meta, &ml) < 0 ||
        sr_mp_read_uint(&m, &ttl_ms) < 0 || st >= PS_STATUS_COUNT || ml > p->cfg.meta_max ||
        ttl_ms > (uint64_t)p->cfg.ttl_max_s * 1000 || ttl_ms == 0) {
        sr_node_reply(r, SR_EINVAL, NULL, 0);
        return;
    }
    p->st.heartbeats++;
    struct ps_user *u = ps_store_find(p->store, q->key, q->key_len);
    rec.sid_len = sl;
    rec.meta_len = ml;
    rec.status = (uint8_t)st;
    rec.stamp = sr_state_stamp(ps_user_stamp(u));
    rec.expires = sr_time_wall_us() + ttl_ms * SR_US_PER_MS;
    int rc = write_rec(p, r, q->key, q->key_len, &rec);
    if (rc < 0)
        sr_node_reply(r, rc, NULL, 0);
    else
        reply_view(p, r, q->key, q->key_len, 0);
}

/* body: msgpack [session]. The tombstone gets a fresh stamp, so a delete
 * beats every heartbeat before it. */
static void on_end(void *ud, struct sr_node_reply *r, const struct sr_node_request *q)
{
    struct presence *p = ud;
    struct sr_mp_reader m;
    uint32_t n, sl;
    struct ps_rec rec = {0};
    sr_mp_reader_init(&m, q->body, q->body_len);
    if (sr_mp_read_array(&m, &n) < 0 || n < 1 || sr_mp_read_str(&m, &rec.sid, &sl) < 0) {
        sr_node_reply(r, SR_EINVAL, NULL, 0);
        return;
    }
    rec.sid_len = sl;
    p->st.ends++;
    struct ps_user *u = ps_store_find(p->store, q->key, q->key_len);
    struct ps_sess *s = ps_user_session(u, rec.sid, rec.sid_len);
    if (!s || s->status == PS_TOMB) {
        sr_node_reply(r, SR_ENOTFOUND, NULL, 0);
        return;
    }
    rec.status = PS_TOMB;
    rec.stamp = sr_state_stamp(ps_user_stamp(u));
    rec.expires = rec.stamp + tomb_keep_us(&p->cfg);
    int rc = write_rec(p, r, q->key, q->key_len, &rec);
    if (rc < 0)
        sr_node_reply(r, rc, NULL, 0);
    else
        reply_view(p, r, q->key, q->key_len, 0);
}

static void on_get(void *ud, struct sr_node_reply *r, const struct sr_node_request *q)
{
    struct presence *p = ud;
    p->st.gets++;
    reply_view(p, r, q->key, q->key_len, 0);
}

/* body: msgpack [user...] (the users of one batchGet this node owns);
 * answer: a JSON array of views in the same order. */
static void on_mget(void *ud, struct sr_node_reply *r, const struct sr_node_request *q)
{
    struct presence *p = ud;
    struct sr_mp_reader m;
    uint32_t n, len;
    const char *user;
    sr_mp_reader_init(&m, q->body, q->body_len);
    json_t *arr = json_array();
    int rc = sr_mp_read_array(&m, &n) < 0 || !arr ? SR_EINVAL : 0;
    for (uint32_t i = 0; rc == 0 && i < n; i++) {
        if (sr_mp_read_str(&m, &user, &len) < 0 || !presence_id_ok(user, len))
            rc = SR_EINVAL;
        else
            json_array_append_new(arr, ps_user_json(ps_store_find(p->store, user, len), user, len));
    }
    char *s = rc == 0 ? json_dumps(arr, JSON_COMPACT) : NULL;
    json_decref(arr);
    sr_node_reply(r, rc ? rc : s ? 0 : SR_ENOMEM, s, s ? strlen(s) : 0);
    free(s);
}

static const struct sr_endpoint_def endpoints[] = {
    {"heartbeat", SR_ENDPOINT_IDEMPOTENT | SR_ENDPOINT_WRITE, on_heartbeat, NULL, NULL, NULL},
    {"end", SR_ENDPOINT_IDEMPOTENT | SR_ENDPOINT_WRITE, on_end, NULL, NULL, NULL},
    {"get", SR_ENDPOINT_IDEMPOTENT, on_get, NULL, NULL, NULL},
    /* one call per owner for all its users, keyed by the first: only the
     * owner holds them all, so never a backup read to that key's replica */
    {"mget", SR_ENDPOINT_IDEMPOTENT | SR_ENDPOINT_NO_BACKUP, on_mget, NULL, NULL, NULL},
    /* a held poll: the subscription lives on the owner only */
    {"poll", SR_ENDPOINT_IDEMPOTENT | SR_ENDPOINT_NO_BACKUP, presence_on_poll, NULL, NULL, NULL},
};

/* ---- HTTP: heartbeat, delete, get ---------------------------------------------------- */

/* Parse the PUT body into msgpack [session, status, meta, ttl_ms]; answers
 * the request itself and returns false on bad input. */
static bool heartbeat_body(struct presence *p, struct evhttp_request *req, const char *sid,
                           size_t sidlen, struct sr_buf *out)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t blen = evbuffer_get_length(in);
    json_error_t jerr;
    json_t *j = blen ? json_loadb((const char *)evbuffer_pullup(in, -1), blen, 0, &jerr)
                     : json_object();
    if (!j || !json_is_object(j)) {
        presence_bad(p, req, 400, PP_bad_json, "body: %s", j ? "not a JSON object" : jerr.text);
        json_decref(j);
        return false;
    }
    json_t *jst = json_object_get(j, "status"), *jmeta = json_object_get(j, "meta"),
           *jttl = json_object_get(j, "ttl_s");
    int st = jst ? (json_is_string(jst) ? ps_status_parse(json_string_value(jst)) : -1)
                 : PS_ONLINE;
    char *meta = NULL;
    bool ok = false;
    json_int_t ttl = jttl ? (json_is_integer(jttl) ? json_integer_value(jttl) : -1)
                          : (json_int_t)p->cfg.ttl_default_s;
    if (st < 0)
        presence_bad(p, req, 400, PP_unknown_status,
                     "status: one of offline, away, busy, online, in_game");
    else if (jmeta && !json_is_object(jmeta) && !json_is_null(jmeta))
        presence_bad(p, req, 400, PP_meta_not_object, "meta: must be a JSON object");
    else if (jmeta && json_is_object(jmeta) && json_object_size(jmeta) &&
             !(meta = json_dumps(jmeta, JSON_COMPACT)))
        presence_bad(p, req, 400, PP_bad_json, "meta: cannot be encoded");
    else if (meta && strlen(meta) > p->cfg.meta_max)
        presence_bad(p, req, 413, PP_meta_too_big, "meta: %zu bytes, the limit is %u",
                     strlen(meta), p->cfg.meta_max);
    else if (ttl < (json_int_t)p->cfg.ttl_min_s || ttl > (json_int_t)p->cfg.ttl_max_s)
        presence_bad(p, req, 400, PP_ttl_out_of_range, "ttl_s: an integer from %u to %u",
                     p->cfg.ttl_min_s, p->cfg.ttl_max_s);
    else
        ok = true;
    if (ok) {
        struct sr_mp_writer w;
        sr_mp_writer_init(&w, out);
        sr_mp_write_array(&w, 4);
        sr_mp_write_str(&w, sid, sidlen);
        sr_mp_write_uint(&w, (uint64_t)st);
        sr_mp_write_str(&w, meta ? meta : "", meta ? strlen(meta) : 0);
        sr_mp_write_uint(&w, (uint64_t)ttl * 1000);
        ok = sr_mp_writer_error(&w) == 0;
        if (!ok)
            evhttp_send_error(req, 500, "out of memory");
    }
    free(meta);
    json_decref(j);
    return ok;
}

static void http_session(struct presence *p, struct evhttp_request *req, const char *user,
                         size_t ulen, const char *sid, size_t sidlen)
{
    enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
    struct sr_buf b;
    sr_buf_create(&b, 0);
    if (!presence_id_ok(sid, sidlen)) {
        presence_bad(p, req, 400, PP_bad_session, "session id: 1..%d bytes of UTF-8 text",
                     PS_ID_MAX);
    } else if (cmd == EVHTTP_REQ_PUT) {
        if (heartbeat_body(p, req, sid, sidlen, &b))
            sr_node_http_serve(p->node, req, "presence", "heartbeat", user, ulen, b.data, b.len);
    } else if (cmd == EVHTTP_REQ_DELETE) {
        struct sr_mp_writer w;
        sr_mp_writer_init(&w, &b);
        sr_mp_write_array(&w, 1);
        sr_mp_write_str(&w, sid, sidlen);
        sr_node_http_serve(p->node, req, "presence", "end", user, ulen, b.data, b.len);
    } else {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "PUT, DELETE");
        presence_bad(p, req, 405, PP_method_not_allowed, "use PUT or DELETE here");
    }
    sr_buf_destroy(&b);
}

/* ---- HTTP: batchGet --------------------------------------------------------------- */

struct batch;
struct batch_group {
    struct batch *b;
    const char *owner;       /* ring's string, valid during the grouping only */
    uint32_t *idx;           /* positions in the request */
    size_t n;
};

struct batch {
    struct presence *p;
    struct evhttp_request *req; /* NULL once the client is gone */
    json_t *users;           /* the request's array (strings checked) */
    json_t **views;          /* answers by position */
    struct batch_group *g;
    size_t ng, pending, failed;
};

static void batch_free(struct batch *b)
{
    size_t n = json_array_size(b->users);
    for (size_t i = 0; i < n; i++)
        json_decref(b->views[i]);
    for (size_t i = 0; i < b->ng; i++)
        free(b->g[i].idx);
    free(b->g);
    free(b->views);
    json_decref(b->users);
    free(b);
}

/* The client hung up: evhttp detached the unanswered request and leaves
 * it to us to free. */
static void batch_close(struct evhttp_connection *c, void *arg)
{
    struct batch *b = arg;
    (void)c;
    if (b->req && !evhttp_request_get_connection(b->req))
        evhttp_request_free(b->req);
    b->req = NULL;
}

static void batch_finish(struct batch *b)
{
    sr_node_http_release(b->p->node, "presence", "mget");
    if (b->req) {
        evhttp_connection_set_closecb(evhttp_request_get_connection(b->req), NULL, NULL);
        json_t *out = json_array();
        size_t n = json_array_size(b->users);
        for (size_t i = 0; i < n && out; i++) {
            json_t *v = b->views[i];
            if (!v) { /* its owner did not answer: say so, as offline */
                const char *u = json_string_value(json_array_get(b->users, i));
                v = json_pack("{s:s, s:s, s:[], s:s}", "user", u, "status", "offline",
                              "sessions", "error", "owner did not answer");
            } else {
                json_incref(v);
            }
            json_array_append_new(out, v);
        }
        send_json(b->req, 200, json_pack("{s:o*, s:b}", "users", out, "partial", b->failed > 0));
    }
    batch_free(b);
}

static void batch_done(void *ud, const struct sr_node_result *res)
{
    struct batch_group *g = ud;
    struct batch *b = g->b;
    json_t *arr = res->status == 0 ? json_loadb((const char *)res->body, res->body_len, 0, NULL)
                                   : NULL;
    if (json_is_array(arr) && json_array_size(arr) == g->n) {
        for (size_t i = 0; i < g->n; i++)
            b->views[g->idx[i]] = json_incref(json_array_get(arr, i));
    } else {
        b->failed++;
    }
    json_decref(arr);
    if (--b->pending == 0)
        batch_finish(b);
}

/* Group the users by owner (sr_ring_lookup), one mget per owner. */
static int batch_group(struct batch *b)
{
    const struct sr_ring *ring = sr_node_ring(b->p->node);
    size_t n = json_array_size(b->users);
    if (!(b->g = calloc(n ? n : 1, sizeof(*b->g))) || !(b->views = calloc(n ? n : 1, sizeof(json_t *))))
        return SR_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        const char *u = json_string_value(json_array_get(b->users, i));
        const char *owner = sr_ring_lookup(ring, u, json_string_length(json_array_get(b->users, i)));
        size_t k = 0;
        while (k < b->ng && !(owner && b->g[k].owner && strcmp(b->g[k].owner, owner) == 0))
            k++;
        if (k == b->ng) {
            b->g[k] = (struct batch_group){b, owner, calloc(n, sizeof(uint32_t)), 0};
            b->ng++;
            if (!b->g[k].idx)
                return SR_ENOMEM;
        }
        b->g[k].idx[b->g[k].n++] = (uint32_t)i;
    }
    return 0;
}

static int batch_send(struct batch *b, struct batch_group *g)
{
    struct sr_buf body;
    struct sr_mp_writer w;
    sr_buf_create(&body, 0);
    sr_mp_writer_init(&w, &body);
    sr_mp_write_array(&w, (uint32_t)g->n);
    for (size_t i = 0; i < g->n; i++) {
        json_t *s = json_array_get(b->users, g->idx[i]);
        sr_mp_write_str(&w, json_string_value(s), json_string_length(s));
    }
    json_t *first = json_array_get(b->users, g->idx[0]);
    int rc = sr_mp_writer_error(&w);
    if (rc == 0)
        rc = sr_node_call(b->p->node, "presence", "mget", json_string_value(first),
                          json_string_length(first), body.data, body.len, 0, batch_done, g);
    sr_buf_destroy(&body);
    return rc;
}

/* The users array, checked: strings that are valid ids, at most batch_max. */
static json_t *batch_users(struct presence *p, struct evhttp_request *req)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t blen = evbuffer_get_length(in);
    json_error_t jerr;
    json_t *j = json_loadb((const char *)evbuffer_pullup(in, -1), blen, 0, &jerr);
    json_t *users = json_is_object(j) ? json_object_get(j, "users") : NULL;
    if (!j || !json_is_object(j)) {
        presence_bad(p, req, 400, PP_bad_json, "body: %s",
                     j ? "must be {\"users\": [...]}" : jerr.text);
    } else if (!json_is_array(users)) {
        presence_bad(p, req, 400, PP_bad_users, "users: must be an array of user ids");
        users = NULL;
    } else if (json_array_size(users) > p->cfg.batch_max) {
        presence_bad(p, req, 400, PP_too_many_users, "users: %zu ids, the limit is %u",
                     json_array_size(users), p->cfg.batch_max);
        users = NULL;
    } else {
        for (size_t i = 0; users && i < json_array_size(users); i++) {
            json_t *u = json_array_get(users, i);
            if (!json_is_string(u) || !presence_id_ok(json_string_value(u), json_string_length(u))) {
                presence_bad(p, req, 400, PP_bad_user, "users[%zu]: not a valid user id", i);
                users = NULL;
            }
        }
    }
    json_incref(users);
    json_decref(j);
    return users;
}

static void http_batch_get(struct presence *p, struct evhttp_request *req)
{
    if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "POST");
        presence_bad(p, req, 405, PP_method_not_allowed, "use POST here");
        return;
    }
    size_t blen = evbuffer_get_length(evhttp_request_get_input_buffer(req));
    if (sr_node_http_admit(p->node, req, "presence", "mget", "batchGet", 8, blen) != 0)
        return; /* limits answered */
    json_t *users = batch_users(p, req);
    struct batch *b = users ? calloc(1, sizeof(*b)) : NULL;
    if (!b) {
        if (users)
            evhttp_send_error(req, 500, "out of memory");
        json_decref(users);
        sr_node_http_release(p->node, "presence", "mget");
        return;
    }
    *b = (struct batch){.p = p, .req = req, .users = users};
    p->st.batch_gets++;
    p->st.batch_users += json_array_size(users);
    if (batch_group(b) < 0) {
        evhttp_send_error(req, 500, "out of memory");
        sr_node_http_release(p->node, "presence", "mget");
        batch_free(b);
        return;
    }
    evhttp_connection_set_closecb(evhttp_request_get_connection(req), batch_close, b);
    b->pending = b->ng + 1; /* +1: nothing finishes while we are still sending */
    for (size_t i = 0; i < b->ng; i++)
        if (batch_send(b, &b->g[i]) < 0) {
            b->failed++;
            b->pending--;
        }
    if (--b->pending == 0)
        batch_finish(b);
}

/* ---- HTTP dispatch ---------------------------------------------------------------- */

/* Path segment [s, end) percent-decoded into a malloc'd string. */
static char *segment(const char *s, size_t len, size_t *outlen)
{
    char raw[3 * PS_ID_MAX + 1];
    if (len == 0 || len >= sizeof raw)
        return NULL;
    memcpy(raw, s, len);
    raw[len] = '\0';
    return evhttp_uridecode(raw, 0, outlen);
}

static void on_http(void *ud, struct evhttp_request *req, const char *path)
{
    struct presence *p = ud;
    const char *rest = path + strlen(PREFIX);
    if (strcmp(rest, ":batchGet") == 0) {
        http_batch_get(p, req);
        return;
    }
    if (strcmp(rest, ":watch") == 0) {
        presence_http_watch(p, req);
        return;
    }
    if (rest[0] != '/') {
        presence_bad(p, req, 404, PP_no_such_route, "no such route");
        return;
    }
    const char *u = rest + 1, *slash = strchr(u, '/');
    size_t ulen = 0, slen = 0;
    char *user = segment(u, slash ? (size_t)(slash - u) : strlen(u), &ulen);
    if (!user || !presence_id_ok(user, ulen)) {
        presence_bad(p, req, 400, PP_bad_user, "user id: 1..%d bytes of UTF-8 text", PS_ID_MAX);
    } else if (!slash) {
        if (evhttp_request_get_command(req) == EVHTTP_REQ_GET) {
            sr_node_http_serve(p->node, req, "presence", "get", user, ulen, NULL, 0);
        } else {
            evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET");
            presence_bad(p, req, 405, PP_method_not_allowed, "use GET here");
        }
    } else if (strncmp(slash, "/sessions/", 10) == 0 && slash[10] && !strchr(slash + 10, '/')) {
        char *sid = segment(slash + 10, strlen(slash + 10), &slen);
        if (!sid)
            presence_bad(p, req, 400, PP_bad_session, "session id: 1..%d bytes", PS_ID_MAX);
        else
            http_session(p, req, user, ulen, sid, slen);
        free(sid);
    } else {
        presence_bad(p, req, 404, PP_no_such_route, "no such route");
    }
    free(user);
}

/* ---- metrics, key counts ---------------------------------------------- */

static int metrics(void *ud, struct sr_buf *b)
{
    struct presence *p = ud;
    const struct presence_stats *s = &p->st;
    int rc = sr_buf_printf(b, "# HELP presence_bad_requests_total Bad input refused, by problem.\n"
                              "# TYPE presence_bad_requests_total counter\n");
    for (size_t i = 0; rc == 0 && i < PP_COUNT; i++)
        rc = sr_buf_printf(b, "presence_bad_requests_total{problem=\"%s\"} %llu\n",
                           problem_names[i], (unsigned long long)s->bad[i]);
    if (rc == 0)
        rc = sr_buf_printf(
            b,
            "# HELP presence_users Users with a live session held here (owned or replica).\n"
            "# TYPE presence_users gauge\npresence_users %zu\n"
            "# HELP presence_sessions Live sessions held here.\n"
            "# TYPE presence_sessions gauge\npresence_sessions %zu\n"
            "# HELP presence_ops_total Requests served here as the owner, by op.\n"
            "# TYPE presence_ops_total counter\n"
            "presence_ops_total{op=\"heartbeat\"} %llu\npresence_ops_total{op=\"end\"} %llu\n"
            "presence_ops_total{op=\"get\"} %llu\npresence_ops_total{op=\"poll\"} %llu\n"
            "# HELP presence_expired_total Sessions that expired here.\n"
            "# TYPE presence_expired_total counter\npresence_expired_total %llu\n"
            "# HELP presence_batch_gets_total batchGet requests entering here, and their users.\n"
            "# TYPE presence_batch_gets_total counter\npresence_batch_gets_total %llu\n"
            "# TYPE presence_batch_users_total counter\npresence_batch_users_total %llu\n",
            ps_store_users(p->store), ps_store_sessions(p->store),
            (unsigned long long)s->heartbeats, (unsigned long long)s->ends,
            (unsigned long long)s->gets, (unsigned long long)s->polls,
            (unsigned long long)s->expired, (unsigned long long)s->batch_gets,
            (unsigned long long)s->batch_users);
    return rc ? rc : presence_watch_metrics(p, b);
}

static size_t key_count(void *ud)
{
    return ps_store_users(((struct presence *)ud)->store);
}

static bool has_key(void *ud, const void *key, size_t len)
{
    return ps_user_aggregate(ps_store_find(((struct presence *)ud)->store, key, len)) != PS_TOMB;
}

/* ---- attach / free ------------------------------------------------------------------ */

struct presence *presence_attach(struct sr_node *node, const struct presence_cfg *cfg, int *err)
{
    struct presence *p = calloc(1, sizeof(*p));
    int rc = SR_ENOMEM;
    if (!p)
        goto fail;
    p->node = node;
    if (cfg)
        p->cfg = *cfg;
    else
        presence_cfg_default(&p->cfg);
    p->svc = (struct sr_service_def){.name = "presence", .endpoints = endpoints,
                                     .nendpoints = sizeof endpoints / sizeof endpoints[0],
                                     .ud = p,
                                     .key_count = key_count, .has_key = has_key,
                                     .state = &presence_state_ops};
    if (!(p->store = ps_store_new(tomb_keep_us(&p->cfg), on_store_change, p)) ||
        !(p->ev_expire = evtimer_new(sr_node_base(node), on_expire, p)) ||
        (rc = presence_watch_init(p)) < 0 || (rc = sr_node_add_service(node, &p->svc)) < 0 ||
        (rc = sr_node_add_route(node, PREFIX, on_http, p)) < 0 ||
        (rc = sr_node_add_metrics(node, metrics, p)) < 0)
        goto fail;
    return p;
fail:
    *err = rc;
    presence_free(p);
    return NULL;
}

void presence_free(struct presence *p)
{
    if (!p)
        return;
    presence_watch_free(p);
    if (p->ev_expire)
        event_free(p->ev_expire);
    ps_store_delete(p->store);
    free(p);
}
