/* Full sync (anti-entropy): our whole membership as one msgpack message
 * (layout in wire.h) and merging a peer's. The peer's input is hostile: it
 * is validated completely before any of it is applied. */
#include <string.h>
#include "swimring/error.h"
#include "swim/swim_impl.h"

int sr_swim_encode_state(struct sr_swim *s, struct sr_buf *out)
{
    struct sr_mp_writer w;
    sr_mp_writer_init(&w, out);
    sr_mp_write_map(&w, 4);
    sr_mp_write_uint(&w, 0);
    sr_mp_write_uint(&w, SR_SWIM_STATE_VERSION);
    sr_mp_write_uint(&w, 1);
    sr_mp_write_cstr(&w, s->mem.recs[s->self_id].addr);
    sr_mp_write_uint(&w, 2);
    sr_mp_write_uint(&w, s->mem.checksum);
    sr_mp_write_uint(&w, 3);
    sr_mp_write_array(&w, s->mem.used);
    for (uint32_t i = 0; i < s->mem.nrecs; i++) {
        const struct sr_swim_rec *r = &s->mem.recs[i];
        if (!r->used)
            continue;
        sr_swim_wire_put_update(&w, r->addr, r->name, r->incarnation, r->status,
                                r->labels, r->nlabels, NULL);
    }
    return sr_mp_writer_error(&w);
}

struct state_head {
    const char *from;
    uint32_t from_len;
    struct sr_mp_reader members;  /* positioned at the members array */
    bool have_members;
};

/* Read the top-level map; leave a cursor at the members array. */
static int read_head(const void *data, size_t len, struct state_head *h)
{
    struct sr_mp_reader r;
    uint32_t n;
    uint64_t version = 0;
    memset(h, 0, sizeof(*h));
    sr_mp_reader_init(&r, data, len);
    if (sr_mp_read_map(&r, &n) < 0)
        return SR_EPROTO;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t key = UINT64_MAX;
        if (sr_mp_peek(&r) == SR_MP_UINT ? sr_mp_read_uint(&r, &key) < 0 : sr_mp_skip(&r) < 0)
            return SR_EPROTO;
        int rc = 0;
        if (key == 0) {
            rc = sr_mp_read_uint(&r, &version);
        } else if (key == 1) {
            rc = sr_mp_read_str(&r, &h->from, &h->from_len);
            if (rc == 0 && (h->from_len == 0 || h->from_len >= SR_SWIM_ADDR_MAX ||
                            memchr(h->from, '\0', h->from_len)))
                rc = SR_EPROTO;
        } else if (key == 3) {
            h->members = r;
            h->have_members = true;
            rc = sr_mp_skip(&r);
        } else {
            rc = sr_mp_skip(&r);
        }
        if (rc < 0)
            return SR_EPROTO;
    }
    if (version != SR_SWIM_STATE_VERSION)
        return version == 0 ? SR_EPROTO : SR_EVERSION;
    if (sr_mp_left(&r) != 0 || h->from == NULL || !h->have_members)
        return SR_EPROTO;
    return 0;
}

/* Validate (apply == false) or apply every member entry. */
static int walk_members(struct sr_swim *s, struct state_head *h, const char *from, bool apply,
                        sr_time_us now)
{
    struct sr_mp_reader r = h->members;
    struct sr_swim_update u;
    uint32_t n;
    if (sr_mp_read_array(&r, &n) < 0)
        return SR_EPROTO;
    for (uint32_t i = 0; i < n; i++) {
        if (sr_swim_wire_read_update(&r, &u) < 0)
            return SR_EPROTO;
        if (apply)
            sr_swim_apply(s, &u, from, now);
    }
    return 0;
}

int sr_swim_merge_state(struct sr_swim *s, const void *data, size_t len)
{
    struct state_head h;
    int rc = read_head(data, len, &h);
    if (rc == 0)
        rc = walk_members(s, &h, NULL, false, 0);
    if (rc < 0) {
        s->stats.drop_malformed++;
        SR_WARN(s->log, "swim.sync_bad", "err=%s", sr_err_name(rc));
        return rc;
    }
    char from[SR_SWIM_ADDR_MAX];
    memcpy(from, h.from, h.from_len);
    from[h.from_len] = '\0';
    sr_time_us now = sr_swim_now(s);
    s->refuted = false;
    s->merging = true;
    walk_members(s, &h, from, true, now);
    s->merging = false;
    s->stats.full_syncs_merged++;
    if (s->refuted && !s->cfg.plain_dissemination) /* the peer thinks we are down: tell it at once */
        sr_swim_send_gossip(s, from, s->self_id);
    /* finish like any entry point: checksum event and the next tick */
    sr_swim_tick(s);
    return 0;
}
