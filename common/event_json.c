/*
 * event_json -- see event_json.h.  Two writers of one shape: event_json() builds
 * a jansson tree for programs that go on to edit or embed it; event_json_text()
 * writes the same compact text straight into a buffer for the console's store,
 * which writes one per event inside the batch transaction.  The text writer
 * follows jansson's rules exactly (tests/unit/test_event_json.c compares them):
 * a string that is not valid UTF-8 drops its field or array element, a figure
 * that is not finite is left out, a repeated figure name keeps its first place
 * and its last value, reals print as "%.17g" with ".0" added and the exponent
 * trimmed, and only '"', '\\' and control characters are escaped.
 */
#include "event_json.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "ward.h"

static const struct {
    Ward__EventKind kind;
    const char *name;
} kinds[] = {
    {WARD__EVENT_KIND__PORTSCAN, "portscan"},
    {WARD__EVENT_KIND__BRUTEFORCE, "bruteforce"},
    {WARD__EVENT_KIND__BEACON, "beacon"},
    {WARD__EVENT_KIND__DNS_TUNNEL, "dns_tunnel"},
    {WARD__EVENT_KIND__EXFIL, "exfil"},
    {WARD__EVENT_KIND__FLOOD, "flood"},
    {WARD__EVENT_KIND__LATERAL, "lateral"},
    {WARD__EVENT_KIND__ARP_SPOOF, "arp_spoof"},
    {WARD__EVENT_KIND__IOC_HIT, "ioc_hit"},
    {WARD__EVENT_KIND__NEW_ASSET, "new_asset"},
    {WARD__EVENT_KIND__SENSOR_SILENT, "sensor_silent"},
    {WARD__EVENT_KIND__ISOLATION_LEAK, "isolation_leak"},
};

const char *event_kind_name(Ward__EventKind kind)
{
    for (size_t i = 0; i < WARD_ARRAY_LEN(kinds); i++) {
        if (kinds[i].kind == kind)
            return kinds[i].name;
    }
    return "unknown";
}

Ward__EventKind event_kind_parse(const char *name)
{
    for (size_t i = 0; name && i < WARD_ARRAY_LEN(kinds); i++) {
        if (strcmp(kinds[i].name, name) == 0)
            return kinds[i].kind;
    }
    return WARD__EVENT_KIND__EVENT_KIND_UNSPECIFIED;
}

static json_t *str_array(char **items, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++)
        json_array_append_new(a, json_string(items[i] ? items[i] : ""));
    return a;
}

json_t *event_json(const Ward__Event *ev, const char *sensor)
{
    json_t *j = json_object();
    if (!j)
        return NULL;
    json_object_set_new(j, "kind", json_string(event_kind_name(ev->kind)));
    json_object_set_new(j, "subtype", json_string(ev->subtype ? ev->subtype : ""));
    json_object_set_new(j, "uid", json_string(ev->uid ? ev->uid : ""));
    json_set_u64(j, "revision", ev->revision);
    if (sensor)
        json_object_set_new(j, "sensor", json_string(sensor));
    json_object_set_new(j, "src", json_string(ev->src ? ev->src : ""));
    json_object_set_new(j, "dst", json_string(ev->dst ? ev->dst : ""));
    json_object_set_new(j, "src_mac", json_string(ev->src_mac ? ev->src_mac : ""));
    json_set_u64(j, "proto", ev->proto);
    json_t *ports = json_array();
    for (size_t i = 0; ports && i < ev->n_ports; i++)
        json_array_append_new(ports, json_integer(ev->ports[i]));
    json_object_set_new(j, "ports", ports);
    json_set_time(j, "first", ev->first_usec);
    json_set_time(j, "last", ev->last_usec);
    json_set_u64(j, "first_usec", ev->first_usec);
    json_set_u64(j, "last_usec", ev->last_usec);
    json_set_u64(j, "packets", ev->packets);
    json_set_u64(j, "bytes", ev->bytes);
    json_set_u64(j, "count", ev->count);
    json_set_u64(j, "severity", ev->severity);
    json_set_u64(j, "confidence", ev->confidence);
    json_object_set_new(j, "summary", json_string(ev->summary ? ev->summary : ""));
    json_t *figs = json_object();
    for (size_t i = 0; figs && i < ev->n_figures; i++) {
        if (ev->figures[i] && ev->figures[i]->name)
            json_object_set_new(figs, ev->figures[i]->name, json_real(ev->figures[i]->value));
    }
    json_object_set_new(j, "figures", figs);
    json_object_set_new(j, "targets", str_array(ev->targets, ev->n_targets));
    json_object_set_new(j, "domain", json_string(ev->domain ? ev->domain : ""));
    json_object_set_new(j, "evidence", str_array(ev->evidence, ev->n_evidence));
    json_set_u64(j, "vlan", ev->vlan);
    json_object_set_new(j, "closed", json_boolean(ev->closed));
    return j;
}

