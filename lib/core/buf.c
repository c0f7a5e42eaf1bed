#include "swimring/buf.h"
#include "swimring/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sr_buf_create(struct sr_buf *b, size_t limit)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->limit = limit;
}

void sr_buf_destroy(struct sr_buf *b)
{
    free(b->data);
    sr_buf_create(b, b->limit);
}

int sr_buf_reserve(struct sr_buf *b, size_t extra)
{
    if (extra > SIZE_MAX - b->len)
        return SR_ETOOBIG;
    size_t need = b->len + extra;
    if (b->limit != 0 && need > b->limit)
        return SR_ETOOBIG;
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    if (b->limit != 0 && cap > b->limit)
        cap = b->limit;
    uint8_t *p = realloc(b->data, cap);
    if (p == NULL)
        return SR_ENOMEM;
    b->data = p;
    b->cap = cap;
    return 0;
}

int sr_buf_append(struct sr_buf *b, const void *p, size_t n)
{
    if (n == 0)
        return 0;
    int rc = sr_buf_reserve(b, n);
    if (rc < 0)
        return rc;
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

int sr_buf_printf(struct sr_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return SR_EINVAL;
    /* +1 for vsnprintf's NUL, which is written but not counted. */
    int rc = sr_buf_reserve(b, (size_t)n + 1);
    if (rc < 0)
        return rc;
    va_start(ap, fmt);
    vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

void sr_buf_consume(struct sr_buf *b, size_t n)
{
    if (n >= b->len) {
        b->len = 0;
        return;
    }
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
}
