/*
 * detect -- the detector registry and the engine that feeds it (detect.h).
 *
 * The table below is the list of detectors, in the order they see each packet
 * (Suricata's sigmatch_table).  The engine owns the detection context (home_net,
 * allowlist, heightened factor, packet clock) and the event table every detector
 * reports through; it ticks the detectors once a second of packet time even when
 * the capture loop forgets to.  Capture thread only.
 *
 * Most packets are the middle of a flow, which most detectors have nothing to do
 * with, so each packet's class (its layers and a few facts such as "first of its
 * flow direction") is computed once, and a detector is called only when the class
 * meets what it wants; what it wants is asked again only when it may have changed.
 */
#include "detect.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "event.h"
#include "log.h"

static const struct detector *const builtin[] = {
    &detect_portscan,   &detect_bruteforce, &detect_beacon,    &detect_dns_tunnel,
    &detect_exfil,      &detect_flood,      &detect_lateral,   &detect_arp_spoof,
    &detect_ioc,
};

#define DETECT_COUNT WARD_ARRAY_LEN(builtin)
_Static_assert(DETECT_COUNT <= DETECT_TABLE_MAX, "the built-in table fits an engine");
_Static_assert((DETECT_WANT_FLOW & 0xffffffffULL) == 0, "dispatch bits sit above pkt->layers");
#define DETECT_TICK_USEC USEC_PER_SEC

/*
 * A packet class is looked up a byte at a time: bytes 0-3 hold enum pkt_layer
 * bits, byte 4 the DETECT_WANT_* bits.
 */
#define DETECT_CLASS_BYTES 5
_Static_assert(DETECT_WANT_TCP_CONTROL < (1ULL << (8 * DETECT_CLASS_BYTES)),
               "every dispatch bit is in a looked-up byte");
_Static_assert(DETECT_TABLE_MAX <= 16, "a set of detectors fits a uint16_t");

#define DETECT_DEFAULT_HEIGHTENED_FACTOR 0.5
#define DETECT_DEFAULT_EVENTS_MAX 4096
#define DETECT_DEFAULT_EVENT_INTERVAL (60 * USEC_PER_SEC)
#define DETECT_DEFAULT_EVENT_IDLE (10 * 60 * USEC_PER_SEC)
#define DETECT_DEFAULT_EVENT_WINDOW (60 * 60 * USEC_PER_SEC)

struct detect_slot {
    const struct detector *d; /* the detector */
    void *state;              /* its state */
};

typedef void (*detect_packet_fn)(void *state, struct detect_ctx *ctx, const struct pkt *p,
                                 struct flow *f, int dir);

/*
 * The detectors with on_packet are entries 0..n_pkt-1 of the pkt_* arrays, in
 * table order (arrays, not structs, so that a call indexes them directly).
 * by_byte[k][v] is the set of them (bit i for entry i) wanting a bit of the value
 * v at byte k of a packet class; the detectors a class is passed to are the OR
 * over its bytes: five loads instead of a test per detector.
 */
struct detect_engine {
    struct detect_ctx ctx;                          /* what detectors read */
    struct cidr_set home;                           /* [detect] home_net or --home-net */
    struct cidr_set allow;                          /* [detect] allow */
    double heightened_factor;                       /* factor while heightened */
    bool heightened;                                /* heightened mode on */
    struct detect_slot slots[DETECT_TABLE_MAX];     /* enabled detectors */
    size_t n_slots;                                 /* entries in slots */
    detect_packet_fn pkt_fn[DETECT_TABLE_MAX];      /* their on_packet */
    void *pkt_state[DETECT_TABLE_MAX];              /* their state */
    const struct detector *pkt_d[DETECT_TABLE_MAX]; /* the detectors, to ask wants() */
    size_t n_pkt;                                   /* entries in the pkt_* arrays */
    uint16_t by_byte[DETECT_CLASS_BYTES][256];      /* class byte -> pkt_* entries wanting it */
    struct detect_slot end_slots[DETECT_TABLE_MAX]; /* those with on_flow_end */
    size_t n_end_slots;                             /* entries in end_slots */
    struct detect_slot pre_slots[DETECT_TABLE_MAX]; /* those with prefetch */
    uint64_t pre_wants[DETECT_TABLE_MAX];           /* their prefetch_wants (0 made all) */
    uint64_t pre_any;                               /* the OR of pre_wants */
    size_t n_pre_slots;                             /* entries in pre_slots */
    uint64_t last_tick_usec; /* packet time of the latest tick, 0 before any */
};

