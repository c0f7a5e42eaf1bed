/* Datagram codec; the layout is drawn in wire.h. */
#include "swim/wire.h"

#include <string.h>
#include "swimring/error.h"

void sr_swim_wire_put_update(struct sr_mp_writer *w, const char *addr, const char *name,
                             uint64_t inc, uint32_t status,
                             const struct sr_swim_label *labels, size_t nlabels,
                             const char *from)
{
    bool has_labels = labels != NULL && nlabels > 0;
    bool has_from = from != NULL && from[0] != '\0';
    sr_mp_write_map(w, 4u + has_labels + has_from);
    sr_mp_write_uint(w, 0);
    sr_mp_write_cstr(w, addr);
    sr_mp_write_uint(w, 1);
    sr_mp_write_cstr(w, name ? name : "");
    sr_mp_write_uint(w, 2);
    sr_mp_write_uint(w, inc);
    sr_mp_write_uint(w, 3);
    sr_mp_write_uint(w, status);
    if (has_labels) {
        sr_mp_write_uint(w, 4);
        sr_mp_write_map(w, (uint32_t)nlabels);
        for (size_t i = 0; i < nlabels; i++) {
            sr_mp_write_cstr(w, labels[i].key);
            sr_mp_write_cstr(w, labels[i].value);
        }
    }
    if (has_from) {
        sr_mp_write_uint(w, 5);
        sr_mp_write_cstr(w, from);
    }
}

static void put_be16(uint8_t *p, uint32_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t get_be(const uint8_t *p, int n)
{
    uint32_t v = 0;
    for (int i = 0; i < n; i++)
        v = (v << 8) | p[i];
    return v;
}

int sr_swim_wire_begin(struct sr_buf *b, const struct sr_swim_msg *m)
{
    static const uint8_t head[SR_SWIM_WIRE_HEADER] = {SR_SWIM_WIRE_MAGIC, SR_SWIM_WIRE_VERSION};
    static const uint8_t arr16[3] = {0xdc, 0, 0};
    struct sr_mp_writer w;
    bool req = m->target != NULL;
    sr_buf_reset(b);
    int rc = sr_buf_append(b, head, sizeof(head));
    if (rc < 0)
        return rc;
    sr_mp_writer_init(&w, b);
    sr_mp_write_map(&w, req ? 7 : 5);
    sr_mp_write_uint(&w, 0);
    sr_mp_write_uint(&w, m->type);
    sr_mp_write_uint(&w, 1);
    sr_mp_write_uint(&w, m->seq);
    sr_mp_write_uint(&w, 2);
    sr_mp_write_uint(&w, m->checksum);
    sr_mp_write_uint(&w, 3);
    sr_mp_write_uint(&w, m->flags);
    if (req) {
        sr_mp_write_uint(&w, 4);
        sr_mp_write_str(&w, m->target, m->target_len);
        sr_mp_write_uint(&w, 5);
        sr_mp_write_uint(&w, m->timeout_ms);
    }
    sr_mp_write_uint(&w, 6);
    if (sr_mp_writer_error(&w) != 0)
        return sr_mp_writer_error(&w);
    rc = sr_buf_append(b, arr16, sizeof(arr16));
    return rc < 0 ? rc : (int)(b->len - sizeof(arr16));
}

int sr_swim_wire_finish(struct sr_buf *b, size_t arr_off, size_t nupdates)
{
    size_t body = b->len - SR_SWIM_WIRE_HEADER;
    if (body > 0xffff || nupdates > 0xffff || arr_off + 3 > b->len)
        return SR_ETOOBIG;
    put_be16(b->data + arr_off + 1, (uint32_t)nupdates);
    put_be16(b->data + 2, (uint32_t)body);
    put_be32(b->data + 4, sr_swim_crc32c(0, b->data + SR_SWIM_WIRE_HEADER, body));
    return 0;
}

/* ---- decoding: everything below treats its input as hostile ---- */

static bool str_ok(const char *s, uint32_t len, uint32_t max, bool nonempty)
{
    if (len >= max || (nonempty && len == 0))
        return false;
    return memchr(s, '\0', len) == NULL;
}

static int read_str_field(struct sr_mp_reader *r, const char **s, uint32_t *len,
                          uint32_t max, bool nonempty)
{
    if (sr_mp_read_str(r, s, len) < 0 || !str_ok(*s, *len, max, nonempty))
        return SR_EPROTO;
    return 0;
}

static int read_labels(struct sr_mp_reader *r, struct sr_swim_update *u)
{
    const uint8_t *start = r->p;
    uint32_t n;
    if (sr_mp_read_map(r, &n) < 0 || n > SR_SWIM_LABELS_MAX)
        return SR_EPROTO;
    for (uint32_t i = 0; i < n; i++) {
        const char *s;
        uint32_t len;
        if (read_str_field(r, &s, &len, SR_SWIM_LABEL_MAX, true) < 0 ||
            read_str_field(r, &s, &len, SR_SWIM_LABEL_MAX, false) < 0)
            return SR_EPROTO;
    }
    u->labels = start;
    u->labels_len = (size_t)(r->p - start);
    u->nlabels = n;
    return 0;
}

static int read_update_field(struct sr_mp_reader *r, uint64_t key, struct sr_swim_update *u)
{
    switch (key) {
    case 0: return read_str_field(r, &u->addr, &u->addr_len, SR_SWIM_ADDR_MAX, true);
    case 1: return read_str_field(r, &u->name, &u->name_len, SR_SWIM_NAME_MAX, false);
    case 2: return sr_mp_read_uint(r, &u->incarnation) < 0 ? SR_EPROTO : 0;
    case 3: {
        uint64_t st;
        if (sr_mp_read_uint(r, &st) < 0 || st > SR_SWIM_TOMBSTONE)
            return SR_EPROTO;
        u->status = (uint32_t)st;
        return 0;
    }
    case 4: return read_labels(r, u);
    case 5: return read_str_field(r, &u->from, &u->from_len, SR_SWIM_ADDR_MAX, false);
    default: return sr_mp_skip(r) < 0 ? SR_EPROTO : 0;
    }
}

/* Reads a map key; non-integer keys are skipped with their value (key = ~0). */
static int read_key(struct sr_mp_reader *r, uint64_t *key)
{
    if (sr_mp_peek(r) == SR_MP_UINT)
        return sr_mp_read_uint(r, key) < 0 ? SR_EPROTO : 0;
    *key = UINT64_MAX;
    return sr_mp_skip(r) < 0 ? SR_EPROTO : 0;
}

int sr_swim_wire_read_update(struct sr_mp_reader *r, struct sr_swim_update *u)
{
    uint32_t n;
    bool have_inc = false, have_status = false;
    memset(u, 0, sizeof(*u));
    u->name = "";
    u->status = UINT32_MAX;
    if (sr_mp_read_map(r, &n) < 0)
        return SR_EPROTO;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t key;
        if (read_key(r, &key) < 0 || read_update_field(r, key, u) < 0)
            return SR_EPROTO;
        have_inc |= key == 2;
        have_status |= key == 3;
    }
    if (u->addr == NULL || !have_inc || !have_status)
        return SR_EPROTO;
    return 0;
}

