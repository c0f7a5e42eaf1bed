/* Cluster settings merge rules (lib/node/node_settings.c), on a node that is
 * never started: newer version wins, ties go to the larger origin, replays
 * and older versions change nothing, deletions are tombstones, bad input is
 * refused and counted. */
#include <criterion/criterion.h>
#include <string.h>
#include "swimring/buf.h"
#include "swimring/error.h"
#include "swimring/mp.h"
#include "node/node_settings.h"

static struct sr_node *make_node(void)
{
    struct sr_node_config cfg;
    char msg[128];
    int err;
    sr_node_config_default(&cfg);
    cfg.node.log_level = SR_NODE_LOG_ERROR;
    struct sr_node *n = sr_node_new(NULL, &cfg, &err, msg, sizeof msg);
    cr_assert_not_null(n, "%s", msg);
    return n;
}

/* One-setting message. value NULL = deletion. */
static int merge_one(struct sr_node *n, const char *key, const char *value, uint64_t v,
                     const char *origin)
{
    struct sr_buf b;
    struct sr_mp_writer w;
    sr_buf_create(&b, 0);
    sr_mp_writer_init(&w, &b);
    sr_mp_write_array(&w, 1);
    sr_mp_write_array(&w, 4);
    sr_mp_write_cstr(&w, key);
    if (value)
        sr_mp_write_cstr(&w, value);
    else
        sr_mp_write_nil(&w);
    sr_mp_write_uint(&w, v);
    sr_mp_write_cstr(&w, origin);
    int rc = node_settings_merge(n, b.data, b.len);
    sr_buf_destroy(&b);
    return rc;
}

static const char *value_of(struct sr_node *n, const char *key)
{
    const struct node_setting *s = node_setting_get(n, key);
    return !s ? "(absent)" : s->deleted ? "(deleted)" : s->value;
}

Test(node_settings, version_then_origin_decides)
{
    struct sr_node *n = make_node();
    cr_assert_eq(merge_one(n, "k", "a", 5, "10.0.0.1:1"), 0);
    cr_expect_str_eq(value_of(n, "k"), "a");
    cr_assert_eq(merge_one(n, "k", "old", 4, "10.0.0.9:1"), 0);
    cr_expect_str_eq(value_of(n, "k"), "a", "an older version changes nothing");
    cr_assert_eq(merge_one(n, "k", "tie-lo", 5, "10.0.0.0:1"), 0);
    cr_expect_str_eq(value_of(n, "k"), "a", "equal version, smaller origin loses");
    cr_assert_eq(merge_one(n, "k", "tie-hi", 5, "10.0.0.2:1"), 0);
    cr_expect_str_eq(value_of(n, "k"), "tie-hi", "equal version, larger origin wins");
    uint64_t changes = n->setting_changes;
    cr_assert_eq(merge_one(n, "k", "tie-hi", 5, "10.0.0.2:1"), 0);
    cr_expect_eq(n->setting_changes, changes, "a replay is not a change");
    cr_assert_eq(merge_one(n, "k", NULL, 6, "10.0.0.1:1"), 0);
    cr_expect_str_eq(value_of(n, "k"), "(deleted)");
    cr_assert_eq(merge_one(n, "k", "late", 5, "10.0.0.9:1"), 0);
    cr_expect_str_eq(value_of(n, "k"), "(deleted)", "the tombstone holds against older sets");
    sr_node_delete(n);
}

Test(node_settings, local_set_outranks_what_it_has_seen)
{
    struct sr_node *n = make_node();
    uint64_t future = (uint64_t)1 << 60; /* a peer with a clock far ahead */
    cr_assert_eq(merge_one(n, "k", "peer", future, "10.0.0.1:1"), 0);
    cr_assert_eq(node_setting_set(n, "k", "mine"), 0);
    cr_expect_str_eq(value_of(n, "k"), "mine");
    cr_expect_eq(node_setting_get(n, "k")->version, future + 1);
    sr_node_delete(n);
}

Test(node_settings, bad_input_is_refused_and_counted)
{
    struct sr_node *n = make_node();
    const uint8_t not_array[] = {0x01};
    const uint8_t short_entry[] = {0x91, 0x93, 0xa1, 'k', 0xa1, 'v', 0x01};
    const uint8_t truncated[] = {0x91, 0x94, 0xa1};
    cr_expect_lt(node_settings_merge(n, not_array, sizeof not_array), 0);
    cr_expect_lt(node_settings_merge(n, short_entry, sizeof short_entry), 0);
    cr_expect_lt(node_settings_merge(n, truncated, sizeof truncated), 0);
    cr_expect_eq(n->settings_bad, 3);
    char big[400];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    cr_expect_lt(merge_one(n, "k", big, 1, "10.0.0.1:1"), 0, "value over the limit");
    cr_expect_str_eq(value_of(n, "k"), "(absent)");
    sr_node_delete(n);
}
