/* Watch: Server-Sent Events of presence changes, for users owned anywhere.
 *
 * The node holding the client's connection (the watcher) keeps one long
 * poll per watched user at the user's owner, through sr_node_call, so it
 * reaches the owner wherever the ring puts it, today and after a change:
 *
 *   watcher                              owner of user u
 *   poll(u, epoch=0, seq=0)  --------->  new subscription: epoch E, seq 0
 *            <--------- {e:E, s:0, snapshot, view}          (answered now)
 *   poll(u, E, 0)            --------->  nothing new: parked up to poll_hold_ms
 *                                        heartbeat changes u: event 1
 *            <--------- {e:E, s:1, events:[ev1], view}
 *   poll(u, E, 1) ...
 *
 * The owner numbers u's events and keeps the last events_kept of them, so a
 * change between two polls is not lost. An epoch the owner does not know
 * (the owner changed: ring change, kill -9, restart) or a gap too old gets a
 * snapshot instead, and the watcher turns the difference between its last
 * view and the snapshot into events: nothing is missed, though changes
 * made while no owner was reachable may coalesce. When the node hands a
 * user off and drops it, it answers the user's parked polls {moved} and the
 * watcher polls again, which the node routes to the new owner; until then
 * a parked poll stays where it is (a replica still sees every write). A
 * subscription nobody polls for two
 * hold times is forgotten, so a client that went away costs nothing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include "swimring/error.h"
#include "swimring/hashring.h"
#include "swimring/node_route.h"
#include "swimring/time.h"
#include "presence_int.h"

#define SUB_SLOTS 1024
#define RETRY_MS 200

/* ---- owner side ----------------------------------------------------------------------- */

struct pw_park {
    struct pw_park *next;
    struct pw_sub *sub;
    struct presence *p;
    struct sr_node_reply *reply;
    struct event *timer;
    uint64_t after;             /* the seq the poller had */
};

struct pw_sub {
    struct pw_sub *next;        /* hash chain */
    uint64_t epoch, seq;        /* the last event is number seq */
    json_t **ev;                /* ring: event n at ev[n % events_kept] */
    size_t nev;                 /* valid events (<= events_kept) */
    struct pw_park *parked;
    sr_time_us last_poll;       /* monotonic */
    bool dirty, moved;
    uint32_t hash;
    size_t klen;
    char key[];
};

static struct pw_sub **sub_slot(struct presence *p, const void *key, size_t klen, uint32_t *h)
{
    *h = sr_ring_hash(key, klen);
    struct pw_sub **s = &p->subs[*h % SUB_SLOTS];
    while (*s && ((*s)->klen != klen || memcmp((*s)->key, key, klen) != 0))
        s = &(*s)->next;
    return s;
}

static struct pw_sub *sub_find(struct presence *p, const void *key, size_t klen)
{
    uint32_t h;
    return *sub_slot(p, key, klen, &h);
}

static struct pw_sub *sub_get(struct presence *p, const void *key, size_t klen)
{
    uint32_t h;
    struct pw_sub **slot = sub_slot(p, key, klen, &h);
    if (*slot)
        return *slot;
    struct pw_sub *s = calloc(1, sizeof(*s) + klen);
    if (!s || !(s->ev = calloc(p->cfg.events_kept, sizeof(json_t *)))) {
        free(s);
        return NULL;
    }
    /* An epoch no earlier owner can have used: this node's address, the time
     * and a counter mixed together; 53 bits so it stays an exact JSON
     * number everywhere. Never 0 (the watcher's "none yet"). */
    const char *self = sr_node_self(p->node);
    s->epoch = (((sr_time_wall_us() << 8) ^ ((uint64_t)sr_ring_hash(self, strlen(self)) << 21) ^
                 ++p->next_wid) & ((1ull << 53) - 1)) | 1;
    s->hash = h;
    s->klen = klen;
    memcpy(s->key, key, klen);
    *slot = s;
    p->nsubs++;
    return s;
}

static void sub_free(struct presence *p, struct pw_sub *s)
{
    uint32_t h;
    struct pw_sub **slot = sub_slot(p, s->key, s->klen, &h);
    *slot = s->next;
    for (size_t i = 0; i < p->cfg.events_kept; i++)
        json_decref(s->ev[i]);
    free(s->ev);
    free(s);
    p->nsubs--;
}

static void reply_json(struct sr_node_reply *r, json_t *j)
{
    char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    sr_node_reply(r, s ? 0 : SR_ENOMEM, s, s ? strlen(s) : 0);
    free(s);
}

