/* RPC frame codec (format in frame.h). The decoder reads hostile bytes
 * through sr_mp_reader, which checks every length against the end first. */
#include "forward/frame.h"

#include <string.h>
#include "swimring/error.h"
#include "swimring/mp.h"

static const char *const kind_names[] = {
    "unknown", "request", "response", "cancel", "ping", "pong",
};

const char *sr_rpc_kind_name(uint32_t kind)
{
    if (kind >= SR_RPC_KIND_REQUEST && kind <= SR_RPC_KIND_PONG)
        return kind_names[kind];
    return kind_names[0];
}

static bool kind_valid(uint32_t kind)
{
    return kind >= SR_RPC_KIND_REQUEST && kind <= SR_RPC_KIND_PONG;
}

static uint32_t count_fields(const struct sr_rpc_frame *f, bool request)
{
    /* kind and id always; a request always carries deadline, service and
     * endpoint (the decoder requires the names, the deadline is patched). */
    uint32_t n = 2;
    n += f->status != 0;
    n += f->flags != 0;
    n += f->hops != 0;
    n += f->checksum != 0;
    n += f->key_len != 0;
    n += f->body_len != 0;
    n += f->rid_len != 0;
    n += request ? 3 : (f->deadline_ms != 0) + (f->service_len != 0) + (f->endpoint_len != 0);
    return n;
}

static void put_uint(struct sr_mp_writer *w, enum sr_rpc_field k, uint64_t v)
{
    sr_mp_write_uint(w, k);
    sr_mp_write_uint(w, v);
}

/* The deadline is always 0xce + 4 bytes so it can be patched in place. */
static void put_deadline(struct sr_mp_writer *w, uint32_t ms, size_t *off)
{
    sr_mp_write_uint(w, SR_RPC_F_DEADLINE);
    if (sr_mp_writer_error(w) != 0)
        return;
    uint8_t raw[SR_RPC_DEADLINE_WIDTH] = {0xce};
    int rc = sr_buf_append(w->buf, raw, sizeof(raw));
    if (rc < 0) {
        w->err = rc;
        return;
    }
    if (off != NULL)
        *off = w->buf->len - SR_RPC_DEADLINE_WIDTH;
    sr_rpc_frame_patch_deadline(w->buf->data + w->buf->len - SR_RPC_DEADLINE_WIDTH, ms);
}

void sr_rpc_frame_patch_deadline(uint8_t *at, uint32_t ms)
{
    at[0] = 0xce;
    at[1] = (uint8_t)(ms >> 24);
    at[2] = (uint8_t)(ms >> 16);
    at[3] = (uint8_t)(ms >> 8);
    at[4] = (uint8_t)ms;
}

static void put_payload(struct sr_mp_writer *w, const struct sr_rpc_frame *f,
                        size_t *deadline_off)
{
    bool request = f->kind == SR_RPC_KIND_REQUEST;
    sr_mp_write_map(w, count_fields(f, request));
    put_uint(w, SR_RPC_F_KIND, f->kind);
    put_uint(w, SR_RPC_F_ID, f->id);
    if (f->status != 0) {
        sr_mp_write_uint(w, SR_RPC_F_STATUS);
        sr_mp_write_int(w, f->status);
    }
    if (f->flags != 0)
        put_uint(w, SR_RPC_F_FLAGS, f->flags);
    if (request || f->deadline_ms != 0)
        put_deadline(w, f->deadline_ms, deadline_off);
    if (f->hops != 0)
        put_uint(w, SR_RPC_F_HOPS, f->hops);
    if (f->checksum != 0)
        put_uint(w, SR_RPC_F_CHECKSUM, f->checksum);
    if (request || f->service_len != 0) {
        sr_mp_write_uint(w, SR_RPC_F_SERVICE);
        sr_mp_write_str(w, f->service, f->service_len);
    }
    if (request || f->endpoint_len != 0) {
        sr_mp_write_uint(w, SR_RPC_F_ENDPOINT);
        sr_mp_write_str(w, f->endpoint, f->endpoint_len);
    }
    if (f->key_len != 0) {
        sr_mp_write_uint(w, SR_RPC_F_KEY);
        sr_mp_write_bin(w, f->key, f->key_len);
    }
    if (f->rid_len != 0) {
        sr_mp_write_uint(w, SR_RPC_F_RID);
        sr_mp_write_bin(w, f->rid, f->rid_len);
    }
    if (f->body_len != 0) {
        sr_mp_write_uint(w, SR_RPC_F_BODY);
        sr_mp_write_bin(w, f->body, f->body_len);
    }
}

