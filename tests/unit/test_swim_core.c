/* Unit tests of the core's parts: the member table (hash index, removal,
 * order-independent checksum), the dissemination queue (never past the MTU,
 * exact retransmit counts) and the full-sync state codec (round trip,
 * hostile input). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include "swim/dissem.h"
#include "swim/members.h"
#include "swim/wire.h"
#include "swimring/error.h"

static void addr_of(int i, char *out, size_t n) { snprintf(out, n, "10.%d.%d.%d:7946", i >> 16, (i >> 8) & 255, i & 255); }

Test(swim_core, members_find_remove_and_checksum)
{
    struct sr_swim_members a, b;
    char ad[64];
    cr_assert_eq(sr_swim_members_init(&a), 0);
    cr_assert_eq(sr_swim_members_init(&b), 0);
    for (int i = 0; i < 5000; i++) {
        addr_of(i, ad, sizeof(ad));
        cr_assert_neq(sr_swim_members_add(&a, ad, strlen(ad), "n", 1, (uint64_t)i % 7, false, (uint64_t)i * 31), SR_SWIM_NONE);
        addr_of(4999 - i, ad, sizeof(ad)); /* reverse order */
        sr_swim_members_add(&b, ad, strlen(ad), "n", 1, (uint64_t)(4999 - i) % 7, false, (uint64_t)i);
    }
    cr_expect_eq(a.checksum, b.checksum, "checksum depends on order");
    cr_expect_eq(a.norder, 5000);
    for (int i = 0; i < 5000; i++) {
        addr_of(i, ad, sizeof(ad));
        uint32_t id = sr_swim_members_find(&a, ad, strlen(ad));
        cr_assert_neq(id, SR_SWIM_NONE);
        cr_expect_str_eq(a.recs[id].addr, ad);
    }
    uint64_t before = a.checksum;
    addr_of(42, ad, sizeof(ad));
    uint32_t id = sr_swim_members_find(&a, ad, strlen(ad));
    sr_swim_members_set(&a, id, SR_SWIM_SUSPECT, 6);
    cr_expect_neq(a.checksum, before);
    cr_expect_eq(a.nsuspects, 1);
    sr_swim_members_set(&a, id, SR_SWIM_ALIVE, 42 % 7);
    cr_expect_eq(a.checksum, before, "checksum not restored");
    /* tombstones do not count; removal keeps every other lookup working */
    for (int i = 0; i < 5000; i += 2) {
        addr_of(i, ad, sizeof(ad));
        id = sr_swim_members_find(&a, ad, strlen(ad));
        sr_swim_members_set(&a, id, SR_SWIM_FAULTY, a.recs[id].incarnation);
        sr_swim_members_remove(&a, id);
    }
    cr_expect_eq(a.used, 2500);
    cr_expect_eq(a.norder, 2500);
    cr_expect_eq(a.ntombs, 0);
    for (int i = 0; i < 5000; i++) {
        addr_of(i, ad, sizeof(ad));
        id = sr_swim_members_find(&a, ad, strlen(ad));
        cr_expect_eq(id == SR_SWIM_NONE, i % 2 == 0, "addr %d", i);
    }
    cr_expect_eq(sr_swim_members_find(&a, "nope", 4), SR_SWIM_NONE);
    sr_swim_members_destroy(&a);
    sr_swim_members_destroy(&b);
}

Test(swim_core, dissem_never_exceeds_mtu_and_counts_transmits)
{
    struct sr_swim_members t;
    struct sr_swim_dissem d;
    struct sr_buf b;
    char ad[64];
    uint8_t blob[200];
    memset(blob, 0xab, sizeof(blob));
    sr_swim_members_init(&t);
    sr_swim_dissem_init(&d);
    sr_buf_create(&b, 0);
    const uint32_t limit = 5, n = 300;
    size_t total_len = 0;
    for (uint32_t i = 0; i < n; i++) {
        addr_of((int)i, ad, sizeof(ad));
        uint32_t id = sr_swim_members_add(&t, ad, strlen(ad), "n", 1, 0, false, i);
        size_t len = 10 + (i * 37) % 150;
        total_len += len;
        cr_assert_eq(sr_swim_dissem_queue(&d, &t, id, blob, len, 0), 0);
    }
    cr_expect_eq(d.count, n);
    size_t sent_bytes = 0, rounds = 0;
    while (d.count > 0 && rounds < 100000) {
        sr_buf_reset(&b);
        sr_buf_append(&b, blob, 33); /* a fixed part */
        sr_swim_dissem_pack(&d, &t, &b, 300, limit);
        cr_assert_leq(b.len, 300, "packed past the MTU");
        sent_bytes += b.len - 33;
        rounds++;
    }
    cr_expect_eq(d.count, 0);
    cr_expect_eq(sent_bytes, total_len * limit, "every update sent exactly `limit` times");
    for (uint32_t i = 0; i < t.nrecs; i++)
        cr_expect_eq(t.recs[i].bcast, SR_SWIM_NONE);
    sr_buf_destroy(&b);
    sr_swim_dissem_destroy(&d);
    sr_swim_members_destroy(&t);
}

