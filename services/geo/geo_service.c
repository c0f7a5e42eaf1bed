/* services/geo on the node: handlers, records, fan-out (see geo.h). */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/event.h>
#include <event2/http.h>
#include <sys/queue.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include "swimring/error.h"
#include "swimring/mp.h"
#include "swimring/node.h"
#include "swimring/s2.h"
#include "swimring/time.h"
#include "geo.h"
#include "geo_index.h"
#include "geo_json.h"
#include "swimring/node_route.h"
#include <event2/buffer.h>

#define GEO_PREFIX "/v1/geo/"

#define EXPIRE_TICK_MS 100   /* how often due entries are popped off the heaps */

struct geo_stats {
    uint64_t puts, puts_stale, moves, gets, deletes, nearby, searches, cells_searched,
        bad_input, expired, call_errors;
};

struct geo_service {
    struct sr_node *node;
    struct geo_config cfg;
    struct geo_index *cells;   /* objects of the cells this node holds */
    struct geo_index *dir;     /* id -> cell, ts, expiry for ids this node owns */
    struct event *tick;
    struct geo_stats st;
    uint64_t *scratch_cells;   /* nearby: the covering, then cells by owner */
    struct nb_group *scratch_groups;
    struct sr_buf scratch;     /* a body for a call that copies it (puts: no malloc each) */
    struct sr_service_def def;
};

void geo_config_default(struct geo_config *cfg)
{
    *cfg = (struct geo_config){.max_radius_m = 50000, .max_limit = 1000, .default_limit = 10,
                               .default_ttl_s = 30, .max_ttl_s = 86400, .tomb_keep_s = 60,
                               .max_cells = 8192};
}

static uint64_t now_us(void)
{
    return (uint64_t)sr_time_wall_us();
}

/* ---- replies ------------------------------------------------------------------ */

static void reply_json(struct sr_node_reply *r, int status, json_t *j)
{
    char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
    if (!s && status == 0)
        status = SR_ENOMEM;
    sr_node_reply(r, status, s, s ? strlen(s) : 0);
    free(s);
    json_decref(j);
}

/* A 4xx naming the field: {"error":"SR_EINVAL","field":F,"message":M}. */
static void reply_bad(struct geo_service *g, struct sr_node_reply *r, const char *field,
                      const char *msg)
{
    g->st.bad_input++;
    reply_json(r, SR_EINVAL, json_pack("{s:s, s:s, s:s}", "error", "SR_EINVAL", "field", field,
                                       "message", msg));
}

static void reply_err(struct sr_node_reply *r, int status, const char *msg)
{
    reply_json(r, status, json_pack("{s:s, s:s}", "error", sr_err_name(status), "message", msg));
}

static void send_json(struct evhttp_request *req, int code, json_t *j)
{
    char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
    struct evbuffer *b = evbuffer_new();
    if (!s || !b) {
        evhttp_send_error(req, 500, "out of memory");
    } else {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                          "application/json");
        evbuffer_add(b, s, strlen(s));
        evbuffer_add(b, "\n", 1);
        evhttp_send_reply(req, code, code == 200 ? "OK" : code == 400 ? "Bad Request" : "Error", b);
    }
    if (b)
        evbuffer_free(b);
    free(s);
    json_decref(j);
}

/* 400 naming the field: {"error":"SR_EINVAL","field":F,"message":M}. */
static void http_bad(struct geo_service *g, struct evhttp_request *req, const char *field,
                     const char *why)
{
    g->st.bad_input++;
    send_json(req, 400, json_pack("{s:s, s:s, s:s}", "error", "SR_EINVAL", "field", field,
                                  "message", why));
}

/* nearby as an RPC endpoint exists only so its limits and kill switch
 * apply (sr_node_http_admit); nothing calls it. */
static void on_nearby_rpc(void *ud, struct sr_node_reply *r, const struct sr_node_request *q)
{
    (void)ud;
    (void)q;
    sr_node_reply(r, SR_ENOTFOUND, NULL, 0);
}

/* An id as a JSON string (ids are valid UTF-8 without control bytes). */
static int put_string(struct sr_buf *b, const char *s, size_t n)
{
    int rc = sr_buf_append(b, "\"", 1);
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = s[i] == '"' || s[i] == '\\' ? sr_buf_printf(b, "\\%c", s[i])
                                         : sr_buf_append(b, s + i, 1);
    return rc == 0 ? sr_buf_append(b, "\"", 1) : rc;
}

/* Decimal digits of v (no printf: this is on every update's path). */
static int put_u64(struct sr_buf *b, uint64_t v)
{
    char d[20];
    int n = sizeof d;
    do
        d[--n] = (char)('0' + v % 10);
    while ((v /= 10) != 0);
    return sr_buf_append(b, d + n, sizeof d - (size_t)n);
}

static int put_cstr(struct sr_buf *b, const char *s)
{
    return sr_buf_append(b, s, strlen(s));
}

/* {"id":ID,"applied":B,"ts":N[,"cell":TOKEN]} or with "deleted" */
static void answer_write(struct sr_buf *b, const char *id, size_t idl, const char *what, bool v,
                         uint64_t ts, const char *cell)
{
    sr_buf_create(b, 0);
    (void)(sr_buf_reserve(b, 64 + 2 * idl) || sr_buf_append(b, "{\"id\":", 6) ||
           put_string(b, id, idl) || sr_buf_append(b, ",\"", 2) || put_cstr(b, what) ||
           put_cstr(b, v ? "\":true,\"ts\":" : "\":false,\"ts\":") || put_u64(b, ts) ||
           (cell && (put_cstr(b, ",\"cell\":\"") || put_cstr(b, cell) || put_cstr(b, "\""))) ||
           sr_buf_append(b, "}\n", 2));
}

/* ---- records: msgpack [id, lat, lng, ts, expires, deleted, attrs] -------------- */

static int rec_write(struct sr_buf *b, const struct geo_rec *r)
{
    struct sr_mp_writer w;
    sr_mp_writer_init(&w, b);
    sr_mp_write_array(&w, 7);
    sr_mp_write_bin(&w, r->id, r->id_len);
    sr_mp_write_double(&w, r->lat);
    sr_mp_write_double(&w, r->lng);
    sr_mp_write_uint(&w, r->ts);
    sr_mp_write_uint(&w, r->expires);
    sr_mp_write_bool(&w, r->deleted);
    sr_mp_write_bin(&w, r->attrs ? r->attrs : "", r->attrs ? r->attrs_len : 0);
    return sr_mp_writer_error(&w);
}

