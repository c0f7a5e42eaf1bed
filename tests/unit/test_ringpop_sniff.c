/* The shared port's sniffing rule (lib/ringpop/rp_conn.c): real first
 * bytes of each protocol are classified right. */
#include <criterion/criterion.h>
#include <string.h>
#include "ringpop/rp_impl.h"
#include "ringpop/tchannel.h"

Test(ringpop_sniff, tchannel_init_req_is_tchannel)
{
    struct sr_buf b;
    sr_buf_create(&b, 0);
    cr_assert_eq(sr_tch_init_encode(&b, false, 1, "127.0.0.1:3000", "node[123]"), 0);
    cr_assert_geq(b.len, 5);
    cr_expect(rp_sniff_is_tchannel(b.data));
    sr_buf_reset(&b);
    cr_assert_eq(sr_tch_init_encode(&b, false, 0x7fffffffu, "127.0.0.1:3000", "x"), 0);
    cr_expect(rp_sniff_is_tchannel(b.data), "a large id whose top byte is 0x7f");
    sr_buf_destroy(&b);
}

Test(ringpop_sniff, rpc_frames_and_tls_are_not)
{
    /* our RPC frame: length:4, msgpack fixmap; lengths whose third byte is
     * 0x01 and fourth 0x00 (256, 65792) are the near miss */
    const uint8_t rpc_small[5] = {0, 0, 0, 9, 0x83};
    const uint8_t rpc_256[5] = {0, 0, 0x01, 0x00, 0x86};
    const uint8_t rpc_65792[5] = {0, 0x01, 0x01, 0x00, 0x8c};
    /* a TLS 1.0-record ClientHello of 256..511 bytes: 16 03 01 01 xx */
    const uint8_t tls[5] = {0x16, 0x03, 0x01, 0x01, 0x2c};
    const uint8_t tls_short[5] = {0x16, 0x03, 0x01, 0x00, 0xf0};
    const uint8_t http[5] = {'G', 'E', 'T', ' ', '/'};
    cr_expect_not(rp_sniff_is_tchannel(rpc_small));
    cr_expect_not(rp_sniff_is_tchannel(rpc_256));
    cr_expect_not(rp_sniff_is_tchannel(rpc_65792));
    cr_expect_not(rp_sniff_is_tchannel(tls));
    cr_expect_not(rp_sniff_is_tchannel(tls_short));
    cr_expect_not(rp_sniff_is_tchannel(http));
}
