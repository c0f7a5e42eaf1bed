/* Talking to a node's admin endpoint (see live.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "live.h"
#include "ringctl.h"
#include "swimring/testkit.h"

int live_parse(int argc, char **argv, struct live_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->node = "127.0.0.1:8080";
    o->color = isatty(1);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--node") == 0 && i + 1 < argc)
            o->node = argv[++i];
        else if (strcmp(argv[i], "--json") == 0)
            o->json = true;
        else if (argv[i][0] == '-' && argv[i][1] == '-') {
            fprintf(stderr, "ringctl %s: unknown option %s\n", argv[0], argv[i]);
            return RINGCTL_USAGE;
        } else if (o->nargs < RINGCTL_ARGS_MAX)
            o->args[o->nargs++] = argv[i];
        else
            return RINGCTL_USAGE;
    }
    return 0;
}

json_t *live_call(const char *node, const char *method, const char *path, const char *body,
                  int *status)
{
    json_t *j = NULL;
    *status = sr_tk_http_body(node, method, path, body, &j);
    if (*status < 0)
        fprintf(stderr, "ringctl: %s did not answer (is a node's HTTP admin there?)\n", node);
    else if (*status / 100 != 2) {
        const char *m = json_string_value(json_object_get(j, "message"));
        fprintf(stderr, "ringctl: %s %s: HTTP %d: %s\n", method, path, *status,
                m ? m : "(no message)");
    }
    return j;
}

void live_print_json(json_t *j)
{
    char *s = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS);
    if (s)
        printf("%s\n", s);
    free(s);
}
