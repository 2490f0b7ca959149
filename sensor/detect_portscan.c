/*
 * detect_portscan -- horizontal scans (one source, many hosts), vertical scans
 * (one source, many ports of one host) and ARP sweeps.
 *
 * Horizontal: Threshold Random Walk (Jung, Paxson, Berger, Balakrishnan, "Fast
 * Portscan Detection Using Sequential Hypothesis Testing", IEEE S&P 2004).  For
 * every source, the first contact with each destination is an experiment whose
 * outcome is success (SYN-ACK, a UDP answer, an echo reply, an ARP reply) or
 * failure (RST, ICMP unreachable, or silence for `pending_timeout`).  A benign
 * host succeeds with probability theta0, a scanner with theta1; the log likelihood
 * ratio walks up on failures and down on successes, and the source is a scanner
 * when it crosses ln(PD/PF) with at least `min_targets` failed destinations.  The
 * walk is clamped at the benign bound so a long history of good connections cannot
 * hide a scan that starts later.  ARP requests are first contacts of their own,
 * which finds the ARP sweeps that precede LAN scans and spoofing.
 *
 * Vertical: per (source, destination) pair, the distinct destination ports tried
 * (TCP SYN, first UDP datagram of a flow), and how many of those were answered.
 * `vertical_ports` distinct ports with at most `vertical_answered` of them
 * answered is a scan; passive FTP and RPC clients use many ports but are answered.
 *
 * State: a source table and a pair table, both fixed-size keymaps with LRU
 * eviction (counted).  Findings are reported at tick time from a short dirty
 * list, so a scan of a million ports is one event revised once a second at most.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "detect.h"
#include "distinct.h"
#include "event.h"
#include "keymap.h"

#define PS_SECTION "detect.portscan"
#define PS_DIRTY_MAX 256   /* sources remembered for the next report */
#define PS_PORT_WORDS 8    /* 512-bit distinct-port sketch per pair */
#define PS_SAMPLE 8        /* ports / targets sampled per source */

enum pair_state { PAIR_PENDING = 1, PAIR_OK, PAIR_FAIL };

struct pair_key {
    struct addr a;  /* source */
    struct addr b;  /* destination */
    uint8_t arp;    /* 1: ARP first contact, 0: IP */
    uint8_t pad[3]; /* zero */
};

/* What an answer reads (state, counts) comes first, next to the key; the port
 * sketch, read only by new attempts, last. */
struct scan_pair {
    uint64_t first_usec;             /* first attempt */
    uint64_t last_usec;              /* latest attempt */
    uint32_t ports;                  /* distinct ports tried (estimated from the sketch) */
    uint32_t attempts;               /* attempts (SYNs, new UDP flows, echo requests) */
    uint32_t answered;               /* attempts answered positively */
    uint16_t first_port;             /* port of the first contact */
    uint8_t state;                   /* enum pair_state of the first contact */
    uint8_t proto;                   /* IP protocol of the first contact, 0 for ARP */
    uint16_t sample[PS_SAMPLE];      /* first ports tried */
    uint8_t n_sample;                /* entries in sample */
    uint16_t portbits_set;           /* bits set in portbits */
    uint64_t portbits[PS_PORT_WORDS];/* sketch of destination ports tried */
};

/* What every resolved first contact reads and writes comes first, next to the
 * key, so that it touches two cache lines of the entry rather than three. */
struct scan_src {
    uint64_t first_usec;            /* first counted attempt */
    uint64_t last_usec;             /* latest counted attempt */
    double llr;                     /* TRW log likelihood ratio */
    uint32_t ok_targets;            /* first contacts that succeeded */
    uint32_t fail_targets;          /* first contacts that failed */
    uint32_t arp_fail;              /* of which ARP requests */
    uint32_t attempts;              /* attempts of any kind */
    uint8_t n_ports;                /* entries in ports */
    uint8_t protos;                 /* bit 0 tcp, 1 udp, 2 icmp, 3 arp */
    uint8_t n_targets;              /* entries in targets */
    bool horizontal;                /* TRW decided: scanner */
    bool vertical;                  /* vertical threshold crossed */
    bool dirty;                     /* changed since the last report */
    bool listed;                    /* in the dirty list */
    uint16_t ports[PS_SAMPLE];      /* sample of first-contact ports */
    uint32_t vert_ports;            /* largest per-destination port count */
    uint32_t vert_answered;         /* answered attempts on that destination */
    struct addr vert_dst;           /* that destination */
    struct addr targets[PS_SAMPLE]; /* sample of failed destinations */
};

