/* Growable byte buffer. Storage is owned by the caller's struct
 * (sr_buf_create / sr_buf_destroy); the bytes live on the heap. */
#ifndef SWIMRING_BUF_H
#define SWIMRING_BUF_H

#include <stddef.h>
#include <stdint.h>
#include "swimring/export.h"

struct sr_buf {
    uint8_t *data;  /* NULL until the first write */
    size_t len;     /* bytes in use */
    size_t cap;     /* bytes allocated */
    size_t limit;   /* 0 = unlimited; otherwise growth past it fails */
};

/* Initialise an empty buffer; `limit` caps its size (0 = no cap). */
SR_API void sr_buf_create(struct sr_buf *b, size_t limit);
/* Free the bytes; the struct may be created again. */
SR_API void sr_buf_destroy(struct sr_buf *b);
/* Make room for `extra` more bytes. SR_ENOMEM, or SR_ETOOBIG past the limit. */
SR_API int sr_buf_reserve(struct sr_buf *b, size_t extra);
/* Append `n` bytes. Same errors as sr_buf_reserve; on error nothing changes. */
SR_API int sr_buf_append(struct sr_buf *b, const void *p, size_t n);
/* Append printf-formatted text (no terminating NUL is counted in len). */
SR_API int sr_buf_printf(struct sr_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Drop the first `n` bytes (consumed input), keeping the rest. */
SR_API void sr_buf_consume(struct sr_buf *b, size_t n);
/* Forget the contents, keep the allocation. */
static inline void sr_buf_reset(struct sr_buf *b) { b->len = 0; }

#endif
