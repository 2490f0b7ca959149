/*
 * detect_dns_tunnel -- data carried in DNS names (iodine, dnscat2, DNSExfiltrator
 * and the like), per (client, registered domain).
 *
 * Each query to port 53 is split into the registered domain (Public Suffix List)
 * and the subdomain part the client chose.  A query is "encoded-looking" when:
 * a label held non-printable bytes; or the subdomain is very long
 * (`long_name`); or its longest label is long (`long_label`) and random-looking
 * (a hex/base32/base64 mix: digits between 15% and 85% of the characters, or
 * character entropy of `min_entropy` bits or more); or the query type is one
 * tunnels favour (NULL, TXT, MX, CNAME, ANY) with a random-looking subdomain of
 * 12 characters or more; or it is a NULL query at all.  A domain is reported
 * when one client sent `min_suspicious` such queries under it with mostly
 * distinct names, or `volume_names` distinct names in the window whatever they
 * look like (high query volume).  TXT/NULL/CNAME answers are counted as a figure.
 *
 * CDN and cloud names ("static-hp-eus-s-msn-com.akamaized.net") are wordy, not
 * random, and appear a few at a time; reputation services that look names up
 * in DNS by hash are listed in `ignore_domains`.  State: one fixed-size keymap
 * of (client, domain) with LRU eviction.
 */
#include <ctype.h>
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

#define DT_SECTION "detect.dns_tunnel"
#define DT_DOMAIN_MAX 96   /* registered domain kept in the key */
#define DT_IGNORE_MAX 64   /* ignored domains */
#define DT_NAME_WORDS 8    /* 512-bit distinct-name sketch */

struct dt_key {
    struct addr client;          /* who asks */
    char domain[DT_DOMAIN_MAX];  /* registered domain, NUL-padded */
};

struct dt_state {
    uint64_t window_start;            /* start of the counting window */
    uint64_t first_usec;              /* first query counted */
    uint64_t last_usec;               /* latest query counted */
    uint64_t names[DT_NAME_WORDS];    /* distinct full names */
    uint64_t odd_names[DT_NAME_WORDS];/* distinct encoded-looking names */
    uint32_t queries;                 /* queries in the window */
    uint32_t suspicious;              /* encoded-looking queries */
    uint32_t odd_types;               /* NULL/TXT/MX/CNAME/ANY queries */
    uint32_t binary;                  /* queries with non-printable labels */
    uint32_t odd_answers;             /* answers of type NULL/TXT/CNAME/MX */
    uint16_t longest;                 /* longest subdomain seen (< PKT_NAME_MAX) */
    uint16_t names_set;               /* bits set in names */
    uint64_t sub_chars;               /* subdomain characters, summed */
    double entropy_sum;               /* entropy of encoded-looking subdomains, summed */
    struct addr resolver;             /* server asked */
    bool reported;                    /* an event is out */
    bool dirty;                       /* changed since the last report */
    uint16_t odd_names_set;           /* bits set in odd_names */
};

struct dns_tunnel {
    struct keymap *st;                       /* dt_key -> dt_state */
    char ignore[DT_IGNORE_MAX][DT_DOMAIN_MAX]; /* domains never reported */
    size_t n_ignore;                         /* entries in ignore */
    uint64_t min_suspicious;                 /* encoded-looking queries to report */
    uint64_t volume_names;                   /* distinct names to report on volume */
    uint64_t long_name;                      /* subdomain length that is long */
    uint64_t long_label;                     /* label length that is long */
    double min_entropy;                      /* bits per character that look random */
    uint64_t window_usec;                    /* counting window */
    bool any_dirty;                          /* some reported state changed */
};

static const char *const default_ignore =
    "in-addr.arpa ip6.arpa local sophosxl.net mcafee.com e5.sk spamhaus.org spamcop.net "
    "barracudacentral.org surbl.org uribl.com senderbase.org";

