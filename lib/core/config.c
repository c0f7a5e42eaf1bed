/* YAML configuration loader: walks a libyaml document against section tables
 * (see swimring/config.h). Every error carries FILE:LINE:COLUMN. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>
#include "swimring/config.h"
#include "swimring/error.h"

struct ctx {
    const struct sr_cfg_section *secs;
    size_t n;
    const char *file;
    char *err;
    size_t errlen;
    yaml_document_t *doc;
    const char *text;     /* string input, to look at the byte an error names */
    size_t textlen;
    FILE *fp;             /* file input, likewise */
};

static int fail_at(struct ctx *c, size_t line0, size_t col0, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Why 0-based input: libyaml marks are 0-based; messages are 1-based. */
static int fail_at(struct ctx *c, size_t line0, size_t col0, const char *fmt, ...)
{
    if (c->err != NULL && c->errlen > 0) {
        int k = snprintf(c->err, c->errlen, "%s:%zu:%zu: ", c->file, line0 + 1, col0 + 1);
        if (k >= 0 && (size_t)k < c->errlen) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(c->err + k, c->errlen - (size_t)k, fmt, ap);
            va_end(ap);
        }
    }
    return SR_ECONFIG;
}

const char *sr_cfg_type_name(enum sr_cfg_type t)
{
    switch (t) {
    case SR_CFG_BOOL: return "bool";
    case SR_CFG_INT: return "integer";
    case SR_CFG_UINT32: return "unsigned integer";
    case SR_CFG_PORT: return "port";
    case SR_CFG_DURATION_MS: return "duration";
    case SR_CFG_DOUBLE: return "number";
    case SR_CFG_STRING: return "string";
    case SR_CFG_ADDR: return "address";
    case SR_CFG_ADDR_LIST: return "address list";
    case SR_CFG_ENUM: return "enum";
    }
    return "?";
}

/* ---- scalar parsing (shared by YAML, defaults and sr_cfg_set) ---- */

static int parse_i64(const char *s, int64_t *out)
{
    char *end;
    if (*s == '\0')
        return -1;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || *end != '\0')
        return -1;
    *out = v;
    return 0;
}

/* "1500", "1500ms", "2s", "1m", "1h"; result in ms. */
static int parse_duration(const char *s, int64_t *out)
{
    char *end;
    if (*s < '0' || *s > '9')
        return -1;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || v > INT64_MAX / 3600000)
        return -1;
    int64_t mult;
    if (*end == '\0' || strcmp(end, "ms") == 0) mult = 1;
    else if (strcmp(end, "s") == 0) mult = 1000;
    else if (strcmp(end, "m") == 0) mult = 60000;
    else if (strcmp(end, "h") == 0) mult = 3600000;
    else return -1;
    *out = (int64_t)v * mult;
    return 0;
}

/* "host:port": non-empty host without spaces, port 1..65535. IPv6 as [..]:p */
static const char *check_addr(const char *s, size_t cap)
{
    const char *colon = strrchr(s, ':');
    if (colon == NULL || colon == s)
        return "expected an address \"host:port\"";
    if (strlen(s) >= cap)
        return "address too long";
    for (const char *p = s; p < colon; p++)
        if (*p == ' ' || *p == '\t' || *p == '/')
            return "expected an address \"host:port\" (bad host)";
    int64_t port;
    if (parse_i64(colon + 1, &port) != 0)
        return "expected an address \"host:port\" (bad port)";
    if (port < 1 || port > 65535)
        return "address port out of range 1..65535";
    return NULL;
}

