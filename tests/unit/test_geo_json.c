/* services/geo's direct PUT reader and UTF-8 check, each against jansson:
 * whatever geo_put_fast takes, jansson reads to the same values; the UTF-8
 * verdict equals json_stringn's on every 1- to 4-byte string over a set of
 * interesting bytes and on random strings. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "geo_json.h"

/* jansson's reading of body, in the same terms (false: not an object with
 * numbers lat and lng, or an integer ts when there is one). */
static bool jansson_fields(const char *body, struct geo_put_fields *f)
{
    json_t *j = json_loads(body, 0, NULL), *v;
    bool ok = json_is_object(j) && json_is_number(json_object_get(j, "lat")) &&
              json_is_number(json_object_get(j, "lng"));
    *f = (struct geo_put_fields){0};
    if (ok) {
        f->lat = json_number_value(json_object_get(j, "lat"));
        f->lng = json_number_value(json_object_get(j, "lng"));
        if ((v = json_object_get(j, "ttl_s")) != NULL)
            f->has_ttl = true, f->ttl_s = json_number_value(v);
        if ((v = json_object_get(j, "ts")) != NULL) {
            ok = json_is_integer(v);
            f->has_ts = true, f->ts = json_integer_value(v);
        }
    }
    json_decref(j);
    return ok;
}

static void same_as_jansson(const char *body)
{
    struct geo_put_fields a, b;
    cr_assert(geo_put_fast(body, strlen(body), &a), "the fast reader declined %s", body);
    cr_assert(jansson_fields(body, &b), "jansson does not read %s", body);
    cr_assert(a.lat == b.lat && signbit(a.lat) == signbit(b.lat), "lat of %s", body);
    cr_assert(a.lng == b.lng && signbit(a.lng) == signbit(b.lng), "lng of %s", body);
    cr_assert_eq(a.has_ttl, b.has_ttl, "%s", body);
    cr_assert(!a.has_ttl || a.ttl_s == b.ttl_s, "ttl_s of %s", body);
    cr_assert_eq(a.has_ts, b.has_ts, "%s", body);
    cr_assert_eq(a.ts, b.ts, "ts of %s", body);
}

Test(geo_json, plain_bodies_read_as_jansson_reads_them)
{
    same_as_jansson("{\"lat\":37.7749295,\"lng\":-122.4194155,\"ttl_s\":86400}");
    same_as_jansson("{\"lng\":-122.4194155,\"lat\":37.7749295}");
    same_as_jansson(" {\r\n\t\"lat\" : 37 , \"lng\" :\t-0 ,\"ts\": 1764633600000000 } \n");
    same_as_jansson("{\"lat\":-0.0,\"lng\":1e2,\"ttl_s\":2.5E-1}");
    same_as_jansson("{\"lat\":90,\"lng\":-180,\"ttl_s\":1e-400}");
    same_as_jansson("{\"lat\":0.1234567890123456789,\"lng\":-1.5e+1,\"ts\":-5}");
    same_as_jansson("{\"lat\":999,\"lng\":1,\"ttl_s\":-3}"); /* ranges are the caller's */
}

Test(geo_json, declines_everything_else)
{
    static const char *const others[] = {
        "", "[]", "{}", "{\"lat\":1}", "{\"lng\":1}", "{\"lat\":1,\"lng\":2,}",
        "{\"lat\":1,\"lng\":2,\"attrs\":{}}", "{\"lat\":1,\"lng\":2,\"x\":3}",
        "{\"lat\":1,\"lat\":2,\"lng\":3}", "{\"la\\u0074\":1,\"lng\":2}",
        "{\"lat\":\"1\",\"lng\":2}", "{\"lat\":01,\"lng\":2}", "{\"lat\":1.,\"lng\":2}",
        "{\"lat\":.5,\"lng\":2}", "{\"lat\":+1,\"lng\":2}", "{\"lat\":1e,\"lng\":2}",
        "{\"lat\":1,\"lng\":2} x", "{\"lat\":1,\"lng\":2}}", "{\"lat\":1 \"lng\":2}",
        "{\"lat\":1e400,\"lng\":2}", "{\"lat\":1,\"lng\":2,\"ts\":1.0}",
        "{\"lat\":1,\"lng\":2,\"ts\":1234567890123456789}", "{\"lat\":NaN,\"lng\":2}",
        "{\"lat\":1,\"lng\":2,\"ttl_s\":null}", "{\"lat\":-,\"lng\":2}", "{\"lat\":1,\"lng\":2"};
    struct geo_put_fields f;
    for (size_t i = 0; i < sizeof others / sizeof others[0]; i++)
        cr_assert_not(geo_put_fast(others[i], strlen(others[i]), &f), "took %s", others[i]);
    /* a NUL inside the body: jansson rejects it, so must we */
    cr_assert_not(geo_put_fast("{\"lat\":1,\"lng\":2}\0", 18, &f));
}

static void utf8_same(const unsigned char *s, size_t n)
{
    json_t *j = json_stringn((const char *)s, n);
    cr_assert_eq(geo_utf8_ok((const char *)s, n), j != NULL, "bytes %02x %02x %02x %02x (n %zu)",
                 n > 0 ? s[0] : 0, n > 1 ? s[1] : 0, n > 2 ? s[2] : 0, n > 3 ? s[3] : 0, n);
    json_decref(j);
}

Test(geo_json, utf8_verdict_equals_janssons)
{
    /* the edges of every rule: ASCII, continuation bytes, overlong leads,
     * surrogates, the U+10FFFF limit, invalid leads */
    static const unsigned char edge[] = {0x00, 0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0,
                                         0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xed, 0xef,
                                         0xf0, 0xf4, 0xf5, 0xff};
    const size_t ne = sizeof edge;
    unsigned char s[4];
    for (size_t a = 0; a < ne; a++) {
        s[0] = edge[a];
        utf8_same(s, 1);
        for (size_t b = 0; b < ne; b++) {
            s[1] = edge[b];
            utf8_same(s, 2);
            for (size_t c = 0; c < ne; c++) {
                s[2] = edge[c];
                utf8_same(s, 3);
                for (size_t d = 0; d < ne; d++) {
                    s[3] = edge[d];
                    utf8_same(s, 4);
                }
            }
        }
    }
    uint64_t x = 88172645463325252ull;
    unsigned char r[12];
    for (int i = 0; i < 100000; i++) {
        size_t n = 1 + i % sizeof r;
        for (size_t k = 0; k < n; k++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            r[k] = (unsigned char)(x & 1 ? 0x80 | (x >> 8) : x >> 8); /* half high bytes */
        }
        utf8_same(r, n);
    }
}
