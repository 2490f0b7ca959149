/*
 * config -- see config.h.  libinih does the INI syntax; this module keeps entries
 * with their line numbers and does typed conversion with file:line errors.
 * The only user of <ini.h>.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

#include "clock.h"

struct config_entry {
    char *section; /* section name, "" before any header */
    char *key;     /* key name */
    char *value;   /* value with surrounding blanks removed */
    unsigned line; /* line in the file */
    bool used;     /* a getter read it */
};

struct config {
    char *name;                    /* file name for messages */
    struct config_entry *entries;  /* in file order */
    size_t count;                  /* entries in use */
    size_t cap;                    /* entries allocated */
    char err[CONFIG_ERR_LEN];      /* last error */
    const unsigned *reader_line;   /* line the reader last handed to inih (during parse) */
};

struct config *config_new_empty(const char *name)
{
    struct config *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->name = strdup(name ? name : "(config)");
    if (!c->name) {
        free(c);
        return NULL;
    }
    return c;
}

void config_free(struct config *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->count; i++) {
        free(c->entries[i].section);
        free(c->entries[i].key);
        free(c->entries[i].value);
    }
    free(c->entries);
    free(c->name);
    free(c);
}

const char *config_name(const struct config *c)
{
    return c->name;
}

const char *config_error(const struct config *c)
{
    return c->err;
}

static int add_entry(struct config *c, const char *section, const char *key, const char *value,
                     unsigned line)
{
    if (c->count >= CONFIG_MAX_ENTRIES) {
        snprintf(c->err, sizeof(c->err), "%s:%u: more than %d settings", c->name, line,
                 CONFIG_MAX_ENTRIES);
        return -E2BIG;
    }
    for (size_t i = 0; i < c->count; i++) {
        if (strcmp(c->entries[i].section, section) == 0 && strcmp(c->entries[i].key, key) == 0) {
            snprintf(c->err, sizeof(c->err), "%s:%u: '%s' in [%s] already set on line %u",
                     c->name, line, key, section, c->entries[i].line);
            return -EINVAL;
        }
    }
    if (c->count == c->cap) {
        size_t ncap = c->cap ? c->cap * 2 : 32;
        struct config_entry *n = reallocarray(c->entries, ncap, sizeof(*n));
        if (!n)
            return -ENOMEM;
        c->entries = n;
        c->cap = ncap;
    }
    struct config_entry *e = &c->entries[c->count];
    memset(e, 0, sizeof(*e));
    e->section = strdup(section);
    e->key = strdup(key);
    e->value = strdup(value);
    e->line = line;
    if (!e->section || !e->key || !e->value) {
        free(e->section);
        free(e->key);
        free(e->value);
        return -ENOMEM;
    }
    c->count++;
    return 0;
}

/* Debian's libinih passes no line number; the reader below counts lines for it. */
static int on_ini_entry(void *user, const char *section, const char *name, const char *value)
{
    struct config *c = user;
    if (!name) /* a section header alone */
        return 1;
    return add_entry(c, section, name, value ? value : "", *c->reader_line) == 0;
}

/* inih with INI_USE_STACK reads lines of a fixed maximum; read through a string reader. */
struct mem_reader {
    const char *p;      /* next unread byte */
    size_t left;        /* bytes left */
    unsigned line;      /* lines handed out so far */
    unsigned too_long;  /* line number of a line inih cannot hold, 0 if none */
    int max;            /* longest line inih takes, as it told us */
};

static char *mem_reader_gets(char *str, int num, void *stream)
{
    struct mem_reader *m = stream;
    if (m->left == 0 || num <= 1)
        return NULL;
    size_t n = 0;
    bool eol = false;
    while (n + 1 < (size_t)num && m->left > 0) {
        char ch = *m->p++;
        m->left--;
        str[n++] = ch;
        if (ch == '\n') {
            eol = true;
            break;
        }
    }
    str[n] = '\0';
    m->line++;
    if (!eol && m->left > 0) {
        /* inih would split this line silently; stop and say so. */
        m->too_long = m->line;
        m->max = num - 2;
        return NULL;
    }
    return str;
}

int config_parse(const char *name, const char *text, size_t len, struct config **out, char *err,
                 size_t errcap)
{
    *out = NULL;
    struct config *c = config_new_empty(name);
    if (!c) {
        snprintf(err, errcap, "%s: out of memory", name);
        return -ENOMEM;
    }
    for (size_t i = 0; i < len; i++) {
        if (text[i] == '\0') {
            unsigned line = 1;
            for (size_t j = 0; j < i; j++)
                line += text[j] == '\n';
            snprintf(err, errcap, "%s:%u: NUL byte in configuration", name, line);
            config_free(c);
            return -EINVAL;
        }
    }
    struct mem_reader m = {text, len, 0, 0, 0};
    c->err[0] = '\0';
    c->reader_line = &m.line;
    int rc = ini_parse_stream(mem_reader_gets, &m, on_ini_entry, c);
    c->reader_line = NULL;
    if (m.too_long) {
        snprintf(err, errcap, "%s:%u: line longer than %d bytes", name, m.too_long, m.max);
        config_free(c);
        return -EINVAL;
    }
    if (rc != 0) {
        if (c->err[0])
            snprintf(err, errcap, "%s", c->err);
        else if (rc > 0)
            snprintf(err, errcap, "%s:%d: syntax error (expected [section] or key = value)",
                     name, rc);
        else
            snprintf(err, errcap, "%s: cannot parse (error %d)", name, rc);
        config_free(c);
        return -EINVAL;
    }
    *out = c;
    return 0;
}