static int rec_read(const void *data, size_t len, uint64_t cellid, struct geo_rec *r)
{
    struct sr_mp_reader rd;
    uint32_t n, idl, al;
    const uint8_t *id, *attrs;
    sr_mp_reader_init(&rd, data, len);
    if (sr_mp_read_array(&rd, &n) < 0 || n != 7 || sr_mp_read_bin(&rd, &id, &idl) < 0 ||
        sr_mp_read_double(&rd, &r->lat) < 0 || sr_mp_read_double(&rd, &r->lng) < 0 ||
        sr_mp_read_uint(&rd, &r->ts) < 0 || sr_mp_read_uint(&rd, &r->expires) < 0 ||
        sr_mp_read_bool(&rd, &r->deleted) < 0 || sr_mp_read_bin(&rd, &attrs, &al) < 0)
        return SR_EPROTO;
    r->cellid = cellid;
    r->id = (const char *)id;
    r->id_len = idl;
    r->attrs = al ? (const char *)attrs : NULL;
    r->attrs_len = al;
    return 0;
}

static void rec_of(const struct geo_obj *o, struct geo_rec *r)
{
    *r = (struct geo_rec){o->cellid, o->id, o->id_len, o->lat, o->lng, o->ts, o->expires,
                          o->deleted, o->attrs, o->attrs_len};
}

static json_t *obj_json(const struct geo_obj *o)
{
    char tok[SR_S2_TOKEN_MAX];
    sr_s2_cell_to_token(o->cellid, tok);
    json_t *attrs = o->attrs ? json_loadb(o->attrs, o->attrs_len, 0, NULL) : NULL;
    return json_pack("{s:s%, s:f, s:f, s:s, s:I, s:I, s:o}", "id", o->id, (size_t)o->id_len,
                     "lat", o->lat, "lng", o->lng, "cell", tok, "ts", (json_int_t)o->ts,
                     "expires_us", (json_int_t)o->expires, "attrs",
                     attrs ? attrs : json_object());
}

/* ---- cell endpoints (RPC only; key = 8-byte cell) ------------------------------ */

static void on_cell_apply(void *ud, struct sr_node_reply *r, const struct sr_node_request *q)
{
    struct geo_service *g = ud;
    struct geo_rec rec;
    uint64_t cell;
    int rc = geo_cell_from_key(q->key, q->key_len, &cell) ? rec_read(q->body, q->body_len, cell, &rec)
                                                            : SR_EINVAL;
    if (rc == 0)
        rc = geo_index_apply(g->cells, &rec, now_us());
    if (rc > 0) /* applied: the replicas get exactly this record */
        rc = sr_node_reply_record(r, q->body, q->body_len);
    sr_node_reply(r, rc < 0 ? rc : 0, NULL, 0);
}

static void on_cell_get(void *ud, struct sr_node_reply *r, const struct sr_node_request *q)
{
    struct geo_service *g = ud;
    uint64_t cell;
    if (!geo_cell_from_key(q->key, q->key_len, &cell)) {
        sr_node_reply(r, SR_EINVAL, NULL, 0);
        return;
    }
    const struct geo_obj *o = geo_index_get(g->cells, cell, (const char *)q->body, q->body_len);
    if (!o || o->deleted || o->expires <= now_us())
        reply_err(r, SR_ENOTFOUND, "no such object");
    else
        reply_json(r, 0, obj_json(o));
}

/* search body: [lat, lng, radius_m, limit, filter, [cell, ...]]
 * answer: [[id, lat, lng, dist_m, attrs], ...] nearest first. */
static int search_read(struct sr_mp_reader *rd, double *lat, double *lng, double *rad,
                       uint64_t *limit, const char **flt, uint32_t *flen, uint32_t *ncells)
{
    uint32_t n;
    if (sr_mp_read_array(rd, &n) < 0 || n != 6 || sr_mp_read_double(rd, lat) < 0 ||
        sr_mp_read_double(rd, lng) < 0 || sr_mp_read_double(rd, rad) < 0 ||
        sr_mp_read_uint(rd, limit) < 0 || sr_mp_read_str(rd, flt, flen) < 0 ||
        sr_mp_read_array(rd, ncells) < 0)
        return SR_EPROTO;
    return 0;
}

static int search_answer(struct sr_buf *b, const struct geo_hit *h, size_t n)
{
    struct sr_mp_writer w;
    sr_mp_writer_init(&w, b);
    sr_mp_write_array(&w, (uint32_t)n);
    for (size_t i = 0; i < n; i++) {
        const struct geo_obj *o = h[i].obj;
        sr_mp_write_array(&w, 5);
        sr_mp_write_bin(&w, o->id, o->id_len);
        sr_mp_write_double(&w, o->lat);
        sr_mp_write_double(&w, o->lng);
        sr_mp_write_double(&w, h[i].dist_m);
        sr_mp_write_bin(&w, o->attrs ? o->attrs : "", o->attrs_len);
    }
    return sr_mp_writer_error(&w);
}

static void on_search(void *ud, struct sr_node_reply *r, const struct sr_node_request *q)
{
    struct geo_service *g = ud;
    struct sr_mp_reader rd;
    double lat, lng, rad;
    uint64_t limit;
    const char *flt;
    uint32_t flen, ncells;
    int rc, ferr = 0;
    sr_mp_reader_init(&rd, q->body, q->body_len);
    if ((rc = search_read(&rd, &lat, &lng, &rad, &limit, &flt, &flen, &ncells)) < 0 ||
        limit > g->cfg.max_limit || ncells > g->cfg.max_cells) {
        sr_node_reply(r, rc < 0 ? rc : SR_EINVAL, NULL, 0);
        return;
    }
    uint64_t *cells = malloc((ncells ? ncells : 1) * sizeof(*cells));
    struct geo_hit *hits = malloc((limit ? limit : 1) * sizeof(*hits));
    struct geo_filter *f = flen ? geo_filter_parse(flt, flen, &ferr) : NULL;
    for (uint32_t i = 0; cells && i < ncells && rc == 0; i++)
        rc = sr_mp_read_uint(&rd, &cells[i]);
    if (!cells || !hits || ferr < 0 || rc < 0) {
        sr_node_reply(r, !cells || !hits ? SR_ENOMEM : SR_EINVAL, NULL, 0);
    } else {
        size_t n = geo_index_nearby(g->cells, cells, ncells, lat, lng, rad, (size_t)limit, f,
                                    now_us(), hits);
        struct sr_buf b;
        sr_buf_create(&b, 0);
        rc = search_answer(&b, hits, n);
        sr_node_reply(r, rc, b.data, rc == 0 ? b.len : 0);
        sr_buf_destroy(&b);
        g->st.searches++;
        g->st.cells_searched += ncells;
    }
    geo_filter_free(f);
    free(cells);
    free(hits);
}

/* ---- object endpoints (key = id; run on the id's owner) --------------------------- */

static bool id_ok(const uint8_t *id, size_t len)
{
    if (len == 0 || len > GEO_ID_MAX)
        return false;
    for (size_t i = 0; i < len; i++)
        if (id[i] < 0x20 || id[i] == 0x7f)
            return false;
    return true;
}

static int dir_write(struct sr_buf *b, const struct geo_obj *d);

