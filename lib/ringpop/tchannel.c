/* TChannel frame codec; the layout is drawn in tchannel.h. Every length is
 * checked against the end of the frame before use (hostile input). */
#include "ringpop/tchannel.h"

#include <stdlib.h>
#include <string.h>
#include "swim/wire.h" /* sr_swim_crc32c */
#include "swimring/error.h"

/* ---- byte helpers -------------------------------------------------------- */

struct rd {
    const uint8_t *p, *end;
};

static bool rd_have(const struct rd *r, size_t n) { return (size_t)(r->end - r->p) >= n; }

static int rd_u8(struct rd *r, uint8_t *v)
{
    if (!rd_have(r, 1))
        return SR_ETRUNC;
    *v = *r->p++;
    return 0;
}

static int rd_u16(struct rd *r, uint16_t *v)
{
    if (!rd_have(r, 2))
        return SR_ETRUNC;
    *v = (uint16_t)(r->p[0] << 8 | r->p[1]);
    r->p += 2;
    return 0;
}

static int rd_u32(struct rd *r, uint32_t *v)
{
    if (!rd_have(r, 4))
        return SR_ETRUNC;
    *v = (uint32_t)r->p[0] << 24 | (uint32_t)r->p[1] << 16 | (uint32_t)r->p[2] << 8 | r->p[3];
    r->p += 4;
    return 0;
}

/* A length-prefixed byte string (prefix of 1 or 2 bytes). */
static int rd_str(struct rd *r, int width, const uint8_t **s, size_t *n)
{
    int rc;
    if (width == 1) {
        uint8_t l;
        if ((rc = rd_u8(r, &l)) != 0)
            return rc;
        *n = l;
    } else {
        uint16_t l;
        if ((rc = rd_u16(r, &l)) != 0)
            return rc;
        *n = l;
    }
    if (!rd_have(r, *n))
        return SR_ETRUNC;
    *s = r->p;
    r->p += *n;
    return 0;
}

static int put_u8(struct sr_buf *b, uint8_t v) { return sr_buf_append(b, &v, 1); }

static int put_u16(struct sr_buf *b, uint16_t v)
{
    uint8_t x[2] = {(uint8_t)(v >> 8), (uint8_t)v};
    return sr_buf_append(b, x, 2);
}

