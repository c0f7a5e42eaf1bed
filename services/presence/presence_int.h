/* presence internals shared by presence.c (endpoints, HTTP), presence_state.c
 * (state hooks) and presence_watch.c (watch subscriptions). */
#ifndef PRESENCE_INT_H
#define PRESENCE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "swimring/node.h"
#include "presence.h"
#include "presence_store.h"

struct event;
struct evhttp_request;

/* Bad-input problems, each a /metrics label. */
#define PRESENCE_PROBLEMS(X)        \
    X(bad_json)                     \
    X(unknown_status)               \
    X(meta_too_big)                 \
    X(meta_not_object)              \
    X(ttl_out_of_range)             \
    X(bad_user)                     \
    X(bad_session)                  \
    X(too_many_users)               \
    X(bad_users)                    \
    X(no_such_route)                \
    X(method_not_allowed)

enum presence_problem {
#define PP_ENUM(name) PP_##name,
    PRESENCE_PROBLEMS(PP_ENUM)
#undef PP_ENUM
    PP_COUNT
};

struct presence_stats {
    uint64_t bad[PP_COUNT];
    uint64_t heartbeats, ends, gets, batch_gets, batch_users, expired;
    uint64_t watches_opened, watches_closed, watch_events, polls, polls_parked;
};

struct pw_sub;    /* a watched user at its owner (presence_watch.c) */
struct pw_watch;  /* an SSE client on this node */

struct presence {
    struct sr_node *node;
    struct presence_cfg cfg;
    struct ps_store *store;
    struct event *ev_expire;      /* at the store's next expiry */
    struct sr_service_def svc;
    struct presence_stats st;
    /* watch, owner side */
    struct pw_sub **subs;         /* chained by user hash */
    size_t nsubs_slots, nsubs;
    struct event *ev_wake;        /* deferred: answer parked polls after changes */
    struct event *ev_gc;          /* forget subscriptions nobody polls */
    bool wake_pending;
    /* watch, client side */
    struct pw_watch *watches;
    uint64_t next_wid;
};

/* presence.c */
void presence_bad(struct presence *p, struct evhttp_request *req, int code,
                  enum presence_problem what, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* A user or session id from a path or a body: 1..PS_ID_MAX bytes of UTF-8, no
 * control characters. */
bool presence_id_ok(const char *s, size_t len);
void presence_arm_expiry(struct presence *p);

/* presence_state.c: the sr_state_ops hooks (unit = one user). */
extern const struct sr_state_ops presence_state_ops;

/* presence_watch.c */
int presence_watch_init(struct presence *p);
void presence_watch_free(struct presence *p);
void presence_watch_on_change(struct presence *p, const struct ps_user *u,
                              const struct ps_sess *s, enum ps_change what, uint8_t old);
void presence_watch_dropped(struct presence *p, const void *key, size_t len);
void presence_on_poll(void *ud, struct sr_node_reply *r, const struct sr_node_request *q);
void presence_http_watch(struct presence *p, struct evhttp_request *req);
int presence_watch_metrics(struct presence *p, struct sr_buf *b);

#endif