struct portscan {
    struct keymap *srcs;          /* addr -> scan_src */
    struct keymap *pairs;         /* pair_key -> scan_pair */
    uint64_t *pending;            /* one bit per pair slot: may hold a PAIR_PENDING pair */
    double theta0;                /* P(success | benign) */
    double theta1;                /* P(success | scanner) */
    double upper;                 /* ln(PD / PF) */
    double lower;                 /* ln((1 - PD) / (1 - PF)) */
    double step_ok;               /* ln(theta1 / theta0) */
    double step_fail;             /* ln((1 - theta1) / (1 - theta0)) */
    uint64_t min_targets;         /* failed destinations before a horizontal alert */
    uint64_t vertical_ports;      /* distinct ports before a vertical alert */
    double vertical_answered;     /* largest answered fraction for a vertical alert */
    uint64_t pending_usec;        /* silence that counts as failure */
    uint64_t src_idle_usec;       /* source state forgotten after this */
    struct addr dirty[PS_DIRTY_MAX]; /* sources to report at the next tick */
    size_t n_dirty;               /* entries in dirty */
    bool dirty_overflow;          /* too many: scan the whole table */
};

static int ps_init(struct config *cfg, void **state)
{
    struct portscan *ps = calloc(1, sizeof(*ps));
    uint64_t srcs_max, pairs_max;
    double pd, pf;
    int rc;

    *state = ps;
    if (!ps)
        return -ENOMEM;
    if ((rc = config_get_double(cfg, PS_SECTION, "theta0", 0.8, &ps->theta0)) < 0 ||
        (rc = config_get_double(cfg, PS_SECTION, "theta1", 0.2, &ps->theta1)) < 0 ||
        (rc = config_get_double(cfg, PS_SECTION, "detection_prob", 0.99, &pd)) < 0 ||
        (rc = config_get_double(cfg, PS_SECTION, "false_positive_prob", 0.01, &pf)) < 0 ||
        (rc = config_get_u64(cfg, PS_SECTION, "min_targets", 10, &ps->min_targets)) < 0 ||
        (rc = config_get_u64(cfg, PS_SECTION, "vertical_ports", 20, &ps->vertical_ports)) < 0 ||
        (rc = config_get_double(cfg, PS_SECTION, "vertical_answered", 0.5,
                                &ps->vertical_answered)) < 0 ||
        (rc = config_get_duration(cfg, PS_SECTION, "pending_timeout", 5 * USEC_PER_SEC,
                                  &ps->pending_usec)) < 0 ||
        (rc = config_get_duration(cfg, PS_SECTION, "source_idle", 30 * 60 * USEC_PER_SEC,
                                  &ps->src_idle_usec)) < 0 ||
        (rc = config_get_u64(cfg, PS_SECTION, "sources_max", 16384, &srcs_max)) < 0 ||
        (rc = config_get_u64(cfg, PS_SECTION, "pairs_max", 32768, &pairs_max)) < 0)
        return rc;
    if (!(ps->theta1 > 0 && ps->theta1 < ps->theta0 && ps->theta0 < 1))
        return config_fail(cfg, PS_SECTION, "theta1", "need 0 < theta1 < theta0 < 1");
    if (!(pf > 0 && pf < pd && pd < 1))
        return config_fail(cfg, PS_SECTION, "false_positive_prob",
                           "need 0 < false_positive_prob < detection_prob < 1");
    if (ps->vertical_ports < 2)
        return config_fail(cfg, PS_SECTION, "vertical_ports", "must be at least 2");
    if (srcs_max < 1 || srcs_max > (1u << 24) || pairs_max < 1 || pairs_max > (1u << 24))
        return config_fail(cfg, PS_SECTION, "pairs_max", "tables hold 1 to 16M entries");
    ps->upper = log(pd / pf);
    ps->lower = log((1 - pd) / (1 - pf));
    ps->step_ok = log(ps->theta1 / ps->theta0);
    ps->step_fail = log((1 - ps->theta1) / (1 - ps->theta0));
    ps->srcs = keymap_new(srcs_max, sizeof(struct addr), sizeof(struct scan_src));
    ps->pairs = keymap_new(pairs_max, sizeof(struct pair_key), sizeof(struct scan_pair));
    if (!ps->srcs || !ps->pairs)
        return -ENOMEM;
    ps->pending = calloc((keymap_slots(ps->pairs) + 63) / 64, sizeof(*ps->pending));
    return ps->pending ? 0 : -ENOMEM;
}

