/* The deterministic simulator (see include/swimring/sim.h). */
#include "swimring/sim.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "sim/heap.h"
#include "swimring/error.h"

struct sim_node {
    struct sr_sim *sim;
    struct sr_swim *core;
    int index;
    char addr[24];
    char name[16];
    uint32_t group;
    bool started, killed, paused, left, tick_missed, false_faulty;
    uint64_t rng;
    uint64_t timer_gen;
    uint32_t epoch;
    sr_time_us start_at;
    int *seeds;
    size_t nseeds;
};

struct sim_link {
    uint64_t key;        /* from << 32 | to, +1 so 0 means empty */
    double loss;
    bool blocked;
};

struct sr_sim {
    struct sr_sim_cfg cfg;
    sr_time_us now;
    uint64_t rng;
    struct sr_sim_heap heap;
    struct sim_node **nodes;  /* each node on its own: cores keep a pointer */
    size_t nnodes, capnodes;
    struct sim_link *links;
    size_t nlinks, caplinks;
    bool partitioned;
    uint64_t trace;
    struct sr_sim_stats stats;
    FILE *timeline;
    uint64_t sample_bytes, sample_packets;
    sr_sim_event_f hook;
    void *hook_ud;
    struct sr_buf sbuf;
};

/* ---- randomness ---- */

