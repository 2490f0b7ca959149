/*
 * detect_ioc -- traffic to or from listed indicators: addresses and networks
 * ([detect.ioc] addresses = FILE) and domains (domains = FILE), matched on flow
 * endpoints, DNS query names, TLS SNI and HTTP Host.
 *
 * File format: one indicator per line; '#' starts a comment; blank lines are
 * ignored.  Addresses are IPv4/IPv6 with an optional /prefix.  A domain matches
 * itself and every name under it ("example.org" matches "a.b.example.org"); a
 * leading "*." or "." is accepted and ignored.  A line that does not parse is an
 * error naming file:line; at most `max_entries` indicators per file.
 *
 * Lists are loaded by init and again by reload (SIGHUP): the new lists replace
 * the old only if both files load, so a bad edit keeps the old lists in force.
 * Single addresses live in an open-addressing hash set, networks in a short list,
 * domains in a hash set of strings probed once per label of the name.  Each flow
 * is checked on its first packet each way, names when a decoder found one.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detect.h"
#include "event.h"
#include "keymap.h"
#include "log.h"

#define IOC_SECTION "detect.ioc"
#define IOC_LINE_MAX 512

struct ioc_lists {
    struct addr *addrs;      /* open addressing, family 0 = empty */
    size_t addr_cap;         /* slots (power of two) */
    size_t n_addrs;          /* single addresses */
    struct cidr_set nets;    /* networks */
    char **names;            /* open addressing, NULL = empty */
    size_t name_cap;         /* slots (power of two) */
    size_t n_names;          /* domains */
};

struct ioc {
    char addr_path[512];     /* addresses file, "" if none */
    char name_path[512];     /* domains file, "" if none */
    uint64_t max_entries;    /* per file */
    struct ioc_lists *lists; /* in force */
    uint64_t hits;           /* matches */
};

static void lists_free(struct ioc_lists *l)
{
    if (!l)
        return;
    free(l->addrs);
    cidr_set_fini(&l->nets);
    for (size_t i = 0; l->names && i < l->name_cap; i++)
        free(l->names[i]);
    free(l->names);
    free(l);
}

static size_t pow2_at_least(size_t n)
{
    size_t c = 16;
    while (c < n)
        c <<= 1;
    return c;
}

static bool addr_set_has(const struct ioc_lists *l, const struct addr *a)
{
    if (!l->n_addrs)
        return false;
    size_t mask = l->addr_cap - 1;
    for (size_t i = keymap_hash(a, sizeof(*a), 1) & mask;; i = (i + 1) & mask) {
        if (!l->addrs[i].family)
            return false;
        if (addr_eq(&l->addrs[i], a))
            return true;
    }
}

static void addr_set_put(struct ioc_lists *l, const struct addr *a)
{
    size_t mask = l->addr_cap - 1;
    for (size_t i = keymap_hash(a, sizeof(*a), 1) & mask;; i = (i + 1) & mask) {
        if (!l->addrs[i].family) {
            l->addrs[i] = *a;
            l->n_addrs++;
            return;
        }
        if (addr_eq(&l->addrs[i], a))
            return;
    }
}

static const char *name_set_find(const struct ioc_lists *l, const char *name, size_t len)
{
    if (!l->n_names)
        return NULL;
    size_t mask = l->name_cap - 1;
    for (size_t i = keymap_hash(name, len, 2) & mask;; i = (i + 1) & mask) {
        const char *s = l->names[i];
        if (!s)
            return NULL;
        if (strlen(s) == len && memcmp(s, name, len) == 0)
            return s;
    }
}

static int name_set_put(struct ioc_lists *l, const char *name)
{
    size_t len = strlen(name);
    if (name_set_find(l, name, len))
        return 0;
    size_t mask = l->name_cap - 1;
    size_t i = keymap_hash(name, len, 2) & mask;
    while (l->names[i])
        i = (i + 1) & mask;
    l->names[i] = strdup(name);
    if (!l->names[i])
        return -ENOMEM;
    l->n_names++;
    return 0;
}

/* Reads the non-comment lines of path; calls fn on each.  Counts them in *n. */
typedef int (*line_fn)(struct ioc_lists *l, const char *item, const char *path, unsigned line);

static int each_line(const char *path, struct ioc_lists *l, line_fn fn, size_t *count,
                     uint64_t max)
{
    FILE *fp = fopen(path, "r");
    char buf[IOC_LINE_MAX];
    unsigned line = 0;
    int rc = 0;
    if (!fp) {
        rc = -errno;
        log_err("ioc: cannot open %s: %s", path, strerror(errno));
        return rc;
    }
    *count = 0;
    while (fgets(buf, sizeof(buf), fp)) {
        line++;
        char *hash = strchr(buf, '#');
        if (hash)
            *hash = '\0';
        char *s = buf;
        while (isspace((unsigned char)*s))
            s++;
        char *e = s + strlen(s);
        while (e > s && isspace((unsigned char)e[-1]))
            *--e = '\0';
        if (!*s)
            continue;
        if (++*count > max) {
            log_err("ioc: %s:%u: more than %llu indicators", path, line,
                    (unsigned long long)max);
            rc = -E2BIG;
            break;
        }
        if (fn && (rc = fn(l, s, path, line)) < 0)
            break;
    }
    fclose(fp);
    return rc;
}

