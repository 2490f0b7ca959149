/*
 * detect_flood -- SYN, UDP and ICMP floods toward one target.
 *
 * Counting is two-stage so that ordinary packets cost an array increment: every
 * second of packet time, per-destination counters (a hashed array, reset each
 * tick) count SYNs, other TCP segments, UDP datagrams and ICMP echo requests
 * arriving at each address, and packets leaving it.  An address whose counter
 * reaches a quarter of a threshold becomes a candidate; at the tick each
 * candidate is judged on its own rates:
 *
 *  - SYN flood: SYNs >= `syn_rate` per second and at least `min_half_open` of
 *    them never followed by the client's ACKs (half-open ratio);
 *  - UDP flood: datagrams >= `udp_rate` per second while the target answers fewer
 *    than `max_answer_ratio` of them (reflection and amplification included);
 *  - ICMP flood: echo requests >= `icmp_rate` per second.
 *
 * A target under attack is tracked exactly (packets, bytes, peak rate, distinct
 * sources, the dominant source if one sends most) and reported as one event per
 * attack, revised as it goes on; the attack ends after `quiet` without a flood
 * second.  Hash collisions can only add counts to a candidate, never hide one.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bigmem.h"
#include "clock.h"
#include "detect.h"
#include "distinct.h"
#include "event.h"
#include "keymap.h"

#define FL_SECTION "detect.flood"
#define FL_SLOTS 4096          /* hashed counters per kind */
#define FL_CANDIDATES 64       /* candidates judged per tick */
#define FL_SRC_WORDS 16        /* 1024-bit distinct-source sketch */

enum fl_kind { FL_SYN = 0, FL_UDP, FL_ICMP, FL_KINDS };

struct fl_victim {
    uint64_t first_usec;             /* attack start */
    uint64_t last_usec;              /* latest flood second */
    uint64_t packets[FL_KINDS];      /* attack packets by kind */
    uint64_t bytes;                  /* their IP bytes */
    double peak_rate;                /* highest packets per second */
    uint32_t seconds;                /* flood seconds */
    uint64_t srcs[FL_SRC_WORDS];     /* distinct sources */
    struct addr major;               /* majority-vote source candidate */
    int64_t major_votes;             /* its vote count */
    uint64_t major_hits;             /* packets from it */
    uint16_t ports[8];               /* sample of target ports */
    uint8_t n_ports;                 /* entries in ports */
    uint64_t tracked;                /* packets counted exactly (after the first second) */
    uint64_t first_sources;          /* source changes in the first second (a lower bound) */
    double half_open;                /* latest half-open ratio (SYN) */
    double answered;                 /* latest answer ratio (UDP) */
    bool active;                     /* attack in progress */
    bool dirty;                      /* changed since the last report */
};

/* One address hash's counters of the packets that can start a flood (SYNs, UDP,
 * ICMP echo requests) arriving at it, in one cache line. */
struct fl_slot {
    uint32_t in[FL_KINDS];  /* per-second counts of packets in, by kind */
    uint32_t pad0[2];       /* zero */
    uint32_t port_changes;  /* packets in whose port differed from the one before */
    uint32_t src_changes;   /* packets in whose source differed from the one before */
    uint16_t last_port;     /* destination port of the latest packet in (kept) */
    uint16_t pad;           /* zero */
    uint64_t udp_bytes;     /* UDP payload bytes in, this second */
    uint64_t last_fold;     /* source of the latest packet in, folded to 64 bits (kept) */
    uint8_t pad2[16];       /* to a whole cache line */
};

_Static_assert(sizeof(struct fl_slot) == 64, "struct fl_slot: one cache line");

/*
 * The counters every IP packet bumps, by the same address hash, apart from the
 * slots: 32 KB that stay in the first-level cache, where the 256 KB of slots
 * would cost a miss on nearly every ACK.
 */