static uint64_t splitmix(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static double unit(uint64_t *state) { return (double)(splitmix(state) >> 11) * 0x1.0p-53; }

static void trace_mix(struct sr_sim *sim, uint64_t v)
{
    uint64_t st = sim->trace ^ v;
    sim->trace = splitmix(&st);
}

void sr_sim_cfg_default(struct sr_sim_cfg *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->seed = 1;
    sr_swim_cfg_default_lan(&cfg->swim);
    cfg->latency_min_us = 1000;
    cfg->latency_max_us = 5000;
    cfg->reorder_max_us = 10000;
    cfg->full_sync = true;
}

uint64_t sr_sim_seed_from_env(uint64_t dflt)
{
    const char *v = getenv("SWIMRING_SEED");
    if (v == NULL || *v == '\0')
        return dflt;
    char *end;
    unsigned long long s = strtoull(v, &end, 0);
    return *end == '\0' ? (uint64_t)s : dflt;
}

/* ---- lifecycle ---- */

struct sr_sim *sr_sim_new(const struct sr_sim_cfg *cfg, int *err)
{
    if (sr_swim_cfg_validate(&cfg->swim, NULL, 0) < 0 ||
        cfg->latency_max_us < cfg->latency_min_us) {
        if (err)
            *err = SR_EINVAL;
        return NULL;
    }
    struct sr_sim *sim = calloc(1, sizeof(*sim));
    if (sim == NULL) {
        if (err)
            *err = SR_ENOMEM;
        return NULL;
    }
    sim->cfg = *cfg;
    sim->rng = cfg->seed;
    sim->trace = 0x5157494d52494e47ULL ^ cfg->seed;
    sr_buf_create(&sim->sbuf, 0);
    return sim;
}

void sr_sim_delete(struct sr_sim *sim)
{
    if (sim == NULL)
        return;
    for (size_t i = 0; i < sim->nnodes; i++) {
        sr_swim_delete(sim->nodes[i]->core);
        free(sim->nodes[i]->seeds);
        free(sim->nodes[i]);
    }
    free(sim->nodes);
    free(sim->links);
    sr_sim_heap_free(&sim->heap);
    sr_buf_destroy(&sim->sbuf);
    free(sim);
}

static void push(struct sr_sim *sim, sr_time_us at, uint32_t kind, uint32_t a, uint32_t b,
                 uint8_t *data, uint32_t len, uint32_t epoch)
{
    struct sr_sim_ev ev = {.at = at, .kind = kind, .a = a, .b = b, .len = len,
                           .epoch = epoch, .data = data};
    if (sr_sim_heap_push(&sim->heap, &ev) < 0)
        free(data);
}

/* ---- addresses ---- */

int sr_sim_node_of(const struct sr_sim *sim, const char *addr)
{
    /* "10.B.C.D:7946" -> (B<<16 | C<<8 | D) - 1, parsed by hand: it is hot */
    if (addr[0] != '1' || addr[1] != '0' || addr[2] != '.')
        return -1;
    const char *p = addr + 3;
    uint32_t v = 0;
    for (int part = 0; part < 3; part++) {
        uint32_t x = 0;
        int digits = 0;
        while (*p >= '0' && *p <= '9' && digits < 4) {
            x = x * 10 + (uint32_t)(*p++ - '0');
            digits++;
        }
        if (digits == 0 || x > 255 || *p != (part < 2 ? '.' : ':'))
            return -1;
        p++;
        v = (v << 8) | x;
    }
    if (strcmp(p, "7946") != 0 || v == 0 || v > sim->nnodes)
        return -1;
    return (int)v - 1;
}

size_t sr_sim_nodes(const struct sr_sim *sim) { return sim->nnodes; }
const char *sr_sim_addr(const struct sr_sim *sim, int node) { return sim->nodes[node]->addr; }
struct sr_swim *sr_sim_core(struct sr_sim *sim, int node) { return sim->nodes[node]->core; }
sr_time_us sr_sim_now(const struct sr_sim *sim) { return sim->now; }
uint64_t sr_sim_trace_hash(const struct sr_sim *sim) { return sim->trace; }
const struct sr_sim_stats *sr_sim_stats(const struct sr_sim *sim) { return &sim->stats; }

bool sr_sim_is_live(const struct sr_sim *sim, int node)
{
    const struct sim_node *n = sim->nodes[node];
    return n->core != NULL && !n->paused;
}

/* ---- the network ---- */

static struct sim_link *link_find(const struct sr_sim *sim, uint32_t from, uint32_t to)
{
    if (sim->nlinks == 0)
        return NULL;
    uint64_t key = ((uint64_t)from << 32 | to) + 1;
    size_t mask = sim->caplinks - 1;
    for (size_t i = (size_t)splitmix(&(uint64_t){key}) & mask;; i = (i + 1) & mask) {
        if (sim->links[i].key == key)
            return &sim->links[i];
        if (sim->links[i].key == 0)
            return NULL;
    }
}

int sr_sim_set_link(struct sr_sim *sim, int from, int to, double loss, bool blocked)
{
    struct sim_link *l = link_find(sim, (uint32_t)from, (uint32_t)to);
    if (l == NULL) {
        if ((sim->nlinks + 1) * 2 > sim->caplinks) {
            size_t nc = sim->caplinks ? sim->caplinks * 2 : 64;
            struct sim_link *old = sim->links;
            size_t oldcap = sim->caplinks;
            sim->links = calloc(nc, sizeof(*sim->links));
            if (sim->links == NULL) {
                sim->links = old;
                return SR_ENOMEM;
            }
            sim->caplinks = nc;
            sim->nlinks = 0;
            for (size_t i = 0; i < oldcap; i++)
                if (old[i].key)
                    sr_sim_set_link(sim, (int)((old[i].key - 1) >> 32),
                                    (int)((old[i].key - 1) & 0xffffffffu), old[i].loss,
                                    old[i].blocked);
            free(old);
        }
        uint64_t key = ((uint64_t)(uint32_t)from << 32 | (uint32_t)to) + 1;
        size_t mask = sim->caplinks - 1;
        size_t i = (size_t)splitmix(&(uint64_t){key}) & mask;
        while (sim->links[i].key != 0)
            i = (i + 1) & mask;
        l = &sim->links[i];
        l->key = key;
        sim->nlinks++;
    }
    l->loss = loss;
    l->blocked = blocked;
    return 0;
}

void sr_sim_set_loss(struct sr_sim *sim, double loss) { sim->cfg.loss = loss; }
void sr_sim_set_dup(struct sr_sim *sim, double dup) { sim->cfg.dup = dup; }

void sr_sim_set_latency(struct sr_sim *sim, sr_time_us min_us, sr_time_us max_us)
{
    sim->cfg.latency_min_us = min_us;
    sim->cfg.latency_max_us = max_us < min_us ? min_us : max_us;
}

void sr_sim_set_group(struct sr_sim *sim, int node, uint32_t group)
{
    sim->nodes[node]->group = group;
    if (group != 0)
        sim->partitioned = true;
}

void sr_sim_heal(struct sr_sim *sim)
{
    for (size_t i = 0; i < sim->nnodes; i++)
        sim->nodes[i]->group = 0;
    sim->partitioned = false;
}

static bool reachable(const struct sr_sim *sim, uint32_t from, uint32_t to, double *loss)
{
    *loss = sim->cfg.loss;
    if (sim->partitioned && sim->nodes[from]->group != sim->nodes[to]->group)
        return false;
    const struct sim_link *l = link_find(sim, from, to);
    if (l != NULL) {
        if (l->blocked)
            return false;
        *loss = l->loss;
    }
    return true;
}

static sr_time_us latency(struct sr_sim *sim)
{
    sr_time_us span = sim->cfg.latency_max_us - sim->cfg.latency_min_us;
    sr_time_us d = sim->cfg.latency_min_us + (span ? splitmix(&sim->rng) % (span + 1) : 0);
    if (sim->cfg.reorder > 0 && unit(&sim->rng) < sim->cfg.reorder)
        d += splitmix(&sim->rng) % (sim->cfg.reorder_max_us + 1);
    return d;
}

static void net_send(struct sr_sim *sim, uint32_t from, uint32_t to, const void *data, size_t len)
{
    double loss;
    int copies = 1 + (sim->cfg.dup > 0 && unit(&sim->rng) < sim->cfg.dup);
    if (!reachable(sim, from, to, &loss)) {
        sim->stats.packets_dropped++;
        return;
    }
    for (int c = 0; c < copies; c++) {
        if (loss > 0 && unit(&sim->rng) < loss) {
            sim->stats.packets_dropped++;
            continue;
        }
        uint8_t *copy = malloc(len ? len : 1);
        if (copy == NULL)
            return;
        memcpy(copy, data, len);
        push(sim, sim->now + latency(sim), SR_SIM_EV_PACKET, from, to, copy, (uint32_t)len, 0);
    }
}

/* ---- the vtab each core gets ---- */

static sr_time_us vt_now(void *ctx) { return ((struct sim_node *)ctx)->sim->now; }
static uint64_t vt_random(void *ctx) { return splitmix(&((struct sim_node *)ctx)->rng); }

static void vt_send(void *ctx, const char *to, const void *data, size_t len)
{
    struct sim_node *n = ctx;
    struct sr_sim *sim = n->sim;
    sim->stats.packets_sent++;
    sim->stats.bytes_sent += len;
    sim->sample_packets++;
    sim->sample_bytes += len;
    int dst = sr_sim_node_of(sim, to);
    if (dst < 0) {
        sim->stats.packets_dropped++;
        return;
    }
    net_send(sim, (uint32_t)n->index, (uint32_t)dst, data, len);
}

static void vt_schedule(void *ctx, sr_time_us at)
{
    struct sim_node *n = ctx;
    struct sr_sim *sim = n->sim;
    push(sim, at < sim->now ? sim->now : at, SR_SIM_EV_TICK, (uint32_t)n->index, 0, NULL, 0,
         (uint32_t)++n->timer_gen);
}

static void vt_event(void *ctx, const struct sr_swim_event *ev)
{
    struct sim_node *n = ctx;
    struct sr_sim *sim = n->sim;
    if (ev->type == SR_SWIM_EV_FAULTY) {
        int subj = sr_sim_node_of(sim, ev->member->addr);
        if (subj >= 0 && sr_sim_is_live(sim, subj) && !sim->nodes[subj]->left) {
            sim->stats.false_faulty_events++;
            if (!sim->nodes[subj]->false_faulty) {
                sim->nodes[subj]->false_faulty = true;
                sim->stats.false_faulty_nodes++;
            }
        }
    }
    if (sim->hook)
        sim->hook(sim->hook_ud, n->index, ev);
}

/* Full sync: the initiator's state travels to the peer, which merges it and
 * answers with its own (encoded after the merge, like a TCP request/reply). */
static void vt_full_sync(void *ctx, const char *peer)
{
    struct sim_node *n = ctx;
    struct sr_sim *sim = n->sim;
    int dst = sr_sim_node_of(sim, peer);
    sim->stats.syncs_started++;
    if (dst < 0) {
        sim->stats.syncs_failed++;
        return;
    }
    sr_buf_reset(&sim->sbuf);
    if (sr_swim_encode_state(n->core, &sim->sbuf) < 0) {
        sim->stats.syncs_failed++;
        return;
    }
    uint8_t *copy = malloc(sim->sbuf.len);
    if (copy == NULL)
        return;
    memcpy(copy, sim->sbuf.data, sim->sbuf.len);
    push(sim, sim->now + latency(sim), SR_SIM_EV_SYNC_REQ, (uint32_t)n->index, (uint32_t)dst,
         copy, (uint32_t)sim->sbuf.len, sim->nodes[dst]->epoch);
}

static bool sync_leg_ok(struct sr_sim *sim, const struct sr_sim_ev *ev)
{
    double loss;
    const struct sim_node *to = sim->nodes[ev->b];
    return to->core != NULL && !to->paused && to->epoch == ev->epoch &&
           reachable(sim, ev->a, ev->b, &loss);
}

static void on_sync(struct sr_sim *sim, const struct sr_sim_ev *ev)
{
    if (!sync_leg_ok(sim, ev)) {
        sim->stats.syncs_failed++;
        return;
    }
    struct sim_node *to = sim->nodes[ev->b];
    trace_mix(sim, ev->at ^ ((uint64_t)ev->kind << 56) ^ ((uint64_t)ev->a << 32) ^ ev->b);
    sr_swim_merge_state(to->core, ev->data, ev->len);
    if (ev->kind == SR_SIM_EV_SYNC_RESP || to->core == NULL) {
        sim->stats.syncs_done++;
        return;
    }
    sr_buf_reset(&sim->sbuf);
    if (sr_swim_encode_state(to->core, &sim->sbuf) < 0)
        return;
    uint8_t *copy = malloc(sim->sbuf.len);
    if (copy == NULL)
        return;
    memcpy(copy, sim->sbuf.data, sim->sbuf.len);
    push(sim, sim->now + latency(sim), SR_SIM_EV_SYNC_RESP, ev->b, ev->a, copy,
         (uint32_t)sim->sbuf.len, sim->nodes[ev->a]->epoch);
}

/* ---- nodes ---- */

static const struct sr_swim_vtab node_vtab = {
    .now = vt_now, .random = vt_random, .send = vt_send, .schedule = vt_schedule,
    .event = vt_event, .full_sync = vt_full_sync,
};

static const struct sr_swim_vtab node_vtab_nosync = {
    .now = vt_now, .random = vt_random, .send = vt_send, .schedule = vt_schedule,
    .event = vt_event, .full_sync = NULL,
};

int sr_sim_add_node(struct sr_sim *sim, sr_time_us at, const int *seeds, size_t nseeds)
{
    if (sim->nnodes >= 0xfffffe)
        return SR_EFULL;
    if (sim->nnodes == sim->capnodes) {
        size_t nc = sim->capnodes ? sim->capnodes * 2 : 64;
        struct sim_node **p = realloc(sim->nodes, nc * sizeof(*p));
        if (p == NULL)
            return SR_ENOMEM;
        sim->nodes = p;
        sim->capnodes = nc;
    }
    int idx = (int)sim->nnodes;
    struct sim_node *n = calloc(1, sizeof(*n));
    if (n == NULL)
        return SR_ENOMEM;
    sim->nodes[idx] = n;
    n->sim = sim;
    n->index = idx;
    uint32_t v = (uint32_t)idx + 1;
    snprintf(n->addr, sizeof(n->addr), "10.%u.%u.%u:7946", v >> 16, (v >> 8) & 255, v & 255);
    snprintf(n->name, sizeof(n->name), "n%d", idx);
    n->rng = sim->cfg.seed ^ ((uint64_t)v * 0xd1342543de82ef95ULL);
    n->start_at = at < sim->now ? sim->now : at;
    if (nseeds > 0) {
        n->seeds = malloc(nseeds * sizeof(*n->seeds));
        if (n->seeds == NULL) {
            free(n);
            return SR_ENOMEM;
        }
        memcpy(n->seeds, seeds, nseeds * sizeof(*seeds));
        n->nseeds = nseeds;
    }
    sim->nnodes++;
    push(sim, n->start_at, SR_SIM_EV_START, (uint32_t)idx, 0, NULL, 0, 0);
    return idx;
}

static int boot(struct sr_sim *sim, int idx)
{
    struct sim_node *n = sim->nodes[idx];
    int err = 0;
    n->core = sr_swim_new(&sim->cfg.swim, n->addr, n->name,
                          sim->cfg.full_sync ? &node_vtab : &node_vtab_nosync, n, NULL, &err);
    if (n->core == NULL)
        return err;
    n->started = true;
    n->killed = n->paused = n->left = false;
    n->epoch++;
    sr_swim_start(n->core);
    const char *seeds[16];
    size_t ns = 0;
    for (size_t i = 0; i < n->nseeds && ns < 16; i++)
        if (n->seeds[i] >= 0 && (size_t)n->seeds[i] < sim->nnodes && n->seeds[i] != idx)
            seeds[ns++] = sim->nodes[n->seeds[i]]->addr;
    return sr_swim_join(n->core, seeds, ns);
}

void sr_sim_kill(struct sr_sim *sim, int node)
{
    struct sim_node *n = sim->nodes[node];
    sr_swim_delete(n->core);
    n->core = NULL;
    n->killed = true;
    n->timer_gen++;
}

int sr_sim_restart(struct sr_sim *sim, int node)
{
    struct sim_node *n = sim->nodes[node];
    if (n->core != NULL)
        sr_sim_kill(sim, node);
    n->timer_gen++;
    n->false_faulty = false;
    return boot(sim, node);
}

void sr_sim_pause(struct sr_sim *sim, int node, bool paused)
{
    struct sim_node *n = sim->nodes[node];
    bool was = n->paused;
    n->paused = paused;
    if (was && !paused && n->core != NULL && n->tick_missed) {
        n->tick_missed = false;
        sr_swim_tick(n->core);
    }
}

int sr_sim_leave(struct sr_sim *sim, int node)
{
    struct sim_node *n = sim->nodes[node];
    if (n->core == NULL)
        return SR_EINVAL;
    n->left = true;
    return sr_swim_leave(n->core);
}

void sr_sim_set_event_hook(struct sr_sim *sim, sr_sim_event_f fn, void *ud)
{
    sim->hook = fn;
    sim->hook_ud = ud;
}

/* ---- observation ---- */

static size_t live_count(const struct sr_sim *sim)
{
    size_t n = 0;
    for (size_t i = 0; i < sim->nnodes; i++)
        n += sr_sim_is_live(sim, (int)i) && !sim->nodes[i]->left;
    return n;
}

bool sr_sim_converged(const struct sr_sim *sim)
{
    size_t live = live_count(sim);
    bool first = true;
    uint64_t ck = 0;
    if (live == 0)
        return false;
    for (size_t i = 0; i < sim->nnodes; i++) {
        if (!sim->nodes[i]->started)
            return false; /* still to come: not one view yet */
        if (!sr_sim_is_live(sim, (int)i) || sim->nodes[i]->left)
            continue;
        const struct sr_swim *c = sim->nodes[i]->core;
        if (sr_swim_count(c, SR_SWIM_ALIVE) != live || sr_swim_count(c, SR_SWIM_SUSPECT) != 0)
            return false;
        if (!first && sr_swim_checksum(c) != ck)
            return false;
        ck = sr_swim_checksum(c);
        first = false;
    }
    return true;
}

bool sr_sim_all_see(const struct sr_sim *sim, int node, enum sr_swim_status st)
{
    const char *addr = sim->nodes[node]->addr;
    for (size_t i = 0; i < sim->nnodes; i++) {
        if ((int)i == node || !sr_sim_is_live(sim, (int)i))
            continue;
        struct sr_swim_member_info info;
        int rc = sr_swim_member(sim->nodes[i]->core, addr, &info);
        if (rc < 0) {
            if (st != SR_SWIM_FAULTY && st != SR_SWIM_LEFT)
                return false;
        } else if (info.status != st) {
            return false;
        }
    }
    return true;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void sample(struct sr_sim *sim)
{
    size_t live = live_count(sim), full = 0, distinct = 0, nck = 0;
    uint64_t susp = 0, faulty = 0;
    uint64_t *cks = malloc((sim->nnodes ? sim->nnodes : 1) * sizeof(*cks));
    if (cks == NULL)
        return;
    for (size_t i = 0; i < sim->nnodes; i++) {
        if (!sr_sim_is_live(sim, (int)i) || sim->nodes[i]->left)
            continue;
        const struct sr_swim *c = sim->nodes[i]->core;
        size_t s = sr_swim_count(c, SR_SWIM_SUSPECT);
        full += sr_swim_count(c, SR_SWIM_ALIVE) == live && s == 0;
        susp += s;
        faulty += sr_swim_count(c, SR_SWIM_FAULTY);
        cks[nck++] = sr_swim_checksum(c);
    }
    qsort(cks, nck, sizeof(*cks), cmp_u64);
    for (size_t i = 0; i < nck; i++)
        distinct += i == 0 || cks[i] != cks[i - 1];
    free(cks);
    fprintf(sim->timeline, "%.0f,%zu,%zu,%zu,%llu,%llu,%u,%llu,%llu\n",
            (double)sim->now / 1e6, live, full, distinct, (unsigned long long)susp,
            (unsigned long long)faulty, sim->stats.false_faulty_nodes,
            (unsigned long long)sim->sample_bytes, (unsigned long long)sim->sample_packets);
    sim->sample_bytes = sim->sample_packets = 0;
}

void sr_sim_set_timeline(struct sr_sim *sim, FILE *f)
{
    bool was = sim->timeline != NULL;
    sim->timeline = f;
    if (f == NULL)
        return;
    fprintf(f, "t_s,live,full_views,checksums,suspect_views,faulty_views,false_faulty,bytes,packets\n");
    sim->sample_bytes = sim->sample_packets = 0;
    if (!was)
        push(sim, (sim->now / SR_US_PER_S + 1) * SR_US_PER_S, SR_SIM_EV_SAMPLE, 0, 0, NULL, 0, 0);
}

/* ---- the run loop ---- */

static void on_packet(struct sr_sim *sim, const struct sr_sim_ev *ev)
{
    struct sim_node *to = sim->nodes[ev->b];
    if (to->core == NULL || to->paused) {
        sim->stats.packets_dropped++;
        return;
    }
    uint64_t crc = ev->len >= 8 ? ((uint64_t)ev->data[4] << 24 | (uint64_t)ev->data[5] << 16 |
                                   (uint64_t)ev->data[6] << 8 | ev->data[7]) : 0;
    trace_mix(sim, ev->at ^ ((uint64_t)ev->a << 40) ^ ((uint64_t)ev->b << 16) ^ (crc << 8) ^ ev->len);
    sim->stats.packets_delivered++;
    sr_swim_receive(to->core, sim->nodes[ev->a]->addr, ev->data, ev->len);
}

static void on_tick(struct sr_sim *sim, const struct sr_sim_ev *ev)
{
    struct sim_node *n = sim->nodes[ev->a];
    if (n->core == NULL || ev->epoch != (uint32_t)n->timer_gen)
        return;
    if (n->paused) {
        n->tick_missed = true;
        return;
    }
    trace_mix(sim, ev->at ^ ((uint64_t)ev->a << 32) ^ 0x71c);
    sr_swim_tick(n->core);
}

static void run_one(struct sr_sim *sim, struct sr_sim_ev *ev)
{
    sim->now = ev->at;
    sim->stats.events_run++;
    switch (ev->kind) {
    case SR_SIM_EV_START:
        if (!sim->nodes[ev->a]->started)
            boot(sim, (int)ev->a);
        break;
    case SR_SIM_EV_TICK: on_tick(sim, ev); break;
    case SR_SIM_EV_PACKET: on_packet(sim, ev); break;
    case SR_SIM_EV_SYNC_REQ:
    case SR_SIM_EV_SYNC_RESP: on_sync(sim, ev); break;
    case SR_SIM_EV_SAMPLE:
        if (sim->timeline) {
            sample(sim);
            push(sim, sim->now + SR_US_PER_S, SR_SIM_EV_SAMPLE, 0, 0, NULL, 0, 0);
        }
        break;
    default: break;
    }
    free(ev->data);
}

void sr_sim_run_until(struct sr_sim *sim, sr_time_us t)
{
    struct sr_sim_ev ev;
    while (sim->heap.n > 0 && sim->heap.v[0].at <= t) {
        sr_sim_heap_pop(&sim->heap, &ev);
        run_one(sim, &ev);
    }
    if (t > sim->now)
        sim->now = t;
}

void sr_sim_run_for(struct sr_sim *sim, sr_time_us d) { sr_sim_run_until(sim, sim->now + d); }
