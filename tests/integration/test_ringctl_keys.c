/* ringctl keys against a live 2-node ringd cluster with a gossip key: list
 * (ids only), install from stdin, use, remove (the primary refused with
 * exit 1), plaintext switches, usage errors; the cluster keeps gossiping
 * through the rotation; an unencrypted node refuses keyring changes. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <jansson.h>
#include "swimring/gossip_crypto.h"
#include "swimring/testkit.h"

#define RINGCTL SR_BINARY_DIR "/tools/ringctl/ringctl"
#define RINGD SR_BINARY_DIR "/tools/ringd/ringd"

static struct sr_tk_cluster cluster;
static char keyfile[64];
static char out[65536];

static const char *OLD = "5a5b5c5d5e5f606162636465666768696a6b6c6d6e6f70717273747576777879";
static const char *NEW = "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf";

static void kill_all(void)
{
    sr_tk_destroy(&cluster);
    unlink(keyfile);
}

/* Run ringctl with args, `in` on its stdin (may be NULL); stdout to out. */
static int ringctl(const char *in, const char *const *args)
{
    return sr_tk_run(RINGCTL, args, in, out, sizeof out);
}

static json_t *keys_json(size_t node)
{
    const char *a[] = {"keys", "list", "--json", "--node", cluster.nodes[node].http, NULL};
    cr_assert_eq(ringctl(NULL, a), 0, "%s", out);
    json_t *j = json_loads(out, 0, NULL);
    cr_assert_not_null(j, "not JSON: %s", out);
    cr_assert(strstr(out, OLD) == NULL && strstr(out, NEW) == NULL, "key bytes printed");
    return j;
}

static void id_of(const char *hex, char id[SR_GOSSIP_ID_HEX + 1])
{
    uint8_t k[SR_GOSSIP_KEY_LEN];
    char err[128];
    cr_assert_eq(sr_gossip_key_parse(hex, strlen(hex), k, err, sizeof err), 0);
    sr_gossip_id_format(sr_gossip_key_id(k), id);
}

Test(ringctl_keys, list_install_use_remove, .fini = kill_all, .timeout = 120)
{
    char old_id[SR_GOSSIP_ID_HEX + 1], new_id[SR_GOSSIP_ID_HEX + 1], line[80];
    id_of(OLD, old_id);
    id_of(NEW, new_id);
    snprintf(keyfile, sizeof keyfile, "/tmp/sr-rk-%d", (int)getpid());
    FILE *f = fopen(keyfile, "w");
    cr_assert_not_null(f);
    fprintf(f, "%s\n", OLD);
    fclose(f);
    const char *extra[] = {"--gossip-key-file", keyfile, NULL};
    sr_tk_init(&cluster, RINGD, "local");
    cluster.extra = extra;
    cr_assert_eq(sr_tk_start(&cluster, 2, sr_time_mono_us() + 60 * SR_US_PER_S), 0);

    json_t *j = keys_json(0);
    cr_expect(json_is_true(json_object_get(j, "encrypted")));
    cr_expect_str_eq(json_string_value(json_object_get(j, "primary")), old_id);
    json_decref(j);
    const char *table[] = {"keys", "--node", cluster.nodes[0].http, NULL};
    cr_assert_eq(ringctl(NULL, table), 0);
    snprintf(line, sizeof line, "%s", old_id);
    cr_expect(strstr(out, line) && strstr(out, "primary (seals)"), "%s", out);

    for (size_t i = 0; i < 2; i++) {
        const char *inst[] = {"keys", "install", "-", "--node", cluster.nodes[i].http, NULL};
        char in[80];
        snprintf(in, sizeof in, "%s\n", NEW);
        cr_assert_eq(ringctl(in, inst), 0, "install on %zu: %s", i, out);
        cr_expect(strstr(out, new_id) != NULL, "%s", out);
        cr_expect(strstr(out, NEW) == NULL, "the key was printed: %s", out);
    }
    const char *rm_primary[] = {"keys", "remove", old_id, "--node", cluster.nodes[0].http, NULL};
    cr_expect_eq(ringctl(NULL, rm_primary), 1, "removing the primary must fail");
    for (size_t i = 0; i < 2; i++) {
        const char *use[] = {"keys", "use", new_id, "--node", cluster.nodes[i].http, NULL};
        cr_assert_eq(ringctl(NULL, use), 0, "%s", out);
    }
    for (size_t i = 0; i < 2; i++) {
        const char *rm[] = {"keys", "remove", old_id, "--node", cluster.nodes[i].http, NULL};
        cr_assert_eq(ringctl(NULL, rm), 0, "%s", out);
    }
    j = keys_json(1);
    cr_expect_str_eq(json_string_value(json_object_get(j, "primary")), new_id);
    cr_expect_eq(json_array_size(json_object_get(j, "keys")), 1);
    json_decref(j);

    const char *bad_id[] = {"keys", "use", "nothex!!", "--node", cluster.nodes[0].http, NULL};
    cr_expect_eq(ringctl(NULL, bad_id), 1);
    const char *usage[] = {"keys", "install", NULL};
    cr_expect_eq(ringctl(NULL, usage), 2);
    const char *pt[] = {"keys", "plaintext", "accept", "--json", "--node", cluster.nodes[0].http, NULL};
    cr_assert_eq(ringctl(NULL, pt), 0, "%s", out);
    cr_expect(strstr(out, "\"accept_plaintext\": true") != NULL, "%s", out);
    const char *off[] = {"keys", "plaintext", "off", "--node", cluster.nodes[0].http, NULL};
    cr_assert_eq(ringctl(NULL, off), 0, "%s", out);

    /* still one cluster after the rotation */
    cr_expect(sr_tk_wait_converged(&cluster, sr_time_mono_us() + 30 * SR_US_PER_S));
    json_t *st = sr_tk_http(cluster.nodes[1].http, "GET", "/admin/stats");
    cr_expect_eq(json_integer_value(json_object_get(st, "gossip_drop_unknown_key")), 0);
    json_decref(st);

    /* a node without a key refuses keyring changes, with the reason */
    cluster.extra = NULL;
    int k = sr_tk_spawn(&cluster, NULL);
    cr_assert_geq(k, 0);
    const char *inst[] = {"keys", "install", NEW, "--node", cluster.nodes[k].http, NULL};
    sr_time_us deadline = sr_time_mono_us() + 30 * SR_US_PER_S;
    int rc;
    while ((rc = ringctl(NULL, inst)) == 3 && sr_time_mono_us() < deadline)
        usleep(100000); /* until its admin answers */
    cr_expect_eq(rc, 1);
    const char *lst[] = {"keys", "--node", cluster.nodes[k].http, NULL};
    cr_expect_eq(ringctl(NULL, lst), 0);
    cr_expect(strstr(out, "not encrypted") != NULL, "%s", out);
    sr_tk_destroy(&cluster);
}
