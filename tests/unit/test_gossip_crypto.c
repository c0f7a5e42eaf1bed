/* Gossip encryption (lib/swim/gossip_crypto.c, gossip_keys.c): seal/open
 * round trips, every single-bit flip and every truncation rejected and
 * counted, unknown key ids, versions, the replay window in both
 * directions, keyrings with several keys, rotation rules, plaintext
 * refusal, hex keys and key files with their error messages. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "swimring/error.h"
#include "swimring/gossip_crypto.h"

#define NOW 1800000000000ULL /* a fixed wall clock, ms (2027) */
#define WINDOW 5000u
#define SKEW 1000u

static const char *HEX1 = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
static const char *HEX2 = "F0E1D2C3B4A5968778695A4B3C2D1E0FFFEEDDCCBBAA99887766554433221100";

static void key_of(const char *hex, uint8_t key[SR_GOSSIP_KEY_LEN])
{
    char err[128];
    cr_assert_eq(sr_gossip_key_parse(hex, strlen(hex), key, err, sizeof err), 0, "%s", err);
}

static struct sr_gossip *ring_with(const char *hex)
{
    uint8_t k[SR_GOSSIP_KEY_LEN];
    struct sr_gossip *g = sr_gossip_new(WINDOW, SKEW);
    cr_assert_not_null(g);
    key_of(hex, k);
    cr_assert_eq(sr_gossip_install(g, k, NULL), 0);
    return g;
}

/* A native-looking datagram: the bytes do not matter to the crypto. */
static size_t sample(uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(0xA5 ^ (i * 31));
    p[0] = 0xA5; /* the native wire magic */
    return n;
}

static uint64_t drops(const struct sr_gossip *g)
{
    uint64_t n = 0;
    for (int v = 1; v < SR_GOSSIP_VERDICTS; v++)
        n += sr_gossip_stats(g)->dropped[v];
    return n;
}

Test(gossip_crypto, seal_open_round_trip)
{
    struct sr_gossip *g = ring_with(HEX1);
    uint8_t in[300], out[300 + SR_GOSSIP_OVERHEAD];
    sample(in, sizeof in);
    int n = sr_gossip_seal(g, NOW, in, sizeof in, out, sizeof out);
    cr_assert_eq(n, (int)(sizeof in + SR_GOSSIP_OVERHEAD));
    cr_expect_eq(out[0], SR_GOSSIP_MAGIC);
    cr_expect_eq(out[1], SR_GOSSIP_VERSION);
    cr_expect_neq(memcmp(out + SR_GOSSIP_HEADER, in, sizeof in), 0, "not encrypted");
    const uint8_t *plain = NULL;
    size_t plen = 0;
    cr_assert_eq(sr_gossip_open(g, NOW + 3, out, (size_t)n, &plain, &plen), SR_GOSSIP_OK);
    cr_assert_eq(plen, sizeof in);
    cr_expect_eq(plain, out + SR_GOSSIP_HEADER, "opened in place");
    cr_expect_eq(memcmp(plain, in, sizeof in), 0);
    cr_expect_eq(sr_gossip_stats(g)->sealed, 1);
    cr_expect_eq(sr_gossip_stats(g)->opened, 1);
    cr_expect_eq(drops(g), 0);
    /* an empty payload seals too (42 bytes on the wire) */
    cr_assert_eq(sr_gossip_seal(g, NOW, in, 0, out, sizeof out), SR_GOSSIP_OVERHEAD);
    cr_assert_eq(sr_gossip_open(g, NOW, out, SR_GOSSIP_OVERHEAD, &plain, &plen), SR_GOSSIP_OK);
    cr_expect_eq(plen, 0);
    /* no room, no key */
    cr_expect_eq(sr_gossip_seal(g, NOW, in, sizeof in, out, sizeof out - 1), SR_ETOOBIG);
    struct sr_gossip *empty = sr_gossip_new(WINDOW, SKEW);
    cr_expect_eq(sr_gossip_seal(empty, NOW, in, 10, out, sizeof out), SR_ENOTFOUND);
    cr_expect_not(sr_gossip_primary(empty, NULL));
    sr_gossip_delete(empty);
    sr_gossip_delete(g);
}