static int parse_ignore(struct config *cfg, struct dns_tunnel *dt)
{
    const char *list = config_get_str(cfg, DT_SECTION, "ignore_domains", default_ignore);
    const char *s;
    size_t n;
    while ((s = config_list_next(&list, &n))) {
        if (n >= DT_DOMAIN_MAX || dt->n_ignore >= DT_IGNORE_MAX)
            return config_fail(cfg, DT_SECTION, "ignore_domains",
                               "at most %d domains of %d characters", DT_IGNORE_MAX,
                               DT_DOMAIN_MAX - 1);
        for (size_t i = 0; i < n; i++)
            dt->ignore[dt->n_ignore][i] = (char)tolower((unsigned char)s[i]);
        dt->ignore[dt->n_ignore][n] = '\0';
        dt->n_ignore++;
    }
    return 0;
}

static int dt_init(struct config *cfg, void **state)
{
    struct dns_tunnel *dt = calloc(1, sizeof(*dt));
    uint64_t max;
    int rc;
    *state = dt;
    if (!dt)
        return -ENOMEM;
    if ((rc = parse_ignore(cfg, dt)) < 0 ||
        (rc = config_get_u64(cfg, DT_SECTION, "min_suspicious", 8, &dt->min_suspicious)) < 0 ||
        (rc = config_get_u64(cfg, DT_SECTION, "volume_names", 300, &dt->volume_names)) < 0 ||
        (rc = config_get_u64(cfg, DT_SECTION, "long_name", 52, &dt->long_name)) < 0 ||
        (rc = config_get_u64(cfg, DT_SECTION, "long_label", 24, &dt->long_label)) < 0 ||
        (rc = config_get_double(cfg, DT_SECTION, "min_entropy", 3.8, &dt->min_entropy)) < 0 ||
        (rc = config_get_duration(cfg, DT_SECTION, "window", 10 * 60 * USEC_PER_SEC,
                                  &dt->window_usec)) < 0 ||
        (rc = config_get_u64(cfg, DT_SECTION, "entries_max", 16384, &max)) < 0)
        return rc;
    if (dt->min_suspicious < 1)
        return config_fail(cfg, DT_SECTION, "min_suspicious", "must be at least 1");
    if (max < 1 || max > (1u << 22))
        return config_fail(cfg, DT_SECTION, "entries_max", "must be between 1 and 4194304");
    dt->st = keymap_new(max, sizeof(struct dt_key), sizeof(struct dt_state));
    return dt->st ? 0 : -ENOMEM;
}

static void dt_fini(void *state)
{
    struct dns_tunnel *dt = state;
    if (!dt)
        return;
    keymap_free(dt->st);
    free(dt);
}

static size_t dt_memory(const void *state)
{
    const struct dns_tunnel *dt = state;
    return sizeof(*dt) + keymap_memory(dt->st);
}

struct name_shape {
    size_t sub_len;    /* characters of the subdomain part, dots included */
    size_t longest;    /* longest label of it */
    double entropy;    /* bits per character over its letters and digits */
    double digits;     /* fraction of digits among them */
    size_t alnum;      /* letters and digits */
};

static void shape(const char *sub, size_t len, struct name_shape *s)
{
    /* Only the counts of characters seen are set (and read), and the sum
     * visits them in character order, as a walk of all 256 would. */
    unsigned counts[256];
    uint64_t seen[4] = {0};
    size_t label = 0;
    memset(s, 0, sizeof(*s));
    s->sub_len = len;
    size_t ndig = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)sub[i];
        if (c == '.') {
            label = 0;
            continue;
        }
        if (++label > s->longest)
            s->longest = label;
        if (isalnum(c) || c == '_' || c == '\\') {
            uint64_t bit = 1ULL << (c & 63);
            if (!(seen[c >> 6] & bit)) {
                seen[c >> 6] |= bit;
                counts[c] = 0;
            }
            counts[c]++;
            s->alnum++;
            if (isdigit(c))
                ndig++;
        }
    }
    if (!s->alnum)
        return;
    double n = (double)s->alnum;
    for (unsigned w = 0; w < 4; w++) {
        for (uint64_t m = seen[w]; m; m &= m - 1) {
            unsigned c = w * 64 + (unsigned)__builtin_ctzll(m);
            double q = counts[c] / n;
            s->entropy -= q * log2(q);
        }
    }
    s->digits = (double)ndig / n;
}