/* Tell the node the directory record that changed (replicas merge it). */
static int dir_record(struct sr_node_reply *r, struct geo_service *g, const char *id, size_t len)
{
    const struct geo_obj *d = geo_index_get(g->dir, 0, id, len);
    struct sr_buf *b = &g->scratch; /* the reply copies the record */
    int rc = 0;
    sr_buf_reset(b);
    if (d && (rc = dir_write(b, d)) == 0)
        rc = sr_node_reply_record(r, b->data, b->len);
    return rc;
}

/* One update in flight: up to two cell calls (new cell, old cell). */
struct put_op {
    struct geo_service *g;
    struct sr_node_reply *r;
    int pending, status;
    struct sr_buf answer;    /* the JSON answer when every cell took it */
};

static void put_done(void *ud, const struct sr_node_result *res)
{
    struct put_op *op = ud;
    if (res->status < 0 && op->status == 0) {
        op->status = res->status;
        if (res->status != SR_ECANCELED) /* canceled: the node (and g) may be going */
            op->g->st.call_errors++;
    }
    if (--op->pending > 0)
        return;
    if (op->status < 0)
        reply_err(op->r, op->status, "a cell owner did not take the update; retry");
    else
        sr_node_reply(op->r, 0, op->answer.data, op->answer.len);
    sr_buf_destroy(&op->answer);
    free(op);
}

/* Send one record to its cell's owner as part of op. */
static int cell_send(struct put_op *op, const struct geo_rec *rec)
{
    uint8_t key[8];
    struct sr_buf *b = &op->g->scratch; /* the call copies the body */
    sr_buf_reset(b);
    geo_cell_key(rec->cellid, key);
    int rc = rec_write(b, rec);
    if (rc == 0)
        rc = sr_node_call(op->g->node, "geo", "cell_apply", key, 8, b->data, b->len, 0, put_done,
                          op);
    if (rc == 0)
        op->pending++;
    return rc;
}

/* Start the cell calls of an update (rec = the new state of the id; prev =
 * the cell it was in before, 0 if none or the same). */
static void put_dispatch(struct geo_service *g, struct sr_node_reply *r, const struct geo_rec *rec,
                         uint64_t prev, uint64_t prev_expires, struct sr_buf *answer)
{
    struct put_op *op = calloc(1, sizeof(*op));
    if (!op) {
        sr_buf_destroy(answer);
        sr_node_reply(r, SR_ENOMEM, NULL, 0);
        return;
    }
    *op = (struct put_op){g, r, 1, 0, *answer}; /* 1: held until both are sent */
    int rc = cell_send(op, rec);
    if (rc == 0 && prev) {
        uint64_t keep = now_us() + (uint64_t)g->cfg.tomb_keep_s * 1000000u;
        struct geo_rec tomb = {prev, rec->id, rec->id_len, 0, 0, rec->ts,
                               prev_expires > keep ? prev_expires : keep, true, NULL, 0};
        rc = cell_send(op, &tomb);
        g->st.moves++;
    }
    struct sr_node_result res = {rc, NULL, 0, NULL};
    put_done(op, &res);
}

struct put_args {
    double lat, lng, ttl_s;
    uint64_t ts;
    char *attrs;             /* put_parse: malloc'd; put_read: points into the body */
    size_t attrs_len;
};

/* The owner's body, made by the entry node from a checked PUT:
 * msgpack [lat, lng, ttl_s, ts (0 = none), attrs (JSON text, may be "")]. */
static int put_encode(struct sr_buf *b, const struct put_args *a)
{
    struct sr_mp_writer w;
    sr_buf_reset(b);
    sr_mp_writer_init(&w, b);
    sr_mp_write_array(&w, 5);
    sr_mp_write_double(&w, a->lat);
    sr_mp_write_double(&w, a->lng);
    sr_mp_write_double(&w, a->ttl_s);
    sr_mp_write_uint(&w, a->ts);
    sr_mp_write_bin(&w, a->attrs ? a->attrs : "", a->attrs ? strlen(a->attrs) : 0);
    return sr_mp_writer_error(&w);
}

static int put_read(const struct geo_service *g, const void *body, size_t len, struct put_args *a)
{
    struct sr_mp_reader rd;
    uint32_t n, al;
    const uint8_t *attrs;
    sr_mp_reader_init(&rd, body, len);
    if (sr_mp_read_array(&rd, &n) < 0 || n != 5 || sr_mp_read_double(&rd, &a->lat) < 0 ||
        sr_mp_read_double(&rd, &a->lng) < 0 || sr_mp_read_double(&rd, &a->ttl_s) < 0 ||
        sr_mp_read_uint(&rd, &a->ts) < 0 || sr_mp_read_bin(&rd, &attrs, &al) < 0)
        return SR_EPROTO;
    if (!(a->lat >= -90 && a->lat <= 90 && a->lng >= -180 && a->lng <= 180 && a->ttl_s > 0 &&
          a->ttl_s <= g->cfg.max_ttl_s) || al > GEO_ATTRS_MAX)
        return SR_EINVAL;
    a->attrs = al ? (char *)attrs : NULL;
    a->attrs_len = al;
    return 0;
}

/* The plain body ({lat, lng, ttl_s?, ts?}, all valid) without a JSON
 * tree; false: anything else, for put_parse to read and word. */
static bool put_parse_fast(const struct geo_service *g, const char *body, size_t len,
                           struct put_args *a)
{
    struct geo_put_fields f;
    if (!geo_put_fast(body, len, &f) || !(f.lat >= -90 && f.lat <= 90) ||
        !(f.lng >= -180 && f.lng <= 180) ||
        (f.has_ttl && !(f.ttl_s > 0 && f.ttl_s <= g->cfg.max_ttl_s)) || (f.has_ts && f.ts <= 0))
        return false;
    *a = (struct put_args){f.lat, f.lng, f.has_ttl ? f.ttl_s : g->cfg.default_ttl_s,
                           f.has_ts ? (uint64_t)f.ts : 0, NULL, 0};
    return true;
}

/* Parse and check a PUT body; false with the bad field and why. */
static bool put_parse(const struct geo_service *g, const char *body, size_t len,
                      struct put_args *a, const char **field, const char **why)
{
    *field = *why = NULL;
    if (put_parse_fast(g, body, len, a))
        return true;
    json_error_t je;
    json_t *j = json_loadb(body, len, 0, &je), *v;
    bool ok = false;
    *a = (struct put_args){0};
    if (!json_is_object(j))
        *field = "body", *why = "a JSON object {lat, lng, ttl_s?, attrs?, ts?} is required";
    else if (!json_is_number(v = json_object_get(j, "lat")) ||
             !((a->lat = json_number_value(v)) >= -90 && a->lat <= 90))
        *field = "lat", *why = "must be a number in [-90, 90]";
    else if (!json_is_number(v = json_object_get(j, "lng")) ||
             !((a->lng = json_number_value(v)) >= -180 && a->lng <= 180))
        *field = "lng", *why = "must be a number in [-180, 180]";
    else if ((v = json_object_get(j, "ttl_s")) &&
             (!json_is_number(v) || !((a->ttl_s = json_number_value(v)) > 0) ||
              a->ttl_s > g->cfg.max_ttl_s))
        *field = "ttl_s", *why = "must be a number of seconds in (0, max_ttl_s]";
    else if ((v = json_object_get(j, "ts")) && (!json_is_integer(v) || json_integer_value(v) <= 0))
        *field = "ts", *why = "must be a positive integer (microseconds since the epoch)";
    else if ((v = json_object_get(j, "attrs")) && !json_is_object(v))
        *field = "attrs", *why = "must be a JSON object";
    else if (v && (!(a->attrs = json_dumps(v, JSON_COMPACT)) || strlen(a->attrs) > GEO_ATTRS_MAX))
        *field = "attrs", *why = "too large (at most 4096 bytes as JSON)";
    else
        ok = true;
    if (ok) {
        if (!json_object_get(j, "ttl_s"))
            a->ttl_s = g->cfg.default_ttl_s;
        v = json_object_get(j, "ts");
        a->ts = v ? (uint64_t)json_integer_value(v) : 0;
    } else {
        free(a->attrs);
        a->attrs = NULL;
    }
    json_decref(j);
    return ok;
}

