/* Gossip encryption: the sealed-datagram header, the replay window, the
 * keyring and AES-256-GCM seal/open (openssl EVP). Layout and reasons in
 * include/swimring/gossip_crypto.h. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include "swimring/error.h"
#include "swimring/gossip_crypto.h"

struct gossip_key {
    uint32_t id;
    uint8_t key[SR_GOSSIP_KEY_LEN];
    EVP_CIPHER_CTX *enc, *dec; /* key schedule set once; only the IV changes */
};

struct sr_gossip {
    struct gossip_key keys[SR_GOSSIP_KEYS_MAX];
    size_t nkeys;
    size_t primary;            /* index into keys; valid when nkeys > 0 */
    uint8_t salt[8];
    uint32_t counter;
    uint32_t window_ms, skew_ms;
    bool accept_plain, send_plain;
    struct sr_gossip_stats st;
};

const char *sr_gossip_verdict_name(enum sr_gossip_verdict v)
{
    static const char *const names[SR_GOSSIP_VERDICTS] = {
        "ok", "plaintext", "malformed", "version", "unknown_key", "auth", "stale", "future"};
    return (unsigned)v < SR_GOSSIP_VERDICTS ? names[v] : "unknown";
}

const char *sr_gossip_verdict_text(enum sr_gossip_verdict v)
{
    static const char *const text[SR_GOSSIP_VERDICTS] = {
        "ok", "plaintext datagram refused", "malformed sealed datagram",
        "unknown sealed format version", "unknown key id", "authentication failed",
        "timestamp older than the replay window", "timestamp too far in the future"};
    return (unsigned)v < SR_GOSSIP_VERDICTS ? text[v] : "unknown";
}

/* ---- header and window --------------------------------------------------- */

