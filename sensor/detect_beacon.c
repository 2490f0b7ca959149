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
 * Bursts are also counted per (client, server name, port, protocol), the name
 * being the flow's TLS SNI or HTTP Host, else the name the client resolved to
 * that address in a DNS answer seen within `resolve_window`.  A check-in to a
 * name whose addresses rotate (a CDN, round-robin A records) is periodic by name
 * though no single address is.  For a TCP flow the name arrives after the
 * handshake, so its first burst is keyed by name at the first client data.  A
 * name event is raised when the name spans two or more addresses or its
 * address's own pair has not been reported; an address pair whose latest name
 * already has an event stays quiet, so one beacon makes one event.  Names under
 * `ignore_names` are neither keyed nor reported.
 *
 * Infrastructure chatter (DNS, NTP, DHCP, NetBIOS, SNMP, syslog, SSDP, mDNS,
 * LLMNR, WS-Discovery) is ignored by port (`ignore_ports`), and a source that
 * polls `poller_min` or more servers (or names) on one port at the same period
 * is a monitoring poller, not a beacon.  State: fixed-size keymaps with LRU
 * eviction (counted by keymap).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "detect.h"
#include "distinct.h"
#include "domain.h"
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
#define BC_NAME_MAX 96   /* server name kept, with NUL (longer names are cut) */
#define BC_NAME_ADDRS 4  /* latest server addresses kept per named pair */
#define BC_MAX_IGNORE_NAMES 32 /* ignore_names entries */
/* Low bits of flow->det[BC_LAST] (the rest is the time of the last client packet). */
#define BC_F_TRACKED 1ULL /* the address pair has an entry */
#define BC_F_PENDING 2ULL /* the flow's first burst waits for its name (first client data) */
#define BC_F_NAMED 4ULL   /* the named pair has an entry */
#define BC_F_MASK 7ULL

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
    uint64_t name_hash;        /* latest server name seen on a flow of the pair, 0 none */
    bool name_ignored;         /* that name is under ignore_names */
    bool reported;             /* an event is out */
};

struct bc_name_key {
    struct addr client; /* who calls */
    uint64_t name;      /* hash of the server name */
    uint16_t port;      /* server port */
    uint8_t proto;      /* 6 or 17 */
};

struct bc_named {
    struct bc_pair p;                  /* bursts and sizes, as for an address pair */
    uint64_t addr_sketch;              /* distinct server addresses (linear counting) */
    struct addr addrs[BC_NAME_ADDRS];  /* latest different server addresses, ring */
    uint32_t n_addrs;                  /* entries made in addrs in all */
    char name[BC_NAME_MAX];            /* the server name */
};

struct bc_resolve_key {
    struct addr client; /* who asked */
    struct addr server; /* an address in the answer */
};

struct bc_resolved {
    uint64_t usec;          /* packet time of the answer */
    char name[BC_NAME_MAX]; /* the name asked for */
};

struct bc_poll_key {
    struct addr client; /* polling source */
    uint16_t port;      /* polled port */
    int16_t bucket;     /* period bucket, half octaves of seconds */
    uint8_t named;      /* 1: servers counted by name, 0: by address */
};

struct bc_poll {
    uint64_t dsts[2]; /* sketch of servers seen periodic at this period */
};

struct beacon {
    struct keymap *pairs;             /* bc_key -> bc_pair */
    struct keymap *polls;             /* bc_poll_key -> bc_poll */
    struct keymap *names;             /* bc_name_key -> bc_named */
    struct keymap *resolved;          /* bc_resolve_key -> bc_resolved (DNS answers) */
    char ignore_names[BC_MAX_IGNORE_NAMES][BC_NAME_MAX]; /* names never keyed */
    size_t n_ignore_names;            /* entries in ignore_names */
    uint64_t resolve_usec;            /* how long a DNS answer names its addresses */
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
    uint64_t *answered;               /* bit per resolved key hash: some DNS answer made it */
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

/* ignore_names: server names (and everything under them) never keyed or reported. */
static int parse_names(struct config *cfg, struct beacon *bc)
{
    const char *p = config_get_str(cfg, BC_SECTION, "ignore_names", "");
    const char *s;
    size_t n;
    while ((s = config_list_next(&p, &n))) {
        if (n >= 2 && s[0] == '*' && s[1] == '.') {
            s += 2;
            n -= 2;
        }
        while (n && s[n - 1] == '.')
            n--;
        if (bc->n_ignore_names >= BC_MAX_IGNORE_NAMES || n >= BC_NAME_MAX)
            return config_fail(cfg, BC_SECTION, "ignore_names",
                               "expected up to %d names of up to %d characters",
                               BC_MAX_IGNORE_NAMES, BC_NAME_MAX - 1);
        if (!n)
            continue;
        char *out = bc->ignore_names[bc->n_ignore_names++];
        for (size_t i = 0; i < n; i++)
            out[i] = (char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] - 'A' + 'a' : s[i]);
        out[n] = '\0';
    }
    return 0;
}