static void on_put(void *ud, struct sr_node_reply *r, const struct sr_node_request *q)
{
    struct geo_service *g = ud;
    struct put_args a;
    if (!id_ok(q->key, q->key_len)) {
        reply_bad(g, r, "id", "1..256 bytes, no control characters");
        return;
    }
    if (put_read(g, q->body, q->body_len, &a) < 0) {
        sr_node_reply(r, SR_EINVAL, NULL, 0); /* the entry node checked it already */
        return;
    }
    g->st.puts++;
    uint64_t now = now_us();
    const char *id = (const char *)q->key;
    const struct geo_obj *d = geo_index_get(g->dir, 0, id, q->key_len);
    bool held = d && d->expires > now;
    uint64_t ts = a.ts ? a.ts : sr_state_stamp(held ? d->ts : 0);
    if (held && ts < d->ts) { /* a late, older update: what we hold wins */
        g->st.puts_stale++;
        struct sr_buf b;
        answer_write(&b, id, q->key_len, "applied", false, d->ts, NULL);
        sr_node_reply(r, 0, b.data, b.len);
        sr_buf_destroy(&b);
        return;
    }
    uint64_t cell = sr_s2_cell_from_latlng(a.lat, a.lng, GEO_CELL_LEVEL);
    uint64_t prev = held && !d->deleted && d->cellid != cell ? d->cellid : 0;
    uint64_t prev_exp = held ? d->expires : 0;
    struct geo_rec rec = {cell, id, q->key_len, a.lat, a.lng, ts,
                          now + (uint64_t)(a.ttl_s * 1e6), false, a.attrs, a.attrs_len};
    struct geo_rec drec = rec;
    drec.attrs = NULL; /* the directory keeps no attrs */
    drec.attrs_len = 0;
    int rc = geo_index_apply(g->dir, &drec, now);
    if (rc >= 0)
        rc = dir_record(r, g, id, q->key_len);
    char tok[SR_S2_TOKEN_MAX];
    sr_s2_cell_to_token(cell, tok);
    if (rc < 0) {
        reply_err(r, rc, "cannot store the update");
    } else {
        struct sr_buf b;
        answer_write(&b, id, q->key_len, "applied", true, ts, tok);
        put_dispatch(g, r, &rec, prev, prev_exp, &b);
    }
}

/* GET: the directory names the cell; the cell's owner has the object. */
struct get_op {
    struct sr_node_reply *r;
};

static void get_done(void *ud, const struct sr_node_result *res)
{
    struct get_op *op = ud;
    sr_node_reply(op->r, res->status, res->body, res->body_len);
    free(op);
}

static void on_get(void *ud, struct sr_node_reply *r, const struct sr_node_request *q)
{
    struct geo_service *g = ud;
    g->st.gets++;
    const struct geo_obj *d = id_ok(q->key, q->key_len)
                                  ? geo_index_get(g->dir, 0, (const char *)q->key, q->key_len)
                                  : NULL;
    struct get_op *op;
    uint8_t key[8];
    if (!d || d->deleted || d->expires <= now_us()) {
        reply_err(r, SR_ENOTFOUND, "no such object (never put, deleted or expired)");
        return;
    }
    if (!(op = malloc(sizeof(*op)))) {
        sr_node_reply(r, SR_ENOMEM, NULL, 0);
        return;
    }
    op->r = r;
    geo_cell_key(d->cellid, key);
    int rc = sr_node_call(g->node, "geo", "cell_get", key, 8, q->key, q->key_len, q->deadline_ms,
                          get_done, op);
    if (rc < 0) {
        free(op);
        sr_node_reply(r, rc, NULL, 0);
    }
}

static void on_delete(void *ud, struct sr_node_reply *r, const struct sr_node_request *q)
{
    struct geo_service *g = ud;
    uint64_t now = now_us();
    const char *id = (const char *)q->key;
    const struct geo_obj *d = id_ok(q->key, q->key_len) ? geo_index_get(g->dir, 0, id, q->key_len)
                                                        : NULL;
    if (!d || d->deleted || d->expires <= now) {
        reply_err(r, SR_ENOTFOUND, "no such object (never put, deleted or expired)");
        return;
    }
    g->st.deletes++;
    uint64_t keep = now + (uint64_t)g->cfg.tomb_keep_s * 1000000u;
    struct geo_rec tomb = {d->cellid, id, q->key_len, 0, 0, sr_state_stamp(d->ts),
                           d->expires > keep ? d->expires : keep, true, NULL, 0};
    int rc = geo_index_apply(g->dir, &tomb, now);
    if (rc >= 0)
        rc = dir_record(r, g, id, q->key_len);
    if (rc < 0) {
        reply_err(r, rc, "cannot store the delete");
        return;
    }
    struct sr_buf b;
    answer_write(&b, id, q->key_len, "deleted", true, tomb.ts, NULL);
    put_dispatch(g, r, &tomb, 0, 0, &b);
}

/* ---- nearby (served where it arrives; key = the query string) ---------------------- */

struct nb_query {
    double lat, lng, radius_m;
    uint64_t limit;
    char filter[512];
};

struct nb_group {
    const char *owner;
    uint64_t *cells;
    size_t n;
};

struct nb_hit {
    double d, lat, lng;
    const char *id, *attrs;  /* attrs: a JSON object's text (checked at PUT) */
    uint32_t idl, al;
};

struct nb_op {
    struct geo_service *g;
    struct evhttp_request *req; /* NULL once the client went away */
    struct nb_query q;
    size_t ncells, nowners;
    int pending, status;
    struct nb_hit *hits;     /* every owner's nearest, pointing into bodies */
    size_t nhits, caphits;
    uint8_t **bodies;        /* copies of the owners' answers */
    size_t nbodies;
};

static bool num_param(const char *s, double *out)
{
    char *end;
    if (!s || !*s)
        return false;
    *out = strtod(s, &end);
    return *end == '\0' && isfinite(*out);
}