struct fl_io {
    uint32_t out;    /* packets sent, this second */
    uint32_t ack_in; /* TCP segments without SYN in, this second */
};

struct flood {
    struct fl_slot *slots;           /* FL_SLOTS counters by address hash (page-aligned) */
    struct fl_io io[FL_SLOTS];       /* per-packet counters by the same hash */
    struct addr last_src[FL_SLOTS];  /* source of the latest packet in */
    uint64_t watch[FL_SLOTS / 64];   /* hashes of targets under attack */
    struct addr cand[FL_CANDIDATES]; /* candidates this second */
    size_t n_cand;                   /* entries in cand */
    uint64_t bucket_start;           /* start of this second */
    struct keymap *victims;          /* addr -> fl_victim */
    double rate[FL_KINDS];           /* thresholds, packets per second */
    double min_half_open;            /* SYN: unanswered fraction */
    double max_answer_ratio;         /* UDP: answered fraction */
    uint64_t quiet_usec;             /* attack over after this */
};

static int fl_init(struct config *cfg, void **state)
{
    struct flood *fl = calloc(1, sizeof(*fl));
    uint64_t syn, udp, icmp, max;
    int rc;
    *state = fl;
    if (!fl)
        return -ENOMEM;
    if ((rc = config_get_u64(cfg, FL_SECTION, "syn_rate", 200, &syn)) < 0 ||
        (rc = config_get_u64(cfg, FL_SECTION, "udp_rate", 1000, &udp)) < 0 ||
        (rc = config_get_u64(cfg, FL_SECTION, "icmp_rate", 300, &icmp)) < 0 ||
        (rc = config_get_double(cfg, FL_SECTION, "min_half_open", 0.7, &fl->min_half_open)) < 0 ||
        (rc = config_get_double(cfg, FL_SECTION, "max_answer_ratio", 0.2,
                                &fl->max_answer_ratio)) < 0 ||
        (rc = config_get_duration(cfg, FL_SECTION, "quiet", 60 * USEC_PER_SEC,
                                  &fl->quiet_usec)) < 0 ||
        (rc = config_get_u64(cfg, FL_SECTION, "targets_max", 4096, &max)) < 0)
        return rc;
    if (!syn || !udp || !icmp)
        return config_fail(cfg, FL_SECTION, "syn_rate", "rates must be at least 1 per second");
    if (max < 1 || max > (1u << 20))
        return config_fail(cfg, FL_SECTION, "targets_max", "must be between 1 and 1048576");
    fl->rate[FL_SYN] = (double)syn;
    fl->rate[FL_UDP] = (double)udp;
    fl->rate[FL_ICMP] = (double)icmp;
    fl->victims = keymap_new_sparse(max, sizeof(struct addr), sizeof(struct fl_victim));
    fl->slots = bigmem_calloc(FL_SLOTS, sizeof(*fl->slots));
    return fl->victims && fl->slots ? 0 : -ENOMEM;
}

static void fl_fini(void *state)
{
    struct flood *fl = state;
    if (!fl)
        return;
    keymap_free(fl->victims);
    bigmem_free(fl->slots, FL_SLOTS, sizeof(*fl->slots));
    free(fl);
}

static size_t fl_memory(const void *state)
{
    const struct flood *fl = state;
    return sizeof(*fl) + keymap_memory(fl->victims) + FL_SLOTS * sizeof(*fl->slots);
}

static size_t slot_of(const struct addr *a)
{
    uint64_t w[2];
    memcpy(w, a->b, sizeof(w));
    return (size_t)(distinct_mix(w[0] ^ (w[1] * 0x9e3779b97f4a7c15ULL) ^ a->family) &
                    (FL_SLOTS - 1));
}

static void add_candidate(struct flood *fl, const struct addr *a)
{
    for (size_t i = 0; i < fl->n_cand; i++) {
        if (addr_eq(&fl->cand[i], a))
            return;
    }
    if (fl->n_cand < FL_CANDIDATES)
        fl->cand[fl->n_cand++] = *a;
}

