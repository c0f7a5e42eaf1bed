/* Certificate exceptions as data: the table, and the text forms of
 * fingerprints, allowances, times and whole exceptions. Pure functions: the
 * wall clock comes in as an argument. Text may come from a peer (cluster
 * settings), so every parser bounds its input and names the bad field. */
#include "forward/tls_policy.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "swimring/error.h"

#define MS_PER_DAY (86400LL * 1000)
#define EXCEPTION_TEXT_MAX 256

/* ---- the table ------------------------------------------------------------ */

static struct sr_tls_exception *policy_find(struct sr_tls_policy *p, const uint8_t *fp)
{
    for (size_t i = 0; i < p->n; i++)
        if (memcmp(p->e[i].fp, fp, SR_TLS_FP_LEN) == 0)
            return &p->e[i];
    return NULL;
}

static void policy_drop(struct sr_tls_policy *p, struct sr_tls_exception *e)
{
    *e = p->e[--p->n];
}

int sr_tls_policy_set(struct sr_tls_policy *p, const struct sr_tls_exception *e, int64_t now_ms)
{
    if (e->allow == 0 || (e->allow & ~SR_TLS_ALLOW_ALL) != 0 || e->until_ms <= now_ms ||
        e->until_ms - now_ms > SR_TLS_EXCEPTION_MAX_DAYS * MS_PER_DAY)
        return SR_EINVAL;
    struct sr_tls_exception *cur = policy_find(p, e->fp);
    if (cur == NULL) {
        if (p->n == SR_TLS_EXCEPTIONS_MAX)
            sr_tls_policy_prune(p, now_ms);
        if (p->n == SR_TLS_EXCEPTIONS_MAX)
            return SR_EFULL;
        cur = &p->e[p->n++];
    }
    *cur = *e;
    cur->origin[SR_TLS_ORIGIN_MAX - 1] = '\0';
    return 0;
}

int sr_tls_policy_remove(struct sr_tls_policy *p, const uint8_t fp[SR_TLS_FP_LEN])
{
    struct sr_tls_exception *e = policy_find(p, fp);
    if (e == NULL)
        return SR_ENOTFOUND;
    policy_drop(p, e);
    return 0;
}

size_t sr_tls_policy_prune(struct sr_tls_policy *p, int64_t now_ms)
{
    size_t dropped = 0;
    for (size_t i = 0; i < p->n;) {
        if (p->e[i].until_ms <= now_ms) {
            policy_drop(p, &p->e[i]);
            dropped++;
        } else {
            i++;
        }
    }
    return dropped;
}

const struct sr_tls_exception *sr_tls_policy_match(struct sr_tls_policy *p,
                                                   const uint8_t fp[SR_TLS_FP_LEN],
                                                   uint32_t need, int64_t now_ms)
{
    struct sr_tls_exception *e = policy_find(p, fp);
    if (e == NULL || need == 0)
        return NULL;
    if (e->until_ms <= now_ms) {
        policy_drop(p, e);
        return NULL;
    }
    return (e->allow & need) == need ? e : NULL;
}

/* ---- fingerprints ------------------------------------------------------------ */

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

int sr_tls_fp_parse(const char *text, uint8_t fp[SR_TLS_FP_LEN])
{
    if (text == NULL)
        return SR_EINVAL;
    size_t len = strlen(text);
    bool colons = len == SR_TLS_FP_LEN * 3 - 1;
    if (len != SR_TLS_FP_LEN * 2 && !colons)
        return SR_EINVAL;
    const char *s = text;
    for (size_t i = 0; i < SR_TLS_FP_LEN; i++) {
        int hi = hexval((unsigned char)s[0]), lo = hexval((unsigned char)s[1]);
        if (hi < 0 || lo < 0)
            return SR_EINVAL;
        fp[i] = (uint8_t)(hi << 4 | lo);
        s += 2;
        if (colons && i + 1 < SR_TLS_FP_LEN && *s++ != ':')
            return SR_EINVAL;
    }
    return 0;
}