/* ---------------------------------------------------------------- direct text */

static int buf_reserve(struct event_json_buf *b, size_t more)
{
    if (b->len + more + 1 <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + more + 1)
        cap *= 2;
    char *d = b->owned ? realloc(b->data, cap) : malloc(cap);
    if (!d)
        return -ENOMEM;
    if (!b->owned && b->len)
        memcpy(d, b->data, b->len);
    b->data = d;
    b->cap = cap;
    b->owned = true;
    return 0;
}

static int put(struct event_json_buf *b, const char *s, size_t n)
{
    if (buf_reserve(b, n) < 0)
        return -ENOMEM;
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

static int puts_lit(struct event_json_buf *b, const char *s)
{
    return put(b, s, strlen(s));
}

/* Length of the valid UTF-8 sequence at s (jansson's rules), 0 if invalid. */
static size_t utf8_seq(const unsigned char *s, uint32_t *cp)
{
    unsigned char u = s[0];
    size_t n;
    uint32_t v;
    if (u < 0x80) {
        *cp = u;
        return 1;
    }
    if (u >= 0xC2 && u <= 0xDF) {
        n = 2;
        v = u & 0x1F;
    } else if (u >= 0xE0 && u <= 0xEF) {
        n = 3;
        v = u & 0x0F;
    } else if (u >= 0xF0 && u <= 0xF4) {
        n = 4;
        v = u & 0x07;
    } else {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if (s[i] < 0x80 || s[i] > 0xBF)
            return 0;
        v = (v << 6) | (s[i] & 0x3F);
    }
    if (v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF) || (n == 2 && v < 0x80) ||
        (n == 3 && v < 0x800) || (n == 4 && v < 0x10000))
        return 0;
    *cp = v;
    return n;
}

static bool utf8_valid(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    uint32_t cp;
    while (*p) {
        size_t n = utf8_seq(p, &cp);
        if (!n)
            return false;
        p += n;
    }
    return true;
}

/* Appends s as a JSON string; s must be valid UTF-8 (utf8_valid). */
static int put_str(struct event_json_buf *b, const char *s)
{
    if (put(b, "\"", 1) < 0)
        return -ENOMEM;
    const char *run = s;
    for (const char *p = s; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        if (put(b, run, (size_t)(p - run)) < 0)
            return -ENOMEM;
        char esc[8];
        switch (c) {
        case '"': memcpy(esc, "\\\"", 3); break;
        case '\\': memcpy(esc, "\\\\", 3); break;
        case '\b': memcpy(esc, "\\b", 3); break;
        case '\f': memcpy(esc, "\\f", 3); break;
        case '\n': memcpy(esc, "\\n", 3); break;
        case '\r': memcpy(esc, "\\r", 3); break;
        case '\t': memcpy(esc, "\\t", 3); break;
        default: snprintf(esc, sizeof(esc), "\\u%04X", (unsigned)c); break;
        }
        if (puts_lit(b, esc) < 0)
            return -ENOMEM;
        run = p + 1;
    }
    if (put(b, run, strlen(run)) < 0)
        return -ENOMEM;
    return put(b, "\"", 1);
}

