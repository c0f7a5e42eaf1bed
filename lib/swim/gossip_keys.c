/* Gossip keys as text: hex keys, key files, key ids, and the "gossip"
 * configuration section that turns them into a keyring. Messages name the
 * file, the line and what is wrong, never the key's characters. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include "swimring/error.h"
#include "swimring/gossip_crypto.h"

#define KEY_FILE_MAX 65536 /* a key file is a few lines; anything larger is a mistake */

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int sr_gossip_key_parse(const char *text, size_t len, uint8_t key[SR_GOSSIP_KEY_LEN], char *err,
                        size_t errlen)
{
    if (len != SR_GOSSIP_KEY_HEX) {
        snprintf(err, errlen, "a gossip key is %d hex characters, got %zu characters",
                 SR_GOSSIP_KEY_HEX, len);
        return SR_EINVAL;
    }
    for (size_t i = 0; i < len; i += 2) {
        int hi = hexval(text[i]), lo = hexval(text[i + 1]);
        if (hi < 0 || lo < 0) {
            OPENSSL_cleanse(key, SR_GOSSIP_KEY_LEN);
            snprintf(err, errlen, "a gossip key is %d hex characters: character %zu is not a hex digit",
                     SR_GOSSIP_KEY_HEX, i + 1 + (hi >= 0));
            return SR_EINVAL;
        }
        key[i / 2] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

uint32_t sr_gossip_key_id(const uint8_t key[SR_GOSSIP_KEY_LEN])
{
    uint8_t d[SHA256_DIGEST_LENGTH];
    SHA256(key, SR_GOSSIP_KEY_LEN, d);
    return (uint32_t)d[0] << 24 | (uint32_t)d[1] << 16 | (uint32_t)d[2] << 8 | d[3];
}

void sr_gossip_id_format(uint32_t id, char out[SR_GOSSIP_ID_HEX + 1])
{
    snprintf(out, SR_GOSSIP_ID_HEX + 1, "%08x", id);
}

int sr_gossip_id_parse(const char *text, uint32_t *id)
{
    uint32_t v = 0;
    if (!text || strlen(text) != SR_GOSSIP_ID_HEX)
        return SR_EINVAL;
    for (int i = 0; i < SR_GOSSIP_ID_HEX; i++) {
        int d = hexval(text[i]);
        if (d < 0)
            return SR_EINVAL;
        v = v << 4 | (uint32_t)d;
    }
    *id = v;
    return 0;
}

/* One line of a key file, trimmed: a key, or nothing (blank, comment). */
static int key_line(const char *path, unsigned lineno, const char *s, size_t n, uint8_t *key,
                    char *err, size_t errlen)
{
    char why[128];
    while (n && (s[0] == ' ' || s[0] == '\t'))
        s++, n--;
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        n--;
    if (n == 0 || s[0] == '#')
        return 0;
    if (sr_gossip_key_parse(s, n, key, why, sizeof why) < 0) {
        snprintf(err, errlen, "gossip key file %s:%u: %s", path, lineno, why);
        return SR_EINVAL;
    }
    return 1;
}

static int parse_file(const char *path, const char *text, size_t len,
                      uint8_t (*keys)[SR_GOSSIP_KEY_LEN], size_t cap, char *err, size_t errlen)
{
    size_t nkeys = 0;
    unsigned lineno = 0;
    for (size_t at = 0; at < len;) {
        const char *nl = memchr(text + at, '\n', len - at);
        size_t n = nl ? (size_t)(nl - (text + at)) : len - at;
        lineno++;
        uint8_t key[SR_GOSSIP_KEY_LEN];
        int rc = key_line(path, lineno, text + at, n, key, err, errlen);
        if (rc < 0)
            return rc;
        if (rc == 1 && nkeys == cap) {
            OPENSSL_cleanse(key, sizeof key);
            snprintf(err, errlen, "gossip key file %s:%u: more than %zu keys", path, lineno, cap);
            return SR_EINVAL;
        }
        if (rc == 1)
            memcpy(keys[nkeys++], key, sizeof key);
        OPENSSL_cleanse(key, sizeof key);
        at += n + 1;
    }
    if (nkeys == 0) {
        snprintf(err, errlen, "gossip key file %s: no key in it (want 64 hex characters)", path);
        return SR_EINVAL;
    }
    return (int)nkeys;
}

int sr_gossip_key_file_load(const char *path, uint8_t (*keys)[SR_GOSSIP_KEY_LEN], size_t cap,
                            char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "gossip key file %s: cannot open: %s", path, strerror(errno));
        return SR_EIO;
    }
    char *text = malloc(KEY_FILE_MAX + 1);
    size_t len = text ? fread(text, 1, KEY_FILE_MAX + 1, f) : 0;
    int bad = ferror(f);
    fclose(f);
    int rc;
    if (!text) {
        snprintf(err, errlen, "gossip key file %s: out of memory", path);
        return SR_ENOMEM;
    } else if (bad) {
        snprintf(err, errlen, "gossip key file %s: cannot read", path);
        rc = SR_EIO;
    } else if (len > KEY_FILE_MAX) {
        snprintf(err, errlen, "gossip key file %s: larger than %d bytes, not a key file", path,
                 KEY_FILE_MAX);
        rc = SR_EINVAL;
    } else {
        rc = parse_file(path, text, len, keys, cap, err, errlen);
    }
    OPENSSL_cleanse(text, KEY_FILE_MAX + 1);
    free(text);
    return rc;
}