/* Store scalar text into field f of base. Returns NULL or a message in buf. */
static const char *store_scalar(const struct sr_cfg_field *f, void *base, const char *s,
                                char *buf, size_t buflen)
{
    char *p = (char *)base + f->offset;
    int64_t v;
    switch (f->type) {
    case SR_CFG_BOOL:
        if (!strcmp(s, "true") || !strcmp(s, "yes") || !strcmp(s, "on")) *(bool *)p = true;
        else if (!strcmp(s, "false") || !strcmp(s, "no") || !strcmp(s, "off")) *(bool *)p = false;
        else return "expected a bool (true/false)";
        return NULL;
    case SR_CFG_INT:
    case SR_CFG_UINT32:
    case SR_CFG_DURATION_MS:
        if (f->type == SR_CFG_DURATION_MS ? parse_duration(s, &v) : parse_i64(s, &v)) {
            snprintf(buf, buflen, "expected %s, got \"%.40s\"",
                     f->type == SR_CFG_DURATION_MS ? "a duration (e.g. 500ms, 2s, 1m)"
                                                   : "an integer", s);
            return buf;
        }
        if (v < f->min || v > f->max) {
            snprintf(buf, buflen, "value %" PRId64 " out of range %" PRId64 "..%" PRId64,
                     v, f->min, f->max);
            return buf;
        }
        if (f->type == SR_CFG_INT) *(int64_t *)p = v;
        else *(uint32_t *)p = (uint32_t)v;
        return NULL;
    case SR_CFG_PORT:
        if (parse_i64(s, &v))
            return "expected a port number";
        if (v < 1 || v > 65535)
            return "port out of range 1..65535";
        *(uint16_t *)p = (uint16_t)v;
        return NULL;
    case SR_CFG_DOUBLE: {
        char *end;
        errno = 0;
        double d = strtod(s, &end);
        if (*s == '\0' || *end != '\0' || errno != 0 || !isfinite(d))
            return "expected a number";
        if (d < (double)f->min || d > (double)f->max) {
            snprintf(buf, buflen, "value %g out of range %" PRId64 "..%" PRId64, d, f->min, f->max);
            return buf;
        }
        *(double *)p = d;
        return NULL;
    }
    case SR_CFG_STRING:
        if (strlen(s) >= f->size) {
            snprintf(buf, buflen, "string longer than %zu bytes", f->size - 1);
            return buf;
        }
        memcpy(p, s, strlen(s) + 1);
        return NULL;
    case SR_CFG_ADDR: {
        const char *m = check_addr(s, f->size);
        if (m) return m;
        memcpy(p, s, strlen(s) + 1);
        return NULL;
    }
    case SR_CFG_ENUM:
        for (int i = 0; f->choices && f->choices[i]; i++)
            if (!strcmp(f->choices[i], s)) {
                *(int *)p = i;
                return NULL;
            }
        {
            size_t k = (size_t)snprintf(buf, buflen, "expected one of:");
            for (int i = 0; f->choices && f->choices[i] && k < buflen; i++)
                k += (size_t)snprintf(buf + k, buflen - k, " %s", f->choices[i]);
        }
        return buf;
    case SR_CFG_ADDR_LIST:
        return "expected a list of addresses";
    }
    return "bad field type";
}

/* Add one address to a list field. */
static const char *list_add(const struct sr_cfg_field *f, void *base, const char *s)
{
    struct sr_cfg_addr_list *l = (struct sr_cfg_addr_list *)((char *)base + f->offset);
    const char *m = check_addr(s, SR_CFG_ADDR_MAX);
    if (m) return m;
    if (l->n >= SR_CFG_ADDR_LIST_MAX)
        return "too many addresses (max 16)";
    memcpy(l->addr[l->n++], s, strlen(s) + 1);
    return NULL;
}

/* Comma-separated list (defaults and sr_cfg_set). */
static const char *store_list_text(const struct sr_cfg_field *f, void *base, const char *s,
                                   char *buf, size_t buflen)
{
    struct sr_cfg_addr_list *l = (struct sr_cfg_addr_list *)((char *)base + f->offset);
    l->n = 0;
    while (*s) {
        const char *e = strchr(s, ',');
        size_t len = e ? (size_t)(e - s) : strlen(s);
        char one[SR_CFG_ADDR_MAX];
        if (len >= sizeof one) return "address too long";
        memcpy(one, s, len);
        one[len] = '\0';
        const char *m = list_add(f, base, one);
        if (m) return m;
        s += len + (e ? 1 : 0);
    }
    if (l->n < (size_t)f->min) {
        snprintf(buf, buflen, "expected at least %" PRId64 " address(es)", f->min);
        return buf;
    }
    return NULL;
}

