/* Differential fuzzing of the msgpack reader (lib/core/mp.c) against
 * msgpack-c's msgpack_unpack_next as the oracle:
 *  - when msgpack-c accepts a value of k bytes, sr_mp_skip consumes exactly k;
 *  - when msgpack-c says the input is incomplete or malformed, sr_mp_skip
 *    must not claim a whole value;
 *  - a value our reader accepts (no ext) is re-encoded through sr_mp_writer
 *    and the re-encoding decodes (msgpack-c) to an equal object tree. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <msgpack.h>
#include "swimring/buf.h"
#include "swimring/error.h"
#include "swimring/mp.h"

/* The library is not built with -fsanitize=fuzzer-no-link, so compile the
 * reader here: libFuzzer then sees its coverage. The archive's mp.c.o is not
 * linked because every symbol it defines is already defined here. */
#include "../../lib/core/mp.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* msgpack-c allocates array/map storage for the declared count before it
 * knows the elements exist, so a hostile count would trip the fuzzer's
 * malloc limit. Skip the oracle when any array32/map32/16 header could declare
 * more elements than there are bytes (such input can never be a whole value). */
static int hostile_count(const uint8_t *d, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint64_t c = 0;
        if ((d[i] == 0xdc || d[i] == 0xde) && i + 2 < n)
            c = ((uint64_t)d[i + 1] << 8) | d[i + 2];
        else if ((d[i] == 0xdd || d[i] == 0xdf) && i + 4 < n)
            c = ((uint64_t)d[i + 1] << 24) | ((uint64_t)d[i + 2] << 16) |
                ((uint64_t)d[i + 3] << 8) | d[i + 4];
        if (c > n)
            return 1;
    }
    return 0;
}

/* Re-encode one value from r into w; -1 if it holds an ext (no writer). */
static int copy_value(struct sr_mp_reader *r, struct sr_mp_writer *w, int depth)
{
    if (depth > 64)
        return -1;
    int t = sr_mp_peek(r);
    uint64_t u; int64_t i; double d; bool b; uint32_t n;
    const char *s; const uint8_t *p;
    switch (t) {
    case SR_MP_NIL: if (sr_mp_read_nil(r)) abort(); sr_mp_write_nil(w); return 0;
    case SR_MP_BOOL: if (sr_mp_read_bool(r, &b)) abort(); sr_mp_write_bool(w, b); return 0;
    case SR_MP_UINT: if (sr_mp_read_uint(r, &u)) abort(); sr_mp_write_uint(w, u); return 0;
    case SR_MP_INT: if (sr_mp_read_int(r, &i)) abort(); sr_mp_write_int(w, i); return 0;
    case SR_MP_FLOAT: if (sr_mp_read_double(r, &d)) abort(); sr_mp_write_double(w, d); return 0;
    case SR_MP_STR: if (sr_mp_read_str(r, &s, &n)) abort(); sr_mp_write_str(w, s, n); return 0;
    case SR_MP_BIN: if (sr_mp_read_bin(r, &p, &n)) abort(); sr_mp_write_bin(w, p, n); return 0;
    case SR_MP_ARRAY:
        if (sr_mp_read_array(r, &n)) abort();
        sr_mp_write_array(w, n);
        for (uint32_t k = 0; k < n; k++)
            if (copy_value(r, w, depth + 1)) return -1;
        return 0;
    case SR_MP_MAP:
        if (sr_mp_read_map(r, &n)) abort();
        sr_mp_write_map(w, n);
        for (uint64_t k = 0; k < 2ull * n; k++)
            if (copy_value(r, w, depth + 1)) return -1;
        return 0;
    default:
        return -1;
    }
}

static double as_double(const msgpack_object *o)
{
    return o->via.f64;
}

static int is_float(const msgpack_object *o)
{
    return o->type == MSGPACK_OBJECT_FLOAT32 || o->type == MSGPACK_OBJECT_FLOAT64;
}

/* Equality with float32 == float64 of the same value (our writer widens). */
static int same(const msgpack_object *a, const msgpack_object *b)
{
    if (is_float(a) && is_float(b)) {
        double x = as_double(a), y = as_double(b);
        return (isnan(x) && isnan(y)) || memcmp(&x, &y, sizeof x) == 0;
    }
    if (a->type != b->type)
        return 0;
    if (a->type == MSGPACK_OBJECT_ARRAY) {
        if (a->via.array.size != b->via.array.size) return 0;
        for (uint32_t k = 0; k < a->via.array.size; k++)
            if (!same(&a->via.array.ptr[k], &b->via.array.ptr[k])) return 0;
        return 1;
    }
    if (a->type == MSGPACK_OBJECT_MAP) {
        if (a->via.map.size != b->via.map.size) return 0;
        for (uint32_t k = 0; k < a->via.map.size; k++)
            if (!same(&a->via.map.ptr[k].key, &b->via.map.ptr[k].key) ||
                !same(&a->via.map.ptr[k].val, &b->via.map.ptr[k].val)) return 0;
        return 1;
    }
    return msgpack_object_equal(*a, *b);
}

static void check_reencode(const uint8_t *data, size_t k, const msgpack_object *orig)
{
    struct sr_mp_reader r;
    sr_mp_reader_init(&r, data, k);
    struct sr_buf buf;
    sr_buf_create(&buf, 0);
    struct sr_mp_writer w;
    sr_mp_writer_init(&w, &buf);
    if (copy_value(&r, &w, 0) == 0 && sr_mp_writer_error(&w) == 0) {
        if (sr_mp_left(&r) != 0) abort();
        msgpack_unpacked again;
        msgpack_unpacked_init(&again);
        size_t off = 0;
        if (msgpack_unpack_next(&again, (const char *)buf.data, buf.len, &off) !=
                MSGPACK_UNPACK_SUCCESS || off != buf.len)
            abort();
        if (!same(orig, &again.data))
            abort();
        msgpack_unpacked_destroy(&again);
    }
    sr_buf_destroy(&buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sr_mp_reader r;
    sr_mp_reader_init(&r, data, size);
    int rc = sr_mp_skip(&r);
    size_t ours = size - sr_mp_left(&r);
    if (rc != 0 && ours != 0)
        abort(); /* cursor must be unchanged on error */
    if (hostile_count(data, size))
        return 0;

    msgpack_unpacked res;
    msgpack_unpacked_init(&res);
    size_t off = 0;
    msgpack_unpack_return mr = msgpack_unpack_next(&res, (const char *)data, size, &off);
    if (mr == MSGPACK_UNPACK_SUCCESS) {
        if (rc != 0 || ours != off)
            abort(); /* the oracle took a whole value of `off` bytes */
        check_reencode(data, off, &res.data);
    } else if (mr == MSGPACK_UNPACK_CONTINUE || mr == MSGPACK_UNPACK_PARSE_ERROR) {
        if (rc == 0)
            abort(); /* we claimed a value the oracle finds incomplete/invalid */
    }
    /* NOMEM_ERROR: msgpack-c's nesting limit (32); nothing to compare */
    msgpack_unpacked_destroy(&res);
    return 0;
}