static void ps_fini(void *state)
{
    struct portscan *ps = state;
    if (!ps)
        return;
    keymap_free(ps->srcs);
    keymap_free(ps->pairs);
    free(ps->pending);
    free(ps);
}

static size_t ps_memory(const void *state)
{
    const struct portscan *ps = state;
    return sizeof(*ps) + keymap_memory(ps->srcs) + keymap_memory(ps->pairs) +
           (keymap_slots(ps->pairs) + 63) / 64 * sizeof(*ps->pending);
}

static void mark_dirty(struct portscan *ps, const struct addr *a, struct scan_src *s)
{
    s->dirty = true;
    if (s->listed)
        return;
    if (ps->n_dirty < PS_DIRTY_MAX) {
        ps->dirty[ps->n_dirty++] = *a;
        s->listed = true;
    } else {
        ps->dirty_overflow = true;
    }
}

static uint8_t proto_bit(uint8_t proto)
{
    switch (proto) {
    case 6:
        return 1;
    case 17:
        return 2;
    case 1:
    case 58:
        return 4;
    default:
        return 8; /* ARP */
    }
}

static struct scan_src *src_get(struct portscan *ps, struct detect_ctx *ctx,
                                const struct addr *a)
{
    bool created;
    struct scan_src *s = keymap_get(ps->srcs, a, ctx->now_usec, true, &created);
    if (!created && s->last_usec && ctx->now_usec > s->last_usec + ps->src_idle_usec &&
        !s->dirty) {
        memset(s, 0, sizeof(*s));
        created = true;
    }
    if (created)
        s->first_usec = ctx->now_usec;
    return s;
}

static void check_horizontal(struct portscan *ps, struct detect_ctx *ctx, const struct addr *a,
                             struct scan_src *s)
{
    if (s->horizontal) {
        mark_dirty(ps, a, s);
        return;
    }
    double need = detect_scaled(ctx, (double)ps->min_targets);
    if (s->llr >= ps->upper && (double)s->fail_targets >= (need < 1 ? 1 : need)) {
        s->horizontal = true;
        mark_dirty(ps, a, s);
    }
}

/* The outcome of a first contact from a to the pair's destination. */
static void resolve(struct portscan *ps, struct detect_ctx *ctx, const struct pair_key *k,
                    struct scan_pair *pr, bool ok)
{
    pr->state = ok ? PAIR_OK : PAIR_FAIL;
    size_t slot = keymap_slot_of(ps->pairs, pr);
    ps->pending[slot / 64] &= ~(1ULL << (slot % 64));
    struct scan_src *s = src_get(ps, ctx, &k->a);
    if (ok) {
        s->ok_targets++;
        s->llr += ps->step_ok;
        if (s->llr < ps->lower)
            s->llr = ps->lower;
    } else {
        s->fail_targets++;
        if (k->arp)
            s->arp_fail++;
        s->llr += ps->step_fail;
        if (s->n_targets < PS_SAMPLE)
            s->targets[s->n_targets++] = k->b;
    }
    s->last_usec = ctx->now_usec;
    s->protos |= proto_bit(pr->proto);
    if (!k->arp && pr->first_port && s->n_ports < PS_SAMPLE) {
        bool seen = false;
        for (size_t i = 0; i < s->n_ports; i++)
            seen = seen || s->ports[i] == pr->first_port;
        if (!seen)
            s->ports[s->n_ports++] = pr->first_port;
    }
    if (!ok || s->horizontal)
        check_horizontal(ps, ctx, &k->a, s);
}

