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
 *
 * The console may push indicators too (IntelUpdate, detect_engine_intel()).
 * They are a second set, kept apart from the files: a reload does not touch
 * them, and a `replace` update replaces only them.  An update is applied whole
 * or not at all (one bad item, an addition to a version the sensor does not
 * have, or a set past [detect.ioc] max_pushed refuses it) and is written to
 * DETECT_IOC_PUSHED_FILE in the state directory before it takes effect, so a
 * restart keeps it.  That file is
 *
 *   "WARDIOC1" | be64 version | be32 addresses | be32 domains
 *   | (be16 len | text) per indicator, addresses first | be64 FNV-1a of all before
 *
 * and is checked whole when read; a damaged one is renamed *.bad and the sensor
 * starts without pushed indicators until the console sends them again (it does
 * when a heartbeat shows a version it did not expect).  Events from a pushed
 * indicator say "list: console" in their summary and carry the figure
 * list_console = 1.
 * Single addresses live in an open-addressing hash set, networks in a short list,
 * domains in a hash set of strings probed once per label of the name.  Each flow
 * is checked on its first packet each way, names when a decoder found one.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "detect.h"
#include "event.h"
#include "file.h"
#include "keymap.h"
#include "log.h"
#include "rd.h"

#define IOC_SECTION "detect.ioc"
#define IOC_LINE_MAX 512
#define IOC_DEFAULT_MAX_PUSHED 65536
#define IOC_MAX_PUSHED_CEILING (1u << 22)
#define IOC_PUSHED_MAGIC "WARDIOC1"
#define IOC_PUSHED_FILE_MAX (64u << 20) /* bytes of a persisted set */

struct ioc_lists {
    struct addr *addrs;      /* open addressing, family 0 = empty */
    size_t addr_cap;         /* slots (power of two) */
    size_t n_addrs;          /* single addresses */
    struct cidr_set nets;    /* networks */
    char **names;            /* open addressing, NULL = empty */
    size_t name_cap;         /* slots (power of two) */
    size_t n_names;          /* domains */
};

/* The console-pushed indicators as text, the form they are persisted in. */
struct pushed_set {
    char **addrs;   /* canonical address or network ("192.0.2.0/24") */
    size_t n_addrs; /* entries in addrs */
    char **names;   /* lowercased domains */
    size_t n_names; /* entries in names */
    size_t cap;     /* slots allocated in each of addrs and names */
    uint64_t version; /* the console's version of the set */
};

struct ioc {
    char addr_path[512];     /* addresses file, "" if none */
    char name_path[512];     /* domains file, "" if none */
    uint64_t max_entries;    /* per file */
    struct ioc_lists *lists; /* in force, from the files */
    uint64_t hits;           /* matches */
    uint64_t max_pushed;     /* [detect.ioc] max_pushed: pushed indicators, all kinds */
    char state_dir[512];     /* where the pushed set is persisted, "" for memory only */
    struct pushed_set pushed;      /* console-pushed indicators, as text */
    struct ioc_lists *pushed_lists; /* the same, for matching; NULL when empty */
    uint64_t pushed_updates; /* updates applied */
    uint64_t pushed_refused; /* updates refused */
    uint64_t pushed_hits;    /* matches on a pushed indicator */
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

/*
 * item as a listed domain, lowercased into name (cap bytes): 0, -ENODATA (empty),
 * -ENAMETOOLONG, or -EINVAL (not a name).  "*.x" and ".x" are x; "x." is x.
 */
static int name_item(const char *item, char *name, size_t cap)
{
    if (strncmp(item, "*.", 2) == 0)
        item += 2;
    else if (item[0] == '.')
        item++;
    size_t n = strlen(item);
    while (n && item[n - 1] == '.') /* "example.org." is example.org */
        n--;
    if (!n)
        return -ENODATA;
    if (n >= cap)
        return -ENAMETOOLONG;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)item[i];
        if (!(isalnum(c) || c == '-' || c == '.' || c == '_'))
            return -EINVAL;
        name[i] = (char)tolower(c);
    }
    name[n] = '\0';
    return 0;
}