int sr_cfg_defaults(const struct sr_cfg_section *secs, size_t n)
{
    char buf[160];
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        if (secs[i].base == NULL) continue;
        for (size_t j = 0; j < secs[i].nfields; j++) {
            const struct sr_cfg_field *f = &secs[i].fields[j];
            const char *m;
            if (f->type == SR_CFG_ADDR_LIST) {
                /* an empty default list is fine even with a min: the min
                 * applies only when the key is given */
                ((struct sr_cfg_addr_list *)((char *)secs[i].base + f->offset))->n = 0;
                m = f->def[0] ? store_list_text(f, secs[i].base, f->def, buf, sizeof buf) : NULL;
            } else {
                m = store_scalar(f, secs[i].base, f->def, buf, sizeof buf);
            }
            if (m) rc = SR_ECONFIG;
        }
    }
    return rc;
}

/* ---- key lookup ---- */

static const struct sr_cfg_section *find_section(struct ctx *c, const char *name)
{
    for (size_t i = 0; i < c->n; i++)
        if (!strcmp(c->secs[i].name, name)) return &c->secs[i];
    return NULL;
}

static const struct sr_cfg_field *find_field(const struct sr_cfg_section *s, const char *key)
{
    for (size_t j = 0; j < s->nfields; j++)
        if (!strcmp(s->fields[j].key, key)) return &s->fields[j];
    return NULL;
}

/* Is `prefix` a proper dotted prefix of some field key ("log" of "log.level")? */
static bool is_group(const struct sr_cfg_section *s, const char *prefix)
{
    size_t l = strlen(prefix);
    for (size_t j = 0; j < s->nfields; j++)
        if (!strncmp(s->fields[j].key, prefix, l) && s->fields[j].key[l] == '.') return true;
    return false;
}

static size_t min3(size_t a, size_t b, size_t c)
{
    return a < b ? (a < c ? a : c) : (b < c ? b : c);
}

/* Levenshtein distance, capped inputs (keys are short). */
static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 63 || lb > 63) return 99;
    size_t row[64];
    for (size_t j = 0; j <= lb; j++) row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t prev = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t cur = row[j];
            row[j] = min3(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] != b[j - 1]));
            prev = cur;
        }
    }
    return row[lb];
}

/* Closest full key ("section.field") to `full`, or NULL if none is close. */
static const char *suggest(struct ctx *c, const char *full, char *buf, size_t buflen)
{
    size_t best = 3;
    bool found = false;
    for (size_t i = 0; i < c->n; i++) {
        char k[160];
        size_t d = edit_distance(full, c->secs[i].name);
        if (d < best) {
            best = d;
            snprintf(buf, buflen, "%s", c->secs[i].name);
            found = true;
        }
        for (size_t j = 0; j < c->secs[i].nfields; j++) {
            snprintf(k, sizeof k, "%s.%s", c->secs[i].name, c->secs[i].fields[j].key);
            d = edit_distance(full, k);
            if (d < best) {
                best = d;
                snprintf(buf, buflen, "%s", k);
                found = true;
            }
        }
    }
    return found ? buf : NULL;
}

static int unknown_key(struct ctx *c, const yaml_node_t *k, const char *full)
{
    char sbuf[160];
    const char *s = suggest(c, full, sbuf, sizeof sbuf);
    if (s)
        return fail_at(c, k->start_mark.line, k->start_mark.column,
                       "unknown key \"%s\" (did you mean \"%s\"?)", full, s);
    return fail_at(c, k->start_mark.line, k->start_mark.column, "unknown key \"%s\"", full);
}

/* ---- document walk ---- */

static const char *node_kind(const yaml_node_t *n)
{
    return n->type == YAML_MAPPING_NODE ? "a mapping"
         : n->type == YAML_SEQUENCE_NODE ? "a list" : "a scalar";
}

static int check_dups(struct ctx *c, const yaml_node_t *map)
{
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(c->doc, p->key);
        if (k == NULL || k->type != YAML_SCALAR_NODE)
            return fail_at(c, k ? k->start_mark.line : 0, k ? k->start_mark.column : 0,
                           "expected a scalar key");
        for (yaml_node_pair_t *q = map->data.mapping.pairs.start; q < p; q++) {
            yaml_node_t *k2 = yaml_document_get_node(c->doc, q->key);
            if (!strcmp((char *)k->data.scalar.value, (char *)k2->data.scalar.value))
                return fail_at(c, k->start_mark.line, k->start_mark.column,
                               "duplicate key \"%s\" (first at line %zu)",
                               (char *)k->data.scalar.value, k2->start_mark.line + 1);
        }
    }
    return 0;
}

