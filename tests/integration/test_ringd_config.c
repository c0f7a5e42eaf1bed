/* ringd's configuration: a YAML file under the flags, labels from flags,
 * and a bad file refused with FILE:LINE:COLUMN and exit status 2. */
#include <criterion/criterion.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "swimring/testkit.h"

#define RINGD SR_BINARY_DIR "/tools/ringd/ringd"

static struct sr_tk_cluster cluster;
static void kill_all(void) { sr_tk_destroy(&cluster); }

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
}

struct up { const char *http; };
static bool answers(struct sr_tk_cluster *h, void *ud)
{
    (void)h;
    json_t *j = sr_tk_http(((struct up *)ud)->http, "GET", "/admin/status");
    json_decref(j);
    return j != NULL;
}

Test(ringd_config, file_under_flags_and_labels, .timeout = 60, .fini = kill_all)
{
    char path[96];
    snprintf(path, sizeof path, "/tmp/ringd-config-%d.yaml", (int)getpid());
    write_file(path, "node:\n  name: from-file\n  log: {level: warn}\n"
                     "swim:\n  period_ms: 150ms\nforward:\n  timeout_ms: 1234\n");
    const char *extra[] = {"--config", path, "--label", "zone=a", "--label", "rack=7", NULL};
    sr_tk_init(&cluster, RINGD, "local");
    cluster.extra = extra;
    cr_assert_geq(sr_tk_spawn(&cluster, NULL), 0);
    struct up u = {cluster.nodes[0].http};
    cr_assert(sr_tk_wait(&cluster, sr_time_mono_us() + 10 * SR_US_PER_S, answers, &u));
    json_t *st = sr_tk_http(u.http, "GET", "/admin/status");
    cr_assert_not_null(st);
    cr_expect_eq(json_integer_value(json_object_get(st, "request_timeout_ms")), 1234);
    json_t *swim = json_object_get(st, "swim");
    cr_expect_eq(json_integer_value(json_object_get(swim, "period_ms")), 150, "file over profile");
    cr_expect_eq(json_integer_value(json_object_get(swim, "ping_timeout_ms")), 100,
                 "profile local beneath the file");
    cr_expect_str_eq(json_string_value(json_object_get(st, "name")), "n0", "--name over the file");
    json_decref(st);
    json_t *m = sr_tk_http(u.http, "GET", "/admin/members");
    json_t *self = json_array_get(json_object_get(m, "members"), 0);
    json_t *labels = json_object_get(self, "labels");
    cr_expect_str_eq(json_string_value(json_object_get(labels, "zone")), "a");
    cr_expect_str_eq(json_string_value(json_object_get(labels, "rack")), "7");
    json_decref(m);
    unlink(path);
}

/* Run ringd to completion with its stderr in `out`; returns the exit status. */
static int run_ringd(char *const argv[], char *out, size_t cap)
{
    int p[2];
    cr_assert_eq(pipe(p), 0);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(p[1], 2);
        close(p[0]);
        execv(RINGD, argv);
        _exit(127);
    }
    close(p[1]);
    size_t n = 0;
    ssize_t r;
    while (n + 1 < cap && (r = read(p[0], out + n, cap - 1 - n)) > 0)
        n += (size_t)r;
    out[n] = '\0';
    close(p[0]);
    int st;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

Test(ringd_config, bad_file_exits_2_with_line_and_column, .timeout = 30)
{
    char path[96], out[1024], want[128];
    snprintf(path, sizeof path, "/tmp/ringd-bad-%d.yaml", (int)getpid());
    write_file(path, "node:\n  name: x\nswim:\n  period_ms: soon\n");
    char *argv[] = {"ringd", "--listen", "127.0.0.1:1", "--config", path, NULL};
    cr_expect_eq(run_ringd(argv, out, sizeof out), 2, "stderr: %s", out);
    snprintf(want, sizeof want, "%s:4:", path);
    cr_expect(strstr(out, want) != NULL, "want '%s' in: %s", want, out);
    unlink(path);
    /* services named in the file are checked like --services */
    write_file(path, "node:\n  services: nosuch\n");
    char *argv3[] = {"ringd", "--listen", "127.0.0.1:1", "--config", path, NULL};
    cr_expect_eq(run_ringd(argv3, out, sizeof out), 2, "stderr: %s", out);
    cr_expect(strstr(out, "unknown service 'nosuch'") != NULL, "%s", out);
    unlink(path);
    char *argv2[] = {"ringd", "--listen", "127.0.0.1:1", "--label", "oops", NULL};
    cr_expect_eq(run_ringd(argv2, out, sizeof out), 2, "stderr: %s", out);
    cr_expect(strstr(out, "--label") != NULL, "%s", out);
}