/* ,"key": -- first says whether this is the object's first member. */
static int put_key(struct event_json_buf *b, const char *key, bool *first)
{
    if (!*first && put(b, ",", 1) < 0)
        return -ENOMEM;
    *first = false;
    if (put_str(b, key) < 0)
        return -ENOMEM;
    return put(b, ":", 1);
}

/* A string member; left out when the value is not valid UTF-8 (as json_string()). */
static int member_str(struct event_json_buf *b, const char *key, const char *v, bool *first)
{
    if (!v || !utf8_valid(v))
        return 0;
    if (put_key(b, key, first) < 0)
        return -ENOMEM;
    return put_str(b, v);
}

/* Decimal digits of v, written to end at end; returns where they start. */
static char *digits(uint64_t v, char *end)
{
    do {
        *--end = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    return end;
}

static int put_u64(struct event_json_buf *b, uint64_t v)
{
    char num[24];
    char *p = digits(v, num + sizeof(num));
    return put(b, p, (size_t)(num + sizeof(num) - p));
}

static int member_u64(struct event_json_buf *b, const char *key, uint64_t v, bool *first)
{
    if (put_key(b, key, first) < 0)
        return -ENOMEM;
    return put_u64(b, v > INT64_MAX ? (uint64_t)INT64_MAX : v);
}

/*
 * clock_format_iso()'s text, with the date and time of day of the last second
 * formatted kept (an event's first and last, and the next event's, mostly share
 * it).  Years past 9999 go to clock_format_iso() itself.
 */
static int member_time(struct event_json_buf *b, const char *key, uint64_t usec, bool *first)
{
    static _Thread_local uint64_t cached_sec = UINT64_MAX;
    static _Thread_local char cached[40];
    char t[40];
    uint64_t sec = usec / USEC_PER_SEC;
    if (sec >= 253402300800ull) /* 10000-01-01 */
        return member_str(b, key, clock_format_iso(usec, t, sizeof(t)), first);
    if (sec != cached_sec) {
        clock_format_iso(sec * USEC_PER_SEC, cached, sizeof(cached));
        cached_sec = sec;
    }
    size_t base = strlen(cached) - 8; /* without ".000000Z" */
    memcpy(t, cached, base);
    char frac[8];
    char *p = digits(usec % USEC_PER_SEC + 1000000, frac + sizeof(frac));
    p[0] = '.'; /* the leading 1 of 1xxxxxx */
    memcpy(t + base, p, 7);
    t[base + 7] = 'Z';
    t[base + 8] = '\0';
    return member_str(b, key, t, first);
}

static int member_strs(struct event_json_buf *b, const char *key, char **items, size_t n,
                       bool *first)
{
    if (put_key(b, key, first) < 0 || put(b, "[", 1) < 0)
        return -ENOMEM;
    bool f = true;
    for (size_t i = 0; i < n; i++) {
        const char *v = items[i] ? items[i] : "";
        if (!utf8_valid(v))
            continue;
        if ((!f && put(b, ",", 1) < 0) || put_str(b, v) < 0)
            return -ENOMEM;
        f = false;
    }
    return put(b, "]", 1);
}

/* A real as jansson prints it: "%.17g", ".0" if it would read back as an integer, exponent trimmed. */
static int put_real(struct event_json_buf *b, double v)
{
    char num[40];
    int len = snprintf(num, sizeof(num), "%.17g", v);
    if (len < 0 || (size_t)len >= sizeof(num) - 3)
        return -ENOMEM;
    if (!strchr(num, '.') && !strchr(num, 'e')) {
        memcpy(num + len, ".0", 3);
        len += 2;
    }
    char *start = strchr(num, 'e');
    if (start) {
        start++;
        char *end = start + 1;
        if (*start == '-')
            start++;
        while (*end == '0')
            end++;
        if (end != start) {
            memmove(start, end, (size_t)len - (size_t)(end - num) + 1);
            len -= (int)(end - start);
        }
    }
    return put(b, num, (size_t)len);
}

static int member_figures(struct event_json_buf *b, const Ward__Event *ev, bool *first)
{
    if (put_key(b, "figures", first) < 0 || put(b, "{", 1) < 0)
        return -ENOMEM;
    bool f = true;
    for (size_t i = 0; i < ev->n_figures; i++) {
        const Ward__Figure *fi = ev->figures[i];
        if (!fi || !fi->name || !isfinite(fi->value) || !utf8_valid(fi->name))
            continue;
        bool seen = false;
        for (size_t k = 0; k < i && !seen; k++) {
            const Ward__Figure *fk = ev->figures[k];
            seen = fk && fk->name && isfinite(fk->value) && strcmp(fk->name, fi->name) == 0;
        }
        if (seen)
            continue;
        /* A repeated name keeps this place and takes the last finite value. */
        double v = fi->value;
        for (size_t k = i + 1; k < ev->n_figures; k++) {
            const Ward__Figure *fk = ev->figures[k];
            if (fk && fk->name && isfinite(fk->value) && strcmp(fk->name, fi->name) == 0)
                v = fk->value;
        }
        if (put_key(b, fi->name, &f) < 0 || put_real(b, v) < 0)
            return -ENOMEM;
    }
    return put(b, "}", 1);
}

static int write_event(const Ward__Event *ev, const char *sensor, struct event_json_buf *b)
{
    bool f = true;
    if (put(b, "{", 1) < 0 || member_str(b, "kind", event_kind_name(ev->kind), &f) < 0 ||
        member_str(b, "subtype", ev->subtype ? ev->subtype : "", &f) < 0 ||
        member_str(b, "uid", ev->uid ? ev->uid : "", &f) < 0 ||
        member_u64(b, "revision", ev->revision, &f) < 0 ||
        (sensor && member_str(b, "sensor", sensor, &f) < 0) ||
        member_str(b, "src", ev->src ? ev->src : "", &f) < 0 ||
        member_str(b, "dst", ev->dst ? ev->dst : "", &f) < 0 ||
        member_str(b, "src_mac", ev->src_mac ? ev->src_mac : "", &f) < 0 ||
        member_u64(b, "proto", ev->proto, &f) < 0 || put_key(b, "ports", &f) < 0 ||
        put(b, "[", 1) < 0)
        return -ENOMEM;
    for (size_t i = 0; i < ev->n_ports; i++) {
        if ((i && put(b, ",", 1) < 0) || put_u64(b, ev->ports[i]) < 0)
            return -ENOMEM;
    }
    if (put(b, "]", 1) < 0 || member_time(b, "first", ev->first_usec, &f) < 0 ||
        member_time(b, "last", ev->last_usec, &f) < 0 ||
        member_u64(b, "first_usec", ev->first_usec, &f) < 0 ||
        member_u64(b, "last_usec", ev->last_usec, &f) < 0 ||
        member_u64(b, "packets", ev->packets, &f) < 0 ||
        member_u64(b, "bytes", ev->bytes, &f) < 0 || member_u64(b, "count", ev->count, &f) < 0 ||
        member_u64(b, "severity", ev->severity, &f) < 0 ||
        member_u64(b, "confidence", ev->confidence, &f) < 0 ||
        member_str(b, "summary", ev->summary ? ev->summary : "", &f) < 0 ||
        member_figures(b, ev, &f) < 0 ||
        member_strs(b, "targets", ev->targets, ev->n_targets, &f) < 0 ||
        member_str(b, "domain", ev->domain ? ev->domain : "", &f) < 0 ||
        member_strs(b, "evidence", ev->evidence, ev->n_evidence, &f) < 0 ||
        member_u64(b, "vlan", ev->vlan, &f) < 0 || put_key(b, "closed", &f) < 0 ||
        puts_lit(b, ev->closed ? "true" : "false") < 0 || put(b, "}", 1) < 0)
        return -ENOMEM;
    return 0;
}

int event_json_text(const Ward__Event *ev, const char *sensor, struct event_json_buf *b)
{
    b->len = 0;
    if (buf_reserve(b, 0) < 0)
        return -ENOMEM;
    b->data[0] = '\0';
    return write_event(ev, sensor, b);
}

void event_json_buf_fini(struct event_json_buf *b)
{
    if (b->owned)
        free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
    b->owned = false;
}
