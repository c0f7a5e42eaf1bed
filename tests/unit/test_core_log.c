/* Logging: one line per event through a sink, key=value format, level
 * filter, newlines removed, file output. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "swimring/error.h"
#include "swimring/log.h"

struct capture {
    int n;
    char last[1024];
    enum sr_log_level level;
};

static void sink(void *ud, enum sr_log_level level, const char *line)
{
    struct capture *c = ud;
    c->n++;
    c->level = level;
    snprintf(c->last, sizeof c->last, "%s", line);
}

Test(core_log, one_line_per_event_key_value)
{
    struct capture c = {0};
    struct sr_log *log = sr_log_new_sink(SR_LOG_DEBUG, "n3", sink, &c);
    cr_assert_not_null(log);
    SR_WARN(log, "swim.suspect", "addr=%s inc=%d", "127.0.0.1:7001", 4);
    cr_assert_eq(c.n, 1);
    cr_expect_eq(c.level, SR_LOG_WARN);
    cr_expect(strstr(c.last, " level=warn node=n3 event=swim.suspect addr=127.0.0.1:7001 inc=4") != NULL,
              "%s", c.last);
    cr_expect(strchr(c.last, '\n') == NULL);
    /* timestamp first: 2026-11-22T11:00:00.123Z */
    cr_expect(strlen(c.last) > 24 && c.last[4] == '-' && c.last[10] == 'T', "%s", c.last);
    SR_INFO(log, "plain", NULL);
    cr_assert_eq(c.n, 2);
    cr_expect(strstr(c.last, "event=plain") != NULL, "%s", c.last);
    sr_log_delete(log);
}

Test(core_log, level_filter)
{
    struct capture c = {0};
    struct sr_log *log = sr_log_new_sink(SR_LOG_WARN, NULL, sink, &c);
    SR_DEBUG(log, "a", NULL);
    SR_INFO(log, "b", NULL);
    cr_expect_eq(c.n, 0);
    cr_expect(!sr_log_enabled(log, SR_LOG_INFO));
    SR_ERROR(log, "c", NULL);
    cr_expect_eq(c.n, 1);
    sr_log_set_level(log, SR_LOG_DEBUG);
    SR_DEBUG(log, "d", NULL);
    cr_expect_eq(c.n, 2);
    sr_log_set_level(log, SR_LOG_OFF);
    SR_ERROR(log, "e", NULL);
    cr_expect_eq(c.n, 2);
    sr_log_delete(log);
    /* a NULL logger discards everything */
    SR_ERROR((struct sr_log *)NULL, "f", NULL);
    cr_expect(!sr_log_enabled(NULL, SR_LOG_ERROR));
}

Test(core_log, newlines_are_removed)
{
    struct capture c = {0};
    struct sr_log *log = sr_log_new_sink(SR_LOG_DEBUG, NULL, sink, &c);
    SR_INFO(log, "evil", "msg=\"%s\"", "line1\nline2\r\nline3");
    cr_assert_eq(c.n, 1);
    cr_expect(strchr(c.last, '\n') == NULL && strchr(c.last, '\r') == NULL, "%s", c.last);
    cr_expect(strstr(c.last, "line1") != NULL && strstr(c.last, "line3") != NULL, "%s", c.last);
    sr_log_delete(log);
}

Test(core_log, level_names_parse)
{
    cr_expect_eq(sr_log_level_parse("debug"), SR_LOG_DEBUG);
    cr_expect_eq(sr_log_level_parse("warn"), SR_LOG_WARN);
    cr_expect_eq(sr_log_level_parse("off"), SR_LOG_OFF);
    cr_expect_eq(sr_log_level_parse("loud"), SR_EINVAL);
    cr_expect_str_eq(sr_log_level_name(SR_LOG_ERROR), "error");
}

Test(core_log, file_output_one_line_each)
{
    char path[] = "/tmp/sr_test_log_XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    close(fd);
    int err = 0;
    struct sr_log *log = sr_log_new(SR_LOG_INFO, path, "n1", &err);
    cr_assert_not_null(log, "err %d", err);
    SR_INFO(log, "one", "k=%d", 1);
    SR_INFO(log, "two", "k=%d", 2);
    SR_DEBUG(log, "hidden", NULL);
    sr_log_delete(log);
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f);
    char line[512];
    int n = 0;
    while (fgets(line, sizeof line, f)) {
        n++;
        cr_expect(strstr(line, "node=n1 event=") != NULL, "%s", line);
    }
    fclose(f);
    unlink(path);
    cr_expect_eq(n, 2);
    cr_expect_null(sr_log_new(SR_LOG_INFO, "/nonexistent/dir/x.log", NULL, &err));
    cr_expect_eq(err, SR_EIO);
}
