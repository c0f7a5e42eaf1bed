/* ringctl: the swimring admin tool. main() only dispatches: every command is
 * an entry in the table below and lives in its own cmd_<name>.c, so adding
 * status, members, cluster... is one file and one line here. */
#include <stdio.h>
#include <string.h>
#include "ringctl.h"

static const struct ringctl_cmd *const commands[] = {
    &ringctl_cmd_status, &ringctl_cmd_members, &ringctl_cmd_ring, &ringctl_cmd_lookup,
    &ringctl_cmd_checksums, &ringctl_cmd_killswitch, &ringctl_cmd_leave, &ringctl_cmd_top,
    &ringctl_cmd_cluster, &ringctl_cmd_geo, &ringctl_cmd_keys, &ringctl_cmd_tls,
};
#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *out)
{
    fprintf(out, "usage: ringctl COMMAND [ARGS...]\n"
                 "       ringctl help [COMMAND]\n\ncommands:\n");
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(out, "  %-10s %s\n", commands[i]->name, commands[i]->summary);
}

static const struct ringctl_cmd *find(const char *name)
{
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (strcmp(commands[i]->name, name) == 0)
            return commands[i];
    return NULL;
}

static int help(int argc, char **argv)
{
    if (argc < 3) {
        usage(stdout);
        return RINGCTL_OK;
    }
    const struct ringctl_cmd *cmd = find(argv[2]);
    if (cmd == NULL) {
        fprintf(stderr, "ringctl: unknown command '%s'\n", argv[2]);
        return RINGCTL_USAGE;
    }
    cmd->usage(stdout);
    return RINGCTL_OK;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return RINGCTL_USAGE;
    }
    if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "-h") == 0)
        return help(argc, argv);
    const struct ringctl_cmd *cmd = find(argv[1]);
    if (cmd == NULL) {
        fprintf(stderr, "ringctl: unknown command '%s'\n", argv[1]);
        usage(stderr);
        return RINGCTL_USAGE;
    }
    return cmd->run(argc - 1, argv + 1);
}