static void check_vertical(struct portscan *ps, struct detect_ctx *ctx, const struct pair_key *k,
                           const struct scan_pair *pr)
{
    double need = detect_scaled(ctx, (double)ps->vertical_ports);
    if ((double)pr->ports < (need < 2 ? 2 : need))
        return;
    if ((double)pr->answered > ps->vertical_answered * (double)pr->ports)
        return;
    struct scan_src *s = src_get(ps, ctx, &k->a);
    if (pr->ports >= s->vert_ports) {
        s->vert_ports = pr->ports;
        s->vert_answered = pr->answered;
        s->vert_dst = k->b;
        s->protos |= proto_bit(pr->proto);
        for (size_t i = 0; i < pr->n_sample && s->n_ports < PS_SAMPLE; i++) {
            bool seen = false;
            for (size_t j = 0; j < s->n_ports; j++)
                seen = seen || s->ports[j] == pr->sample[i];
            if (!seen)
                s->ports[s->n_ports++] = pr->sample[i];
        }
    }
    if (!s->first_usec || pr->first_usec < s->first_usec)
        s->first_usec = pr->first_usec;
    s->last_usec = ctx->now_usec;
    s->vertical = true;
    mark_dirty(ps, &k->a, s);
}

/* A first contact from a to b; f (may be NULL) remembers where its pair lives. */
static WARD_NOINLINE void attempt(struct portscan *ps, struct detect_ctx *ctx, struct flow *f,
                                  const struct addr *a, const struct addr *b, uint8_t proto,
                                  uint16_t port, bool arp)
{
    struct pair_key k;
    bool created;

    if (!a->family || !b->family || addr_is_multicast_or_broadcast(b) || addr_eq(a, b))
        return;
    memset(&k, 0, sizeof(k));
    k.a = *a;
    k.b = *b;
    k.arp = arp;
    struct scan_pair *pr = keymap_get(ps->pairs, &k, ctx->now_usec, true, &created);
    size_t slot = keymap_slot_of(ps->pairs, pr);
    if (f)
        f->ps_pair = (uint32_t)slot + 1;
    if (created) {
        ps->pending[slot / 64] |= 1ULL << (slot % 64);
        pr->first_usec = ctx->now_usec;
        pr->state = PAIR_PENDING;
        pr->proto = proto;
        pr->first_port = port;
    }
    pr->last_usec = ctx->now_usec;
    pr->attempts++;
    if (proto == 6 || proto == 17) {
        if (distinct_add(pr->portbits, PS_PORT_WORDS, distinct_mix(port))) {
            pr->portbits_set++;
            pr->ports = (uint32_t)(distinct_estimate_set(PS_PORT_WORDS, pr->portbits_set) + 0.5);
            if (pr->n_sample < PS_SAMPLE)
                pr->sample[pr->n_sample++] = port;
            if (pr->ports >= 2)
                check_vertical(ps, ctx, &k, pr);
        }
    }
}

/* b answered a (ok) or refused it (!ok); f is the flow of the answer, or NULL. */
static WARD_NOINLINE void answer(struct portscan *ps, struct detect_ctx *ctx, const struct flow *f,
                                 const struct addr *a, const struct addr *b, bool ok, bool arp)
{
    struct pair_key k;
    memset(&k, 0, sizeof(k));
    k.a = *a;
    k.b = *b;
    k.arp = arp;
    /* Mostly the pair the flow's first packet created: no hash, no probe. */
    struct scan_pair *pr = f && f->ps_pair ? keymap_peek_slot(ps->pairs, f->ps_pair - 1, &k) : NULL;
    if (!pr)
        pr = keymap_peek(ps->pairs, &k);
    if (!pr)
        return;
    if (ok)
        pr->answered++;
    if (pr->state == PAIR_PENDING)
        resolve(ps, ctx, &k, pr, ok);
}

static WARD_NOINLINE void on_arp(struct portscan *ps, struct detect_ctx *ctx, const struct pkt *p)
{
    const struct pkt_arp *arp = &p->arp;
    if (arp->spa.family != 4 || arp->tpa.family != 4)
        return;
    if (arp->op == 1) {
        /* Probes (sender 0.0.0.0) and announcements (sender == target) are not contacts. */
        if (addr_v4_host(&arp->spa) == 0 || addr_eq(&arp->spa, &arp->tpa))
            return;
        attempt(ps, ctx, NULL, &arp->spa, &arp->tpa, 0, 0, true);
    } else if (arp->op == 2) {
        /* A reply from tpa's owner answers the requester. */
        answer(ps, ctx, NULL, &arp->tpa, &arp->spa, true, true);
    }
}

