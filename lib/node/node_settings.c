/* Cluster settings: small versioned key/value pairs every node converges
 * on (kill switches are "ks/<service>/<endpoint>" = "off" | "drop" |
 * "reject" | "log:<absolute path>").
 *
 * Spread by push-pull gossip over RPC: on a change the node pushes all its
 * settings to SETTINGS_FANOUT random live members at once, and every
 * period_ms it does one push-pull with one random live member (anti-entropy,
 * so a node that was partitioned or joined later catches up). Each side
 * merges what it gets: the higher version wins, equal versions are decided
 * by the larger origin address, so every node picks the same winner for
 * concurrent sets. Versions are wall-clock milliseconds kept monotonic per
 * key (see node_setting_set). A deletion is a setting with no value (a tombstone), so
 * it spreads like any other change.
 *
 * Why not inside the SWIM datagrams: settings are rare and larger than
 * member updates; a separate exchange keeps the datagram format and its MTU
 * arithmetic unchanged, and with a few members per round it reaches n nodes
 * in O(log n) rounds like the membership gossip does.
 *
 * Wire (msgpack, the body of "_settings"/"sync" requests and answers):
 *   array of [key str, value str|nil, version uint, origin str] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/event.h>
#include "swimring/buf.h"
#include "swimring/error.h"
#include "swimring/mp.h"
#include "node_settings.h"

#define SETTINGS_FANOUT 3u
#define SETTINGS_TIMEOUT_MS 2000u

/* ---- the table ------------------------------------------------------------ */

static struct node_setting *settings_find(struct sr_node *node, const char *key)
{
    for (size_t i = 0; i < node->nsettings; i++)
        if (strcmp(node->settings[i].key, key) == 0)
            return &node->settings[i];
    return NULL;
}

/* Does (v, origin) beat what we hold? */
static bool settings_newer(const struct node_setting *cur, uint64_t v, const char *origin)
{
    return !cur || v > cur->version || (v == cur->version && strcmp(origin, cur->origin) > 0);
}

/* Apply one setting if it wins; 1 if it changed something, 0 if not,
 * SR_EFULL or SR_ETOOBIG. */
static int settings_apply(struct sr_node *node, const char *key, const char *value, uint64_t v,
                          const char *origin)
{
    if (strlen(key) >= NODE_SETTING_KEY_MAX || (value && strlen(value) >= NODE_SETTING_VALUE_MAX) ||
        strlen(origin) >= SR_SWIM_ADDR_MAX || !key[0])
        return SR_ETOOBIG;
    struct node_setting *s = settings_find(node, key);
    if (!settings_newer(s, v, origin))
        return 0;
    if (!s) {
        if (node->nsettings == NODE_SETTINGS_MAX)
            return SR_EFULL;
        s = &node->settings[node->nsettings++];
        snprintf(s->key, sizeof s->key, "%s", key);
    }
    s->version = v;
    s->deleted = value == NULL;
    snprintf(s->value, sizeof s->value, "%s", value ? value : "");
    snprintf(s->origin, sizeof s->origin, "%s", origin);
    node->setting_changes++;
    node_settings_changed(node, s);
    return 1;
}

/* ---- encoding --------------------------------------------------------------- */

static int settings_encode(struct sr_node *node, struct sr_buf *b)
{
    struct sr_mp_writer w;
    sr_buf_create(b, 0);
    sr_mp_writer_init(&w, b);
    sr_mp_write_array(&w, (uint32_t)node->nsettings);
    for (size_t i = 0; i < node->nsettings; i++) {
        const struct node_setting *s = &node->settings[i];
        sr_mp_write_array(&w, 4);
        sr_mp_write_cstr(&w, s->key);
        if (s->deleted)
            sr_mp_write_nil(&w);
        else
            sr_mp_write_cstr(&w, s->value);
        sr_mp_write_uint(&w, s->version);
        sr_mp_write_cstr(&w, s->origin);
    }
    return sr_mp_writer_error(&w);
}

/* Merge a peer's settings; hostile input: every length checked, a bad
 * message changes nothing after the first bad entry and is counted. */
int node_settings_merge(struct sr_node *node, const void *data, size_t len)
{
    struct sr_mp_reader r;
    uint32_t n, four = 0;
    sr_mp_reader_init(&r, data, len);
    int rc = sr_mp_read_array(&r, &n);
    for (uint32_t i = 0; rc == 0 && i < n; i++) {
        char key[NODE_SETTING_KEY_MAX], value[NODE_SETTING_VALUE_MAX], origin[SR_SWIM_ADDR_MAX];
        uint64_t v = 0;
        bool nil = false;
        if ((rc = sr_mp_read_array(&r, &four)) < 0)
            break;
        if (four != 4) {
            rc = SR_EPROTO;
            break;
        }
        if ((rc = sr_mp_read_str_copy(&r, key, sizeof key)) < 0)
            break;
        if (sr_mp_peek(&r) == SR_MP_NIL)
            nil = (rc = sr_mp_read_nil(&r)) == 0;
        else
            rc = sr_mp_read_str_copy(&r, value, sizeof value);
        if (rc < 0 || (rc = sr_mp_read_uint(&r, &v)) < 0 ||
            (rc = sr_mp_read_str_copy(&r, origin, sizeof origin)) < 0)
            break;
        rc = settings_apply(node, key, nil ? NULL : value, v, origin);
        rc = rc > 0 ? 0 : rc;
    }
    if (rc < 0)
        node->settings_bad++;
    return rc < 0 ? rc : 0;
}