/* Parse and check the query string; false with the bad field and why. */
static bool nb_parse(const struct geo_service *g, const char *qs, struct nb_query *q,
                     const char **field, const char **why)
{
    struct evkeyvalq kv;
    double v = 0;
    bool ok = false;
    TAILQ_INIT(&kv);
    *field = *why = NULL;
    if (evhttp_parse_query_str(qs, &kv) != 0)
        *field = "query", *why = "cannot parse the query string";
    else if (!num_param(evhttp_find_header(&kv, "lat"), &q->lat) || q->lat < -90 || q->lat > 90)
        *field = "lat", *why = "must be a number in [-90, 90]";
    else if (!num_param(evhttp_find_header(&kv, "lng"), &q->lng) || q->lng < -180 || q->lng > 180)
        *field = "lng", *why = "must be a number in [-180, 180]";
    else if (!num_param(evhttp_find_header(&kv, "radius_m"), &q->radius_m) || q->radius_m <= 0 ||
             q->radius_m > g->cfg.max_radius_m)
        *field = "radius_m", *why = "must be a number in (0, max_radius_m]";
    else if (evhttp_find_header(&kv, "limit") &&
             (!num_param(evhttp_find_header(&kv, "limit"), &v) || v < 1 ||
              v > g->cfg.max_limit || v != floor(v)))
        *field = "limit", *why = "must be an integer in [1, max_limit]";
    else
        ok = true;
    if (ok) {
        const char *f = evhttp_find_header(&kv, "filter");
        int err = 0;
        struct geo_filter *pf = f && *f ? geo_filter_parse(f, strlen(f), &err) : NULL;
        q->limit = evhttp_find_header(&kv, "limit") ? (uint64_t)v : g->cfg.default_limit;
        snprintf(q->filter, sizeof q->filter, "%s", f ? f : "");
        if (f && (err < 0 || strlen(f) >= sizeof q->filter)) {
            *field = "filter", *why = "k OP v[,k OP v...], OP one of = != >= <= > <";
            ok = false;
        }
        geo_filter_free(pf);
    }
    evhttp_clear_headers(&kv);
    return ok;
}

static int hit_cmp(const void *a, const void *b)
{
    const struct nb_hit *x = a, *y = b;
    if (x->d != y->d)
        return x->d < y->d ? -1 : 1;
    int c = memcmp(x->id, y->id, x->idl < y->idl ? x->idl : y->idl);
    return c ? c : (x->idl > y->idl) - (x->idl < y->idl);
}

static void nb_free(struct nb_op *op)
{
    for (size_t i = 0; i < op->nbodies; i++)
        free(op->bodies[i]);
    free(op->bodies);
    free(op->hits);
    free(op);
}

/* A double as fixed-point JSON with `dec` decimals (fast: no printf %g,
 * which costs microseconds per number in glibc); lat/lng with 9 decimals
 * are within 0.1 mm, distances with 6 within 1 micrometre. */
static int put_fixed(struct sr_buf *b, double v, int dec)
{
    static const uint64_t pow10[] = {1, 10, 100, 1000, 10000, 100000, 1000000, 10000000,
                                     100000000, 1000000000};
    char t[48];
    int n = 0;
    double a = fabs(v);
    if (!(a < 1e9) || dec < 1 || dec > 9)
        return sr_buf_printf(b, "%.17g", v);
    uint64_t whole = (uint64_t)a, frac = (uint64_t)llround((a - (double)whole) * (double)pow10[dec]);
    if (frac >= pow10[dec]) {
        whole++;
        frac -= pow10[dec];
    }
    while (dec > 1 && frac % 10 == 0) { /* trailing zeros go, one decimal stays */
        frac /= 10;
        dec--;
    }
    char digits[24];
    int nd = 0;
    do
        digits[nd++] = (char)('0' + whole % 10);
    while ((whole /= 10) != 0);
    if (v < 0 && (nd > 1 || digits[0] != '0' || frac))
        t[n++] = '-';
    while (nd)
        t[n++] = digits[--nd];
    t[n++] = '.';
    for (int i = dec - 1; i >= 0; i--, frac /= 10)
        t[n + i] = (char)('0' + frac % 10);
    n += dec;
    return sr_buf_append(b, t, (size_t)n);
}

/* The answer, written directly (no JSON tree: this is the hot path). */
static int nb_write(struct nb_op *op, struct sr_buf *b)
{
    size_t n = op->nhits < op->q.limit ? op->nhits : (size_t)op->q.limit;
    int rc = sr_buf_append(b, "{\"results\":[", 12);
    for (size_t i = 0; i < n && rc == 0; i++) {
        const struct nb_hit *h = &op->hits[i];
        rc = sr_buf_append(b, i ? ",{\"id\":" : "{\"id\":", i ? 7 : 6);
        if (rc == 0)
            rc = put_string(b, h->id, h->idl);
        if (rc == 0)
            rc = sr_buf_append(b, ",\"lat\":", 7) || put_fixed(b, h->lat, 9) ||
                 sr_buf_append(b, ",\"lng\":", 7) || put_fixed(b, h->lng, 9) ||
                 sr_buf_append(b, ",\"dist_m\":", 10) || put_fixed(b, h->d, 6) ||
                 sr_buf_append(b, ",\"attrs\":", 9) ? SR_ENOMEM : 0;
        if (rc == 0)
            rc = h->al ? sr_buf_append(b, h->attrs, h->al) : sr_buf_append(b, "{}", 2);
        if (rc == 0)
            rc = sr_buf_append(b, "}", 1);
    }
    if (rc == 0)
        rc = sr_buf_printf(b, "],\"cells\":%zu,\"owners\":%zu}\n", op->ncells, op->nowners);
    return rc;
}

static void nb_finish(struct nb_op *op)
{
    struct geo_service *g = op->g;
    if (op->status == SR_ECANCELED) { /* the node is going: g may be gone too */
        nb_free(op);
        return;
    }
    sr_node_http_release(g->node, "geo", "nearby");
    if (op->req)
        evhttp_connection_set_closecb(evhttp_request_get_connection(op->req), NULL, NULL);
    if (!op->req) {
        /* the client went away: nothing to answer */
    } else if (op->status < 0) {
        send_json(op->req, 503, json_pack("{s:s, s:s}", "error", sr_err_name(op->status),
                                          "message", "a cell owner did not answer; retry"));
    } else {
        struct sr_buf b;
        struct evbuffer *eb = evbuffer_new();
        sr_buf_create(&b, 0);
        if (op->nhits > 1)
            qsort(op->hits, op->nhits, sizeof(*op->hits), hit_cmp);
        if (!eb || nb_write(op, &b) < 0) {
            evhttp_send_error(op->req, 500, "out of memory");
        } else {
            evhttp_add_header(evhttp_request_get_output_headers(op->req), "Content-Type",
                              "application/json");
            evbuffer_add(eb, b.data, b.len);
            evhttp_send_reply(op->req, 200, "OK", eb);
        }
        if (eb)
            evbuffer_free(eb);
        sr_buf_destroy(&b);
    }
    nb_free(op);
}

