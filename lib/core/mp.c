#include "swimring/mp.h"
#include "swimring/error.h"

#include <msgpack.h>
#include <string.h>

/* ---- writing: msgpack-c's packer appending to an sr_buf ---- */

static int pack_to_buf(void *data, const char *p, size_t n)
{
    struct sr_mp_writer *w = data;
    if (w->err != 0)
        return -1;
    int rc = sr_buf_append(w->buf, p, n);
    if (rc < 0) {
        w->err = rc;
        return -1;
    }
    return 0;
}

#define WITH_PACKER(w, pk)                                                     \
    msgpack_packer pk;                                                         \
    if ((w)->err != 0)                                                         \
        return;                                                                \
    msgpack_packer_init(&pk, (w), pack_to_buf)

void sr_mp_writer_init(struct sr_mp_writer *w, struct sr_buf *buf)
{
    w->buf = buf;
    w->err = 0;
}

void sr_mp_write_nil(struct sr_mp_writer *w) { WITH_PACKER(w, pk); msgpack_pack_nil(&pk); }

void sr_mp_write_bool(struct sr_mp_writer *w, bool v)
{
    WITH_PACKER(w, pk);
    if (v)
        msgpack_pack_true(&pk);
    else
        msgpack_pack_false(&pk);
}

void sr_mp_write_uint(struct sr_mp_writer *w, uint64_t v) { WITH_PACKER(w, pk); msgpack_pack_uint64(&pk, v); }
void sr_mp_write_int(struct sr_mp_writer *w, int64_t v) { WITH_PACKER(w, pk); msgpack_pack_int64(&pk, v); }
void sr_mp_write_double(struct sr_mp_writer *w, double v) { WITH_PACKER(w, pk); msgpack_pack_double(&pk, v); }

void sr_mp_write_str(struct sr_mp_writer *w, const char *s, size_t len)
{
    WITH_PACKER(w, pk);
    if (len > UINT32_MAX) {
        w->err = SR_ETOOBIG;
        return;
    }
    msgpack_pack_str(&pk, len);
    msgpack_pack_str_body(&pk, s, len);
}

void sr_mp_write_cstr(struct sr_mp_writer *w, const char *s) { sr_mp_write_str(w, s, strlen(s)); }

void sr_mp_write_bin(struct sr_mp_writer *w, const void *p, size_t len)
{
    WITH_PACKER(w, pk);
    if (len > UINT32_MAX) {
        w->err = SR_ETOOBIG;
        return;
    }
    msgpack_pack_bin(&pk, len);
    msgpack_pack_bin_body(&pk, p, len);
}

void sr_mp_write_array(struct sr_mp_writer *w, uint32_t n) { WITH_PACKER(w, pk); msgpack_pack_array(&pk, n); }
void sr_mp_write_map(struct sr_mp_writer *w, uint32_t n) { WITH_PACKER(w, pk); msgpack_pack_map(&pk, n); }

/* ---- reading: a bounds-checked cursor ---- */

void sr_mp_reader_init(struct sr_mp_reader *r, const void *data, size_t len)
{
    r->p = data;
    r->end = r->p + len;
}

static uint64_t load_be(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v = (v << 8) | p[i];
    return v;
}

/* A decoded header: what the value is and how many bytes follow it. */
struct mp_head {
    enum sr_mp_type type;
    size_t hlen;      /* header bytes, including the type byte */
    uint64_t u;       /* uint value, or length / element count */
    int64_t i;        /* negative int value */
    double d;
    bool b;
    size_t body;      /* payload bytes after the header (str, bin, ext) */
};

/* Size of the length field and payload kind for the variable-length formats. */
static int head_sized(const uint8_t *p, size_t left, unsigned lenbytes,
                      enum sr_mp_type type, unsigned extra, struct mp_head *h)
{
    if (left < 1 + lenbytes + extra)
        return SR_ETRUNC;
    h->type = type;
    h->u = load_be(p + 1, lenbytes);
    h->hlen = 1 + lenbytes + extra;
    if (type == SR_MP_STR || type == SR_MP_BIN || type == SR_MP_EXT)
        h->body = (size_t)h->u;
    return 0;
}

static int head_fixed(size_t left, unsigned n, enum sr_mp_type type,
                      struct mp_head *h)
{
    if (left < 1 + n)
        return SR_ETRUNC;
    h->type = type;
    h->hlen = 1 + n;
    return 0;
}

