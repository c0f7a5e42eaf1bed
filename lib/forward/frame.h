/* The RPC frame: a 4-byte big-endian length and a msgpack map.
 *
 *    0        1        2        3        4 ...
 *  +--------+--------+--------+--------+-------------------------------+
 *  |  payload length (uint32, big end.) | msgpack map: exactly `length` |
 *  |  1 .. cfg.max_frame                | bytes, nothing after it       |
 *  +--------+--------+--------+--------+-------------------------------+
 *
 *  The length comes first so a reader knows the frame size before it has
 *  the bytes: a length above the configured limit (default 1 MiB) closes the
 *  connection before anything is buffered, so a hostile peer cannot make us
 *  allocate. A zero length is a protocol error. A stream of garbage almost
 *  always fails fast: "GET " reads as 0x47455420 = 1.2 GB > limit.
 *
 *  Payload: a msgpack map with small unsigned keys (1-byte fixints). Unknown
 *  keys are skipped (forward compatible), a repeated key is an error, fields
 *  equal to their default (0 / empty) may be left out.
 *    key 0  kind      uint   1 request, 2 response, 3 cancel, 4 ping,
 *                            5 pong; a cancel carries only the id of a
 *                            request sent before it (docs/rpc.md) (required)
 *    key 1  id        uint   request id, uint64, chosen by the caller;
 *                            a response/pong echoes it          (required)
 *    key 2  status    int    response: 0 or a negative SR_E* code
 *    key 3  flags     uint   bit 0 idempotent (safe to retry after delivery);
 *                            bit 1 replica read (a backup read: answer
 *                            from the receiver's own copy, never forward;
 *                            lib/node/node_backup.c); other bits: ignored
 *    key 4  deadline  uint   request: ms the caller still waits; always a
 *                            uint32 (0xce + 4 bytes) so a queued frame can
 *                            be patched in place when it is finally sent
 *    key 5  hops      uint   times the request was forwarded already
 *    key 6  checksum  uint   the sender's ring checksum (uint64)
 *    key 7  service   str    0..255 bytes        (required in a request)
 *    key 8  endpoint  str    0..255 bytes        (required in a request)
 *    key 9  key       bin    routing key (str accepted), any length
 *    key 10 body      bin    opaque payload, last when present (older
 *                            peers; the decoder takes fields in any order)
 *    key 11 rid       bin    client request id (idempotency key), 0..64
 *                            bytes; written before the body
 *
 *  Sizes (a uint below 2^7 is 1 byte, below 2^32 1+4, a full uint64 1+8;
 *  a map key is 1 byte; a str up to 31 bytes has a 1-byte header, up to 255
 *  a 2-byte one; a bin up to 255 bytes a 2-byte header):
 *    request with service "kv", endpoint "get", an 8-byte key, a 100-byte
 *    body, 2^16 <= id < 2^32, checksum >= 2^32, flags 1, hops 0 (left out):
 *      4 length + 1 map + 2 kind + (1+5) id + 2 flags + (1+5) deadline
 *      + (1+9) checksum + (1+1+2) service + (1+1+3) endpoint
 *      + (1+2+8) key + (1+2+100) body                        = 154 bytes
 *    i.e. 46 bytes of envelope around the key and body.
 *    response, status 0 (left out), the same id, checksum, 100-byte body:
 *      4 + 1 + 2 kind + (1+5) id + (1+9) checksum + (1+2+100) = 126 bytes
 *  The largest envelope (every field present at full width, 255-byte names,
 *  body and key > 64 KiB so bin32 headers) is 4 + 1 + 2 + 10 + 6 + 6 + 6 + 6
 *  + 10 + 258 + 258 + 6 + 6 = 579 bytes plus key and body; the encoder checks
 *  the total against the limit, not this bound.
 */
#ifndef SWIMRING_FORWARD_FRAME_H
#define SWIMRING_FORWARD_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "swimring/buf.h"
#include "swimring/rpc.h"

#define SR_RPC_FRAME_HEADER 4
#define SR_RPC_NAME_MAX 255
/* Width of the patchable deadline value: 0xce + uint32. */
#define SR_RPC_DEADLINE_WIDTH 5

enum sr_rpc_kind {
    SR_RPC_KIND_REQUEST = 1,
    SR_RPC_KIND_RESPONSE = 2,
    SR_RPC_KIND_CANCEL = 3,
    SR_RPC_KIND_PING = 4,
    SR_RPC_KIND_PONG = 5,
};

enum sr_rpc_field {
    SR_RPC_F_KIND = 0,
    SR_RPC_F_ID = 1,
    SR_RPC_F_STATUS = 2,
    SR_RPC_F_FLAGS = 3,
    SR_RPC_F_DEADLINE = 4,
    SR_RPC_F_HOPS = 5,
    SR_RPC_F_CHECKSUM = 6,
    SR_RPC_F_SERVICE = 7,
    SR_RPC_F_ENDPOINT = 8,
    SR_RPC_F_KEY = 9,
    SR_RPC_F_BODY = 10,
    SR_RPC_F_RID = 11,
    SR_RPC_F_COUNT = 12,
};

/* A frame, decoded or to encode. Decoded strings and bytes point into the
 * input (zero copy): valid as long as the input is. */
struct sr_rpc_frame {
    uint32_t kind;
    uint64_t id;
    int32_t status;
    uint32_t flags;
    uint32_t deadline_ms;
    uint32_t hops;
    uint64_t checksum;
    const char *service;
    uint32_t service_len;
    const char *endpoint;
    uint32_t endpoint_len;
    const uint8_t *key;
    uint32_t key_len;
    const uint8_t *body;
    uint32_t body_len;
    const uint8_t *rid;
    uint32_t rid_len;
};

/* Append one whole frame (length header included) to `b`. `max_frame`
 * bounds the payload; SR_ETOOBIG past it (b is left as it was), SR_EINVAL for
 * a bad kind or a name longer than SR_RPC_NAME_MAX, SR_ENOMEM. When
 * `deadline_off` is not NULL it receives the offset from the frame's start
 * of the deadline value for sr_rpc_frame_patch_deadline (0: none written:
 * a request always has one, other kinds only when nonzero). */
int sr_rpc_frame_encode(struct sr_buf *b, const struct sr_rpc_frame *f,
                        uint32_t max_frame, size_t *deadline_off);

/* Rewrite the deadline of an encoded request (`at` from the encoder). */
void sr_rpc_frame_patch_deadline(uint8_t *at, uint32_t deadline_ms);

/* Read the length header at the start of `p[len]`: 0 with *payload_len set,
 * SR_ETRUNC if fewer than 4 bytes, SR_EPROTO for a zero length, SR_ETOOBIG
 * for a length above `max_frame`. */
int sr_rpc_frame_peek(const uint8_t *p, size_t len, uint32_t max_frame,
                      uint32_t *payload_len);

/* Decode a payload (the bytes after the length header). On error returns
 * SR_ETRUNC, SR_ETYPE, SR_ERANGE, SR_EPROTO or SR_ETOOBIG and, when `field`
 * is not NULL, names the offending field there ("kind", "map", ...). */
int sr_rpc_frame_decode(const uint8_t *p, size_t len, struct sr_rpc_frame *f,
                        const char **field);

/* Name of a kind for logs ("request"...), "unknown" otherwise. */
const char *sr_rpc_kind_name(uint32_t kind);

#endif