int config_load(const char *path, struct config **out, char *err, size_t errcap)
{
    *out = NULL;
    FILE *f = fopen(path, "re");
    if (!f) {
        int e = errno;
        snprintf(err, errcap, "%s: %s", path, strerror(e));
        return -e;
    }
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    int rc = 0;
    if (!buf) {
        rc = -ENOMEM;
        goto out_close;
    }
    for (;;) {
        if (len == cap) {
            if (cap >= (1u << 24)) {
                snprintf(err, errcap, "%s: larger than 16 MiB", path);
                rc = -EFBIG;
                goto out_free;
            }
            char *n = realloc(buf, cap * 2);
            if (!n) {
                rc = -ENOMEM;
                goto out_free;
            }
            buf = n;
            cap *= 2;
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0)
            break;
    }
    if (ferror(f)) {
        snprintf(err, errcap, "%s: read error", path);
        rc = -EIO;
        goto out_free;
    }
    rc = config_parse(path, buf, len, out, err, errcap);
out_free:
    free(buf);
out_close:
    fclose(f);
    return rc;
}

static struct config_entry *find(const struct config *c, const char *section, const char *key)
{
    for (size_t i = 0; i < c->count; i++) {
        if (strcmp(c->entries[i].section, section) == 0 && strcmp(c->entries[i].key, key) == 0)
            return &c->entries[i];
    }
    return NULL;
}

bool config_has(const struct config *c, const char *section, const char *key)
{
    return find(c, section, key) != NULL;
}

unsigned config_line(const struct config *c, const char *section, const char *key)
{
    const struct config_entry *e = find(c, section, key);
    return e ? e->line : 0;
}

int config_fail(struct config *c, const char *section, const char *key, const char *fmt, ...)
{
    char msg[CONFIG_ERR_LEN / 2];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    unsigned line = config_line(c, section, key);
    if (line)
        snprintf(c->err, sizeof(c->err), "%s:%u: [%s] %s: %s", c->name, line, section, key, msg);
    else
        snprintf(c->err, sizeof(c->err), "%s: [%s] %s: %s", c->name, section, key, msg);
    return -EINVAL;
}

const char *config_get_str(struct config *c, const char *section, const char *key, const char *def)
{
    struct config_entry *e = find(c, section, key);
    if (!e)
        return def;
    e->used = true;
    return e->value;
}

int config_get_u64(struct config *c, const char *section, const char *key, uint64_t def,
                   uint64_t *out)
{
    struct config_entry *e = find(c, section, key);
    if (!e) {
        *out = def;
        return 0;
    }
    e->used = true;
    char *end;
    errno = 0;
    if (!isdigit((unsigned char)e->value[0]))
        return config_fail(c, section, key, "'%s' is not a non-negative whole number", e->value);
    unsigned long long v = strtoull(e->value, &end, 10);
    if (errno || *end != '\0')
        return config_fail(c, section, key, "'%s' is not a non-negative whole number", e->value);
    *out = v;
    return 0;
}

int config_get_double(struct config *c, const char *section, const char *key, double def,
                      double *out)
{
    struct config_entry *e = find(c, section, key);
    if (!e) {
        *out = def;
        return 0;
    }
    e->used = true;
    char *end;
    errno = 0;
    double v = strtod(e->value, &end);
    if (errno || end == e->value || *end != '\0' || !isfinite(v))
        return config_fail(c, section, key, "'%s' is not a number", e->value);
    *out = v;
    return 0;
}

int config_get_bool(struct config *c, const char *section, const char *key, bool def, bool *out)
{
    struct config_entry *e = find(c, section, key);
    if (!e) {
        *out = def;
        return 0;
    }
    e->used = true;
    static const char *const yes[] = {"yes", "true", "on", "1"};
    static const char *const no[] = {"no", "false", "off", "0"};
    for (size_t i = 0; i < WARD_ARRAY_LEN(yes); i++) {
        if (strcasecmp(e->value, yes[i]) == 0) {
            *out = true;
            return 0;
        }
        if (strcasecmp(e->value, no[i]) == 0) {
            *out = false;
            return 0;
        }
    }
    return config_fail(c, section, key, "'%s' is not yes/no", e->value);
}

int config_get_duration(struct config *c, const char *section, const char *key, uint64_t def_usec,
                        uint64_t *out_usec)
{
    struct config_entry *e = find(c, section, key);
    if (!e) {
        *out_usec = def_usec;
        return 0;
    }
    e->used = true;
    if (clock_parse_duration(e->value, out_usec) < 0)
        return config_fail(c, section, key, "'%s' is not a duration (e.g. 30s, 15m, 2h, 1d)",
                           e->value);
    return 0;
}

