/* Attribute filters for nearby queries ("seats>=4,wheelchair=true"). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "swimring/error.h"
#include "geo_index.h"

enum op { OP_EQ, OP_NE, OP_GE, OP_LE, OP_GT, OP_LT };

struct cond {
    char key[64];
    char val[128];
    enum op op;
    bool is_num, is_bool, bval;
    double num;
};

struct geo_filter {
    size_t n;
    struct cond c[GEO_FILTER_MAX];
};

/* Longest operators first so ">=" is not read as ">". */
static const struct {
    const char *s;
    enum op op;
} ops[] = {{">=", OP_GE}, {"<=", OP_LE}, {"!=", OP_NE}, {"=", OP_EQ}, {">", OP_GT}, {"<", OP_LT}};

static bool key_ok(const char *k, size_t n)
{
    if (n == 0 || n >= sizeof(((struct cond *)0)->key))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((k[i] >= 'a' && k[i] <= 'z') || (k[i] >= 'A' && k[i] <= 'Z') ||
              (k[i] >= '0' && k[i] <= '9') || k[i] == '_' || k[i] == '-' || k[i] == '.'))
            return false;
    return true;
}

static int cond_parse(struct cond *c, const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        for (size_t k = 0; k < sizeof ops / sizeof ops[0]; k++) {
            size_t ol = strlen(ops[k].s);
            if (i + ol > len || memcmp(s + i, ops[k].s, ol) != 0)
                continue;
            size_t vl = len - i - ol;
            if (!key_ok(s, i) || vl == 0 || vl >= sizeof c->val)
                return SR_EINVAL;
            memcpy(c->key, s, i);
            c->key[i] = '\0';
            memcpy(c->val, s + i + ol, vl);
            c->val[vl] = '\0';
            c->op = ops[k].op;
            char *end;
            c->num = strtod(c->val, &end);
            c->is_num = *end == '\0' && isfinite(c->num);
            c->is_bool = strcmp(c->val, "true") == 0 || strcmp(c->val, "false") == 0;
            c->bval = strcmp(c->val, "true") == 0;
            /* Ordering needs a number. */
            if (!c->is_num && c->op != OP_EQ && c->op != OP_NE)
                return SR_EINVAL;
            return 0;
        }
    return SR_EINVAL;
}

struct geo_filter *geo_filter_parse(const char *s, size_t len, int *err)
{
    struct geo_filter *f = calloc(1, sizeof(*f));
    if (!f) {
        *err = SR_ENOMEM;
        return NULL;
    }
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && s[i] != ',')
            continue;
        if (f->n == GEO_FILTER_MAX || cond_parse(&f->c[f->n], s + start, i - start) < 0) {
            free(f);
            *err = SR_EINVAL;
            return NULL;
        }
        f->n++;
        start = i + 1;
    }
    return f;
}

void geo_filter_free(struct geo_filter *f)
{
    free(f);
}

static bool cmp_num(enum op op, double a, double b)
{
    switch (op) {
    case OP_EQ: return a == b;
    case OP_NE: return a != b;
    case OP_GE: return a >= b;
    case OP_LE: return a <= b;
    case OP_GT: return a > b;
    case OP_LT: return a < b;
    }
    return false;
}

static bool cond_match(const struct cond *c, json_t *v)
{
    if (!v)
        return false;
    if (json_is_number(v) && c->is_num)
        return cmp_num(c->op, json_number_value(v), c->num);
    if (json_is_boolean(v) && c->is_bool)
        return (json_is_true(v) == c->bval) == (c->op == OP_EQ) &&
               (c->op == OP_EQ || c->op == OP_NE);
    if (json_is_string(v) && (c->op == OP_EQ || c->op == OP_NE))
        return (strcmp(json_string_value(v), c->val) == 0) == (c->op == OP_EQ);
    return false;
}

bool geo_filter_match(const struct geo_filter *f, const char *attrs, size_t len)
{
    if (!f || f->n == 0)
        return true;
    json_t *j = attrs ? json_loadb(attrs, len, 0, NULL) : NULL;
    bool ok = json_is_object(j);
    for (size_t i = 0; ok && i < f->n; i++)
        ok = cond_match(&f->c[i], json_object_get(j, f->c[i].key));
    json_decref(j);
    return ok;
}
