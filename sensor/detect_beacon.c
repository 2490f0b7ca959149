/*
 * detect_beacon -- periodic callbacks from one host to one service (command and
 * control check-ins).
 *
 * For each (client, server, server port, protocol) the detector records when the
 * client starts a burst of traffic: a packet from the client after at least
 * `burst_gap` of silence on that flow, or a new flow at least `burst_gap` after the
 * previous burst.  A check-in over a fresh connection (HTTP beacons) and one
 * inside a long-lived UDP or TCP flow (QUIC, keep-alive) look the same.  The gaps
 * between burst starts are then tested:
 *
 *  - periodic: at least `min_bursts` bursts over at least `min_span`, median
 *    absolute deviation of the gaps within `max_mad_ratio` of the median (±20%
 *    uniform jitter gives about 0.1); with fewer than 12 gaps, which can look
 *    regular by chance, every gap must also lie in the ±20% band (longest over
 *    shortest at most 1.5);
 *  - jittered: three times as many bursts, MAD within `max_jitter_mad_ratio`,
 *    Bowley skew within `max_skew`, and client bytes per connection nearly
 *    constant (MAD within `max_size_mad_ratio`), as an implant with large random
 *    sleep jitter still sends the same request each time;
 *  - and for both, coverage: (gaps x median) / span at least `min_coverage`, so
 *    a burst of activity followed by silence (browsing) is not periodic.
 *
 * Infrastructure chatter (DNS, NTP, DHCP, NetBIOS, SNMP, syslog, SSDP, mDNS,
 * LLMNR, WS-Discovery) is ignored by port (`ignore_ports`), and a source that
 * polls `poller_min` or more servers on one port at the same period is a
 * monitoring poller, not a beacon.  State: fixed-size keymaps with LRU eviction.
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

#define BC_SECTION "detect.beacon"
#define BC_RING 64       /* burst starts kept per pair */
#define BC_SIZES 32      /* connection sizes kept per pair */
#define BC_MAX_PORTS 32  /* ignored ports */
#define BC_DEFAULT_IGNORE "53,67,68,123,137,138,161,162,514,1900,3702,5353,5355"
#define BC_LAST 0        /* flow->det[] slot: last client packet time on this flow */
#define BC_FEW_GAPS 12   /* fewer gaps than this are judged by their range too */
#define BC_SEEN_WORDS (1u << 14) /* 1M-bit filter of pairs seen once */

struct bc_key {
    struct addr client; /* who calls */
    struct addr server; /* whom */
    uint16_t port;      /* server port */
    uint8_t proto;      /* 6 or 17 */
    uint8_t pad;        /* zero */
};

struct bc_pair {
    uint64_t starts[BC_RING];  /* burst start times, ring */
    uint32_t n_starts;         /* bursts seen in all */
    uint32_t sizes[BC_SIZES];  /* client payload bytes per ended flow, ring */
    uint32_t n_sizes;          /* flows ended in all */
    uint64_t last_start;       /* latest burst start */
    uint64_t periodic_since;   /* when the gaps first looked periodic, 0 if not */
    uint64_t bytes;            /* client payload bytes of ended flows */
    bool reported;             /* an event is out */
};

struct bc_poll_key {
    struct addr client; /* polling source */
    uint16_t port;      /* polled port */
    int16_t bucket;     /* period bucket, half octaves of seconds */
};

struct bc_poll {
    uint64_t dsts[2]; /* sketch of servers seen periodic at this period */
};

struct beacon {
    struct keymap *pairs;             /* bc_key -> bc_pair */
    struct keymap *polls;             /* bc_poll_key -> bc_poll */
    uint16_t ignore[BC_MAX_PORTS];    /* ignored server ports */
    size_t n_ignore;                  /* entries in ignore */
    uint64_t gap_usec;                /* silence that starts a new burst */
    uint64_t min_bursts;              /* bursts before judging */
    uint64_t min_span_usec;           /* span before judging */
    double max_mad;                   /* MAD/median for periodic */
    double max_jitter_mad;            /* MAD/median for jittered */
    double max_skew;                  /* |Bowley skew| for jittered */
    double max_size_mad;              /* size MAD/median for jittered */
    double min_coverage;              /* gaps x median / span */
    uint64_t poller_min;              /* periodic servers that make a poller */
    uint64_t *seen;                   /* bit per pair hash: seen a burst before */
};

