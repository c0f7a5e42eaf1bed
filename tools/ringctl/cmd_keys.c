/* ringctl keys: a node's gossip keyring (GET/POST /admin/gossip-keys).
 *
 *   ringctl keys list                 key ids, the primary marked
 *   ringctl keys install HEX|-        add a key (64 hex characters; "-" reads
 *                                     it from stdin, so it stays out of ps)
 *   ringctl keys use ID               make an installed key the primary
 *   ringctl keys remove ID            drop a key (never the primary)
 *   ringctl keys plaintext off|accept|send   transition switches
 *
 * Rotation without downtime: install the new key on every node, then use
 * it on every node, then remove the old one on every node. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include "live.h"
#include "ringctl.h"

static void keys_table(json_t *j)
{
    size_t i;
    json_t *k;
    if (!json_is_true(json_object_get(j, "encrypted"))) {
        printf("gossip is not encrypted on this node\n");
        return;
    }
    printf("%-10s %s\n", "KEY ID", "");
    json_array_foreach(json_object_get(j, "keys"), i, k)
        printf("%-10s %s\n", json_string_value(json_object_get(k, "id")),
               json_is_true(json_object_get(k, "primary")) ? "primary (seals)" : "");
    printf("plaintext: accept %s, send %s; replay window %lld ms + clock skew %lld ms\n",
           json_is_true(json_object_get(j, "accept_plaintext")) ? "yes" : "no",
           json_is_true(json_object_get(j, "send_plaintext")) ? "yes" : "no",
           (long long)json_integer_value(json_object_get(j, "replay_window_ms")),
           (long long)json_integer_value(json_object_get(j, "clock_skew_ms")));
}

static void keys_usage(FILE *out)
{
    fprintf(out, "usage: ringctl keys [list | install HEX|- | use ID | remove ID |\n"
                 "                     plaintext off|accept|send] [--node HOST:PORT] [--json]\n"
                 "  install -: read the key (64 hex characters) from stdin\n"
                 "Rotate: install NEW on every node, use NEW on every node, remove OLD on every node.\n"
                 "Exit: 0 ok, 1 refused (e.g. removing the primary), 2 usage, 3 node unreachable.\n");
}

/* The key from stdin: the first line, trimmed. */
static int read_key(char *out, size_t cap)
{
    if (!fgets(out, (int)cap, stdin))
        return -1;
    size_t n = strcspn(out, "\r\n");
    out[n] = '\0';
    while (n && (out[n - 1] == ' ' || out[n - 1] == '\t'))
        out[--n] = '\0';
    return 0;
}

static json_t *plaintext_body(const char *mode)
{
    if (strcmp(mode, "off") == 0)
        return json_pack("{s:s, s:b, s:b}", "op", "plaintext", "accept", 0, "send", 0);
    if (strcmp(mode, "accept") == 0)
        return json_pack("{s:s, s:b, s:b}", "op", "plaintext", "accept", 1, "send", 0);
    if (strcmp(mode, "send") == 0)
        return json_pack("{s:s, s:b, s:b}", "op", "plaintext", "accept", 1, "send", 1);
    return NULL;
}

/* The POST body for a verb, or NULL for bad usage. */
static json_t *op_body(struct live_opts *o, char *key, size_t keycap)
{
    const char *verb = o->args[0];
    if (o->nargs != 2)
        return NULL;
    if (strcmp(verb, "install") == 0) {
        const char *hex = o->args[1];
        if (strcmp(hex, "-") == 0) {
            if (read_key(key, keycap) < 0)
                return NULL;
            hex = key;
        }
        return json_pack("{s:s, s:s}", "op", "install", "key", hex);
    }
    if (strcmp(verb, "use") == 0 || strcmp(verb, "remove") == 0)
        return json_pack("{s:s, s:s}", "op", verb, "id", o->args[1]);
    if (strcmp(verb, "plaintext") == 0)
        return plaintext_body(o->args[1]);
    return NULL;
}

static int run_keys(int argc, char **argv)
{
    struct live_opts o;
    int st, rc = live_parse(argc, argv, &o);
    if (rc)
        return rc;
    json_t *j = NULL, *body = NULL;
    char key[256] = "";
    if (o.nargs == 0 || (o.nargs == 1 && strcmp(o.args[0], "list") == 0)) {
        j = live_call(o.node, "GET", "/admin/gossip-keys", NULL, &st);
    } else if ((body = op_body(&o, key, sizeof key)) != NULL) {
        char *text = json_dumps(body, JSON_COMPACT);
        j = live_call(o.node, "POST", "/admin/gossip-keys", text, &st);
        if (text)
            OPENSSL_cleanse(text, strlen(text));
        free(text);
        json_decref(body);
        OPENSSL_cleanse(key, sizeof key);
    } else {
        keys_usage(stderr);
        return RINGCTL_USAGE;
    }
    if (j && st == 200) {
        if (o.json)
            live_print_json(j);
        else
            keys_table(j);
    }
    json_decref(j);
    return st < 0 ? RINGCTL_UNREACHABLE : st == 200 ? RINGCTL_OK : RINGCTL_FAIL;
}

const struct ringctl_cmd ringctl_cmd_keys = {"keys", "gossip encryption keys: list, install, use, remove",
                                             run_keys, keys_usage};
