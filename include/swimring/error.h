/* Error codes: every fallible swimring call returns 0 (or a non-negative
 * count) on success and one of these negative values on failure. Where detail
 * matters (configuration, decoders) the call also takes a message buffer. */
#ifndef SWIMRING_ERROR_H
#define SWIMRING_ERROR_H

#include "swimring/export.h"

/* X(NAME, value, message). Values are stable: never renumber. */
#define SR_ERRNO_MAP(X)                                                        \
    X(EINVAL,    -1,  "invalid argument")                                      \
    X(ENOMEM,    -2,  "out of memory")                                         \
    X(ETRUNC,    -3,  "input truncated")                                       \
    X(ETYPE,     -4,  "unexpected type")                                       \
    X(ERANGE,    -5,  "value out of range")                                    \
    X(ETOOBIG,   -6,  "input too large")                                       \
    X(EPROTO,    -7,  "protocol error")                                        \
    X(EVERSION,  -8,  "unsupported version")                                   \
    X(ECHECKSUM, -9,  "checksum mismatch")                                     \
    X(ECONFIG,   -10, "bad configuration")                                     \
    X(EIO,       -11, "i/o error")                                             \
    X(ENOTFOUND, -12, "not found")                                             \
    X(EEXIST,    -13, "already exists")                                        \
    X(ETIMEDOUT, -14, "timed out")                                             \
    X(ECANCELED, -15, "operation canceled")                                    \
    X(ECLOSED,   -16, "closed")                                                \
    X(EAGAIN,    -17, "try again")                                             \
    X(ENOTOWNER, -18, "not the owner of the key")                              \
    X(EUNREACH,  -19, "peer unreachable")                                      \
    X(EDEPTH,    -20, "nesting too deep")                                      \
    X(EFULL,     -21, "capacity exhausted")                                    \
    X(EAUTH,     -22, "authentication failed")                                 \
    X(ESYS,      -23, "system call failed (see errno)")                       \
    X(ECONNLOST, -24, "connection lost; request may have been delivered")     \
    X(EBUSY,     -25, "peer busy; retry later")

enum sr_err {
#define SR_ERR_ENUM(name, val, msg) SR_##name = (val),
    SR_ERRNO_MAP(SR_ERR_ENUM)
#undef SR_ERR_ENUM
};

/* Human message for an error code; "unknown error" for anything else. */
SR_API const char *sr_strerror(int err);
/* Symbolic name ("SR_ETRUNC") for an error code; "SR_UNKNOWN" otherwise. */
SR_API const char *sr_err_name(int err);

#endif
