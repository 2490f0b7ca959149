/*
 * decode_icmp -- ICMP and ICMPv6, with the header quoted by error messages and
 * IPv6 neighbour discovery.
 *
 * specification: RFC 792 (ICMP), RFC 4443 (ICMPv6), RFC 4861 (neighbour discovery)
 *
 *   |     Type      |     Code      |          Checksum             |
 *   |     Identifier (echo)         |      Sequence (echo)          |  "rest of header"
 *   |     data: for errors, the offending IP header + first 8 bytes  ...
 *
 *   ND NS/NA: | reserved/flags (4) | target address (16) | options...
 *   ND option: | type (1) | length (1, in 8-octet units, never 0) | value |
 *
 * The quoted header tells which flow an unreachable answers (a UDP scan shows as
 * port-unreachables quoting the probes).  A length-0 ND option would loop a naive
 * parser: it is an anomaly and ends the walk.
 */
#include "decode.h"

#include <string.h>

#define ND_MAX_OPTIONS 32

/* First 4 bytes of the quoted transport header: the ports, if TCP/UDP. */
static void inner_ports(struct rd *r, struct pkt *p)
{
    uint16_t s, d;
    if ((p->icmp.inner_proto == 6 || p->icmp.inner_proto == 17) && rd_be16(r, &s) &&
        rd_be16(r, &d)) {
        p->icmp.inner_sport = s;
        p->icmp.inner_dport = d;
    }
}

static void inner_ipv4(struct rd r, struct pkt *p)
{
    uint8_t vhl, proto;
    struct addr s = {0}, d = {0};
    if (!rd_u8(&r, &vhl) || vhl >> 4 != 4 || (vhl & 0x0f) < 5 || !rd_skip(&r, 8) ||
        !rd_u8(&r, &proto) || !rd_skip(&r, 2) || !rd_copy(&r, s.b, 4) || !rd_copy(&r, d.b, 4) ||
        !rd_skip(&r, (size_t)(vhl & 0x0f) * 4 - 20))
        return; /* too little quoted: nothing to say */
    s.family = d.family = 4;
    p->icmp.inner_src = s;
    p->icmp.inner_dst = d;
    p->icmp.inner_proto = proto;
    inner_ports(&r, p);
    p->layers |= PKT_ICMP_INNER;
}

static void inner_ipv6(struct rd r, struct pkt *p)
{
    uint32_t v;
    uint8_t next;
    struct addr s = {0}, d = {0};
    if (!rd_be32(&r, &v) || v >> 28 != 6 || !rd_skip(&r, 2) || !rd_u8(&r, &next) ||
        !rd_skip(&r, 1) || !rd_copy(&r, s.b, 16) || !rd_copy(&r, d.b, 16))
        return;
    s.family = d.family = 6;
    p->icmp.inner_src = s;
    p->icmp.inner_dst = d;
    p->icmp.inner_proto = next;
    inner_ports(&r, p);
    p->layers |= PKT_ICMP_INNER;
}

/* Type, code, checksum and the 4-byte rest; the data becomes the payload. */
static enum decode_rc icmp_header(struct rd *r, struct pkt *p)
{
    uint8_t type, code;
    uint16_t csum, id, seq;
    if (p->l4_len < 8) {
        pkt_anomaly(p, ANOM_ICMP_TRUNCATED);
        return DECODE_MALFORMED;
    }
    if (!rd_u8(r, &type) || !rd_u8(r, &code) || !rd_be16(r, &csum) || !rd_be16(r, &id) ||
        !rd_be16(r, &seq))
        return decode_short(p, ANOM_ICMP_TRUNCATED);
    (void)csum;
    p->icmp.type = type;
    p->icmp.code = code;
    p->icmp.id = id;
    p->icmp.seq = seq;
    p->icmp.inner_proto = 0;
    p->icmp.inner_sport = p->icmp.inner_dport = 0;
    p->payload_len = (uint32_t)p->l4_len - 8;
    if (!rd_sub(r, WARD_MIN((size_t)p->payload_len, rd_left(r)), &p->payload))
        p->payload = rd_make(NULL, 0);
    return DECODE_OK;
}

enum decode_rc decode_icmp(struct rd *r, struct pkt *p)
{
    enum decode_rc rc = icmp_header(r, p);
    if (rc != DECODE_OK)
        return rc;
    p->layers |= PKT_ICMP;
    switch (p->icmp.type) {
    case 3:  /* destination unreachable */
    case 4:  /* source quench */
    case 5:  /* redirect */
    case 11: /* time exceeded */
    case 12: /* parameter problem */
        inner_ipv4(p->payload, p);
        break;
    default:
        break;
    }
    return DECODE_OK;
}

/* Neighbour discovery body after the 4 "rest" bytes already read. */
static void decode_nd(struct pkt *p)
{
    struct rd r = p->payload;
    struct pkt_nd *nd = &p->nd;
    uint8_t type = p->icmp.type;
    nd->type = type;
    nd->has_lladdr = false;
    memset(&nd->target, 0, sizeof(nd->target));
    if (type == 135 || type == 136 || type == 137) {
        if (!rd_copy(&r, nd->target.b, 16)) {
            (void)decode_short(p, ANOM_ND_MALFORMED);
            return;
        }
        nd->target.family = 6;
        if (type == 137 && !rd_skip(&r, 16)) { /* redirect: destination address */
            (void)decode_short(p, ANOM_ND_MALFORMED);
            return;
        }
    } else if (type == 134) {
        if (!rd_skip(&r, 8)) { /* reachable time, retrans timer */
            (void)decode_short(p, ANOM_ND_MALFORMED);
            return;
        }
    }
    p->layers |= PKT_ND;
    for (unsigned i = 0; i < ND_MAX_OPTIONS && rd_left(&r) > 0; i++) {
        uint8_t otype, olen;
        struct rd v;
        if (!rd_u8(&r, &otype) || !rd_u8(&r, &olen)) {
            (void)decode_short(p, ANOM_ND_MALFORMED);
            return;
        }
        if (olen == 0 || !rd_sub(&r, (size_t)olen * 8 - 2, &v)) {
            if (olen == 0)
                pkt_anomaly(p, ANOM_ND_MALFORMED);
            else
                (void)decode_short(p, ANOM_ND_MALFORMED);
            return;
        }
        if ((otype == 1 || otype == 2) && olen == 1 && rd_copy(&v, nd->lladdr, 6))
            nd->has_lladdr = true;
    }
}

enum decode_rc decode_icmp6(struct rd *r, struct pkt *p)
{
    enum decode_rc rc = icmp_header(r, p);
    if (rc != DECODE_OK)
        return rc;
    p->layers |= PKT_ICMP6;
    uint8_t t = p->icmp.type;
    if (t >= 1 && t <= 4)
        inner_ipv6(p->payload, p);
    else if (t >= 133 && t <= 137)
        decode_nd(p);
    return DECODE_OK;
}
