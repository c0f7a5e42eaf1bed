/* ringpop JSON <-> core datagrams, and the ringpop membership checksum
 * (formats in rp_msg.h). */
#include "ringpop/rp_msg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "swimring/error.h"
#include "swimring/farmhash.h"
#include "swimring/mp.h"

int sr_rp_status_parse(const char *s, bool tombstone)
{
    static const char *const names[] = {"alive", "suspect", "faulty", "leave", "tombstone"};
    if (s == NULL)
        return -1;
    for (int i = 0; i < 5; i++)
        if (strcmp(s, names[i]) == 0)
            return i == 2 && tombstone ? 4 : i;
    return -1;
}

const char *sr_rp_status_name(enum sr_swim_status st)
{
    static const char *const names[] = {"alive", "suspect", "faulty", "leave", "tombstone"};
    return (unsigned)st < 5 ? names[st] : "faulty";
}

static bool get_inc(const json_t *o, const char *key, uint64_t *out)
{
    const json_t *v = json_object_get(o, key);
    if (!json_is_integer(v))
        return false;
    json_int_t i = json_integer_value(v);
    if (i < 0 || i >= SR_RP_INC_MAX)
        return false;
    *out = (uint64_t)i;
    return true;
}

/* Labels of a change, within the core's limits; false if they do not fit. */
static bool get_labels(const json_t *o, struct sr_swim_label *out, size_t *n)
{
    const json_t *l = json_object_get(o, "labels");
    const char *k;
    const json_t *v;
    *n = 0;
    if (l == NULL || json_is_null(l))
        return true;
    if (!json_is_object(l) || json_object_size(l) > SR_SWIM_LABELS_MAX)
        return false;
    json_object_foreach((json_t *)l, k, v) {
        if (!json_is_string(v) || strlen(k) == 0 || strlen(k) >= SR_SWIM_LABEL_MAX ||
            json_string_length(v) >= SR_SWIM_LABEL_MAX)
            return false;
        snprintf(out[*n].key, SR_SWIM_LABEL_MAX, "%s", k);
        snprintf(out[*n].value, SR_SWIM_LABEL_MAX, "%s", json_string_value(v));
        (*n)++;
    }
    return true;
}

/* One change as an encoded update appended to out; false if dropped. */
static bool put_change(struct sr_buf *out, const json_t *c, struct sr_rp_drops *d)
{
    const char *addr = json_string_value(json_object_get(c, "address"));
    const char *st = json_string_value(json_object_get(c, "status"));
    const char *src = json_string_value(json_object_get(c, "source"));
    bool tomb = json_is_true(json_object_get(c, "tombstone"));
    uint64_t inc;
    int status = sr_rp_status_parse(st, tomb);
    if (addr == NULL || strlen(addr) == 0 || strlen(addr) >= SR_SWIM_ADDR_MAX || status < 0 ||
        !get_inc(c, "incarnationNumber", &inc)) {
        d->bad_change++;
        return false;
    }
    if (status == 4)
        d->tombstone++; /* counted: the core applies it only to known members */
    struct sr_swim_label labels[SR_SWIM_LABELS_MAX];
    size_t nl = 0;
    if (!get_labels(c, labels, &nl)) {
        d->labels++;
        nl = 0;
    }
    if (src != NULL && strlen(src) >= SR_SWIM_ADDR_MAX)
        src = NULL;
    struct sr_mp_writer w;
    sr_mp_writer_init(&w, out);
    sr_swim_wire_put_update(&w, addr, addr, inc, (uint32_t)status, labels, nl, src);
    return sr_mp_writer_error(&w) == 0;
}

int sr_rp_changes_to_datagram(struct sr_buf *out, uint32_t type, uint64_t seq,
                              uint64_t core_checksum, const json_t *changes,
                              const char *target, uint32_t timeout_ms,
                              struct sr_rp_drops *drops)
{
    struct sr_swim_msg m = {.type = type, .seq = seq, .checksum = core_checksum,
                            .flags = SR_SWIM_FLAG_PENDING, .timeout_ms = timeout_ms};
    if (target != NULL) {
        m.target = target;
        m.target_len = (uint32_t)strlen(target);
    }
    sr_buf_reset(out);
    int off = sr_swim_wire_begin(out, &m);
    if (off < 0)
        return off;
    size_t n = 0, i;
    const json_t *c;
    if (json_is_array(changes))
        json_array_foreach((json_t *)changes, i, c) {
            if (n >= 0xffff)
                break; /* array16 */
            if (json_is_object(c) && put_change(out, c, drops))
                n++;
            else if (!json_is_object(c))
                drops->bad_change++;
        }
    return sr_swim_wire_finish(out, (size_t)off, n);
}

int sr_rp_changes_to_state(struct sr_buf *out, const char *from, const json_t *membership,
                           struct sr_rp_drops *drops)
{
    struct sr_buf tmp;
    struct sr_mp_writer w;
    size_t n = 0, i;
    const json_t *c;
    sr_buf_create(&tmp, 0);
    if (json_is_array(membership))
        json_array_foreach((json_t *)membership, i, c) {
            if (json_is_object(c) && put_change(&tmp, c, drops))
                n++;
        }
    sr_buf_reset(out);
    sr_mp_writer_init(&w, out);
    sr_mp_write_map(&w, 4);
    sr_mp_write_uint(&w, 0);
    sr_mp_write_uint(&w, SR_SWIM_STATE_VERSION);
    sr_mp_write_uint(&w, 1);
    sr_mp_write_cstr(&w, from);
    sr_mp_write_uint(&w, 2);
    sr_mp_write_uint(&w, 0);
    sr_mp_write_uint(&w, 3);
    sr_mp_write_array(&w, (uint32_t)n);
    int rc = sr_mp_writer_error(&w);
    if (rc == 0)
        rc = sr_buf_append(out, tmp.data, tmp.len);
    sr_buf_destroy(&tmp);
    return rc;
}