static json_t *sub_view(struct presence *p, const struct pw_sub *s)
{
    return ps_user_json(ps_store_find(p->store, s->key, s->klen), s->key, s->klen);
}

/* Answer one poll: events after `after`, or a snapshot when they are gone. */
static void reply_poll(struct presence *p, struct pw_sub *s, struct sr_node_reply *r,
                       uint64_t epoch, uint64_t after)
{
    bool snapshot = epoch != s->epoch || after > s->seq || s->seq - after > s->nev;
    json_t *j = json_pack("{s:I, s:I, s:o}", "e", (json_int_t)s->epoch, "s", (json_int_t)s->seq,
                          "view", sub_view(p, s));
    if (j && snapshot) {
        json_object_set_new(j, "snapshot", json_true());
    } else if (j) {
        json_t *evs = json_array();
        for (uint64_t n = after + 1; n <= s->seq && evs; n++)
            json_array_append(evs, s->ev[n % p->cfg.events_kept]);
        json_object_set_new(j, "events", evs ? evs : json_array());
    }
    reply_json(r, j);
}

static void park_unlink(struct pw_park *k)
{
    struct pw_park **pp = &k->sub->parked;
    while (*pp != k)
        pp = &(*pp)->next;
    *pp = k->next;
    event_free(k->timer);
    free(k);
}

/* Nothing happened while parked: answer with no events. */
static void on_park_timeout(evutil_socket_t fd, short what, void *arg)
{
    struct pw_park *k = arg;
    (void)fd;
    (void)what;
    reply_poll(k->p, k->sub, k->reply, k->sub->epoch, k->after);
    park_unlink(k);
}

static int park(struct presence *p, struct pw_sub *s, struct sr_node_reply *r, uint32_t left_ms)
{
    uint64_t after = s->seq;
    struct pw_park *k = calloc(1, sizeof(*k));
    uint32_t hold = p->cfg.poll_hold_ms;
    /* answer well before the caller's deadline, or the answer is wasted */
    hold = left_ms > 1000 && left_ms - 1000 < hold ? left_ms - 1000 : hold;
    if (!k || !(k->timer = evtimer_new(sr_node_base(p->node), on_park_timeout, k))) {
        free(k);
        return SR_ENOMEM;
    }
    struct timeval tv = {hold / 1000, (hold % 1000) * 1000};
    *k = (struct pw_park){s->parked, s, p, r, k->timer, after};
    s->parked = k;
    evtimer_add(k->timer, &tv);
    p->st.polls_parked++;
    return 0;
}

/* body: {"e": epoch, "s": seq} (0, 0 the first time) */
void presence_on_poll(void *ud, struct sr_node_reply *r, const struct sr_node_request *q)
{
    struct presence *p = ud;
    json_t *j = json_loadb((const char *)q->body, q->body_len, 0, NULL);
    json_t *je = json_object_get(j, "e"), *js = json_object_get(j, "s");
    uint64_t epoch = json_is_integer(je) ? (uint64_t)json_integer_value(je) : 0;
    uint64_t after = json_is_integer(js) ? (uint64_t)json_integer_value(js) : 0;
    bool ok = json_is_object(j) && json_is_integer(je) && json_is_integer(js);
    json_decref(j);
    p->st.polls++;
    struct pw_sub *s = ok ? sub_get(p, q->key, q->key_len) : NULL;
    if (!s) {
        sr_node_reply(r, ok ? SR_ENOMEM : SR_EINVAL, NULL, 0);
        return;
    }
    s->last_poll = sr_time_mono_us();
    if (epoch == s->epoch && after == s->seq && q->deadline_ms > 1000 && !s->moved &&
        park(p, s, r, q->deadline_ms) == 0)
        return;
    reply_poll(p, s, r, epoch, after);
}

static json_t *event_json(const struct ps_user *u, const struct ps_sess *s, enum ps_change what)
{
    static const char *const types[] = {"online", "status", "meta", "offline", "offline"};
    enum ps_status agg = ps_user_aggregate(u);
    json_t *meta = s->meta_len ? json_loadb(s->data + s->sid_len, s->meta_len, 0, NULL) : NULL;
    json_t *e = json_pack("{s:s, s:s%, s:s%, s:s, s:o, s:s, s:I}", "type", types[what], "user",
                          u->key, (size_t)u->klen, "session", s->data, (size_t)s->sid_len,
                          "status", ps_status_name(s->status == PS_TOMB ? PS_OFFLINE : s->status),
                          "meta", meta ? meta : json_object(), "aggregate",
                          ps_status_name(agg == PS_TOMB ? PS_OFFLINE : agg), "ts",
                          (json_int_t)(sr_time_wall_us() / 1000));
    if (e && what >= PS_CH_OFFLINE)
        json_object_set_new(e, "reason", json_string(what == PS_CH_EXPIRED ? "expired" : "deleted"));
    return e;
}