char *sr_tls_fp_format(const uint8_t fp[SR_TLS_FP_LEN], char out[SR_TLS_FP_HEX])
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < SR_TLS_FP_LEN; i++) {
        out[2 * i] = digits[fp[i] >> 4];
        out[2 * i + 1] = digits[fp[i] & 15];
    }
    out[2 * SR_TLS_FP_LEN] = '\0';
    return out;
}

/* ---- allowances ------------------------------------------------------------- */

static const struct {
    const char *name;
    uint32_t bit;
} allow_names[] = {
    {"expired", SR_TLS_ALLOW_EXPIRED},
    {"weak-signature", SR_TLS_ALLOW_WEAK},
};
#define NALLOW (sizeof allow_names / sizeof allow_names[0])

int sr_tls_allow_parse(const char *text, uint32_t *allow)
{
    *allow = 0;
    const char *s = text;
    while (s != NULL && *s) {
        const char *comma = strchr(s, ',');
        size_t n = comma ? (size_t)(comma - s) : strlen(s);
        uint32_t bit = 0;
        for (size_t i = 0; i < NALLOW; i++)
            if (strlen(allow_names[i].name) == n && memcmp(allow_names[i].name, s, n) == 0)
                bit = allow_names[i].bit;
        if (bit == 0)
            return SR_EINVAL;
        *allow |= bit;
        s = comma ? comma + 1 : NULL;
        if (s != NULL && *s == '\0')
            return SR_EINVAL; /* a trailing comma */
    }
    return *allow ? 0 : SR_EINVAL;
}

char *sr_tls_allow_format(uint32_t allow, char *out, size_t len)
{
    size_t k = 0;
    if (len > 0)
        out[0] = '\0';
    for (size_t i = 0; i < NALLOW; i++)
        if (allow & allow_names[i].bit) {
            int w = snprintf(out + k, len > k ? len - k : 0, "%s%s", k ? "," : "",
                             allow_names[i].name);
            if (w < 0 || (size_t)w >= len - k)
                break;
            k += (size_t)w;
        }
    return out;
}

/* ---- times ------------------------------------------------------------------- */

