/*
 * domain -- see domain.h.
 */
#include "domain.h"

#include <libpsl.h>
#include <stdio.h>
#include <string.h>

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
    const char *reg = ctx ? psl_registrable_domain(ctx, buf) : NULL;
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