/* From the store (also inside state hooks): record the event; parked polls
 * are answered from the loop, never from inside the store or the node. */
void presence_watch_on_change(struct presence *p, const struct ps_user *u, const struct ps_sess *s,
                              enum ps_change what, uint8_t old)
{
    (void)old;
    struct pw_sub *sub = sub_find(p, u->key, u->klen);
    json_t *e = sub ? event_json(u, s, what) : NULL;
    if (!e)
        return;
    sub->seq++;
    json_t **slot = &sub->ev[sub->seq % p->cfg.events_kept];
    json_decref(*slot);
    *slot = e;
    sub->nev += sub->nev < p->cfg.events_kept;
    p->st.watch_events++;
    if (sub->parked) {
        sub->dirty = true;
        event_active(p->ev_wake, EV_TIMEOUT, 0);
    }
}

/* The node let go of the user (handed off, no longer a replica): its
 * watchers poll again, which reaches the new owner, which has the user's
 * state by now (the node drops a key only after pushing it). Not on the
 * ring change itself: the new owner may not have the state yet, and a
 * snapshot from it would show sessions vanishing and coming back. While
 * this node stays a replica, replicated writes keep its events coming. */
void presence_watch_dropped(struct presence *p, const void *key, size_t len)
{
    struct pw_sub *s = sub_find(p, key, len);
    if (s) {
        s->moved = true;
        event_active(p->ev_wake, EV_TIMEOUT, 0);
    }
}

static void wake_sub(struct presence *p, struct pw_sub *s)
{
    while (s->parked) {
        struct pw_park *k = s->parked;
        if (s->moved)
            reply_json(k->reply, json_pack("{s:b}", "moved", 1));
        else
            reply_poll(p, s, k->reply, s->epoch, k->after);
        park_unlink(k);
    }
    s->dirty = false;
}

/* Parked polls wait with after == the seq they had; answer them with what
 * came since. */
static void on_wake(evutil_socket_t fd, short what, void *arg)
{
    struct presence *p = arg;
    (void)fd;
    (void)what;
    for (size_t i = 0; i < SUB_SLOTS; i++)
        for (struct pw_sub **ps = &p->subs[i]; *ps;) {
            struct pw_sub *s = *ps;
            if (s->dirty || s->moved)
                wake_sub(p, s);
            if (s->moved)
                sub_free(p, s); /* unlinks *ps */
            else
                ps = &s->next;
        }
}

static void on_gc(evutil_socket_t fd, short what, void *arg)
{
    struct presence *p = arg;
    (void)fd;
    (void)what;
    sr_time_us idle = 2 * (sr_time_us)p->cfg.poll_hold_ms * SR_US_PER_MS + 5 * SR_US_PER_S;
    sr_time_us now = sr_time_mono_us();
    for (size_t i = 0; i < SUB_SLOTS; i++)
        for (struct pw_sub **ps = &p->subs[i]; *ps;) {
            struct pw_sub *s = *ps;
            if (!s->parked && now - s->last_poll > idle)
                sub_free(p, s);
            else
                ps = &s->next;
        }
}

/* ---- watcher side: the SSE client's node ------------------------------------------------ */

struct pw_watch;

struct pw_wuser {
    struct pw_watch *w;
    char *user;
    size_t len;
    uint64_t epoch, seq;
    json_t *view;               /* the last view this client has, NULL before the snapshot */
    struct event *retry;
    bool inflight;
};

struct pw_watch {
    struct pw_watch *prev, *next;
    struct presence *p;         /* NULL once the service is freed */
    struct evhttp_request *req; /* NULL once the client is gone */
    struct evhttp_connection *conn;
    struct event *keepalive;
    size_t n, inflight;
    bool gone;
    struct pw_wuser u[];
};

