/* Shared by the commands that talk to a live node's admin endpoint. */
#ifndef SR_RINGCTL_LIVE_H
#define SR_RINGCTL_LIVE_H

#include <stdbool.h>
#include <jansson.h>

#define RINGCTL_UNREACHABLE 3  /* exit code: the node did not answer */
#define RINGCTL_DISAGREE 1     /* exit code: checksums differ */
#define RINGCTL_ARGS_MAX 16

struct live_opts {
    const char *node;          /* admin "host:port"; default 127.0.0.1:8080 */
    bool json;                 /* stable JSON instead of tables */
    bool color;                /* stdout is a terminal */
    int nargs;
    char *args[RINGCTL_ARGS_MAX]; /* what is left: the command's own words */
};

/* Take --node/--json out of argv (argv[0] is the command). 0 or RINGCTL_USAGE. */
int live_parse(int argc, char **argv, struct live_opts *o);
/* GET/POST/PUT `path` on `node`; the JSON answer (new reference) or NULL
 * with a message on stderr. *status gets the HTTP status (-1: unreachable). */
json_t *live_call(const char *node, const char *method, const char *path, const char *body,
                  int *status);
/* Print JSON as the command's --json output (sorted keys, indented). */
void live_print_json(json_t *j);

#endif