static int set_list(struct ctx *c, const struct sr_cfg_section *s, const struct sr_cfg_field *f,
                    const yaml_node_t *v, const char *full)
{
    if (v->type != YAML_SEQUENCE_NODE)
        return fail_at(c, v->start_mark.line, v->start_mark.column,
                       "%s: expected a list of addresses, got %s", full, node_kind(v));
    ((struct sr_cfg_addr_list *)((char *)s->base + f->offset))->n = 0;
    size_t count = 0;
    for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
        yaml_node_t *e = yaml_document_get_node(c->doc, *it);
        if (e->type != YAML_SCALAR_NODE)
            return fail_at(c, e->start_mark.line, e->start_mark.column,
                           "%s: expected an address, got %s", full, node_kind(e));
        const char *m = list_add(f, s->base, (char *)e->data.scalar.value);
        if (m)
            return fail_at(c, e->start_mark.line, e->start_mark.column, "%s: %s", full, m);
        count++;
    }
    if (count < (size_t)f->min)
        return fail_at(c, v->start_mark.line, v->start_mark.column,
                       "%s: expected at least %" PRId64 " address(es), got %zu", full, f->min, count);
    return 0;
}

static int set_field(struct ctx *c, const struct sr_cfg_section *s, const struct sr_cfg_field *f,
                     const yaml_node_t *v, const char *full)
{
    char buf[200];
    if (f->type == SR_CFG_ADDR_LIST)
        return set_list(c, s, f, v, full);
    if (v->type != YAML_SCALAR_NODE)
        return fail_at(c, v->start_mark.line, v->start_mark.column,
                       "%s: expected %s, got %s", full, sr_cfg_type_name(f->type), node_kind(v));
    const char *m = store_scalar(f, s->base, (char *)v->data.scalar.value, buf, sizeof buf);
    if (m)
        return fail_at(c, v->start_mark.line, v->start_mark.column, "%s: %s", full, m);
    return 0;
}

/* Walk a mapping inside section s; prefix is the dotted key so far ("" at top). */
static int walk_map(struct ctx *c, const struct sr_cfg_section *s, const yaml_node_t *map,
                    const char *prefix)
{
    int rc = check_dups(c, map);
    if (rc) return rc;
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(c->doc, p->key);
        yaml_node_t *v = yaml_document_get_node(c->doc, p->value);
        char key[160], full[200];
        snprintf(key, sizeof key, "%s%s%s", prefix, *prefix ? "." : "", (char *)k->data.scalar.value);
        snprintf(full, sizeof full, "%s.%s", s->name, key);
        const struct sr_cfg_field *f = find_field(s, key);
        if (f)
            rc = set_field(c, s, f, v, full);
        else if (is_group(s, key)) {
            if (v->type != YAML_MAPPING_NODE)
                return fail_at(c, v->start_mark.line, v->start_mark.column,
                               "%s: expected a mapping, got %s", full, node_kind(v));
            rc = walk_map(c, s, v, key);
        } else
            return unknown_key(c, k, full);
        if (rc) return rc;
    }
    return 0;
}

static int walk_root(struct ctx *c, const yaml_node_t *root)
{
    if (root == NULL)
        return 0; /* empty document: nothing to set */
    if (root->type == YAML_SCALAR_NODE && root->data.scalar.length == 0)
        return 0;
    if (root->type != YAML_MAPPING_NODE)
        return fail_at(c, root->start_mark.line, root->start_mark.column,
                       "expected a mapping of sections, got %s", node_kind(root));
    int rc = check_dups(c, root);
    if (rc) return rc;
    for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(c->doc, p->key);
        yaml_node_t *v = yaml_document_get_node(c->doc, p->value);
        const char *name = (char *)k->data.scalar.value;
        const struct sr_cfg_section *s = find_section(c, name);
        if (s == NULL)
            return unknown_key(c, k, name);
        if (v->type == YAML_SCALAR_NODE && v->data.scalar.length == 0 &&
            v->data.scalar.style == YAML_PLAIN_SCALAR_STYLE)
            continue; /* "swim:" with nothing under it */
        if (v->type != YAML_MAPPING_NODE)
            return fail_at(c, v->start_mark.line, v->start_mark.column,
                           "%s: expected a mapping, got %s", name, node_kind(v));
        if (s->base == NULL)
            continue;
        rc = walk_map(c, s, v, "");
        if (rc) return rc;
    }
    return 0;
}