static void sse(struct pw_watch *w, const char *event, json_t *data)
{
    char *s = data ? json_dumps(data, JSON_COMPACT) : NULL;
    struct evbuffer *b = s && w->req ? evbuffer_new() : NULL;
    if (b) {
        evbuffer_add_printf(b, "event: %s\ndata: %s\n\n", event, s);
        evhttp_send_reply_chunk(w->req, b);
        evbuffer_free(b);
        if (w->p && strcmp(event, "snapshot") != 0)
            w->p->st.watch_events++;
    }
    free(s);
}

static void watch_free(struct pw_watch *w)
{
    for (size_t i = 0; i < w->n; i++) {
        if (w->u[i].retry)
            event_free(w->u[i].retry);
        json_decref(w->u[i].view);
        free(w->u[i].user);
    }
    if (w->keepalive)
        event_free(w->keepalive);
    free(w);
}

/* The client went away (or the service stops): forget it here; polls still
 * out free the watch when the last one comes back. */
static void watch_gone(struct pw_watch *w)
{
    struct presence *p = w->p;
    if (w->gone)
        return;
    w->gone = true;
    if (w->req && w->conn)
        evhttp_connection_set_closecb(w->conn, NULL, NULL);
    w->req = NULL;
    for (size_t i = 0; i < w->n; i++)
        if (w->u[i].retry)
            evtimer_del(w->u[i].retry);
    if (w->keepalive)
        evtimer_del(w->keepalive);
    if (p) {
        p->st.watches_closed++;
        sr_node_http_release(p->node, "presence", "poll");
        if (w->prev)
            w->prev->next = w->next;
        else
            p->watches = w->next;
        if (w->next)
            w->next->prev = w->prev;
    }
    w->p = NULL;
    if (w->inflight == 0)
        watch_free(w);
}

static void on_client_close(struct evhttp_connection *c, void *arg)
{
    struct pw_watch *w = arg;
    (void)c;
    /* evhttp detached the unfinished request from the dead connection and
     * leaves it to us: ending it frees it. */
    if (w->req && !evhttp_request_get_connection(w->req))
        evhttp_send_reply_end(w->req);
    w->req = NULL;
    watch_gone(w);
}

static void on_keepalive(evutil_socket_t fd, short what, void *arg)
{
    struct pw_watch *w = arg;
    (void)fd;
    (void)what;
    struct evbuffer *b = w->req ? evbuffer_new() : NULL;
    if (b) {
        evbuffer_add(b, ": keepalive\n\n", 13);
        evhttp_send_reply_chunk(w->req, b);
        evbuffer_free(b);
    }
}

static json_t *find_session(json_t *view, const char *id)
{
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(view, "sessions"), i, s)
        if (strcmp(json_string_value(json_object_get(s, "id")), id) == 0)
            return s;
    return NULL;
}

static void diff_event(struct pw_watch *w, const char *type, json_t *view, json_t *s,
                       const char *reason)
{
    json_t *e = json_pack("{s:s, s:O, s:O, s:s, s:O, s:O}", "type", type, "user",
                          json_object_get(view, "user"), "session", json_object_get(s, "id"),
                          "status", reason ? "offline" : json_string_value(json_object_get(s, "status")),
                          "meta", json_object_get(s, "meta"), "aggregate",
                          json_object_get(view, "status"));
    if (e && reason)
        json_object_set_new(e, "reason", json_string(reason));
    sse(w, "change", e);
    json_decref(e);
}

/* A snapshot after the owner changed: the difference from what the client
 * saw, as the events it would have seen. */
static void diff_views(struct pw_watch *w, json_t *old, json_t *now)
{
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(now, "sessions"), i, s) {
        json_t *o = find_session(old, json_string_value(json_object_get(s, "id")));
        if (!o)
            diff_event(w, "online", now, s, NULL);
        else if (!json_equal(json_object_get(o, "status"), json_object_get(s, "status")))
            diff_event(w, "status", now, s, NULL);
        else if (!json_equal(json_object_get(o, "meta"), json_object_get(s, "meta")))
            diff_event(w, "meta", now, s, NULL);
    }
    json_array_foreach(json_object_get(old, "sessions"), i, s)
        if (!find_session(now, json_string_value(json_object_get(s, "id"))))
            diff_event(w, "offline", now, s, "gone");
}

static void poll_send(struct pw_wuser *wu);

static void poll_later(struct pw_wuser *wu, uint32_t ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    evtimer_add(wu->retry, &tv);
}

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    poll_send(arg);
}

