#include "swimring/log.h"
#include "swimring/error.h"
#include "swimring/time.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Longest line we format; longer field text is cut (and marked with "..."). */
#define SR_LOG_LINE_MAX 2048

struct sr_log {
    enum sr_log_level level;
    FILE *out;        /* NULL when logging to a sink */
    bool owns_out;    /* we opened it, we close it */
    sr_log_sink_f sink;
    void *sink_ud;
    char node[64];
};

static const char *const level_names[] = {"debug", "info", "warn", "error", "off"};

static struct sr_log *log_alloc(enum sr_log_level level, const char *node)
{
    struct sr_log *log = calloc(1, sizeof(*log));
    if (log == NULL)
        return NULL;
    log->level = level;
    if (node != NULL)
        snprintf(log->node, sizeof(log->node), "%s", node);
    return log;
}

struct sr_log *sr_log_new(enum sr_log_level level, const char *path,
                          const char *node, int *err)
{
    struct sr_log *log = log_alloc(level, node);
    if (log == NULL) {
        *err = SR_ENOMEM;
        return NULL;
    }
    if (path == NULL || strcmp(path, "-") == 0) {
        log->out = stderr;
        return log;
    }
    log->out = fopen(path, "a");
    if (log->out == NULL) {
        free(log);
        *err = SR_EIO;
        return NULL;
    }
    log->owns_out = true;
    /* Line buffered: a line is complete on disk when a test greps for it. */
    setvbuf(log->out, NULL, _IOLBF, 0);
    return log;
}

struct sr_log *sr_log_new_sink(enum sr_log_level level, const char *node,
                               sr_log_sink_f sink, void *ud)
{
    struct sr_log *log = log_alloc(level, node);
    if (log == NULL)
        return NULL;
    log->sink = sink;
    log->sink_ud = ud;
    return log;
}

void sr_log_delete(struct sr_log *log)
{
    if (log == NULL)
        return;
    if (log->owns_out)
        fclose(log->out);
    free(log);
}

void sr_log_set_level(struct sr_log *log, enum sr_log_level level)
{
    if (log != NULL)
        log->level = level;
}

bool sr_log_enabled(const struct sr_log *log, enum sr_log_level level)
{
    return log != NULL && level >= log->level && level < SR_LOG_OFF;
}

int sr_log_level_parse(const char *name)
{
    for (int i = 0; i <= SR_LOG_OFF; i++)
        if (strcmp(name, level_names[i]) == 0)
            return i;
    return SR_EINVAL;
}

const char *sr_log_level_name(enum sr_log_level level)
{
    return (unsigned)level <= SR_LOG_OFF ? level_names[level] : "?";
}

void sr_log_write(struct sr_log *log, enum sr_log_level level,
                  const char *event, const char *fields, ...)
{
    if (!sr_log_enabled(log, level))
        return;
    char line[SR_LOG_LINE_MAX];
    char ts[32];
    sr_time_format_utc(sr_time_wall_us(), ts, sizeof(ts));
    int n = snprintf(line, sizeof(line), "%s level=%s%s%s event=%s", ts,
                     level_names[level], log->node[0] ? " node=" : "",
                     log->node, event);
    if (n > 0 && (size_t)n < sizeof(line) - 1 && fields != NULL) {
        line[n++] = ' ';
        va_list ap;
        va_start(ap, fields);
        int m = vsnprintf(line + n, sizeof(line) - (size_t)n, fields, ap);
        va_end(ap);
        if (m >= 0 && (size_t)m >= sizeof(line) - (size_t)n)
            memcpy(line + sizeof(line) - 4, "...", 4);
    }
    /* Keep the one-line promise even if a field carried a newline. */
    for (char *p = line; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    if (log->sink != NULL)
        log->sink(log->sink_ud, level, line);
    else
        fprintf(log->out, "%s\n", line);
}