/* ---- exchange --------------------------------------------------------------- */

static void settings_serve(void *ud, struct sr_rpc_reply *reply, const struct sr_rpc_request *req)
{
    struct sr_node *node = ud;
    struct sr_buf b;
    int rc = node_settings_merge(node, req->body, req->body_len);
    if (rc < 0) {
        sr_rpc_respond(reply, rc, NULL, 0);
        return;
    }
    if ((rc = settings_encode(node, &b)) < 0) {
        sr_buf_destroy(&b);
        sr_rpc_respond(reply, rc, NULL, 0);
        return;
    }
    sr_rpc_respond(reply, 0, b.data, b.len);
    sr_buf_destroy(&b);
}

static void settings_done(void *ud, const struct sr_rpc_result *res)
{
    struct sr_node *node = ud;
    if (res->status == 0 && res->remote)
        (void)node_settings_merge(node, res->body, res->body_len);
}

/* Push-pull with `peer`. */
static void settings_exchange(struct sr_node *node, const char *peer)
{
    struct sr_buf b;
    if (node_fault_drop(node, peer))
        return;
    if (settings_encode(node, &b) == 0) {
        struct sr_rpc_call_args a = {.service = "_settings", .endpoint = "sync", .body = b.data,
                                     .body_len = b.len, .timeout_ms = SETTINGS_TIMEOUT_MS,
                                     .flags = SR_RPC_IDEMPOTENT};
        if (sr_rpc_call(node->rpc, peer, &a, settings_done, node, NULL) == 0)
            node->settings_exchanges++;
    }
    sr_buf_destroy(&b);
}

struct pick {
    const char *self;
    char chosen[SETTINGS_FANOUT][SR_SWIM_ADDR_MAX];
    size_t n, seen;
    uint64_t rnd;
    size_t want;
};

/* Reservoir sampling over the live members other than self. */
static void pick_member(void *ud, const struct sr_swim_member_info *m)
{
    struct pick *p = ud;
    if (m->is_self || m->status != SR_SWIM_ALIVE)
        return;
    p->seen++;
    p->rnd = p->rnd * 6364136223846793005ULL + 1442695040888963407ULL;
    size_t slot = p->n < p->want ? p->n++ : (size_t)((p->rnd >> 33) % p->seen);
    if (slot < p->want)
        snprintf(p->chosen[slot], SR_SWIM_ADDR_MAX, "%s", m->addr);
}

static void settings_gossip(struct sr_node *node, size_t fanout)
{
    if (!node->swim || !node->rpc || node->nsettings == 0)
        return;
    struct pick p = {.self = node->self, .want = fanout,
                     .rnd = sr_time_mono_us() ^ (uint64_t)(uintptr_t)node};
    sr_swim_foreach(node->swim, pick_member, &p);
    for (size_t i = 0; i < p.n; i++)
        settings_exchange(node, p.chosen[i]);
}

static void settings_on_timer(evutil_socket_t fd, short what, void *arg)
{
    struct sr_node *node = arg;
    (void)fd;
    (void)what;
    settings_gossip(node, 1);
    uint32_t ms = node->cfg.swim.period_ms;
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    evtimer_add(node->ev_settings, &tv);
}

int node_settings_start(struct sr_node *node)
{
    node->ev_settings = evtimer_new(node->base, settings_on_timer, node);
    if (!node->ev_settings)
        return SR_ENOMEM;
    struct timeval tv = {0, 1000};
    evtimer_add(node->ev_settings, &tv);
    return sr_rpc_handle(node->rpc, "_settings", "sync", settings_serve, node);
}

void node_settings_stop(struct sr_node *node)
{
    if (node->ev_settings)
        event_free(node->ev_settings);
    node->ev_settings = NULL;
}

int node_setting_set(struct sr_node *node, const char *key, const char *value)
{
    /* Last writer wins by wall-clock milliseconds (a hybrid clock: never
     * below what we have seen + 1), so a later set on another node wins even
     * if this node has not heard of an earlier one yet; clocks need only be
     * closer than the time between two operator actions. */
    const struct node_setting *cur = settings_find(node, key);
    uint64_t v = sr_time_wall_us() / 1000;
    if (cur && v <= cur->version)
        v = cur->version + 1;
    int rc = settings_apply(node, key, value, v, node->self);
    if (rc > 0)
        settings_gossip(node, SETTINGS_FANOUT);
    return rc < 0 ? rc : 0;
}

const struct node_setting *node_setting_get(struct sr_node *node, const char *key)
{
    return settings_find(node, key);
}