static int put_name(struct ioc_lists *l, const char *item, const char *path, unsigned line)
{
    char name[IOC_LINE_MAX];
    int rc = name_item(item, name, sizeof(name));
    if (rc == -ENODATA) {
        log_err("ioc: %s:%u: empty domain name", path, line);
        return -EINVAL;
    }
    if (rc == -ENAMETOOLONG) {
        log_err("ioc: %s:%u: domain name longer than %zu characters", path, line,
                sizeof(name) - 1);
        return -EINVAL;
    }
    if (rc < 0) {
        log_err("ioc: %s:%u: '%s' is not a domain name", path, line, item);
        return -EINVAL;
    }
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

/* ------------------------------------------------------------ pushed indicators */

static void pushed_fini(struct pushed_set *ps)
{
    for (size_t i = 0; i < ps->n_addrs; i++)
        free(ps->addrs[i]);
    for (size_t i = 0; i < ps->n_names; i++)
        free(ps->names[i]);
    free(ps->addrs);
    free(ps->names);
    memset(ps, 0, sizeof(*ps));
}

static int pushed_reserve(struct pushed_set *ps, size_t cap)
{
    if (cap <= ps->cap)
        return 0;
    char **a = reallocarray(ps->addrs, cap, sizeof(*a));
    if (!a)
        return -ENOMEM;
    ps->addrs = a;
    char **n = reallocarray(ps->names, cap, sizeof(*n));
    if (!n)
        return -ENOMEM;
    ps->names = n;
    ps->cap = cap;
    return 0;
}

/* item as an indicator address, in canonical text (text: ADDR_STR_LEN + 4). */
static int addr_item(const char *item, struct cidr *c, char *text, size_t cap)
{
    char a[ADDR_STR_LEN];
    if (cidr_parse(item, c) < 0)
        return -EINVAL;
    addr_format(&c->net, a, sizeof(a));
    bool single = (c->net.family == 4 && c->bits == 32) || (c->net.family == 6 && c->bits == 128);
    if (single)
        snprintf(text, cap, "%s", a);
    else
        snprintf(text, cap, "%s/%u", a, (unsigned)c->bits);
    return 0;
}

static int lists_put_addr(struct ioc_lists *l, const struct cidr *c)
{
    if ((c->net.family == 4 && c->bits == 32) || (c->net.family == 6 && c->bits == 128)) {
        addr_set_put(l, &c->net);
        return 0;
    }
    return cidr_set_add(&l->nets, c);
}

/* Matching tables for a pushed set; *out NULL when the set is empty. */
static int lists_from_pushed(const struct pushed_set *ps, struct ioc_lists **out)
{
    *out = NULL;
    if (!ps->n_addrs && !ps->n_names)
        return 0;
    struct ioc_lists *l = calloc(1, sizeof(*l));
    if (!l)
        return -ENOMEM;
    cidr_set_init(&l->nets);
    l->addr_cap = pow2_at_least(ps->n_addrs * 2 + 1);
    l->name_cap = pow2_at_least(ps->n_names * 2 + 1);
    l->addrs = calloc(l->addr_cap, sizeof(*l->addrs));
    l->names = calloc(l->name_cap, sizeof(*l->names));
    int rc = l->addrs && l->names ? 0 : -ENOMEM;
    for (size_t i = 0; rc == 0 && i < ps->n_addrs; i++) {
        struct cidr c;
        rc = cidr_parse(ps->addrs[i], &c) < 0 ? -EINVAL : lists_put_addr(l, &c);
    }
    for (size_t i = 0; rc == 0 && i < ps->n_names; i++)
        rc = name_set_put(l, ps->names[i]);
    if (rc < 0) {
        lists_free(l);
        return rc;
    }
    *out = l;
    return 0;
}

/* An item for a message: at most 64 printable characters. */
static const char *shown(const char *item, char *buf, size_t cap)
{
    size_t n = 0;
    if (!item)
        return "(missing)";
    for (; n < 64 && n + 4 < cap && item[n]; n++)
        buf[n] = isprint((unsigned char)item[n]) ? item[n] : '?';
    snprintf(buf + n, cap - n, "%s", item[n] ? "..." : "");
    return buf;
}

/*
 * Adds one indicator (already canonical) to ps unless seen (a set of "a:" and
 * "d:" keys) holds it.  -E2BIG when ps would pass max.
 */
static int pushed_add(struct pushed_set *ps, struct ioc_lists *seen, bool is_addr,
                      const char *text, uint64_t max)
{
    char key[IOC_LINE_MAX + 3];
    snprintf(key, sizeof(key), "%s%s", is_addr ? "a:" : "d:", text);
    if (name_set_find(seen, key, strlen(key)))
        return 0;
    if (ps->n_addrs + ps->n_names >= max)
        return -E2BIG;
    /* addrs and names share one capacity and grow together. */
    size_t need = WARD_MAX(ps->n_addrs, ps->n_names) + 1;
    if (need > ps->cap && pushed_reserve(ps, need < 64 ? 64 : need * 2) < 0)
        return -ENOMEM;
    char *copy = strdup(text);
    if (!copy || name_set_put(seen, key) < 0) {
        free(copy);
        return -ENOMEM;
    }
    if (is_addr)
        ps->addrs[ps->n_addrs++] = copy;
    else
        ps->names[ps->n_names++] = copy;
    return 0;
}

/*
 * The set an update makes: old's indicators (unless u replaces them) and u's,
 * without duplicates.  Every item of u is checked before anything is built.
 * 0, or a negative errno with the reason in detail.
 */
static int pushed_build(const struct pushed_set *old, const struct detect_intel *u, uint64_t max,
                        struct pushed_set *out, char *detail, size_t cap)
{
    char text[IOC_LINE_MAX + 8], buf[80];
    struct cidr c;
    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < u->n_addresses; i++) {
        if (!u->addresses[i] || addr_item(u->addresses[i], &c, text, sizeof(text)) < 0) {
            snprintf(detail, cap,
                     "refused: address %zu of %zu, '%s', is not an IPv4/IPv6 address or "
                     "network; nothing applied",
                     i + 1, u->n_addresses, shown(u->addresses[i], buf, sizeof(buf)));
            return -EINVAL;
        }
    }
    for (size_t i = 0; i < u->n_domains; i++) {
        int rc = u->domains[i] ? name_item(u->domains[i], text, 254) : -EINVAL;
        if (rc < 0) {
            snprintf(detail, cap, "refused: domain %zu of %zu, '%s', %s; nothing applied", i + 1,
                     u->n_domains, shown(u->domains[i], buf, sizeof(buf)),
                     rc == -ENODATA        ? "is empty"
                     : rc == -ENAMETOOLONG ? "is longer than 253 characters"
                                           : "is not a domain name");
            return -EINVAL;
        }
    }
    uint64_t total = (u->replace ? 0 : old->n_addrs + old->n_names) + u->n_addresses +
                     u->n_domains;
    struct ioc_lists seen = {0};
    seen.name_cap = pow2_at_least((size_t)WARD_MIN(total, max + 1) * 2 + 1);
    seen.names = calloc(seen.name_cap, sizeof(*seen.names));
    int rc = seen.names ? 0 : -ENOMEM;
    for (size_t i = 0; rc == 0 && !u->replace && i < old->n_addrs; i++)
        rc = pushed_add(out, &seen, true, old->addrs[i], max);
    for (size_t i = 0; rc == 0 && !u->replace && i < old->n_names; i++)
        rc = pushed_add(out, &seen, false, old->names[i], max);
    for (size_t i = 0; rc == 0 && i < u->n_addresses; i++) {
        (void)addr_item(u->addresses[i], &c, text, sizeof(text)); /* checked above */
        rc = pushed_add(out, &seen, true, text, max);
    }
    for (size_t i = 0; rc == 0 && i < u->n_domains; i++) {
        (void)name_item(u->domains[i], text, 254);
        rc = pushed_add(out, &seen, false, text, max);
    }
    for (size_t i = 0; i < seen.name_cap; i++)
        free(seen.names[i]);
    free(seen.names);
    if (rc == -E2BIG)
        snprintf(detail, cap,
                 "refused: the pushed set would hold more than %llu indicators "
                 "([detect.ioc] max_pushed); nothing applied",
                 (unsigned long long)max);
    else if (rc < 0)
        snprintf(detail, cap, "refused: %s; nothing applied", strerror(-rc));
    if (rc < 0)
        pushed_fini(out);
    return rc;
}