/* ---- the "gossip" section -------------------------------------------------- */

#define F(k, t, m, lo, hi, d, doc) \
    {k, t, offsetof(struct sr_gossip_cfg, m), sizeof(((struct sr_gossip_cfg *)0)->m), lo, hi, d, doc, NULL}

static const struct sr_cfg_field gossip_fields[] = {
    F("key", SR_CFG_STRING, key, 0, 0, "",
      "cluster key, 64 hex characters (secret: never logged or shown; prefer key_file); empty = gossip unencrypted"),
    F("key_file", SR_CFG_STRING, key_file, 0, 0, "",
      "file of keys, one per line (64 hex characters), the first the primary; flag --gossip-key-file"),
    F("replay_window_ms", SR_CFG_DURATION_MS, replay_window_ms, 0, 3600000, "5s",
      "a sealed datagram older than this plus clock_skew_ms is refused as a replay"),
    F("clock_skew_ms", SR_CFG_DURATION_MS, clock_skew_ms, 0, 600000, "1s",
      "tolerated wall-clock difference between nodes (also how far ahead a timestamp may be)"),
    F("accept_plaintext", SR_CFG_BOOL, accept_plaintext, 0, 0, "false",
      "transition only: with a key, also take unencrypted datagrams (counted)"),
    F("send_plaintext", SR_CFG_BOOL, send_plaintext, 0, 0, "false",
      "transition only: with a key, send unencrypted (needs accept_plaintext)"),
};

struct sr_cfg_section sr_gossip_cfg_section(struct sr_gossip_cfg *cfg)
{
    return (struct sr_cfg_section){"gossip", gossip_fields,
                                   sizeof gossip_fields / sizeof gossip_fields[0], cfg};
}

void sr_gossip_cfg_default(struct sr_gossip_cfg *cfg)
{
    struct sr_cfg_section s = sr_gossip_cfg_section(cfg);
    memset(cfg, 0, sizeof(*cfg));
    (void)sr_cfg_defaults(&s, 1);
}

static struct sr_gossip *cfg_fail(struct sr_gossip *g, int *err, int rc)
{
    sr_gossip_delete(g);
    *err = rc;
    return NULL;
}

static int install_all(struct sr_gossip *g, uint8_t (*keys)[SR_GOSSIP_KEY_LEN], int n, char *msg,
                       size_t msglen)
{
    for (int i = 0; i < n; i++) {
        int rc = sr_gossip_install(g, keys[i], NULL);
        if (rc < 0) {
            snprintf(msg, msglen, "gossip key %d: %s", i + 1,
                     rc == SR_EEXIST ? "another key has the same key id" : sr_strerror(rc));
            return rc;
        }
    }
    return 0;
}

struct sr_gossip *sr_gossip_from_cfg(const struct sr_gossip_cfg *cfg, int *err, char *msg,
                                     size_t msglen)
{
    uint8_t keys[SR_GOSSIP_KEYS_MAX][SR_GOSSIP_KEY_LEN];
    int n = 0;
    *err = 0;
    if (!cfg->key[0] && !cfg->key_file[0])
        return NULL;
    if (cfg->key[0] && cfg->key_file[0]) {
        snprintf(msg, msglen, "gossip.key and gossip.key_file are both set: give one");
        return cfg_fail(NULL, err, SR_ECONFIG);
    }
    if (cfg->send_plaintext && !cfg->accept_plaintext) {
        snprintf(msg, msglen, "gossip.send_plaintext needs gossip.accept_plaintext");
        return cfg_fail(NULL, err, SR_ECONFIG);
    }
    if (cfg->key[0]) {
        char why[128];
        n = sr_gossip_key_parse(cfg->key, strlen(cfg->key), keys[0], why, sizeof why) < 0 ? -1 : 1;
        if (n < 0)
            snprintf(msg, msglen, "gossip.key: %s", why);
    } else {
        n = sr_gossip_key_file_load(cfg->key_file, keys, SR_GOSSIP_KEYS_MAX, msg, msglen);
    }
    if (n < 0)
        return cfg_fail(NULL, err, SR_ECONFIG);
    struct sr_gossip *g = sr_gossip_new(cfg->replay_window_ms, cfg->clock_skew_ms);
    int rc = g ? install_all(g, keys, n, msg, msglen) : SR_ENOMEM;
    OPENSSL_cleanse(keys, sizeof keys);
    if (rc == 0)
        rc = sr_gossip_set_plaintext(g, cfg->accept_plaintext, cfg->send_plaintext);
    if (rc < 0) {
        if (rc == SR_ENOMEM)
            snprintf(msg, msglen, "gossip: out of memory");
        return cfg_fail(g, err, rc == SR_ENOMEM ? rc : SR_ECONFIG);
    }
    return g;
}