bool detect_is_home(const struct detect_ctx *ctx, const struct addr *a)
{
    if (!a->family)
        return false;
    if (ctx->home_net && ctx->home_net->count)
        return cidr_set_contains(ctx->home_net, a);
    return addr_is_private(a);
}

int detect_report(struct detect_ctx *ctx, const struct event_report *r)
{
    if (ctx->allow && ctx->allow->count && r->src.family &&
        cidr_set_contains(ctx->allow, &r->src)) {
        ctx->allowed++;
        return 0;
    }
    if (!ctx->events)
        return 0;
    return event_table_report(ctx->events, r, ctx->now_usec);
}

bool detect_is_reported(const struct detect_ctx *ctx, const struct event_report *r)
{
    return ctx->events && event_table_is_open(ctx->events, r);
}

double detect_scaled(const struct detect_ctx *ctx, double threshold)
{
    double f = ctx->factor > 0 ? ctx->factor : 1.0;
    return threshold * f;
}

static int read_cidrs(struct config *cfg, const char *key, const char *override,
                      struct cidr_set *out)
{
    const char *list = config_get_str(cfg, "detect", key, "");
    char bad[64] = "";
    if (override)
        list = override;
    int rc = cidr_set_add_list(out, list, bad, sizeof(bad));
    if (rc == -EINVAL) {
        if (override)
            config_fail(cfg, "detect", key, "--home-net: '%s' is not an address or CIDR", bad);
        else
            config_fail(cfg, "detect", key, "'%s' is not an address or CIDR", bad);
    }
    return rc;
}

static int read_engine_config(struct detect_engine *de, struct config *cfg,
                              const char *home_net_override, uint64_t *events_max,
                              uint64_t *interval, uint64_t *idle, uint64_t *window)
{
    int rc;
    if ((rc = read_cidrs(cfg, "home_net", home_net_override, &de->home)) < 0)
        return rc;
    if (home_net_override)
        (void)config_get_str(cfg, "detect", "home_net", ""); /* still a known key */
    if ((rc = read_cidrs(cfg, "allow", NULL, &de->allow)) < 0)
        return rc;
    if ((rc = config_get_bool(cfg, "detect", "heightened", false, &de->heightened)) < 0)
        return rc;
    if ((rc = config_get_double(cfg, "detect", "heightened_factor",
                                DETECT_DEFAULT_HEIGHTENED_FACTOR, &de->heightened_factor)) < 0)
        return rc;
    if (!(de->heightened_factor > 0 && de->heightened_factor <= 1.0))
        return config_fail(cfg, "detect", "heightened_factor", "must be > 0 and <= 1");
    if ((rc = config_get_u64(cfg, "detect", "events_max", DETECT_DEFAULT_EVENTS_MAX,
                             events_max)) < 0)
        return rc;
    if (*events_max < 1 || *events_max > (1u << 20))
        return config_fail(cfg, "detect", "events_max", "must be between 1 and 1048576");
    if ((rc = config_get_duration(cfg, "detect", "event_interval", DETECT_DEFAULT_EVENT_INTERVAL,
                                  interval)) < 0)
        return rc;
    if ((rc = config_get_duration(cfg, "detect", "event_idle", DETECT_DEFAULT_EVENT_IDLE,
                                  idle)) < 0)
        return rc;
    if ((rc = config_get_duration(cfg, "detect", "event_window", DETECT_DEFAULT_EVENT_WINDOW,
                                  window)) < 0)
        return rc;
    if (*idle == 0 || *window == 0)
        return config_fail(cfg, "detect", *idle == 0 ? "event_idle" : "event_window",
                           "must be longer than 0");
    return 0;
}