/* ---- the persisted set */

static uint64_t fnv1a64(const uint8_t *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

static void put_be(uint8_t **w, uint64_t v, int bytes)
{
    for (int i = bytes - 1; i >= 0; i--)
        *(*w)++ = (uint8_t)(v >> (8 * i));
}

/* The file's bytes for ps (malloc'd into *out). */
static int pushed_encode(const struct pushed_set *ps, uint8_t **out, size_t *len)
{
    size_t n = 8 + 8 + 4 + 4 + 8;
    for (size_t i = 0; i < ps->n_addrs; i++)
        n += 2 + strlen(ps->addrs[i]);
    for (size_t i = 0; i < ps->n_names; i++)
        n += 2 + strlen(ps->names[i]);
    uint8_t *buf = malloc(n);
    if (!buf)
        return -ENOMEM;
    uint8_t *w = buf;
    memcpy(w, IOC_PUSHED_MAGIC, 8);
    w += 8;
    put_be(&w, ps->version, 8);
    put_be(&w, ps->n_addrs, 4);
    put_be(&w, ps->n_names, 4);
    for (size_t k = 0; k < 2; k++) {
        char *const *items = k ? ps->names : ps->addrs;
        size_t count = k ? ps->n_names : ps->n_addrs;
        for (size_t i = 0; i < count; i++) {
            size_t l = strlen(items[i]);
            put_be(&w, l, 2);
            memcpy(w, items[i], l);
            w += l;
        }
    }
    put_be(&w, fnv1a64(buf, (size_t)(w - buf)), 8);
    *out = buf;
    *len = n;
    return 0;
}

/* Reads one length-prefixed indicator of the file into text (cap bytes). */
static bool rd_item(struct rd *r, char *text, size_t cap)
{
    uint16_t l;
    const uint8_t *p;
    if (!rd_be16(r, &l) || l == 0 || l >= cap || !rd_bytes(r, l, &p) || memchr(p, 0, l))
        return false;
    memcpy(text, p, l);
    text[l] = '\0';
    return true;
}

/* Parses and checks a persisted set.  0, or -EINVAL with the reason in *why. */
static int pushed_parse(const uint8_t *buf, size_t len, uint64_t max, struct pushed_set *out,
                        const char **why)
{
    struct rd r = rd_make(buf, len);
    const uint8_t *magic;
    uint64_t version, sum;
    uint32_t na, nn;
    struct ioc_lists seen = {0};
    int rc = -EINVAL;
    memset(out, 0, sizeof(*out));
    *why = "too short";
    if (len < 32)
        return -EINVAL;
    struct rd tail = rd_make(buf + len - 8, 8);
    if (!rd_be64(&tail, &sum) || sum != fnv1a64(buf, len - 8)) {
        *why = "checksum does not match";
        return -EINVAL;
    }
    r = rd_make(buf, len - 8);
    if (!rd_bytes(&r, 8, &magic) || memcmp(magic, IOC_PUSHED_MAGIC, 8) != 0) {
        *why = "not a pushed-indicator file";
        return -EINVAL;
    }
    if (!rd_be64(&r, &version) || !rd_be32(&r, &na) || !rd_be32(&r, &nn))
        return -EINVAL;
    if ((uint64_t)na + nn > max) {
        *why = "more indicators than [detect.ioc] max_pushed";
        return -EINVAL;
    }
    /* Each indicator takes at least 3 bytes: a count the file cannot hold is a lie. */
    if (((uint64_t)na + nn) * 3 > rd_left(&r)) {
        *why = "counts larger than the file";
        return -EINVAL;
    }
    seen.name_cap = pow2_at_least(((size_t)na + nn) * 2 + 1);
    seen.names = calloc(seen.name_cap, sizeof(*seen.names));
    if (!seen.names) {
        *why = "out of memory";
        return -ENOMEM;
    }
    out->version = version;
    for (uint64_t i = 0; i < (uint64_t)na + nn; i++) {
        char text[IOC_LINE_MAX], canon[IOC_LINE_MAX + 8];
        struct cidr c;
        bool is_addr = i < na;
        *why = "a damaged indicator";
        if (!rd_item(&r, text, sizeof(text)))
            goto out;
        if (is_addr ? addr_item(text, &c, canon, sizeof(canon)) < 0
                    : name_item(text, canon, 254) < 0) {
            *why = is_addr ? "a bad address" : "a bad domain";
            goto out;
        }
        if ((rc = pushed_add(out, &seen, is_addr, canon, max)) < 0)
            goto out;
        rc = -EINVAL;
    }
    if (rd_left(&r)) {
        *why = "bytes after the last indicator";
        goto out;
    }
    rc = 0;
out:
    for (size_t i = 0; i < seen.name_cap; i++)
        free(seen.names[i]);
    free(seen.names);
    if (rc < 0)
        pushed_fini(out);
    return rc;
}

int detect_ioc_pushed_check(const uint8_t *buf, size_t len, uint64_t max_entries,
                            uint64_t *version, size_t *count)
{
    struct pushed_set ps;
    const char *why;
    int rc = pushed_parse(buf, len, max_entries, &ps, &why);
    if (rc < 0)
        return -EINVAL;
    *version = ps.version;
    *count = ps.n_addrs + ps.n_names;
    pushed_fini(&ps);
    return 0;
}

/* Writes ps to the state directory: a temporary file, fsync, rename, fsync the dir. */
static int pushed_save(const struct ioc *ioc, const struct pushed_set *ps)
{
    char path[600];
    uint8_t *buf;
    size_t len;
    if (!ioc->state_dir[0])
        return 0;
    int rc = pushed_encode(ps, &buf, &len);
    if (rc < 0)
        return rc;
    snprintf(path, sizeof(path), "%s/%s", ioc->state_dir, DETECT_IOC_PUSHED_FILE);
    rc = file_replace(path, buf, len, 0600, FILE_SYNC | FILE_SYNC_DIR);
    if (rc < 0)
        log_err("ioc: cannot write %s: %s", path, strerror(-rc));
    free(buf);
    return rc;
}

static void pushed_swap(struct ioc *ioc, struct pushed_set *ps, struct ioc_lists *l)
{
    pushed_fini(&ioc->pushed);
    lists_free(ioc->pushed_lists);
    ioc->pushed = *ps;
    ioc->pushed_lists = l;
    memset(ps, 0, sizeof(*ps));
}

static int ioc_intel_open(void *state, const char *dir)
{
    struct ioc *ioc = state;
    char path[600], bad[610];
    uint8_t *buf = NULL;
    size_t len = 0;
    const char *why = NULL;
    struct pushed_set ps;
    struct ioc_lists *l = NULL;
    if (strlen(dir) >= sizeof(ioc->state_dir)) {
        log_err("ioc: state directory name too long: %s", dir);
        return -ENAMETOOLONG;
    }
    snprintf(ioc->state_dir, sizeof(ioc->state_dir), "%s", dir);
    snprintf(path, sizeof(path), "%s/%s", dir, DETECT_IOC_PUSHED_FILE);
    int rc = file_read_all(path, IOC_PUSHED_FILE_MAX, &buf, &len);
    if (rc == -ENOENT)
        return 0;
    if (rc == 0 && (rc = pushed_parse(buf, len, ioc->max_pushed, &ps, &why)) == 0 &&
        (rc = lists_from_pushed(&ps, &l)) < 0)
        pushed_fini(&ps);
    free(buf);
    if (rc < 0) {
        snprintf(bad, sizeof(bad), "%s.bad", path);
        log_warn("ioc: %s is damaged (%s); set aside as %s, no pushed indicators until the "
                 "console sends them again",
                 path, why ? why : strerror(-rc), bad);
        (void)rename(path, bad);
        return 0;
    }
    pushed_swap(ioc, &ps, l);
    log_info("ioc: %zu addresses and %zu domains pushed by the console (version %llu)",
             ioc->pushed.n_addrs, ioc->pushed.n_names, (unsigned long long)ioc->pushed.version);
    return 0;
}

static int ioc_intel(void *state, const struct detect_intel *u, char *detail, size_t cap)
{
    struct ioc *ioc = state;
    struct pushed_set ps;
    struct ioc_lists *l = NULL;
    int rc;
    if (!u->replace && u->base_version && u->base_version != ioc->pushed.version) {
        snprintf(detail, cap,
                 "refused: this addition applies to pushed set version %llu, the sensor has "
                 "version %llu; nothing applied (a full resend is needed)",
                 (unsigned long long)u->base_version, (unsigned long long)ioc->pushed.version);
        rc = -ESTALE;
        goto refused;
    }
    if ((rc = pushed_build(&ioc->pushed, u, ioc->max_pushed, &ps, detail, cap)) < 0)
        goto refused;
    /* A replace states the version outright; an unversioned addition keeps the old one. */
    ps.version = u->version || u->replace ? u->version : ioc->pushed.version;
    if ((rc = lists_from_pushed(&ps, &l)) < 0) {
        snprintf(detail, cap, "refused: %s; nothing applied", strerror(-rc));
        pushed_fini(&ps);
        goto refused;
    }
    if ((rc = pushed_save(ioc, &ps)) < 0) {
        snprintf(detail, cap, "refused: cannot persist the pushed indicators in %s: %s; nothing "
                              "applied", ioc->state_dir, strerror(-rc));
        lists_free(l);
        pushed_fini(&ps);
        goto refused;
    }
    size_t added_a = ps.n_addrs - (u->replace ? 0 : WARD_MIN(ps.n_addrs, ioc->pushed.n_addrs));
    size_t added_d = ps.n_names - (u->replace ? 0 : WARD_MIN(ps.n_names, ioc->pushed.n_names));
    pushed_swap(ioc, &ps, l);
    ioc->pushed_updates++;
    snprintf(detail, cap, "%s %zu addresses and %zu domains; %zu addresses and %zu domains "
                          "pushed in force, version %llu",
             u->replace ? "replaced the pushed set with" : "added", added_a, added_d,
             ioc->pushed.n_addrs, ioc->pushed.n_names, (unsigned long long)ioc->pushed.version);
    log_info("ioc: %s", detail);
    return 0;
refused:
    ioc->pushed_refused++;
    log_warn("ioc: console update %s", detail);
    return rc;
}

static void ioc_intel_stats(const void *state, struct detect_intel_stats *out)
{
    const struct ioc *ioc = state;
    out->version = ioc->pushed.version;
    out->addresses = ioc->pushed.n_addrs;
    out->domains = ioc->pushed.n_names;
    out->updates = ioc->pushed_updates;
    out->refused = ioc->pushed_refused;
    out->hits = ioc->pushed_hits;
}

/* ------------------------------------------------------------ detector */

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
    if ((rc = config_get_u64(cfg, IOC_SECTION, "max_pushed", IOC_DEFAULT_MAX_PUSHED,
                             &ioc->max_pushed)) < 0)
        return rc;
    if (ioc->max_pushed > IOC_MAX_PUSHED_CEILING)
        return config_fail(cfg, IOC_SECTION, "max_pushed", "at most %u", IOC_MAX_PUSHED_CEILING);
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
    lists_free(ioc->pushed_lists);
    pushed_fini(&ioc->pushed);
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

static size_t lists_memory(const struct ioc_lists *l)
{
    if (!l)
        return 0;
    return sizeof(*l) + l->addr_cap * sizeof(struct addr) + l->nets.cap * sizeof(struct cidr) +
           l->name_cap * (sizeof(char *) + 32);
}

static size_t ioc_memory(const void *state)
{
    const struct ioc *ioc = state;
    return sizeof(*ioc) + lists_memory(ioc->lists) + lists_memory(ioc->pushed_lists) +
           ioc->pushed.cap * 2 * sizeof(char *) +
           (ioc->pushed.n_addrs + ioc->pushed.n_names) * 32;
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
                const char *where, bool pushed)
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
    if (pushed) {
        ioc->pushed_hits++;
        event_report_summary(&r, "%s <-> %s matched the indicator %s (%s, list: console)", src,
                             dst, indicator, where);
    } else {
        event_report_summary(&r, "%s <-> %s matched the indicator %s (%s)", src, dst, indicator,
                             where);
    }
    event_report_figure(&r, "hits", (double)ioc->hits);
    if (pushed)
        event_report_figure(&r, "list_console", 1);
    r.severity = 75;
    r.confidence = 80;
    detect_report(ctx, &r);
}

