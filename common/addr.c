/*
 * addr -- see addr.h.
 */
#include "addr.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int addr_parse(const char *s, struct addr *out)
{
    struct addr a = {0};
    if (!s)
        return -EINVAL;
    if (inet_pton(AF_INET, s, a.b) == 1) {
        a.family = 4;
    } else if (inet_pton(AF_INET6, s, a.b) == 1) {
        a.family = 6;
    } else {
        return -EINVAL;
    }
    *out = a;
    return 0;
}

/* Dotted quad, as inet_ntop() writes it, without its printf; false if cap is too small. */
static bool format4(const uint8_t *b, char *out, size_t cap)
{
    char t[16];
    size_t n = 0;
    for (int k = 0; k < 4; k++) {
        unsigned v = b[k];
        if (k)
            t[n++] = '.';
        if (v >= 100)
            t[n++] = (char)('0' + v / 100);
        if (v >= 10)
            t[n++] = (char)('0' + v / 10 % 10);
        t[n++] = (char)('0' + v % 10);
    }
    if (n >= cap)
        return false;
    memcpy(out, t, n);
    out[n] = '\0';
    return true;
}

char *addr_format(const struct addr *a, char *out, size_t cap)
{
    if (a->family == 4) {
        if (!format4(a->b, out, cap))
            snprintf(out, cap, "?");
    } else if (a->family == 6) {
        if (!inet_ntop(AF_INET6, a->b, out, (socklen_t)cap))
            snprintf(out, cap, "?");
    } else if (cap) {
        out[0] = '\0';
    }
    return out;
}

bool addr_is_private(const struct addr *a)
{
    if (a->family == 4) {
        uint8_t x = a->b[0], y = a->b[1];
        return x == 10 || (x == 172 && (y & 0xf0) == 16) || (x == 192 && y == 168) || x == 127 ||
               (x == 169 && y == 254) || (x == 100 && (y & 0xc0) == 64);
    }
    if (a->family == 6) {
        static const uint8_t loop[16] = {[15] = 1};
        return (a->b[0] & 0xfe) == 0xfc || (a->b[0] == 0xfe && (a->b[1] & 0xc0) == 0x80) ||
               memcmp(a->b, loop, 16) == 0;
    }
    return false;
}

bool addr_is_multicast_or_broadcast(const struct addr *a)
{
    if (a->family == 4)
        return (a->b[0] & 0xf0) == 0xe0 || addr_v4_host(a) == 0xffffffffu;
    if (a->family == 6)
        return a->b[0] == 0xff;
    return false;
}

static void mask_host_bits(struct addr *a, unsigned bits)
{
    unsigned total = a->family == 4 ? 32 : 128;
    for (unsigned i = bits; i < total; i++)
        a->b[i / 8] &= (uint8_t)~(0x80u >> (i % 8));
}

int cidr_parse(const char *s, struct cidr *out)
{
    char buf[64];
    size_t n = strlen(s);
    if (n == 0 || n >= sizeof(buf))
        return -EINVAL;
    memcpy(buf, s, n + 1);
    char *slash = strchr(buf, '/');
    long bits = -1;
    if (slash) {
        *slash = '\0';
        char *end;
        if (!isdigit((unsigned char)slash[1]))
            return -EINVAL;
        bits = strtol(slash + 1, &end, 10);
        if (*end != '\0')
            return -EINVAL;
    }
    struct cidr c;
    if (addr_parse(buf, &c.net) < 0)
        return -EINVAL;
    long max = c.net.family == 4 ? 32 : 128;
    if (bits < 0)
        bits = max;
    if (bits > max)
        return -EINVAL;
    c.bits = (uint8_t)bits;
    mask_host_bits(&c.net, c.bits);
    *out = c;
    return 0;
}

bool cidr_contains(const struct cidr *c, const struct addr *a)
{
    if (c->net.family != a->family)
        return false;
    unsigned full = c->bits / 8, rest = c->bits % 8;
    if (memcmp(c->net.b, a->b, full) != 0)
        return false;
    if (rest == 0)
        return true;
    uint8_t mask = (uint8_t)(0xff00u >> rest);
    return (a->b[full] & mask) == c->net.b[full];
}

void cidr_set_init(struct cidr_set *s)
{
    memset(s, 0, sizeof(*s));
}

void cidr_set_fini(struct cidr_set *s)
{
    free(s->items);
    memset(s, 0, sizeof(*s));
}

int cidr_set_add(struct cidr_set *s, const struct cidr *c)
{
    if (s->count == s->cap) {
        size_t ncap = s->cap ? s->cap * 2 : 8;
        struct cidr *n = reallocarray(s->items, ncap, sizeof(*n));
        if (!n)
            return -ENOMEM;
        s->items = n;
        s->cap = ncap;
    }
    s->items[s->count++] = *c;
    return 0;
}

int cidr_set_add_list(struct cidr_set *s, const char *list, char *bad, size_t badcap)
{
    const char *start;
    size_t n;
    while ((start = config_list_next(&list, &n))) {
        char item[64];
        if (n >= sizeof(item)) {
            snprintf(bad, badcap, "%.*s", (int)WARD_MIN(n, badcap - 1), start);
            return -EINVAL;
        }
        memcpy(item, start, n);
        item[n] = '\0';
        struct cidr c;
        if (cidr_parse(item, &c) < 0) {
            snprintf(bad, badcap, "%s", item);
            return -EINVAL;
        }
        int rc = cidr_set_add(s, &c);
        if (rc < 0)
            return rc;
    }
    return 0;
}

bool cidr_set_contains(const struct cidr_set *s, const struct addr *a)
{
    for (size_t i = 0; i < s->count; i++) {
        if (cidr_contains(&s->items[i], a))
            return true;
    }
    return false;
}