json_t *sr_rp_change_new(const char *addr, enum sr_swim_status st, uint64_t inc)
{
    /* tombstones travel as faulty + tombstone:true (older ringpops know no
     * "tombstone" status) */
    json_t *c = json_pack("{s:s, s:s, s:I}", "address", addr, "status",
                          st == SR_SWIM_TOMBSTONE ? "faulty" : sr_rp_status_name(st),
                          "incarnationNumber", (json_int_t)inc);
    if (c != NULL && st == SR_SWIM_TOMBSTONE)
        json_object_set_new(c, "tombstone", json_true());
    return c;
}

json_t *sr_rp_update_to_change(const struct sr_swim_update *u, const char *source,
                               uint64_t source_inc)
{
    char addr[SR_SWIM_ADDR_MAX];
    snprintf(addr, sizeof(addr), "%.*s", (int)u->addr_len, u->addr);
    json_t *c = sr_rp_change_new(addr, (enum sr_swim_status)u->status, u->incarnation);
    if (c == NULL)
        return NULL;
    char src[SR_SWIM_ADDR_MAX];
    if (u->from != NULL && u->from_len > 0 && u->from_len < sizeof(src)) {
        snprintf(src, sizeof(src), "%.*s", (int)u->from_len, u->from);
        source = src;
    }
    json_object_set_new(c, "source", json_string(source));
    json_object_set_new(c, "sourceIncarnationNumber", json_integer((json_int_t)source_inc));
    if (u->nlabels > 0) {
        struct sr_swim_label l[SR_SWIM_LABELS_MAX];
        size_t n = sr_swim_wire_labels(u, l);
        json_t *o = json_object();
        for (size_t i = 0; i < n; i++)
            json_object_set_new(o, l[i].key, json_string(l[i].value));
        json_object_set_new(c, "labels", o);
    }
    return c;
}

int32_t sr_rp_labels_checksum(const struct sr_swim_label *labels, size_t n)
{
    uint32_t x = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t b[8 + 2 * SR_SWIM_LABEL_MAX];
        size_t kl = strlen(labels[i].key), vl = strlen(labels[i].value), o = 0;
        b[o++] = (uint8_t)(kl >> 24), b[o++] = (uint8_t)(kl >> 16);
        b[o++] = (uint8_t)(kl >> 8), b[o++] = (uint8_t)kl;
        memcpy(b + o, labels[i].key, kl), o += kl;
        b[o++] = (uint8_t)(vl >> 24), b[o++] = (uint8_t)(vl >> 16);
        b[o++] = (uint8_t)(vl >> 8), b[o++] = (uint8_t)vl;
        memcpy(b + o, labels[i].value, vl), o += vl;
        x ^= sr_farmhash_fingerprint32(b, o);
    }
    return (int32_t)x; /* two's complement, as Go's int32() and JS's ^ give */
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

uint32_t sr_rp_checksum_entries(const struct sr_rp_entry *e, size_t n)
{
    char **strs = calloc(n ? n : 1, sizeof(*strs));
    struct sr_buf b;
    size_t k = 0;
    sr_buf_create(&b, 0);
    for (size_t i = 0; strs != NULL && i < n; i++) {
        if (strcmp(e[i].status, "tombstone") == 0)
            continue;
        char lab[32] = "";
        if (e[i].labels_checksum != 0)
            snprintf(lab, sizeof(lab), "#labels%d", (int)e[i].labels_checksum);
        size_t len = strlen(e[i].addr) + strlen(e[i].status) + 21 + strlen(lab) + 1;
        strs[k] = malloc(len);
        if (strs[k] == NULL)
            break;
        snprintf(strs[k], len, "%s%s%llu%s", e[i].addr, e[i].status,
                 (unsigned long long)e[i].incarnation, lab);
        k++;
    }
    if (strs != NULL)
        qsort(strs, k, sizeof(*strs), cmp_str);
    for (size_t i = 0; i < k; i++) {
        sr_buf_append(&b, strs[i], strlen(strs[i]));
        sr_buf_append(&b, ";", 1);
        free(strs[i]);
    }
    free(strs);
    uint32_t h = sr_farmhash_fingerprint32(b.data, b.len);
    sr_buf_destroy(&b);
    return h;
}

struct collect {
    struct sr_rp_entry *e;
    size_t n, cap;
};

static void collect_one(void *ud, const struct sr_swim_member_info *m)
{
    struct collect *c = ud;
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 16;
        struct sr_rp_entry *e = realloc(c->e, cap * sizeof(*e));
        if (e == NULL)
            return;
        c->e = e;
        c->cap = cap;
    }
    c->e[c->n++] = (struct sr_rp_entry){m->addr, sr_rp_status_name(m->status), m->incarnation,
                                        sr_rp_labels_checksum(m->labels, m->nlabels)};
}

uint32_t sr_rp_checksum(const struct sr_swim *s)
{
    struct collect c = {0};
    sr_swim_foreach(s, collect_one, &c);
    uint32_t h = sr_rp_checksum_entries(c.e, c.n);
    free(c.e);
    return h;
}