/* A minimal vtab for cores that only merge states. */
static sr_time_us f_now(void *c) { (void)c; return 1000000; }
static uint64_t f_rnd(void *c) { (void)c; static uint64_t x = 7; x ^= x << 13, x ^= x >> 7, x ^= x << 17; return x; }
static void f_send(void *c, const char *to, const void *d, size_t n) { (void)c, (void)to, (void)d, (void)n; }
static void f_sched(void *c, sr_time_us at) { (void)c, (void)at; }
static const struct sr_swim_vtab vt = {f_now, f_rnd, f_send, f_sched, NULL, NULL};

Test(swim_core, state_round_trip_and_hostile_input)
{
    struct sr_swim_cfg cfg;
    sr_swim_cfg_default_lan(&cfg);
    struct sr_swim *a = sr_swim_new(&cfg, "10.0.0.1:7946", "a", &vt, NULL, NULL, NULL);
    struct sr_swim *b = sr_swim_new(&cfg, "10.0.0.2:7946", "b", &vt, NULL, NULL, NULL);
    cr_assert(a && b);
    sr_swim_set_label(a, "zone", "x");
    sr_swim_start(a);
    sr_swim_start(b);
    struct sr_buf s;
    sr_buf_create(&s, 0);
    cr_assert_eq(sr_swim_encode_state(a, &s), 0);
    cr_assert_eq(sr_swim_merge_state(b, s.data, s.len), 0);
    struct sr_swim_member_info m;
    cr_assert_eq(sr_swim_member(b, "10.0.0.1:7946", &m), 0);
    cr_expect_eq(m.status, SR_SWIM_ALIVE);
    cr_expect_eq(m.nlabels, 1);
    cr_expect_str_eq(m.labels[0].value, "x");
    cr_expect_str_eq(m.name, "a");
    for (size_t len = 0; len < s.len; len++)
        cr_expect_lt(sr_swim_merge_state(b, s.data, len), 0, "truncated at %zu accepted", len);
    s.data[2] = 9; /* version */
    cr_expect_eq(sr_swim_merge_state(b, s.data, s.len), SR_EVERSION);
    cr_expect_eq(sr_swim_size(b), 2);
    sr_buf_destroy(&s);
    sr_swim_delete(a);
    sr_swim_delete(b);
}

Test(swim_core, cfg_profiles_validate)
{
    struct sr_swim_cfg c;
    char err[128];
    sr_swim_cfg_default_lan(&c);
    cr_expect_eq(sr_swim_cfg_validate(&c, err, sizeof(err)), 0);
    sr_swim_cfg_default_local(&c);
    cr_expect_eq(sr_swim_cfg_validate(&c, err, sizeof(err)), 0);
    c.ping_timeout_ms = c.period_ms;
    cr_expect_eq(sr_swim_cfg_validate(&c, err, sizeof(err)), SR_EINVAL);
    cr_expect(strstr(err, "ping_timeout_ms") != NULL, "%s", err);
    sr_swim_cfg_default_lan(&c);
    c.mtu = 100;
    cr_expect_eq(sr_swim_cfg_validate(&c, err, sizeof(err)), SR_EINVAL);
    cr_expect(strstr(err, "mtu") != NULL);
    cr_expect_str_eq(sr_swim_status_name(SR_SWIM_LEFT), "left");
    cr_expect_str_eq(sr_swim_event_name(SR_SWIM_EV_CHECKSUM), "checksum");
}