static int read_updates(struct sr_mp_reader *r, struct sr_swim_msg *m,
                        struct sr_swim_update *ups, size_t cap)
{
    uint32_t n;
    if (sr_mp_read_array(r, &n) < 0 || n > cap)
        return SR_EPROTO;
    for (uint32_t i = 0; i < n; i++)
        if (sr_swim_wire_read_update(r, &ups[i]) < 0)
            return SR_EPROTO;
    m->nupdates = n;
    return 0;
}

static int read_msg_field(struct sr_mp_reader *r, uint64_t key, struct sr_swim_msg *m,
                          struct sr_swim_update *ups, size_t cap)
{
    uint64_t v = 0;
    switch (key) {
    case 0: case 1: case 2: case 3: case 5:
        if (sr_mp_read_uint(r, &v) < 0)
            return SR_EPROTO;
        if (key == 0)
            m->type = v > 255 ? 0 : (uint32_t)v;
        else if (key == 1)
            m->seq = v;
        else if (key == 2)
            m->checksum = v;
        else if (key == 3)
            m->flags = (uint32_t)v;
        else
            m->timeout_ms = v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
        return 0;
    case 4: return read_str_field(r, &m->target, &m->target_len, SR_SWIM_ADDR_MAX, true);
    case 6: return read_updates(r, m, ups, cap);
    default: return sr_mp_skip(r) < 0 ? SR_EPROTO : 0;
    }
}

int sr_swim_wire_decode_body(const void *body, size_t len, struct sr_swim_msg *m,
                             struct sr_swim_update *ups, size_t cap)
{
    struct sr_mp_reader r;
    uint32_t n;
    memset(m, 0, sizeof(*m));
    sr_mp_reader_init(&r, body, len);
    if (sr_mp_read_map(&r, &n) < 0)
        return SR_EPROTO;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t key;
        if (read_key(&r, &key) < 0 || read_msg_field(&r, key, m, ups, cap) < 0)
            return SR_EPROTO;
    }
    if (sr_mp_left(&r) != 0 || m->type < SR_SWIM_MSG_PING || m->type > SR_SWIM_MSG_GOSSIP)
        return SR_EPROTO;
    if (m->type == SR_SWIM_MSG_PING_REQ && m->target == NULL)
        return SR_EPROTO;
    return 0;
}

int sr_swim_wire_decode(const void *data, size_t len, struct sr_swim_msg *m,
                        struct sr_swim_update *ups, size_t cap)
{
    const uint8_t *p = data;
    memset(m, 0, sizeof(*m));
    if (len < SR_SWIM_WIRE_HEADER)
        return SR_ETRUNC;
    if (p[0] != SR_SWIM_WIRE_MAGIC)
        return SR_EPROTO;
    if (p[1] != SR_SWIM_WIRE_VERSION)
        return SR_EVERSION;
    size_t body = get_be(p + 2, 2);
    if (body > len - SR_SWIM_WIRE_HEADER)
        return SR_ETRUNC;
    if (body < len - SR_SWIM_WIRE_HEADER)
        return SR_EPROTO;
    if (sr_swim_crc32c(0, p + SR_SWIM_WIRE_HEADER, body) != get_be(p + 4, 4))
        return SR_ECHECKSUM;
    return sr_swim_wire_decode_body(p + SR_SWIM_WIRE_HEADER, body, m, ups, cap);
}

size_t sr_swim_wire_labels(const struct sr_swim_update *u, struct sr_swim_label *out)
{
    struct sr_mp_reader r;
    uint32_t n;
    if (u->labels == NULL)
        return 0;
    sr_mp_reader_init(&r, u->labels, u->labels_len);
    if (sr_mp_read_map(&r, &n) < 0)
        return 0;
    for (uint32_t i = 0; i < n && i < SR_SWIM_LABELS_MAX; i++) {
        if (sr_mp_read_str_copy(&r, out[i].key, sizeof(out[i].key)) < 0 ||
            sr_mp_read_str_copy(&r, out[i].value, sizeof(out[i].value)) < 0)
            return i;
    }
    return n;
}
