/* ringctl: one program, one file per command. A command gets the arguments
 * after its name (argv[0] is the command name) and returns the exit code. */
#ifndef SR_RINGCTL_H
#define SR_RINGCTL_H

#include <stdio.h>

enum ringctl_exit {
    RINGCTL_OK = 0,
    RINGCTL_FAIL = 1,  /* the command ran and failed (file unreadable, ...) */
    RINGCTL_USAGE = 2, /* bad command line */
};

struct ringctl_cmd {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv);
    void (*usage)(FILE *out);
};

/* The commands, one per file (cmd_<name>.c). */
extern const struct ringctl_cmd ringctl_cmd_lookup;
extern const struct ringctl_cmd ringctl_cmd_status, ringctl_cmd_members, ringctl_cmd_ring,
    ringctl_cmd_checksums, ringctl_cmd_killswitch, ringctl_cmd_leave, ringctl_cmd_top,
    ringctl_cmd_cluster, ringctl_cmd_geo;
extern const struct ringctl_cmd ringctl_cmd_keys; /* cmd_keys.c */
extern const struct ringctl_cmd ringctl_cmd_tls;  /* cmd_tls.c */

#endif
