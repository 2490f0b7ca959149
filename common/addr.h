/*
 * addr -- IPv4/IPv6 addresses and CIDR sets, as plain values.
 *
 * struct addr holds either family in 16 bytes (IPv4 in the first 4, rest zero) so
 * it can be hashed and compared with memcmp.  struct cidr_set is a small sorted
 * list of prefixes (home_net, never-isolate lists, allowlists, intel lists), built
 * once and queried on the packet path without allocation.
 */
#ifndef WARD_ADDR_H
#define WARD_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ward.h"

#define ADDR_STR_LEN 46 /* INET6_ADDRSTRLEN */

struct addr {
    uint8_t family; /* 4 or 6; 0 means "no address" */
    uint8_t pad[3]; /* zero */
    uint8_t b[16];  /* network byte order; IPv4 uses b[0..3], the rest zero */
};

struct cidr {
    struct addr net; /* network address, host bits zero */
    uint8_t bits;    /* prefix length */
};

struct cidr_set {
    struct cidr *items; /* heap array */
    size_t count;       /* items in use */
    size_t cap;         /* allocated */
};

static inline struct addr addr_v4(uint32_t host_order)
{
    struct addr a = {0};
    a.family = 4;
    a.b[0] = (uint8_t)(host_order >> 24);
    a.b[1] = (uint8_t)(host_order >> 16);
    a.b[2] = (uint8_t)(host_order >> 8);
    a.b[3] = (uint8_t)host_order;
    return a;
}

static inline uint32_t addr_v4_host(const struct addr *a)
{
    return (uint32_t)a->b[0] << 24 | (uint32_t)a->b[1] << 16 | (uint32_t)a->b[2] << 8 | a->b[3];
}

/* Same family and bytes.  Inline, in two word compares: the packet path compares
 * addresses many times a packet, and a call costs more than the compare. */
static inline bool addr_eq(const struct addr *a, const struct addr *b)
{
    uint64_t x[2], y[2];
    memcpy(x, a->b, sizeof(x));
    memcpy(y, b->b, sizeof(y));
    return a->family == b->family && ((x[0] ^ y[0]) | (x[1] ^ y[1])) == 0;
}

/* Parses dotted IPv4 or IPv6 text.  0 or -EINVAL. */
WARD_MUST_CHECK int addr_parse(const char *s, struct addr *out);
/* Formats into out (cap >= ADDR_STR_LEN).  Returns out. */
char *addr_format(const struct addr *a, char *out, size_t cap);
/* RFC 1918, RFC 4193, loopback, link-local and CGNAT space. */
bool addr_is_private(const struct addr *a);
bool addr_is_multicast_or_broadcast(const struct addr *a);

/* "10.0.0.0/8", "2001:db8::/32" or a bare address (a /32 or /128).  0 or -EINVAL. */
WARD_MUST_CHECK int cidr_parse(const char *s, struct cidr *out);
bool cidr_contains(const struct cidr *c, const struct addr *a);

void cidr_set_init(struct cidr_set *s);
void cidr_set_fini(struct cidr_set *s);
WARD_MUST_CHECK int cidr_set_add(struct cidr_set *s, const struct cidr *c);
/*
 * Adds a comma- or blank-separated list ("10.0.0.0/8, 192.168.0.0/16").  On a bad
 * item returns -EINVAL and copies the offending item into bad (cap bytes).
 */
WARD_MUST_CHECK int cidr_set_add_list(struct cidr_set *s, const char *list, char *bad,
                                      size_t badcap);
bool cidr_set_contains(const struct cidr_set *s, const struct addr *a);

#endif