static int put_addr(struct ioc_lists *l, const char *item, const char *path, unsigned line)
{
    struct cidr c;
    if (cidr_parse(item, &c) < 0) {
        log_err("ioc: %s:%u: '%s' is not an address or network", path, line, item);
        return -EINVAL;
    }
    if ((c.net.family == 4 && c.bits == 32) || (c.net.family == 6 && c.bits == 128)) {
        addr_set_put(l, &c.net);
        return 0;
    }
    return cidr_set_add(&l->nets, &c);
}

static int put_name(struct ioc_lists *l, const char *item, const char *path, unsigned line)
{
    char name[IOC_LINE_MAX];
    const char *line_text = item;
    if (strncmp(item, "*.", 2) == 0)
        item += 2;
    else if (item[0] == '.')
        item++;
    size_t n = strlen(item);
    while (n && item[n - 1] == '.') /* "example.org." is example.org */
        n--;
    if (!n) {
        log_err("ioc: %s:%u: empty domain name", path, line);
        return -EINVAL;
    }
    if (n >= sizeof(name)) {
        log_err("ioc: %s:%u: domain name longer than %zu characters", path, line,
                sizeof(name) - 1);
        return -EINVAL;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)item[i];
        if (!(isalnum(c) || c == '-' || c == '.' || c == '_')) {
            log_err("ioc: %s:%u: '%s' is not a domain name", path, line, line_text);
            return -EINVAL;
        }
        name[i] = (char)tolower(c);
    }
    name[n] = '\0';
    return name_set_put(l, name);
}

static int lists_load(const struct ioc *ioc, struct ioc_lists **out)
{
    struct ioc_lists *l = calloc(1, sizeof(*l));
    size_t n = 0;
    int rc = 0;
    *out = NULL;
    if (!l)
        return -ENOMEM;
    cidr_set_init(&l->nets);
    if (ioc->addr_path[0]) {
        if ((rc = each_line(ioc->addr_path, l, NULL, &n, ioc->max_entries)) < 0)
            goto fail;
        l->addr_cap = pow2_at_least(n * 2 + 1);
        l->addrs = calloc(l->addr_cap, sizeof(*l->addrs));
        if (!l->addrs) {
            rc = -ENOMEM;
            goto fail;
        }
        if ((rc = each_line(ioc->addr_path, l, put_addr, &n, ioc->max_entries)) < 0)
            goto fail;
    }
    if (ioc->name_path[0]) {
        if ((rc = each_line(ioc->name_path, l, NULL, &n, ioc->max_entries)) < 0)
            goto fail;
        l->name_cap = pow2_at_least(n * 2 + 1);
        l->names = calloc(l->name_cap, sizeof(*l->names));
        if (!l->names) {
            rc = -ENOMEM;
            goto fail;
        }
        if ((rc = each_line(ioc->name_path, l, put_name, &n, ioc->max_entries)) < 0)
            goto fail;
    }
    *out = l;
    return 0;
fail:
    lists_free(l);
    return rc;
}

static int ioc_init(struct config *cfg, void **state)
{
    struct ioc *ioc = calloc(1, sizeof(*ioc));
    int rc;
    *state = ioc;
    if (!ioc)
        return -ENOMEM;
    const char *a = config_get_str(cfg, IOC_SECTION, "addresses", "");
    const char *d = config_get_str(cfg, IOC_SECTION, "domains", "");
    if ((rc = config_get_u64(cfg, IOC_SECTION, "max_entries", 1000000, &ioc->max_entries)) < 0)
        return rc;
    if (strlen(a) >= sizeof(ioc->addr_path) || strlen(d) >= sizeof(ioc->name_path))
        return config_fail(cfg, IOC_SECTION, strlen(a) >= sizeof(ioc->addr_path) ? "addresses"
                                                                                   : "domains",
                           "path too long");
    snprintf(ioc->addr_path, sizeof(ioc->addr_path), "%s", a);
    snprintf(ioc->name_path, sizeof(ioc->name_path), "%s", d);
    rc = lists_load(ioc, &ioc->lists);
    if (rc < 0)
        return config_fail(cfg, IOC_SECTION, a[0] ? "addresses" : "domains",
                           "cannot load the indicator lists: %s (details logged)",
                           strerror(-rc));
    return 0;
}

