/*
 * domain -- see domain.h.
 *
 * The registered domain is found as libpsl's psl_registrable_domain() finds it:
 * the name and then each shorter suffix is asked "is this a public suffix?"
 * until one is, and the suffix before it is the answer (from the longest, so
 * that a rule like "forgot.his.name" is found under "name").  Each question
 * costs libpsl a walk of its compressed list or two, thousands of
 * instructions; the suffixes of most names are shared with other names
 * ("hospital.example", "com"), so the answers for recent ones are kept in a
 * small table, and only a name's own longer suffixes cost a lookup.
 */
#include "domain.h"

#include <libpsl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "keymap.h"

#define MEMO_SLOTS 1024 /* remembered answers (a power of two), direct-mapped */
#define MEMO_NAME 64    /* longer suffixes are asked every time */

struct memo {
    uint64_t hash;         /* keymap_hash() of the suffix; 0 for an empty slot */
    bool is_public;        /* libpsl's answer */
    uint8_t len;           /* bytes of name */
    char name[MEMO_NAME];  /* the suffix, not NUL-terminated */
};

static struct memo memo[MEMO_SLOTS];

static const psl_ctx_t *psl;
static bool psl_tried;

static const psl_ctx_t *get_psl(void)
{
    if (!psl_tried) {
        psl_tried = true;
        psl = psl_latest(NULL);
        if (!psl)
            psl = psl_builtin();
    }
    return psl;
}

/* psl_is_public_suffix(ctx, suffix), remembered for short suffixes. */
static bool is_public(const psl_ctx_t *ctx, const char *suffix)
{
    size_t len = strlen(suffix);
    if (len >= MEMO_NAME)
        return psl_is_public_suffix(ctx, suffix) != 0;
    uint64_t h = keymap_hash(suffix, len, 0) | 1; /* never 0, the empty mark */
    struct memo *m = &memo[h & (MEMO_SLOTS - 1)];
    if (m->hash == h && m->len == len && memcmp(m->name, suffix, len) == 0)
        return m->is_public;
    m->hash = h;
    m->len = (uint8_t)len;
    memcpy(m->name, suffix, len);
    m->is_public = psl_is_public_suffix(ctx, suffix) != 0;
    return m->is_public;
}

/* psl_registrable_domain(ctx, name), its questions answered by is_public(). */
static const char *registrable(const psl_ctx_t *ctx, const char *name)
{
    const char *regdom = NULL;
    if (*name == '.')
        return NULL;
    while (!is_public(ctx, name)) {
        const char *p = strchr(name, '.');
        if (!p)
            break;
        regdom = name;
        name = p + 1;
    }
    return regdom;
}

/* The last two labels of name (or all of it). */
static const char *last_two(const char *name)
{
    const char *end = name + strlen(name);
    int dots = 0;
    for (const char *p = end; p > name; p--) {
        if (p[-1] == '.' && ++dots == 2)
            return p;
    }
    return name;
}

const char *domain_registered(const char *name, char *out, size_t cap)
{
    if (!name || !name[0] || cap == 0)
        return NULL;
    size_t len = strlen(name);
    char buf[260];
    if (len >= sizeof(buf))
        len = sizeof(buf) - 1;
    memcpy(buf, name, len);
    buf[len] = '\0';
    while (len && buf[len - 1] == '.')
        buf[--len] = '\0';
    const psl_ctx_t *ctx = get_psl();
    const char *reg = ctx ? registrable(ctx, buf) : NULL;
    if (!reg)
        reg = last_two(buf);
    snprintf(out, cap, "%s", reg);
    return out;
}

bool domain_is_within(const char *name, const char *domain)
{
    size_t n = strlen(name), d = strlen(domain);
    if (d == 0 || n < d)
        return false;
    if (strcmp(name + (n - d), domain) != 0)
        return false;
    return n == d || name[n - d - 1] == '.';
}
