/* FarmHash Fingerprint32 (farmhashmk Hash32 with seed 0). The structure and
 * constants follow the published algorithm: Murmur3-style mixing of 32-bit
 * little-endian words, with separate paths for 0-4, 5-12, 13-24 and longer
 * inputs. */
#include "swimring/farmhash.h"

static const uint32_t c1 = 0xcc9e2d51u;
static const uint32_t c2 = 0x1b873593u;

static inline uint32_t load32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static inline uint32_t rot32(uint32_t v, unsigned s)
{
    return s == 0 ? v : (v >> s) | (v << (32 - s));
}

static inline uint32_t fmix(uint32_t h)
{
    h ^= h >> 16;
    h *= 0x85ebca6bu;
    h ^= h >> 13;
    h *= 0xc2b2ae35u;
    h ^= h >> 16;
    return h;
}

static inline uint32_t mur(uint32_t a, uint32_t h)
{
    a *= c1;
    a = rot32(a, 17);
    a *= c2;
    h ^= a;
    h = rot32(h, 19);
    return h * 5 + 0xe6546b64u;
}

static uint32_t len0to4(const uint8_t *s, uint32_t len)
{
    uint32_t b = 0, c = 9;
    for (uint32_t i = 0; i < len; i++) {
        /* The reference sign-extends each byte. */
        int32_t v = (int8_t)s[i];
        b = b * c1 + (uint32_t)v;
        c ^= b;
    }
    return fmix(mur(b, mur(len, c)));
}

static uint32_t len5to12(const uint8_t *s, uint32_t len)
{
    uint32_t a = len, b = len * 5, c = 9, d = b;
    a += load32(s);
    b += load32(s + len - 4);
    c += load32(s + ((len >> 1) & 4));
    return fmix(mur(c, mur(b, mur(a, d))));
}

static uint32_t len13to24(const uint8_t *s, uint32_t len)
{
    uint32_t a = load32(s - 4 + (len >> 1));
    uint32_t b = load32(s + 4);
    uint32_t c = load32(s + len - 8);
    uint32_t d = load32(s + (len >> 1));
    uint32_t e = load32(s);
    uint32_t f = load32(s + len - 4);
    uint32_t h = d * c1 + len;
    a = rot32(a, 12) + f;
    h = mur(c, h) + a;
    a = rot32(a, 3) + c;
    h = mur(e, h) + a;
    a = rot32(a + f, 12) + d;
    h = mur(b, h) + a;
    return fmix(h);
}

static inline uint32_t mix_step(uint32_t h, uint32_t a)
{
    h ^= a;
    h = rot32(h, 19);
    return h * 5 + 0xe6546b64u;
}

static inline uint32_t tail_word(const uint8_t *p)
{
    return rot32(load32(p) * c1, 17) * c2;
}

static uint32_t len_over24(const uint8_t *s, size_t len)
{
    uint32_t h = (uint32_t)len, g = c1 * (uint32_t)len, f = g;
    h = mix_step(h, tail_word(s + len - 4));
    h = mix_step(h, tail_word(s + len - 16));
    g = mix_step(g, tail_word(s + len - 8));
    g = mix_step(g, tail_word(s + len - 12));
    f += tail_word(s + len - 20);
    f = rot32(f, 19) + 113;
    for (size_t iters = (len - 1) / 20; iters > 0; iters--, s += 20) {
        uint32_t a = load32(s), b = load32(s + 4), c = load32(s + 8);
        uint32_t d = load32(s + 12), e = load32(s + 16);
        h += a;
        g += b;
        f += c;
        h = mur(d, h) + e;
        g = mur(c, g) + a;
        f = mur(b + e * c1, f) + d;
        f += g;
        g += f;
    }
    g = rot32(g, 11) * c1;
    g = rot32(g, 17) * c1;
    f = rot32(f, 11) * c1;
    f = rot32(f, 17) * c1;
    h = rot32(h + g, 19);
    h = h * 5 + 0xe6546b64u;
    h = rot32(h, 17) * c1;
    h = rot32(h + f, 19);
    h = h * 5 + 0xe6546b64u;
    h = rot32(h, 17) * c1;
    return h;
}

uint32_t sr_farmhash_fingerprint32(const void *data, size_t len)
{
    const uint8_t *s = data;
    if (len <= 4)
        return len0to4(s, (uint32_t)len);
    if (len <= 12)
        return len5to12(s, (uint32_t)len);
    if (len <= 24)
        return len13to24(s, (uint32_t)len);
    return len_over24(s, len);
}