int config_get_size(struct config *c, const char *section, const char *key, uint64_t def,
                    uint64_t *out)
{
    struct config_entry *e = find(c, section, key);
    if (!e) {
        *out = def;
        return 0;
    }
    e->used = true;
    char *end;
    errno = 0;
    if (!isdigit((unsigned char)e->value[0]))
        return config_fail(c, section, key, "'%s' is not a size (e.g. 4096, 64K, 16M, 1G)",
                           e->value);
    unsigned long long v = strtoull(e->value, &end, 10);
    uint64_t mul = 1;
    if (*end == 'k' || *end == 'K')
        mul = 1ULL << 10;
    else if (*end == 'm' || *end == 'M')
        mul = 1ULL << 20;
    else if (*end == 'g' || *end == 'G')
        mul = 1ULL << 30;
    else if (*end != '\0')
        return config_fail(c, section, key, "'%s' is not a size (e.g. 4096, 64K, 16M, 1G)",
                           e->value);
    if (*end != '\0' && end[1] != '\0' && strcasecmp(end + 1, "B") != 0 &&
        strcasecmp(end + 1, "iB") != 0)
        return config_fail(c, section, key, "'%s' is not a size (e.g. 4096, 64K, 16M, 1G)",
                           e->value);
    if (errno || v > UINT64_MAX / mul)
        return config_fail(c, section, key, "'%s' is too large", e->value);
    *out = v * mul;
    return 0;
}

const char *config_list_next(const char **cursor, size_t *len)
{
    const char *p = *cursor;
    while (*p == ',' || isspace((unsigned char)*p))
        p++;
    const char *item = p;
    while (*p && *p != ',' && !isspace((unsigned char)*p))
        p++;
    *cursor = p;
    *len = (size_t)(p - item);
    return *len ? item : NULL;
}

static bool is_blank(char ch)
{
    return ch == ' ' || ch == '\t';
}

/* Longest token quoted back in a message. */
#define CONFIG_TOKEN_SHOWN 40

int config_get_ports(struct config *c, const char *section, const char *key, const char *def,
                     uint16_t *out, size_t cap, size_t *count)
{
    struct config_entry *e = find(c, section, key);
    const char *p = def;
    if (e) {
        e->used = true;
        p = e->value;
    }
    *count = 0;
    while (is_blank(*p))
        p++;
    if (*p == '\0')
        return 0;
    size_t n = 0;
    for (;;) {
        size_t len = strcspn(p, ",");
        const char *tok = p;
        size_t tok_len = len;
        while (tok_len > 0 && is_blank(tok[0])) {
            tok++;
            tok_len--;
        }
        while (tok_len > 0 && is_blank(tok[tok_len - 1]))
            tok_len--;
        if (tok_len == 0)
            return config_fail(c, section, key, "empty item in the list of ports");
        /* Digits only: strtoul would take a sign, blanks and "0x". */
        uint32_t v = 0;
        bool digits = true;
        for (size_t i = 0; i < tok_len && digits; i++) {
            digits = isdigit((unsigned char)tok[i]) != 0;
            if (digits && v <= 65535)
                v = v * 10 + (uint32_t)(tok[i] - '0');
        }
        int shown = (int)WARD_MIN(tok_len, (size_t)CONFIG_TOKEN_SHOWN);
        if (!digits || v < 1 || v > 65535)
            return config_fail(c, section, key, "'%.*s' is not a port (1 to 65535)", shown, tok);
        for (size_t i = 0; i < n; i++) {
            if (out[i] == v)
                return config_fail(c, section, key, "port %u is listed twice", (unsigned)v);
        }
        if (n == cap)
            return config_fail(c, section, key, "more than %zu ports (at '%.*s')", cap, shown,
                               tok);
        out[n++] = (uint16_t)v;
        if (p[len] == '\0')
            break;
        p += len + 1;
    }
    *count = n;
    return 0;
}

int config_each(struct config *c, const char *section, config_visit_fn fn, void *arg)
{
    for (size_t i = 0; i < c->count; i++) {
        struct config_entry *e = &c->entries[i];
        if (strcmp(e->section, section) != 0)
            continue;
        e->used = true;
        int rc = fn(arg, e->key, e->value, e->line);
        if (rc)
            return rc;
    }
    return 0;
}

int config_check_unused(struct config *c, const char *const *ignore_sections)
{
    for (size_t i = 0; i < c->count; i++) {
        const struct config_entry *e = &c->entries[i];
        if (e->used)
            continue;
        bool skip = false;
        for (size_t j = 0; ignore_sections && ignore_sections[j]; j++)
            skip |= strcmp(ignore_sections[j], e->section) == 0;
        if (skip)
            continue;
        snprintf(c->err, sizeof(c->err), "%s:%u: unknown key '%s' in [%s]", c->name, e->line,
                 e->key, e->section);
        return -EINVAL;
    }
    return 0;
}