static int decode_int_head(const uint8_t *p, size_t left, uint8_t c,
                           struct mp_head *h)
{
    static const unsigned widths[4] = {1, 2, 4, 8};
    unsigned w = widths[c & 3];
    bool is_signed = c >= 0xd0;
    int rc = head_fixed(left, w, SR_MP_UINT, h);
    if (rc < 0)
        return rc;
    uint64_t raw = load_be(p + 1, w);
    if (!is_signed) {
        h->u = raw;
        return 0;
    }
    int64_t v;
    if (w == 8)
        memcpy(&v, &raw, 8);
    else {
        uint64_t sign = 1ULL << (w * 8 - 1);
        v = (int64_t)(raw ^ sign) - (int64_t)sign;
    }
    if (v >= 0) {
        h->u = (uint64_t)v;
    } else {
        h->type = SR_MP_INT;
        h->i = v;
    }
    return 0;
}

static int decode_float_head(const uint8_t *p, size_t left, uint8_t c,
                             struct mp_head *h)
{
    unsigned w = c == 0xca ? 4 : 8;
    int rc = head_fixed(left, w, SR_MP_FLOAT, h);
    if (rc < 0)
        return rc;
    uint64_t raw = load_be(p + 1, w);
    if (w == 4) {
        uint32_t r32 = (uint32_t)raw;
        float f;
        memcpy(&f, &r32, 4);
        h->d = f;
    } else {
        memcpy(&h->d, &raw, 8);
    }
    return 0;
}

static int decode_head(const struct sr_mp_reader *r, struct mp_head *h)
{
    memset(h, 0, sizeof(*h));
    size_t left = sr_mp_left(r);
    if (left == 0)
        return SR_ETRUNC;
    const uint8_t *p = r->p;
    uint8_t c = p[0];
    h->hlen = 1;
    if (c <= 0x7f) { h->type = SR_MP_UINT; h->u = c; return 0; }
    if (c >= 0xe0) { h->type = SR_MP_INT; h->i = (int8_t)c; return 0; }
    if (c <= 0x8f) { h->type = SR_MP_MAP; h->u = c & 0x0f; return 0; }
    if (c <= 0x9f) { h->type = SR_MP_ARRAY; h->u = c & 0x0f; return 0; }
    if (c <= 0xbf) { h->type = SR_MP_STR; h->u = h->body = c & 0x1f; return 0; }
    switch (c) {
    case 0xc0: h->type = SR_MP_NIL; return 0;
    case 0xc2: case 0xc3: h->type = SR_MP_BOOL; h->b = c == 0xc3; return 0;
    case 0xc4: return head_sized(p, left, 1, SR_MP_BIN, 0, h);
    case 0xc5: return head_sized(p, left, 2, SR_MP_BIN, 0, h);
    case 0xc6: return head_sized(p, left, 4, SR_MP_BIN, 0, h);
    case 0xc7: return head_sized(p, left, 1, SR_MP_EXT, 1, h);
    case 0xc8: return head_sized(p, left, 2, SR_MP_EXT, 1, h);
    case 0xc9: return head_sized(p, left, 4, SR_MP_EXT, 1, h);
    case 0xca: case 0xcb: return decode_float_head(p, left, c, h);
    case 0xcc: case 0xcd: case 0xce: case 0xcf:
    case 0xd0: case 0xd1: case 0xd2: case 0xd3:
        return decode_int_head(p, left, c, h);
    case 0xd4: case 0xd5: case 0xd6: case 0xd7: case 0xd8:
        /* fixext 1/2/4/8/16: type byte + 2^(c-0xd4) data bytes */
        if (left < 2)
            return SR_ETRUNC;
        h->type = SR_MP_EXT;
        h->hlen = 2;
        h->body = (size_t)1 << (c - 0xd4);
        return 0;
    case 0xd9: return head_sized(p, left, 1, SR_MP_STR, 0, h);
    case 0xda: return head_sized(p, left, 2, SR_MP_STR, 0, h);
    case 0xdb: return head_sized(p, left, 4, SR_MP_STR, 0, h);
    case 0xdc: return head_sized(p, left, 2, SR_MP_ARRAY, 0, h);
    case 0xdd: return head_sized(p, left, 4, SR_MP_ARRAY, 0, h);
    case 0xde: return head_sized(p, left, 2, SR_MP_MAP, 0, h);
    case 0xdf: return head_sized(p, left, 4, SR_MP_MAP, 0, h);
    default: return SR_EPROTO; /* 0xc1 is never used */
    }
}

/* Decode a header and check that its body (or minimum element bytes) fits. */
static int read_head(const struct sr_mp_reader *r, struct mp_head *h)
{
    int rc = decode_head(r, h);
    if (rc < 0)
        return rc;
    size_t left = sr_mp_left(r) - h->hlen;
    uint64_t need = h->body;
    if (h->type == SR_MP_ARRAY)
        need = h->u;
    else if (h->type == SR_MP_MAP)
        need = 2 * h->u;
    return need > left ? SR_ETRUNC : 0;
}

