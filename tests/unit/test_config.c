/* YAML configuration loader: bad files name line:column, good files give
 * typed values, defaults come from the tables, sr_cfg_set overrides. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include "swimring/config.h"
#include "swimring/error.h"
#include "swimring/swim_cfg.h"

#define CFGDIR SR_SOURCE_DIR "/tests/unit/config"

struct both {
    struct sr_node_cfg node;
    struct sr_swim_cfg swim;
    struct sr_cfg_section secs[2];
};

static void both_init(struct both *b)
{
    b->secs[0] = sr_node_cfg_section(&b->node);
    b->secs[1] = sr_swim_cfg_section(&b->swim);
    cr_assert_eq(sr_cfg_defaults(b->secs, 2), 0);
}

struct bad_case {
    const char *file;
    const char *linecol; /* "LINE:COL" */
    const char *fragment;
};

static const struct bad_case bad_cases[] = {
    {"syntax.yaml", "3:1", "YAML syntax error"},
    {"unknown_key.yaml", "3:3", "did you mean \"node.listen\""},
    {"wrong_type.yaml", "2:15", "expected an integer"},
    {"negative_port.yaml", "2:11", "port out of range 1..65535"},
    {"port_too_big.yaml", "2:9", "port out of range 1..65535"},
    {"empty_seeds.yaml", "2:10", "at least 1 address"},
    {"duplicate_key.yaml", "4:3", "duplicate key \"period_ms\" (first at line 2)"},
    {"duration_range.yaml", "2:14", "out of range 10..60000"},
    {"bad_enum.yaml", "3:12", "expected one of: debug info warn error"},
    {"mapping_for_scalar.yaml", "3:5", "expected string, got a mapping"},
    {"bad_address.yaml", "4:7", "expected an address"},
    {"tab_indent.yaml", "2:1", "tab character"},
    {"uint_range.yaml", "2:8", "out of range 576..65507"},
    {"unknown_section.yaml", "1:1", "unknown key \"cluster\""},
    {"section_scalar.yaml", "1:7", "node: expected a mapping"},
    {"bad_duration.yaml", "2:14", "expected a duration"},
    {"scalar_for_group.yaml", "2:8", "node.log: expected a mapping"},
    {"root_list.yaml", "1:1", "expected a mapping of sections"},
    {"seeds_scalar.yaml", "2:10", "expected a list of addresses"},
};

Test(config, bad_files_name_line_and_column)
{
    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        const struct bad_case *bc = &bad_cases[i];
        struct both b;
        both_init(&b);
        char path[512], want[600], err[512] = "";
        snprintf(path, sizeof path, "%s/bad/%s", CFGDIR, bc->file);
        int rc = sr_cfg_load_file(b.secs, 2, path, err, sizeof err);
        cr_expect_eq(rc, SR_ECONFIG, "%s: rc %d", bc->file, rc);
        snprintf(want, sizeof want, "%s:%s: ", path, bc->linecol);
        cr_expect(strncmp(err, want, strlen(want)) == 0, "%s: got \"%s\", want prefix \"%s\"",
                  bc->file, err, want);
        cr_expect(strstr(err, bc->fragment) != NULL, "%s: \"%s\" lacks \"%s\"", bc->file, err,
                  bc->fragment);
    }
}

Test(config, at_least_twelve_bad_files)
{
    cr_assert_geq(sizeof bad_cases / sizeof bad_cases[0], 12);
}

Test(config, good_full_file)
{
    struct both b;
    both_init(&b);
    char err[512] = "";
    int rc = sr_cfg_load_file(b.secs, 2, CFGDIR "/good/full.yaml", err, sizeof err);
    cr_assert_eq(rc, 0, "%s", err);
    cr_expect_str_eq(b.node.name, "n1");
    cr_expect_str_eq(b.node.listen, "10.0.0.5:7000");
    cr_expect_str_eq(b.node.http, "0.0.0.0:9000");
    cr_assert_eq(b.node.seeds.n, 2);
    cr_expect_str_eq(b.node.seeds.addr[0], "10.0.0.1:7946");
    cr_expect_str_eq(b.node.seeds.addr[1], "[::1]:7946");
    cr_expect_eq(b.node.log_level, SR_NODE_LOG_DEBUG);
    cr_expect_str_eq(b.node.log_file, "/var/log/ringd.log");
    cr_expect_eq(b.swim.period_ms, 2000);
    cr_expect_eq(b.swim.ping_timeout_ms, 300);
    cr_expect_eq(b.swim.tombstone_ms, 60000);
    cr_expect_eq(b.swim.mtu, 1200);
    cr_expect_eq(b.swim.ping_req_k, 5);
    cr_expect_eq(b.swim.gossip_fanout, 3, "untouched keys keep defaults");
}