static bool has_addrs(const struct ioc_lists *l)
{
    return l && (l->n_addrs || l->nets.count);
}

static bool addr_listed(const struct ioc_lists *l, const struct addr *a)
{
    return has_addrs(l) && (addr_set_has(l, a) || (l->nets.count && cidr_set_contains(&l->nets, a)));
}

static void ioc_packet(void *state, struct detect_ctx *ctx, const struct pkt *p, struct flow *f,
                       int dir)
{
    struct ioc *ioc = state;
    const struct ioc_lists *l = ioc->lists;
    const struct ioc_lists *pl = ioc->pushed_lists; /* NULL unless the console pushed some */
    if (!(p->layers & (PKT_IP4 | PKT_IP6)))
        return;
    if ((has_addrs(l) || has_addrs(pl)) && (!f || f->pkts[dir] == 1)) {
        for (int side = 0; side < 2; side++) {
            const struct addr *a = side ? &p->src : &p->dst;
            const struct addr *peer = side ? &p->dst : &p->src;
            bool file = addr_listed(l, a);
            if (file || addr_listed(pl, a)) {
                char s[ADDR_STR_LEN];
                hit(ioc, ctx, p, peer, a, addr_format(a, s, sizeof(s)), "address", !file);
                break;
            }
        }
    }
    if (!(l && l->n_names) && !(pl && pl->n_names))
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
    const char *ind = l ? match_name(l, host) : NULL;
    bool pushed = false;
    if (!ind && pl) {
        ind = match_name(pl, host);
        pushed = ind != NULL;
    }
    if (ind)
        hit(ioc, ctx, p, &p->src, &p->dst, ind, where, pushed);
}

/* Each flow direction's first packet while there are addresses to match; the
 * packets that carry names while there are names. */
static uint64_t ioc_wants(const void *state)
{
    const struct ioc *ioc = state;
    const struct ioc_lists *l = ioc->lists;
    const struct ioc_lists *pl = ioc->pushed_lists;
    uint64_t w = 0;
    if (has_addrs(l) || has_addrs(pl))
        w |= DETECT_WANT_FIRST | DETECT_WANT_NO_FLOW;
    if ((l && l->n_names) || (pl && pl->n_names))
        w |= PKT_DNS | PKT_TLS_HELLO | PKT_HTTP;
    return w;
}

const struct detector detect_ioc = {
    .name = "ioc",
    .init = ioc_init,
    .fini = ioc_fini,
    .on_packet = ioc_packet,
    .wants = ioc_wants,
    .memory = ioc_memory,
    .reload = ioc_reload,
    .intel_open = ioc_intel_open,
    .intel = ioc_intel,
    .intel_stats = ioc_intel_stats,
};