/* `n` decimal digits at s into *out; false if any is not a digit. */
static bool digits_at(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

static int time_relative(const char *s, int64_t now_ms, int64_t *out)
{
    char *end;
    long long n = strtoll(s + 1, &end, 10);
    if (end == s + 1 || n <= 0 || n > 1000000 || end[1] != '\0')
        return SR_EINVAL;
    int64_t unit = *end == 's' ? 1000 : *end == 'm' ? 60000 : *end == 'h' ? 3600000
                 : *end == 'd' ? MS_PER_DAY : 0;
    if (unit == 0)
        return SR_EINVAL;
    *out = now_ms + (int64_t)n * unit;
    return 0;
}

int sr_tls_time_parse(const char *text, int64_t now_ms, int64_t *out)
{
    if (text == NULL)
        return SR_EINVAL;
    if (text[0] == '+')
        return now_ms >= 0 ? time_relative(text, now_ms, out) : SR_EINVAL;
    /* YYYY-MM-DDTHH:MM:SS[.fff...]Z */
    struct tm tm = {0};
    int y, mo, d, h, mi, sec, frac_ms = 0;
    size_t len = strlen(text);
    if (len < 20 || !digits_at(text, 4, &y) || text[4] != '-' || !digits_at(text + 5, 2, &mo) ||
        text[7] != '-' || !digits_at(text + 8, 2, &d) || (text[10] != 'T' && text[10] != 't') ||
        !digits_at(text + 11, 2, &h) || text[13] != ':' || !digits_at(text + 14, 2, &mi) ||
        text[16] != ':' || !digits_at(text + 17, 2, &sec))
        return SR_EINVAL;
    const char *p = text + 19;
    if (*p == '.') {
        int scale = 100, nd = 0;
        for (p++; isdigit((unsigned char)*p) && nd < 9; p++, nd++) {
            frac_ms += (*p - '0') * scale;
            scale /= 10;
        }
        if (nd == 0)
            return SR_EINVAL;
    }
    if ((*p != 'Z' && *p != 'z') || p[1] != '\0')
        return SR_EINVAL;
    if (y < 1970 || y > 9999 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
        sec > 60)
        return SR_EINVAL;
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    time_t t = timegm(&tm);
    if (t == (time_t)-1 || tm.tm_mday != d) /* 31 February rolled over */
        return SR_EINVAL;
    *out = (int64_t)t * 1000 + frac_ms;
    return 0;
}

/* ---- whole exceptions ------------------------------------------------------------ */

static int parse_fail(char *err, size_t errlen, const char *fmt, const char *field)
{
    if (err != NULL && errlen > 0)
        snprintf(err, errlen, fmt, field);
    return SR_EINVAL;
}

int sr_tls_exception_parse(const char *text, size_t len, int64_t now_ms,
                           struct sr_tls_exception *out, char *err, size_t errlen)
{
    char buf[EXCEPTION_TEXT_MAX];
    if (len >= sizeof buf)
        return parse_fail(err, errlen, "exception longer than %s bytes", "255");
    memcpy(buf, text, len);
    buf[len] = '\0';
    if (memchr(buf, '\0', len) != NULL)
        return parse_fail(err, errlen, "exception %s holds a NUL byte", "text");
    char *save = NULL, *tok[4] = {0};
    int n = 0;
    for (char *t = strtok_r(buf, " \t", &save); t != NULL && n < 4; t = strtok_r(NULL, " \t", &save))
        tok[n++] = t;
    if (n != 3)
        return parse_fail(err, errlen, "an exception is \"FINGERPRINT ALLOW UNTIL\"%s", "");
    memset(out, 0, sizeof(*out));
    if (sr_tls_fp_parse(tok[0], out->fp) < 0)
        return parse_fail(err, errlen, "%s: a SHA-256 fingerprint is 64 hex digits (colons allowed)",
                          "fingerprint");
    if (sr_tls_allow_parse(tok[1], &out->allow) < 0)
        return parse_fail(err, errlen, "%s: expired, weak-signature, or both comma-separated",
                          "allow");
    if (sr_tls_time_parse(tok[2], now_ms, &out->until_ms) < 0)
        return parse_fail(err, errlen,
                          now_ms >= 0 ? "%s: RFC 3339 UTC (2026-12-01T20:00:00Z) or +N{s,m,h,d}"
                                      : "%s: RFC 3339 UTC (2026-12-01T20:00:00Z)",
                          "until");
    return 0;
}

static bool blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isspace((unsigned char)s[i]))
            return false;
    return true;
}

int sr_tls_exceptions_parse(const char *text, int64_t now_ms, struct sr_tls_exception *out,
                            size_t cap, char *err, size_t errlen)
{
    size_t n = 0;
    const char *s = text ? text : "";
    while (*s) {
        const char *semi = strchr(s, ';');
        size_t len = semi ? (size_t)(semi - s) : strlen(s);
        while (len > 0 && isspace((unsigned char)*s)) {
            s++;
            len--;
        }
        while (len > 0 && isspace((unsigned char)s[len - 1]))
            len--;
        if (!blank(s, len)) {
            if (n == cap) {
                if (err != NULL && errlen > 0)
                    snprintf(err, errlen, "more than %zu exceptions", cap);
                return SR_EFULL;
            }
            char why[160];
            if (sr_tls_exception_parse(s, len, now_ms, &out[n], why, sizeof why) < 0) {
                if (err != NULL && errlen > 0)
                    snprintf(err, errlen, "exception %zu: %s", n + 1, why);
                return SR_EINVAL;
            }
            n++;
        }
        if (semi == NULL)
            break;
        s = semi + 1;
    }
    return (int)n;
}