/* One answer from the owner: emit what it says, then poll again. */
static void poll_apply(struct pw_wuser *wu, json_t *j)
{
    struct pw_watch *w = wu->w;
    json_t *view = json_object_get(j, "view"), *evs = json_object_get(j, "events");
    if (json_is_true(json_object_get(j, "snapshot"))) {
        if (!wu->view)
            sse(w, "snapshot", view);
        else
            diff_views(w, wu->view, view);
    } else {
        size_t i;
        json_t *e;
        json_array_foreach(evs, i, e)
            sse(w, "change", e);
    }
    wu->epoch = (uint64_t)json_integer_value(json_object_get(j, "e"));
    wu->seq = (uint64_t)json_integer_value(json_object_get(j, "s"));
    if (json_is_object(view)) {
        json_decref(wu->view);
        wu->view = json_incref(view);
    }
}

static void poll_done(void *ud, const struct sr_node_result *res)
{
    struct pw_wuser *wu = ud;
    struct pw_watch *w = wu->w;
    wu->inflight = false;
    w->inflight--;
    if (w->gone) {
        if (w->inflight == 0)
            watch_free(w);
        return;
    }
    json_t *j = res->status == 0 ? json_loadb((const char *)res->body, res->body_len, 0, NULL)
                                 : NULL;
    if (json_is_object(j) && json_is_true(json_object_get(j, "moved"))) {
        poll_send(wu); /* the node routes it to the new owner */
    } else if (json_is_object(j) && json_is_integer(json_object_get(j, "e"))) {
        poll_apply(wu, j);
        poll_send(wu);
    } else {
        poll_later(wu, RETRY_MS); /* owner unreachable or gone: try again */
    }
    json_decref(j);
}

static void poll_send(struct pw_wuser *wu)
{
    struct pw_watch *w = wu->w;
    char body[64];
    if (w->gone || wu->inflight)
        return;
    int n = snprintf(body, sizeof body, "{\"e\":%llu,\"s\":%llu}", (unsigned long long)wu->epoch,
                     (unsigned long long)wu->seq);
    uint32_t timeout = w->p->cfg.poll_hold_ms + 5000;
    if (sr_node_call(w->p->node, "presence", "poll", wu->user, wu->len, body, (size_t)n, timeout,
                     poll_done, wu) < 0) {
        poll_later(wu, RETRY_MS);
        return;
    }
    wu->inflight = true;
    w->inflight++;
}

/* users=a,b,c (each percent-encoded as needed): checked, deduplicated. */
static int watch_users(struct presence *p, struct evhttp_request *req, char ***out, size_t *n)
{
    struct evkeyvalq q;
    const char *query = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
    const char *list = NULL;
    TAILQ_INIT(&q);
    if (query && evhttp_parse_query_str(query, &q) == 0)
        list = evhttp_find_header(&q, "users");
    char *copy = list ? strdup(list) : NULL, *save = NULL;
    char **users = calloc(p->cfg.watch_max + 1, sizeof(char *));
    int rc = 0;
    *n = 0;
    if (!list || !*list) {
        presence_bad(p, req, 400, PP_bad_users, "users: give ?users=a,b,c");
        rc = -1;
    }
    for (char *u = rc == 0 && copy ? strtok_r(copy, ",", &save) : NULL; u && users;
         u = strtok_r(NULL, ",", &save)) {
        bool dup = false;
        for (size_t i = 0; i < *n; i++)
            dup = dup || strcmp(users[i], u) == 0;
        if (!presence_id_ok(u, strlen(u))) {
            presence_bad(p, req, 400, PP_bad_user, "users: '%.40s' is not a valid user id", u);
            rc = -1;
            break;
        }
        if (dup)
            continue;
        if (*n == p->cfg.watch_max) {
            presence_bad(p, req, 400, PP_too_many_users, "users: more than %u ids",
                         p->cfg.watch_max);
            rc = -1;
            break;
        }
        users[(*n)++] = strdup(u);
    }
    evhttp_clear_headers(&q);
    free(copy);
    if (rc < 0 || !users) {
        for (size_t i = 0; users && i < *n; i++)
            free(users[i]);
        free(users);
        if (rc == 0)
            evhttp_send_error(req, 500, "out of memory");
        return -1;
    }
    *out = users;
    return 0;
}