/* The input byte at `index`, or -1. libyaml's message for a tab indent is
 * "found character that cannot start any token"; saying "tab" helps more. */
static int byte_at(const struct ctx *c, size_t index)
{
    if (c->text != NULL)
        return index < c->textlen ? (unsigned char)c->text[index] : -1;
    if (c->fp != NULL && fseek(c->fp, (long)index, SEEK_SET) == 0)
        return fgetc(c->fp);
    return -1;
}

static int load(struct ctx *c, yaml_parser_t *parser)
{
    yaml_document_t doc;
    if (!yaml_parser_load(parser, &doc)) {
        const char *what = parser->problem ? parser->problem : "YAML error";
        if (parser->error == YAML_SCANNER_ERROR && byte_at(c, parser->problem_mark.index) == '\t')
            return fail_at(c, parser->problem_mark.line, parser->problem_mark.column,
                           "YAML syntax error: tab character (indent with spaces)");
        int rc = fail_at(c, parser->problem_mark.line, parser->problem_mark.column,
                         "YAML syntax error: %s%s%s", what,
                         parser->context ? " " : "", parser->context ? parser->context : "");
        return rc;
    }
    c->doc = &doc;
    int rc = walk_root(c, yaml_document_get_root_node(&doc));
    yaml_document_delete(&doc);
    if (rc) return rc;
    /* a second document would be silently ignored otherwise */
    yaml_document_t more;
    if (!yaml_parser_load(parser, &more))
        return fail_at(c, parser->problem_mark.line, parser->problem_mark.column,
                       "YAML syntax error: %s", parser->problem ? parser->problem : "?");
    yaml_node_t *r2 = yaml_document_get_root_node(&more);
    size_t l = r2 ? r2->start_mark.line : 0, col = r2 ? r2->start_mark.column : 0;
    yaml_document_delete(&more);
    if (r2 != NULL)
        return fail_at(c, l, col, "only one YAML document is allowed");
    return 0;
}

int sr_cfg_load_string(const struct sr_cfg_section *secs, size_t n, const char *text, size_t len,
                       char *err, size_t errlen)
{
    struct ctx c = {secs, n, "<string>", err, errlen, NULL, text, len, NULL};
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser))
        return fail_at(&c, 0, 0, "out of memory");
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    int rc = load(&c, &parser);
    yaml_parser_delete(&parser);
    return rc;
}

int sr_cfg_load_file(const struct sr_cfg_section *secs, size_t n, const char *path,
                     char *err, size_t errlen)
{
    struct ctx c = {secs, n, path, err, errlen, NULL, NULL, 0, NULL};
    FILE *fp = fopen(path, "rb");
    if (fp == NULL)
        return fail_at(&c, 0, 0, "cannot open: %s", strerror(errno));
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser)) {
        fclose(fp);
        return fail_at(&c, 0, 0, "out of memory");
    }
    yaml_parser_set_input_file(&parser, fp);
    c.fp = fp;
    int rc = load(&c, &parser);
    yaml_parser_delete(&parser);
    fclose(fp);
    return rc;
}

int sr_cfg_set(const struct sr_cfg_section *secs, size_t n, const char *key, const char *value,
               char *err, size_t errlen)
{
    struct ctx c = {secs, n, "<set>", err, errlen, NULL, NULL, 0, NULL};
    char buf[200];
    const char *dot = strchr(key, '.');
    for (size_t i = 0; dot && i < n; i++) {
        if (strlen(secs[i].name) != (size_t)(dot - key) || strncmp(secs[i].name, key, (size_t)(dot - key)))
            continue;
        const struct sr_cfg_field *f = find_field(&secs[i], dot + 1);
        if (f == NULL || secs[i].base == NULL)
            break;
        const char *m = f->type == SR_CFG_ADDR_LIST
                            ? store_list_text(f, secs[i].base, value, buf, sizeof buf)
                            : store_scalar(f, secs[i].base, value, buf, sizeof buf);
        return m ? fail_at(&c, 0, 0, "%s: %s", key, m) : 0;
    }
    char sbuf[160];
    const char *s = suggest(&c, key, sbuf, sizeof sbuf);
    if (s)
        return fail_at(&c, 0, 0, "unknown key \"%s\" (did you mean \"%s\"?)", key, s);
    return fail_at(&c, 0, 0, "unknown key \"%s\"", key);
}