struct bc_stats {
    unsigned n;         /* bursts used */
    double median;      /* median gap, s */
    double mad;         /* median absolute deviation of the gaps, s */
    double skew;        /* Bowley skew of the gaps */
    double span;        /* first to last burst, s */
    double coverage;    /* (n - 1) x median / span */
    double min_gap;     /* shortest gap, s */
    double max_gap;     /* longest gap, s */
    double size_median; /* median client bytes per connection */
    double size_mad;    /* their MAD */
    unsigned n_sizes;   /* sizes used */
    bool jittered;      /* passed as jittered rather than periodic */
};

static int bc_init(struct config *cfg, void **state)
{
    struct beacon *bc = calloc(1, sizeof(*bc));
    uint64_t pairs_max;
    int rc;
    *state = bc;
    if (!bc)
        return -ENOMEM;
    if ((rc = config_get_ports(cfg, BC_SECTION, "ignore_ports", BC_DEFAULT_IGNORE, bc->ignore,
                               BC_MAX_PORTS, &bc->n_ignore)) < 0 ||
        (rc = config_get_duration(cfg, BC_SECTION, "burst_gap", USEC_PER_SEC, &bc->gap_usec)) <
            0 ||
        (rc = config_get_u64(cfg, BC_SECTION, "min_bursts", 6, &bc->min_bursts)) < 0 ||
        (rc = config_get_duration(cfg, BC_SECTION, "min_span", 120 * USEC_PER_SEC,
                                  &bc->min_span_usec)) < 0 ||
        (rc = config_get_double(cfg, BC_SECTION, "max_mad_ratio", 0.2, &bc->max_mad)) < 0 ||
        (rc = config_get_double(cfg, BC_SECTION, "max_jitter_mad_ratio", 0.45,
                                &bc->max_jitter_mad)) < 0 ||
        (rc = config_get_double(cfg, BC_SECTION, "max_skew", 0.5, &bc->max_skew)) < 0 ||
        (rc = config_get_double(cfg, BC_SECTION, "max_size_mad_ratio", 0.2,
                                &bc->max_size_mad)) < 0 ||
        (rc = config_get_double(cfg, BC_SECTION, "min_coverage", 0.5, &bc->min_coverage)) < 0 ||
        (rc = config_get_u64(cfg, BC_SECTION, "poller_min", 3, &bc->poller_min)) < 0 ||
        (rc = config_get_u64(cfg, BC_SECTION, "pairs_max", 8192, &pairs_max)) < 0)
        return rc;
    if (bc->min_bursts < 4 || bc->min_bursts * 3 > BC_RING)
        return config_fail(cfg, BC_SECTION, "min_bursts", "must be between 4 and %d",
                           BC_RING / 3);
    if (bc->gap_usec == 0)
        return config_fail(cfg, BC_SECTION, "burst_gap", "must be longer than 0");
    if (pairs_max < 1 || pairs_max > (1u << 22))
        return config_fail(cfg, BC_SECTION, "pairs_max", "must be between 1 and 4194304");
    bc->pairs = keymap_new(pairs_max, sizeof(struct bc_key), sizeof(struct bc_pair));
    bc->polls = keymap_new(pairs_max / 4 + 8, sizeof(struct bc_poll_key), sizeof(struct bc_poll));
    bc->seen = calloc(BC_SEEN_WORDS, sizeof(uint64_t));
    return bc->pairs && bc->polls && bc->seen ? 0 : -ENOMEM;
}

static void bc_fini(void *state)
{
    struct beacon *bc = state;
    if (!bc)
        return;
    keymap_free(bc->pairs);
    keymap_free(bc->polls);
    free(bc->seen);
    free(bc);
}

