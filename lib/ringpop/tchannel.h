/* TChannel framing (uber/tchannel docs/protocol.md, version 2): the binary
 * RPC that ringpop speaks over TCP. Pure codec: no sockets, no clock.
 *
 * Every frame (all numbers unsigned, big endian):
 *
 *    0        1        2        3        4        5        6        7
 *  +--------+--------+--------+--------+--------+--------+--------+--------+
 *  |   size (incl.   |  type  |reserved|          message id               |
 *  |   this header)  |        |   0    |   (0xFFFFFFFF: protocol error)    |
 *  +--------+--------+--------+--------+--------+--------+--------+--------+
 *  |                        reserved (8 bytes of 0)                        |
 *  +-----------------------------------------------------------------------+
 *  | payload: size - 16 bytes, layout by type (below)                      |
 *  +-----------------------------------------------------------------------+
 *
 *  size is 16 bits, so a frame is at most 65535 bytes and its payload at
 *  most 65535 - 16 = 65519 bytes; bigger calls are split into continue
 *  frames.
 *
 *  0x01 init req / 0x02 init res:  version:2 nh:2 (key~2 value~2){nh}
 *       version 2; headers host_port, process_name, tchannel_language,
 *       tchannel_language_version, tchannel_version.
 *  0x03 call req:  flags:1 ttl:4 tracing:25 service~1 nh:1 (hk~1 hv~1){nh}
 *                  csumtype:1 (csum:4){0,1} arg1~2 arg2~2 arg3~2
 *  0x04 call res:  flags:1 code:1 tracing:25 nh:1 (hk~1 hv~1){nh}
 *                  csumtype:1 (csum:4){0,1} arg1~2 arg2~2 arg3~2
 *  0x13 call req continue / 0x14 call res continue:
 *                  flags:1 csumtype:1 (csum:4){0,1} (arg~2)*
 *  0xc0 cancel, 0xc1 claim: ignored by this codec (their ids are dropped)
 *  0xd0 ping req / 0xd1 ping res: empty payload
 *  0xff error:     code:1 tracing:25 message~2
 *
 *  tracing = spanid:8 parentid:8 traceid:8 traceflags:1 (25 bytes).
 *  flags bit 0x01: more fragments follow. csumtype 0 none, 1 CRC-32 (zlib),
 *  2 farmhash Fingerprint32, 3 CRC-32C; each frame's csum covers the arg
 *  bytes up to the end of that frame (seeded with the previous frame's).
 *
 *  Fragmentation: the args are written in order; within a frame every arg
 *  chunk but the last is complete; the last one is complete only if the
 *  frame has no "more fragments" flag, otherwise the next continue frame
 *  starts with more of it (a 0-length chunk if it ended on the boundary).
 *
 *  The smallest call req: 16 header + 1 flags + 4 ttl + 25 tracing +
 *  1 service len + 1 nh + 1 csumtype + 3 x 2 arg lengths = 55 bytes.
 */
#ifndef SWIMRING_RINGPOP_TCHANNEL_H
#define SWIMRING_RINGPOP_TCHANNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "swimring/buf.h"

#define SR_TCH_HEADER 16
#define SR_TCH_FRAME_MAX 65535u
#define SR_TCH_VERSION 2
#define SR_TCH_TRACING 25
#define SR_TCH_ID_PROTOCOL 0xFFFFFFFFu
#define SR_TCH_FLAG_MORE 0x01u
#define SR_TCH_ARG1_MAX 16384u      /* spec: arg1 is at most 16 KiB */
#define SR_TCH_SERVICE_MAX 255u     /* service~1 */
#define SR_TCH_HEADERS_MAX 128u     /* spec: transport headers per call */
#define SR_TCH_HKEY_MAX 16u         /* spec: transport header key length */
#define SR_TCH_PENDING_MAX 64u      /* fragmented messages in flight per connection */

enum sr_tch_type {
    SR_TCH_INIT_REQ = 0x01,
    SR_TCH_INIT_RES = 0x02,
    SR_TCH_CALL_REQ = 0x03,
    SR_TCH_CALL_RES = 0x04,
    SR_TCH_CALL_REQ_CONT = 0x13,
    SR_TCH_CALL_RES_CONT = 0x14,
    SR_TCH_CANCEL = 0xc0,
    SR_TCH_CLAIM = 0xc1,
    SR_TCH_PING_REQ = 0xd0,
    SR_TCH_PING_RES = 0xd1,
    SR_TCH_ERROR = 0xff,
};

enum sr_tch_csum {
    SR_TCH_CSUM_NONE = 0,
    SR_TCH_CSUM_CRC32 = 1,
    SR_TCH_CSUM_FARMHASH = 2,
    SR_TCH_CSUM_CRC32C = 3,
};