int sr_mp_peek(const struct sr_mp_reader *r)
{
    struct mp_head h;
    int rc = decode_head(r, &h);
    return rc < 0 ? rc : (int)h.type;
}

static int read_typed(struct sr_mp_reader *r, enum sr_mp_type type, struct mp_head *h)
{
    int rc = read_head(r, h);
    if (rc < 0)
        return rc;
    if (h->type != type)
        return SR_ETYPE;
    r->p += h->hlen + h->body;
    return 0;
}

int sr_mp_read_nil(struct sr_mp_reader *r)
{
    struct mp_head h;
    return read_typed(r, SR_MP_NIL, &h);
}

int sr_mp_read_bool(struct sr_mp_reader *r, bool *v)
{
    struct mp_head h;
    int rc = read_typed(r, SR_MP_BOOL, &h);
    if (rc == 0)
        *v = h.b;
    return rc;
}

int sr_mp_read_uint(struct sr_mp_reader *r, uint64_t *v)
{
    struct mp_head h;
    int rc = read_head(r, &h);
    if (rc < 0)
        return rc;
    if (h.type == SR_MP_INT)
        return SR_ERANGE;
    if (h.type != SR_MP_UINT)
        return SR_ETYPE;
    r->p += h.hlen;
    *v = h.u;
    return 0;
}

int sr_mp_read_int(struct sr_mp_reader *r, int64_t *v)
{
    struct mp_head h;
    int rc = read_head(r, &h);
    if (rc < 0)
        return rc;
    if (h.type == SR_MP_UINT) {
        if (h.u > INT64_MAX)
            return SR_ERANGE;
        *v = (int64_t)h.u;
    } else if (h.type == SR_MP_INT) {
        *v = h.i;
    } else {
        return SR_ETYPE;
    }
    r->p += h.hlen;
    return 0;
}

int sr_mp_read_double(struct sr_mp_reader *r, double *v)
{
    struct mp_head h;
    int rc = read_head(r, &h);
    if (rc < 0)
        return rc;
    switch (h.type) {
    case SR_MP_FLOAT: *v = h.d; break;
    case SR_MP_UINT: *v = (double)h.u; break;
    case SR_MP_INT: *v = (double)h.i; break;
    default: return SR_ETYPE;
    }
    r->p += h.hlen;
    return 0;
}

static int read_bytes(struct sr_mp_reader *r, enum sr_mp_type type,
                      const uint8_t **p, uint32_t *len)
{
    struct mp_head h;
    const uint8_t *start = r->p;
    int rc = read_typed(r, type, &h);
    if (rc < 0)
        return rc;
    *p = start + h.hlen;
    *len = (uint32_t)h.body;
    return 0;
}

int sr_mp_read_str(struct sr_mp_reader *r, const char **s, uint32_t *len)
{
    return read_bytes(r, SR_MP_STR, (const uint8_t **)s, len);
}

int sr_mp_read_bin(struct sr_mp_reader *r, const uint8_t **p, uint32_t *len)
{
    return read_bytes(r, SR_MP_BIN, p, len);
}

int sr_mp_read_str_copy(struct sr_mp_reader *r, char *out, size_t outlen)
{
    struct sr_mp_reader save = *r;
    const char *s;
    uint32_t len;
    int rc = sr_mp_read_str(r, &s, &len);
    if (rc < 0)
        return rc;
    if ((size_t)len >= outlen) {
        *r = save;
        return SR_ETOOBIG;
    }
    memcpy(out, s, len);
    out[len] = '\0';
    return 0;
}

static int read_count(struct sr_mp_reader *r, enum sr_mp_type type, uint32_t *n)
{
    struct mp_head h;
    int rc = read_typed(r, type, &h);
    if (rc == 0)
        *n = (uint32_t)h.u;
    return rc;
}

int sr_mp_read_array(struct sr_mp_reader *r, uint32_t *n) { return read_count(r, SR_MP_ARRAY, n); }
int sr_mp_read_map(struct sr_mp_reader *r, uint32_t *n) { return read_count(r, SR_MP_MAP, n); }

int sr_mp_skip(struct sr_mp_reader *r)
{
    const uint8_t *start = r->p;
    /* Values still to skip. Every counted element is at least one byte and
     * read_head checked that, so this stays below the buffer length. */
    uint64_t pending = 1;
    while (pending > 0) {
        struct mp_head h;
        int rc = read_head(r, &h);
        if (rc < 0) {
            r->p = start;
            return rc;
        }
        pending--;
        if (h.type == SR_MP_ARRAY)
            pending += h.u;
        else if (h.type == SR_MP_MAP)
            pending += 2 * h.u;
        r->p += h.hlen + h.body;
    }
    return 0;
}