static void ps_packet(void *state, struct detect_ctx *ctx, const struct pkt *p, struct flow *f,
                      int dir)
{
    struct portscan *ps = state;

    if (p->layers & PKT_TCP) {
        uint8_t fl = p->tcp.flags;
        if (!(fl & (TCP_SYN | TCP_RST))) {
            /* FIN, NULL and Xmas probes: neither SYN nor ACK, opening a flow. */
            if (!(fl & TCP_ACK) && f && dir == FLOW_ORIG && f->pkts[FLOW_ORIG] == 1 &&
                f->pkts[FLOW_RESP] == 0)
                attempt(ps, ctx, f, &p->src, &p->dst, 6, p->dport, false);
            return;
        }
        if ((fl & (TCP_SYN | TCP_ACK | TCP_RST)) == TCP_SYN)
            attempt(ps, ctx, f, &p->src, &p->dst, 6, p->dport, false);
        else if ((fl & (TCP_SYN | TCP_ACK)) == (TCP_SYN | TCP_ACK))
            answer(ps, ctx, f, &p->dst, &p->src, true, false);
        else if (fl & TCP_RST)
            answer(ps, ctx, f, &p->dst, &p->src, false, false);
        return;
    }
    if (p->layers & PKT_UDP) {
        if (!f)
            return;
        if (dir == FLOW_ORIG && f->pkts[FLOW_ORIG] == 1 && f->pkts[FLOW_RESP] == 0)
            attempt(ps, ctx, f, &p->src, &p->dst, 17, p->dport, false);
        else if (dir == FLOW_RESP && f->pkts[FLOW_RESP] == 1)
            answer(ps, ctx, f, &p->dst, &p->src, true, false);
        return;
    }
    if (p->layers & (PKT_ICMP | PKT_ICMP6)) {
        bool v6 = (p->layers & PKT_ICMP6) != 0;
        uint8_t t = p->icmp.type;
        if (t == (v6 ? 128 : 8))
            attempt(ps, ctx, f, &p->src, &p->dst, v6 ? 58 : 1, 0, false);
        else if (t == (v6 ? 129 : 0))
            answer(ps, ctx, f, &p->dst, &p->src, true, false);
        else if (t == (v6 ? 1 : 3) && (p->layers & PKT_ICMP_INNER) &&
                 addr_eq(&p->dst, &p->icmp.inner_src))
            answer(ps, ctx, NULL, &p->icmp.inner_src, &p->icmp.inner_dst, false, false);
        return;
    }
    if (p->layers & PKT_ARP)
        on_arp(ps, ctx, p);
}

/* First contacts and their answers: TCP handshakes, refusals and probes, each
 * direction's first datagram of a UDP flow, ICMP, ARP. */
static uint64_t ps_wants(const void *state)
{
    (void)state;
    return DETECT_WANT_TCP_CONTROL | DETECT_WANT_FIRST | PKT_ICMP | PKT_ICMP6 | PKT_ARP;
}

/* Out of ps_prefetch, which then needs no stack frame. */
static WARD_NOINLINE void prefetch_attempt(const struct portscan *ps, const struct pkt *p,
                                           int stage)
{
    struct pair_key k;
    memset(&k, 0, sizeof(k));
    k.a = p->src;
    k.b = p->dst;
    keymap_prefetch(ps->pairs, &k, stage);
}

static WARD_NOINLINE void prefetch_answer(const struct portscan *ps, const struct pkt *p,
                                          const struct flow *f, int stage, int src_stage)
{
    keymap_prefetch(ps->srcs, &p->dst, src_stage);
    if (stage == 1 && f && f->ps_pair)
        keymap_prefetch_slot(ps->pairs, f->ps_pair - 1);
}

/* Stage 1 of a datagram on a flow not answered yet: a first answer if from its responder. */
static WARD_NOINLINE void prefetch_udp_answer(const struct portscan *ps, const struct pkt *p,
                                              const struct flow *f, bool likely)
{
    if (addr_eq(&f->key.a, &p->src))
        return;
    /* Unless it looked like one at stage 0, its tags were not asked for then. */
    prefetch_answer(ps, p, f, 1, likely ? 1 : 0);
}