Test(gossip_crypto, header_carries_key_id_timestamp_and_fresh_nonces)
{
    struct sr_gossip *g = ring_with(HEX1);
    uint8_t k[SR_GOSSIP_KEY_LEN], in[64], a[64 + SR_GOSSIP_OVERHEAD], b[64 + SR_GOSSIP_OVERHEAD];
    key_of(HEX1, k);
    sample(in, sizeof in);
    cr_assert_gt(sr_gossip_seal(g, NOW, in, sizeof in, a, sizeof a), 0);
    cr_assert_gt(sr_gossip_seal(g, NOW, in, sizeof in, b, sizeof b), 0);
    struct sr_gossip_header ha, hb;
    cr_assert_eq(sr_gossip_header_get(a, sizeof a, &ha), SR_GOSSIP_OK);
    cr_assert_eq(sr_gossip_header_get(b, sizeof b, &hb), SR_GOSSIP_OK);
    cr_expect_eq(ha.key_id, sr_gossip_key_id(k));
    cr_expect_eq(ha.ts_ms, NOW);
    cr_expect_neq(memcmp(ha.nonce, hb.nonce, SR_GOSSIP_NONCE_LEN), 0, "nonce repeated");
    cr_expect_neq(memcmp(a + SR_GOSSIP_HEADER, b + SR_GOSSIP_HEADER, sizeof in), 0);
    /* The key id is the first 4 bytes of SHA-256 of the key bytes 00..1f:
     * 630dcd2966c4336691125448bbb25b4ff412a49c732db2c8abc1b8581bd710dd. */
    cr_expect_eq(sr_gossip_key_id(k), 0x630dcd29u);
    char id[SR_GOSSIP_ID_HEX + 1];
    uint32_t back = 0;
    sr_gossip_id_format(0x630dcd29u, id);
    cr_expect_str_eq(id, "630dcd29");
    cr_expect_eq(sr_gossip_id_parse(id, &back), 0);
    cr_expect_eq(back, 0x630dcd29u);
    cr_expect_eq(sr_gossip_id_parse("630dcd2", &back), SR_EINVAL);
    cr_expect_eq(sr_gossip_id_parse("630dcd2g", &back), SR_EINVAL);
    sr_gossip_delete(g);
}

/* Every single-bit flip anywhere in the datagram is refused and counted
 * once, under the counter its position calls for. */