/* Exact accounting for a target already under attack. */
static void track(struct flood *fl, struct detect_ctx *ctx, const struct pkt *p, enum fl_kind k)
{
    struct fl_victim *v = keymap_get(fl->victims, &p->dst, ctx->now_usec, false, NULL);
    if (!v || !v->active)
        return;
    v->packets[k]++;
    v->tracked++;
    v->bytes += p->ip_len;
    distinct_add(v->srcs, FL_SRC_WORDS, keymap_hash(&p->src, sizeof(p->src), 5));
    if (addr_eq(&v->major, &p->src)) {
        v->major_votes++;
        v->major_hits++;
    } else if (v->major_votes <= 0) {
        v->major = p->src;
        v->major_votes = 1;
        v->major_hits = 1;
    } else {
        v->major_votes--;
    }
    if (k != FL_ICMP && v->n_ports < 8) {
        bool seen = false;
        for (size_t i = 0; i < v->n_ports; i++)
            seen = seen || v->ports[i] == p->dport;
        if (!seen)
            v->ports[v->n_ports++] = p->dport;
    }
}

/* A packet that may open something: a SYN, a datagram, an echo request. */
static WARD_NOINLINE void count_opening(struct flood *fl, struct detect_ctx *ctx,
                                        const struct pkt *p)
{
    enum fl_kind k;
    if (p->layers & PKT_TCP) {
        k = FL_SYN;
    } else if (p->layers & PKT_UDP) {
        k = FL_UDP;
    } else if ((p->layers & PKT_ICMP) && p->icmp.type == 8) {
        k = FL_ICMP;
    } else if ((p->layers & PKT_ICMP6) && p->icmp.type == 128) {
        k = FL_ICMP;
    } else {
        return;
    }
    if (addr_is_multicast_or_broadcast(&p->dst))
        return;
    size_t s = slot_of(&p->dst);
    struct fl_slot *sl = &fl->slots[s];
    uint32_t n = ++sl->in[k];
    uint64_t w[2];
    memcpy(w, p->src.b, sizeof(w));
    uint64_t fold = w[0] ^ (w[1] * 0x9e3779b97f4a7c15ULL) ^ p->src.family;
    if (fold != sl->last_fold) {
        sl->src_changes++;
        sl->last_fold = fold;
        fl->last_src[s] = p->src;
    }
    if (k == FL_UDP)
        sl->udp_bytes += p->payload_len;
    if (k != FL_ICMP) {
        if (p->dport != sl->last_port)
            sl->port_changes++;
        sl->last_port = p->dport;
    }
    double trigger = detect_scaled(ctx, fl->rate[k]) / 4;
    if (n == (uint32_t)(trigger < 1 ? 1 : trigger))
        add_candidate(fl, &p->dst);
    if (fl->watch[s / 64] & (1ULL << (s % 64)))
        track(fl, ctx, p, k);
}

static void fl_packet(void *state, struct detect_ctx *ctx, const struct pkt *p, struct flow *f,
                      int dir)
{
    struct flood *fl = state;
    (void)f;
    (void)dir;
    if (!(p->layers & (PKT_IP4 | PKT_IP6)))
        return;
    fl->io[slot_of(&p->src)].out++;
    /* Most packets: a segment of a connection under way, an ACK into its destination. */
    if ((p->layers & PKT_TCP) && (p->tcp.flags & (TCP_SYN | TCP_ACK)) != TCP_SYN) {
        fl->io[slot_of(&p->dst)].ack_in++;
        return;
    }
    count_opening(fl, ctx, p);
}

/* Every IP packet counts toward its addresses' seconds. */
static uint64_t fl_wants(const void *state)
{
    (void)state;
    return PKT_IP4 | PKT_IP6;
}