int sr_rpc_frame_encode(struct sr_buf *b, const struct sr_rpc_frame *f,
                        uint32_t max_frame, size_t *deadline_off)
{
    if (!kind_valid(f->kind) || f->service_len > SR_RPC_NAME_MAX ||
        f->endpoint_len > SR_RPC_NAME_MAX || f->rid_len > SR_RPC_RID_MAX || f->status > 0)
        return SR_EINVAL;
    /* Cheap early refusal before copying a huge body. */
    if ((uint64_t)f->body_len + f->key_len > max_frame)
        return SR_ETOOBIG;
    if (deadline_off != NULL)
        *deadline_off = 0;
    size_t start = b->len;
    static const uint8_t zero[SR_RPC_FRAME_HEADER];
    int rc = sr_buf_append(b, zero, sizeof(zero));
    if (rc < 0)
        return rc;
    struct sr_mp_writer w;
    sr_mp_writer_init(&w, b);
    put_payload(&w, f, deadline_off);
    rc = sr_mp_writer_error(&w);
    size_t payload = b->len - start - SR_RPC_FRAME_HEADER;
    if (rc == 0 && payload > max_frame)
        rc = SR_ETOOBIG;
    if (rc < 0) {
        b->len = start;
        return rc;
    }
    if (deadline_off != NULL && *deadline_off != 0)
        *deadline_off -= start;
    uint8_t *h = b->data + start;
    h[0] = (uint8_t)(payload >> 24);
    h[1] = (uint8_t)(payload >> 16);
    h[2] = (uint8_t)(payload >> 8);
    h[3] = (uint8_t)payload;
    return 0;
}

int sr_rpc_frame_peek(const uint8_t *p, size_t len, uint32_t max_frame,
                      uint32_t *payload_len)
{
    if (len < SR_RPC_FRAME_HEADER)
        return SR_ETRUNC;
    uint32_t n = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
    if (n == 0)
        return SR_EPROTO;
    if (n > max_frame)
        return SR_ETOOBIG;
    *payload_len = n;
    return 0;
}

/* An unsigned field that must fit 32 bits. */
static int read_u32(struct sr_mp_reader *r, uint32_t *out)
{
    uint64_t v;
    int rc = sr_mp_read_uint(r, &v);
    if (rc < 0)
        return rc;
    if (v > UINT32_MAX)
        return SR_ERANGE;
    *out = (uint32_t)v;
    return 0;
}

static int read_status(struct sr_mp_reader *r, int32_t *out)
{
    int64_t v;
    int rc = sr_mp_read_int(r, &v);
    if (rc < 0)
        return rc;
    /* Statuses are 0 or negative SR_E* codes; codes this build does not
     * know pass through unchanged. */
    if (v > 0 || v < INT32_MIN)
        return SR_ERANGE;
    *out = (int32_t)v;
    return 0;
}

static int read_name(struct sr_mp_reader *r, const char **s, uint32_t *len)
{
    int rc = sr_mp_read_str(r, s, len);
    if (rc == 0 && *len > SR_RPC_NAME_MAX)
        return SR_ETOOBIG;
    return rc;
}

/* The key may come as bin (what we send) or str (a hand-written client). */
static int read_bytes(struct sr_mp_reader *r, const uint8_t **p, uint32_t *len)
{
    if (sr_mp_peek(r) == SR_MP_STR)
        return sr_mp_read_str(r, (const char **)p, len);
    return sr_mp_read_bin(r, p, len);
}

