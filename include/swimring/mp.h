/* MessagePack helpers.
 *
 * Writing goes through msgpack-c's packer into an sr_buf. Errors are sticky:
 * after the first failure (buffer limit, no memory) every write is a no-op
 * and sr_mp_writer_error() reports it, so an encoder can check once at the end.
 *
 * Reading is a zero-copy cursor over untrusted bytes. Every read checks the
 * bytes it needs against the end of the buffer first; a read that fails
 * leaves the cursor where it was and returns:
 *   SR_ETRUNC  the buffer ends inside the value,
 *   SR_ETYPE   the value has another type,
 *   SR_ERANGE  the value does not fit the requested C type,
 *   SR_EPROTO  the byte is not valid msgpack (0xc1).
 * Array and map headers are checked against the bytes left (every element
 * takes at least one byte), so a hostile count can never drive a huge loop or
 * allocation. Strings and binaries are returned as pointers into the buffer. */
#ifndef SWIMRING_MP_H
#define SWIMRING_MP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "swimring/buf.h"
#include "swimring/export.h"

struct sr_mp_writer {
    struct sr_buf *buf;
    int err;  /* first error, 0 if none */
};

SR_API void sr_mp_writer_init(struct sr_mp_writer *w, struct sr_buf *buf);
static inline int sr_mp_writer_error(const struct sr_mp_writer *w) { return w->err; }
SR_API void sr_mp_write_nil(struct sr_mp_writer *w);
SR_API void sr_mp_write_bool(struct sr_mp_writer *w, bool v);
SR_API void sr_mp_write_uint(struct sr_mp_writer *w, uint64_t v);
SR_API void sr_mp_write_int(struct sr_mp_writer *w, int64_t v);
SR_API void sr_mp_write_double(struct sr_mp_writer *w, double v);
SR_API void sr_mp_write_str(struct sr_mp_writer *w, const char *s, size_t len);
SR_API void sr_mp_write_cstr(struct sr_mp_writer *w, const char *s);
SR_API void sr_mp_write_bin(struct sr_mp_writer *w, const void *p, size_t len);
SR_API void sr_mp_write_array(struct sr_mp_writer *w, uint32_t n);
SR_API void sr_mp_write_map(struct sr_mp_writer *w, uint32_t n);

enum sr_mp_type {
    SR_MP_NIL = 1, SR_MP_BOOL, SR_MP_UINT, SR_MP_INT, SR_MP_FLOAT,
    SR_MP_STR, SR_MP_BIN, SR_MP_ARRAY, SR_MP_MAP, SR_MP_EXT,
};

struct sr_mp_reader {
    const uint8_t *p;
    const uint8_t *end;
};

SR_API void sr_mp_reader_init(struct sr_mp_reader *r, const void *data, size_t len);
static inline size_t sr_mp_left(const struct sr_mp_reader *r) { return (size_t)(r->end - r->p); }
/* Type of the next value (SR_MP_*), or SR_ETRUNC / SR_EPROTO. SR_MP_INT is
 * reported only for negative integers. */
SR_API int sr_mp_peek(const struct sr_mp_reader *r);
SR_API int sr_mp_read_nil(struct sr_mp_reader *r);
SR_API int sr_mp_read_bool(struct sr_mp_reader *r, bool *v);
/* Any integer >= 0. Negative integers give SR_ERANGE. */
SR_API int sr_mp_read_uint(struct sr_mp_reader *r, uint64_t *v);
/* Any integer in int64 range. */
SR_API int sr_mp_read_int(struct sr_mp_reader *r, int64_t *v);
/* float32, float64 or any integer. */
SR_API int sr_mp_read_double(struct sr_mp_reader *r, double *v);
SR_API int sr_mp_read_str(struct sr_mp_reader *r, const char **s, uint32_t *len);
SR_API int sr_mp_read_bin(struct sr_mp_reader *r, const uint8_t **p, uint32_t *len);
/* Copy a string into out[outlen] with a NUL; SR_ETOOBIG if it does not fit
 * (cursor unchanged). */
SR_API int sr_mp_read_str_copy(struct sr_mp_reader *r, char *out, size_t outlen);
SR_API int sr_mp_read_array(struct sr_mp_reader *r, uint32_t *n);
SR_API int sr_mp_read_map(struct sr_mp_reader *r, uint32_t *n);
/* Skip one whole value, nested containers included (iterative: hostile
 * nesting cannot exhaust the stack). */
SR_API int sr_mp_skip(struct sr_mp_reader *r);

#endif
