/* A direct reader for the plain PUT body and a UTF-8 check (geo_json.h). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "geo_json.h"

static const char *skip_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* A JSON number at p (strict grammar, as jansson's lexer takes it). Sets
 * *is_int when it has neither fraction nor exponent (jansson: an integer).
 * Returns its end, or NULL when it is not one we read here: malformed, an
 * integer of more than 18 digits (strtoll might overflow), or a real that
 * overflows (jansson: an error). */
static const char *read_number(const char *p, const char *end, double *v, int64_t *iv,
                               bool *is_int)
{
    const char *s = p;
    char tmp[64];
    if (p < end && *p == '-')
        p++;
    if (p < end && *p == '0')
        p++;
    else if (p < end && is_digit(*p))
        while (p < end && is_digit(*p))
            p++;
    else
        return NULL;
    if (p < end && is_digit(*p)) /* a leading zero */
        return NULL;
    const char *int_end = p;
    if (p < end && *p == '.') {
        if (++p >= end || !is_digit(*p))
            return NULL;
        while (p < end && is_digit(*p))
            p++;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        if (++p < end && (*p == '+' || *p == '-'))
            p++;
        if (p >= end || !is_digit(*p))
            return NULL;
        while (p < end && is_digit(*p))
            p++;
    }
    *is_int = p == int_end;
    if (*is_int) {
        const char *d = s + (*s == '-');
        if (p - d > 18)
            return NULL;
        int64_t x = 0;
        for (; d < p; d++)
            x = x * 10 + (*d - '0');
        *iv = *s == '-' ? -x : x;
        *v = (double)*iv;
        return p;
    }
    if ((size_t)(p - s) >= sizeof tmp) /* the body is bounded, but a number this long is odd */
        return NULL;
    memcpy(tmp, s, (size_t)(p - s));
    tmp[p - s] = '\0';
    errno = 0;
    *v = strtod(tmp, NULL);
    if (!isfinite(*v))
        return NULL;
    return p;
}

enum { K_LAT, K_LNG, K_TTL, K_TS, K_N };

/* The key at p (a plain string, no escapes) -> K_*, or -1. */
static int read_key(const char **pp, const char *end)
{
    static const struct {
        const char *name;
        size_t len;
    } keys[K_N] = {{"lat", 3}, {"lng", 3}, {"ttl_s", 5}, {"ts", 2}};
    const char *p = *pp;
    if (p >= end || *p != '"')
        return -1;
    const char *q = memchr(p + 1, '"', (size_t)(end - p - 1));
    if (!q)
        return -1;
    size_t n = (size_t)(q - p - 1);
    for (int k = 0; k < K_N; k++)
        if (n == keys[k].len && memcmp(p + 1, keys[k].name, n) == 0) {
            *pp = q + 1;
            return k;
        }
    return -1; /* another key, or one with an escape: the general way */
}

bool geo_put_fast(const char *body, size_t len, struct geo_put_fields *f)
{
    const char *p = body, *end = body + len;
    bool seen[K_N] = {false};
    *f = (struct geo_put_fields){0};
    p = skip_ws(p, end);
    if (p >= end || *p++ != '{')
        return false;
    for (;;) {
        p = skip_ws(p, end);
        int k = read_key(&p, end);
        if (k < 0 || seen[k])
            return false;
        seen[k] = true;
        p = skip_ws(p, end);
        if (p >= end || *p++ != ':')
            return false;
        p = skip_ws(p, end);
        double v;
        int64_t iv = 0;
        bool is_int;
        if (!(p = read_number(p, end, &v, &iv, &is_int)))
            return false;
        switch (k) {
        case K_LAT: f->lat = v; break;
        case K_LNG: f->lng = v; break;
        case K_TTL: f->ttl_s = v, f->has_ttl = true; break;
        default:
            if (!is_int)
                return false; /* jansson words this error */
            f->ts = iv, f->has_ts = true;
        }
        p = skip_ws(p, end);
        if (p < end && *p == ',') {
            p++;
            continue;
        }
        if (p >= end || *p++ != '}')
            return false;
        break;
    }
    return skip_ws(p, end) == end && seen[K_LAT] && seen[K_LNG];
}

/* Bytes in a sequence that starts with u (0: u cannot start one). */
static size_t utf8_first(unsigned char u)
{
    return u < 0x80 ? 1 : u < 0xC2 ? 0 : u <= 0xDF ? 2 : u <= 0xEF ? 3 : u <= 0xF4 ? 4 : 0;
}

bool geo_utf8_ok(const char *s, size_t n)
{
    static const uint32_t min[5] = {0, 0, 0x80, 0x800, 0x10000};
    for (size_t i = 0; i < n;) {
        const unsigned char *u = (const unsigned char *)s + i;
        size_t k = utf8_first(u[0]);
        if (k == 0 || k > n - i)
            return false;
        uint32_t cp = k == 1 ? u[0] : (uint32_t)(u[0] & (0xFF >> (k + 1)));
        for (size_t j = 1; j < k; j++) {
            if (u[j] < 0x80 || u[j] > 0xBF)
                return false;
            cp = (cp << 6) | (u[j] & 0x3F);
        }
        if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF) || cp < min[k])
            return false;
        i += k;
    }
    return true;
}
