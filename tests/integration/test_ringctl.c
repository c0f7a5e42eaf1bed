/* ringctl against a live 5-node kvd cluster it starts itself: the JSON of
 * every command, exit codes, a partition seen by `checksums` (exit 1) and
 * healed (exit 0), kill/restart/down by pid. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <jansson.h>
#include "swimring/testkit.h"
#include "swimring/time.h"

#define RINGCTL SR_BINARY_DIR "/tools/ringctl/ringctl"
#define KVD SR_BINARY_DIR "/examples/kvd/kvd"

static char dir[128];
static char out[262144];

/* Run ringctl with argv (NULL-terminated); stdout in `out`; exit status. */
static int ringctl(const char *const *args)
{
    return sr_tk_run(RINGCTL, args, NULL, out, sizeof out);
}

static json_t *ringctl_json(const char *const *args, int want_rc)
{
    int rc = ringctl(args);
    cr_assert_eq(rc, want_rc, "ringctl %s: exit %d: %s", args[0], rc, out);
    json_error_t je;
    json_t *j = json_loads(out, 0, &je);
    cr_assert_not_null(j, "ringctl %s: not JSON (%s): %s", args[0], je.text, out);
    return j;
}

static void down(void)
{
    const char *a[] = {"cluster", "down", "--dir", dir, NULL};
    ringctl(a);
}

static char node0[32];

/* checksums exit code, polled until it equals `want` or the deadline. */
static bool checksums_become(int want, double seconds)
{
    const char *a[] = {"checksums", "--node", node0, "--json", NULL};
    sr_time_us end = sr_time_mono_us() + (sr_time_us)(seconds * 1e6);
    while (sr_time_mono_us() < end) {
        if (ringctl(a) == want)
            return true;
        usleep(200000);
    }
    return false;
}

Test(ringctl, every_command_against_a_live_cluster, .timeout = 180, .fini = down)
{
    snprintf(dir, sizeof dir, "/tmp/sr-ringctl-%d", (int)getpid());
    const char *up[] = {"cluster", "up", "5", "--daemon", KVD, "--dir", dir, "--json", NULL};
    json_t *j = ringctl_json(up, 0);
    json_t *nodes = json_object_get(j, "nodes");
    cr_assert_eq(json_array_size(nodes), 5);
    cr_expect(json_is_true(json_object_get(j, "converged")));
    snprintf(node0, sizeof node0, "%s",
             json_string_value(json_object_get(json_array_get(nodes, 0), "http")));
    json_decref(j);

    const char *status[] = {"status", "--node", node0, "--json", NULL};
    j = ringctl_json(status, 0);
    cr_expect_eq(json_integer_value(json_object_get(json_object_get(j, "ring"), "members")), 5);
    json_decref(j);

    const char *members[] = {"members", "--node", node0, "--json", NULL};
    j = ringctl_json(members, 0);
    cr_expect_eq(json_array_size(json_object_get(j, "members")), 5);
    json_decref(j);

    const char *ring[] = {"ring", "--node", node0, "--json", NULL};
    j = ringctl_json(ring, 0);
    double total = 0;
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(j, "members"), i, m)
        total += json_real_value(json_object_get(m, "fraction"));
    cr_expect(total > 0.999 && total < 1.001, "ownership sums to %f", total);
    json_decref(j);

    const char *lookup[] = {"lookup", "--node", node0, "-n", "2", "user-1", NULL};
    cr_expect_eq(ringctl(lookup), 0, "%s", out);
    cr_expect(strncmp(out, "user-1\t127.0.0.1:", 17) == 0 && strchr(out + 17, ','), "%s", out);

    const char *ks_set[] = {"killswitch", "--node", node0, "--json", "set", "kv/put", "reject", NULL};
    j = ringctl_json(ks_set, 0);
    json_decref(j);
    const char *ks_list[] = {"killswitch", "--node", node0, "--json", NULL};
    j = ringctl_json(ks_list, 0);
    bool found = false;
    json_array_foreach(json_object_get(j, "killswitches"), i, m)
        found |= !strcmp(json_string_value(json_object_get(m, "endpoint")), "put") &&
                 !strcmp(json_string_value(json_object_get(m, "mode")), "reject");
    cr_expect(found, "kill switch not listed");
    json_decref(j);
    const char *ks_clear[] = {"killswitch", "--node", node0, "clear", "kv/put", NULL};
    cr_expect_eq(ringctl(ks_clear), 0);
    const char *ks_bad[] = {"killswitch", "--node", node0, "set", "kv/put", "explode", NULL};
    cr_expect_eq(ringctl(ks_bad), 1);

    const char *top[] = {"top", "--node", node0, "--json", "count", "2", NULL};
    cr_expect_eq(ringctl(top), 0);
    cr_expect_not_null(strstr(out, "\"ring_members\": 5") ? out : strstr(out, "\"ring_members\":5"),
                       "%s", out);

    cr_assert(checksums_become(0, 10), "checksums: %s", out);
    j = json_loads(out, 0, NULL);
    cr_expect(json_is_true(json_object_get(j, "agree")));
    json_decref(j);

    /* a partition made by the cluster harness shows as disagreement ... */
    const char *part[] = {"cluster", "partition", "0,1|2,3,4", "--dir", dir, NULL};
    cr_assert_eq(ringctl(part), 0, "%s", out);
    cr_assert(checksums_become(1, 30), "checksums did not see the partition: %s", out);
    /* ... and heals */
    const char *heal[] = {"cluster", "heal", "--dir", dir, NULL};
    cr_assert_eq(ringctl(heal), 0);
    cr_assert(checksums_become(0, 30), "checksums after the heal: %s", out);

    /* kill -9 by pid, restart on the same identity */
    const char *kill4[] = {"cluster", "kill", "4", "--dir", dir, NULL};
    cr_expect_eq(ringctl(kill4), 0, "%s", out);
    const char *restart4[] = {"cluster", "restart", "4", "--dir", dir, NULL};
    cr_expect_eq(ringctl(restart4), 0, "%s", out);
    cr_expect(checksums_become(0, 30), "after restart: %s", out);
    const char *cstatus[] = {"cluster", "status", "--dir", dir, "--json", NULL};
    j = ringctl_json(cstatus, 0);
    json_array_foreach(json_object_get(j, "nodes"), i, m)
        cr_expect(json_is_true(json_object_get(m, "up")), "node %zu down", i);
    json_decref(j);

    const char *leave[] = {"leave", "--node", node0, "--json", NULL};
    j = ringctl_json(leave, 0);
    json_decref(j);

    /* usage and unreachable exit codes */
    const char *bad[] = {"status", "--bogus", NULL};
    cr_expect_eq(ringctl(bad), 2);
    const char *gone[] = {"status", "--node", "127.0.0.1:1", NULL};
    cr_expect_eq(ringctl(gone), 3);
}