/* Asks every detector with on_packet which packets it wants now. */
static void refresh_wants(struct detect_engine *de)
{
    de->ctx.wants_changed = false;
    memset(de->by_byte, 0, sizeof(de->by_byte));
    for (size_t i = 0; i < de->n_pkt; i++) {
        const struct detector *d = de->pkt_d[i];
        uint64_t w = d->wants ? d->wants(de->pkt_state[i]) : DETECT_WANT_ALL;
        for (size_t k = 0; k < DETECT_CLASS_BYTES; k++) {
            unsigned byte = (unsigned)(w >> (8 * k)) & 0xff;
            for (unsigned v = 0; v < 256; v++) {
                if (v & byte)
                    de->by_byte[k][v] |= (uint16_t)(1u << i);
            }
        }
    }
}

struct detect_engine *detect_engine_new(struct config *cfg, const char *home_net_override,
                                        const struct sink *out, struct host_table *hosts)
{
    return detect_engine_new_table(cfg, home_net_override, out, hosts, builtin, DETECT_COUNT);
}

struct detect_engine *detect_engine_new_table(struct config *cfg, const char *home_net_override,
                                              const struct sink *out, struct host_table *hosts,
                                              const struct detector *const *table, size_t count)
{
    uint64_t events_max, interval, idle, window;
    WARD_ASSERT(count <= DETECT_TABLE_MAX);
    struct detect_engine *de = calloc(1, sizeof(*de));
    if (!de)
        return NULL;
    cidr_set_init(&de->home);
    cidr_set_init(&de->allow);
    if (read_engine_config(de, cfg, home_net_override, &events_max, &interval, &idle, &window) <
        0)
        goto fail;
    de->ctx.events = event_table_new(events_max, out, interval, idle, window);
    if (!de->ctx.events) {
        config_fail(cfg, "detect", "events_max", "out of memory");
        goto fail;
    }
    de->ctx.home_net = &de->home;
    de->ctx.allow = &de->allow;
    de->ctx.hosts = hosts;
    de->ctx.factor = de->heightened ? de->heightened_factor : 1.0;

    for (size_t i = 0; i < count; i++) {
        const struct detector *d = table[i];
        char section[64];
        bool enabled;
        snprintf(section, sizeof(section), "detect.%s", d->name);
        if (config_get_bool(cfg, section, "enabled", true, &enabled) < 0)
            goto fail;
        void *state = NULL;
        int rc = d->init(cfg, &state);
        if (rc < 0) {
            if (rc == -ENOMEM)
                config_fail(cfg, section, "enabled", "out of memory");
            if (d->fini)
                d->fini(state);
            goto fail;
        }
        if (!enabled) {
            /* Its keys were read (and checked); it just does not run. */
            if (d->fini)
                d->fini(state);
            continue;
        }
        de->slots[de->n_slots].d = d;
        de->slots[de->n_slots].state = state;
        de->n_slots++;
        if (d->on_packet) {
            de->pkt_fn[de->n_pkt] = d->on_packet;
            de->pkt_state[de->n_pkt] = state;
            de->pkt_d[de->n_pkt] = d;
            de->n_pkt++;
        }
        if (d->on_flow_end)
            de->end_slots[de->n_end_slots++] = de->slots[de->n_slots - 1];
        if (d->prefetch) {
            de->pre_wants[de->n_pre_slots] = d->prefetch_wants ? d->prefetch_wants
                                                                : DETECT_WANT_ALL;
            de->pre_any |= de->pre_wants[de->n_pre_slots];
            de->pre_slots[de->n_pre_slots++] = de->slots[de->n_slots - 1];
        }
    }
    refresh_wants(de);
    return de;
fail:
    detect_engine_free(de);
    return NULL;
}