Test(gossip_crypto, every_flipped_bit_is_rejected_and_counted)
{
    struct sr_gossip *tx = ring_with(HEX1), *rx = ring_with(HEX1);
    uint8_t in[200], sealed[200 + SR_GOSSIP_OVERHEAD], d[sizeof sealed];
    sample(in, sizeof in);
    int n = sr_gossip_seal(tx, NOW, in, sizeof in, sealed, sizeof sealed);
    cr_assert_gt(n, 0);
    uint64_t by[SR_GOSSIP_VERDICTS] = {0};
    for (size_t bit = 0; bit < (size_t)n * 8; bit++) {
        const uint8_t *plain = NULL;
        size_t plen = 0;
        memcpy(d, sealed, (size_t)n);
        d[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        enum sr_gossip_verdict v = sr_gossip_open(rx, NOW, d, (size_t)n, &plain, &plen);
        cr_assert_neq(v, SR_GOSSIP_OK, "bit %zu flipped and still opened", bit);
        enum sr_gossip_verdict want = bit < 8      ? SR_GOSSIP_PLAINTEXT
                                      : bit < 16   ? SR_GOSSIP_BADVERSION
                                      : bit < 48   ? SR_GOSSIP_UNKNOWN_KEY
                                                   : SR_GOSSIP_AUTH;
        cr_assert_eq(v, want, "bit %zu: %s, want %s", bit, sr_gossip_verdict_name(v),
                     sr_gossip_verdict_name(want));
        by[v]++;
    }
    const struct sr_gossip_stats *st = sr_gossip_stats(rx);
    cr_expect_eq(drops(rx), (uint64_t)n * 8);
    for (int v = 1; v < SR_GOSSIP_VERDICTS; v++)
        cr_expect_eq(st->dropped[v], by[v], "%s", sr_gossip_verdict_name(v));
    cr_expect_eq(st->dropped[SR_GOSSIP_AUTH], ((uint64_t)n - 6) * 8);
    cr_expect_eq(st->opened, 0);
    /* the untouched datagram still opens */
    const uint8_t *plain;
    size_t plen;
    cr_expect_eq(sr_gossip_open(rx, NOW, sealed, (size_t)n, &plain, &plen), SR_GOSSIP_OK);
    sr_gossip_delete(tx);
    sr_gossip_delete(rx);
}

Test(gossip_crypto, unknown_key_id_and_wrong_key)
{
    struct sr_gossip *tx = ring_with(HEX1), *rx = ring_with(HEX2);
    uint8_t in[50], d[50 + SR_GOSSIP_OVERHEAD];
    const uint8_t *plain;
    size_t plen;
    sample(in, sizeof in);
    int n = sr_gossip_seal(tx, NOW, in, sizeof in, d, sizeof d);
    cr_expect_eq(sr_gossip_open(rx, NOW, d, (size_t)n, &plain, &plen), SR_GOSSIP_UNKNOWN_KEY);
    cr_expect_eq(sr_gossip_stats(rx)->dropped[SR_GOSSIP_UNKNOWN_KEY], 1);
    /* The right key id with other key bytes (a forger who knows the id):
     * the tag fails. */
    n = sr_gossip_seal(rx, NOW, in, sizeof in, d, sizeof d);
    uint8_t k1[SR_GOSSIP_KEY_LEN];
    key_of(HEX1, k1);
    uint32_t id1 = sr_gossip_key_id(k1);
    d[2] = (uint8_t)(id1 >> 24), d[3] = (uint8_t)(id1 >> 16), d[4] = (uint8_t)(id1 >> 8),
    d[5] = (uint8_t)id1;
    cr_expect_eq(sr_gossip_open(tx, NOW, d, (size_t)n, &plain, &plen), SR_GOSSIP_AUTH);
    cr_expect_eq(sr_gossip_stats(tx)->dropped[SR_GOSSIP_AUTH], 1);
    cr_expect_str_eq(sr_gossip_verdict_text(SR_GOSSIP_AUTH), "authentication failed");
    cr_expect_str_eq(sr_gossip_verdict_text(SR_GOSSIP_UNKNOWN_KEY), "unknown key id");
    sr_gossip_delete(tx);
    sr_gossip_delete(rx);
}

Test(gossip_crypto, every_truncation_is_rejected)
{
    struct sr_gossip *g = ring_with(HEX1);
    uint8_t in[100], sealed[100 + SR_GOSSIP_OVERHEAD], d[sizeof sealed];
    sample(in, sizeof in);
    int n = sr_gossip_seal(g, NOW, in, sizeof in, sealed, sizeof sealed);
    for (int len = 0; len < n; len++) {
        const uint8_t *plain;
        size_t plen;
        memcpy(d, sealed, (size_t)n);
        enum sr_gossip_verdict v = sr_gossip_open(g, NOW, d, (size_t)len, &plain, &plen);
        cr_assert_eq(v, len < SR_GOSSIP_OVERHEAD ? SR_GOSSIP_MALFORMED : SR_GOSSIP_AUTH,
                     "len %d: %s", len, sr_gossip_verdict_name(v));
    }
    cr_expect_eq(sr_gossip_stats(g)->dropped[SR_GOSSIP_MALFORMED], SR_GOSSIP_OVERHEAD);
    cr_expect_eq(sr_gossip_stats(g)->dropped[SR_GOSSIP_AUTH], (uint64_t)n - SR_GOSSIP_OVERHEAD);
    sr_gossip_delete(g);
}

Test(gossip_crypto, wrong_version_is_its_own_counter)
{
    struct sr_gossip *g = ring_with(HEX1);
    uint8_t in[20], d[20 + SR_GOSSIP_OVERHEAD];
    const uint8_t *plain;
    size_t plen;
    sample(in, sizeof in);
    int n = sr_gossip_seal(g, NOW, in, sizeof in, d, sizeof d);
    d[1] = 2;
    cr_expect_eq(sr_gossip_open(g, NOW, d, (size_t)n, &plain, &plen), SR_GOSSIP_BADVERSION);
    cr_expect_eq(sr_gossip_open(g, NOW, d, 2, &plain, &plen), SR_GOSSIP_BADVERSION);
    cr_expect_eq(sr_gossip_stats(g)->dropped[SR_GOSSIP_BADVERSION], 2);
    cr_expect_str_eq(sr_gossip_verdict_name(SR_GOSSIP_BADVERSION), "version");
    sr_gossip_delete(g);
}

Test(gossip_crypto, age_check_table)
{
    /* accepted: now - (window + skew) .. now + skew, both ends included */
    cr_expect_eq(sr_gossip_age_check(NOW, NOW, WINDOW, SKEW), SR_GOSSIP_OK);
    cr_expect_eq(sr_gossip_age_check(NOW - WINDOW - SKEW, NOW, WINDOW, SKEW), SR_GOSSIP_OK);
    cr_expect_eq(sr_gossip_age_check(NOW - WINDOW - SKEW - 1, NOW, WINDOW, SKEW), SR_GOSSIP_STALE);
    cr_expect_eq(sr_gossip_age_check(NOW + SKEW, NOW, WINDOW, SKEW), SR_GOSSIP_OK);
    cr_expect_eq(sr_gossip_age_check(NOW + SKEW + 1, NOW, WINDOW, SKEW), SR_GOSSIP_FUTURE);
    /* hostile extremes do not wrap */
    cr_expect_eq(sr_gossip_age_check(0, NOW, WINDOW, SKEW), SR_GOSSIP_STALE);
    cr_expect_eq(sr_gossip_age_check(UINT64_MAX, NOW, WINDOW, SKEW), SR_GOSSIP_FUTURE);
    cr_expect_eq(sr_gossip_age_check(UINT64_MAX, UINT64_MAX, UINT32_MAX, UINT32_MAX), SR_GOSSIP_OK);
    cr_expect_eq(sr_gossip_age_check(0, UINT64_MAX, UINT32_MAX, UINT32_MAX), SR_GOSSIP_STALE);
    cr_expect_eq(sr_gossip_age_check(5, 0, 0, 0), SR_GOSSIP_FUTURE);
}

/* Datagrams sealed too long ago or too far ahead are refused after the tag
 * checked out, each under its own counter. */
Test(gossip_crypto, timestamp_outside_the_window_both_ways)
{
    struct sr_gossip *g = ring_with(HEX1);
    uint8_t in[40], d[40 + SR_GOSSIP_OVERHEAD];
    const uint8_t *plain;
    size_t plen;
    sample(in, sizeof in);
    struct { uint64_t ts; enum sr_gossip_verdict want; } cases[] = {
        {NOW - WINDOW - SKEW - 1, SR_GOSSIP_STALE},
        {NOW - 3600 * 1000, SR_GOSSIP_STALE},
        {NOW - WINDOW - SKEW, SR_GOSSIP_OK},
        {NOW - WINDOW, SR_GOSSIP_OK},
        {NOW + SKEW, SR_GOSSIP_OK},
        {NOW + SKEW + 1, SR_GOSSIP_FUTURE},
        {NOW + 86400 * 1000ULL, SR_GOSSIP_FUTURE},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int n = sr_gossip_seal(g, cases[i].ts, in, sizeof in, d, sizeof d);
        cr_expect_eq(sr_gossip_open(g, NOW, d, (size_t)n, &plain, &plen), cases[i].want,
                     "case %zu", i);
    }
    cr_expect_eq(sr_gossip_stats(g)->dropped[SR_GOSSIP_STALE], 2);
    cr_expect_eq(sr_gossip_stats(g)->dropped[SR_GOSSIP_FUTURE], 2);
    cr_expect_eq(sr_gossip_stats(g)->opened, 3);
    /* a forged (changed) timestamp is an authentication failure, not stale */
    int n = sr_gossip_seal(g, NOW, in, sizeof in, d, sizeof d);
    d[6] ^= 0x01;
    cr_expect_eq(sr_gossip_open(g, NOW, d, (size_t)n, &plain, &plen), SR_GOSSIP_AUTH);
    sr_gossip_delete(g);
}

Test(gossip_crypto, keyring_with_two_keys_opens_both)
{
    struct sr_gossip *a = ring_with(HEX1), *b = ring_with(HEX2), *rx = ring_with(HEX1);
    uint8_t k2[SR_GOSSIP_KEY_LEN], in[80], d[80 + SR_GOSSIP_OVERHEAD];
    const uint8_t *plain;
    size_t plen;
    uint32_t id2 = 0, ids[SR_GOSSIP_KEYS_MAX];
    key_of(HEX2, k2);
    cr_assert_eq(sr_gossip_install(rx, k2, &id2), 0);
    cr_expect_eq(id2, sr_gossip_key_id(k2));
    cr_expect_eq(sr_gossip_ids(rx, ids, SR_GOSSIP_KEYS_MAX), 2);
    cr_expect_eq(ids[1], id2);
    sample(in, sizeof in);
    int n = sr_gossip_seal(a, NOW, in, sizeof in, d, sizeof d);
    cr_expect_eq(sr_gossip_open(rx, NOW, d, (size_t)n, &plain, &plen), SR_GOSSIP_OK);
    cr_expect_eq(memcmp(plain, in, sizeof in), 0);
    n = sr_gossip_seal(b, NOW, in, sizeof in, d, sizeof d);
    cr_expect_eq(sr_gossip_open(rx, NOW, d, (size_t)n, &plain, &plen), SR_GOSSIP_OK);
    cr_expect_eq(memcmp(plain, in, sizeof in), 0);
    cr_expect_eq(sr_gossip_stats(rx)->opened, 2);
    sr_gossip_delete(a);
    sr_gossip_delete(b);
    sr_gossip_delete(rx);
}

/* The rotation steps: install (idempotent), use, remove (never the
 * primary); senders switch with the primary. */
Test(gossip_crypto, rotation_rules)
{
    struct sr_gossip *g = ring_with(HEX1), *old_only = ring_with(HEX1);
    uint8_t k1[SR_GOSSIP_KEY_LEN], k2[SR_GOSSIP_KEY_LEN], in[30], d[30 + SR_GOSSIP_OVERHEAD];
    uint32_t id1, id2, p = 0;
    const uint8_t *plain;
    size_t plen;
    key_of(HEX1, k1);
    key_of(HEX2, k2);
    sample(in, sizeof in);
    cr_expect_eq(sr_gossip_install(g, k1, &id1), 0, "re-installing is a no-op");
    cr_expect_eq(sr_gossip_install(g, k2, &id2), 0);
    cr_expect_eq(sr_gossip_install(g, k2, NULL), 0);
    uint32_t ids[SR_GOSSIP_KEYS_MAX];
    cr_expect_eq(sr_gossip_ids(g, ids, SR_GOSSIP_KEYS_MAX), 2);
    cr_expect(sr_gossip_primary(g, &p));
    cr_expect_eq(p, id1, "installing does not switch the primary");
    cr_expect_eq(sr_gossip_remove(g, id1), SR_EBUSY, "the primary cannot be removed");
    cr_expect_eq(sr_gossip_use(g, 0xdeadbeefu), SR_ENOTFOUND);
    cr_expect_eq(sr_gossip_remove(g, 0xdeadbeefu), SR_ENOTFOUND);
    cr_assert_eq(sr_gossip_use(g, id2), 0);
    cr_expect(sr_gossip_primary(g, &p));
    cr_expect_eq(p, id2);
    int n = sr_gossip_seal(g, NOW, in, sizeof in, d, sizeof d);
    cr_expect_eq(sr_gossip_open(old_only, NOW, d, (size_t)n, &plain, &plen),
                 SR_GOSSIP_UNKNOWN_KEY, "now sealed with the new key");
    cr_assert_eq(sr_gossip_remove(g, id1), 0);
    cr_expect_eq(sr_gossip_ids(g, ids, SR_GOSSIP_KEYS_MAX), 1);
    cr_expect_eq(ids[0], id2);
    cr_expect(sr_gossip_primary(g, &p));
    cr_expect_eq(p, id2, "the primary survives the removal of an earlier key");
    n = sr_gossip_seal(old_only, NOW, in, sizeof in, d, sizeof d);
    cr_expect_eq(sr_gossip_open(g, NOW, d, (size_t)n, &plain, &plen), SR_GOSSIP_UNKNOWN_KEY,
                 "the removed key no longer opens");
    /* at most SR_GOSSIP_KEYS_MAX keys */
    uint8_t k[SR_GOSSIP_KEY_LEN];
    for (int i = 1; i < SR_GOSSIP_KEYS_MAX; i++) {
        memset(k, i, sizeof k);
        cr_expect_eq(sr_gossip_install(g, k, NULL), 0);
    }
    memset(k, 0x77, sizeof k);
    cr_expect_eq(sr_gossip_install(g, k, NULL), SR_EFULL);
    sr_gossip_delete(g);
    sr_gossip_delete(old_only);
}

Test(gossip_crypto, plaintext_refused_unless_transition)
{
    struct sr_gossip *g = ring_with(HEX1);
    uint8_t d[64];
    const uint8_t *plain = NULL;
    size_t plen = 0;
    sample(d, sizeof d);
    cr_expect_eq(sr_gossip_open(g, NOW, d, sizeof d, &plain, &plen), SR_GOSSIP_PLAINTEXT);
    cr_expect_eq(sr_gossip_stats(g)->dropped[SR_GOSSIP_PLAINTEXT], 1);
    cr_expect_eq(sr_gossip_set_plaintext(g, false, true), SR_EINVAL);
    cr_assert_eq(sr_gossip_set_plaintext(g, true, false), 0);
    cr_expect(sr_gossip_accepts_plaintext(g));
    cr_expect_not(sr_gossip_sends_plaintext(g));
    cr_expect_eq(sr_gossip_open(g, NOW, d, sizeof d, &plain, &plen), SR_GOSSIP_OK);
    cr_expect_eq(plain, d);
    cr_expect_eq(plen, sizeof d);
    cr_expect_eq(sr_gossip_stats(g)->plaintext_accepted, 1);
    /* sealed datagrams are still checked in transition mode */
    d[0] = SR_GOSSIP_MAGIC;
    d[1] = SR_GOSSIP_VERSION;
    cr_expect_eq(sr_gossip_open(g, NOW, d, sizeof d, &plain, &plen), SR_GOSSIP_UNKNOWN_KEY);
    sr_gossip_delete(g);
}

Test(gossip_crypto, hex_key_errors_name_the_problem_not_the_key)
{
    uint8_t k[SR_GOSSIP_KEY_LEN];
    char err[160];
    cr_expect_eq(sr_gossip_key_parse("abc", 3, k, err, sizeof err), SR_EINVAL);
    cr_expect(strstr(err, "64 hex characters, got 3") != NULL, "%s", err);
    char bad[65];
    memcpy(bad, HEX1, 65);
    bad[10] = 'z';
    cr_expect_eq(sr_gossip_key_parse(bad, 64, k, err, sizeof err), SR_EINVAL);
    cr_expect(strstr(err, "character 11 is not a hex digit") != NULL, "%s", err);
    cr_expect(strstr(err, "0001020304") == NULL, "the message shows key characters: %s", err);
    bad[10] = HEX1[10];
    bad[11] = 'G';
    cr_expect_eq(sr_gossip_key_parse(bad, 64, k, err, sizeof err), SR_EINVAL);
    cr_expect(strstr(err, "character 12") != NULL, "%s", err);
    key_of(HEX2, k);
    cr_expect_eq(k[0], 0xf0);
    cr_expect_eq(k[31], 0x00);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
}

Test(gossip_crypto, key_files)
{
    char path[64], err[256], text[512];
    uint8_t keys[SR_GOSSIP_KEYS_MAX][SR_GOSSIP_KEY_LEN], k1[SR_GOSSIP_KEY_LEN],
        k2[SR_GOSSIP_KEY_LEN];
    snprintf(path, sizeof path, "/tmp/sr-gk-%d", (int)getpid());
    key_of(HEX1, k1);
    key_of(HEX2, k2);
    snprintf(text, sizeof text, "%s\n", HEX1);
    write_file(path, text);
    cr_expect_eq(sr_gossip_key_file_load(path, keys, SR_GOSSIP_KEYS_MAX, err, sizeof err), 1, "%s", err);
    cr_expect_eq(memcmp(keys[0], k1, sizeof k1), 0);
    snprintf(text, sizeof text, "# new primary first\n  %s \r\n\n%s", HEX2, HEX1);
    write_file(path, text);
    cr_expect_eq(sr_gossip_key_file_load(path, keys, SR_GOSSIP_KEYS_MAX, err, sizeof err), 2, "%s", err);
    cr_expect_eq(memcmp(keys[0], k2, sizeof k2), 0);
    cr_expect_eq(memcmp(keys[1], k1, sizeof k1), 0);
    snprintf(text, sizeof text, "%s\n%.63s\n", HEX1, HEX2);
    write_file(path, text);
    cr_expect_eq(sr_gossip_key_file_load(path, keys, SR_GOSSIP_KEYS_MAX, err, sizeof err), SR_EINVAL);
    cr_expect(strstr(err, path) && strstr(err, ":2: a gossip key is 64 hex characters, got 63"),
              "%s", err);
    cr_expect(strstr(err, "F0E1") == NULL, "%s", err);
    write_file(path, "# nothing\n\n");
    cr_expect_eq(sr_gossip_key_file_load(path, keys, SR_GOSSIP_KEYS_MAX, err, sizeof err), SR_EINVAL);
    cr_expect(strstr(err, "no key in it") != NULL, "%s", err);
    unlink(path);
    cr_expect_eq(sr_gossip_key_file_load(path, keys, SR_GOSSIP_KEYS_MAX, err, sizeof err), SR_EIO);
    cr_expect(strstr(err, path) && strstr(err, "cannot open"), "%s", err);
}

Test(gossip_crypto, from_config)
{
    struct sr_gossip_cfg c;
    char msg[256], path[64], text[200];
    int err = 1;
    uint32_t p, ids[SR_GOSSIP_KEYS_MAX];
    sr_gossip_cfg_default(&c);
    cr_expect_eq(c.replay_window_ms, 5000);
    cr_expect_eq(c.clock_skew_ms, 1000);
    cr_expect_null(sr_gossip_from_cfg(&c, &err, msg, sizeof msg));
    cr_expect_eq(err, 0, "no key: encryption off, not an error");
    snprintf(c.key, sizeof c.key, "%s", HEX1);
    struct sr_gossip *g = sr_gossip_from_cfg(&c, &err, msg, sizeof msg);
    cr_assert_not_null(g, "%s", msg);
    cr_expect(sr_gossip_primary(g, &p));
    cr_expect_eq(p, 0x630dcd29u);
    cr_expect_eq(sr_gossip_replay_window_ms(g), 5000);
    sr_gossip_delete(g);
    snprintf(path, sizeof path, "/tmp/sr-gk-cfg-%d", (int)getpid());
    snprintf(text, sizeof text, "%s\n%s\n", HEX2, HEX1);
    write_file(path, text);
    snprintf(c.key_file, sizeof c.key_file, "%s", path);
    cr_expect_null(sr_gossip_from_cfg(&c, &err, msg, sizeof msg));
    cr_expect_eq(err, SR_ECONFIG);
    cr_expect(strstr(msg, "both set") != NULL, "%s", msg);
    c.key[0] = '\0';
    g = sr_gossip_from_cfg(&c, &err, msg, sizeof msg);
    cr_assert_not_null(g, "%s", msg);
    cr_expect_eq(sr_gossip_ids(g, ids, SR_GOSSIP_KEYS_MAX), 2);
    uint8_t k2[SR_GOSSIP_KEY_LEN];
    key_of(HEX2, k2);
    cr_expect(sr_gossip_primary(g, &p));
    cr_expect_eq(p, sr_gossip_key_id(k2), "the file's first key is the primary");
    sr_gossip_delete(g);
    c.send_plaintext = true;
    cr_expect_null(sr_gossip_from_cfg(&c, &err, msg, sizeof msg));
    cr_expect(strstr(msg, "send_plaintext needs gossip.accept_plaintext") != NULL, "%s", msg);
    c.send_plaintext = false;
    unlink(path);
    cr_expect_null(sr_gossip_from_cfg(&c, &err, msg, sizeof msg));
    cr_expect_eq(err, SR_ECONFIG);
    cr_expect(strstr(msg, path) != NULL, "%s", msg);
    c.key_file[0] = '\0';
    snprintf(c.key, sizeof c.key, "xyz");
    cr_expect_null(sr_gossip_from_cfg(&c, &err, msg, sizeof msg));
    cr_expect(strstr(msg, "gossip.key: a gossip key is 64 hex characters") != NULL, "%s", msg);
}
