/*
 * decode_ipv6 -- IPv6 header and extension headers.
 *
 * specification: RFC 8200 (header, extension headers), RFC 4302 (AH)
 *
 *   |Version| Traffic Class |           Flow Label                  |
 *   |         Payload Length        |  Next Header  |   Hop Limit   |
 *   |                Source Address (16)                            |
 *   |             Destination Address (16)                          |
 *
 *   extension header: | next (1) | hdr ext len (1, 8-octet units beyond the first 8) | ...
 *   fragment header:  | next (1) | reserved (1) | offset (13 bits) res (2) M (1) | id (4) |
 *   AH:               | next (1) | payload len (1, 4-octet units minus 2) | ...
 *
 * At most IP6_MAX_EXT extension headers are followed; more is an anomaly (a
 * classic evasion).  Non-first fragments stop at the IP layer.
 */
#include "decode.h"

#define IP6_MAX_EXT 8

enum decode_rc decode_ipv6(struct rd *r, struct pkt *p)
{
    size_t wire_left = p->wirelen - (p->caplen - rd_left(r));
    uint32_t vtcfl;
    uint16_t plen;
    uint8_t next, hops;
    if (!rd_be32(r, &vtcfl) || !rd_be16(r, &plen) || !rd_u8(r, &next) || !rd_u8(r, &hops) ||
        !rd_copy(r, p->src.b, 16) || !rd_copy(r, p->dst.b, 16))
        return decode_short(p, ANOM_IP6_TRUNCATED);
    if (vtcfl >> 28 != 6) {
        pkt_anomaly(p, ANOM_IP_BAD_VERSION);
        return DECODE_MALFORMED;
    }
    if ((size_t)plen + 40 > wire_left) {
        pkt_anomaly(p, ANOM_IP6_LEN_PAST_CAPTURE);
        return DECODE_MALFORMED;
    }
    p->src.family = p->dst.family = 6;
    p->src.pad[0] = p->src.pad[1] = p->src.pad[2] = 0;
    p->dst.pad[0] = p->dst.pad[1] = p->dst.pad[2] = 0;
    p->ttl = hops;
    p->ip_len = (uint16_t)WARD_MIN((size_t)plen + 40, 65535u);
    p->layers |= PKT_IP6;

    struct rd body;
    if (!rd_sub(r, WARD_MIN((size_t)plen, rd_left(r)), &body))
        return DECODE_TRUNCATED;
    size_t wire_body = plen; /* bytes after the fixed header, on the wire */
    for (unsigned n = 0;; n++) {
        size_t len;
        uint8_t nh, hl;
        switch (next) {
        case 0:   /* hop-by-hop */
        case 43:  /* routing */
        case 60:  /* destination options */
        case 135: /* mobility */
        case 139: /* HIP */
        case 140: /* shim6 */
            if (!rd_u8(&body, &nh) || !rd_u8(&body, &hl))
                return decode_short(p, ANOM_IP6_EXT_MALFORMED);
            len = ((size_t)hl + 1) * 8;
            break;
        case 51: /* AH */
            if (!rd_u8(&body, &nh) || !rd_u8(&body, &hl))
                return decode_short(p, ANOM_IP6_EXT_MALFORMED);
            len = ((size_t)hl + 2) * 4;
            break;
        case 44: { /* fragment */
            uint8_t res;
            uint16_t off;
            uint32_t id;
            if (!rd_u8(&body, &nh) || !rd_u8(&body, &res) || !rd_be16(&body, &off) ||
                !rd_be32(&body, &id))
                return decode_short(p, ANOM_IP6_EXT_MALFORMED);
            if (wire_body < 8) {
                pkt_anomaly(p, ANOM_IP6_EXT_MALFORMED);
                return DECODE_MALFORMED;
            }
            wire_body -= 8;
            p->fragment = true;
            if (off & 0xfff8) { /* a later fragment */
                p->proto = nh;
                p->l4_len = (uint16_t)wire_body;
                return DECODE_OK;
            }
            next = nh;
            if (n + 1 >= IP6_MAX_EXT) {
                pkt_anomaly(p, ANOM_IP6_EXT_TOO_MANY);
                return DECODE_MALFORMED;
            }
            continue;
        }
        default:
            p->proto = next;
            p->l4_len = (uint16_t)wire_body;
            *r = body;
            if (next == 59) /* no next header */
                return DECODE_OK;
            return decode_l4(r, p);
        }
        /* A generic extension header of len bytes, 2 already read. */
        if (len > wire_body) {
            pkt_anomaly(p, ANOM_IP6_EXT_MALFORMED);
            return DECODE_MALFORMED;
        }
        if (!rd_skip(&body, len - 2))
            return decode_short(p, ANOM_IP6_EXT_MALFORMED);
        wire_body -= len;
        next = nh;
        if (n + 1 >= IP6_MAX_EXT) {
            pkt_anomaly(p, ANOM_IP6_EXT_TOO_MANY);
            return DECODE_MALFORMED;
        }
    }
}