static int bc_init(struct config *cfg, void **state)
{
    struct beacon *bc = calloc(1, sizeof(*bc));
    uint64_t pairs_max, names_max, resolve_max;
    int rc;
    *state = bc;
    if (!bc)
        return -ENOMEM;
    if ((rc = config_get_ports(cfg, BC_SECTION, "ignore_ports", BC_DEFAULT_IGNORE, bc->ignore,
                               BC_MAX_PORTS, &bc->n_ignore)) < 0 ||
        (rc = parse_names(cfg, bc)) < 0 ||
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
        (rc = config_get_u64(cfg, BC_SECTION, "pairs_max", 8192, &pairs_max)) < 0 ||
        (rc = config_get_u64(cfg, BC_SECTION, "names_max", 4096, &names_max)) < 0 ||
        (rc = config_get_u64(cfg, BC_SECTION, "resolve_max", 8192, &resolve_max)) < 0 ||
        (rc = config_get_duration(cfg, BC_SECTION, "resolve_window", 30 * 60 * USEC_PER_SEC,
                                  &bc->resolve_usec)) < 0)
        return rc;
    if (bc->min_bursts < 4 || bc->min_bursts * 3 > BC_RING)
        return config_fail(cfg, BC_SECTION, "min_bursts", "must be between 4 and %d",
                           BC_RING / 3);
    if (bc->gap_usec == 0)
        return config_fail(cfg, BC_SECTION, "burst_gap", "must be longer than 0");
    if (pairs_max < 1 || pairs_max > (1u << 22))
        return config_fail(cfg, BC_SECTION, "pairs_max", "must be between 1 and 4194304");
    if (names_max > (1u << 22))
        return config_fail(cfg, BC_SECTION, "names_max", "must be at most 4194304");
    if (resolve_max > (1u << 22))
        return config_fail(cfg, BC_SECTION, "resolve_max", "must be at most 4194304");
    bc->pairs = keymap_new(pairs_max, sizeof(struct bc_key), sizeof(struct bc_pair));
    bc->polls = keymap_new_sparse(pairs_max / 4 + 8, sizeof(struct bc_poll_key), sizeof(struct bc_poll));
    bc->seen = calloc(BC_SEEN_WORDS, sizeof(uint64_t));
    if (!bc->pairs || !bc->polls || !bc->seen)
        return -ENOMEM;
    /* names_max = 0 turns keying by name off. */
    if (names_max) {
        bc->names = keymap_new(names_max, sizeof(struct bc_name_key), sizeof(struct bc_named));
        bc->resolved = keymap_new(resolve_max ? resolve_max : 1, sizeof(struct bc_resolve_key),
                                  sizeof(struct bc_resolved));
        bc->answered = calloc(BC_SEEN_WORDS, sizeof(uint64_t));
        if (!bc->names || !bc->resolved || !bc->answered)
            return -ENOMEM;
    }
    return 0;
}

static void bc_fini(void *state)
{
    struct beacon *bc = state;
    if (!bc)
        return;
    keymap_free(bc->pairs);
    keymap_free(bc->polls);
    keymap_free(bc->names);
    keymap_free(bc->resolved);
    free(bc->seen);
    free(bc->answered);
    free(bc);
}

static size_t bc_memory(const void *state)
{
    const struct beacon *bc = state;
    return sizeof(*bc) + keymap_memory(bc->pairs) + keymap_memory(bc->polls) +
           (bc->names ? keymap_memory(bc->names) + keymap_memory(bc->resolved) +
                            BC_SEEN_WORDS * sizeof(uint64_t)
                      : 0) +
           BC_SEEN_WORDS * sizeof(uint64_t);
}