static struct pw_watch *watch_new(struct presence *p, struct evhttp_request *req, char **users,
                                  size_t n)
{
    struct pw_watch *w = calloc(1, sizeof(*w) + n * sizeof(struct pw_wuser));
    if (!w)
        return NULL;
    w->p = p;
    w->req = req;
    w->n = n;
    for (size_t i = 0; i < n; i++) {
        w->u[i].w = w;
        w->u[i].user = users[i];
        w->u[i].len = strlen(users[i]);
        users[i] = NULL;
        if (!(w->u[i].retry = evtimer_new(sr_node_base(p->node), on_retry, &w->u[i]))) {
            w->gone = true;
        }
    }
    if (w->gone || !(w->keepalive = event_new(sr_node_base(p->node), -1, EV_PERSIST,
                                              on_keepalive, w))) {
        watch_free(w);
        return NULL;
    }
    return w;
}

void presence_http_watch(struct presence *p, struct evhttp_request *req)
{
    char **users = NULL;
    size_t n = 0;
    if (evhttp_request_get_command(req) != EVHTTP_REQ_GET) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET");
        presence_bad(p, req, 405, PP_method_not_allowed, "use GET here");
        return;
    }
    if (watch_users(p, req, &users, &n) < 0)
        return;
    struct pw_watch *w = NULL;
    if (sr_node_http_admit(p->node, req, "presence", "poll", "watch", 5, 0) == 0) {
        if (!(w = watch_new(p, req, users, n))) {
            sr_node_http_release(p->node, "presence", "poll");
            evhttp_send_error(req, 500, "out of memory");
        }
    }
    for (size_t i = 0; i < n; i++)
        free(users[i]);
    free(users);
    if (!w)
        return;
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Content-Type", "text/event-stream");
    evhttp_add_header(h, "Cache-Control", "no-cache");
    evhttp_send_reply_start(req, 200, "OK");
    w->conn = evhttp_request_get_connection(req);
    evhttp_connection_set_closecb(w->conn, on_client_close, w);
    w->next = p->watches;
    if (p->watches)
        p->watches->prev = w;
    p->watches = w;
    p->st.watches_opened++;
    struct timeval ka = {p->cfg.keepalive_ms / 1000, (p->cfg.keepalive_ms % 1000) * 1000};
    evtimer_add(w->keepalive, &ka);
    for (size_t i = 0; i < w->n; i++)
        poll_send(&w->u[i]);
}

/* ---- life cycle, metrics ------------------------------------------------------------------ */

int presence_watch_init(struct presence *p)
{
    struct timeval every = {p->cfg.poll_hold_ms / 1000 + 1, 0};
    if (!(p->subs = calloc(SUB_SLOTS, sizeof(*p->subs))) ||
        !(p->ev_wake = event_new(sr_node_base(p->node), -1, 0, on_wake, p)) ||
        !(p->ev_gc = event_new(sr_node_base(p->node), -1, EV_PERSIST, on_gc, p)) ||
        event_add(p->ev_gc, &every) != 0)
        return SR_ENOMEM;
    return 0;
}

void presence_watch_free(struct presence *p)
{
    /* Watchers first: a parked poll answered below may be one of ours. The
     * streams are cut when the node frees its HTTP server (the loop no
     * longer runs: an orderly end could not be written anyway). */
    while (p->watches)
        watch_gone(p->watches);
    for (size_t i = 0; p->subs && i < SUB_SLOTS; i++)
        while (p->subs[i]) {
            struct pw_sub *s = p->subs[i];
            while (s->parked) {
                sr_node_reply(s->parked->reply, SR_ECLOSED, NULL, 0);
                park_unlink(s->parked);
            }
            sub_free(p, s);
        }
    free(p->subs);
    if (p->ev_wake)
        event_free(p->ev_wake);
    if (p->ev_gc)
        event_free(p->ev_gc);
}

int presence_watch_metrics(struct presence *p, struct sr_buf *b)
{
    size_t open = 0;
    for (struct pw_watch *w = p->watches; w; w = w->next)
        open++;
    return sr_buf_printf(
        b,
        "# HELP presence_watches Watch streams open on this node.\n"
        "# TYPE presence_watches gauge\npresence_watches %zu\n"
        "# HELP presence_watch_subscriptions Watched users subscribed at this owner.\n"
        "# TYPE presence_watch_subscriptions gauge\npresence_watch_subscriptions %zu\n"
        "# HELP presence_watch_events_total Change events recorded at owners and sent to clients here.\n"
        "# TYPE presence_watch_events_total counter\npresence_watch_events_total %llu\n"
        "# HELP presence_watches_opened_total Watch streams opened here.\n"
        "# TYPE presence_watches_opened_total counter\npresence_watches_opened_total %llu\n",
        open, p->nsubs, (unsigned long long)p->st.watch_events,
        (unsigned long long)p->st.watches_opened);
}