void detect_engine_free(struct detect_engine *de)
{
    if (!de)
        return;
    for (size_t i = 0; i < de->n_slots; i++) {
        if (de->slots[i].d->fini)
            de->slots[i].d->fini(de->slots[i].state);
    }
    event_table_free(de->ctx.events);
    cidr_set_fini(&de->home);
    cidr_set_fini(&de->allow);
    free(de);
}

static void run_tick(struct detect_engine *de)
{
    for (size_t i = 0; i < de->n_slots; i++) {
        if (de->slots[i].d->on_tick)
            de->slots[i].d->on_tick(de->slots[i].state, &de->ctx, de->ctx.now_usec);
    }
    event_table_tick(de->ctx.events, de->ctx.now_usec);
    de->last_tick_usec = de->ctx.now_usec;
    if (de->ctx.wants_changed)
        refresh_wants(de);
}

static void advance(struct detect_engine *de, uint64_t now_usec)
{
    /* Packet time may step back (merged captures); the clock never does. */
    if (now_usec > de->ctx.now_usec)
        de->ctx.now_usec = now_usec;
    if (!de->last_tick_usec)
        de->last_tick_usec = de->ctx.now_usec;
}

/* The class bits a packet has by itself (its flow aside). */
static inline uint64_t packet_bits(const struct pkt *p)
{
    uint64_t c = p->layers;
    if (p->payload_len)
        c |= DETECT_WANT_PAYLOAD;
    if (p->layers & PKT_TCP) {
        uint8_t fl = p->tcp.flags;
        if ((fl & (TCP_SYN | TCP_FIN | TCP_RST)) || !(fl & TCP_ACK))
            c |= DETECT_WANT_TCP_CONTROL;
    }
    return c;
}

void detect_engine_packet(struct detect_engine *de, const struct pkt *p, struct flow *f, int dir)
{
    advance(de, p->ts_usec);
    uint64_t c = packet_bits(p);
    if (f) {
        c |= DETECT_WANT_FLOW | (dir == FLOW_ORIG ? DETECT_WANT_ORIG : DETECT_WANT_RESP);
        if (f->pkts[dir] == 1)
            c |= DETECT_WANT_FIRST;
    } else {
        c |= DETECT_WANT_NO_FLOW;
    }
    unsigned long calls = (unsigned long)de->by_byte[0][c & 0xff] |
                          de->by_byte[1][(c >> 8) & 0xff] | de->by_byte[2][(c >> 16) & 0xff] |
                          de->by_byte[3][(c >> 24) & 0xff] | de->by_byte[4][(c >> 32) & 0xff];
    while (calls) {
        /* In table order: the lowest bit first. */
        unsigned long i = (unsigned long)__builtin_ctzl(calls);
        calls &= calls - 1;
        de->pkt_fn[i](de->pkt_state[i], &de->ctx, p, f, dir);
    }
    if (de->ctx.wants_changed)
        refresh_wants(de);
    if (de->ctx.now_usec >= de->last_tick_usec + DETECT_TICK_USEC)
        run_tick(de);
}

/* Out of line, so that a packet no hook wants costs no call frame. */
static WARD_NOINLINE void prefetch_some(const struct detect_engine *de, const struct pkt *p,
                                        const struct flow *f, int stage, uint64_t c)
{
    for (size_t i = 0; i < de->n_pre_slots; i++) {
        if (de->pre_wants[i] & c)
            de->pre_slots[i].d->prefetch(de->pre_slots[i].state, p, f, stage);
    }
}

void detect_engine_prefetch(const struct detect_engine *de, const struct pkt *p,
                            const struct flow *f, int stage)
{
    uint64_t c = packet_bits(p);
    if (!(de->pre_any & c))
        return;
    if (de->n_pre_slots == 1) /* the usual case: a jump, no frame */
        de->pre_slots[0].d->prefetch(de->pre_slots[0].state, p, f, stage);
    else
        prefetch_some(de, p, f, stage, c);
}