/* Keep a copy of an owner's answer and point hits into it. */
static int nb_read_hits(struct nb_op *op, const uint8_t *body, size_t len)
{
    struct sr_mp_reader rd;
    uint32_t n, m, idl, al;
    uint8_t *copy = malloc(len ? len : 1), **bv = realloc(op->bodies, (op->nbodies + 1) * sizeof(*bv));
    if (bv)
        op->bodies = bv;
    if (!copy || !bv) {
        free(copy);
        return SR_ENOMEM;
    }
    memcpy(copy, body, len);
    op->bodies[op->nbodies++] = copy;
    sr_mp_reader_init(&rd, copy, len);
    if (sr_mp_read_array(&rd, &n) < 0 || n > op->q.limit)
        return SR_EPROTO;
    if (op->nhits + n > op->caphits) {
        size_t cap = op->nhits + n + op->q.limit;
        struct nb_hit *h = realloc(op->hits, cap * sizeof(*h));
        if (!h)
            return SR_ENOMEM;
        op->hits = h;
        op->caphits = cap;
    }
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *id, *attrs;
        struct nb_hit *h = &op->hits[op->nhits];
        if (sr_mp_read_array(&rd, &m) < 0 || m != 5 || sr_mp_read_bin(&rd, &id, &idl) < 0 ||
            sr_mp_read_double(&rd, &h->lat) < 0 || sr_mp_read_double(&rd, &h->lng) < 0 ||
            sr_mp_read_double(&rd, &h->d) < 0 || sr_mp_read_bin(&rd, &attrs, &al) < 0)
            return SR_EPROTO;
        h->id = (const char *)id;
        h->idl = idl;
        h->attrs = (const char *)attrs;
        h->al = al;
        op->nhits++;
    }
    return 0;
}

static void nb_done(void *ud, const struct sr_node_result *res)
{
    struct nb_op *op = ud;
    int st = res->status < 0 ? res->status : nb_read_hits(op, res->body, res->body_len);
    if (st < 0 && op->status == 0) {
        op->status = st;
        if (st != SR_ECANCELED) /* canceled: the node (and g) may be going */
            op->g->st.call_errors++;
    }
    if (--op->pending == 0)
        nb_finish(op);
}

static int nb_send(struct nb_op *op, const struct nb_group *grp, uint32_t deadline_ms)
{
    struct sr_buf b;
    struct sr_mp_writer w;
    uint8_t key[8];
    sr_buf_create(&b, 0);
    sr_mp_writer_init(&w, &b);
    sr_mp_write_array(&w, 6);
    sr_mp_write_double(&w, op->q.lat);
    sr_mp_write_double(&w, op->q.lng);
    sr_mp_write_double(&w, op->q.radius_m);
    sr_mp_write_uint(&w, op->q.limit);
    sr_mp_write_cstr(&w, op->q.filter);
    sr_mp_write_array(&w, (uint32_t)grp->n);
    for (size_t i = 0; i < grp->n; i++)
        sr_mp_write_uint(&w, grp->cells[i]);
    int rc = sr_mp_writer_error(&w);
    geo_cell_key(grp->cells[0], key);
    if (rc == 0)
        rc = sr_node_call(op->g->node, "geo", "search", key, 8, b.data, b.len, deadline_ms,
                          nb_done, op);
    sr_buf_destroy(&b);
    if (rc == 0)
        op->pending++;
    return rc;
}

/* Group the covering's cells by owner (members are few: a linear search). */
static size_t nb_group(struct geo_service *g, const uint64_t *cells, size_t n,
                       struct nb_group *grp, uint64_t *scratch)
{
    const struct sr_ring *ring = sr_node_ring(g->node);
    const char **owner = malloc((n ? n : 1) * sizeof(*owner));
    size_t ng = 0, used = 0;
    if (!owner)
        return 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t key[8];
        geo_cell_key(cells[i], key);
        owner[i] = sr_ring_lookup(ring, key, 8);
    }
    /* Stable order: groups in order of first appearance, cells sorted. */
    for (size_t i = 0; i < n; i++) {
        size_t k = 0;
        while (k < ng && grp[k].owner != owner[i] &&
               !(owner[i] && grp[k].owner && strcmp(grp[k].owner, owner[i]) == 0))
            k++;
        if (k == ng)
            grp[ng++] = (struct nb_group){owner[i], NULL, 0};
    }
    for (size_t k = 0; k < ng; k++) {
        grp[k].cells = scratch + used;
        for (size_t i = 0; i < n; i++)
            if (owner[i] == grp[k].owner ||
                (owner[i] && grp[k].owner && strcmp(owner[i], grp[k].owner) == 0))
                grp[k].cells[grp[k].n++] = cells[i];
        used += grp[k].n;
    }
    free(owner);
    return ng;
}

static void nb_close(struct evhttp_connection *c, void *arg)
{
    struct nb_op *op = arg;
    (void)c;
    op->req = NULL;
}

static void http_nearby(struct geo_service *g, struct evhttp_request *req)
{
    const char *qs = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req)), *field, *why;
    struct nb_op *op = calloc(1, sizeof(*op));
    if (!op) {
        evhttp_send_error(req, 500, "out of memory");
        return;
    }
    if (sr_node_http_admit(g->node, req, "geo", "nearby", "nearby", 6, 0) != 0) {
        free(op);
        return; /* limits answered */
    }
    if (!nb_parse(g, qs ? qs : "", &op->q, &field, &why)) {
        http_bad(g, req, field, why);
        sr_node_http_release(g->node, "geo", "nearby");
        free(op);
        return;
    }
    op->g = g;
    op->req = req;
    op->pending = 1; /* held until every search is sent */
    g->st.nearby++;
    sr_s2_cap cap = sr_s2_cap_from_latlng_m(op->q.lat, op->q.lng, op->q.radius_m);
    uint64_t *cells = g->scratch_cells; /* reused: used only inside this call */
    struct nb_group *grp = g->scratch_groups;
    int n = sr_s2_cap_cover(&cap, GEO_CELL_LEVEL, cells, g->cfg.max_cells);
    if (n < 0) {
        op->status = n;
    } else {
        op->ncells = (size_t)n;
        op->nowners = nb_group(g, cells, (size_t)n, grp, cells + g->cfg.max_cells);
        for (size_t k = 0; k < op->nowners && op->status == 0; k++) {
            int rc = nb_send(op, &grp[k], 0);
            if (rc < 0)
                op->status = rc;
        }
    }
    evhttp_connection_set_closecb(evhttp_request_get_connection(req), nb_close, op);
    struct sr_node_result res = {0, (const uint8_t *)"\x90", 1, NULL}; /* the held count */
    nb_done(op, &res);
}