static void report(struct flood *fl, struct detect_ctx *ctx, const struct addr *a,
                   struct fl_victim *v)
{
    static const char *const names[] = {"syn", "udp", "icmp"};
    struct event_report r;
    char dst[ADDR_STR_LEN], src[ADDR_STR_LEN];
    (void)fl;
    enum fl_kind main = FL_SYN;
    uint64_t total = 0;
    for (int k = 0; k < FL_KINDS; k++) {
        total += v->packets[k];
        if (v->packets[k] > v->packets[main])
            main = (enum fl_kind)k;
    }
    double sources = distinct_estimate(v->srcs, FL_SRC_WORDS);
    if (sources < (double)v->first_sources)
        sources = (double)v->first_sources;
    if (sources < 1 && v->major.family)
        sources = 1;
    bool single = v->tracked ? v->major_hits * 10 >= v->tracked * 8
                             : v->first_sources <= 1 && v->major.family;
    event_report_init(&r, WARD__EVENT_KIND__FLOOD, names[main], EVENT_KEY_DST);
    r.dst = *a;
    if (single)
        r.src = v->major;
    r.proto = main == FL_SYN ? 6 : main == FL_UDP ? 17 : (a->family == 6 ? 58 : 1);
    for (size_t i = 0; i < v->n_ports; i++)
        event_report_port(&r, v->ports[i]);
    event_report_target(&r, a);
    r.first_usec = v->first_usec;
    r.last_usec = v->last_usec;
    r.packets = total;
    r.bytes = v->bytes;
    r.count = total;
    addr_format(a, dst, sizeof(dst));
    addr_format(&v->major, src, sizeof(src));
    double secs = (double)(v->last_usec - v->first_usec) / 1e6;
    if (single)
        event_report_summary(&r, "%s flood against %s from %s: %llu packets in %.0f s, peak %.0f "
                                 "per second",
                             names[main], dst, src, (unsigned long long)total, secs, v->peak_rate);
    else
        event_report_summary(&r, "%s flood against %s from about %.0f sources: %llu packets in %.0f s, "
                                 "peak %.0f per second",
                             names[main], dst, sources, (unsigned long long)total, secs,
                             v->peak_rate);
    event_report_figure(&r, "packets", (double)total);
    event_report_figure(&r, "peak_pps", v->peak_rate);
    event_report_figure(&r, "flood_seconds", v->seconds);
    event_report_figure(&r, "distinct_sources", sources);
    event_report_figure(&r, "syn", (double)v->packets[FL_SYN]);
    event_report_figure(&r, "udp", (double)v->packets[FL_UDP]);
    event_report_figure(&r, "icmp", (double)v->packets[FL_ICMP]);
    if (v->packets[FL_SYN])
        event_report_figure(&r, "half_open_ratio", v->half_open);
    if (v->packets[FL_UDP])
        event_report_figure(&r, "answer_ratio", v->answered);
    r.severity = v->peak_rate >= 10000 ? 80 : 65;
    r.confidence = 85;
    detect_report(ctx, &r);
    v->dirty = false;
}

