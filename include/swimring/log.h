/* Logging: one line per event, key=value fields, to stderr, a file or a
 * callback. A logger is an object (no global state): each node owns one, so a
 * simulator with a thousand nodes can tell their lines apart.
 *
 *   2026-11-22T11:00:00.123Z level=warn node=n3 event=swim.suspect addr=127.0.0.1:7001 inc=4
 *
 * Fields are formatted by the caller, printf-style; quote values that may
 * hold spaces (key="%s"). A NULL logger discards everything. */
#ifndef SWIMRING_LOG_H
#define SWIMRING_LOG_H

#include <stdbool.h>
#include "swimring/export.h"

enum sr_log_level {
    SR_LOG_DEBUG = 0,
    SR_LOG_INFO = 1,
    SR_LOG_WARN = 2,
    SR_LOG_ERROR = 3,
    SR_LOG_OFF = 4,
};

struct sr_log;

/* Receives each finished line (no trailing newline) when logging to a callback. */
typedef void (*sr_log_sink_f)(void *ud, enum sr_log_level level, const char *line);

/* Log to `path` (appended; NULL or "-" means stderr). `node` tags every line
 * (may be NULL). Returns NULL with *err set (SR_EIO, SR_ENOMEM) on failure. */
SR_API struct sr_log *sr_log_new(enum sr_log_level level, const char *path,
                                 const char *node, int *err);
/* Log to a callback instead of a stream (tests, embedding). */
SR_API struct sr_log *sr_log_new_sink(enum sr_log_level level, const char *node,
                                      sr_log_sink_f sink, void *ud);
SR_API void sr_log_delete(struct sr_log *log);
SR_API void sr_log_set_level(struct sr_log *log, enum sr_log_level level);
SR_API bool sr_log_enabled(const struct sr_log *log, enum sr_log_level level);
/* "debug", "info", "warn", "error", "off" -> level; SR_EINVAL otherwise. */
SR_API int sr_log_level_parse(const char *name);
SR_API const char *sr_log_level_name(enum sr_log_level level);

/* Write one event. `fields` is a printf format for the key=value part (may be
 * NULL). Prefer the SR_LOG macro, which skips formatting below the level. */
SR_API void sr_log_write(struct sr_log *log, enum sr_log_level level,
                         const char *event, const char *fields, ...)
    __attribute__((format(printf, 4, 5)));

#define SR_LOG(log, level, event, ...)                                         \
    do {                                                                       \
        if (sr_log_enabled((log), (level)))                                    \
            sr_log_write((log), (level), (event), __VA_ARGS__);                \
    } while (0)

#define SR_DEBUG(log, event, ...) SR_LOG(log, SR_LOG_DEBUG, event, __VA_ARGS__)
#define SR_INFO(log, event, ...) SR_LOG(log, SR_LOG_INFO, event, __VA_ARGS__)
#define SR_WARN(log, event, ...) SR_LOG(log, SR_LOG_WARN, event, __VA_ARGS__)
#define SR_ERROR(log, event, ...) SR_LOG(log, SR_LOG_ERROR, event, __VA_ARGS__)

#endif