Test(config, partial_and_empty_files_keep_defaults)
{
    struct both b;
    both_init(&b);
    char err[256] = "";
    cr_assert_eq(sr_cfg_load_file(b.secs, 2, CFGDIR "/good/partial.yaml", err, sizeof err), 0, "%s", err);
    cr_expect_eq(b.swim.gossip_fanout, 4);
    cr_expect_eq(b.swim.period_ms, 1000);
    cr_assert_eq(sr_cfg_load_file(b.secs, 2, CFGDIR "/good/empty.yaml", err, sizeof err), 0, "%s", err);
    cr_expect_str_eq(b.node.listen, "127.0.0.1:7946");
}

Test(config, node_defaults)
{
    struct sr_node_cfg n;
    memset(&n, 0x5a, sizeof n);
    sr_node_cfg_default(&n);
    cr_expect_str_eq(n.name, "");
    cr_expect_str_eq(n.listen, "127.0.0.1:7946");
    cr_expect_str_eq(n.http, "127.0.0.1:8080");
    cr_expect_eq(n.seeds.n, 0);
    cr_expect_eq(n.log_level, SR_NODE_LOG_INFO);
    cr_expect_str_eq(n.log_file, "-");
}

/* The table and the LAN profile must not drift apart. */
Test(config, swim_table_defaults_equal_lan_profile)
{
    struct sr_swim_cfg lan, tab;
    memset(&tab, 0xa5, sizeof tab);
    sr_swim_cfg_default_lan(&lan);
    struct sr_cfg_section s = sr_swim_cfg_section(&tab);
    cr_assert_eq(sr_cfg_defaults(&s, 1), 0);
    cr_expect_eq(memcmp(&lan, &tab, sizeof lan), 0);
    /* every field has a row: the rows' sizes cover the struct */
    size_t total = 0;
    for (size_t i = 0; i < s.nfields; i++)
        total += s.fields[i].size;
    cr_expect_eq(total, sizeof(struct sr_swim_cfg));
    char err[128];
    cr_expect_eq(sr_swim_cfg_validate(&tab, err, sizeof err), 0, "%s", err);
}

Test(config, set_overrides)
{
    struct both b;
    both_init(&b);
    char err[256] = "";
    cr_assert_eq(sr_cfg_set(b.secs, 2, "swim.period_ms", "500", err, sizeof err), 0, "%s", err);
    cr_expect_eq(b.swim.period_ms, 500);
    cr_assert_eq(sr_cfg_set(b.secs, 2, "swim.period_ms", "2s", err, sizeof err), 0, "%s", err);
    cr_expect_eq(b.swim.period_ms, 2000);
    cr_assert_eq(sr_cfg_set(b.secs, 2, "node.log.level", "warn", err, sizeof err), 0, "%s", err);
    cr_expect_eq(b.node.log_level, SR_NODE_LOG_WARN);
    cr_assert_eq(sr_cfg_set(b.secs, 2, "node.seeds", "10.0.0.1:1,10.0.0.2:2", err, sizeof err), 0, "%s", err);
    cr_expect_eq(b.node.seeds.n, 2);
    cr_expect_str_eq(b.node.seeds.addr[1], "10.0.0.2:2");

    cr_expect_eq(sr_cfg_set(b.secs, 2, "swim.period_ms", "5", err, sizeof err), SR_ECONFIG);
    cr_expect(strstr(err, "<set>:1:1: swim.period_ms: value 5 out of range") == err, "%s", err);
    cr_expect_eq(b.swim.period_ms, 2000, "failed set leaves the value");
    cr_expect_eq(sr_cfg_set(b.secs, 2, "swim.perod_ms", "5", err, sizeof err), SR_ECONFIG);
    cr_expect(strstr(err, "did you mean \"swim.period_ms\"") != NULL, "%s", err);
    cr_expect_eq(sr_cfg_set(b.secs, 2, "node.listen", "h:0", err, sizeof err), SR_ECONFIG);
    cr_expect_eq(sr_cfg_set(b.secs, 2, "node.seeds", "", err, sizeof err), SR_ECONFIG);
    cr_expect_eq(sr_cfg_set(b.secs, 2, "nodots", "1", err, sizeof err), SR_ECONFIG);
}

Test(config, string_errors_use_string_as_file)
{
    struct both b;
    both_init(&b);
    char err[256] = "";
    const char *y = "swim:\n  mtu: {a: 1}\n";
    cr_assert_eq(sr_cfg_load_string(b.secs, 2, y, strlen(y), err, sizeof err), SR_ECONFIG);
    cr_expect(strncmp(err, "<string>:2:8: swim.mtu: expected unsigned integer, got a mapping",
                      strlen("<string>:2:8: swim.mtu: expected unsigned integer, got a mapping")) == 0,
              "%s", err);
    const char *two = "swim: {mtu: 1400}\n---\nswim: {mtu: 1300}\n";
    cr_expect_eq(sr_cfg_load_string(b.secs, 2, two, strlen(two), err, sizeof err), SR_ECONFIG);
    cr_expect(strstr(err, "only one YAML document") != NULL, "%s", err);
    cr_expect_eq(sr_cfg_load_file(b.secs, 2, "/nonexistent/x.yaml", err, sizeof err), SR_ECONFIG);
    cr_expect(strstr(err, "/nonexistent/x.yaml:1:1: cannot open") == err, "%s", err);
}
