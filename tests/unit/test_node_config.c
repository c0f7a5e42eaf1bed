/* The node's configuration sections and the standard daemon flags. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "swimring/error.h"
#include "swimring/node.h"

static char tmpl[] = "/tmp/sr-node-cfg-XXXXXX";

static const char *write_yaml(const char *text)
{
    int fd = mkstemp(tmpl);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return tmpl;
}

static int parse(struct sr_node_config *cfg, struct sr_node_args *a, char *err, size_t len,
                 int argc, char **argv)
{
    sr_node_config_default(cfg);
    return sr_node_args_parse(cfg, a, argc, argv, err, len);
}

Test(node_config, defaults_come_from_the_tables)
{
    struct sr_node_config c;
    sr_node_config_default(&c);
    cr_expect_eq(c.ring.points_per_member, 100);
    cr_expect(c.ring.suspect_on_ring);
    cr_expect_eq(c.forward.max_hops, 2);
    cr_expect_eq(c.forward.max_tries, 3);
    cr_expect_eq(c.forward.timeout_ms, 5000);
    cr_expect_eq(c.limits.max_body, 1048576);
    cr_expect_eq(c.limits.rate_per_s, 0);
    cr_expect_str_empty(c.admin.token);
    cr_expect(!c.admin.faults);
    cr_expect_eq(c.swim.period_ms, 1000);
    cr_expect_str_eq(c.swim_profile, "lan");
}

Test(node_config, profile_then_file_then_flags)
{
    const char *path = write_yaml("node:\n  name: from-file\n  http: 127.0.0.1:9001\n"
                                  "swim:\n  period_ms: 300ms\nforward:\n  max_hops: 4\n"
                                  "limits:\n  rate_per_s: 50\n");
    struct sr_node_config c;
    struct sr_node_args a;
    char err[256] = "";
    /* the flag naming the file comes last, the name flag first: order must not matter */
    char *argv[] = {"d", "--name", "from-flag", "--set", "limits.burst=7", "--profile", "local",
                    "--label", "zone=b", "--listen", "127.0.0.1:7001", "--config", (char *)path,
                    NULL};
    cr_assert_eq(parse(&c, &a, err, sizeof err, 13, argv), 0, "%s", err);
    cr_expect_str_eq(c.node.name, "from-flag");
    cr_expect_str_eq(c.node.http, "127.0.0.1:9001");
    cr_expect_str_eq(c.node.listen, "127.0.0.1:7001");
    cr_expect_eq(c.swim.period_ms, 300, "file beats profile");
    cr_expect_eq(c.swim.ping_timeout_ms, 100, "profile local beneath the file");
    cr_expect_eq(c.forward.max_hops, 4);
    cr_expect_eq(c.limits.rate_per_s, 50);
    cr_expect_eq(c.limits.burst, 7);
    cr_assert_eq(a.nlabels, 1);
    cr_expect_str_eq(a.labels[0].key, "zone");
    cr_expect_str_eq(a.labels[0].value, "b");
    unlink(path);
}

Test(node_config, bad_input_is_refused_with_where_and_why)
{
    struct sr_node_config c;
    struct sr_node_args a;
    char err[256];
    const char *path = write_yaml("forward:\n  max_hops: 2\n  max_tries: 99\n");
    char *argv1[] = {"d", "--config", (char *)path, NULL};
    cr_expect_eq(parse(&c, &a, err, sizeof err, 3, argv1), SR_ECONFIG);
    cr_expect(strstr(err, ":3:") != NULL, "line 3 in '%s'", err);
    cr_expect(strstr(err, "max_tries") != NULL || strstr(err, "range") != NULL, "%s", err);
    unlink(path);
    char *argv2[] = {"d", "--bogus", NULL};
    cr_expect_eq(parse(&c, &a, err, sizeof err, 2, argv2), SR_EINVAL);
    cr_expect(strstr(err, "--bogus") != NULL, "%s", err);
    char *argv3[] = {"d", "--label", "novalue", NULL};
    cr_expect_eq(parse(&c, &a, err, sizeof err, 3, argv3), SR_EINVAL);
    char *argv4[] = {"d", "--profile", "wan", NULL};
    cr_expect_eq(parse(&c, &a, err, sizeof err, 3, argv4), SR_EINVAL);
    char *argv5[] = {"d", "--set", "limits.nope=1", NULL};
    cr_expect_eq(parse(&c, &a, err, sizeof err, 3, argv5), SR_ECONFIG);
    char *argv6[] = {"d", "--listen", NULL};
    cr_expect_eq(parse(&c, &a, err, sizeof err, 2, argv6), SR_EINVAL);
    cr_expect(strstr(err, "needs a value") != NULL, "%s", err);
    char *argv7[] = {"d", "stray", NULL};
    cr_expect_eq(parse(&c, &a, err, sizeof err, 2, argv7), SR_EINVAL);
}

Test(node_config, every_section_is_listed)
{
    struct sr_cfg_section secs[12];
    size_t n = sr_node_config_sections(NULL, secs, 12);
    const char *want[] = {"node",   "swim",  "gossip", "ring", "forward",
                          "limits", "admin", "state",  "tls",  "ringpop"};
    cr_assert_eq(n, sizeof want / sizeof want[0]);
    for (size_t i = 0; i < n; i++)
        cr_expect_str_eq(secs[i].name, want[i]);
}

/* --gossip-key-file sets gossip.key_file (and beats a gossip.key from the
 * file); a bad key file stops sr_node_new with a message naming it. */
Test(node_config, gossip_key_file_flag)
{
    const char *path = write_yaml("gossip:\n  key: 000102030405060708090a0b0c0d0e0f"
                                  "101112131415161718191a1b1c1d1e1f\n  replay_window_ms: 2s\n");
    char keyfile[] = "/tmp/sr-node-gk-XXXXXX";
    int fd = mkstemp(keyfile);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, "not-a-key\n", 10), 10);
    close(fd);
    struct sr_node_config c;
    struct sr_node_args a;
    char err[256] = "";
    char *argv[] = {"d", "--config", (char *)path, "--gossip-key-file", keyfile,
                    "--listen", "127.0.0.1:7001", NULL};
    cr_assert_eq(parse(&c, &a, err, sizeof err, 7, argv), 0, "%s", err);
    cr_expect_str_eq(c.gossip.key_file, keyfile);
    cr_expect_str_empty(c.gossip.key, "the flag clears the file's key");
    cr_expect_eq(c.gossip.replay_window_ms, 2000);
    cr_expect_eq(c.gossip.clock_skew_ms, 1000);
    cr_expect(!c.gossip.accept_plaintext);
    int rc = 0;
    struct sr_node *node = sr_node_new(NULL, &c, &rc, err, sizeof err);
    cr_expect_null(node);
    cr_expect_eq(rc, SR_ECONFIG);
    cr_expect(strstr(err, keyfile) && strstr(err, ":1: a gossip key is 64 hex characters, got 9"),
              "%s", err);
    unlink(keyfile);
    unlink(path);
}