enum sr_tch_err_code {
    SR_TCH_ERR_TIMEOUT = 0x01,
    SR_TCH_ERR_CANCELLED = 0x02,
    SR_TCH_ERR_BUSY = 0x03,
    SR_TCH_ERR_DECLINED = 0x04,
    SR_TCH_ERR_UNEXPECTED = 0x05,
    SR_TCH_ERR_BAD_REQUEST = 0x06,
    SR_TCH_ERR_NETWORK = 0x07,
    SR_TCH_ERR_UNHEALTHY = 0x08,
    SR_TCH_ERR_FATAL = 0xff,
};

/* One frame located in a byte stream (zero copy: payload points into it). */
struct sr_tch_frame {
    uint8_t type;
    uint32_t id;
    const uint8_t *payload;
    size_t len;
};

/* Locate the frame at the start of buf. Returns its total size (> 0), 0 if
 * more bytes are needed, SR_EPROTO if the size field is below 16. */
int sr_tch_frame_split(const void *buf, size_t len, struct sr_tch_frame *f);

/* Init req/res. Strings point into the frame; absent headers are NULL. */
struct sr_tch_init {
    uint16_t version;
    const char *host_port;
    size_t host_port_len;
    const char *process_name;
    size_t process_name_len;
};
int sr_tch_init_decode(const struct sr_tch_frame *f, struct sr_tch_init *out);
int sr_tch_init_encode(struct sr_buf *out, bool res, uint32_t id, const char *host_port,
                       const char *process_name);

/* Error frame. message points into the frame. */
struct sr_tch_error {
    uint8_t code;
    const char *message;
    size_t message_len;
};
int sr_tch_error_decode(const struct sr_tch_frame *f, struct sr_tch_error *out);
int sr_tch_error_encode(struct sr_buf *out, uint32_t id, uint8_t code, const char *message);

/* Frame with an empty payload (ping req/res). */
int sr_tch_empty_encode(struct sr_buf *out, uint8_t type, uint32_t id);

/* A call to send: one call req or call res, split into frames of at most
 * frame_max bytes (0 means SR_TCH_FRAME_MAX). headers: nh key/value pairs. */
struct sr_tch_kv {
    const char *key;
    const char *value;
};
struct sr_tch_call_out {
    bool is_res;
    uint32_t id;
    uint32_t ttl_ms;           /* req only; spec: never 0 */
    uint8_t code;              /* res only: 0 ok, else error */
    const uint8_t *tracing;    /* 25 bytes, or NULL for zeros */
    const char *service;       /* req only */
    const struct sr_tch_kv *headers;
    size_t nheaders;
    uint8_t csum_type;         /* enum sr_tch_csum (farmhash is not produced) */
    const void *arg[3];
    size_t arg_len[3];
    size_t frame_max;
};
int sr_tch_call_encode(struct sr_buf *out, const struct sr_tch_call_out *c);

/* An assembled call (all fragments joined); owned by the caller once
 * returned, free with sr_tch_call_free. */
struct sr_tch_call {
    bool is_res;
    uint32_t id;
    uint32_t ttl_ms;
    uint8_t code;
    uint8_t csum_type;
    uint8_t tracing[SR_TCH_TRACING];
    char service[SR_TCH_SERVICE_MAX + 1];
    struct sr_buf headers;     /* the raw nh:1 (hk~1 hv~1){nh} block */
    struct sr_buf arg[3];
    /* assembly state */
    uint32_t cur;              /* arg being filled */
    uint32_t csum;             /* running checksum */
};
void sr_tch_call_free(struct sr_tch_call *c);
/* Look up a transport header of an assembled call; NULL if absent. */
const char *sr_tch_call_header(const struct sr_tch_call *c, const char *key, size_t *len);

/* Per-connection reassembly of fragmented calls. */
struct sr_tch_asm {
    struct sr_tch_call *pending[SR_TCH_PENDING_MAX];
    size_t npending;
    size_t arg_limit;          /* max bytes of args per call */
    uint64_t csum_unverified;  /* farmhash-checksummed frames accepted unchecked */
};
void sr_tch_asm_init(struct sr_tch_asm *a, size_t arg_limit);
void sr_tch_asm_destroy(struct sr_tch_asm *a);
/* Feed one call req/res (or continue) frame. On 0, *done is the finished
 * call (caller owns) or NULL while fragments are missing. Errors:
 * SR_ETRUNC/SR_EPROTO (malformed), SR_ECHECKSUM, SR_ETOOBIG (arg limit),
 * SR_EFULL (too many fragmented calls at once), SR_ENOMEM. The frame is
 * dropped on error; a pending call with that id is discarded. */
int sr_tch_asm_feed(struct sr_tch_asm *a, const struct sr_tch_frame *f, struct sr_tch_call **done);

/* Checksums (exposed for tests). */
uint32_t sr_tch_crc32(uint32_t crc, const void *data, size_t len);

#endif