static size_t bc_memory(const void *state)
{
    const struct beacon *bc = state;
    return sizeof(*bc) + keymap_memory(bc->pairs) + keymap_memory(bc->polls) +
           BC_SEEN_WORDS * sizeof(uint64_t);
}

static bool ignored(const struct beacon *bc, uint16_t port)
{
    for (size_t i = 0; i < bc->n_ignore; i++) {
        if (bc->ignore[i] == port)
            return true;
    }
    return false;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Quantile q of sorted v[0..n) by linear interpolation. */
static double quantile(const double *v, unsigned n, double q)
{
    double pos = q * (double)(n - 1);
    unsigned i = (unsigned)pos;
    double frac = pos - (double)i;
    return i + 1 < n ? v[i] * (1 - frac) + v[i + 1] * frac : v[n - 1];
}

static double median_abs_dev(const double *sorted, unsigned n, double med, double *scratch)
{
    for (unsigned i = 0; i < n; i++)
        scratch[i] = fabs(sorted[i] - med);
    qsort(scratch, n, sizeof(double), cmp_double);
    return quantile(scratch, n, 0.5);
}

static void compute(const struct bc_pair *bp, struct bc_stats *st)
{
    double gaps[BC_RING], scratch[BC_RING];
    unsigned n = bp->n_starts < BC_RING ? bp->n_starts : BC_RING;
    uint32_t first = bp->n_starts - n; /* oldest kept burst */
    memset(st, 0, sizeof(*st));
    st->n = n;
    if (n < 2)
        return; /* no gap yet: nothing to measure */
    for (unsigned i = 1; i < n; i++) {
        uint64_t a = bp->starts[(first + i - 1) % BC_RING];
        uint64_t b = bp->starts[(first + i) % BC_RING];
        gaps[i - 1] = b > a ? (double)(b - a) / 1e6 : 0;
    }
    unsigned ng = n - 1;
    st->span = (double)(bp->starts[(first + n - 1) % BC_RING] - bp->starts[first % BC_RING]) / 1e6;
    qsort(gaps, ng, sizeof(double), cmp_double);
    st->min_gap = gaps[0];
    st->max_gap = gaps[ng - 1];
    st->median = quantile(gaps, ng, 0.5);
    st->mad = median_abs_dev(gaps, ng, st->median, scratch);
    double q1 = quantile(gaps, ng, 0.25), q3 = quantile(gaps, ng, 0.75);
    st->skew = q3 - q1 > 1e-3 * (st->median > 0 ? st->median : 1) ?
                   (q1 + q3 - 2 * st->median) / (q3 - q1) : 0;
    st->coverage = st->span > 0 ? (double)ng * st->median / st->span : 0;
    unsigned ns = bp->n_sizes < BC_SIZES ? bp->n_sizes : BC_SIZES;
    st->n_sizes = ns;
    if (ns) {
        double sizes[BC_SIZES];
        for (unsigned i = 0; i < ns; i++)
            sizes[i] = bp->sizes[i];
        qsort(sizes, ns, sizeof(double), cmp_double);
        st->size_median = quantile(sizes, ns, 0.5);
        st->size_mad = median_abs_dev(sizes, ns, st->size_median, scratch);
    }
}

static bool is_beacon(const struct beacon *bc, const struct detect_ctx *ctx, struct bc_stats *st)
{
    double need = detect_scaled(ctx, (double)bc->min_bursts);
    if (need < 4)
        need = 4;
    if ((double)st->n < need || st->span < detect_scaled(ctx, (double)bc->min_span_usec) / 1e6 ||
        st->median <= 0 || st->coverage < bc->min_coverage)
        return false;
    double madr = st->mad / st->median;
    /*
     * A handful of gaps can look regular by chance; below BC_FEW_GAPS every gap
     * must lie within the +-20% band (longest / shortest <= 1.5) as well.
     */
    if (st->n - 1 < BC_FEW_GAPS)
        return madr <= bc->max_mad && st->min_gap > 0 && st->max_gap / st->min_gap <= 1.5;
    if (madr <= bc->max_mad)
        return true;
    if ((double)st->n < 3 * need || madr > bc->max_jitter_mad || fabs(st->skew) > bc->max_skew)
        return false;
    if (st->n_sizes < 6 || st->size_median <= 0 ||
        st->size_mad / st->size_median > bc->max_size_mad)
        return false;
    st->jittered = true;
    return true;
}

static int16_t period_bucket(double median)
{
    return (int16_t)floor(2.0 * log2(median > 0.01 ? median : 0.01));
}

/* Servers seen periodic from this client and port at about this period. */
static unsigned pollers(struct beacon *bc, struct detect_ctx *ctx, const struct bc_key *k,
                        double median, bool add)
{
    unsigned most = 0;
    int16_t b = period_bucket(median);
    for (int16_t d = -1; d <= 1; d++) {
        struct bc_poll_key pk;
        memset(&pk, 0, sizeof(pk));
        pk.client = k->client;
        pk.port = k->port;
        pk.bucket = (int16_t)(b + d);
        struct bc_poll *pl = keymap_get(bc->polls, &pk, ctx->now_usec, add && d == 0, NULL);
        if (!pl)
            continue;
        if (add && d == 0)
            distinct_add(pl->dsts, 2, keymap_hash(&k->server, sizeof(k->server), 7));
        unsigned n = (unsigned)(distinct_estimate(pl->dsts, 2) + 0.5);
        if (n > most)
            most = n;
    }
    return most;
}

static void report(struct beacon *bc, struct detect_ctx *ctx, const struct bc_key *k,
                   struct bc_pair *bp, const struct bc_stats *st)
{
    struct event_report r;
    char src[ADDR_STR_LEN], dst[ADDR_STR_LEN];
    (void)bc;
    event_report_init(&r, WARD__EVENT_KIND__BEACON, st->jittered ? "jittered" : "periodic",
                      EVENT_KEY_SRC | EVENT_KEY_DST);
    r.src = k->client;
    r.dst = k->server;
    r.proto = k->proto;
    event_report_port(&r, k->port);
    event_report_target(&r, &k->server);
    r.first_usec = bp->starts[(bp->n_starts - st->n) % BC_RING];
    r.last_usec = bp->last_start;
    r.count = bp->n_starts;
    r.bytes = bp->bytes;
    addr_format(&k->client, src, sizeof(src));
    addr_format(&k->server, dst, sizeof(dst));
    event_report_summary(&r, "%s called %s %s/%u %u times about every %.1f s (MAD %.1f s) over "
                             "%.0f s",
                         src, dst, k->proto == 6 ? "tcp" : "udp", k->port, bp->n_starts,
                         st->median, st->mad, st->span);
    event_report_figure(&r, "bursts", bp->n_starts);
    event_report_figure(&r, "median_interval_s", st->median);
    event_report_figure(&r, "mad_s", st->mad);
    event_report_figure(&r, "mad_ratio", st->median > 0 ? st->mad / st->median : 0);
    event_report_figure(&r, "bowley_skew", st->skew);
    event_report_figure(&r, "coverage", st->coverage);
    event_report_figure(&r, "span_s", st->span);
    if (st->n_sizes) {
        event_report_figure(&r, "median_bytes", st->size_median);
        event_report_figure(&r, "size_mad_ratio",
                            st->size_median > 0 ? st->size_mad / st->size_median : 0);
    }
    r.severity = detect_is_home(ctx, &k->server) ? 60 : 70;
    r.confidence = st->jittered ? 70 : (st->mad / st->median < 0.05 ? 90 : 80);
    detect_report(ctx, &r);
    bp->reported = true;
}

/* Records a burst start of f's pair; true if the pair has a table entry. */
static bool burst(struct beacon *bc, struct detect_ctx *ctx, const struct flow *f)
{
    struct bc_key k;
    memset(&k, 0, sizeof(k));
    k.client = f->key.a;
    k.server = f->key.b;
    k.port = f->key.port_b;
    k.proto = f->key.proto;
    /*
     * Most pairs burst once and never again; they only set a bit in the filter.
     * A pair gets a table entry on its second burst (so the first is counted from
     * the filter's say-so, at the flow's start time).
     */
    bool created;
    struct bc_pair *bp = keymap_get(bc->pairs, &k, ctx->now_usec, false, NULL);
    if (!bp) {
        uint64_t h = keymap_hash(&k, sizeof(k), 13) % ((uint64_t)BC_SEEN_WORDS * 64);
        uint64_t bit = 1ULL << (h & 63);
        if (!(bc->seen[h >> 6] & bit)) {
            bc->seen[h >> 6] |= bit;
            return false;
        }
        bp = keymap_get(bc->pairs, &k, ctx->now_usec, true, &created);
        if (f->first_usec + bc->gap_usec <= ctx->now_usec) {
            bp->starts[0] = f->first_usec; /* the burst the filter remembered */
            bp->n_starts = 1;
            bp->last_start = f->first_usec;
        }
    }
    if (bp->n_starts && ctx->now_usec < bp->last_start + bc->gap_usec)
        return true; /* another connection of the same burst */
    bp->starts[bp->n_starts % BC_RING] = ctx->now_usec;
    bp->n_starts++;
    bp->last_start = ctx->now_usec;
    if (bp->n_starts < 4)
        return true;
    struct bc_stats st;
    compute(bp, &st);
    if (!is_beacon(bc, ctx, &st)) {
        bp->periodic_since = 0;
        return true;
    }
    unsigned polled = pollers(bc, ctx, &k, st.median, !bp->periodic_since);
    if (!bp->periodic_since) {
        bp->periodic_since = ctx->now_usec;
        return true; /* judge again a period later, when pollers have shown themselves */
    }
    if (polled >= bc->poller_min)
        return true;
    /* Password guessing is periodic too; the bruteforce event already explains it. */
    struct event_report bf;
    event_report_init(&bf, WARD__EVENT_KIND__BRUTEFORCE, "", EVENT_KEY_SRC | EVENT_KEY_DST);
    bf.src = k.client;
    bf.dst = k.server;
    if (detect_is_reported(ctx, &bf))
        return true;
    /* Every burst of an established beacon updates its event (count, regularity);
     * the event table limits how often a revision actually goes out. */
    report(bc, ctx, &k, bp, &st);
    return true;
}

static void bc_packet(void *state, struct detect_ctx *ctx, const struct pkt *p, struct flow *f,
                      int dir)
{
    struct beacon *bc = state;
    if (!f || dir != FLOW_ORIG || !(p->layers & (PKT_TCP | PKT_UDP)))
        return;
    /* det[BC_LAST]: time of the last client packet, bit 0 set when the pair has an entry. */
    uint64_t last = f->det[BC_LAST] & ~1ULL;
    uint64_t tracked = f->det[BC_LAST] & 1ULL;
    f->det[BC_LAST] = (ctx->now_usec & ~1ULL) | tracked;
    if (last && ctx->now_usec < last + bc->gap_usec)
        return;
    if (ignored(bc, f->key.port_b) || addr_is_multicast_or_broadcast(&f->key.b))
        return;
    if (burst(bc, ctx, f))
        f->det[BC_LAST] |= 1ULL;
}

static void bc_flow_end(void *state, struct detect_ctx *ctx, const struct flow *f)
{
    struct beacon *bc = state;
    (void)ctx;
    if ((f->key.proto != 6 && f->key.proto != 17) || !(f->det[BC_LAST] & 1ULL))
        return;
    struct bc_key k;
    memset(&k, 0, sizeof(k));
    k.client = f->key.a;
    k.server = f->key.b;
    k.port = f->key.port_b;
    k.proto = f->key.proto;
    struct bc_pair *bp = keymap_peek(bc->pairs, &k);
    if (!bp)
        return;
    bp->sizes[bp->n_sizes % BC_SIZES] = (uint32_t)WARD_MIN(f->payload[FLOW_ORIG], UINT32_MAX);
    bp->n_sizes++;
    bp->bytes += f->payload[FLOW_ORIG];
}

const struct detector detect_beacon = {
    .name = "beacon",
    .init = bc_init,
    .fini = bc_fini,
    .on_packet = bc_packet,
    .on_flow_end = bc_flow_end,
    .memory = bc_memory,
};
