/* The hot path of PUT /v1/geo/objects/{id} without a JSON tree: a direct
 * reader for the common body and the id's UTF-8 check. Pure functions.
 *
 * geo_put_fast reads only the plain shape
 *     {"lat": N, "lng": N, "ttl_s"?: N, "ts"?: INT}
 * (keys in any order, each at most once, JSON whitespace anywhere between
 * tokens, numbers in strict JSON grammar). Anything else - attrs, another
 * key, a duplicate, an escape, a string value, trailing bytes, a missing
 * lat or lng - it declines, and the caller parses with jansson, which also
 * words every error. For the bodies it takes it yields exactly what jansson
 * would (an integer is converted as strtoll then (double), a real with
 * strtod), so answers do not depend on which reader ran. */
#ifndef SWIMRING_GEO_JSON_H
#define SWIMRING_GEO_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct geo_put_fields {
    double lat, lng, ttl_s;  /* ttl_s: only if has_ttl */
    int64_t ts;              /* only if has_ts; may be <= 0 (the caller rejects it) */
    bool has_ttl, has_ts;
};

/* true: f holds the body's fields (not yet range-checked); false: not the
 * plain shape, parse it the general way. */
bool geo_put_fast(const char *body, size_t len, struct geo_put_fields *f);

/* The same verdict as jansson's UTF-8 check (json_stringn): no overlong
 * forms, no surrogates, nothing above U+10FFFF. */
bool geo_utf8_ok(const char *s, size_t n);

#endif