static int put_u32(struct sr_buf *b, uint32_t v)
{
    uint8_t x[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    return sr_buf_append(b, x, 4);
}

static int put_str(struct sr_buf *b, int width, const char *s, size_t n)
{
    int rc = width == 1 ? put_u8(b, (uint8_t)n) : put_u16(b, (uint16_t)n);
    return rc != 0 ? rc : sr_buf_append(b, s, n);
}

static void patch_u16(struct sr_buf *b, size_t off, uint16_t v)
{
    b->data[off] = (uint8_t)(v >> 8);
    b->data[off + 1] = (uint8_t)v;
}

/* Frame header with a size placeholder; returns the frame's start offset. */
static int frame_begin(struct sr_buf *b, uint8_t type, uint32_t id, size_t *start)
{
    static const uint8_t zeros[8];
    *start = b->len;
    int rc = put_u16(b, 0);
    if (rc == 0)
        rc = put_u8(b, type);
    if (rc == 0)
        rc = put_u8(b, 0);
    if (rc == 0)
        rc = put_u32(b, id);
    if (rc == 0)
        rc = sr_buf_append(b, zeros, sizeof(zeros));
    return rc;
}

static int frame_end(struct sr_buf *b, size_t start)
{
    size_t size = b->len - start;
    if (size > SR_TCH_FRAME_MAX) {
        b->len = start;
        return SR_ETOOBIG;
    }
    patch_u16(b, start, (uint16_t)size);
    return 0;
}

/* ---- checksums ----------------------------------------------------------- */

uint32_t sr_tch_crc32(uint32_t crc, const void *data, size_t len)
{
    /* zlib's CRC-32 (reflected 0xEDB88320), bitwise: args are small */
    const uint8_t *p = data;
    crc = ~crc;
    for (size_t i = 0; i < len; i++) {
        crc ^= p[i];
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
    return ~crc;
}

static uint32_t csum_update(uint8_t type, uint32_t crc, const void *p, size_t n)
{
    switch (type) {
    case SR_TCH_CSUM_CRC32:
        return sr_tch_crc32(crc, p, n);
    case SR_TCH_CSUM_CRC32C:
        return sr_swim_crc32c(crc, p, n);
    default:
        return 0;
    }
}

static bool csum_len(uint8_t type, size_t *n)
{
    if (type == SR_TCH_CSUM_NONE)
        *n = 0;
    else if (type <= SR_TCH_CSUM_CRC32C)
        *n = 4;
    else
        return false;
    return true;
}

/* ---- frames -------------------------------------------------------------- */

int sr_tch_frame_split(const void *buf, size_t len, struct sr_tch_frame *f)
{
    const uint8_t *p = buf;
    if (len < 2)
        return 0;
    size_t size = (size_t)p[0] << 8 | p[1];
    if (size < SR_TCH_HEADER)
        return SR_EPROTO;
    if (len < size)
        return 0;
    f->type = p[2];
    f->id = (uint32_t)p[4] << 24 | (uint32_t)p[5] << 16 | (uint32_t)p[6] << 8 | p[7];
    f->payload = p + SR_TCH_HEADER;
    f->len = size - SR_TCH_HEADER;
    return (int)size;
}

int sr_tch_empty_encode(struct sr_buf *out, uint8_t type, uint32_t id)
{
    size_t start;
    int rc = frame_begin(out, type, id, &start);
    return rc != 0 ? rc : frame_end(out, start);
}

int sr_tch_init_decode(const struct sr_tch_frame *f, struct sr_tch_init *out)
{
    struct rd r = {f->payload, f->payload + f->len};
    uint16_t nh;
    int rc;
    memset(out, 0, sizeof(*out));
    if (f->type != SR_TCH_INIT_REQ && f->type != SR_TCH_INIT_RES)
        return SR_EPROTO;
    if ((rc = rd_u16(&r, &out->version)) != 0 || (rc = rd_u16(&r, &nh)) != 0)
        return rc;
    for (uint16_t i = 0; i < nh; i++) {
        const uint8_t *k, *v;
        size_t kl, vl;
        if ((rc = rd_str(&r, 2, &k, &kl)) != 0 || (rc = rd_str(&r, 2, &v, &vl)) != 0)
            return rc;
        if (kl == 9 && memcmp(k, "host_port", 9) == 0) {
            out->host_port = (const char *)v;
            out->host_port_len = vl;
        } else if (kl == 12 && memcmp(k, "process_name", 12) == 0) {
            out->process_name = (const char *)v;
            out->process_name_len = vl;
        }
    }
    if (r.p != r.end)
        return SR_EPROTO;
    return out->version == SR_TCH_VERSION ? 0 : SR_EVERSION;
}

int sr_tch_init_encode(struct sr_buf *out, bool res, uint32_t id, const char *host_port,
                       const char *process_name)
{
    const char *kv[][2] = {
        {"host_port", host_port},
        {"process_name", process_name},
        {"tchannel_language", "c"},
        {"tchannel_language_version", "c11"},
        {"tchannel_version", "2.0.0"},
    };
    size_t start;
    int rc = frame_begin(out, res ? SR_TCH_INIT_RES : SR_TCH_INIT_REQ, id, &start);
    if (rc == 0)
        rc = put_u16(out, SR_TCH_VERSION);
    if (rc == 0)
        rc = put_u16(out, (uint16_t)(sizeof(kv) / sizeof(kv[0])));
    for (size_t i = 0; rc == 0 && i < sizeof(kv) / sizeof(kv[0]); i++) {
        size_t vl = strlen(kv[i][1]);
        if (vl > 0xffff)
            return SR_ETOOBIG;
        rc = put_str(out, 2, kv[i][0], strlen(kv[i][0]));
        if (rc == 0)
            rc = put_str(out, 2, kv[i][1], vl);
    }
    return rc != 0 ? rc : frame_end(out, start);
}

int sr_tch_error_decode(const struct sr_tch_frame *f, struct sr_tch_error *out)
{
    struct rd r = {f->payload, f->payload + f->len};
    const uint8_t *m;
    int rc;
    if (f->type != SR_TCH_ERROR)
        return SR_EPROTO;
    if ((rc = rd_u8(&r, &out->code)) != 0)
        return rc;
    if (!rd_have(&r, SR_TCH_TRACING))
        return SR_ETRUNC;
    r.p += SR_TCH_TRACING;
    if ((rc = rd_str(&r, 2, &m, &out->message_len)) != 0)
        return rc;
    out->message = (const char *)m;
    return r.p == r.end ? 0 : SR_EPROTO;
}

int sr_tch_error_encode(struct sr_buf *out, uint32_t id, uint8_t code, const char *message)
{
    static const uint8_t zeros[SR_TCH_TRACING];
    size_t ml = strlen(message), start;
    if (ml > 1024)
        ml = 1024; /* a log line, not a payload */
    int rc = frame_begin(out, SR_TCH_ERROR, id, &start);
    if (rc == 0)
        rc = put_u8(out, code);
    if (rc == 0)
        rc = sr_buf_append(out, zeros, sizeof(zeros));
    if (rc == 0)
        rc = put_str(out, 2, message, ml);
    return rc != 0 ? rc : frame_end(out, start);
}

/* ---- call encoding -------------------------------------------------------- */

static int call_first_fields(struct sr_buf *b, const struct sr_tch_call_out *c)
{
    static const uint8_t zeros[SR_TCH_TRACING];
    int rc = put_u8(b, 0); /* flags, patched later */
    if (rc == 0)
        rc = c->is_res ? put_u8(b, c->code) : put_u32(b, c->ttl_ms ? c->ttl_ms : 1);
    if (rc == 0)
        rc = sr_buf_append(b, c->tracing ? c->tracing : zeros, SR_TCH_TRACING);
    if (rc == 0 && !c->is_res) {
        size_t sl = c->service ? strlen(c->service) : 0;
        if (sl > SR_TCH_SERVICE_MAX)
            return SR_ETOOBIG;
        rc = put_str(b, 1, c->service ? c->service : "", sl);
    }
    if (rc == 0 && c->nheaders > SR_TCH_HEADERS_MAX)
        return SR_ETOOBIG;
    if (rc == 0)
        rc = put_u8(b, (uint8_t)c->nheaders);
    for (size_t i = 0; rc == 0 && i < c->nheaders; i++) {
        size_t kl = strlen(c->headers[i].key), vl = strlen(c->headers[i].value);
        if (kl == 0 || kl > SR_TCH_HKEY_MAX || vl > 255)
            return SR_EINVAL;
        rc = put_str(b, 1, c->headers[i].key, kl);
        if (rc == 0)
            rc = put_str(b, 1, c->headers[i].value, vl);
    }
    return rc;
}

int sr_tch_call_encode(struct sr_buf *out, const struct sr_tch_call_out *c)
{
    size_t fmax = c->frame_max ? c->frame_max : SR_TCH_FRAME_MAX;
    size_t csn;
    if (fmax > SR_TCH_FRAME_MAX || !csum_len(c->csum_type, &csn) ||
        c->csum_type == SR_TCH_CSUM_FARMHASH || c->arg_len[0] > SR_TCH_ARG1_MAX)
        return SR_EINVAL;
    size_t orig = out->len, done[3] = {0, 0, 0};
    uint32_t arg = 0, crc = 0;
    bool first = true;
    int rc = 0;
    for (;;) {
        size_t start, flags_off;
        uint8_t type = first ? (c->is_res ? SR_TCH_CALL_RES : SR_TCH_CALL_REQ)
                             : (c->is_res ? SR_TCH_CALL_RES_CONT : SR_TCH_CALL_REQ_CONT);
        if ((rc = frame_begin(out, type, c->id, &start)) != 0)
            break;
        flags_off = out->len;
        rc = first ? call_first_fields(out, c) : put_u8(out, 0);
        if (rc == 0)
            rc = put_u8(out, c->csum_type);
        size_t csum_off = out->len;
        if (rc == 0 && csn)
            rc = put_u32(out, 0);
        if (rc != 0)
            break;
        /* room for at least one arg length prefix plus a byte */
        if (out->len - start + 3 > fmax) {
            rc = SR_ETOOBIG;
            break;
        }
        for (;;) {
            size_t room = fmax - (out->len - start) - 2;
            size_t n = c->arg_len[arg] - done[arg];
            if (n > room)
                n = room;
            if ((rc = put_u16(out, (uint16_t)n)) != 0)
                break;
            if (n > 0) { /* an empty arg may be NULL: no pointer arithmetic on it */
                const uint8_t *src = (const uint8_t *)c->arg[arg] + done[arg];
                if ((rc = sr_buf_append(out, src, n)) != 0)
                    break;
                crc = csum_update(c->csum_type, crc, src, n);
            }
            done[arg] += n;
            if (done[arg] < c->arg_len[arg] || arg == 2)
                break; /* frame full, or all args written */
            if (fmax - (out->len - start) < 2)
                break; /* arg complete on the boundary: 0-length chunk next frame */
            arg++;
        }
        if (rc != 0)
            break;
        bool more = !(arg == 2 && done[2] == c->arg_len[2]);
        out->data[flags_off] = more ? SR_TCH_FLAG_MORE : 0;
        if (csn) {
            out->data[csum_off] = (uint8_t)(crc >> 24);
            out->data[csum_off + 1] = (uint8_t)(crc >> 16);
            out->data[csum_off + 2] = (uint8_t)(crc >> 8);
            out->data[csum_off + 3] = (uint8_t)crc;
        }
        if ((rc = frame_end(out, start)) != 0 || !more)
            break;
        first = false;
    }
    if (rc != 0)
        out->len = orig;
    return rc;
}

/* ---- call decoding -------------------------------------------------------- */

void sr_tch_call_free(struct sr_tch_call *c)
{
    if (c == NULL)
        return;
    sr_buf_destroy(&c->headers);
    for (int i = 0; i < 3; i++)
        sr_buf_destroy(&c->arg[i]);
    free(c);
}

const char *sr_tch_call_header(const struct sr_tch_call *c, const char *key, size_t *len)
{
    struct rd r = {c->headers.data, c->headers.data + c->headers.len};
    uint8_t nh;
    size_t kl = strlen(key);
    if (rd_u8(&r, &nh) != 0)
        return NULL;
    for (uint8_t i = 0; i < nh; i++) {
        const uint8_t *k, *v;
        size_t kn, vn;
        if (rd_str(&r, 1, &k, &kn) != 0 || rd_str(&r, 1, &v, &vn) != 0)
            return NULL;
        if (kn == kl && memcmp(k, key, kl) == 0) {
            *len = vn;
            return (const char *)v;
        }
    }
    return NULL;
}

void sr_tch_asm_init(struct sr_tch_asm *a, size_t arg_limit)
{
    memset(a, 0, sizeof(*a));
    a->arg_limit = arg_limit;
}

void sr_tch_asm_destroy(struct sr_tch_asm *a)
{
    for (size_t i = 0; i < a->npending; i++)
        sr_tch_call_free(a->pending[i]);
    a->npending = 0;
}

static size_t find_pending(const struct sr_tch_asm *a, uint32_t id, bool is_res)
{
    for (size_t i = 0; i < a->npending; i++)
        if (a->pending[i]->id == id && a->pending[i]->is_res == is_res)
            return i;
    return SIZE_MAX;
}

static void drop_pending(struct sr_tch_asm *a, size_t i)
{
    sr_tch_call_free(a->pending[i]);
    a->pending[i] = a->pending[--a->npending];
}

/* The transport headers block: validated (non-empty keys <= 16 bytes, no
 * duplicates) and copied raw. */
static int read_headers(struct rd *r, struct sr_buf *out)
{
    const uint8_t *begin = r->p;
    uint8_t nh;
    int rc;
    if ((rc = rd_u8(r, &nh)) != 0)
        return rc;
    if (nh > SR_TCH_HEADERS_MAX)
        return SR_EPROTO;
    const uint8_t *keys[SR_TCH_HEADERS_MAX];
    size_t klen[SR_TCH_HEADERS_MAX];
    for (uint8_t i = 0; i < nh; i++) {
        const uint8_t *v;
        size_t vl;
        if ((rc = rd_str(r, 1, &keys[i], &klen[i])) != 0 || (rc = rd_str(r, 1, &v, &vl)) != 0)
            return rc;
        if (klen[i] == 0 || klen[i] > SR_TCH_HKEY_MAX)
            return SR_EPROTO;
        for (uint8_t j = 0; j < i; j++)
            if (klen[j] == klen[i] && memcmp(keys[j], keys[i], klen[i]) == 0)
                return SR_EPROTO;
    }
    return sr_buf_append(out, begin, (size_t)(r->p - begin));
}

static int read_first(struct rd *r, const struct sr_tch_frame *f, struct sr_tch_call *c,
                      uint8_t *flags)
{
    int rc;
    const uint8_t *s;
    size_t sl;
    c->is_res = f->type == SR_TCH_CALL_RES;
    c->id = f->id;
    if ((rc = rd_u8(r, flags)) != 0)
        return rc;
    if (c->is_res ? (rc = rd_u8(r, &c->code)) != 0 : (rc = rd_u32(r, &c->ttl_ms)) != 0)
        return rc;
    if (!rd_have(r, SR_TCH_TRACING))
        return SR_ETRUNC;
    memcpy(c->tracing, r->p, SR_TCH_TRACING);
    r->p += SR_TCH_TRACING;
    if (!c->is_res) {
        if ((rc = rd_str(r, 1, &s, &sl)) != 0)
            return rc;
        memcpy(c->service, s, sl);
        c->service[sl] = '\0';
    }
    if ((rc = read_headers(r, &c->headers)) != 0)
        return rc;
    return rd_u8(r, &c->csum_type);
}

/* Checksum field and arg chunks of one frame into c. Sets *complete when the
 * frame ends the message. */
static int read_args(struct rd *r, struct sr_tch_asm *a, struct sr_tch_call *c, uint8_t flags,
                     bool *complete)
{
    size_t csn;
    uint32_t want = 0;
    int rc;
    if (!csum_len(c->csum_type, &csn))
        return SR_EPROTO;
    if (csn && (rc = rd_u32(r, &want)) != 0)
        return rc;
    bool any = false;
    while (r->p < r->end) {
        const uint8_t *s;
        size_t n;
        if (any && ++c->cur > 2)
            return SR_EPROTO; /* data past arg3 */
        if ((rc = rd_str(r, 2, &s, &n)) != 0)
            return rc;
        size_t total = c->arg[0].len + c->arg[1].len + c->arg[2].len + n;
        if (total > a->arg_limit || (c->cur == 0 && c->arg[0].len + n > SR_TCH_ARG1_MAX))
            return SR_ETOOBIG;
        if ((rc = sr_buf_append(&c->arg[c->cur], s, n)) != 0)
            return rc;
        c->csum = csum_update(c->csum_type, c->csum, s, n);
        any = true;
    }
    if (c->csum_type == SR_TCH_CSUM_FARMHASH)
        a->csum_unverified++; /* its per-frame seeding is not specified exactly */
    else if (csn && want != c->csum)
        return SR_ECHECKSUM;
    *complete = !(flags & SR_TCH_FLAG_MORE);
    if (*complete && c->cur != 2)
        return SR_EPROTO; /* a call has exactly three args */
    return 0;
}

static int feed_first(struct sr_tch_asm *a, const struct sr_tch_frame *f, struct sr_tch_call **done)
{
    struct rd r = {f->payload, f->payload + f->len};
    bool is_res = f->type == SR_TCH_CALL_RES, complete = false;
    size_t old = find_pending(a, f->id, is_res);
    if (old != SIZE_MAX)
        drop_pending(a, old); /* a new call reusing the id: the old one is dead */
    struct sr_tch_call *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return SR_ENOMEM;
    sr_buf_create(&c->headers, 0);
    for (int i = 0; i < 3; i++)
        sr_buf_create(&c->arg[i], 0);
    uint8_t flags = 0;
    int rc = read_first(&r, f, c, &flags);
    if (rc == 0)
        rc = read_args(&r, a, c, flags, &complete);
    if (rc == 0 && !complete && a->npending >= SR_TCH_PENDING_MAX)
        rc = SR_EFULL;
    if (rc != 0) {
        sr_tch_call_free(c);
        return rc;
    }
    if (complete)
        *done = c;
    else
        a->pending[a->npending++] = c;
    return 0;
}

static int feed_cont(struct sr_tch_asm *a, const struct sr_tch_frame *f, struct sr_tch_call **done)
{
    struct rd r = {f->payload, f->payload + f->len};
    bool is_res = f->type == SR_TCH_CALL_RES_CONT, complete = false;
    size_t i = find_pending(a, f->id, is_res);
    uint8_t flags, type;
    int rc;
    if (i == SIZE_MAX)
        return SR_EPROTO; /* continue without a first frame */
    struct sr_tch_call *c = a->pending[i];
    if ((rc = rd_u8(&r, &flags)) == 0 && (rc = rd_u8(&r, &type)) == 0 && type != c->csum_type)
        rc = SR_EPROTO;
    if (rc == 0 && (flags & ~SR_TCH_FLAG_MORE) != 0)
        rc = SR_EPROTO; /* streaming flag on a continue frame */
    if (rc == 0)
        rc = read_args(&r, a, c, flags, &complete);
    if (rc != 0) {
        drop_pending(a, i);
        return rc;
    }
    if (complete) {
        a->pending[i] = a->pending[--a->npending];
        *done = c;
    }
    return 0;
}

int sr_tch_asm_feed(struct sr_tch_asm *a, const struct sr_tch_frame *f, struct sr_tch_call **done)
{
    *done = NULL;
    switch (f->type) {
    case SR_TCH_CALL_REQ:
    case SR_TCH_CALL_RES:
        return feed_first(a, f, done);
    case SR_TCH_CALL_REQ_CONT:
    case SR_TCH_CALL_RES_CONT:
        return feed_cont(a, f, done);
    default:
        return SR_EPROTO;
    }
}