/*
 * The pair a first contact will look up, or the source an answer will resolve
 * (and the pair its flow remembers), a few packets ahead (struct detector).
 */
static void ps_prefetch(const void *state, const struct pkt *p, const struct flow *f, int stage)
{
    const struct portscan *ps = state;
    enum { NONE, ATTEMPT, ANSWER } what = NONE;
    if (p->layers & PKT_TCP) {
        uint8_t fl = p->tcp.flags;
        if ((fl & (TCP_SYN | TCP_ACK | TCP_RST)) == TCP_SYN)
            what = ATTEMPT;
        else if ((fl & (TCP_SYN | TCP_ACK)) == (TCP_SYN | TCP_ACK) || (fl & TCP_RST))
            what = ANSWER;
    } else if (p->layers & PKT_UDP) {
        /*
         * A first answer is known only at stage 1, once the flow is here; a
         * datagram from the lower port to the higher (a service answering a
         * client) is guessed one at stage 0 already, so that stage 1 can fetch
         * the record, not just the tags.
         */
        bool likely = p->sport < p->dport;
        if (!f)
            what = ATTEMPT;
        else if (stage == 0 && likely)
            what = ANSWER;
        else if (stage == 1 && f->pkts[FLOW_RESP] == 0)
            prefetch_udp_answer(ps, p, f, likely);
    } else if (p->layers & (PKT_ICMP | PKT_ICMP6)) {
        bool v6 = (p->layers & PKT_ICMP6) != 0;
        if (p->icmp.type == (v6 ? 128 : 8))
            what = ATTEMPT;
        else if (p->icmp.type == (v6 ? 129 : 0))
            what = ANSWER;
    }
    if (what == ATTEMPT)
        prefetch_attempt(ps, p, stage);
    else if (what == ANSWER)
        prefetch_answer(ps, p, f, stage, stage);
}

static const char *proto_names(uint8_t protos, char *out, size_t cap)
{
    static const char *const names[] = {"tcp", "udp", "icmp", "arp"};
    size_t n = 0;
    out[0] = '\0';
    for (unsigned i = 0; i < 4; i++) {
        if (protos & (1u << i)) {
            int w = snprintf(out + n, cap - n, "%s%s", n ? "+" : "", names[i]);
            if (w < 0 || (size_t)w >= cap - n)
                break;
            n += (size_t)w;
        }
    }
    return out;
}

static void report(struct portscan *ps, struct detect_ctx *ctx, const struct addr *a,
                   struct scan_src *s)
{
    struct event_report r;
    char src[ADDR_STR_LEN], dst[ADDR_STR_LEN], protos[24], ports[64];
    const char *subtype;
    size_t n = 0;

