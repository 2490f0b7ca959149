/*
 * decode_ipv4 -- IPv4 header, options and fragments; also the raw-IP entry point.
 *
 * specification: RFC 791
 *
 *    0                   1                   2                   3
 *   |Version|  IHL  |Type of Service|          Total Length         |
 *   |         Identification        |Flags|      Fragment Offset    |
 *   |  Time to Live |    Protocol   |         Header Checksum       |
 *   |                       Source Address                          |
 *   |                    Destination Address                        |
 *   |                    Options (IHL > 5)                          |
 *
 * Total length is checked three ways: >= the header, <= what the wire carried
 * (snap-length cuts are fine), and it trims Ethernet padding.  Later fragments
 * carry no transport header and stop at the IP layer.  The checksum is not
 * verified: offloading NICs leave it unset in most captures.
 */
#include "decode.h"

#define IP4_MAX_OPTIONS 40 /* bytes; also caps the option loop */

enum decode_rc decode_ip(struct rd *r, struct pkt *p)
{
    uint8_t v;
    if (!rd_peek_u8(r, 0, &v))
        return decode_short(p, ANOM_IP4_TRUNCATED);
    if (v >> 4 == 4)
        return decode_ipv4(r, p);
    if (v >> 4 == 6)
        return decode_ipv6(r, p);
    pkt_anomaly(p, ANOM_IP_BAD_VERSION);
    return DECODE_MALFORMED;
}

/* Walks the options: each consumes >= 1 byte; lengths must fit. */
static bool options_ok(struct rd opts)
{
    for (unsigned i = 0; i < IP4_MAX_OPTIONS && rd_left(&opts) > 0; i++) {
        uint8_t kind, len;
        if (!rd_u8(&opts, &kind))
            return false;
        if (kind == 0)
            return true; /* end of list; the rest is padding */
        if (kind == 1)
            continue; /* NOP */
        if (!rd_u8(&opts, &len) || len < 2 || !rd_skip(&opts, (size_t)len - 2))
            return false;
    }
    return true;
}

enum decode_rc decode_ipv4(struct rd *r, struct pkt *p)
{
    size_t wire_left = p->wirelen - (p->caplen - rd_left(r)); /* bytes the wire had from here */
    uint8_t vhl, tos, ttl, proto;
    uint16_t total, id, frag, csum;
    if (!rd_u8(r, &vhl) || !rd_u8(r, &tos) || !rd_be16(r, &total) || !rd_be16(r, &id) ||
        !rd_be16(r, &frag) || !rd_u8(r, &ttl) || !rd_u8(r, &proto) || !rd_be16(r, &csum) ||
        !rd_copy(r, p->src.b, 4) || !rd_copy(r, p->dst.b, 4))
        return decode_short(p, ANOM_IP4_TRUNCATED);
    (void)tos;
    (void)id;
    (void)csum;
    if (vhl >> 4 != 4) {
        pkt_anomaly(p, ANOM_IP_BAD_VERSION);
        return DECODE_MALFORMED;
    }
    size_t hlen = (size_t)(vhl & 0x0f) * 4;
    if (hlen < 20) {
        pkt_anomaly(p, ANOM_IP4_HLEN_TOO_SMALL);
        return DECODE_MALFORMED;
    }
    if (total < hlen) {
        pkt_anomaly(p, ANOM_IP4_LEN_TOO_SMALL);
        return DECODE_MALFORMED;
    }
    if (total > wire_left) {
        pkt_anomaly(p, ANOM_IP4_LEN_PAST_CAPTURE);
        return DECODE_MALFORMED;
    }
    struct rd opts;
    if (!rd_sub(r, hlen - 20, &opts))
        return decode_short(p, ANOM_IP4_TRUNCATED);
    if (hlen > 20 && !options_ok(opts)) {
        pkt_anomaly(p, ANOM_IP4_BAD_OPTIONS);
        return DECODE_MALFORMED;
    }
    p->src.family = 4;
    p->dst.family = 4;
    for (int i = 4; i < 16; i++)
        p->src.b[i] = p->dst.b[i] = 0;
    p->src.pad[0] = p->src.pad[1] = p->src.pad[2] = 0;
    p->dst.pad[0] = p->dst.pad[1] = p->dst.pad[2] = 0;
    p->ttl = ttl;
    p->proto = proto;
    p->ip_len = total;
    p->l4_len = (uint16_t)(total - hlen);
    p->layers |= PKT_IP4;

    /* The datagram body: what was captured of it, Ethernet padding trimmed. */
    struct rd body;
    if (!rd_sub(r, WARD_MIN((size_t)p->l4_len, rd_left(r)), &body))
        return DECODE_TRUNCATED; /* cannot happen: bounded by rd_left */
    *r = body;
    if (frag & 0x3fff) { /* MF or an offset */
        p->fragment = true;
        pkt_anomaly(p, ANOM_IP4_FRAGMENT);
        if (frag & 0x1fff)
            return DECODE_OK; /* a later fragment: no transport header here */
    }
    return decode_l4(r, p);
}