static void put_be(uint8_t *p, uint64_t v, int n)
{
    for (int i = n - 1; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

static uint64_t get_be(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

void sr_gossip_header_put(uint8_t out[SR_GOSSIP_HEADER], const struct sr_gossip_header *h)
{
    out[0] = SR_GOSSIP_MAGIC;
    out[1] = h->version;
    put_be(out + 2, h->key_id, 4);
    put_be(out + 6, h->ts_ms, 8);
    memcpy(out + 14, h->nonce, SR_GOSSIP_NONCE_LEN);
}

enum sr_gossip_verdict sr_gossip_header_get(const uint8_t *buf, size_t len,
                                            struct sr_gossip_header *h)
{
    if (len == 0)
        return SR_GOSSIP_MALFORMED;
    if (buf[0] != SR_GOSSIP_MAGIC)
        return SR_GOSSIP_PLAINTEXT;
    if (len < 2)
        return SR_GOSSIP_MALFORMED;
    if (buf[1] != SR_GOSSIP_VERSION)
        return SR_GOSSIP_BADVERSION;
    if (len < SR_GOSSIP_OVERHEAD)
        return SR_GOSSIP_MALFORMED;
    h->version = buf[1];
    h->key_id = (uint32_t)get_be(buf + 2, 4);
    h->ts_ms = get_be(buf + 6, 8);
    memcpy(h->nonce, buf + 14, SR_GOSSIP_NONCE_LEN);
    return SR_GOSSIP_OK;
}

enum sr_gossip_verdict sr_gossip_age_check(uint64_t ts_ms, uint64_t now_ms, uint32_t window_ms,
                                           uint32_t skew_ms)
{
    /* written without subtraction overflow: any 64-bit ts is hostile input */
    if (ts_ms > now_ms && ts_ms - now_ms > skew_ms)
        return SR_GOSSIP_FUTURE;
    if (ts_ms < now_ms && now_ms - ts_ms > (uint64_t)window_ms + skew_ms)
        return SR_GOSSIP_STALE;
    return SR_GOSSIP_OK;
}

/* ---- keyring --------------------------------------------------------------- */

static void key_clear(struct gossip_key *k)
{
    EVP_CIPHER_CTX_free(k->enc);
    EVP_CIPHER_CTX_free(k->dec);
    OPENSSL_cleanse(k, sizeof(*k));
}

static int key_init(struct gossip_key *k, const uint8_t key[SR_GOSSIP_KEY_LEN])
{
    memset(k, 0, sizeof(*k));
    memcpy(k->key, key, SR_GOSSIP_KEY_LEN);
    k->id = sr_gossip_key_id(key);
    k->enc = EVP_CIPHER_CTX_new();
    k->dec = EVP_CIPHER_CTX_new();
    if (!k->enc || !k->dec ||
        EVP_EncryptInit_ex(k->enc, EVP_aes_256_gcm(), NULL, k->key, NULL) != 1 ||
        EVP_DecryptInit_ex(k->dec, EVP_aes_256_gcm(), NULL, k->key, NULL) != 1) {
        key_clear(k);
        return SR_ENOMEM;
    }
    return 0;
}

static struct gossip_key *key_find(struct sr_gossip *g, uint32_t id, size_t *idx)
{
    for (size_t i = 0; i < g->nkeys; i++)
        if (g->keys[i].id == id) {
            if (idx)
                *idx = i;
            return &g->keys[i];
        }
    return NULL;
}

static int new_salt(struct sr_gossip *g)
{
    if (RAND_bytes(g->salt, sizeof(g->salt)) != 1)
        return SR_EIO;
    g->counter = 0;
    return 0;
}

struct sr_gossip *sr_gossip_new(uint32_t replay_window_ms, uint32_t clock_skew_ms)
{
    struct sr_gossip *g = calloc(1, sizeof(*g));
    if (!g)
        return NULL;
    g->window_ms = replay_window_ms;
    g->skew_ms = clock_skew_ms;
    if (new_salt(g) < 0) {
        free(g);
        return NULL;
    }
    return g;
}

void sr_gossip_delete(struct sr_gossip *g)
{
    if (!g)
        return;
    for (size_t i = 0; i < g->nkeys; i++)
        key_clear(&g->keys[i]);
    OPENSSL_cleanse(g, sizeof(*g));
    free(g);
}

int sr_gossip_install(struct sr_gossip *g, const uint8_t key[SR_GOSSIP_KEY_LEN], uint32_t *id)
{
    uint32_t kid = sr_gossip_key_id(key);
    struct gossip_key *have = key_find(g, kid, NULL);
    if (id)
        *id = kid;
    if (have) /* same id: the same key (retried step) or a 32-bit collision */
        return CRYPTO_memcmp(have->key, key, SR_GOSSIP_KEY_LEN) == 0 ? 0 : SR_EEXIST;
    if (g->nkeys == SR_GOSSIP_KEYS_MAX)
        return SR_EFULL;
    int rc = key_init(&g->keys[g->nkeys], key);
    if (rc < 0)
        return rc;
    if (g->nkeys++ == 0)
        g->primary = 0;
    return 0;
}

int sr_gossip_use(struct sr_gossip *g, uint32_t id)
{
    size_t i;
    if (!key_find(g, id, &i))
        return SR_ENOTFOUND;
    g->primary = i;
    return 0;
}

int sr_gossip_remove(struct sr_gossip *g, uint32_t id)
{
    size_t i;
    if (!key_find(g, id, &i))
        return SR_ENOTFOUND;
    if (i == g->primary)
        return SR_EBUSY;
    key_clear(&g->keys[i]);
    memmove(&g->keys[i], &g->keys[i + 1], (g->nkeys - i - 1) * sizeof(g->keys[0]));
    g->nkeys--;
    memset(&g->keys[g->nkeys], 0, sizeof(g->keys[0])); /* the moved-from slot */
    if (g->primary > i)
        g->primary--;
    return 0;
}

size_t sr_gossip_ids(const struct sr_gossip *g, uint32_t *ids, size_t cap)
{
    for (size_t i = 0; i < g->nkeys && i < cap; i++)
        ids[i] = g->keys[i].id;
    return g->nkeys;
}

bool sr_gossip_primary(const struct sr_gossip *g, uint32_t *id)
{
    if (g->nkeys == 0)
        return false;
    if (id)
        *id = g->keys[g->primary].id;
    return true;
}

int sr_gossip_set_plaintext(struct sr_gossip *g, bool accept, bool send)
{
    if (send && !accept)
        return SR_EINVAL; /* we would send what we refuse */
    g->accept_plain = accept;
    g->send_plain = send;
    return 0;
}

bool sr_gossip_accepts_plaintext(const struct sr_gossip *g) { return g->accept_plain; }
bool sr_gossip_sends_plaintext(const struct sr_gossip *g) { return g->send_plain; }
uint32_t sr_gossip_replay_window_ms(const struct sr_gossip *g) { return g->window_ms; }
uint32_t sr_gossip_clock_skew_ms(const struct sr_gossip *g) { return g->skew_ms; }
const struct sr_gossip_stats *sr_gossip_stats(const struct sr_gossip *g) { return &g->st; }

/* ---- seal / open ------------------------------------------------------------ */

/* A GCM nonce must never repeat under one key: when the counter is used
 * up and no fresh salt can be drawn, refuse to seal. */
static int next_nonce(struct sr_gossip *g, uint8_t nonce[SR_GOSSIP_NONCE_LEN])
{
    if (g->counter == UINT32_MAX && new_salt(g) < 0)
        return SR_EIO;
    memcpy(nonce, g->salt, sizeof(g->salt));
    put_be(nonce + 8, g->counter++, 4);
    return 0;
}

int sr_gossip_seal(struct sr_gossip *g, uint64_t now_ms, const void *in, size_t len,
                   uint8_t *out, size_t cap)
{
    if (g->nkeys == 0)
        return SR_ENOTFOUND;
    if (len > (size_t)INT_MAX - SR_GOSSIP_OVERHEAD || cap < len + SR_GOSSIP_OVERHEAD)
        return SR_ETOOBIG;
    struct gossip_key *k = &g->keys[g->primary];
    struct sr_gossip_header h = {.version = SR_GOSSIP_VERSION, .key_id = k->id, .ts_ms = now_ms};
    if (next_nonce(g, h.nonce) < 0)
        return SR_EIO;
    sr_gossip_header_put(out, &h);
    int n = 0, fin = 0;
    uint8_t *ct = out + SR_GOSSIP_HEADER;
    if (EVP_EncryptInit_ex(k->enc, NULL, NULL, NULL, h.nonce) != 1 ||
        EVP_EncryptUpdate(k->enc, NULL, &n, out, SR_GOSSIP_HEADER) != 1 ||
        EVP_EncryptUpdate(k->enc, ct, &n, in, (int)len) != 1 ||
        EVP_EncryptFinal_ex(k->enc, ct + n, &fin) != 1 ||
        EVP_CIPHER_CTX_ctrl(k->enc, EVP_CTRL_GCM_GET_TAG, SR_GOSSIP_TAG_LEN, ct + len) != 1)
        return SR_EIO;
    g->st.sealed++;
    return (int)(len + SR_GOSSIP_OVERHEAD);
}

/* AES-GCM open in place; true when the tag matches. */
static bool aead_open(struct gossip_key *k, const struct sr_gossip_header *h, uint8_t *buf,
                      size_t len)
{
    uint8_t tag[SR_GOSSIP_TAG_LEN];
    size_t clen = len - SR_GOSSIP_OVERHEAD;
    uint8_t *ct = buf + SR_GOSSIP_HEADER;
    int n = 0;
    memcpy(tag, ct + clen, sizeof(tag));
    return EVP_DecryptInit_ex(k->dec, NULL, NULL, NULL, h->nonce) == 1 &&
           EVP_DecryptUpdate(k->dec, NULL, &n, buf, SR_GOSSIP_HEADER) == 1 &&
           EVP_DecryptUpdate(k->dec, ct, &n, ct, (int)clen) == 1 &&
           EVP_CIPHER_CTX_ctrl(k->dec, EVP_CTRL_GCM_SET_TAG, sizeof(tag), tag) == 1 &&
           EVP_DecryptFinal_ex(k->dec, ct + n, &n) == 1;
}

static enum sr_gossip_verdict verdict(struct sr_gossip *g, enum sr_gossip_verdict v)
{
    if ((unsigned)v < SR_GOSSIP_VERDICTS)
        g->st.dropped[v]++;
    return v;
}

enum sr_gossip_verdict sr_gossip_open(struct sr_gossip *g, uint64_t now_ms, uint8_t *buf,
                                      size_t len, const uint8_t **plain, size_t *plain_len)
{
    struct sr_gossip_header h;
    enum sr_gossip_verdict v = sr_gossip_header_get(buf, len, &h);
    if (v == SR_GOSSIP_PLAINTEXT && g->accept_plain) {
        *plain = buf;
        *plain_len = len;
        g->st.plaintext_accepted++;
        return SR_GOSSIP_OK;
    }
    if (v != SR_GOSSIP_OK)
        return verdict(g, v);
    if (len - SR_GOSSIP_OVERHEAD > (size_t)INT_MAX)
        return verdict(g, SR_GOSSIP_MALFORMED);
    struct gossip_key *k = key_find(g, h.key_id, NULL);
    if (!k)
        return verdict(g, SR_GOSSIP_UNKNOWN_KEY);
    if (!aead_open(k, &h, buf, len))
        return verdict(g, SR_GOSSIP_AUTH);
    /* only now is the timestamp known to be the sender's */
    v = sr_gossip_age_check(h.ts_ms, now_ms, g->window_ms, g->skew_ms);
    if (v != SR_GOSSIP_OK)
        return verdict(g, v);
    *plain = buf + SR_GOSSIP_HEADER;
    *plain_len = len - SR_GOSSIP_OVERHEAD;
    g->st.opened++;
    return SR_GOSSIP_OK;
}