static json_t *stats_json(const struct geo_service *g)
{
    return json_pack(
        "{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "puts",
        (json_int_t)g->st.puts, "puts_stale", (json_int_t)g->st.puts_stale, "moves",
        (json_int_t)g->st.moves, "gets", (json_int_t)g->st.gets, "deletes",
        (json_int_t)g->st.deletes, "nearby", (json_int_t)g->st.nearby, "searches",
        (json_int_t)g->st.searches, "cells_searched", (json_int_t)g->st.cells_searched,
        "bad_input", (json_int_t)g->st.bad_input, "expired", (json_int_t)g->st.expired,
        "call_errors", (json_int_t)g->st.call_errors, "objects",
        (json_int_t)geo_index_count(g->cells), "entries", (json_int_t)geo_index_entries(g->cells),
        "directory", (json_int_t)geo_index_count(g->dir), "memory_bytes",
        (json_int_t)(geo_index_memory(g->cells) + geo_index_memory(g->dir)));
}

/* Every counter as a Prometheus family geo_<name> (for /metrics). */
static int metrics(void *ud, struct sr_buf *b)
{
    json_t *j = stats_json(ud), *v;
    const char *k;
    int rc = j ? 0 : SR_ENOMEM;
    json_object_foreach(j, k, v)
    {
        if (rc == 0)
            rc = sr_buf_printf(b, "# TYPE geo_%s %s\ngeo_%s %lld\n", k,
                               strcmp(k, "objects") == 0 || strcmp(k, "entries") == 0 ||
                                       strcmp(k, "directory") == 0 || strcmp(k, "memory_bytes") == 0
                                   ? "gauge"
                                   : "counter",
                               k, (long long)json_integer_value(v));
    }
    json_decref(j);
    return rc;
}

/* ---- the HTTP routes (one raw route: the entry node checks input and
 * answers bad input itself, naming the field) ------------------------------------ */

static void http_put(struct geo_service *g, struct evhttp_request *req, const char *id, size_t idl)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t blen = evbuffer_get_length(in);
    const char *body = blen ? (const char *)evbuffer_pullup(in, -1) : "";
    struct put_args a;
    const char *field, *why;
    struct sr_buf *mp = &g->scratch; /* the call copies the body */
    if (!put_parse(g, body, blen, &a, &field, &why)) {
        http_bad(g, req, field, why);
        return;
    }
    if (put_encode(mp, &a) < 0)
        evhttp_send_error(req, 500, "out of memory");
    else
        sr_node_http_serve(g->node, req, "geo", "put", id, idl, mp->data, mp->len);
    free(a.attrs);
}

static void http_method_not_allowed(struct evhttp_request *req, const char *allow)
{
    evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", allow);
    sr_node_http_error(req, 405, "SR_EINVAL", "method not allowed here");
}

static void http_object(struct geo_service *g, struct evhttp_request *req, const char *seg)
{
    size_t idl = strlen(seg);
    bool bad = strchr(seg, '/') || idl > 3 * GEO_ID_MAX;
    /* only %XX changes in decoding (no '+' rule): most ids need no copy */
    bool pct = !bad && memchr(seg, '%', idl);
    char *decoded = pct ? evhttp_uridecode(seg, 0, &idl) : NULL;
    const char *id = pct ? decoded : seg;
    if (bad || !id || !geo_utf8_ok(id, idl) || !id_ok((const uint8_t *)id, idl)) {
        http_bad(g, req, "id", "1..256 bytes of UTF-8, no control characters");
        free(decoded);
        return;
    }
    switch (evhttp_request_get_command(req)) {
    case EVHTTP_REQ_PUT: http_put(g, req, id, idl); break;
    case EVHTTP_REQ_GET: sr_node_http_serve(g->node, req, "geo", "get", id, idl, NULL, 0); break;
    case EVHTTP_REQ_DELETE:
        sr_node_http_serve(g->node, req, "geo", "delete", id, idl, NULL, 0);
        break;
    default: http_method_not_allowed(req, "GET, PUT, DELETE");
    }
    free(decoded);
}

/* GET /v1/geo/cells/TOKEN: the member owning a level-12 cell (ringctl geo
 * cell --node); the cell key has zero bytes, so /admin/lookup cannot ask. */
static void http_cell_owner(struct geo_service *g, struct evhttp_request *req, const char *tok)
{
    uint64_t cell;
    uint8_t key[8];
    if (sr_s2_cell_from_token(tok, strlen(tok), &cell) < 0 ||
        sr_s2_cell_level(cell) != GEO_CELL_LEVEL) {
        http_bad(g, req, "cell", "a level-12 cell token");
        return;
    }
    geo_cell_key(cell, key);
    const char *owner = sr_ring_lookup(sr_node_ring(g->node), key, 8);
    char id[24];
    snprintf(id, sizeof id, "%" PRIu64, cell); /* as a string: ids use all 64 bits */
    send_json(req, 200, json_pack("{s:s, s:s, s:s?, s:b}", "cell", tok, "id", id,
                                  "owner", owner, "held_here",
                                  geo_index_has_cell(g->cells, cell)));
}

static void on_http(void *ud, struct evhttp_request *req, const char *path)
{
    struct geo_service *g = ud;
    const char *rest = path + strlen(GEO_PREFIX);
    bool get = evhttp_request_get_command(req) == EVHTTP_REQ_GET;
    if (strcmp(rest, "nearby") == 0 && get)
        http_nearby(g, req);
    else if (strcmp(rest, "stats") == 0 && get)
        send_json(req, 200, stats_json(g));
    else if (strcmp(rest, "nearby") == 0 || strcmp(rest, "stats") == 0)
        http_method_not_allowed(req, "GET");
    else if (strncmp(rest, "objects/", 8) == 0)
        http_object(g, req, rest + 8);
    else if (strncmp(rest, "cells/", 6) == 0 && get)
        http_cell_owner(g, req, rest + 6);
    else
        sr_node_http_error(req, 404, "SR_ENOTFOUND", "no such route");
}

/* ---- state hooks ---------------------------------------------------------------------
 * Two kinds of keys (geo.h): a cell (8-byte key) exports its objects and
 * tombstones as cell records; an id exports its directory entry as
 * [cell, ts, expires, deleted]. Both merge last-writer-wins. */

struct keys_arg {
    sr_state_key_f fn;
    void *arg;
};

static int keys_one(void *arg, uint64_t cellid)
{
    struct keys_arg *ka = arg;
    uint8_t key[8];
    geo_cell_key(cellid, key);
    return ka->fn(ka->arg, key, 8);
}

static int keys_id(void *arg, const struct geo_obj *o)
{
    struct keys_arg *ka = arg;
    return ka->fn(ka->arg, o->id, o->id_len);
}

static void st_keys(void *ud, sr_state_key_f fn, void *arg)
{
    struct geo_service *g = ud;
    struct keys_arg ka = {fn, arg};
    geo_index_cells(g->cells, keys_one, &ka);
    geo_index_walk(g->dir, keys_id, &ka);
}

struct export_arg {
    sr_state_emit_f emit;
    void *arg;
    struct sr_buf b;
};

