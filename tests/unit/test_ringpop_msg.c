/* The ringpop JSON translation and checksums (lib/ringpop/rp_msg.c).
 * Checksum vectors were computed with ringpop-common's own farmhash module
 * and its membership-checksum.js ("go" method), which detects them. */
#include <criterion/criterion.h>
#include <string.h>
#include "ringpop/rp_msg.h"
#include "swimring/error.h"

Test(ringpop_msg, label_checksum_vectors)
{
    struct sr_swim_label hw[] = {{"hello", "world"}};
    struct sr_swim_label two[] = {{"hello", "world"}, {"foo", "baz"}};
    struct sr_swim_label two_rev[] = {{"foo", "baz"}, {"hello", "world"}};
    struct sr_swim_label gb[] = {{"hello", "goodbye"}};
    cr_expect_eq(sr_rp_labels_checksum(NULL, 0), 0);
    cr_expect_eq(sr_rp_labels_checksum(hw, 1), 975109414);
    cr_expect_eq(sr_rp_labels_checksum(two, 2), -1625122257);
    cr_expect_eq(sr_rp_labels_checksum(two_rev, 2), -1625122257, "order must not matter");
    cr_expect_eq(sr_rp_labels_checksum(gb, 1), -1215192234);
}

Test(ringpop_msg, membership_checksum_vector)
{
    /* tombstones excluded, labels appended, sorted, ';'-terminated */
    struct sr_rp_entry e[] = {
        {"127.0.0.1:3000", "alive", 1337, 0},
        {"127.0.0.1:3001", "suspect", 1338, 975109414},
        {"127.0.0.1:3002", "faulty", 12, 0},
        {"127.0.0.1:3003", "tombstone", 5, 0},
        {"10.0.0.1:1", "leave", 1796159690120ull, 0},
    };
    cr_expect_eq(sr_rp_checksum_entries(e, 5), 2677282857u);
    struct sr_rp_entry r[] = {e[4], e[2], e[0], e[3], e[1]};
    cr_expect_eq(sr_rp_checksum_entries(r, 5), 2677282857u, "order must not matter");
}

Test(ringpop_msg, status_words)
{
    cr_expect_eq(sr_rp_status_parse("alive", false), SR_SWIM_ALIVE);
    cr_expect_eq(sr_rp_status_parse("leave", false), SR_SWIM_LEFT);
    cr_expect_eq(sr_rp_status_parse("faulty", true), SR_SWIM_TOMBSTONE);
    cr_expect_eq(sr_rp_status_parse("tombstone", false), SR_SWIM_TOMBSTONE);
    cr_expect_eq(sr_rp_status_parse("Alive", false), -1);
    cr_expect_eq(sr_rp_status_parse(NULL, false), -1);
    cr_expect_str_eq(sr_rp_status_name(SR_SWIM_LEFT), "leave");
    json_t *c = sr_rp_change_new("a:1", SR_SWIM_TOMBSTONE, 3);
    cr_expect_str_eq(json_string_value(json_object_get(c, "status")), "faulty");
    cr_expect(json_is_true(json_object_get(c, "tombstone")));
    json_decref(c);
}

Test(ringpop_msg, changes_to_datagram_drops_bad_changes_only)
{
    const char *txt =
        "[{\"address\":\"127.0.0.1:3001\",\"status\":\"suspect\",\"incarnationNumber\":1337,"
        "\"source\":\"127.0.0.1:3002\",\"labels\":{\"hello\":\"world\"}},"
        "{\"address\":\"127.0.0.1:3003\",\"status\":\"faulty\",\"tombstone\":true,\"incarnationNumber\":4},"
        "{\"address\":\"127.0.0.1:3004\",\"status\":\"alive\",\"incarnationNumber\":-1},"
        "{\"address\":\"127.0.0.1:3005\",\"status\":\"alive\",\"incarnationNumber\":1.5},"
        "{\"address\":\"127.0.0.1:3006\",\"status\":\"dead\",\"incarnationNumber\":1},"
        "{\"status\":\"alive\",\"incarnationNumber\":1},"
        "{\"address\":\"127.0.0.1:3007\",\"status\":\"alive\",\"incarnationNumber\":9007199254740992},"
        "{\"address\":\"127.0.0.1:3008\",\"status\":\"alive\",\"incarnationNumber\":2,"
        "\"labels\":{\"k\":7}},"
        "42]";
    json_t *changes = json_loads(txt, 0, NULL);
    cr_assert_not_null(changes);
    struct sr_buf b;
    struct sr_rp_drops d = {0};
    sr_buf_create(&b, 0);
    cr_assert_eq(sr_rp_changes_to_datagram(&b, SR_SWIM_MSG_PING, 5, 9, changes, NULL, 0, &d), 0);
    struct sr_swim_msg m;
    struct sr_swim_update ups[16];
    cr_assert_eq(sr_swim_wire_decode(b.data, b.len, &m, ups, 16), 0);
    cr_expect_eq(m.type, SR_SWIM_MSG_PING);
    cr_expect_eq(m.seq, 5u);
    cr_assert_eq(m.nupdates, 3u, "suspect, tombstone and the one with bad labels");
    cr_expect_eq(d.bad_change, 6u); /* -1, 1.5, "dead", no address, 2^53, 42 */
    cr_expect_eq(d.tombstone, 1u);
    cr_expect_eq(d.labels, 1u);
    cr_expect_eq(ups[0].status, SR_SWIM_SUSPECT);
    cr_expect_eq(ups[0].incarnation, 1337u);
    cr_expect_eq(ups[0].nlabels, 1u);
    cr_expect(ups[0].from_len == 14 && memcmp(ups[0].from, "127.0.0.1:3002", 14) == 0);
    cr_expect_eq(ups[1].status, SR_SWIM_TOMBSTONE);
    cr_expect_eq(ups[2].nlabels, 0u, "labels that do not fit are dropped, the change kept");
    /* and back to a change: source from the update, labels kept */
    json_t *c = sr_rp_update_to_change(&ups[0], "127.0.0.1:3000", 1);
    cr_expect_str_eq(json_string_value(json_object_get(c, "source")), "127.0.0.1:3002");
    cr_expect_str_eq(json_string_value(json_object_get(json_object_get(c, "labels"), "hello")), "world");
    json_decref(c);
    c = sr_rp_update_to_change(&ups[1], "127.0.0.1:3000", 1);
    cr_expect(json_is_true(json_object_get(c, "tombstone")));
    json_decref(c);
    /* not an array: an empty datagram, not an error */
    json_t *obj = json_object();
    cr_assert_eq(sr_rp_changes_to_datagram(&b, SR_SWIM_MSG_ACK, 1, 0, obj, NULL, 0, &d), 0);
    cr_assert_eq(sr_swim_wire_decode(b.data, b.len, &m, ups, 16), 0);
    cr_expect_eq(m.nupdates, 0u);
    json_decref(obj);
    json_decref(changes);
    sr_buf_destroy(&b);
}