    (void)ps;
    if (s->horizontal && s->arp_fail * 2 > s->fail_targets)
        subtype = "arp_sweep";
    else if (s->horizontal)
        subtype = "horizontal";
    else
        subtype = "vertical";
    event_report_init(&r, WARD__EVENT_KIND__PORTSCAN, subtype, EVENT_KEY_SRC);
    r.src = *a;
    addr_format(a, src, sizeof(src));
    proto_names(s->protos, protos, sizeof(protos));
    r.proto = (s->protos & 1) ? 6 : (s->protos & 2) ? 17 : (s->protos & 4) ? 1 : 0;
    ports[0] = '\0';
    for (size_t i = 0; i < s->n_ports; i++) {
        event_report_port(&r, s->ports[i]);
        int w = snprintf(ports + n, sizeof(ports) - n, "%s%u", n ? "," : "", s->ports[i]);
        if (w > 0 && (size_t)w < sizeof(ports) - n)
            n += (size_t)w;
    }
    for (size_t i = 0; i < s->n_targets; i++)
        event_report_target(&r, &s->targets[i]);
    r.first_usec = s->first_usec;
    r.last_usec = s->last_usec;
    double secs = (double)(s->last_usec - s->first_usec) / 1e6;
    uint32_t targets = s->fail_targets + s->ok_targets;
    if (s->vertical && (!s->horizontal || s->vert_ports > s->fail_targets)) {
        r.dst = s->vert_dst;
        event_report_target(&r, &s->vert_dst);
        r.count = s->vert_ports;
        addr_format(&s->vert_dst, dst, sizeof(dst));
        event_report_summary(&r, "%s probed %u %s ports on %s in %.0f s (%u answered)%s%s", src,
                             s->vert_ports, protos, dst, secs, s->vert_answered,
                             n ? "; e.g. " : "", ports);
    } else {
        r.count = targets;
        event_report_summary(&r, "%s contacted %u hosts on %s%s%s in %.0f s, %u unanswered or "
                                 "refused (TRW log-likelihood ratio %.1f)",
                             src, targets, protos, n ? "/" : "", ports, secs, s->fail_targets,
                             s->llr);
    }
    event_report_figure(&r, "targets", targets);
    event_report_figure(&r, "failed_targets", s->fail_targets);
    event_report_figure(&r, "ok_targets", s->ok_targets);
    event_report_figure(&r, "trw_llr", s->llr);
    event_report_figure(&r, "vertical_ports", s->vert_ports);
    event_report_figure(&r, "vertical_answered", s->vert_answered);
    event_report_figure(&r, "seconds", secs);
    uint32_t big = s->fail_targets > s->vert_ports ? s->fail_targets : s->vert_ports;
    r.severity = big >= 500 ? 60 : big >= 100 ? 50 : 40;
    r.confidence = s->horizontal && s->vertical ? 95 : s->vertical ? 90 : 85;
    detect_report(ctx, &r);
}

/*
 * Silence past pending_timeout is a failure.  Only the slots whose bit is set can
 * hold a pending pair (set when a pair is created, cleared when it resolves; most
 * first contacts are answered within milliseconds), so the tick reads a bitmap,
 * not the whole pair table; slot order as before.
 */
static void expire_pending(struct portscan *ps, struct detect_ctx *ctx)
{
    size_t words = (keymap_slots(ps->pairs) + 63) / 64;
    for (size_t w = 0; w < words; w++) {
        for (uint64_t bits = ps->pending[w]; bits; bits &= bits - 1) {
            size_t i = w * 64 + (size_t)__builtin_ctzll(bits);
            const void *key;
            struct scan_pair *pr = keymap_at(ps->pairs, i, &key, NULL);
            if (!pr || pr->state != PAIR_PENDING) {
                ps->pending[w] &= ~(1ULL << (i % 64));
                continue;
            }
            uint64_t age = ctx->now_usec - pr->first_usec;
            if (ctx->now_usec < pr->first_usec)
                age = 0;
            /* At the end of input, contacts younger than a second had no fair chance. */
            if (age >= ps->pending_usec || (ctx->final && age >= USEC_PER_SEC))
                resolve(ps, ctx, key, pr, false); /* clears the bit */
        }
    }
}

static void ps_tick(void *state, struct detect_ctx *ctx, uint64_t now_usec)
{
    struct portscan *ps = state;
    (void)now_usec;
    expire_pending(ps, ctx);
    if (ps->dirty_overflow) {
        for (size_t i = 0; i < keymap_slots(ps->srcs); i++) {
            const void *key;
            struct scan_src *s = keymap_at(ps->srcs, i, &key, NULL);
            if (s && s->dirty) {
                report(ps, ctx, key, s);
                s->dirty = false;
                s->listed = false;
            }
        }
    } else {
        for (size_t i = 0; i < ps->n_dirty; i++) {
            struct scan_src *s = keymap_peek(ps->srcs, &ps->dirty[i]);
            if (s && s->dirty) {
                report(ps, ctx, &ps->dirty[i], s);
                s->dirty = false;
            }
            if (s)
                s->listed = false;
        }
    }
    ps->n_dirty = 0;
    ps->dirty_overflow = false;
}

const struct detector detect_portscan = {
    .name = "portscan",
    .init = ps_init,
    .fini = ps_fini,
    .on_packet = ps_packet,
    .wants = ps_wants,
    .on_tick = ps_tick,
    .memory = ps_memory,
    .prefetch = ps_prefetch,
    .prefetch_wants = DETECT_WANT_TCP_CONTROL | PKT_UDP | PKT_ICMP | PKT_ICMP6,
};