static void judge(struct flood *fl, struct detect_ctx *ctx, const struct addr *a, double secs)
{
    size_t s = slot_of(a);
    double rates[FL_KINDS];
    bool flood = false;
    double half_open = 0, answered = 0;
    const struct fl_slot *sl = &fl->slots[s];
    const struct fl_io *io = &fl->io[s];
    for (int k = 0; k < FL_KINDS; k++)
        rates[k] = sl->in[k] / secs;
    if (rates[FL_SYN] >= detect_scaled(ctx, fl->rate[FL_SYN])) {
        double syn = sl->in[FL_SYN];
        half_open = 1.0 - WARD_MIN(1.0, io->ack_in / (2.0 * syn));
        flood = flood || half_open >= fl->min_half_open;
    }
    if (rates[FL_UDP] >= detect_scaled(ctx, fl->rate[FL_UDP])) {
        answered = io->out / (double)sl->in[FL_UDP];
        flood = flood || answered <= fl->max_answer_ratio;
    }
    /*
     * One source walking through ports with empty probes is a scan
     * (detect_portscan), not a flood; a flood hammers a few ports, comes from many
     * sources, or fills its datagrams.
     */
    double tcp_udp = (double)sl->in[FL_SYN] + sl->in[FL_UDP];
    double udp_mean = sl->in[FL_UDP] ? (double)sl->udp_bytes / sl->in[FL_UDP] : 0;
    if (flood && tcp_udp > 0 && sl->src_changes < 0.1 * tcp_udp &&
        sl->port_changes > 0.5 * tcp_udp && udp_mean < 128)
        flood = false;
    if (rates[FL_ICMP] >= detect_scaled(ctx, fl->rate[FL_ICMP]))
        flood = true;
    if (!flood)
        return;
    bool created;
    struct fl_victim *v = keymap_get(fl->victims, a, ctx->now_usec, true, &created);
    if (!v->active) {
        /* A new attack (or the first): start counting afresh from this second. */
        memset(v, 0, sizeof(*v));
        v->active = true;
        v->first_usec = fl->bucket_start;
        for (int k = 0; k < FL_KINDS; k++)
            v->packets[k] = sl->in[k];
        v->first_sources = sl->src_changes;
        if (sl->src_changes <= 1) { /* one source so far: it is the latest one */
            v->major = fl->last_src[s];
            v->major_votes = 1;
        }
    }
    double total = rates[FL_SYN] + rates[FL_UDP] + rates[FL_ICMP];
    if (total > v->peak_rate)
        v->peak_rate = total;
    v->seconds++;
    v->last_usec = ctx->now_usec;
    if (rates[FL_SYN] > 0)
        v->half_open = half_open;
    if (rates[FL_UDP] > 0)
        v->answered = answered;
    v->dirty = true;
    fl->watch[s / 64] |= 1ULL << (s % 64);
}

static void fl_tick(void *state, struct detect_ctx *ctx, uint64_t now_usec)
{
    struct flood *fl = state;
    (void)now_usec;
    if (!fl->bucket_start)
        fl->bucket_start = ctx->now_usec;
    uint64_t span = ctx->now_usec > fl->bucket_start ? ctx->now_usec - fl->bucket_start : 0;
    double secs = span > USEC_PER_SEC ? (double)span / 1e6 : 1.0;
    for (size_t i = 0; i < fl->n_cand; i++)
        judge(fl, ctx, &fl->cand[i], secs);
    /* Report attacks that grew; end those quiet for long enough. */
    memset(fl->watch, 0, sizeof(fl->watch));
    for (size_t i = 0; i < keymap_slots(fl->victims) && keymap_count(fl->victims); i++) {
        const void *key;
        struct fl_victim *v = keymap_at(fl->victims, i, &key, NULL);
        if (!v || !v->active)
            continue;
        if (v->dirty)
            report(fl, ctx, key, v);
        if (ctx->now_usec > v->last_usec + fl->quiet_usec) {
            v->active = false;
            continue;
        }
        size_t s = slot_of(key);
        fl->watch[s / 64] |= 1ULL << (s % 64);
    }
    for (size_t i = 0; i < FL_SLOTS; i++) {
        struct fl_slot *sl = &fl->slots[i];
        memset(sl->in, 0, sizeof(sl->in));
        sl->port_changes = sl->src_changes = 0;
        sl->udp_bytes = 0;
    }
    memset(fl->io, 0, sizeof(fl->io));
    fl->n_cand = 0;
    fl->bucket_start = ctx->now_usec;
}

const struct detector detect_flood = {
    .name = "flood",
    .init = fl_init,
    .fini = fl_fini,
    .on_packet = fl_packet,
    .wants = fl_wants,
    .on_tick = fl_tick,
    .memory = fl_memory,
};