static void ioc_fini(void *state)
{
    struct ioc *ioc = state;
    if (!ioc)
        return;
    lists_free(ioc->lists);
    free(ioc);
}

static int ioc_reload(void *state)
{
    struct ioc *ioc = state;
    struct ioc_lists *l;
    int rc = lists_load(ioc, &l);
    if (rc < 0) {
        log_warn("ioc: reload failed (%s); the previous lists stay in force", strerror(-rc));
        return rc;
    }
    lists_free(ioc->lists);
    ioc->lists = l;
    log_info("ioc: %zu addresses, %zu networks, %zu domains", l->n_addrs, l->nets.count,
             l->n_names);
    return 0;
}

static size_t ioc_memory(const void *state)
{
    const struct ioc *ioc = state;
    const struct ioc_lists *l = ioc->lists;
    size_t n = sizeof(*ioc);
    if (l)
        n += sizeof(*l) + l->addr_cap * sizeof(struct addr) + l->nets.cap * sizeof(struct cidr) +
             l->name_cap * (sizeof(char *) + 32);
    return n;
}

/* The listed domain that name falls under, or NULL. */
static const char *match_name(const struct ioc_lists *l, const char *name)
{
    size_t len = strlen(name);
    while (len && name[len - 1] == '.')
        len--;
    const char *p = name;
    for (unsigned labels = 0; labels < 64 && len; labels++) {
        const char *hit = name_set_find(l, p, len);
        if (hit)
            return hit;
        const char *dot = memchr(p, '.', len);
        if (!dot)
            break;
        len -= (size_t)(dot + 1 - p);
        p = dot + 1;
    }
    return NULL;
}

/* who touched what: who is the host reported, other the indicator's side. */
static void hit(struct ioc *ioc, struct detect_ctx *ctx, const struct pkt *p,
                const struct addr *who, const struct addr *other, const char *indicator,
                const char *where)
{
    struct event_report r;
    char src[ADDR_STR_LEN], dst[ADDR_STR_LEN];
    ioc->hits++;
    event_report_init(&r, WARD__EVENT_KIND__IOC_HIT, where, EVENT_KEY_SRC | EVENT_KEY_DOMAIN);
    r.src = *who;
    r.dst = *other;
    r.proto = p->proto;
    if (p->dport)
        event_report_port(&r, addr_eq(who, &p->src) ? p->dport : p->sport);
    event_report_target(&r, other);
    snprintf(r.domain, sizeof(r.domain), "%s", indicator);
    r.first_usec = ctx->now_usec;
    r.last_usec = ctx->now_usec;
    r.count = 1;
    addr_format(who, src, sizeof(src));
    addr_format(other, dst, sizeof(dst));
    event_report_summary(&r, "%s <-> %s matched the indicator %s (%s)", src, dst, indicator, where);
    event_report_figure(&r, "hits", (double)ioc->hits);
    r.severity = 75;
    r.confidence = 80;
    detect_report(ctx, &r);
}

static void ioc_packet(void *state, struct detect_ctx *ctx, const struct pkt *p, struct flow *f,
                       int dir)
{
    struct ioc *ioc = state;
    const struct ioc_lists *l = ioc->lists;
    if (!l || !(p->layers & (PKT_IP4 | PKT_IP6)))
        return;
    if ((l->n_addrs || l->nets.count) && (!f || f->pkts[dir] == 1)) {
        for (int side = 0; side < 2; side++) {
            const struct addr *a = side ? &p->src : &p->dst;
            const struct addr *peer = side ? &p->dst : &p->src;
            if (addr_set_has(l, a) || (l->nets.count && cidr_set_contains(&l->nets, a))) {
                char s[ADDR_STR_LEN];
                hit(ioc, ctx, p, peer, a, addr_format(a, s, sizeof(s)), "address");
                break;
            }
        }
    }
    if (!l->n_names)
        return;
    const char *name = NULL, *where = NULL;
    if ((p->layers & PKT_DNS) && !p->dns.is_response) {
        name = p->dns.qname;
        where = "dns";
    } else if (p->layers & PKT_TLS_HELLO) {
        name = p->tls.sni;
        where = "tls_sni";
    } else if (p->layers & PKT_HTTP) {
        name = p->http.host;
        where = "http_host";
    }
    if (!name || !name[0])
        return;
    char host[PKT_NAME_MAX];
    snprintf(host, sizeof(host), "%s", name);
    char *colon = strchr(host, ':'); /* Host: name:port */
    if (colon)
        *colon = '\0';
    for (char *c = host; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    const char *ind = match_name(l, host);
    if (ind)
        hit(ioc, ctx, p, &p->src, &p->dst, ind, where);
}

const struct detector detect_ioc = {
    .name = "ioc",
    .init = ioc_init,
    .fini = ioc_fini,
    .on_packet = ioc_packet,
    .memory = ioc_memory,
    .reload = ioc_reload,
};