static bool random_looking(const struct dns_tunnel *dt, const struct name_shape *s)
{
    return (s->digits >= 0.15 && s->digits <= 0.85) || s->entropy >= dt->min_entropy;
}

static bool odd_type(uint16_t t)
{
    return t == 10 || t == 16 || t == 15 || t == 5 || t == 255;
}

static bool ignored(const struct dns_tunnel *dt, const char *name)
{
    for (size_t i = 0; i < dt->n_ignore; i++) {
        if (domain_is_within(name, dt->ignore[i]))
            return true;
    }
    return false;
}

static void report(struct dns_tunnel *dt, struct detect_ctx *ctx, const struct dt_key *k,
                   struct dt_state *s)
{
    struct event_report r;
    char src[ADDR_STR_LEN];
    double names = distinct_estimate(s->names, DT_NAME_WORDS);
    bool volume = s->suspicious < dt->min_suspicious;
    (void)dt;
    event_report_init(&r, WARD__EVENT_KIND__DNS_TUNNEL, volume ? "volume" : "encoded_names",
                      EVENT_KEY_SRC | EVENT_KEY_DOMAIN);
    r.src = k->client;
    r.dst = s->resolver;
    r.proto = 17;
    event_report_port(&r, 53);
    snprintf(r.domain, sizeof(r.domain), "%s", k->domain);
    r.first_usec = s->first_usec;
    r.last_usec = s->last_usec;
    r.count = s->queries;
    r.packets = s->queries;
    r.bytes = s->sub_chars;
    addr_format(&k->client, src, sizeof(src));
    double secs = (double)(s->last_usec - s->first_usec) / 1e6;
    event_report_summary(&r, "%s sent %u queries under %s in %.0f s: %.0f distinct names, %u "
                             "encoded-looking, longest subdomain %u characters",
                         src, s->queries, k->domain, secs, names, s->suspicious,
                         (unsigned)s->longest);
    event_report_figure(&r, "queries", s->queries);
    event_report_figure(&r, "distinct_names", names);
    event_report_figure(&r, "encoded_queries", s->suspicious);
    event_report_figure(&r, "odd_type_queries", s->odd_types);
    event_report_figure(&r, "binary_queries", s->binary);
    event_report_figure(&r, "odd_answers", s->odd_answers);
    event_report_figure(&r, "longest_subdomain", s->longest);
    event_report_figure(&r, "mean_subdomain_len", s->queries ? (double)s->sub_chars / s->queries : 0);
    event_report_figure(&r, "mean_entropy",
                        s->suspicious ? s->entropy_sum / s->suspicious : 0);
    r.severity = 65;
    r.confidence = s->binary || s->suspicious >= 4 * dt->min_suspicious ? 90 : 75;
    detect_report(ctx, &r);
    s->reported = true;
    s->dirty = false;
}