void detect_engine_flow_end(struct detect_engine *de, const struct flow *f)
{
    advance(de, f->last_usec);
    for (size_t i = 0; i < de->n_end_slots; i++)
        de->end_slots[i].d->on_flow_end(de->end_slots[i].state, &de->ctx, f);
    if (de->ctx.wants_changed)
        refresh_wants(de);
}

void detect_engine_tick(struct detect_engine *de, uint64_t now_usec)
{
    advance(de, now_usec);
    if (de->ctx.now_usec >= de->last_tick_usec + DETECT_TICK_USEC)
        run_tick(de);
}

void detect_engine_flush(struct detect_engine *de, uint64_t now_usec)
{
    advance(de, now_usec);
    de->ctx.final = true;
    run_tick(de);
    de->ctx.final = false;
    event_table_flush(de->ctx.events, de->ctx.now_usec);
}

void detect_engine_set_heightened(struct detect_engine *de, bool on, double factor)
{
    if (factor > 0 && factor <= 1.0)
        de->heightened_factor = factor;
    de->heightened = on;
    de->ctx.factor = on ? de->heightened_factor : 1.0;
    log_info("detect: heightened mode %s (factor %.2f)", on ? "on" : "off", de->ctx.factor);
}

double detect_engine_factor(const struct detect_engine *de)
{
    return de->ctx.factor;
}

/* The enabled detector that takes pushed indicators, or NULL. */
static const struct detect_slot *intel_slot(const struct detect_engine *de)
{
    for (size_t i = 0; i < de->n_slots; i++) {
        if (de->slots[i].d->intel)
            return &de->slots[i];
    }
    return NULL;
}

int detect_engine_intel_open(struct detect_engine *de, const char *dir)
{
    const struct detect_slot *sl = intel_slot(de);
    if (!sl || !sl->d->intel_open)
        return 0;
    int rc = sl->d->intel_open(sl->state, dir);
    refresh_wants(de);
    return rc;
}

int detect_engine_intel(struct detect_engine *de, const struct detect_intel *u, char *detail,
                        size_t cap)
{
    const struct detect_slot *sl = intel_slot(de);
    if (!sl) {
        snprintf(detail, cap, "refused: the ioc detector is disabled on this sensor "
                              "([detect.ioc] enabled = false)");
        return -ENOTSUP;
    }
    int rc = sl->d->intel(sl->state, u, detail, cap);
    refresh_wants(de);
    return rc;
}

void detect_engine_intel_stats(const struct detect_engine *de, struct detect_intel_stats *out)
{
    const struct detect_slot *sl = intel_slot(de);
    memset(out, 0, sizeof(*out));
    if (sl && sl->d->intel_stats)
        sl->d->intel_stats(sl->state, out);
}

size_t detect_engine_memory(const struct detect_engine *de)
{
    size_t n = sizeof(*de) + event_table_memory(de->ctx.events);
    for (size_t i = 0; i < de->n_slots; i++) {
        if (de->slots[i].d->memory)
            n += de->slots[i].d->memory(de->slots[i].state);
    }
    return n;
}

int detect_engine_reload(struct detect_engine *de)
{
    int first = 0;
    for (size_t i = 0; i < de->n_slots; i++) {
        if (!de->slots[i].d->reload)
            continue;
        int rc = de->slots[i].d->reload(de->slots[i].state);
        if (rc < 0 && first == 0)
            first = rc;
    }
    refresh_wants(de);
    return first;
}

uint64_t detect_engine_allowed(const struct detect_engine *de)
{
    return de->ctx.allowed;
}

uint64_t detect_engine_evictions(const struct detect_engine *de)
{
    uint64_t n = 0;
    for (size_t i = 0; i < de->n_slots; i++) {
        if (de->slots[i].d->evictions)
            n += de->slots[i].d->evictions(de->slots[i].state);
    }
    return n;
}