static int read_rid(struct sr_mp_reader *r, const uint8_t **p, uint32_t *len)
{
    int rc = read_bytes(r, p, len);
    return rc == 0 && *len > SR_RPC_RID_MAX ? SR_ETOOBIG : rc;
}

static const char *const field_names[SR_RPC_F_COUNT] = {
    "kind", "id", "status", "flags", "deadline", "hops",
    "checksum", "service", "endpoint", "key", "body", "rid",
};

static int read_field(struct sr_mp_reader *r, uint64_t key, struct sr_rpc_frame *f)
{
    switch (key) {
    case SR_RPC_F_KIND: return read_u32(r, &f->kind);
    case SR_RPC_F_ID: return sr_mp_read_uint(r, &f->id);
    case SR_RPC_F_STATUS: return read_status(r, &f->status);
    case SR_RPC_F_FLAGS: return read_u32(r, &f->flags);
    case SR_RPC_F_DEADLINE: return read_u32(r, &f->deadline_ms);
    case SR_RPC_F_HOPS: return read_u32(r, &f->hops);
    case SR_RPC_F_CHECKSUM: return sr_mp_read_uint(r, &f->checksum);
    case SR_RPC_F_SERVICE: return read_name(r, &f->service, &f->service_len);
    case SR_RPC_F_ENDPOINT: return read_name(r, &f->endpoint, &f->endpoint_len);
    case SR_RPC_F_KEY: return read_bytes(r, &f->key, &f->key_len);
    case SR_RPC_F_BODY: return read_bytes(r, &f->body, &f->body_len);
    case SR_RPC_F_RID: return read_rid(r, &f->rid, &f->rid_len);
    default: return sr_mp_skip(r);
    }
}

static int fail(const char **field, const char *name, int rc)
{
    if (field != NULL)
        *field = name;
    return rc;
}

/* Cross-field rules, after every field is read. */
static int check_frame(const struct sr_rpc_frame *f, uint32_t seen, const char **field)
{
    if (!(seen & (1u << SR_RPC_F_KIND)))
        return fail(field, "kind", SR_EPROTO);
    if (!kind_valid(f->kind))
        return fail(field, "kind", SR_ERANGE);
    if (!(seen & (1u << SR_RPC_F_ID)))
        return fail(field, "id", SR_EPROTO);
    if (f->kind == SR_RPC_KIND_REQUEST) {
        if (!(seen & (1u << SR_RPC_F_SERVICE)))
            return fail(field, "service", SR_EPROTO);
        if (!(seen & (1u << SR_RPC_F_ENDPOINT)))
            return fail(field, "endpoint", SR_EPROTO);
    }
    return 0;
}

int sr_rpc_frame_decode(const uint8_t *p, size_t len, struct sr_rpc_frame *f,
                        const char **field)
{
    memset(f, 0, sizeof(*f));
    struct sr_mp_reader r;
    sr_mp_reader_init(&r, p, len);
    uint32_t n;
    int rc = sr_mp_read_map(&r, &n);
    if (rc < 0)
        return fail(field, "map", rc);
    uint32_t seen = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t key;
        if (sr_mp_peek(&r) != SR_MP_UINT) {
            /* A key of another type is someone else's extension: skip the
             * pair. A broken key fails in sr_mp_skip. */
            if ((rc = sr_mp_skip(&r)) < 0 || (rc = sr_mp_skip(&r)) < 0)
                return fail(field, "unknown field", rc);
            continue;
        }
        rc = sr_mp_read_uint(&r, &key);
        if (rc < 0)
            return fail(field, "map key", rc);
        const char *name = key < SR_RPC_F_COUNT ? field_names[key] : "unknown field";
        if (key < SR_RPC_F_COUNT) {
            if (seen & (1u << key))
                return fail(field, name, SR_EPROTO);
            seen |= 1u << key;
        }
        rc = read_field(&r, key, f);
        if (rc < 0)
            return fail(field, name, rc);
    }
    if (sr_mp_left(&r) != 0)
        return fail(field, "trailing bytes", SR_EPROTO);
    return check_frame(f, seen, field);
}