static void on_query(struct dns_tunnel *dt, struct detect_ctx *ctx, const struct pkt *p)
{
    const struct pkt_dns *d = &p->dns;
    struct dt_key k;
    char reg[PKT_NAME_MAX];

    if (!d->qname_len || ignored(dt, d->qname))
        return;
    if (!domain_registered(d->qname, reg, sizeof(reg)))
        return;
    size_t rlen = strlen(reg);
    size_t qlen = d->qname_len;
    size_t sub_len = qlen > rlen ? qlen - rlen - 1 : 0; /* without the joining dot */
    memset(&k, 0, sizeof(k));
    k.client = p->src;
    memcpy(k.domain, reg, strnlen(reg, sizeof(k.domain) - 1));
    bool created;
    struct dt_state *s = keymap_get(dt->st, &k, ctx->now_usec, true, &created);
    if (!created && !s->reported && ctx->now_usec > s->window_start + dt->window_usec) {
        memset(s, 0, sizeof(*s));
        created = true;
    }
    if (created) {
        s->window_start = ctx->now_usec;
        s->first_usec = ctx->now_usec;
    }
    s->last_usec = ctx->now_usec;
    s->resolver = p->dst;
    s->queries++;
    s->sub_chars += sub_len;
    if (sub_len > s->longest)
        s->longest = (uint16_t)sub_len;
    uint64_t h = keymap_hash(d->qname, qlen, 11);
    if (distinct_add(s->names, DT_NAME_WORDS, h))
        s->names_set++;

    struct name_shape sh;
    shape(d->qname, sub_len, &sh);
    bool odd = odd_type(d->qtype);
    bool binary = d->qname_binary || strstr(d->qname, "\\x") != NULL;
    bool rnd = random_looking(dt, &sh);
    bool suspicious = (binary && sub_len > 0) || (sub_len >= dt->long_name && rnd) ||
                      (sh.longest >= dt->long_label && rnd) ||
                      (odd && sub_len >= 12 && rnd) || (d->qtype == 10 && sub_len >= 4);
    if (odd)
        s->odd_types++;
    if (binary)
        s->binary++;
    if (suspicious) {
        s->suspicious++;
        s->entropy_sum += sh.entropy;
        if (distinct_add(s->odd_names, DT_NAME_WORDS, h))
            s->odd_names_set++;
    }
    if (s->reported) {
        s->dirty = true;
        dt->any_dirty = true;
        return;
    }
    double need = detect_scaled(ctx, (double)dt->min_suspicious);
    double odd_distinct = distinct_estimate_set(DT_NAME_WORDS, s->odd_names_set);
    bool enc = (double)s->suspicious >= (need < 1 ? 1 : need) && odd_distinct * 2 >= need &&
               s->suspicious * 3 >= s->queries;
    bool vol = distinct_estimate_set(DT_NAME_WORDS, s->names_set) >=
                   detect_scaled(ctx, (double)dt->volume_names) &&
               s->sub_chars >= 12ull * s->queries;
    if (enc || vol)
        report(dt, ctx, &k, s);
}

static void on_answer(struct dns_tunnel *dt, struct detect_ctx *ctx, const struct pkt *p)
{
    const struct pkt_dns *d = &p->dns;
    struct dt_key k;
    char reg[PKT_NAME_MAX];
    unsigned odd = 0;
    for (unsigned i = 0; i < d->n_answers && i < PKT_DNS_MAX_ANSWERS; i++) {
        uint16_t t = d->answers[i].type;
        if (t == 10 || t == 16 || t == 5 || t == 15)
            odd++;
    }
    if (!odd || !d->qname_len || !domain_registered(d->qname, reg, sizeof(reg)))
        return;
    memset(&k, 0, sizeof(k));
    k.client = p->dst;
    memcpy(k.domain, reg, strnlen(reg, sizeof(k.domain) - 1));
    struct dt_state *s = keymap_get(dt->st, &k, ctx->now_usec, false, NULL);
    if (s)
        s->odd_answers += odd;
}

static void dt_packet(void *state, struct detect_ctx *ctx, const struct pkt *p, struct flow *f,
                      int dir)
{
    struct dns_tunnel *dt = state;
    (void)f;
    (void)dir;
    if (!(p->layers & PKT_DNS))
        return;
    if (!p->dns.is_response && p->dport == 53)
        on_query(dt, ctx, p);
    else if (p->dns.is_response && p->sport == 53)
        on_answer(dt, ctx, p);
}

static uint64_t dt_wants(const void *state)
{
    (void)state;
    return PKT_DNS;
}

static void dt_tick(void *state, struct detect_ctx *ctx, uint64_t now_usec)
{
    struct dns_tunnel *dt = state;
    (void)now_usec;
    if (!dt->any_dirty)
        return;
    dt->any_dirty = false;
    for (size_t i = 0; i < keymap_slots(dt->st); i++) {
        const void *key;
        struct dt_state *s = keymap_at(dt->st, i, &key, NULL);
        if (s && s->dirty)
            report(dt, ctx, key, s);
    }
}

const struct detector detect_dns_tunnel = {
    .name = "dns_tunnel",
    .init = dt_init,
    .fini = dt_fini,
    .on_packet = dt_packet,
    .wants = dt_wants,
    .on_tick = dt_tick,
    .memory = dt_memory,
};
