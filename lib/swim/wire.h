/* The SWIM datagram: a fixed 8-byte header and a msgpack body.
 *
 *    0        1        2        3        4        5        6        7
 *  +--------+--------+--------+--------+--------+--------+--------+--------+
 *  | magic  |version |  body length    |   CRC-32C of the body           |
 *  |  0xA5  |  0x01  |  (big endian)   |   (big endian)                  |
 *  +--------+--------+--------+--------+--------+--------+--------+--------+
 *  | msgpack body: exactly `body length` bytes ...                         |
 *  +-----------------------------------------------------------------------+
 *
 *  Ethernet MTU 1500 - 20 IPv4 - 8 UDP = 1472 bytes of payload; the default
 *  cfg.mtu of 1400 leaves 72 bytes, enough for IPv6 (+20). Body <= mtu - 8
 *  = 1392 bytes. With gossip encryption (swimring/gossip_crypto.h) the
 *  driver gives the core mtu - 42 for this datagram, so the sealed one
 *  (+ 26 header + 16 tag) stays within cfg.mtu.
 *
 *  The length turns a cut datagram into SR_ETRUNC (not a checksum error);
 *  CRC-32C (slicing-by-8, ~1 cycle/byte) catches corruption. A wrong magic
 *  is SR_EPROTO, another version SR_EVERSION.
 *
 *  Body: a msgpack map with small unsigned keys; unknown keys are skipped.
 *    key 0 type      uint   1 ping, 2 ack, 3 ping-req, 4 nack, 5 gossip
 *    key 1 seq       uint   probe sequence number; ack and nack echo it
 *    key 2 checksum  uint   the sender's membership checksum (uint64)
 *    key 3 flags     uint   bit 0: sender has updates pending; bit 1: join
 *    key 4 target    str    ping-req only: the address to probe
 *    key 5 timeout   uint   ping-req only: ms the requester still waits
 *    key 6 updates   array  always last, always an array16 header (0xdc nn nn)
 *                           so its size does not depend on the count
 *
 *  One update, a msgpack map:
 *    key 0 addr      str    "host:port", 1..63 bytes, no NUL     (required)
 *    key 1 name      str    0..63 bytes
 *    key 2 inc       uint   incarnation                           (required)
 *    key 3 status    uint   0 alive, 1 suspect, 2 faulty, 3 left  (required)
 *    key 4 labels    map    <= 8 pairs str -> str, each 1..31 / 0..31 bytes
 *    key 5 from      str    suspect/faulty: who suspects, 0..63 bytes
 *
 *  Sizes (addr "10.0.0.1:7946" = 13 bytes, name "n1" = 2 bytes, msgpack
 *  keys are 1-byte fixints, small ints 1 byte, uint32 5, uint64 9):
 *    fixed part of a ping = 8 header + 1 map + 2 type + (1+5) seq (uint32)
 *      + (1+9) checksum + 2 flags + 1 key + 3 array16          = 33 bytes
 *    an alive update  = 1 map + (1+1+13) addr + (1+1+2) name
 *      + 2 inc (< 128) + 2 status                              = 24 bytes
 *    a suspect update adds (1+1+13) "from"                     = 39 bytes
 *  so one 1400-byte datagram carries about (1400 - 33) / 24 = 56 alive
 *  updates. Encoded update sizes are exact (each update is encoded once into
 *  a blob when queued), so packing never exceeds the MTU.
 *
 *  Full-sync state (reliable channel, no header): a msgpack map
 *    key 0 version uint (1), key 1 from str, key 2 checksum uint,
 *    key 3 members array of update maps (tombstones included).
 */
#ifndef SWIMRING_SWIM_WIRE_H
#define SWIMRING_SWIM_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "swimring/buf.h"
#include "swimring/mp.h"
#include "swimring/swim.h"

#define SR_SWIM_WIRE_MAGIC 0xA5
#define SR_SWIM_WIRE_VERSION 1
#define SR_SWIM_WIRE_HEADER 8
#define SR_SWIM_STATE_VERSION 1
/* Smallest possible encoded update (map, addr "x", inc, status): bounds the
 * number of updates one datagram can hold, so decode arrays are sized once. */
#define SR_SWIM_WIRE_MIN_UPDATE 8

enum sr_swim_msg_type {
    SR_SWIM_MSG_PING = 1,
    SR_SWIM_MSG_ACK = 2,
    SR_SWIM_MSG_PING_REQ = 3,
    SR_SWIM_MSG_NACK = 4,
    SR_SWIM_MSG_GOSSIP = 5,
};

#define SR_SWIM_FLAG_PENDING 0x1u
#define SR_SWIM_FLAG_JOIN 0x2u

/* A decoded datagram: strings point into the datagram (zero copy). */
struct sr_swim_msg {
    uint32_t type;
    uint64_t seq;
    uint64_t checksum;
    uint32_t flags;
    const char *target;  /* NULL unless ping-req */
    uint32_t target_len;
    uint32_t timeout_ms;
    size_t nupdates;
};

/* One decoded update, zero copy. Labels are a validated msgpack map. */
struct sr_swim_update {
    const char *addr;
    uint32_t addr_len;
    const char *name;
    uint32_t name_len;
    uint64_t incarnation;
    uint32_t status;
    const uint8_t *labels;  /* raw msgpack map, NULL if absent */
    size_t labels_len;
    uint32_t nlabels;
    const char *from;       /* NULL if absent */
    uint32_t from_len;
};

uint32_t sr_swim_crc32c(uint32_t crc, const void *data, size_t len);

/* Encode one update (labels may be NULL, from may be NULL). */
void sr_swim_wire_put_update(struct sr_mp_writer *w, const char *addr, const char *name,
                             uint64_t inc, uint32_t status,
                             const struct sr_swim_label *labels, size_t nlabels,
                             const char *from);

/* Datagram encoding in three steps: begin writes the header placeholder and
 * the fixed fields, the caller appends encoded updates (sr_buf_append, after
 * checking b->len + n <= mtu), finish patches the count, length and CRC.
 * `target` may be NULL. begin returns the offset of the updates' array
 * header (>= 0) to hand to finish, or an error. */
int sr_swim_wire_begin(struct sr_buf *b, const struct sr_swim_msg *m);
int sr_swim_wire_finish(struct sr_buf *b, size_t arr_off, size_t nupdates);

/* Decode a datagram. `ups` receives up to `cap` updates; more is SR_EPROTO.
 * Returns 0, SR_ETRUNC, SR_EVERSION, SR_ECHECKSUM or SR_EPROTO. */
int sr_swim_wire_decode(const void *data, size_t len, struct sr_swim_msg *m,
                        struct sr_swim_update *ups, size_t cap);
/* Decode a body without the header (the fuzzer reaches past the CRC). */
int sr_swim_wire_decode_body(const void *body, size_t len, struct sr_swim_msg *m,
                             struct sr_swim_update *ups, size_t cap);
/* Decode one update map at the cursor (hostile input; SR_EPROTO on bad). */
int sr_swim_wire_read_update(struct sr_mp_reader *r, struct sr_swim_update *u);
/* Copy an update's validated labels out; returns how many. */
size_t sr_swim_wire_labels(const struct sr_swim_update *u, struct sr_swim_label *out);

#endif