static int export_one(void *arg, const struct geo_obj *o)
{
    struct export_arg *ea = arg;
    struct geo_rec rec;
    rec_of(o, &rec);
    ea->b.len = 0;
    int rc = rec_write(&ea->b, &rec);
    return rc < 0 ? rc : ea->emit(ea->arg, ea->b.data, ea->b.len);
}

static int dir_write(struct sr_buf *b, const struct geo_obj *d)
{
    struct sr_mp_writer w;
    sr_mp_writer_init(&w, b);
    sr_mp_write_array(&w, 4);
    sr_mp_write_uint(&w, d->cellid);
    sr_mp_write_uint(&w, d->ts);
    sr_mp_write_uint(&w, d->expires);
    sr_mp_write_bool(&w, d->deleted);
    return sr_mp_writer_error(&w);
}

static int st_export(void *ud, const void *key, size_t len, sr_state_emit_f emit, void *arg)
{
    struct geo_service *g = ud;
    uint64_t cell;
    struct export_arg ea = {emit, arg, {0}};
    int rc = 0;
    sr_buf_create(&ea.b, 0);
    if (geo_cell_from_key(key, len, &cell)) {
        rc = geo_index_cell_entries(g->cells, cell, export_one, &ea);
    } else {
        const struct geo_obj *d = geo_index_get(g->dir, 0, key, len);
        if (d && (rc = dir_write(&ea.b, d)) == 0)
            rc = emit(arg, ea.b.data, ea.b.len);
    }
    sr_buf_destroy(&ea.b);
    return rc;
}

static int dir_merge(struct geo_service *g, const void *key, size_t len, const void *data,
                     size_t dlen)
{
    struct sr_mp_reader rd;
    uint32_t n;
    struct geo_rec rec = {.id = key, .id_len = len};
    sr_mp_reader_init(&rd, data, dlen);
    if (!id_ok(key, len) || sr_mp_read_array(&rd, &n) < 0 || n != 4 ||
        sr_mp_read_uint(&rd, &rec.cellid) < 0 || sr_mp_read_uint(&rd, &rec.ts) < 0 ||
        sr_mp_read_uint(&rd, &rec.expires) < 0 || sr_mp_read_bool(&rd, &rec.deleted) < 0)
        return SR_EPROTO;
    int rc = geo_index_apply(g->dir, &rec, now_us());
    return rc == SR_EINVAL ? SR_EPROTO : rc < 0 ? rc : 0;
}

static int st_merge(void *ud, const void *key, size_t len, const void *data, size_t dlen)
{
    struct geo_service *g = ud;
    struct geo_rec rec;
    uint64_t cell;
    if (!geo_cell_from_key(key, len, &cell))
        return dir_merge(g, key, len, data, dlen);
    if (rec_read(data, dlen, cell, &rec) < 0)
        return SR_EPROTO;
    int rc = geo_index_apply(g->cells, &rec, now_us());
    return rc == SR_EINVAL ? SR_EPROTO : rc < 0 ? rc : 0;
}

static void st_drop(void *ud, const void *key, size_t len)
{
    struct geo_service *g = ud;
    uint64_t cell;
    if (geo_cell_from_key(key, len, &cell))
        geo_index_drop_cell(g->cells, cell);
    else
        geo_index_remove(g->dir, 0, key, len);
}

static size_t st_count(void *ud)
{
    return geo_index_count(((struct geo_service *)ud)->cells);
}

static bool st_has(void *ud, const void *key, size_t len)
{
    struct geo_service *g = ud;
    uint64_t cell;
    if (geo_cell_from_key(key, len, &cell))
        return geo_index_has_cell(g->cells, cell);
    const struct geo_obj *d = geo_index_get(g->dir, 0, key, len);
    return d && !d->deleted;
}

static const struct sr_state_ops geo_state = {st_keys, st_export, st_merge, st_drop, NULL};

/* ---- registration -------------------------------------------------------------------- */

#define IDEM SR_ENDPOINT_IDEMPOTENT
static const struct sr_endpoint_def geo_endpoints[] = {
    /* HTTP through the raw route on /v1/geo/ (on_http) */
    {"put", IDEM | SR_ENDPOINT_WRITE, on_put, NULL, NULL, NULL},
    {"get", IDEM, on_get, NULL, NULL, NULL},
    {"delete", IDEM | SR_ENDPOINT_WRITE, on_delete, NULL, NULL, NULL},
    {"nearby", IDEM, on_nearby_rpc, NULL, NULL, NULL}, /* limits for the fan-out entry */
    /* one call per owner for all its cells, keyed by the first: only the
     * owner holds them all, so never a backup read to that key's replica */
    {"search", IDEM | SR_ENDPOINT_NO_BACKUP, on_search, NULL, NULL, NULL},
    {"cell_get", IDEM, on_cell_get, NULL, NULL, NULL},
    {"cell_apply", IDEM | SR_ENDPOINT_WRITE, on_cell_apply, NULL, NULL, NULL},
};

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    struct geo_service *g = arg;
    (void)fd;
    (void)what;
    uint64_t now = now_us();
    g->st.expired += geo_index_expire(g->cells, now);
    geo_index_expire(g->dir, now);
}

struct geo_service *geo_service_attach(struct sr_node *node, const struct geo_config *cfg,
                                       int *err)
{
    struct geo_service *g = calloc(1, sizeof(*g));
    struct timeval every = {0, EXPIRE_TICK_MS * 1000};
    *err = SR_ENOMEM;
    if (!g)
        return NULL;
    g->node = node;
    g->cfg = *cfg;
    g->cells = geo_index_new(true);
    g->dir = geo_index_new(false);
    g->tick = event_new(sr_node_base(node), -1, EV_PERSIST, on_tick, g);
    g->scratch_cells = malloc(cfg->max_cells * 2 * sizeof(uint64_t));
    g->scratch_groups = malloc(cfg->max_cells * sizeof(*g->scratch_groups));
    sr_buf_create(&g->scratch, 0);
    g->def = (struct sr_service_def){.name = "geo", .endpoints = geo_endpoints,
                                     .nendpoints = sizeof geo_endpoints / sizeof geo_endpoints[0],
                                     .ud = g, .key_count = st_count, .has_key = st_has,
                                     .state = &geo_state};
    if (!g->cells || !g->dir || !g->tick || !g->scratch_cells || !g->scratch_groups || event_add(g->tick, &every) != 0 ||
        (*err = sr_node_add_service(node, &g->def)) < 0 ||
        (*err = sr_node_add_route(node, GEO_PREFIX, on_http, g)) < 0 ||
        (*err = sr_node_add_metrics(node, metrics, g)) < 0) {
        *err = *err < 0 ? *err : SR_ENOMEM;
        geo_service_free(g);
        return NULL;
    }
    *err = 0;
    return g;
}

void geo_service_free(struct geo_service *g)
{
    if (!g)
        return;
    if (g->tick)
        event_free(g->tick);
    geo_index_free(g->cells);
    geo_index_free(g->dir);
    free(g->scratch_cells);
    free(g->scratch_groups);
    sr_buf_destroy(&g->scratch);
    free(g);
}
