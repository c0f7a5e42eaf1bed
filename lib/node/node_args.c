/* The standard daemon flags (see sr_node_args_parse in swimring/node.h). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include "swimring/error.h"
#include "swimring/node.h"

#define SETS_MAX 32

/* Everything seen on the command line, applied after parsing in a fixed
 * order (profile, file, flags) so flag order does not matter. */
struct seen {
    const char *profile, *config;
    const char *set_key[SETS_MAX + 8];
    const char *set_val[SETS_MAX + 8];
    char set_buf[SETS_MAX][128];
    size_t nset;
};

static const char usage_text[] =
    "  --listen HOST:PORT   gossip (UDP) and RPC (TCP) address: the member's identity\n"
    "  --seeds A,B,...      members to join through (retried until one answers)\n"
    "  --name NAME          node name (default: the listen address)\n"
    "  --http HOST:PORT     HTTP front, admin and /metrics\n"
    "  --config FILE        YAML configuration (docs/configuration.md)\n"
    "  --profile lan|local  swim timings the file and flags start from (default lan)\n"
    "  --log-level LEVEL    debug, info, warn, error\n"
    "  --label KEY=VALUE    a membership label (repeatable), e.g. zone=a\n"
    "  --services A,B       services to run (daemons that host several)\n"
    "  --replicas R         copies of each key, owner included (state.replicas)\n"
    "  --ack-replicas A     copies written before a write is answered (state.ack_replicas)\n"
    "  --gossip-key-file F  encrypt gossip with the key(s) in F (64 hex characters a line)\n"
    "  --set SECTION.KEY=V  any configuration key (repeatable)\n"
    "Order of precedence: flags > --config file > --profile > built-in defaults.\n";

const char *sr_node_args_usage(void)
{
    return usage_text;
}

static int add_set(struct seen *s, const char *key, const char *val, char *err, size_t errlen)
{
    if (s->nset >= SETS_MAX + 8) {
        snprintf(err, errlen, "too many configuration flags");
        return SR_EINVAL;
    }
    s->set_key[s->nset] = key;
    s->set_val[s->nset] = val;
    s->nset++;
    return 0;
}

/* --set a.b=c: split into the key buffer. */
static int add_set_kv(struct seen *s, size_t *nbuf, const char *kv, char *err, size_t errlen)
{
    const char *eq = strchr(kv, '=');
    if (!eq || eq == kv || (size_t)(eq - kv) >= sizeof(s->set_buf[0]) || *nbuf >= SETS_MAX) {
        snprintf(err, errlen, "--set wants SECTION.KEY=VALUE, got '%s'", kv);
        return SR_EINVAL;
    }
    char *k = s->set_buf[(*nbuf)++];
    memcpy(k, kv, (size_t)(eq - kv));
    k[eq - kv] = '\0';
    return add_set(s, k, eq + 1, err, errlen);
}

static int add_label(struct sr_node_args *a, const char *kv, char *err, size_t errlen)
{
    const char *eq = strchr(kv, '=');
    size_t klen = eq ? (size_t)(eq - kv) : 0;
    if (!eq || klen == 0 || klen >= SR_SWIM_LABEL_MAX || strlen(eq + 1) >= SR_SWIM_LABEL_MAX) {
        snprintf(err, errlen, "--label wants KEY=VALUE (each under %d bytes), got '%s'",
                 SR_SWIM_LABEL_MAX, kv);
        return SR_EINVAL;
    }
    if (a->nlabels >= SR_NODE_ARGS_LABELS_MAX) {
        snprintf(err, errlen, "at most %d labels", SR_NODE_ARGS_LABELS_MAX);
        return SR_EINVAL;
    }
    struct sr_swim_label *l = &a->labels[a->nlabels++];
    memcpy(l->key, kv, klen);
    l->key[klen] = '\0';
    snprintf(l->value, sizeof(l->value), "%s", eq + 1);
    return 0;
}

static int collect(struct seen *s, struct sr_node_args *a, int argc, char **argv, char *err,
                   size_t errlen)
{
    static const struct option opts[] = {
        {"listen", required_argument, NULL, 'l'}, {"seeds", required_argument, NULL, 's'},
        {"name", required_argument, NULL, 'n'},   {"http", required_argument, NULL, 'H'},
        {"config", required_argument, NULL, 'c'}, {"profile", required_argument, NULL, 'p'},
        {"log-level", required_argument, NULL, 'L'}, {"label", required_argument, NULL, 'b'},
        {"services", required_argument, NULL, 'S'}, {"set", required_argument, NULL, 'x'},
        {"replicas", required_argument, NULL, 'r'}, {"ack-replicas", required_argument, NULL, 'a'},
        {"gossip-key-file", required_argument, NULL, 'g'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0}};
    size_t nbuf = 0;
    int c, rc = 0;
    optind = 0; /* glibc: full re-initialisation, so a test may parse twice */
    opterr = 0;
    while (rc == 0 && (c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 'l': rc = add_set(s, "node.listen", optarg, err, errlen); break;
        case 's': rc = add_set(s, "node.seeds", optarg, err, errlen); break;
        case 'n': rc = add_set(s, "node.name", optarg, err, errlen); break;
        case 'H': rc = add_set(s, "node.http", optarg, err, errlen); break;
        case 'L': rc = add_set(s, "node.log.level", optarg, err, errlen); break;
        case 'c': s->config = optarg; break;
        case 'p': s->profile = optarg; break;
        case 'b': rc = add_label(a, optarg, err, errlen); break;
        case 'S': a->services = optarg; break;
        case 'r': rc = add_set(s, "state.replicas", optarg, err, errlen); break;
        case 'a': rc = add_set(s, "state.ack_replicas", optarg, err, errlen); break;
        case 'g': /* the flag wins over a gossip.key in the file */
            if ((rc = add_set(s, "gossip.key", "", err, errlen)) == 0)
                rc = add_set(s, "gossip.key_file", optarg, err, errlen);
            break;
        case 'x': rc = add_set_kv(s, &nbuf, optarg, err, errlen); break;
        case 'h': return 1;
        case ':':
            snprintf(err, errlen, "%s needs a value", argv[optind - 1]);
            return SR_EINVAL;
        default:
            snprintf(err, errlen, "unknown flag %s", argv[optind - 1]);
            return SR_EINVAL;
        }
    }
    if (rc == 0 && optind < argc) {
        snprintf(err, errlen, "unexpected argument '%s'", argv[optind]);
        return SR_EINVAL;
    }
    return rc;
}

int sr_node_args_parse(struct sr_node_config *cfg, struct sr_node_args *args, int argc,
                       char **argv, char *err, size_t errlen)
{
    struct seen s;
    memset(&s, 0, sizeof(s));
    memset(args, 0, sizeof(*args));
    int rc = collect(&s, args, argc, argv, err, errlen);
    if (rc == 1) {
        printf("usage: %s [flags]\n%s", argc > 0 ? argv[0] : "daemon", usage_text);
        return 1;
    }
    if (rc < 0)
        return rc;
    if (s.profile && sr_node_config_profile(cfg, s.profile) < 0) {
        snprintf(err, errlen, "--profile: unknown profile '%s' (lan, local)", s.profile);
        return SR_EINVAL;
    }
    if (s.config && (rc = sr_node_config_load_file(cfg, s.config, err, errlen)) < 0)
        return rc;
    for (size_t i = 0; i < s.nset; i++)
        if ((rc = sr_node_config_set(cfg, s.set_key[i], s.set_val[i], err, errlen)) < 0)
            return rc;
    return 0;
}