static uint64_t bc_evictions(const void *state)
{
    const struct beacon *bc = state;
    return keymap_evictions(bc->pairs) + keymap_evictions(bc->polls) +
           (bc->names ? keymap_evictions(bc->names) + keymap_evictions(bc->resolved) : 0);
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
    unsigned n = bp->n_starts; /* bursts kept */
    if (n > BC_RING)
        n = BC_RING;
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
        /* cppcheck-suppress uninitvar ; the loop above filled sizes[0..ns), ns > 0 */
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

/*
 * Servers (named: server names) seen periodic from client on port at about this
 * period; with add, server_id is counted in first.
 */
static unsigned pollers(struct beacon *bc, struct detect_ctx *ctx, const struct addr *client,
                        uint16_t port, bool named, uint64_t server_id, double median, bool add)
{
    unsigned most = 0;
    int16_t b = period_bucket(median);
    for (int16_t d = -1; d <= 1; d++) {
        struct bc_poll_key pk;
        memset(&pk, 0, sizeof(pk));
        pk.client = *client;
        pk.port = port;
        pk.bucket = (int16_t)(b + d);
        pk.named = named;
        struct bc_poll *pl = keymap_get(bc->polls, &pk, ctx->now_usec, add && d == 0, NULL);
        if (!pl)
            continue;
        if (add && d == 0)
            distinct_add(pl->dsts, 2, server_id);
        unsigned n = (unsigned)(distinct_estimate(pl->dsts, 2) + 0.5);
        if (n > most)
            most = n;
    }
    return most;
}

static uint64_t name_hash(const char *name, size_t len)
{
    return keymap_hash(name, len, 0x6e616d65) | 1; /* never 0: 0 means "no name" */
}

/*
 * A server name as the detector keys it: lower case, without a port or trailing
 * dot, cut to BC_NAME_MAX - 1.  Returns its hash, or 0 (out is then undefined) for
 * what is not a usable name: empty, escaped bytes, an address literal.
 */
static uint64_t name_clean(const char *in, char out[BC_NAME_MAX])
{
    size_t n = 0;
    bool letter = false;
    for (const char *s = in; *s && *s != ':'; s++) {
        char c = *s;
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        bool alpha = (c >= 'a' && c <= 'z') || c == '-' || c == '_';
        if (!alpha && !(c >= '0' && c <= '9') && c != '.')
            return 0;
        letter |= alpha;
        if (n + 1 < BC_NAME_MAX)
            out[n++] = c;
    }
    while (n && out[n - 1] == '.')
        n--;
    out[n] = '\0';
    return n && letter ? name_hash(out, n) : 0;
}

static bool name_ignored(const struct beacon *bc, const char *name)
{
    for (size_t i = 0; i < bc->n_ignore_names; i++) {
        if (domain_is_within(name, bc->ignore_names[i]))
            return true;
    }
    return false;
}

/*
 * Whether a DNS answer ever named k's server to k's client (with set, remembers
 * that one did).  A filter bit per key hash, never cleared: a clear bit means
 * bc->resolved holds no entry for k, and a flow needs no lookup there.
 */
static bool answer_bit(const struct beacon *bc, const struct bc_resolve_key *k, bool set)
{
    uint64_t h = keymap_hash(k, sizeof(*k), 19) % ((uint64_t)BC_SEEN_WORDS * 64);
    uint64_t bit = 1ULL << (h & 63);
    bool was = (bc->answered[h >> 6] & bit) != 0;
    if (set)
        bc->answered[h >> 6] |= bit;
    return was || set;
}

/*
 * The server name of f: its TLS SNI or HTTP Host, else the name its client
 * resolved to its server within resolve_window.  Returns the name's hash with the
 * name in out, or 0.
 */
static uint64_t server_name(const struct beacon *bc, const struct detect_ctx *ctx,
                          const struct flow *f, char out[BC_NAME_MAX])
{
    uint64_t h = name_clean(flow_name(f), out);
    if (h)
        return h;
    struct bc_resolve_key k;
    memset(&k, 0, sizeof(k));
    k.client = f->key.a;
    k.server = f->key.b;
    if (!answer_bit(bc, &k, false))
        return 0; /* no answer ever named this server to this client */
    const struct bc_resolved *r = keymap_peek(bc->resolved, &k);
    if (!r || ctx->now_usec > r->usec + bc->resolve_usec)
        return 0;
    memcpy(out, r->name, BC_NAME_MAX);
    return name_hash(out, strlen(out));
}

/* A DNS answer: each A/AAAA address it gives is named, for its client, by the question. */
static void learn_dns(struct beacon *bc, struct detect_ctx *ctx, const struct pkt *p)
{
    const struct pkt_dns *d = &p->dns;
    char name[BC_NAME_MAX];
    if (!d->is_response || d->rcode != 0 || !d->n_answers || !name_clean(d->qname, name))
        return;
    struct bc_resolve_key k;
    memset(&k, 0, sizeof(k));
    k.client = p->dst;
    for (unsigned i = 0; i < d->n_answers && i < PKT_DNS_MAX_ANSWERS; i++) {
        if (d->answers[i].addr.family != 4 && d->answers[i].addr.family != 6)
            continue;
        k.server = d->answers[i].addr;
        (void)answer_bit(bc, &k, true);
        struct bc_resolved *r = keymap_get(bc->resolved, &k, ctx->now_usec, true, NULL);
        r->usec = ctx->now_usec;
        memcpy(r->name, name, sizeof(name));
    }
}

static void add_figures(struct event_report *r, const struct bc_pair *bp,
                        const struct bc_stats *st)
{
    event_report_figure(r, "bursts", bp->n_starts);
    event_report_figure(r, "median_interval_s", st->median);
    event_report_figure(r, "mad_s", st->mad);
    event_report_figure(r, "mad_ratio", st->median > 0 ? st->mad / st->median : 0);
    event_report_figure(r, "bowley_skew", st->skew);
    event_report_figure(r, "coverage", st->coverage);
    event_report_figure(r, "span_s", st->span);
    if (st->n_sizes) {
        event_report_figure(r, "median_bytes", st->size_median);
        event_report_figure(r, "size_mad_ratio",
                            st->size_median > 0 ? st->size_mad / st->size_median : 0);
    }
}

static struct bc_name_key name_key(const struct addr *client, uint64_t h, uint16_t port,
                                   uint8_t proto)
{
    struct bc_name_key k;
    memset(&k, 0, sizeof(k));
    k.client = *client;
    k.name = h;
    k.port = port;
    k.proto = proto;
    return k;
}

static void report(struct beacon *bc, struct detect_ctx *ctx, const struct bc_key *k,
                   struct bc_pair *bp, const struct bc_stats *st)
{
    struct event_report r;
    char src[ADDR_STR_LEN], dst[ADDR_STR_LEN], name[BC_NAME_MAX + 3] = "";
    if (bp->name_ignored)
        return;
    if (bp->name_hash && bc->names) {
        struct bc_name_key nk = name_key(&k->client, bp->name_hash, k->port, k->proto);
        const struct bc_named *nm = keymap_peek(bc->names, &nk);
        if (nm && nm->p.reported)
            return; /* the name's event already tells of this beacon */
        if (nm)
            snprintf(name, sizeof(name), " (%s)", nm->name);
    }
    event_report_init(&r, WARD__EVENT_KIND__BEACON, st->jittered ? "jittered" : "periodic",
                      EVENT_KEY_SRC | EVENT_KEY_DST);
    r.src = k->client;
    r.dst = k->server;
    r.proto = k->proto;
    event_report_port(&r, k->port);
    event_report_target(&r, &k->server);
    if (name[0])
        snprintf(r.domain, sizeof(r.domain), "%.*s", (int)strlen(name) - 3, name + 2);
    r.first_usec = bp->starts[(bp->n_starts - st->n) % BC_RING];
    r.last_usec = bp->last_start;
    r.count = bp->n_starts;
    r.bytes = bp->bytes;
    addr_format(&k->client, src, sizeof(src));
    addr_format(&k->server, dst, sizeof(dst));
    event_report_summary(&r, "%s called %s%s %s/%u %u times about every %.1f s (MAD %.1f s) over "
                             "%.0f s",
                         src, dst, name, k->proto == 6 ? "tcp" : "udp", k->port, bp->n_starts,
                         st->median, st->mad, st->span);
    add_figures(&r, bp, st);
    r.severity = detect_is_home(ctx, &k->server) ? 60 : 70;
    r.confidence = st->jittered ? 70 : (st->mad / st->median < 0.05 ? 90 : 80);
    detect_report(ctx, &r);
    bp->reported = true;
}

static unsigned name_addresses(const struct bc_named *nm)
{
    return (unsigned)(distinct_estimate(&nm->addr_sketch, 1) + 0.5);
}

static void report_named(struct detect_ctx *ctx, const struct bc_name_key *k, struct bc_named *nm,
                         const struct addr *server, const struct bc_stats *st)
{
    struct event_report r;
    struct bc_pair *bp = &nm->p;
    char src[ADDR_STR_LEN], dst[ADDR_STR_LEN];
    unsigned naddr = name_addresses(nm);
    event_report_init(&r, WARD__EVENT_KIND__BEACON, st->jittered ? "jittered" : "periodic",
                      EVENT_KEY_SRC | EVENT_KEY_DOMAIN);
    r.src = k->client;
    r.dst = *server;
    r.proto = k->proto;
    snprintf(r.domain, sizeof(r.domain), "%s", nm->name);
    event_report_port(&r, k->port);
    for (unsigned i = 0; i < nm->n_addrs && i < BC_NAME_ADDRS; i++)
        event_report_target(&r, &nm->addrs[i]);
    r.first_usec = bp->starts[(bp->n_starts - st->n) % BC_RING];
    r.last_usec = bp->last_start;
    r.count = bp->n_starts;
    r.bytes = bp->bytes;
    addr_format(&k->client, src, sizeof(src));
    addr_format(server, dst, sizeof(dst));
    event_report_summary(&r, "%s called %s %s/%u %u times about every %.1f s (MAD %.1f s) over "
                             "%.0f s, at %u address%s (latest %s)",
                         src, nm->name, k->proto == 6 ? "tcp" : "udp", k->port, bp->n_starts,
                         st->median, st->mad, st->span, naddr, naddr == 1 ? "" : "es", dst);
    add_figures(&r, bp, st);
    event_report_figure(&r, "addresses", naddr);
    r.severity = detect_is_home(ctx, server) ? 60 : 70;
    r.confidence = st->jittered ? 70 : (st->mad / st->median < 0.05 ? 90 : 80);
    detect_report(ctx, &r);
    bp->reported = true;
}

/* Enters a burst start at t; false if t belongs to the latest burst (or precedes it). */
static bool record(const struct beacon *bc, struct bc_pair *bp, uint64_t t)
{
    if (bp->n_starts && t < bp->last_start + bc->gap_usec)
        return false;
    bp->starts[bp->n_starts % BC_RING] = t;
    bp->n_starts++;
    bp->last_start = t;
    return true;
}

/*
 * After a new burst start of bp: true when the pair is a beacon to report
 * (periodic, still so a period after it first looked it, not one of a poller's
 * targets, not password guessing).  Fills st.
 */
static bool judge(struct beacon *bc, struct detect_ctx *ctx, struct bc_pair *bp,
                  const struct addr *client, const struct addr *server, uint16_t port,
                  uint64_t name_h, struct bc_stats *st)
{
    bool named = name_h != 0;
    if (bp->n_starts < 4)
        return false;
    compute(bp, st);
    if (!is_beacon(bc, ctx, st)) {
        bp->periodic_since = 0;
        return false;
    }
    uint64_t server_id = named ? name_h : keymap_hash(server, sizeof(*server), 7);
    unsigned polled = pollers(bc, ctx, client, port, named, server_id, st->median,
                              !bp->periodic_since);
    if (!bp->periodic_since) {
        bp->periodic_since = ctx->now_usec;
        return false; /* judge again a period later, when pollers have shown themselves */
    }
    if (polled >= bc->poller_min)
        return false;
    /* Password guessing is periodic too; the bruteforce event already explains it. */
    struct event_report bf;
    event_report_init(&bf, WARD__EVENT_KIND__BRUTEFORCE, "", EVENT_KEY_SRC | EVENT_KEY_DST);
    bf.src = *client;
    bf.dst = *server;
    return !detect_is_reported(ctx, &bf);
}

static struct bc_key pair_key(const struct flow *f)
{
    struct bc_key k;
    memset(&k, 0, sizeof(k));
    k.client = f->key.a;
    k.server = f->key.b;
    k.port = f->key.port_b;
    k.proto = f->key.proto;
    return k;
}

/*
 * True the first time the filter sees hash h (the caller then keeps no entry):
 * most pairs burst once and never again, and only set a bit.  An entry is made
 * only for a key the filter has seen before, and bits are never cleared, so a
 * first sight also says the key has no entry: callers ask the filter first and
 * skip the table lookup, which would miss.
 */
static bool first_sight(struct beacon *bc, uint64_t h)
{
    h %= (uint64_t)BC_SEEN_WORDS * 64;
    uint64_t bit = 1ULL << (h & 63);
    if (bc->seen[h >> 6] & bit)
        return false;
    bc->seen[h >> 6] |= bit;
    return true;
}

/* Records a burst start of f's pair; its table entry, or NULL if it has none. */
static struct bc_pair *burst(struct beacon *bc, struct detect_ctx *ctx, const struct flow *f)
{
    struct bc_key k = pair_key(f);
    /*
     * A pair gets a table entry on its second burst (so the first is counted from
     * the filter's say-so, at the flow's start time).
     */
    bool created;
    if (first_sight(bc, keymap_hash(&k, sizeof(k), 13)))
        return NULL;
    struct bc_pair *bp = keymap_get(bc->pairs, &k, ctx->now_usec, false, NULL);
    if (!bp) {
        bp = keymap_get(bc->pairs, &k, ctx->now_usec, true, &created);
        if (f->first_usec + bc->gap_usec <= ctx->now_usec) {
            bp->starts[0] = f->first_usec; /* the burst the filter remembered */
            bp->n_starts = 1;
            bp->last_start = f->first_usec;
        }
    }
    if (!record(bc, bp, ctx->now_usec))
        return bp; /* another connection of the same burst */
    struct bc_stats st;
    /* Every burst of an established beacon updates its event (count, regularity);
     * the event table limits how often a revision actually goes out. */
    if (judge(bc, ctx, bp, &k.client, &k.server, k.port, 0, &st))
        report(bc, ctx, &k, bp, &st);
    return bp;
}

/*
 * Records a burst start at t of f's server name (if it has one); true if the
 * named pair has a table entry.  tracked: f's address pair has one, which learns
 * the name; ap is that entry when the caller has it at hand, else NULL.
 */
static bool name_burst(struct beacon *bc, struct detect_ctx *ctx, const struct flow *f,
                       uint64_t t, bool tracked, struct bc_pair *ap)
{
    char name[BC_NAME_MAX];
    if (!bc->names)
        return false;
    uint64_t h = server_name(bc, ctx, f, name);
    if (!h)
        return false;
    bool ignore = name_ignored(bc, name);
    if (tracked && !ap) {
        struct bc_key ak = pair_key(f);
        ap = keymap_peek(bc->pairs, &ak);
    }
    if (ap) {
        ap->name_hash = h;
        ap->name_ignored = ignore;
    }
    if (ignore)
        return false;
    struct bc_name_key k = name_key(&f->key.a, h, f->key.port_b, f->key.proto);
    if (first_sight(bc, keymap_hash(&k, sizeof(k), 17)))
        return false;
    struct bc_named *nm = keymap_get(bc->names, &k, ctx->now_usec, false, NULL);
    if (!nm) {
        nm = keymap_get(bc->names, &k, ctx->now_usec, true, NULL);
        memcpy(nm->name, name, sizeof(nm->name));
    }
    distinct_add(&nm->addr_sketch, 1, keymap_hash(&f->key.b, sizeof(f->key.b), 7));
    if (!nm->n_addrs || !addr_eq(&nm->addrs[(nm->n_addrs - 1) % BC_NAME_ADDRS], &f->key.b))
        nm->addrs[nm->n_addrs++ % BC_NAME_ADDRS] = f->key.b;
    if (!record(bc, &nm->p, t))
        return true;
    struct bc_stats st;
    if (!judge(bc, ctx, &nm->p, &f->key.a, &f->key.b, f->key.port_b, h, &st))
        return true;
    /*
     * At one address the address pair sees the same bursts and, once reported,
     * tells of the name; the name's own event is for rotating addresses and for
     * an address shared by other names (a CDN edge) that is not periodic itself.
     */
    if (name_addresses(nm) < 2 && ap && ap->reported)
        return true;
    report_named(ctx, &k, nm, &f->key.b, &st);
    return true;
}

/* A client packet that may start a burst or name one (bc_packet has the rest). */
static WARD_NOINLINE void client_packet(struct beacon *bc, struct detect_ctx *ctx,
                                        const struct pkt *p, struct flow *f)
{
    /* det[BC_LAST]: time of the last client packet, BC_F_* in the low bits. */
    uint64_t last = f->det[BC_LAST] & ~BC_F_MASK;
    uint64_t flags = f->det[BC_LAST] & BC_F_MASK;
    if ((flags & BC_F_PENDING) && (flow_name(f)[0] || p->payload_len)) {
        /* The first client data (a ClientHello, a request) names the first burst. */
        flags &= ~BC_F_PENDING;
        if (name_burst(bc, ctx, f, f->first_usec, flags & BC_F_TRACKED, NULL))
            flags |= BC_F_NAMED;
    }
    f->det[BC_LAST] = (ctx->now_usec & ~BC_F_MASK) | flags;
    if (last && ctx->now_usec < last + bc->gap_usec)
        return;
    if (ignored(bc, f->key.port_b) || addr_is_multicast_or_broadcast(&f->key.b))
        return;
    struct bc_pair *bp = burst(bc, ctx, f);
    if (bp)
        flags |= BC_F_TRACKED;
    if (bc->names) {
        if (!last && !flow_name(f)[0] && !p->payload_len)
            flags |= BC_F_PENDING;
        else if (name_burst(bc, ctx, f, ctx->now_usec, flags & BC_F_TRACKED, bp))
            flags |= BC_F_NAMED;
    }
    f->det[BC_LAST] = (ctx->now_usec & ~BC_F_MASK) | flags;
}

static WARD_NOINLINE void dns_packet(struct beacon *bc, struct detect_ctx *ctx,
                                     const struct pkt *p, struct flow *f, int dir)
{
    if (bc->resolved)
        learn_dns(bc, ctx, p);
    if (f && dir == FLOW_ORIG && (p->layers & (PKT_TCP | PKT_UDP)))
        client_packet(bc, ctx, p, f);
}

static void bc_packet(void *state, struct detect_ctx *ctx, const struct pkt *p, struct flow *f,
                      int dir)
{
    struct beacon *bc = state;
    if (p->layers & PKT_DNS) {
        dns_packet(bc, ctx, p, f, dir);
        return;
    }
    if (!f || dir != FLOW_ORIG || !(p->layers & (PKT_TCP | PKT_UDP)))
        return;
    /* Most client packets fall within a burst: only their time is kept. */
    uint64_t last = f->det[BC_LAST] & ~BC_F_MASK;
    uint64_t flags = f->det[BC_LAST] & BC_F_MASK;
    if (!(flags & BC_F_PENDING) && last && ctx->now_usec < last + bc->gap_usec) {
        f->det[BC_LAST] = (ctx->now_usec & ~BC_F_MASK) | flags;
        return;
    }
    client_packet(bc, ctx, p, f);
}

/* Every client packet (its time is kept in the flow), and answers to learn names from. */
static uint64_t bc_wants(const void *state)
{
    const struct beacon *bc = state;
    return DETECT_WANT_ORIG | (bc->resolved ? (uint64_t)PKT_DNS : 0);
}

static void add_size(struct bc_pair *bp, const struct flow *f)
{
    bp->sizes[bp->n_sizes % BC_SIZES] = (uint32_t)WARD_MIN(f->payload[FLOW_ORIG], UINT32_MAX);
    bp->n_sizes++;
    bp->bytes += f->payload[FLOW_ORIG];
}

static void bc_flow_end(void *state, struct detect_ctx *ctx, const struct flow *f)
{
    struct beacon *bc = state;
    uint64_t flags = f->det[BC_LAST] & BC_F_MASK;
    if ((f->key.proto != 6 && f->key.proto != 17) || !flags)
        return;
    if (flags & BC_F_TRACKED) {
        struct bc_key k = pair_key(f);
        struct bc_pair *bp = keymap_peek(bc->pairs, &k);
        if (bp)
            add_size(bp, f);
    }
    /* A flow that never carried client data (refused, unanswered) is named by DNS only. */
    if (flags & BC_F_PENDING)
        (void)name_burst(bc, ctx, f, f->first_usec, flags & BC_F_TRACKED, NULL);
    if (flags & BC_F_NAMED) {
        char name[BC_NAME_MAX];
        uint64_t h = server_name(bc, ctx, f, name);
        struct bc_name_key k = name_key(&f->key.a, h, f->key.port_b, f->key.proto);
        struct bc_named *nm = h ? keymap_peek(bc->names, &k) : NULL;
        if (nm)
            add_size(&nm->p, f);
    }
}

const struct detector detect_beacon = {
    .name = "beacon",
    .init = bc_init,
    .fini = bc_fini,
    .on_packet = bc_packet,
    .wants = bc_wants,
    .on_flow_end = bc_flow_end,
    .memory = bc_memory,
    .evictions = bc_evictions,
};
